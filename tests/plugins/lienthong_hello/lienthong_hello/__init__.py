"""lienthong-hello: a sample LienThong plugin.

It only uses the public plugin API (``lienthong.core.hookspecs.hookimpl`` and the hooks of
``lienthong.core.hookspecs``); the core never imports it by name.
"""

from pyramid.security import NO_PERMISSION_REQUIRED

from lienthong.core.hookspecs import hookimpl

GREETING = "xin chào từ plugin"
REFUSE_MARK = "test-refuse"


class HelloContext:
    """The context of /hello: the page needs nothing from the database."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request


def hello_view(request):
    return GREETING


@hookimpl
def lienthong_configure(config):
    config.add_route("hello", "/hello", factory=HelloContext)
    config.add_view(hello_view, route_name="hello", renderer="string", permission=NO_PERMISSION_REQUIRED)


def _subject(document):
    if isinstance(document, dict):
        return document.get("subject") or ""
    return getattr(document, "subject", "") or ""


@hookimpl
def lienthong_validate_outgoing(document, sender):
    if REFUSE_MARK in _subject(document):
        return [f"the subject contains {REFUSE_MARK!r}: the hello plugin refuses to send it"]
    return []
