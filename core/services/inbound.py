"""What eOffice products (and peer hubs) send the hub: edXML packages and status messages (R3.3, R4, R11).

One entry for every way in — the /edxml/v1 API, a polling adapter (hot folder) through the
worker, a peer hub — so the rules are the same whichever way a message came (``via``):

- a package is from the unit whose product sent it (its From), else it is refused;
- idempotent by (sender, DocumentId, business type) and the package's content digest: a
  package already on the hub is answered "already received" and nothing is stored (a new
  document that differs from the stored one is put on the record as a conflict); the
  field's updates, replacements and revocations reuse the original's DocumentId and are
  not repeats of it (``amendments``); at-least-once senders may therefore always send again;
- every recipient must be one the sender may address: in the directory, active (or taken
  over by a successor), and connected to the hub — R11 and Article 9.2b of the regulation:
  a unit that has not deployed the hub receives on paper, so an electronic package for it
  would wait in a mailbox nobody reads while its sender believes it delivered (R6.5);
- a refused message stores nothing (the caller's transaction is aborted by the error) and
  its refusal is put on the audit record in a transaction of its own (``edxml.refuse``);
- a status moves a delivery through ``workflow`` like a person's action would; the same
  status (DocumentId, unit, code, time) twice is applied once; an illegal move is a
  ``Conflict`` naming the state.

Callers commit on success and abort on any ``ServiceError``.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field

from pyramid.i18n import TranslationString

from .. import edxml
from ..errors import Conflict, Forbidden, NotFound, ServiceError, TooLarge
from ..i18n import _
from ..resources.directory import NOT_CONNECTED
from ..resources.documents import NEW, REVOKE, UPDATE, Document, path_of
from . import amendments, audit, deliveries, edxml_io, workflow
from .directory import resolve
from .documents import IssueRefused


def product_actor(unit_code, via=""):
    """Who acts when a unit's eOffice product sends (the same login as the unit's API token)."""
    return audit.Actor(login=f"system:{unit_code}", client=via or None)


# -- refusals on the record -----------------------------------------------------------------
def _database(site, env):
    jar = getattr(site, "_p_jar", None)
    if jar is not None:
        return jar.db()
    from ..db import get_database

    return get_database(env.registry)


def _refused(site, env, actor, unit_code, via, exc, kind, document_id=""):
    """Put ``exc`` on the record as ``edxml.refuse`` (own transaction) and mark it recorded."""
    db = _database(site, env)
    details = {"via": via, "kind": kind, "reason": exc.text(), "status": exc.status}
    if isinstance(exc.message, TranslationString):  # so the operator's page reads it in Vietnamese
        details["msgid"] = str(exc.message)
        details["mapping"] = {
            k: exc.message.mapping[k].interpolate()
            if isinstance(exc.message.mapping[k], TranslationString)
            else str(exc.message.mapping[k])
            for k in (exc.message.mapping or {})
        }
    if exc.field:
        details["field"] = exc.field
    if document_id:
        details["document_id"] = document_id
    if db is not None:
        try:
            audit.record_in_own_transaction(db, actor, "edxml.refuse", f"/directory/{unit_code}", **details)
        except Exception:  # the refusal is still raised; the failure to record it is logged
            import logging

            logging.getLogger(__name__).exception("could not record an edXML refusal from %s", unit_code)
    exc.recorded = True  # the API's error view must not record it a second time
    return exc


def _stream(data):
    """A seekable binary stream of ``data`` (bytes, or a seekable file such as a spooled request body)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(data))
    data.seek(0)
    return data


