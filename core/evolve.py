"""Schema evolution: numbered steps that bring an older database up to this code.

The site records ``generation``; ``CURRENT`` is the generation this code writes.
``lienthong migrate`` runs the pending steps in one transaction each. A database newer
than the code is refused at start-up so that old code never writes new data.
"""

import logging

import transaction

log = logging.getLogger(__name__)


class DatabaseTooNew(RuntimeError):
    pass


class MigrationPending(RuntimeError):
    pass


def step_1_top_level_containers(site):
    """Generation 1: every top-level container of DESIGN.md exists."""
    site.ensure_containers()


def _audit_entries(audit):
    """The stored entries of an audit log of any generation, oldest first."""
    if hasattr(audit, "entries"):  # generations 0-2: one LOBTree keyed by seq
        return list(audit.entries.values())
    return list(audit._stored())


def step_2_audit_head(site):
    """Generation 2: the audit log records the head of its hash chain."""
    from .resources.audit import GENESIS

    audit = site["audit"]
    if not hasattr(audit, "head"):
        entries = _audit_entries(audit)
        audit.head = entries[-1]["hash"] if entries else GENESIS


def step_3_audit_tail_and_chunks(site):
    """Generation 3: audit entries as JSON texts in sealed chunks and a tail, so concurrent appends merge."""
    from BTrees.LOBTree import LOBTree

    from .resources.audit import AuditChunk, encode

    audit = site["audit"]
    if not hasattr(audit, "entries"):
        return
    entries = [encode(entry) for entry in audit.entries.values()]
    size = audit.tail_size
    sealed = max(0, len(entries) - (len(entries) % size or size))  # the tail keeps 1..size entries
    audit.archive = LOBTree()
    for start in range(0, sealed, size):
        audit.archive[start + 1] = AuditChunk(entries[start : start + size])
    audit.tail = entries[sealed:]
    del audit.entries


def step_4_mailboxes_tokens_delegations(site):
    """Generation 4: users are folders with a personal mailbox, units have a mailbox; tokens and delegations."""
    from BTrees.Length import Length
    from BTrees.OOBTree import OOBTree

    site.ensure_containers()
    for user in site["users"].values():
        if not hasattr(user, "data"):
            user.data = OOBTree()
            user._num = Length()
        user.ensure_children()
    for unit in site["directory"].values():
        unit.ensure_children()


def step_5_registers_and_catalog(site):
    """Generation 5: units get their registers; the catalog gets its indexes (documents, #5)."""
    from .catalog import ensure_catalog

    site.ensure_containers()
    for unit in site["directory"].values():
        unit.ensure_children()
    ensure_catalog(site["catalog"])  # its queue of changes to index: generation 7


def step_6_trust_and_transport_queues(site):
    """Generation 6: the trust store (signatures, #6); the outbound queue becomes one queue per
    destination unit with persistent messages (the worker, #7)."""
    site.ensure_containers()
    transport = site["transport"]
    old = getattr(transport, "queue", None)
    if old is None:
        return
    from BTrees.OOBTree import OOBTree

    from .clock import now_iso
    from .services import outbound

    if getattr(transport, "queues", None) is None:  # declared from generation 7 on
        transport.queues = OOBTree()
    documents = site["documents"]
    for key, entry in list(old.items()):
        document = documents.get(entry.get("document") or "")
        if document is None:
            continue  # a message about a document that is gone: nothing to carry
        extra, recipient = {}, entry["recipient"]
        if entry.get("kind") == "status":
            delivery = document.delivery_for(recipient)
            if delivery is None:
                continue
            extra = outbound.status_extra(delivery)
            recipient = delivery.recipient_code or recipient
        message = outbound.Message(
            entry.get("kind", "document"),
            document.__name__,
            document.document_id,
            recipient,
            document.sender_code,
            entry.get("adapter", ""),
            extra,
            entry.get("queued_at") or now_iso(),
        )
        message.attempts = entry.get("attempts", 0)
        outbound.destination(site, recipient, create=True).messages[key] = message
    del transport.queue


def step_7_declared_container_attributes(site):
    """Generation 7: /transport and /catalog hold the attributes they declare, made here, no longer on first use.

    /transport: the outbound queues and dead letters, the /edxml/v1 pending lists and status
    feeds; /catalog: its queue of changes to index. What an older version made lazily is kept
    as it is; ``digest_day`` needs nothing (its class default says "never").
    """
    from BTrees.OOBTree import OOBTree, OOTreeSet

    transport = site["transport"]
    for name in ("queues", "dead", "edxml_pending", "edxml_statuses"):
        if getattr(transport, name, None) is None:
            setattr(transport, name, OOBTree())
    catalog = site["catalog"]
    if getattr(catalog, "pending", None) is None:
        catalog.pending = OOTreeSet()


def step_8_documents_by_identifier(site):
    """Generation 8: /documents lists every document under its DocumentId (``by_identifier``),
    since the field's updates, replacements and revocations reuse their original's."""
    from BTrees.OOBTree import OOBTree

    documents = site["documents"]
    if getattr(documents, "by_document_id", None) is None:
        documents.by_document_id = OOBTree()
    documents.by_identifier = OOBTree()
    ordered = sorted(documents.values(), key=lambda d: (d.created_at or "", d.id))
    for document in ordered:
        documents.index_identifier(document)


def step_9_directory_index_and_plugin_state(site):
    """Generation 9: the directory's search index (every unit indexed); the site's plugin state."""
    from BTrees.OOBTree import OOBTree

    if getattr(site, "plugin_state", None) is None:
        site.plugin_state = OOBTree()
    site["directory"].build_index()


def step_10_system_credentials(site):
    """Generation 10: /credentials (the system credentials of units' products, ``/vxp/``)."""
    site.ensure_containers()


def step_11_notices_and_mail_queue(site):
    """Generation 11: /mail (notice e-mails kept until sent); every person's unread-notice counter."""
    site.ensure_containers()
    for user in site["users"].values():
        user.ensure_children()


#: ordered steps; the position + 1 is the generation each one produces
STEPS = [
    step_1_top_level_containers,
    step_2_audit_head,
    step_3_audit_tail_and_chunks,
    step_4_mailboxes_tokens_delegations,
    step_5_registers_and_catalog,
    step_6_trust_and_transport_queues,
    step_7_declared_container_attributes,
    step_8_documents_by_identifier,
    step_9_directory_index_and_plugin_state,
    step_10_system_credentials,
    step_11_notices_and_mail_queue,
]


def current_generation():
    return len(STEPS)


def pending(site):
    return [(n, step) for n, step in enumerate(STEPS, 1) if n > site.generation]


def check(site, auto_migrate=False):
    """Refuse a newer database; with ``auto_migrate`` false, also refuse pending steps."""
    code = current_generation()
    if site.generation > code:
        raise DatabaseTooNew(
            f"the database is at schema generation {site.generation} but this version of "
            f"LienThong knows only up to {code}: upgrade LienThong before starting it"
        )
    if site.generation < code and not auto_migrate:
        raise MigrationPending(
            f"the database is at schema generation {site.generation}, this code needs {code}: "
            f"run `lienthong migrate`"
        )


def migrate(site, tm=None, echo=log.info):
    """Run pending steps, committing after each; return the generations applied."""
    tm = tm or transaction.manager
    applied = []
    for number, step in pending(site):
        echo(f"evolve: generation {number}: {step.__doc__.strip().splitlines()[0]}")
        step(site)
        site.generation = number
        tm.get().note(f"lienthong evolve to generation {number}")
        tm.commit()
        applied.append(number)
    return applied
