"""The document lifecycle: compose, approve and issue (R3.2, R7.2, R9.1).

The path of a document: a draft in its unit (``compose``) → optionally submitted and
approved (the unit's ``approval`` policy) → issued (``issue``): validators run first,
then the attachments are signed with the unit's key, then the next number of the unit's
outgoing register, then one Delivery per recipient (``deliveries.deliver``) — all in the
caller's transaction, so a refused or failed send stores nothing. Recipients on this hub
get their delivery at once (state 01); recipients served by an eOffice adapter get a
delivery queued for the transport. What happens to a delivery after that (arrival, acts,
reads) is ``deliveries``'s; attachments are ``attachments``'s, signatures ``signatures``'s.

Issuing emits ``DocumentSent`` and every change of a draft ``DocumentChanged``
(``core/events.py``); the catalog and the rest subscribe to them (``core/exchange.py``).
"""

import uuid

from .. import doctypes, metadata, permissions as sec
from ..clock import iso
from ..errors import Conflict, DocumentError, Forbidden, NotFound, iso_date, xml_text
from ..events import DocumentChanged, DocumentSent, DraftMoved
from ..i18n import _
from ..resources import documents as docs
from ..resources.documents import Document, path_of
from ..resources.registers import OUTGOING
from ..text import as_list
from . import attachments, audit, deliveries, registers, signatures
from .directory import resolve
from .directory_external import local_units

PRIORITIES = (0, 1, 2, 3, 4)  # edXML: normal, urgent, very urgent, express, express on time
MAX_SUBJECT = 500  # Decree 30, annex VI: Subject, String 500
MAX_IMPORTED_SUBJECT = 1000  # a package another system made: read as the field writes it
MAX_CONTENT = 20000

#: named groups of recipients: the kinds of units, and a unit's sub-units
GROUPS = {
    "all_districts": ("district", _("All district people's committees")),
    "all_departments": ("department", _("All departments")),
    "all_agencies": ("agency", _("All agencies")),
    "all_communes": ("commune", _("All communes")),
}

TEXT_FIELDS = (
    "subject",
    "content",
    "promulgation_place",
    "signer_competence",
    "signer_position",
    "signer_name",
    "sphere_of_promulgation",
    "business_reason",
)
INT_FIELDS = ("priority", "steering_type", "promulgation_amount", "page_amount")
LIST_FIELDS = ("to_places", "appendixes")


# -- small helpers ---------------------------------------------------------------------------
def get_document(site, name):
    document = site["documents"].get(name or "")
    if document is None:
        document_name = site["documents"].name_for(name or "")
        document = site["documents"].get(document_name) if document_name else None
    if document is None:
        raise NotFound(_("No document ${id}."), field="id", id=name or "")
    return document


def _as_int(value, field, allowed=None, default=0):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DocumentError(_("${value} is not a whole number."), field=field, value=str(value)[:40])
    if number < 0 or (allowed is not None and number not in allowed):
        raise DocumentError(_("${value} is not allowed here."), field=field, value=str(number))
    return number