def _checked_size(stream, env):
    """The size of ``stream`` (at its start again); over the limit is 413, before any parsing."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > env.edxml_max_bytes:
        from ..filetypes import human_size

        raise TooLarge(
            _("The edXML message is ${size}, more than the limit of ${limit}."),
            field="body",
            size=human_size(size),
            limit=human_size(env.edxml_max_bytes),
        )
    return size


def _unit(site, unit_code):
    unit = site["directory"].get(unit_code or "")
    if unit is None:
        raise NotFound(_("Unknown unit ${code}."), field="unit", code=(unit_code or "")[:40])
    return unit


# -- packages ---------------------------------------------------------------------------------
def content_digest(meta, attachments):
    """SHA-256 of what makes a document the same document: header essentials and attachment digests.

    Computed alike from a parsed package and from a stored document, so a resent package
    (re-serialized, re-signed, with a longer trace) still matches.
    """
    essentials = {
        "document_id": meta.get("document_id") or "",
        "from": ((meta.get("from") or {}).get("organ_id") or "").strip(),
        "to": sorted((t.get("organ_id") or "").strip() for t in meta.get("to") or ()),
        "code_number": str(meta.get("code_number") or "").strip(),
        "code_notation": str(meta.get("code_notation") or "").strip(),
        "promulgation_date": meta.get("promulgation_date") or "",
        "subject": " ".join(str(meta.get("subject") or "").split()),
        "business_doc_type": int(meta.get("business_doc_type") or 0),
        "attachments": sorted((name, sha) for name, sha in attachments),
    }
    return hashlib.sha256(json.dumps(essentials, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def document_digest(document):
    return content_digest(document.meta, [(a.name, a.sha256) for a in document.attachments.values()])


def _check_recipients(site, sender, codes):
    """Refuse the package unless every recipient is one ``sender`` may address (see the module doc)."""
    directory = site["directory"]
    for code in codes:
        if code not in directory:
            raise ServiceError(
                _("Unknown recipient ${code}: it is not in the hub's directory."),
                field="MessageHeader/To/OrganId",
                code=code[:40],
            )
        unit = resolve(site, code)
        if unit is None:
            raise Forbidden(
                _("Recipient ${code} was dissolved and nobody took over its mail."),
                field="MessageHeader/To/OrganId",
                code=code,
            )
        if unit.code == sender.code:
            continue
        if unit.connection_state == NOT_CONNECTED:
            raise Forbidden(
                _("Recipient ${code} (${name}) is not connected to the hub; send it the paper document."),
                field="MessageHeader/To/OrganId",
                code=unit.code,
                name=unit.name,
            )


@dataclass
class Receipt:
    """What the hub did with a package: the document it concerns, whether it was new to the
    hub (``created``), whether a repeat was identical, and for a revocation what it revoked."""

    document: Document
    created: bool
    identical: bool = True
    revoked: list = field(default_factory=list)

    def __iter__(self):  # (document, created, identical), as callers unpack it
        return iter((self.document, self.created, self.identical))


def receive_package(site, env, unit_code, data, via, deliver_to=None, actor=None):
    """Take an edXML package made by ``unit_code``'s product (or relayed for it): (document, created).

    ``deliver_to``: the unit codes a delivery may go to (a peer hub relays for the units
    hosted here only); the package's To units outside it are neither checked nor served.
    """
    receipt = receive(site, env, unit_code, data, via, deliver_to, actor)
    return receipt.document, receipt.created


def receive(site, env, unit_code, data, via, deliver_to=None, actor=None, permits=None):
    """The one door for packages (see the module doc): a ``Receipt``.

    ``permits``: a person's permission check (``request.has_permission``) when a person
    sends the package for their unit (``/api/v1``): one who may not issue is refused, and
    the document is then issued as theirs, not as the product's. A revocation creates no
    document: the receipt names the first document it revoked, ``created`` True.
    """
    actor = actor or product_actor(unit_code, via)
    stream = _stream(data)
    document_id = ""
    revoked = None
    try:
        size = _checked_size(stream, env)
        sender = _unit(site, unit_code)
        parsed, files, source = edxml_io.parse_package(env, stream)
        try:
            document_id = parsed["document_id"]
            edxml_io.check_sender(parsed, unit_code)
            digest = content_digest(parsed, [(f["name"], f["sha256"]) for f in files])
            kind = int(parsed.get("business_doc_type") or 0)
            same = site["documents"].carrying(document_id, unit_code)
            repeat = _repeat_of(site, actor, unit_code, via, same, kind, digest)
            if repeat is not None:
                return Receipt(repeat[0], False, repeat[1])
            codes = _served(parsed, deliver_to)
            _check_recipients(site, sender, codes)
            if kind == REVOKE:
                revoked = amendments.revoke(site, env, actor, same, codes, parsed, digest, via)
                document = revoked[0].document if revoked else same[0]
            else:
                if kind == UPDATE:
                    codes = amendments.update_recipients(parsed, codes)
                document = edxml_io.import_parsed(
                    site,
                    env,
                    actor,
                    sender,
                    parsed,
                    files,
                    source,
                    system=permits is None,
                    recipients=codes,
                    permits=permits,
                )
        finally:
            edxml_io.close_attachments(files)
    except IssueRefused:
        raise  # a person who may not issue: on the record as a refused access, not a refused package
    except ServiceError as exc:
        raise _refused(site, env, actor, unit_code, via, exc, "document", document_id)
    audit.record(
        site,
        actor,
        "edxml.receive",
        path_of(document),
        via=via,
        document_id=document_id,
        business_doc_type=kind,
        size=size,
        recipients=list(document.recipients) if revoked is None else [d.recipient_code for d in revoked],
    )
    return Receipt(document, True, True, revoked or [])


def _served(parsed, deliver_to):
    """The package's To units this hub serves (``deliver_to``: the units a relay may reach), in order."""
    codes = []
    for item in parsed.get("to") or ():
        code = item.get("organ_id") or ""
        if code not in codes and (deliver_to is None or code in deliver_to):
            codes.append(code)
    if not codes:
        raise Forbidden(
            _("None of the package's recipients is served by this hub."),
            field="MessageHeader/To/OrganId",
        )
    return codes


