"""/healthz for load balancers and /metrics for Prometheus."""

import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..app_objects import app_objects
from ..db import get_database, open_transaction
from ..resources.site import find_site


@view_config(route_name="healthz", renderer="json", permission=NO_PERMISSION_REQUIRED)
def healthz(request):
    """200 when the database answers and holds a site, 503 otherwise."""
    try:
        with open_transaction(get_database(request.registry)) as (root, _tm):
            site = find_site(root)
            if site is None:
                raise LookupError("no site in the database")
            result = {"status": "ok", "database": "ok", "generation": site.generation}
    except Exception as exc:
        request.response.status = 503
        return {"status": "error", "database": f"{type(exc).__name__}: {exc}"}
    return result


def _allowed(request):
    allowed = request.registry.settings.get("lienthong.metrics.allow", "").split()
    if "*" in allowed:
        return True
    try:
        # REMOTE_ADDR, never X-Forwarded-For: anyone can send that header. Behind a proxy,
        # waitress's trusted_proxy settings put the real client into REMOTE_ADDR.
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net, strict=False) for net in allowed)


@view_config(route_name="metrics", permission=NO_PERMISSION_REQUIRED)
def metrics(request):
    if not _allowed(request):
        # A plain 403 for scrapers: HTTPForbidden would send an anonymous client to the login page.
        return Response(
            body="forbidden: this address may not read the metrics\n",
            status=403,
            content_type="text/plain",
            charset="utf-8",
        )
    response = Response(body=app_objects(request.registry).metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