# -- metadata ------------------------------------------------------------------------------
def clean_meta(data, previous=None, typed=True):
    """The edXML header fields of ``data``, checked; raise ``DocumentError`` naming the first bad one.

    ``typed``: what a person types (compose, edit, the API's JSON) keeps annex VI's limits;
    an edXML package another system made (``typed`` False) is read as the field writes it,
    with the wider limits the codec accepts (the field wins: real packages carry longer
    numbers than the annex allows)."""
    meta = dict(previous or {})
    for name in TEXT_FIELDS:
        if name in data:
            meta[name] = str(data[name] or "").strip()
    for name in INT_FIELDS:
        if name in data:
            meta[name] = _as_int(data[name], name, PRIORITIES if name == "priority" else None)
    for name in LIST_FIELDS:
        if name in data:
            meta[name] = as_list(data[name])
    if "doc_type" in data:
        kind = doctypes.get(data["doc_type"])
        if kind is None:
            raise DocumentError(
                _("Unknown type of document ${value}."),
                field="doc_type",
                value=str(data["doc_type"] or "")[:40],
            )
        meta["doc_type"], meta["doc_type_name"] = kind.code, kind.name
    if "due_date" in data:
        meta["due_date"] = iso_date(data["due_date"], "due_date")
    if "promulgation_date" in data:
        meta["promulgation_date"] = iso_date(data["promulgation_date"], "promulgation_date")
    if "response_for" in data:
        meta["response_for"] = [dict(r) for r in data["response_for"] or ()]
    for name in TEXT_FIELDS + LIST_FIELDS + ("response_for",):
        if name in data:  # what an edXML package will carry: refused now, not at delivery
            xml_text(meta[name], name)
    if not meta.get("subject"):
        raise DocumentError(_("The subject is required."), field="subject")
    subject_limit = MAX_SUBJECT if typed else MAX_IMPORTED_SUBJECT
    if len(meta["subject"]) > subject_limit:
        raise DocumentError(
            _("The subject is longer than ${max} characters."), field="subject", max=subject_limit
        )
    if len(meta.get("content", "")) > MAX_CONTENT:
        raise DocumentError(
            _("The content summary is longer than ${max} characters."), field="content", max=MAX_CONTENT
        )
    if not meta.get("doc_type"):
        raise DocumentError(_("Choose the type of document."), field="doc_type")
    if typed:
        metadata.check(meta)  # annex VI's lengths, for what people type
    for name, default in (
        ("content", ""),
        ("priority", 0),
        ("steering_type", 0),
        ("due_date", ""),
        ("to_places", []),
        ("appendixes", []),
        ("response_for", []),
        ("business_doc_type", 0),
    ):
        meta.setdefault(name, default)
    return meta


def expand_recipients(site, sender_code, codes=(), groups=(), persons=(), to_self=False, network=()):
    """(unit codes, logins): groups expanded, reorganized units routed to their successors.

    A group is of this hub's units (``network``: the adapters whose units are elsewhere, never
    in a group: "all agencies" is not the national directory's 100,000). The sender never
    receives its own document (unless ``to_self``: an imported package addressed to its own
    sender, as the axis's loopback tests are, is delivered as it says); each unit and person once.
    """
    directory = site["directory"]
    wanted = list(as_list(codes))
    members = None
    for group in as_list(groups):
        if members is None:
            members = local_units(site, network)
        if group in GROUPS:
            kind = GROUPS[group][0]
            wanted += [u.code for u in members if u.kind == kind]
        elif group.startswith("children:") and group.split(":", 1)[1] in directory:
            parent = group.split(":", 1)[1]
            wanted += [u.code for u in members if u.parent_code == parent]
        else:
            raise DocumentError(_("Unknown group of recipients ${group}."), field="groups", group=group[:60])
    units = []
    for code in wanted:
        if code not in directory:
            raise DocumentError(_("Unknown unit ${code}."), field="recipients", code=code[:40])
        unit = resolve(site, code)
        if unit is None:
            raise Conflict(
                _("Unit ${code} was dissolved and nobody took over its mail."), field="recipients", code=code
            )
        if (to_self or unit.code != sender_code) and unit.code not in units:
            units.append(unit.code)
    logins = []
    for login in as_list(persons):
        user = site["users"].get(login)
        if user is None or not user.is_active():
            raise DocumentError(_("No active account ${login}."), field="persons", login=login[:60])
        if login not in logins:
            logins.append(login)
    return tuple(units), tuple(logins)


def _from_block(unit):
    return {
        "organ_id": unit.code,
        "organ_name": unit.name,
        "organ_in_charge": "",
        "organ_add": unit.address or "",
        "email": unit.email or "",
        "telephone": unit.phone or "",
        "fax": "",
        "website": "",
    }


def _to_block(site, codes, persons=()):
    """edXML's To: the recipient units; for a document to persons only, the units they work in."""
    directory = site["directory"]
    if not codes:
        codes = []
        for login in persons:
            code = site["users"][login].unit_code
            if code in directory and code not in codes:
                codes.append(code)
    return [{"organ_id": c, "organ_name": directory[c].name} for c in codes]