def _repeat_of(site, actor, unit_code, via, same, kind, digest):
    """(document, identical) when the package was received before, else None.

    The key is (sender, DocumentId, business type) and the content digest: the same package
    twice is one document and a success; an update, replacement or revocation of a document
    is not a repeat of it; a second *new* document under the same sender and DocumentId but
    with other content is answered as the first one and put on the record as a conflict.
    """
    if kind == REVOKE:
        if amendments.revocation_seen(same, digest):
            return _already_received(site, actor, via, same[0], digest, duplicate_of_revocation=True)
        return None
    for document in same:
        if document.business_doc_type == kind and document_digest(document) == digest:
            return _already_received(site, actor, via, document, digest)
    if kind == NEW:
        for document in same:
            if document.business_doc_type == NEW:
                return _already_received(site, actor, via, document, digest)
    return None


def _already_received(site, actor, via, document, digest, duplicate_of_revocation=False):
    identical = duplicate_of_revocation or document_digest(document) == digest
    audit.record(
        site,
        actor,
        "edxml.receive",
        path_of(document),
        via=via,
        document_id=document.document_id,
        duplicate=True,
        identical=identical,
    )
    if not identical:
        audit.record(
            site,
            actor,
            "edxml.conflict",
            path_of(document),
            via=via,
            document_id=document.document_id,
            reason="a package with this DocumentId and different content was already received",
        )
    return document, identical


# -- status messages ----------------------------------------------------------------------------
REASON_FIELD = "MessageHeader/Description"


def _already_applied(delivery, code, reported_at):
    return any(
        entry.get("state") == code and entry.get("reported_at") == reported_at for entry in delivery.history
    )


def _tag_last(delivery, via, reported_at, staff):
    """Mark the history entry the status made, so the same status is recognized when it comes again."""
    entry = dict(delivery.history[-1], reported_at=reported_at, via=via)
    if staff:
        entry["staff"] = staff
    delivery.history[-1] = entry


