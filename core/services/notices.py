"""Notices (issue 17, R7.3, R8.1): who is told what, in the hub and by e-mail.

The one place for the rule of who hears of an act. The subscribers below (wired in
``core/exchange.py``) run in the act's own transaction, so a notice exists if and only if
the act committed:

- a document arrives: the recipient unit's clerks (or the person, for a personal mailbox);
- a recipient refuses it, agrees to give it back, refuses to, or completes it: the sender
  unit's clerks and the document's drafter; a recall (asked by the sender): the recipient's
  clerks, who answer it, and the sender's clerks and drafter;
- a draft is submitted: the sender unit's leaders; approved or sent back: its drafter;
- a delivery is assigned: the assignees (added, removed, or their deadline changed);
- a delegation (``services.delegations``), an overdue document (the digest), a paper
  document refused, a compromised password (``accounts.notify``) keep their own callers.

The person who acted is never told of their own act. A notice keeps its message as a msgid
with its mapping and is translated when it is shown, in the reader's language. A person
chooses on /notices/settings which kinds they want and whether to get them by e-mail as
well (``User.notice_prefs``); alerts (``ALERT``: a compromised password, an incident) cannot
be turned off. A notice to be mailed puts an ``OutgoingMail`` in /mail in the same
transaction; the worker sends it after the commit (``core/notice_mail.py``), so an aborted
act sends nothing and a mail survives a process that dies.

Where notices live: in each person's own ``LOBTree`` (``User.notices``), bounded to the
newest ``users.MAX_NOTICES`` (500), with an unread ``Length`` beside it for the top bar.
A per-person tree rather than a list in the ``User``: telling ten clerks of an arrival
writes ten small buckets, not ten user objects (which every login and session touches), and
the bound keeps a person who never reads them from growing without end.
"""

from pyramid.traversal import find_root

from .. import permissions as sec
from ..clock import iso, now_iso
from ..i18n import _
from ..resources.documents import path_of
from ..resources.mailqueue import OutgoingMail
from ..resources.users import Notice
from . import audit

ARRIVED = "arrived"
REFUSED = "refused"
RECALL = "recall"
COMPLETED = "completed"
APPROVAL_REQUESTED = "approval_requested"
APPROVAL_RETURNED = "approval_returned"
ASSIGNED = "assigned"
OVERDUE = "overdue"
DELEGATION = "delegation"
ALERT = "alert"  # security and operations: always shown

#: the kinds a person may choose, with what the settings page calls them
KINDS = {
    ARRIVED: _("A document arrives in my unit's mailbox or in mine"),
    REFUSED: _("A recipient refuses a document my unit sent"),
    RECALL: _("A document is asked back, given back or kept"),
    COMPLETED: _("A recipient completes a document my unit sent"),
    APPROVAL_REQUESTED: _("A draft waits for my approval"),
    APPROVAL_RETURNED: _("My draft is approved or sent back"),
    ASSIGNED: _("A document is assigned to me, or its assignment changes"),
    OVERDUE: _("A document I handle is overdue"),
    DELEGATION: _("Someone delegates to me"),
}

#: the recipient's acts the sender side hears of, and what they are told
SENDER_TOLD = {
    "refuse": (REFUSED, _("${unit} refused document ${notation} (${subject}): ${reason}")),
    "agree_recall": (RECALL, _("${unit} agreed to give back document ${notation} (${subject}).")),
    "refuse_recall": (
        RECALL,
        _("${unit} refused to give back document ${notation} (${subject}): ${reason}"),
    ),
    "complete": (COMPLETED, _("${unit} completed document ${notation} (${subject}).")),
}


# -- preferences ---------------------------------------------------------------------------
def preferences(user):
    """``{"muted": frozenset of kinds, "email": bool}`` of ``user`` (default: every kind, no e-mail)."""
    prefs = user.notice_prefs or {}
    return {"muted": frozenset(prefs.get("muted", ())), "email": bool(prefs.get("email", False))}


def set_preferences(site, actor, user, wanted, email):
    """Keep ``wanted`` kinds (the others muted) and the e-mail choice; returns True when changed."""
    muted = tuple(sorted(kind for kind in KINDS if kind not in set(wanted or ())))
    new = {"muted": muted, "email": bool(email)}
    old = preferences(user)
    if old["muted"] == frozenset(muted) and old["email"] == new["email"]:
        return False
    user.notice_prefs = new  # a new dict: the persistent user sees the change
    audit.record(
        site, actor, "notices.preferences", f"/users/{user.login}", muted=list(muted), email=new["email"]
    )
    return True


def wants(user, kind):
    return kind == ALERT or kind not in preferences(user)["muted"]


