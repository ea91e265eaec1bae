"""How ``lienthong serve`` runs waitress: the ``[server:main]`` settings, and whom it believes.

The settings are read as PasteDeploy reads them, so a ``use = config:production.ini#main``
(etc/relstorage.ini) brings production's address, proxies and limits, not waitress's
defaults (0.0.0.0:8080, no proxy, 100 connections).

Forwarded headers: the trusted proxies only.

waitress does the work (``waitress.proxy_headers``): from the ``trusted_proxy`` address
it takes the client's address (into REMOTE_ADDR) and scheme from X-Forwarded-For and
-Proto, as ``trusted_proxy_headers`` says; from anyone else it drops those headers. It
takes one address; ``lienthong serve`` takes several, space-separated (two proxies, or
one with an IPv4 and an IPv6 address), by wrapping the application in waitress's own
middleware once per address. ``*`` (anyone) is refused: with it any client could choose
the address that the audit log records and that ``/metrics`` allows.
"""

PROXY_SETTINGS = (
    "trusted_proxy",
    "trusted_proxy_count",
    "trusted_proxy_headers",
    "clear_untrusted_proxy_headers",
    "log_untrusted_proxy_headers",
)


def server_settings(config):
    """The ``[server:main]`` settings of the ini ``config`` (what it inherits by ``use`` included)."""
    import os

    from paste.deploy.loadwsgi import SERVER, loadcontext

    try:
        context = loadcontext(SERVER, "config:" + os.path.abspath(config), name="main")
    except LookupError:  # no [server:main]: waitress's defaults
        return {}
    return dict(context.local_conf)


def trusted_proxies(server):
    """The addresses of ``trusted_proxy`` in the ``[server:main]`` settings; ValueError for ``*``."""
    addresses = (server.get("trusted_proxy") or "").split()
    if "*" in addresses:
        raise ValueError(
            "[server:main] trusted_proxy = * would believe forwarded headers from anyone: "
            "name the proxy's address (127.0.0.1 for nginx on the same machine)"
        )
    return addresses


def wrap(app, server):
    """(WSGI application, waitress settings) to serve ``app`` with the ``[server:main]`` settings."""
    addresses = trusted_proxies(server)
    if len(addresses) < 2:
        return app, server  # waitress itself
    from waitress.adjustments import Adjustments
    from waitress.proxy_headers import proxy_headers_middleware

    server = dict(server)
    options = {name: server.pop(name) for name in PROXY_SETTINGS if name in server}
    options["trusted_proxy"] = addresses[0]
    adj = Adjustments(**options)  # read as waitress reads them (lists, booleans, checks)
    common = {
        "trusted_proxy_count": adj.trusted_proxy_count,
        "trusted_proxy_headers": adj.trusted_proxy_headers,
        "clear_untrusted": adj.clear_untrusted_proxy_headers,
        "log_untrusted": adj.log_untrusted_proxy_headers,
    }
    per_proxy = {a: proxy_headers_middleware(app, trusted_proxy=a, **common) for a in addresses}
    others = proxy_headers_middleware(app, trusted_proxy=None, **common)

    def trusting(environ, start_response):
        return per_proxy.get(environ["REMOTE_ADDR"], others)(environ, start_response)

    # done above: waitress's own pass would drop the headers before ``trusting`` reads them
    server["clear_untrusted_proxy_headers"] = "false"
    return trusting, server