def apply_status(site, env, unit_code, data, via, actor=None, recipient=None):
    """``apply_status_message`` without the parsed status: ([deliveries], applied)."""
    moved, applied, _status = apply_status_message(site, env, unit_code, data, via, actor, recipient)
    return moved, applied


def apply_status_message(site, env, unit_code, data, via, actor=None, recipient=None):
    """Apply a status message from ``unit_code``'s product: ([deliveries], applied).

    As a recipient, ``unit_code`` reports on its own delivery (01–06, 15, 16 and 02/03 for a
    recall's answer); as the sender, it asks to take back (13) the deliveries on this hub —
    ``recipient`` (a unit code) picks one, by default every delivery that can still be
    recalled. ``applied`` is False when the same status had been applied before.
    Returns ([deliveries], applied, the parsed status dict).
    """
    actor = actor or product_actor(unit_code, via)
    stream = _stream(data)
    document_id = ""
    try:
        _checked_size(stream, env)
        _unit(site, unit_code)
        status = edxml.parse_status(stream, max_bytes=env.edxml_max_bytes)
        document_id = status["response_for"].get("document_id") or ""
        declared = (status.get("from") or {}).get("organ_id") or ""
        if declared != unit_code:
            raise Forbidden(
                _("The status is from ${sender}; you may report for ${unit} only."),
                field="MessageHeader/From/OrganId",
                sender=declared,
                unit=unit_code,
            )
        if not document_id:
            raise ServiceError(
                _("The edXML element ${element} is required and may not be empty."),
                field="MessageHeader/ResponseFor/DocumentId",
                element="MessageHeader/ResponseFor/DocumentId",
            )
        code = status["status_code"]
        document, own = _concerned(site, status, unit_code)
        if own is not None and code != workflow.RECALL_ASKED:
            moved, applied = _as_recipient(site, env, actor, own, status, via)
        elif document is not None and document.sender_code == unit_code:
            answered = status["response_for"].get("organ_id") or ""
            if not recipient and answered != unit_code and document.delivery_for(answered) is not None:
                recipient = answered  # the field's 13 names the unit it asks in ResponseFor/OrganId
            moved, applied = _as_sender(site, env, actor, document, status, via, recipient)
        elif own is not None:
            raise Forbidden(
                _("Only the sender of a document may ask to take it back."), field="MessageHeader/StatusCode"
            )
        else:
            raise NotFound(
                _(
                    "No document ${id} was sent to or by unit ${unit}: a status is applied only to a "
                    "document on the hub, and is not kept for one that may come later."
                ),
                field="MessageHeader/ResponseFor/DocumentId",
                id=document_id[:100],
                unit=unit_code,
            )
    except ServiceError as exc:
        raise _refused(site, env, actor, unit_code, via, exc, "status", document_id)
    audit.record(
        site,
        actor,
        "edxml.status",
        path_of(document),
        via=via,
        document_id=document_id,
        status=status["status_code"],
        reported_at=status["timestamp"],
        applied=applied,
        deliveries=[d.key for d in moved],
    )
    return moved, applied, status


def _concerned(site, status, unit_code):
    """(document, the reporting unit's own delivery or None) a status is about.

    Matched by ``ResponseFor/DocumentId`` and the responding unit: as a recipient, the
    latest document with that id (from the sender ResponseFor names, when it names one)
    that was delivered to the unit; as the sender, its latest document with that id.
    """
    response = status["response_for"]
    carrying = site["documents"].carrying(response.get("document_id") or "")
    sender = response.get("organ_id") or ""
    received = [
        d
        for d in carrying
        if (own := d.delivery_for(unit_code)) is not None
        and not own.is_personal
        and d.sender_code != unit_code
    ]
    preferred = [d for d in received if d.sender_code == sender] or received
    if preferred and status["status_code"] != workflow.RECALL_ASKED:
        return preferred[-1], preferred[-1].delivery_for(unit_code)
    sent = [d for d in carrying if d.sender_code == unit_code]
    if sent:
        return sent[-1], None
    if preferred:
        return preferred[-1], preferred[-1].delivery_for(unit_code)
    return None, None


