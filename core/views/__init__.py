"""Views: parse and authorize the request, call a service, render. No rules live here."""


class Unstored:
    """Context of routes that must answer without the database (health, metrics, language)."""

    __name__ = ""
    __parent__ = None

    def __init__(self, request):
        self.request = request


#: view modules that add URL-dispatch routes in their own ``includeme``
ROUTE_MODULES = (
    "directory",
    "manage_units",
    "manage_users",
    "profile",
    "notices",
    "delegations",
    "directory_io",
    "manage_signing",
    "manage_transport",
    "manage_edxml",
)


def includeme(config):
    config.include(".forms")  # every posted form: text XML cannot carry is refused, naming the field
    config.add_static_view("static", "lienthong.skins:default/static", cache_max_age=3600)
    config.add_route("healthz", "/healthz", factory=Unstored)
    config.add_route("metrics", "/metrics", factory=Unstored)
    config.add_route("language", "/language", factory=Unstored)
    for module in ROUTE_MODULES:
        config.include(f".{module}")
    config.scan(".")