# -- drafts -------------------------------------------------------------------------------
def compose(site, env, actor, unit, data, files=(), origin="hub", header=None):
    """Make a draft of ``unit`` from ``data`` (metadata and recipients) and ``files``.

    ``header``: header fields an imported edXML package keeps as they are (``edxml_io.KEPT_HEADER_FIELDS``).
    """
    header = dict(header or {})
    meta = clean_meta(data, header, typed=origin != "edxml")
    classification = str(data.get("classification") or "").strip()
    if classification not in doctypes.CLASSIFICATIONS:
        raise DocumentError(
            _("Unknown classification ${value}."), field="classification", value=classification[:40]
        )
    units, persons = expand_recipients(
        site,
        unit.code,
        data.get("recipients"),
        data.get("groups"),
        data.get("persons"),
        network=env.network_adapters,
        to_self=origin == "edxml",
    )
    now = iso(env.now())
    document = Document(uuid.uuid4().hex, unit.code, meta, actor.login, now, actor.on_behalf_of)
    document.meta["document_id"] = document.meta.get("document_id") or document.id
    if "from" not in header:
        document.meta["from"] = _from_block(unit)
    if "to" not in header:
        document.meta["to"] = _to_block(site, units, persons)
    document.recipients, document.persons = units, persons
    document.classification = classification
    document.origin = origin
    _link_to_original(site, document, data)
    if document.business_doc_type == docs.NEW and any(
        d.business_doc_type == docs.NEW for d in site["documents"].carrying(document.document_id, unit.code)
    ):  # an update, replacement or revocation reuses its original's DocumentId (the field's way)
        raise Conflict(
            _("The document ${id} is already on the hub."),
            field="document_id",
            id=document.meta["document_id"],
        )
    site["documents"].add_document(document)
    attachments.add_attachments(site, env, document, files)
    audit.record(site, actor, "document.draft", path_of(document), subject=meta["subject"])
    env.notify(DocumentChanged(document, site))
    return document


def _link_to_original(site, document, data):
    """An update (2), replacement (3) or revocation (1) names the document it concerns."""
    kind = _as_int(data.get("business_doc_type"), "business_doc_type", (0, 1, 2, 3))
    document.meta["business_doc_type"] = kind
    if kind == docs.NEW:
        document.meta.pop("business_document_id", None)
        return
    if document.origin == "edxml":
        # The package's Bussiness block is kept as it came; its original is found at issue
        # (``original_of``), or it was exchanged elsewhere and the reference stays as it is.
        document.meta.setdefault("business_document_id", "")
        return
    try:
        original = get_document(site, str(data.get("business_document_id") or ""))
    except NotFound:
        raise DocumentError(
            _("No document ${id} to update or replace."),
            field="business_document_id",
            id=str(data.get("business_document_id") or "")[:60],
        ) from None
    if original.sender_code != document.sender_code or not original.is_issued():
        raise DocumentError(
            _("Only an issued document of your own unit can be updated or replaced."),
            field="business_document_id",
        )
    document.meta["business_document_id"] = original.document_id
    document.meta["business_reason"] = str(data.get("business_reason") or "").strip()
    if not document.meta["business_reason"]:
        raise DocumentError(_("Say why the document is updated or replaced."), field="business_reason")


def update_draft(site, env, actor, document, data, files=(), remove=()):
    require_editable(document)
    document.meta = dict(clean_meta(data, document.meta))
    if any(k in data for k in ("recipients", "groups", "persons")):
        units, persons = expand_recipients(
            site,
            document.sender_code,
            data.get("recipients"),
            data.get("groups"),
            data.get("persons"),
            network=env.network_adapters,
        )
        document.recipients, document.persons = units, persons
        document.meta = dict(document.meta, to=_to_block(site, units, persons))
    if "classification" in data:
        value = str(data.get("classification") or "").strip()
        if value not in doctypes.CLASSIFICATIONS:
            raise DocumentError(
                _("Unknown classification ${value}."), field="classification", value=value[:40]
            )
        document.classification = value
    for name in remove:
        if name in document.attachments:
            document.attachments.remove(name)
    attachments.add_attachments(site, env, document, files)
    if document.state != docs.DRAFT:  # a changed draft needs approving again
        document.state = docs.DRAFT
    audit.record(site, actor, "document.edit", path_of(document))
    env.notify(DocumentChanged(document, site))
    return document


