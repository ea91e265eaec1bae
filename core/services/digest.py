"""The daily digest and the overdue reminders (R7.3, R8.1).

Once a working day (cron or a systemd timer runs ``lienthong digest``) every active person
who holds a mail role in a unit (clerk, leader, specialist) or has open deliveries in their
personal mailbox gets one e-mail listing what waits for them:

- a clerk: deliveries arrived (01) in the unit's inbox and not yet accepted, recall
  requests (13) to answer;
- a leader: accepted deliveries (03) not yet assigned, and every overdue delivery of the
  unit (the leader answers for the unit's handling);
- a specialist: the deliveries assigned to them (04, 05) with their deadlines;
- everyone: new deliveries (01) and recall requests in their personal mailbox.

Each delivery is listed once, in its most urgent section: overdue (open and due before
today), then due today or on the next working day, then the section of its role. Persons
with nothing to do get nothing. Every overdue delivery also gives the person an in-app
notice, at most once a day: ``delivery.reminded_on`` maps a login to the day it was last
reminded, so a second run the same day repeats no notice.

The lists come from the mailbox catalog (one query per unit and state), not from walking
the documents. Mails are sent inside the caller's transaction, before its commit: when the
mail server cannot be reached the error propagates, the caller aborts, and nothing is
marked as reminded (mails already handed over before the failure stay sent).
"""

from dataclasses import dataclass, field

from .. import permissions as sec
from ..clock import iso
from ..i18n import _, site_localizer
from ..mail import MailConfig, Mailer, MailError, build_message
from ..resources.documents import Delivery, path_of
from . import accounts, audit, indexing, workflow
from .mailboxes import INBOX, PERSONAL, box_key, resolve_key

#: sections of a digest, most urgent first
OVERDUE, DUE_SOON, ARRIVED, RECALL, TO_ASSIGN, ASSIGNED, PERSONAL_NEW = (
    "overdue",
    "due_soon",
    "arrived",
    "recall",
    "to_assign",
    "assigned",
    "personal",
)
SECTIONS = (OVERDUE, DUE_SOON, ARRIVED, RECALL, TO_ASSIGN, ASSIGNED, PERSONAL_NEW)
#: listed only when overdue or due soon (a leader's watch over the unit, work in progress)
_WATCH = "watch"

SECTION_TITLES = {
    OVERDUE: _("Overdue"),
    DUE_SOON: _("Due today or on the next working day"),
    ARRIVED: _("Arrived, waiting to be accepted and registered"),
    RECALL: _("Recall requests waiting for an answer"),
    TO_ASSIGN: _("Accepted, waiting to be assigned"),
    ASSIGNED: _("Assigned to you"),
    PERSONAL_NEW: _("New in your personal mailbox"),
}

MAIL_ROLES = (sec.CLERK, sec.LEADER, sec.SPECIALIST)
#: open states of a personal delivery (its own, shorter workflow)
PERSONAL_OPEN = (workflow.ARRIVED, workflow.IN_PROGRESS, workflow.RECALL_ASKED)
#: items shown per section in a mail; the count always covers all of them
MAX_LISTED = 50
DEFAULT_PUBLIC_URL = "http://localhost:6543"
ACTOR = audit.Actor.system("digest")

# statuses of a person's line
SENT, DRY_RUN, NO_ADDRESS, REFUSED, ALREADY_SENT = (
    "sent",
    "dry run",
    "no e-mail address",
    "refused",
    "already sent",
)


@dataclass
class PersonDigest:
    """What one person has to do today, by section; ``status`` says what became of the mail."""

    login: str
    fullname: str
    email: str
    sections: dict = field(default_factory=dict)  # section -> [Delivery], most urgent first
    mailboxes: list = field(default_factory=list)  # (label, path) of the boxes the items come from
    notices: int = 0
    status: str = ""
    error: str = ""

    def count(self, section):
        return len(self.sections.get(section, ()))

    @property
    def overdue(self):
        return self.count(OVERDUE)

    @property
    def due_soon(self):
        return self.count(DUE_SOON)

    @property
    def pending(self):
        return sum(self.count(s) for s in SECTIONS if s not in (OVERDUE, DUE_SOON))

    @property
    def total(self):
        return sum(len(v) for v in self.sections.values())


