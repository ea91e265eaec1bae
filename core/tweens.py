"""Tweens: security headers on every response; request metrics; the Host check (``hosts.py``);
a query string that is not UTF-8 refused before anything reads it."""

import json
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


# bilingual and fixed: the user's language cannot be known from a query string that cannot be read
BAD_QUERY = {
    "type": "about:blank",
    "title": "Yêu cầu không hợp lệ / Bad request",
    "status": 400,
    "detail": "Địa chỉ có tham số không phải văn bản UTF-8. / The query string is not UTF-8 text.",
    "field": "query",
}


def query_string_tween_factory(handler, registry):
    """400 for a query string that is not UTF-8 (``?q=%ff``): WebOb would raise while decoding
    it wherever it is first read (the language negotiation reads it on every request), a 500."""
    from pyramid.response import Response

    def tween(request):
        try:
            request.GET.keys()  # decoded once; WebOb keeps the result
        except UnicodeDecodeError:
            body = dict(BAD_QUERY, instance=request.path)
            return Response(
                body=json.dumps(body, ensure_ascii=False),
                status=400,
                content_type="application/problem+json",
                charset="utf-8",
            )
        return handler(request)

    return tween


def includeme(config):
    # Implicit order, the last added nearest the client: headers, metrics, the Host check, then
    # the query string's, so a refused host gets the headers and is counted, and reaches nothing else.
    config.add_tween("lienthong.core.tweens.query_string_tween_factory")
    config.add_tween("lienthong.core.hosts.host_tween_factory")
    config.add_tween("lienthong.core.tweens.metrics_tween_factory")
    config.add_tween("lienthong.core.tweens.security_headers_tween_factory")