# -- telling -------------------------------------------------------------------------------
def add(user, kind, message, mapping=None, link="", site=None):
    """A notice of ``kind`` for ``user`` (unless they muted it), and its mail queued if they
    asked for e-mail; returns the notice's key, or None when they do not want it."""
    if not wants(user, kind):
        return None
    user.ensure_children()
    notice = Notice(now_iso(), str(message), mapping, link, kind=kind)
    key = user.add_notice(notice)
    if preferences(user)["email"] and (user.email or "").strip() and user.is_active():
        site = site if site is not None else find_root(user)
        queue = site.get("mail") if hasattr(site, "get") else None
        if queue is not None:
            queue.put(
                OutgoingMail(
                    notice.time, user.login, user.email.strip(), notice.message, notice.mapping, link, kind
                )
            )
    return key


def tell(site, logins, kind, message, mapping=None, link="", actor=None):
    """Tell each active person of ``logins`` (once each), except the one who acted; returns who was told."""
    acted = getattr(actor, "login", None)
    told = []
    for login in dict.fromkeys(logins):
        if not login or login == acted or login.startswith("system:"):
            continue
        user = site["users"].get(login)
        if user is None or not user.is_active():
            continue
        if add(user, kind, message, mapping, link, site=site) is not None:
            told.append(login)
    return told


def holders(site, code, role):
    """Logins of the people holding ``role`` on unit ``code``."""
    unit = site["directory"].get(code or "")
    roles = getattr(unit, "__local_roles__", None) or {}
    return sorted(p.split(":", 1)[1] for p, held in roles.items() if role in held and p.startswith("user:"))


def _unit_name(site, code):
    unit = site["directory"].get(code or "")
    return unit.name if unit is not None else (code or "")


def _about(site, document):
    return {
        "notation": document.notation or "",
        "subject": _short(document.title),
        "sender": _unit_name(site, document.sender_code),
    }


def _short(text, limit=120):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _recipients_side(site, delivery):
    """Who answers for a delivery at its recipient: the unit's clerks, or the person."""
    if delivery.recipient_login:
        return [delivery.recipient_login]
    return holders(site, delivery.recipient_code, sec.CLERK)


def _recipient_name(site, delivery):
    if delivery.recipient_login:
        user = site["users"].get(delivery.recipient_login)
        return user.fullname if user is not None else delivery.recipient_login
    return _unit_name(site, delivery.recipient_code)


def _senders_side(site, document):
    return holders(site, document.sender_code, sec.CLERK) + [document.created_by or ""]


# -- the subscribers (core/exchange.py) -----------------------------------------------------
def on_delivery_arrived(event):
    """``DeliveryArrived``: the recipient's clerks (or the person) hear of it; not its issuer."""
    site, delivery = event.site, event.delivery
    document = delivery.document
    mapping = dict(_about(site, document), unit=_recipient_name(site, delivery))
    message = (
        _("${sender} sent you document ${notation} (${subject}).")
        if delivery.recipient_login
        else _("${sender} sent document ${notation} (${subject}) to ${unit}.")
    )
    issuer = audit.Actor(login=document.issued_by or "")
    tell(site, _recipients_side(site, delivery), ARRIVED, message, mapping, path_of(delivery), actor=issuer)


def on_delivery_acted(event):
    """``DeliveryActed``: the other end hears of refusals, recalls, their answers, completions;
    the assignees of an assignment and its changes."""
    site, delivery, actor = event.site, event.delivery, event.actor
    document = delivery.document
    mapping = dict(_about(site, document), unit=_recipient_name(site, delivery), reason=_reason(delivery))
    if event.action in SENDER_TOLD:
        kind, message = SENDER_TOLD[event.action]
        tell(site, _senders_side(site, document), kind, message, mapping, path_of(document), actor)
    elif event.action == "recall":
        tell(
            site,
            _recipients_side(site, delivery),
            RECALL,
            _("${sender} asks to take back document ${notation} (${subject}): ${reason}"),
            mapping,
            path_of(delivery),
            actor,
        )
        tell(
            site,
            _senders_side(site, document),
            RECALL,
            _("Document ${notation} (${subject}) is being taken back from ${unit}: ${reason}"),
            mapping,
            path_of(document),
            actor,
        )
    elif event.action == "assign":
        _tell_assignees(site, delivery, mapping, actor)


def _reason(delivery):
    last = delivery.history[-1] if delivery.history else {}
    return _short(last.get("reason") or last.get("note") or "", 300)


def _tell_assignees(site, delivery, mapping, actor):
    """Added assignees are told it is theirs, removed ones that it no longer is, kept ones
    of a new deadline."""
    assigns = [entry for entry in delivery.history if "assignees" in entry]
    before = assigns[-2] if len(assigns) > 1 else {}
    now, old = tuple(delivery.assignees), tuple(before.get("assignees", ()))
    link = path_of(delivery)
    due = _day(delivery.due)
    mapping = dict(mapping, due=due)
    added = [login for login in now if login not in old]
    if due:
        assigned = _("Document ${notation} (${subject}) from ${sender} is assigned to you, deadline ${due}.")
    else:
        assigned = _("Document ${notation} (${subject}) from ${sender} is assigned to you.")
    tell(site, added, ASSIGNED, assigned, mapping, link, actor)
    told_before = set(before.get("informed", ()))
    informed = [login for login in delivery.informed or () if login not in told_before]
    tell(
        site,
        informed,
        ASSIGNED,
        _("Document ${notation} (${subject}) from ${sender} is sent to you for information."),
        mapping,
        link,
        actor,
    )
    removed = [login for login in old if login not in now]
    tell(
        site,
        removed,
        ASSIGNED,
        _("Document ${notation} (${subject}) is no longer assigned to you."),
        mapping,
        link,
        actor,
    )
    if before and (before.get("deadline") or None) != (assigns[-1].get("deadline") or None) and due:
        kept = [login for login in now if login in old]
        tell(
            site,
            kept,
            ASSIGNED,
            _("The deadline of document ${notation} (${subject}) is now ${due}."),
            mapping,
            link,
            actor,
        )


