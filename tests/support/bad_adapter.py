"""Test-only plugin: an adapter that does not fit the contract (no ``deliver_batch``, no ``configure``).

Registered with ``lienthong.plugins.extra = tests.support.bad_adapter``: start-up must
refuse it in one line naming this plugin.
"""

from lienthong.core.hookspecs import hookimpl
from lienthong.core.transports import Adapter


class NotAnAdapter:
    name = "not_an_adapter"
    title = "Written without the base class, and half of it forgotten"
    settings = ()
    batch_size = 1

    def check_settings(self, values):
        return []

    def poll(self, unit_code, settings, env):
        return []


class DeliversNothing(Adapter):
    """Subclasses the base but implements neither ``deliver`` nor ``deliver_batch``."""

    name = "delivers_nothing"


@hookimpl
def lienthong_transports():
    return [NotAnAdapter()]


class Subclassed:
    """A second plugin object of this module: offers only the adapter that delivers nothing."""

    @hookimpl
    def lienthong_transports(self):
        return [DeliversNothing()]
