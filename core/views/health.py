"""/healthz for load balancers and /metrics for Prometheus."""
import ipaddress

import transaction
from pyramid.httpexceptions import HTTPForbidden
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..resources.site import find_site


@view_config(route_name="healthz", renderer="json", permission=NO_PERMISSION_REQUIRED)
def healthz(request):
    """200 when the database answers and holds a site, 503 otherwise."""
    db = request.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    try:
        conn = db.open(transaction_manager=tm)
        try:
            site = find_site(conn.root())
            if site is None:
                raise LookupError("no site in the database")
            result = {"status": "ok", "database": "ok", "generation": site.generation}
        finally:
            tm.abort()
            conn.close()
    except Exception as exc:
        request.response.status = 503
        return {"status": "error", "database": f"{type(exc).__name__}: {exc}"}
    return result


def _allowed(request):
    allowed = request.registry.settings.get("lienthong.metrics.allow", "").split()
    if "*" in allowed:
        return True
    try:
        client = ipaddress.ip_address(request.client_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net, strict=False) for net in allowed)


@view_config(route_name="metrics", permission=NO_PERMISSION_REQUIRED)
def metrics(request):
    if not _allowed(request):
        raise HTTPForbidden()
    body = request.registry.lienthong_metrics.render()
    return Response(body=body, content_type="text/plain", charset="utf-8")


def includeme(config):
    pass