def require_editable(document):
    """An issued document never changes (R6.6): editing it, or asking for its edit form, is a 409."""
    if document.state not in docs.EDITABLE:
        raise Conflict(
            _("An issued document never changes; send an update or a replacement instead."), field="state"
        )


def submit(site, env, actor, document):
    """A specialist's draft goes to the unit's leaders for approval."""
    _move_draft(site, env, actor, document, (docs.DRAFT,), docs.PENDING, "submit")


def approve(site, env, actor, document, note=""):
    _move_draft(site, env, actor, document, (docs.DRAFT, docs.PENDING), docs.APPROVED, "approve", note)


def send_back(site, env, actor, document, note):
    if not (note or "").strip():
        raise DocumentError(_("Say what must change."), field="note")
    _move_draft(site, env, actor, document, (docs.PENDING, docs.APPROVED), docs.DRAFT, "send_back", note)


DRAFT_REFUSALS = {
    "submit": _("This draft cannot be submitted now."),
    "approve": _("This draft cannot be approved now."),
    "send_back": _("This draft cannot be sent back now."),
}


def _move_draft(site, env, actor, document, sources, target, action, note=""):
    require_editable(document)
    if document.state not in sources:
        raise Conflict(DRAFT_REFUSALS[action], field="state")
    document.state = target
    document.approval.append(dict(actor.fields(), action=action, time=iso(env.now()), note=note))
    audit.record(site, actor, f"document.{action}", path_of(document), note=note)
    env.notify(DraftMoved(document, site, action=action, actor=actor, note=note))  # a DocumentChanged


# -- issuing -------------------------------------------------------------------------------
class IssueRefused(Forbidden):
    """The caller may write the unit's drafts but may not issue them (``may_issue``)."""


def may_issue(document, permits):
    """Whether the caller may issue ``document``: the one rule pages, the API and imports ask.

    It is the ``ISSUE`` permission on the document itself, whose ACL follows the sender
    unit's ``issuers`` policy (its clerk by default; the unit's own eOffice token always).
    ``permits(permission, resource)`` is the caller's check (a request's
    ``has_permission``), so this service never sees the request.
    """
    return bool(permits(sec.ISSUE, document))


def require_issuer(document, permits, field):
    """``may_issue`` or refuse with ``IssueRefused`` (403, on the record as a refused access)."""
    if not may_issue(document, permits):
        raise IssueRefused(
            _("You may not issue documents of unit ${code}; send it as a draft for the unit's clerk."),
            field=field,
            code=document.sender_code,
        )


def validate_outgoing(env, document, sender):
    """Every plugin's ``lienthong_validate_outgoing`` reasons; the send is refused if any."""
    reasons = []
    for found in env.plugins.hook.lienthong_validate_outgoing(document=document, sender=sender):
        reasons.extend(found or ())
    return reasons


