"""A test-only view that makes two concurrent requests conflict on purpose.

Include it with ``pyramid.includes = tests.support.conflict_view``. ``POST /_test/bump``
reads ``site.test_counter``, and on the first attempt of a request waits until a second
request has read the same value (a ``threading.Barrier(2)``), then writes counter + 1.
Both transactions change the Site, so one of them gets a ``ConflictError`` at commit and
pyramid_retry must run it again; every attempt is recorded in
``registry.conflict_attempts`` as ``(request id, attempt number, value read)``.
"""

import threading

from pyramid.security import NO_PERMISSION_REQUIRED

#: seconds a first attempt waits for its partner before giving up (the test must not hang)
BARRIER_TIMEOUT = 15


def bump(request):
    registry = request.registry
    attempt = request.environ["retry.attempt"]
    site = request.site
    value = getattr(site, "test_counter", 0)
    registry.conflict_attempts.append((request.params.get("id", "?"), attempt, value))
    if attempt == 0:
        registry.conflict_barrier.wait()
    site.test_counter = value + 1
    return {"id": request.params.get("id"), "attempt": attempt, "counter": site.test_counter}


def includeme(config):
    config.registry.conflict_barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)
    config.registry.conflict_attempts = []
    config.add_route("test_conflict_bump", "/_test/bump")
    config.add_view(
        bump,
        route_name="test_conflict_bump",
        request_method="POST",
        renderer="json",
        permission=NO_PERMISSION_REQUIRED,
        require_csrf=False,
    )
