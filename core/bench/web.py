"""Request figures: requests through the full application served by waitress (tweens,
transaction, traversal, templates) against a plain WSGI "hello" on the same waitress
(``waitress_hello``): ``http_healthz``, ``http_login_page``, ``http_directory_search``,
``api_organizations_search``."""

from .harness import http_rate, serve


def bench_http(directory, seconds):
    from .. import main
    from ..db import close_databases

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    results = {}
    server, port = serve(hello)
    try:
        results["waitress_hello"] = http_rate(port, "/", seconds)
    finally:
        server.close()
    app = main(
        {},
        **{
            "zodbconn.uri": f"file://{directory}/Http.fs?blobstorage_dir={directory}/http-blobs",
            "lienthong.secret": "bench-" + "x" * 40,
            "lienthong.session.secure": "false",
            "lienthong.auto_migrate": "true",
        },
    )
    token = _demo_directory(app)
    server, port = serve(app)
    try:
        results["http_healthz"] = http_rate(port, "/healthz", seconds)
        results["http_login_page"] = http_rate(port, "/login", seconds)
        results["http_directory_search"] = http_rate(port, "/directory?q=so+thong+tin", seconds)
        results["api_organizations_search"] = http_rate(
            port,
            "/api/v1/organizations?q=so+thong+tin",
            seconds,
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        server.close()
        close_databases(app.registry)
    return results


def _demo_directory(app):
    """Fill the benchmark's site with the demo province; return a unit's API token."""
    import secrets

    from ..db import get_database, run_in_site
    from ..services import demo, tokens
    from ..services.audit import Actor

    def fill(site):
        demo.populate(site, secrets.token_urlsafe(16))
        _token, secret = tokens.create(site, Actor.system("bench"), demo.OPERATOR_CODE, "bench")
        return secret

    return run_in_site(get_database(app.registry), fill, attempts=1)
