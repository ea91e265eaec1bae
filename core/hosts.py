"""The hub's own address: absolute URLs from ``lienthong.public_url``, other hosts refused.

Pyramid builds every absolute URL (links, form actions, redirects, the APIs' ``url``
members and ``Location``, the OpenAPI ``servers``) from the request's Host header and
scheme, which the client chooses: ``Host: evil.example`` would put the attacker's host
into what the hub answers. With ``lienthong.public_url`` set, ``host_tween_factory``
answers 400 to a request whose Host is neither the public host nor one of
``lienthong.allowed_hosts`` (names, any port: ``localhost`` for a local health check),
and gives an accepted request the public scheme, host and port, so its URLs name the
public address whatever Host it came with. Without it (development, most tests) any host
is served as asked.

A site whose session cookie is Secure (``lienthong.session.secure``: the default, and
production's) is served over TLS at a known address, so ``check_settings`` requires an
``https://`` public URL there at start-up.
"""

import html
from typing import NamedTuple
from urllib.parse import urlsplit

from pyramid.response import Response
from pyramid.settings import asbool

from .i18n import _, translate
from .problems import problem, wants_problem_json

PUBLIC_URL = "lienthong.public_url"
ALLOWED_HOSTS = "lienthong.allowed_hosts"
DEFAULT_PORTS = {"http": 80, "https": 443}
EXAMPLE = "https://lienthong.example.gov.vn"


class PublicAddress(NamedTuple):
    scheme: str
    host: str  # lower case, without a trailing dot
    port: int
    netloc: str  # host[:port] as URLs write it: the port only when not the scheme's default

    @property
    def url(self):
        return f"{self.scheme}://{self.netloc}"


def parse_public_url(value, https=False):
    """``value`` as a ``PublicAddress``; ValueError, saying why, when it is not scheme://host[:port]."""
    parts = urlsplit(value.strip())
    schemes = ("https",) if https else tuple(DEFAULT_PORTS)
    if parts.scheme not in schemes or not parts.hostname:
        kind = "an https://" if https else "an http:// or https://"
        when = " when lienthong.session.secure is true" if https else ""
        raise ValueError(f"{PUBLIC_URL} = {value} must be {kind} address{when}, e.g. {EXAMPLE}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(
            f"{PUBLIC_URL} = {value}: give scheme://host[:port] only, without a path, user or query"
        )
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"{PUBLIC_URL} = {value}: the port is not a number from 1 to 65535") from None
    host = parts.hostname.rstrip(".")
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if port == DEFAULT_PORTS[parts.scheme] else f"{shown}:{port}"
    return PublicAddress(parts.scheme, host, port, netloc)


def check_settings(settings):
    """The public address of the (merged) settings, or None in development; ValueError when a
    secure site has none, or one that is not https, or ``allowed_hosts`` goes without it."""
    value = (settings.get(PUBLIC_URL) or "").strip()
    secure = asbool(settings.get("lienthong.session.secure"))
    if not value:
        if secure:
            raise ValueError(
                f"{PUBLIC_URL} is not set: a site with lienthong.session.secure = true (the default) "
                f"is served over TLS and must name its https:// address, e.g. {PUBLIC_URL} = {EXAMPLE}"
            )
        if allowed_hosts(settings):
            raise ValueError(f"{ALLOWED_HOSTS} is set without {PUBLIC_URL}: name the public address too")
        return None
    return parse_public_url(value, https=secure)


def host_name(value):
    """The name in a Host header: lower case, without port or trailing dot; '' when malformed."""
    value = value.strip().lower()
    if value.startswith("["):  # an IPv6 address
        name, bracket, port = value[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return ""
        return name
    name, _colon, port = value.partition(":")
    if port and not port.isdigit():
        return ""
    return name.rstrip(".")


def allowed_hosts(settings):
    return {host_name(v) for v in (settings.get(ALLOWED_HOSTS) or "").split()} - {""}


# The refusal, in the request's language; no template, session or database.
PAGE = (
    '<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>\n'
    "<body><h1>{title}</h1><p>{detail}</p></body></html>\n"
)
LINK = "\x00"  # where the link goes in the translated sentence


def refusal(request, public):
    """400: this hub answers only at its public address (a link to it, never the Host sent)."""
    title = translate(request, _("Wrong address"))
    if wants_problem_json(request):
        detail = translate(request, _("This hub answers only at ${url}."), url=public.url + "/")
        return problem(request, 400, title, detail)
    sentence = html.escape(translate(request, _("This hub answers only at ${url}."), url=LINK))
    link = '<a href="{0}/">{0}/</a>'.format(html.escape(public.url))
    body = PAGE.format(
        lang=request.locale_name, title=html.escape(title), detail=sentence.replace(LINK, link)
    )
    return Response(body=body, status=400, content_type="text/html", charset="utf-8")


def host_tween_factory(handler, registry):
    """Refuse other hosts; make an accepted request's URLs those of the public address."""
    public = check_settings(registry.settings)
    if public is None:
        return handler
    accepted = {public.host} | allowed_hosts(registry.settings)
    fixed = {
        "HTTP_HOST": public.netloc,
        "SERVER_NAME": public.host,
        "SERVER_PORT": str(public.port),
        "wsgi.url_scheme": public.scheme,
    }

    def tween(request):
        if host_name(request.environ.get("HTTP_HOST", "")) not in accepted:
            return refusal(request, public)
        request.environ.update(fixed)  # the environ: pyramid_retry's next attempt reads it too
        return handler(request)

    return tween
