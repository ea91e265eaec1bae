"""Tweens: security headers on every response; request metrics; the Host check (``hosts.py``)."""

import time

from .app_objects import app_objects

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers_tween_factory(handler, registry):
    settings = registry.settings
    csp = settings.get("lienthong.csp", DEFAULT_CSP)
    hsts = str(settings.get("lienthong.hsts", "false")).lower() in ("1", "true", "yes", "on")

    def tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if hsts:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    return tween


def metrics_tween_factory(handler, registry):
    metrics = app_objects(registry).metrics

    def tween(request):
        start = time.perf_counter()
        status = 500
        try:
            response = handler(request)
            status = response.status_int
            return response
        finally:
            metrics.observe_request(request.method, status, time.perf_counter() - start)

    return tween


def includeme(config):
    # Implicit order, the last added nearest the client: headers, metrics, then the Host check,
    # so a refused host gets the headers and is counted, and reaches nothing else.
    config.add_tween("lienthong.core.hosts.host_tween_factory")
    config.add_tween("lienthong.core.tweens.metrics_tween_factory")
    config.add_tween("lienthong.core.tweens.security_headers_tween_factory")
