"""Paper receipt check (R9.2): a paper document arrives; is its data message in the unit mailbox?

(a) it is: the clerk accepts and registers the electronic one;
(b) it is not, and the sender is not connected to the hub (or not in the directory):
    the paper document is registered as incoming, with an optional scan;
(c) it is not, and the sender is connected: it is refused, the sender's clerks are told
    to issue it electronically, and the violation is recorded (an incident, R12).
"""

from .. import permissions as sec
from ..clock import iso
from ..errors import ServiceError, iso_date
from ..i18n import _
from ..resources import directory as d
from ..resources.registers import INCOMING
from ..text import fold
from . import accounts, audit, indexing, mailboxes, registers, workflow
from .deliveries import act

FOUND_AND_REGISTERED = "registered_electronic"
ALREADY_REGISTERED = "already_registered"
PAPER_REGISTERED = "registered_paper"
REFUSED_CONNECTED = "refused_connected"


def _normal_notation(text):
    return "".join(fold(text or "").split()).replace("số:", "").replace("so:", "")


def _clean(sender_code, sender_name, notation, promulgation_date):
    notation = (notation or "").strip()
    if not notation:
        raise ServiceError(
            _("Enter the number and notation written on the paper document."), field="notation"
        )
    if not (sender_code or sender_name or "").strip():
        raise ServiceError(_("Choose the sender or write its name."), field="sender")
    day = iso_date(promulgation_date, "promulgation_date")
    if not day:
        raise ServiceError(_("Enter the date written on the paper document."), field="promulgation_date")
    return (sender_code or "").strip(), (sender_name or "").strip(), notation, day


def find_message(site, unit, sender_code, notation, promulgation_date):
    """The delivery in ``unit``'s inbox from ``sender_code`` with that notation and date, or None."""
    wanted = _normal_notation(notation)
    catalog = indexing.searchable(site)
    total, keys = catalog.query(mailboxes.box_key(mailboxes.INBOX, unit.code), sender=sender_code, limit=None)
    for key in keys:
        delivery = mailboxes.resolve_key(site, key)
        if delivery is None:
            continue
        meta = delivery.document.meta
        if (
            _normal_notation(delivery.document.notation) == wanted
            and meta.get("promulgation_date", "") == promulgation_date
        ):
            return delivery
    return None


def check(
    site,
    env,
    actor,
    unit,
    sender_code="",
    notation="",
    promulgation_date="",
    sender_name="",
    subject="",
    scan=None,
):
    """Run the R9.2 check for a paper document received by ``unit``; return ``(outcome, details)``.

    ``scan`` is an optional ``(name, fileobj)`` of the scanned paper, kept with a paper
    registration (b).
    """
    sender_code, sender_name, notation, day = _clean(sender_code, sender_name, notation, promulgation_date)
    sender = site["directory"].get(sender_code) if sender_code else None
    if sender_code and sender is None:
        raise ServiceError(_("Unknown unit ${code}."), field="sender", code=sender_code)
    delivery = find_message(site, unit, sender_code, notation, day) if sender is not None else None
    if delivery is not None:
        if delivery.state == workflow.ARRIVED:
            act(site, env, actor, delivery, "accept", note=_paper_note())
            outcome = FOUND_AND_REGISTERED
        else:
            outcome = ALREADY_REGISTERED
        audit.record(
            site,
            actor,
            "paper.check",
            f"/directory/{unit.code}",
            outcome=outcome,
            document=delivery.document.id,
            notation=notation,
        )
        return outcome, {
            "delivery": delivery,
            "document": delivery.document,
            "register_number": delivery.register_number,
        }
    if sender is None or sender.connection_state == d.NOT_CONNECTED:
        return PAPER_REGISTERED, _register_paper(
            site, env, actor, unit, sender, sender_code, sender_name, notation, day, subject, scan
        )
    return REFUSED_CONNECTED, _refuse(site, env, actor, unit, sender, notation, day, subject)


def _paper_note():
    return "paper copy received"


def _register_paper(site, env, actor, unit, sender, sender_code, sender_name, notation, day, subject, scan):
    now = env.now()
    year = now.astimezone(env.timezone).year
    scan_info = None
    if scan is not None:
        scan_info = _store_scan(site, env, scan)
    entry = {
        "paper": True,
        "time": iso(now),
        "sender": sender_code,
        "sender_name": sender.name if sender is not None else sender_name,
        "notation": notation,
        "promulgation_date": day,
        "subject": (subject or "").strip(),
        "scan": scan_info,
        "actor": actor.login,
        "on_behalf_of": actor.on_behalf_of,
    }
    number = registers.take_number(unit, INCOMING, year, entry)
    found = registers.note_duplicates(unit, INCOMING, year, number)
    audit.record(
        site,
        actor,
        "paper.register",
        f"/directory/{unit.code}/registers/{year}-in",
        number=number,
        sender=entry["sender_name"],
        notation=notation,
        scan=bool(scan_info),
    )
    return {
        "register_number": number,
        "register_year": year,
        "entry": dict(entry, number=number),
        "duplicates": found,
    }


def _store_scan(site, env, scan):
    """Check and store the scan in the attachment store; return its description for the register."""
    from ..filetypes import check_attachment

    name, fileobj = scan
    info = check_attachment(name, fileobj, env.attachment_policy)
    fileobj.seek(0)
    key = env.blob_store.put(site, fileobj)
    return {
        "name": info["name"],
        "content_type": info["content_type"],
        "size": info["size"],
        "sha256": key,
        "store": env.blob_store.name,
    }


def _refuse(site, env, actor, unit, sender, notation, day, subject):
    from .incidents import open_incident

    incident_id = open_incident(
        site,
        actor,
        "paper_without_electronic",
        f"/directory/{sender.code}",
        unit_code=sender.code,
        description=_(
            "${notation} (${day}) from ${sender} reached ${unit} on paper only. ${subject}",
            mapping={
                "notation": notation,
                "day": day,
                "sender": sender.name,
                "unit": unit.name,
                "subject": subject or "",
            },
        ),
        actions=[_("paper document refused"), _("sender notified to issue it electronically")],
    )
    notified = []
    for user in _clerks_of(site, sender):
        accounts.notify(
            user,
            _(
                "${unit} received your document ${notation} of ${date} on paper only: it is refused. "
                "Issue it electronically through the hub."
            ),
            kind="refused",
            unit=unit.name,
            notation=notation,
            date=day,
        )
        notified.append(user.login)
    audit.record(
        site,
        actor,
        "paper.refuse",
        f"/directory/{unit.code}",
        sender=sender.code,
        notation=notation,
        promulgation_date=day,
        incident=incident_id,
        notified=notified,
    )
    return {"incident": incident_id, "notified": notified, "sender": sender}


def _clerks_of(site, unit):
    """The sender's clerks; its leaders when it has no clerk on the hub."""
    people = {}
    for principal, roles in (unit.__local_roles__ or {}).items():
        if principal.startswith("user:"):
            people[principal[5:]] = roles
    for wanted in (sec.CLERK, sec.LEADER):
        found = [
            site["users"][login]
            for login, roles in sorted(people.items())
            if wanted in roles and login in site["users"]
        ]
        if found:
            return found
    return []
