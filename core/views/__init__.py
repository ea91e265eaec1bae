"""Views: parse and authorize the request, call a service, render. No rules live here."""


class Unstored:
    """Context of routes that must answer without the database (health, metrics, language)."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request


def includeme(config):
    config.add_static_view("static", "lienthong.skins:default/static", cache_max_age=3600)
    config.add_route("healthz", "/healthz", factory=Unstored)
    config.add_route("metrics", "/metrics", factory=Unstored)
    config.add_route("language", "/language", factory=Unstored)
    config.scan(".")