def _day(value):
    text = str(value or "")[:10]
    parts = text.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else text


def on_draft_moved(event):
    """``DraftMoved``: a submitted draft goes to its unit's leaders; an approval or a send-back to its drafter."""
    site, document, actor = event.site, event.document, event.actor
    name = _person_name(site, getattr(actor, "login", ""))
    mapping = dict(_about(site, document), name=name, note=_short(event.note, 300))
    link = path_of(document)
    if event.action == "submit":
        message = _("${name} asks you to approve the draft \u201c${subject}\u201d.")
        tell(
            site,
            holders(site, document.sender_code, sec.LEADER),
            APPROVAL_REQUESTED,
            message,
            mapping,
            link,
            actor,
        )
    elif event.action == "approve":
        message = _("${name} approved your draft \u201c${subject}\u201d.")
        tell(site, [document.created_by or ""], APPROVAL_RETURNED, message, mapping, link, actor)
    elif event.action == "send_back":
        message = _("${name} sent your draft \u201c${subject}\u201d back: ${note}")
        tell(site, [document.created_by or ""], APPROVAL_RETURNED, message, mapping, link, actor)


def _person_name(site, login):
    user = site["users"].get(login or "")
    return user.fullname if user is not None else (login or "")


# -- reading and marking -------------------------------------------------------------------
def listing(user, unread_only=False, offset=0, limit=50):
    """``(total, [(key, notice)])`` newest first, ``limit`` from ``offset``."""
    if user.notices is None:
        return 0, []
    items = [(k, n) for k, n in reversed(list(user.notices.items())) if not (unread_only and n.read)]
    return len(items), items[offset : offset + limit]


def mark_read(user, key, read=True):
    """Mark the notice ``key`` (int or its text) read or unread; False when there is none."""
    try:
        key = int(key)
    except (TypeError, ValueError):
        return False
    if not 0 < key < 2**63:  # beyond an LOBTree's keys
        return False
    return user.mark_notice_read(key, read)


def mark_all_read(user):
    """Every notice read; returns how many changed."""
    changed = 0
    for key, notice in list(user.notices.items()) if user.notices is not None else ():
        if not notice.read:
            user.mark_notice_read(key)
            changed += 1
    return changed


def text_of(localizer, notice):
    """The notice in ``localizer``'s language."""
    from ..i18n import translate_message

    return translate_message(localizer, _(notice.message, mapping=dict(notice.mapping)))


# -- mail (core/notice_mail.py sends) --------------------------------------------------------
def mail_batch(site, localizer, base_url, now, limit=50):
    """The pending mails due at ``now``, rendered: ``[(key, address, name, subject, text)]``."""
    queue = site.get("mail")
    if queue is None:
        return []
    batch = []
    users = site["users"]
    for key, mail in queue.pending.items():
        if len(batch) >= limit:
            break
        if mail.next_attempt and mail.next_attempt > now:
            continue
        text = text_of(localizer, mail)
        url = base_url + (mail.link or "/notices")
        body = "\n\n".join(
            [
                text,
                localizer.translate(_("Open: ${url}", mapping={"url": url})),
                localizer.translate(
                    _(
                        "You receive this e-mail because you asked for notices by e-mail. "
                        "Choose which ones at ${url}.",
                        mapping={"url": base_url + "/notices/settings"},
                    )
                ),
            ]
        )
        user = users.get(mail.login)
        name = user.fullname if user is not None else ""
        batch.append((key, mail.address, name, "LienThong: " + _short(text, 150), body))
    return batch


def mail_waiting(site):
    """True when /mail holds a mail not yet sent."""
    queue = site.get("mail")
    return queue is not None and bool(queue.pending)


def mark_mailed(site, results, now):
    """``results``: key -> None (sent) or the error; a failed mail waits longer each time."""
    from datetime import timedelta

    from ..clock import parse_iso

    queue = site["mail"]
    for key, error in results.items():
        if error is None:
            queue.mark_sent(key, iso(now) if not isinstance(now, str) else now)
            continue
        mail = queue.pending.get(key)
        if mail is None:
            continue
        mail.attempts += 1
        mail.last_error = str(error)[:300]
        moment = parse_iso(now) if isinstance(now, str) else now
        mail.next_attempt = iso(moment + timedelta(seconds=min(3600, 30 * 2 ** min(mail.attempts, 7))))
