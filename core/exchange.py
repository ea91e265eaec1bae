"""Wiring of the document exchange: calendar, attachment policy, event subscribers.

Everything here is ordinary Pyramid configuration, so a deployment overrides any part of
it (another calendar, another subscriber) the usual way.

What follows a change of a document or a delivery is a subscriber of the event the
document services emit (``core/events.py``), never a call from the services: the catalog's
queue of changes, the outbound queue (``services/outbound.py``), the /edxml/v1 pending
lists and status feeds (``services/edxml_pull.py``), the notices (``services/notices.py``)
run in the change's transaction; the plugins' hooks run after it commits.
"""

import logging

import transaction

from .app_objects import app_objects
from .events import (
    DeliveryActed,
    DeliveryArrived,
    DeliveryChanged,
    DeliveryQueued,
    DocumentChanged,
    DocumentSent,
    DraftMoved,
    MessageSetAside,
)

log = logging.getLogger(__name__)


class AfterCommitCalls:
    """The calls to make once a transaction has committed, joined to it as a data manager.

    Being a data manager, it follows savepoints: a savepoint rolled back drops the calls
    made since it was taken (the worker imports a poll's packages in one transaction, one
    savepoint each, and a refused package's plugin hooks must never run). The calls run
    from an after-commit hook, once every data manager has finished.
    """

    def __init__(self, manager):
        self.transaction_manager = manager
        self.calls = []

    @classmethod
    def of(cls, manager):
        """The instance joined to ``manager``'s current transaction (joined at the first call)."""
        txn = manager.get()
        try:
            return txn.data(cls)
        except KeyError:
            found = cls(manager)
            txn.set_data(cls, found)
            txn.join(found)
            txn.addAfterCommitHook(found.run)
            return found

    def run(self, committed):
        calls, self.calls = self.calls, []
        for call in calls if committed else ():
            try:
                call()
            except Exception:  # a plugin's failure must not undo or hide a committed send
                log.exception("after-commit plugin hook failed")

    # -- the data manager (nothing to store; only the list to keep in step) --
    def abort(self, txn):
        self.calls = []

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        pass

    def tpc_abort(self, txn):
        self.calls = []

    def sortKey(self):
        return "~lienthong-after-commit"

    def savepoint(self):
        return _CallsSavepoint(self, len(self.calls))


class _CallsSavepoint:
    def __init__(self, owner, length):
        self.owner, self.length = owner, length

    def rollback(self):
        del self.owner.calls[self.length :]


def _after_commit(site, call):
    """Run ``call`` once the transaction that changed ``site`` has committed (never if it
    aborts, nor if the savepoint it was made after is rolled back).

    The transaction is the one of the site's connection (a request's, the CLI's, a
    worker's), whichever transaction manager it uses.
    """
    jar = getattr(site, "_p_jar", None)
    manager = jar.transaction_manager if jar is not None else transaction.manager
    AfterCommitCalls.of(manager).calls.append(call)


def make_plugin_subscribers(registry):
    def document_sent(event):
        document = event.document
        _after_commit(
            event.site, lambda: app_objects(registry).plugins.hook.lienthong_document_sent(document=document)
        )

    def delivery_changed(event):
        if event.old_state == event.new_state:
            return
        delivery, old, new = event.delivery, event.old_state, event.new_state
        _after_commit(
            event.site,
            lambda: app_objects(registry).plugins.hook.lienthong_delivery_changed(
                delivery=delivery, old_state=old, new_state=new
            ),
        )

    return document_sent, delivery_changed


def includeme(config):
    from .filetypes import AttachmentPolicy
    from .services import (
        amendments,
        deliveries,
        edxml_pull,
        incidents,
        indexing,
        notices,
        outbound,
        registers,
    )
    from .workcalendar import WorkCalendar

    settings = config.get_settings()
    registry = config.registry
    objects = app_objects(registry)
    objects.calendar = WorkCalendar.from_settings(settings, tz=objects.timezone)
    objects.attachment_policy = AttachmentPolicy.from_settings(settings)
    from . import worker_settings

    worker_settings.check_settings(
        settings
    )  # a bad retry count or digest time stops start-up, not the worker
    config.add_subscriber(indexing.on_document_changed, DocumentChanged)
    config.add_subscriber(indexing.on_delivery_changed, DeliveryChanged)
    config.add_subscriber(edxml_pull.on_delivery_changed, DeliveryChanged)  # the senders' status feeds
    config.add_subscriber(edxml_pull.on_delivery_arrived, DeliveryArrived)  # the products' pending lists
    config.add_subscriber(outbound.on_delivery_queued, DeliveryQueued)  # the outbound queue (R6.5)
    config.add_subscriber(outbound.on_delivery_arrived, DeliveryArrived)
    config.add_subscriber(outbound.on_delivery_acted, DeliveryActed)
    config.add_subscriber(registers.on_delivery_acted, DeliveryActed)  # the register's "handed to"
    config.add_subscriber(amendments.on_document_sent, DocumentSent)  # a replacement supersedes
    config.add_subscriber(incidents.on_message_set_aside, MessageSetAside)  # the operator is told (R8.4)
    config.add_subscriber(deliveries.on_message_set_aside, MessageSetAside)  # and the sender, on its timeline
    # who is told of an act, in the act's transaction (services/notices.py; mail after commit: /mail)
    config.add_subscriber(notices.on_delivery_arrived, DeliveryArrived)
    config.add_subscriber(notices.on_delivery_acted, DeliveryActed)
    config.add_subscriber(notices.on_draft_moved, DraftMoved)
    document_sent, delivery_changed = make_plugin_subscribers(registry)
    config.add_subscriber(document_sent, DocumentSent)
    config.add_subscriber(delivery_changed, DeliveryChanged)