@dataclass
class Report:
    day: object
    working_day: bool
    forced: bool = False
    dry_run: bool = False
    skipped: bool = False  # not a working day and not forced: nothing was done
    people: list = field(default_factory=list)

    def _count(self, status):
        return sum(1 for p in self.people if p.status == status)

    @property
    def sent(self):
        return self._count(SENT)

    @property
    def refused(self):
        return self._count(REFUSED)

    @property
    def notices(self):
        return sum(p.notices for p in self.people)

    @property
    def overdue(self):
        return sum(p.overdue for p in self.people)


class _Lists:
    """Catalog queries of one run, each made once however many people share the unit."""

    def __init__(self, site):
        self.site = site
        self.catalog = indexing.searchable(site)
        self._cache = {}

    def deliveries(self, box, states=None, overdue_on=None):
        key = (box, tuple(states or ()), overdue_on)
        found = self._cache.get(key)
        if found is None:
            _total, keys = self.catalog.query(
                box,
                state=list(states) if states else None,
                overdue_on=overdue_on,
                sort="due",
                reverse=False,
                limit=None,
            )
            found = self._cache[key] = [
                d for d in (resolve_key(self.site, k) for k in keys) if isinstance(d, Delivery)
            ]
        return found


def _mail_units(site, user):
    """``[(unit, role)]`` of the mail roles ``user`` holds on active units."""
    found = []
    for code, role in accounts.role_grants(site, user):
        if code is None or role not in MAIL_ROLES:
            continue
        unit = site["directory"].get(code)
        if unit is not None and unit.is_active():
            found.append((unit, role))
    return found


def _due_key(delivery):
    return (delivery.due or "9999-99-99", delivery.arrived_at or "")


def person_digest(site, env, lists, user, today):
    """The digest of ``user`` for ``today`` (a date); None when nothing waits for them."""
    today_iso = today.isoformat()
    soon_iso = env.calendar.add_working_days(today, 1).isoformat()
    found = {}
    mailboxes = []

    def add(deliveries, section):
        for delivery in deliveries:
            found.setdefault(path_of(delivery), (delivery, section))

    for unit, role in _mail_units(site, user):
        box = box_key(INBOX, unit.code)
        path = f"/directory/{unit.code}/mailbox"
        if (unit.short_name, path) not in mailboxes:
            mailboxes.append((unit.short_name, path))
        if role == sec.CLERK:
            add(lists.deliveries(box, (workflow.ARRIVED,)), ARRIVED)
            add(lists.deliveries(box, (workflow.RECALL_ASKED,)), RECALL)
        elif role == sec.LEADER:
            add(lists.deliveries(box, (workflow.ACCEPTED,)), TO_ASSIGN)
            add(lists.deliveries(box, overdue_on=today_iso), _WATCH)
        elif role == sec.SPECIALIST:
            add(
                [
                    d
                    for d in lists.deliveries(box, (workflow.ASSIGNED, workflow.IN_PROGRESS))
                    if user.login in (d.assignees or ())
                ],
                ASSIGNED,
            )
    personal = lists.deliveries(box_key(PERSONAL, user.login), PERSONAL_OPEN)
    if personal:
        mailboxes.append((None, f"/users/{user.login}/mailbox"))
    add([d for d in personal if d.state == workflow.ARRIVED], PERSONAL_NEW)
    add([d for d in personal if d.state == workflow.RECALL_ASKED], RECALL)
    add([d for d in personal if d.state == workflow.IN_PROGRESS], _WATCH)

    sections = {}
    for delivery, section in found.values():
        due = delivery.due or ""
        if due and due < today_iso and delivery.state in workflow.OPEN_STATES:
            section = OVERDUE
        elif due and due <= soon_iso and delivery.state in workflow.OPEN_STATES:
            section = DUE_SOON
        elif section == _WATCH:
            continue
        sections.setdefault(section, []).append(delivery)
    if not sections:
        return None
    ordered = {s: sorted(sections[s], key=_due_key) for s in SECTIONS if s in sections}
    return PersonDigest(
        login=user.login,
        fullname=user.fullname,
        email=(user.email or "").strip(),
        sections=ordered,
        mailboxes=mailboxes,
    )


