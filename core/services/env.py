"""What the document services need from the running application, without a request.

Views, the API, the CLI, the worker and the benchmarks build one ``Env`` from the
application's registry; the services read the calendar, the attachment store and
policy, the plugins and the event dispatcher from it, and never import Pyramid's request.
"""

from ..app_objects import app_objects
from ..clock import utc_now


class Env:
    def __init__(self, registry):
        self.registry = registry
        settings = registry.settings or {}
        self.settings = settings
        objects = app_objects(registry)
        self.timezone = objects.timezone
        self.calendar = objects.calendar
        self.attachment_policy = objects.attachment_policy
        self.plugins = objects.plugins
        self.blob_store = objects.blob_store
        self.blob_stores = objects.blob_stores
        self.edxml_max_bytes = int(settings.get("lienthong.edxml.max_bytes", 300 * 1024 * 1024))

    @property
    def network_adapters(self):
        """The adapters whose units are another hub's or the national axis's (``Adapter.network``)."""
        return app_objects(self.registry).network_adapters

    def notify(self, event):
        self.registry.notify(event)

    def now(self):
        return utc_now()

    def today(self):
        return self.now().astimezone(self.timezone).date()

    def store_for(self, attachment):
        """The blob store that holds ``attachment`` (the one it was written to)."""
        return self.blob_stores.get(attachment.store, self.blob_store)


def get_env(registry):
    """The application's ``Env`` (made once, on first use: after start-up and any replaced default)."""
    objects = app_objects(registry)
    if objects.env is None:
        objects.env = Env(registry)
    return objects.env