def issue(site, env, actor, document, system=False, keep_number=False):
    """Number the draft in the outgoing register, send it and deliver it; refuse with reasons.

    ``system``: the unit's eOffice product issues (its own approval was done there).
    ``keep_number``: the document already carries its number (an imported edXML package).
    """
    require_editable(document)
    unit = site["directory"][document.sender_code]
    if not unit.is_active():
        raise Conflict(
            _("Unit ${code} was reorganized and sends no more documents."), field="state", code=unit.code
        )
    if unit.policy("approval") and not system and document.state != docs.APPROVED:
        raise Conflict(
            _("The unit's rules ask a leader to approve this draft before it is issued."), field="state"
        )
    if not document.recipients and not document.persons:
        raise DocumentError(_("Choose at least one recipient."), field="recipients")
    reasons = validate_outgoing(env, document, unit)
    if reasons:
        raise DocumentError(
            _("The document cannot be sent: ${reasons}"),
            field="validation",
            reasons=reasons[0]
            if len(reasons) == 1
            else "; ".join(r.interpolate() if hasattr(r, "interpolate") else str(r) for r in reasons),
        )
    # a package that arrives numbered was made (and signed, or not) by its source: kept as it is
    imported = keep_number and bool(document.meta.get("code_number"))
    if not imported:
        # sign with the unit's key; a failure refuses the send and stores nothing (R10.10)
        signatures.sign_attachments(site, env, actor, document, unit)
    now = env.now()
    local = now.astimezone(env.timezone)
    year = local.year
    if imported and unit.adapter:
        number = None  # numbered in the register its own system keeps (its eOffice product, a peer hub)
    else:
        number = registers.take_number(
            unit,
            OUTGOING,
            year,
            {
                "document": document.id,
                "time": iso(now),
                "subject": document.meta["subject"],
                "doc_type": document.meta["doc_type"],
                "recipients": list(document.recipients),
                "persons": list(document.persons),
                **actor.fields(),
            },
        )
    if not keep_number or not document.meta.get("code_number"):
        document.meta["code_number"] = str(number)
        document.meta["code_notation"] = doctypes.notation(document.meta["doc_type"], unit.notation_symbol)
        document.meta["promulgation_date"] = local.date().isoformat()
        document.meta.setdefault("promulgation_place", "")
    if not keep_number or not document.meta.get("trace"):
        document.meta["trace"] = list(document.meta.get("trace") or ()) + [
            {"organ_id": unit.code, "timestamp": now.astimezone(env.timezone).isoformat(timespec="seconds")}
        ]
    from ..edxml import canonical_document

    document.meta = canonical_document(document.meta)  # what is issued is a valid edXML header
    if number:
        # the number came first (it is part of the notation); the entry gets annex IV's columns now
        registers.complete_entry(
            unit,
            OUTGOING,
            year,
            number,
            registers.outgoing_columns(site, unit, document),
        )
        registers.note_duplicates(unit, OUTGOING, year, number)  # a number an import brought may repeat
    document.register_number, document.register_year = number, year
    document.state = docs.ISSUED
    document.issued_by, document.issued_on_behalf_of, document.issued_at = (
        actor.login,
        actor.on_behalf_of,
        iso(now),
    )
    deliveries.deliver(site, env, document)
    _link_original(site, document)
    audit.record(
        site,
        actor,
        "document.issue",
        path_of(document),
        notation=document.notation,
        register=f"{year}-out/{number}" if number else None,
        recipients=list(document.recipients),
        persons=list(document.persons),
    )
    env.notify(DocumentChanged(document, site))
    env.notify(DocumentSent(document, site))
    return document


def send(site, env, actor, unit, data, files=(), system=False, origin="api"):
    """Compose and issue in one step (the API, eOffice products, imported packages)."""
    document = compose(site, env, actor, unit, data, files, origin=origin)
    return issue(site, env, actor, document, system=system, keep_number=bool(data.get("code_number")))


def original_of(site, document):
    """The document an update, replacement or revocation concerns: the sender's first with its
    ``business_document_id`` (the field reuses the original's DocumentId), or None."""
    for wanted in dict.fromkeys((document.meta.get("business_document_id"), document.document_id)):
        carrying = [
            d for d in site["documents"].carrying(wanted or "", document.sender_code) if d is not document
        ]
        if carrying:
            return next((d for d in carrying if d.business_doc_type == docs.NEW), carrying[0])
    return None


def _link_original(site, document):
    if document.business_doc_type == docs.NEW:
        return
    original = original_of(site, document)
    if original is None:
        return  # an imported update of a document this hub never carried
    original.links.append(
        {
            "document": document.id,
            "business_doc_type": document.business_doc_type,
            "notation": document.notation,
            "time": document.issued_at,
        }
    )