def collect(site, env, today):
    """Every person's digest for ``today``, in login order; people with nothing are left out."""
    lists = _Lists(site)
    now_iso = iso(env.now())
    people = []
    for login in sorted(site["users"].keys()):
        user = site["users"][login]
        if login.startswith("system:") or not user.is_active(now_iso):
            continue
        digest = person_digest(site, env, lists, user, today)
        if digest is not None:
            people.append(digest)
    return people


def remind(site, env, digest, today):
    """One in-app notice per overdue delivery, at most once a day per person; returns how many."""
    user = site["users"][digest.login]
    today_iso = today.isoformat()
    given = 0
    for delivery in digest.sections.get(OVERDUE, ()):
        reminded = dict(delivery.reminded_on or {})
        if reminded.get(digest.login) == today_iso:
            continue
        document = delivery.document
        accounts.notify(
            user,
            _("Document ${notation} (${subject}) is overdue: its processing deadline was ${due}."),
            link=path_of(delivery),
            kind="overdue",
            notation=document.notation,
            subject=_short(document.title, 120),
            due=_day(delivery.due),
        )
        reminded[digest.login] = today_iso
        delivery.reminded_on = reminded  # a new dict: the persistent delivery sees the change
        given += 1
    digest.notices = given
    return given


# -- composing ---------------------------------------------------------------------------------
def _day(value):
    """dd/mm/yyyy, the way Vietnamese documents write dates."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
    year, month, day = text[:10].split("-") if text.count("-") >= 2 else ("", "", "")
    return f"{day}/{month}/{year}" if year else text


def _short(text, limit):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def public_url(settings):
    return (settings.get("lienthong.public_url") or DEFAULT_PUBLIC_URL).strip().rstrip("/")


def _items(digest, base, translate):
    """The sections as plain data for the text and HTML renderings."""
    blocks = []
    for section, deliveries in digest.sections.items():
        rows = []
        for delivery in deliveries[:MAX_LISTED]:
            document = delivery.document
            sender = (document.meta.get("from") or {}).get("organ_name") or document.sender_code
            details = [translate(_("From ${sender}", mapping={"sender": sender}))]
            details.append(
                translate(_("deadline ${due}", mapping={"due": _day(delivery.due)}))
                if delivery.due
                else translate(_("no deadline"))
            )
            details.append(translate(workflow.STATE_TITLES.get(delivery.state, delivery.state)))
            rows.append(
                {
                    "notation": document.notation or document.meta.get("doc_type_name", ""),
                    "subject": _short(document.title, 200),
                    "details": " · ".join(details),
                    "url": base + path_of(delivery),
                }
            )
        more = len(deliveries) - len(rows)
        blocks.append(
            {
                "title": translate(SECTION_TITLES[section]),
                "count": len(deliveries),
                "rows": rows,
                "more": translate(_("…and ${count} more.", mapping={"count": more})) if more > 0 else "",
            }
        )
    return blocks


def subject_of(digest, day, translate):
    parts = []
    if digest.overdue:
        parts.append(translate(_("${count} overdue", mapping={"count": digest.overdue})))
    if digest.due_soon:
        parts.append(translate(_("${count} due soon", mapping={"count": digest.due_soon})))
    if digest.pending:
        parts.append(translate(_("${count} to handle", mapping={"count": digest.pending})))
    return "[LienThong] " + translate(
        _("Documents to handle on ${day}: ${counts}", mapping={"day": _day(day), "counts": ", ".join(parts)})
    )


def compose(digest, day, base, translate):
    """``(subject, text, html)`` of one person's mail."""
    from html import escape

    blocks = _items(digest, base, translate)
    greeting = translate(_("Dear ${name},", mapping={"name": digest.fullname}))
    intro = translate(
        _("These documents on LienThong need your attention today, ${day}:", mapping={"day": _day(day)})
    )
    boxes = [(label or translate(_("Personal mailbox")), base + path) for label, path in digest.mailboxes]
    open_box = translate(_("Open the mailbox:"))
    footer = translate(_("This message was sent automatically by LienThong; please do not reply to it."))

    lines = [greeting, "", intro, ""]
    for block in blocks:
        lines.append(f"{block['title'].upper()} ({block['count']})")
        for row in block["rows"]:
            lines += [
                f"  • {row['notation']} — {row['subject']}",
                f"    {row['details']}",
                f"    {row['url']}",
            ]
        if block["more"]:
            lines.append(f"  {block['more']}")
        lines.append("")
    lines += [f"{open_box} " + ", ".join(f"{label} {url}" for label, url in boxes), "", "-- ", footer, ""]
    text = "\n".join(lines)

    html = [f"<p>{escape(greeting)}</p>", f"<p>{escape(intro)}</p>"]
    for block in blocks:
        html.append(f"<h3>{escape(block['title'])} ({block['count']})</h3><ul>")
        for row in block["rows"]:
            html.append(
                f'<li><a href="{escape(row["url"])}">{escape(row["notation"])}</a> — '
                f"{escape(row['subject'])}<br><small>{escape(row['details'])}</small></li>"
            )
        html.append("</ul>")
        if block["more"]:
            html.append(f"<p>{escape(block['more'])}</p>")
    html.append(
        "<p>"
        + escape(open_box)
        + " "
        + ", ".join(f'<a href="{escape(url)}">{escape(label)}</a>' for label, url in boxes)
        + "</p>"
    )
    html.append(f"<hr><p><small>{escape(footer)}</small></p>")
    body = "\n".join(html)
    document = f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n{body}\n</body></html>\n'
    return subject_of(digest, day, translate), text, document


