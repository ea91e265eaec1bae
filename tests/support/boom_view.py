"""Test-only include (``pyramid.includes = tests.support.boom_view``): /boom raises.

Proves that an unhandled exception in a view becomes the 500 error page, never a traceback,
and that an HTTP error raised by a view (/boom/conflict) gets a translated page.
"""

from pyramid.httpexceptions import HTTPConflict
from pyramid.security import NO_PERMISSION_REQUIRED

SECRET = "boom-secret-detail-that-must-not-leak"


class Boom(RuntimeError):
    pass


def boom(request):
    raise Boom(SECRET)


def conflict(request):
    raise HTTPConflict()  # no detail of its own: the page explains in the user's language


def includeme(config):
    config.add_route("boom", "/boom")
    config.add_view(boom, route_name="boom", permission=NO_PERMISSION_REQUIRED)
    config.add_route("boom_api", "/api/v1/boom")
    config.add_view(boom, route_name="boom_api", permission=NO_PERMISSION_REQUIRED)
    config.add_route("boom_conflict", "/boom/conflict")
    config.add_view(conflict, route_name="boom_conflict", permission=NO_PERMISSION_REQUIRED)
