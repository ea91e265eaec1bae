"""What every view and API call asks of its request: ``request.site``, ``request.env``,
``request.actor`` and ``request.client_address``.

Added with ``config.add_request_method`` (the app factory includes this module), so views,
the API and plugins' views read them as attributes instead of importing helpers.
``site``, ``env`` and ``client_address`` are reified: computed once per request (and per
attempt: pyramid_retry makes a new request for each). ``actor`` is a plain property: it
follows the identity and the delegation, which change within a request at login, logout
and "act for"; the security policy caches those two and forgets them when they change,
so the actor is never stale.
"""

from pyramid_zodbconn import get_connection

from .resources.site import find_site
from .security import current_delegation
from .services.audit import Actor
from .services.env import get_env


def site(request):
    """The Site of this request's ZODB connection (also usable before traversal)."""
    found = find_site(get_connection(request).root())
    if found is None:
        raise LookupError("the database has not been initialized: run `lienthong init`")
    return found


def env(request):
    """The application's ``Env`` for the services."""
    return get_env(request.registry)


def client_address(request):
    """The client's address for the audit log: REMOTE_ADDR, which a client cannot forge.

    (``request.client_addr`` believes any X-Forwarded-For header. Behind a reverse proxy,
    waitress's ``trusted_proxy`` settings put the real client address into REMOTE_ADDR.)
    """
    return request.remote_addr


def actor(request):
    """Who acts on this request, and for whom when they act under a delegation (R6.2, R8.3)."""
    user = request.identity
    delegation = current_delegation(request)
    return Actor(
        login=user.login if user else "anonymous",
        client=request.client_address,
        on_behalf_of=delegation.delegator if delegation is not None else None,
    )


def includeme(config):
    config.add_request_method(site, "site", reify=True)
    config.add_request_method(env, "env", reify=True)
    config.add_request_method(client_address, "client_address", reify=True)
    config.add_request_method(actor, "actor", property=True)