def receive_status(site, env, unit_code, data, via, actor=None, recipient=None):
    """``apply_status`` for callers that want the delivery concerned (the first one)."""
    moved, _applied = apply_status(site, env, unit_code, data, via, actor=actor, recipient=recipient)
    return moved[0]


def _staff(status):
    info = status.get("staff_info") or {}
    return " — ".join(
        part for part in (info.get("staff", "").strip(), info.get("department", "").strip()) if part
    )


def _as_recipient(site, env, actor, delivery, status, via):
    code, reported_at = status["status_code"], status["timestamp"]
    if code == workflow.ARRIVED:
        if delivery.state == "":
            deliveries.arrive(site, env, delivery)
            _tag_last(delivery, via, reported_at, _staff(status))
            return [delivery], True
        return [delivery], False  # its arrival is known already
    if _already_applied(delivery, code, reported_at):
        return [delivery], False
    _act(site, env, actor, delivery, code, status, via)
    return [delivery], True


def _act(site, env, actor, delivery, code, status, via):
    action = workflow.get_action(delivery, workflow.ACTION_FOR_STATUS[code])
    workflow.check(delivery, action)
    reason = (status.get("description") or "").strip()
    if action.needs_reason and not reason:
        raise ServiceError(
            _("Status ${code} needs a reason in ${element}."),
            field=REASON_FIELD,
            code=code,
            element=REASON_FIELD,
        )
    staff = _staff(status)
    deliveries.act(
        site,
        env,
        actor,
        delivery,
        action.name,
        reason=reason if action.needs_reason else "",
        note="" if action.needs_reason else reason,
        system=True,
    )
    _tag_last(delivery, via, status["timestamp"], staff)


def _as_sender(site, env, actor, document, status, via, recipient):
    code, reported_at = status["status_code"], status["timestamp"]
    if code != workflow.RECALL_ASKED:
        raise Forbidden(
            _(
                "As the sender you may only ask to take a document back (13); status ${code} is "
                "reported by its recipients."
            ),
            field="MessageHeader/StatusCode",
            code=code,
        )
    if recipient:
        delivery = document.delivery_for(recipient)
        if delivery is None or delivery.is_personal:
            raise NotFound(_("The document was not sent to ${code}."), field="recipient", code=recipient[:40])
        candidates = [delivery]
    else:
        candidates = [d for d in document.deliveries.values() if d.recipient_code]
    done = [d for d in candidates if _already_applied(d, code, reported_at)]
    todo = [
        d
        for d in candidates
        if d not in done and (recipient or d.state in workflow.ACTIONS["recall"].sources)
    ]
    if not todo:
        if done:
            return done, False
        if candidates:
            workflow.check(candidates[0], workflow.ACTIONS["recall"])  # raises Conflict naming the state
        raise Conflict(
            _("No delivery of this document can be taken back now."), field="MessageHeader/StatusCode"
        )
    for delivery in todo:
        _act(site, env, actor, delivery, code, status, via)
    return todo + done, True


#: the audit actions of a package or status the hub would not take in
REFUSAL_ACTIONS = ("edxml.refuse", "transport.inbound_refused")


def recent_refusals(site, limit=50, scan=20000):
    """The newest refusals of what arrived (newest first), from the last ``scan`` audit
    entries: the operator's list of what the hub did not take in, and why."""
    found = []
    for number, entry in enumerate(site["audit"].iter_entries(reverse=True)):
        if number >= scan or len(found) >= limit:
            break
        if entry["action"] in REFUSAL_ACTIONS:
            found.append(entry)
    return found