# -- the run -----------------------------------------------------------------------------------
def run(site, env, today=None, force=False, dry_run=False, mailer=None, already_sent=None):
    """Build, notify and send today's digests; return a :class:`Report`.

    On a non-working day (``env.calendar``) nothing happens unless ``force``. ``dry_run``
    computes everything and writes and sends nothing. ``mailer`` defaults to one built from
    ``lienthong.mail.*``. ``already_sent`` is a set of logins the caller keeps across
    retries of its transaction (a conflict at commit): they are not mailed again.
    A server that cannot be reached raises ``MailError``: the caller must abort.
    """
    today = today or env.today()
    report = Report(day=today, working_day=env.calendar.is_working_day(today), forced=force, dry_run=dry_run)
    if not report.working_day and not force:
        report.skipped = True
        return report
    report.people = collect(site, env, today)
    if dry_run:
        for digest in report.people:
            digest.status = DRY_RUN if digest.email else NO_ADDRESS
        return report

    for digest in report.people:
        remind(site, env, digest, today)
    already_sent = already_sent if already_sent is not None else set()
    localizer = site_localizer(env.registry)
    base = public_url(env.settings)
    outgoing = []
    for digest in report.people:
        if not digest.email:
            digest.status = NO_ADDRESS
        elif digest.login in already_sent:
            digest.status = ALREADY_SENT
        else:
            outgoing.append(digest)
    if outgoing:
        mailer = mailer or Mailer(MailConfig.from_settings(env.settings))
        _send(mailer, outgoing, today, base, localizer.translate, already_sent)
    audit.record(
        site,
        ACTOR,
        "digest.sent",
        "/",
        day=today.isoformat(),
        people=len(report.people),
        mails=report.sent + sum(1 for p in report.people if p.status == ALREADY_SENT),
        refused=report.refused,
        no_address=sum(1 for p in report.people if p.status == NO_ADDRESS),
        overdue=report.overdue,
        notices=report.notices,
        forced=bool(force and not report.working_day),
    )
    return report


def _send(mailer, outgoing, today, base, translate, already_sent):
    done = 0
    try:
        with mailer:
            for digest in outgoing:
                subject, text, html = compose(digest, today, base, translate)
                message = build_message(
                    mailer.config, digest.email, subject, text, html, to_name=digest.fullname
                )
                try:
                    mailer.send(message)
                except MailError as exc:
                    if exc.fatal:
                        raise
                    digest.status, digest.error = REFUSED, str(exc)
                    continue
                digest.status = SENT
                already_sent.add(digest.login)
                done += 1
    except MailError as exc:
        if done:
            raise MailError(
                f"{exc} ({done} of {len(outgoing)} mails were sent before it; nothing was recorded)"
            ) from exc
        raise
