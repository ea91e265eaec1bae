"""The objects one running application shares: built once at start-up, read everywhere.

Views, the API, the services' ``Env``, the worker and the CLI reach them through
``app_objects(registry)``: one ``AppObjects`` per Pyramid registry, registered as a utility,
with every attribute declared below (what it is and which start-up step builds it). The
core never hangs attributes of its own on the registry.

Every default can be replaced: an add-on (``pyramid.includes``) or a plugin's
``lienthong_configure(config)`` assigns its own object after the step that builds the
default, e.g. ``app_objects(config.registry).calendar = MyCalendar(...)``. ``env`` is made
from the others on first use, after start-up, so it sees the replacements.
"""

from zope.interface import Interface, implementer


class IAppObjects(Interface):
    """Marker of the utility that holds an application's ``AppObjects``."""


@implementer(IAppObjects)
class AppObjects:
    #: ``tzinfo`` of ``lienthong.timezone``: where dates are shown and days begin (``core.i18n``)
    timezone = None
    #: ``workcalendar.WorkCalendar``: working days and holidays for deadlines (``core.exchange``)
    calendar = None
    #: ``filetypes.AttachmentPolicy``: which attachments are accepted, and how large (``core.exchange``)
    attachment_policy = None
    #: the pluggy ``PluginManager`` with every enabled plugin (``core.make_config``)
    plugins = None
    #: ``{name: store}``: every attachment store the plugins offer (``core.blobs``)
    blob_stores = None
    #: the store new attachment bytes go to, chosen by ``lienthong.blob_store`` (``core.blobs``)
    blob_store = None
    #: ``metrics.AppMetrics``: the Prometheus registry behind ``/metrics`` (``core.make_config``)
    metrics = None
    #: ``{name: Counter}``: the worker's delivery counters on ``metrics`` (``worker.metrics``, on first use)
    transport_metrics = None
    #: ``skins.SkinLayers``: the template layers (``core.skins``)
    skins = None
    #: ``{api: [ApiRoute]}``: the documented routes of each API, for its OpenAPI document (``api.openapi``)
    api_routes = None
    #: ``services.env.Env``: what the services need of the application (``services.env.get_env``, on first use)
    env = None
    #: the names of the adapters whose units are another hub's or the national axis's
    #: (``Adapter.network``), read once the plugins are configured (``core.make_config``)
    network_adapters = frozenset()
    #: ``services.throttle.LoginThrottle``: this process's count of failed logins per address (``core.make_config``)
    login_throttle = None

    def __init__(self):
        self.api_routes = {}


def app_objects(registry):
    """The ``AppObjects`` of ``registry``, made on first use (a Pyramid registry is a component registry)."""
    objects = registry.queryUtility(IAppObjects)
    if objects is None:
        objects = AppObjects()
        registry.registerUtility(objects, IAppObjects)
    return objects
