"""What happens to a delivery: it is made and arrives, it is acted on, it is read (R6.5, R7.2–R7.4, R6.6).

``deliver`` makes one Delivery per recipient of an issued document (``documents.issue``
calls it): on this hub the delivery arrives at once (state 01, ``arrive``); for a unit an
eOffice adapter serves it is queued for the transport, and arrives when the transport
says so (``inbound``, the worker). ``act`` moves a delivery through the edXML states of
``workflow.ACTIONS``; the caller has checked the permission, the rules of the move are
checked here. Every act is in the delivery's history and on the audit record, with the
actor and on whose behalf.

What follows from a change elsewhere is not called from here: ``deliver``, ``arrive`` and
``act`` emit their events (``core/events.py``) and the outbound queue, the /edxml/v1 pull
lists and status feeds and the catalog subscribe to them (``core/exchange.py``), in the
same transaction.
"""

from .. import permissions as sec
from ..clock import iso, utc_now
from ..errors import DocumentError, Forbidden, iso_date
from ..events import DeliveryActed, DeliveryArrived, DeliveryChanged, DeliveryQueued
from ..i18n import _
from ..resources import documents as docs
from ..resources.documents import Delivery, path_of
from ..resources.registers import INCOMING
from ..text import as_list
from . import audit, registers, signatures, workflow


def deliver(site, env, document):
    """One Delivery per recipient unit and person: on this hub at once (01), else queued."""
    directory = site["directory"]
    now = env.now()
    for code in document.recipients:
        unit = directory[code]
        delivery = Delivery(recipient_code=code, transport=unit.adapter or "")
        document.deliveries.add(code, delivery)
        if delivery.transport:
            env.notify(DeliveryQueued(delivery, site))  # the outbound queue takes it (exchange.includeme)
            _history(delivery, "", env, audit.Actor.system("hub"), note="queued")
        else:
            arrive(site, env, delivery, now)
    for login in document.persons:
        delivery = Delivery(recipient_login=login)
        document.deliveries.add(docs.PERSON_PREFIX + login, delivery)
        arrive(site, env, delivery, now)


def arrive(site, env, delivery, when=None, reference=""):
    """The delivery reached its recipient (state 01): its deadline is set from the policy or the due date.

    ``reference``: the id the transport gave it on the other side (the national axis's DocId)."""
    when = when or env.now()
    if reference:
        delivery.remote_reference = reference
        site["documents"].index_reference(reference, delivery.document)
    delivery.arrived_at = iso(when)
    document = delivery.document
    due = document.meta.get("due_date")
    if not due and delivery.recipient_code:
        days = site["directory"][delivery.recipient_code].policy("deadline_days")
        due = env.calendar.add_working_days(when.astimezone(env.timezone).date(), int(days)).isoformat()
    delivery.due = due or None
    old = delivery.state
    delivery.state = workflow.ARRIVED
    signatures.verify_delivery(site, env, delivery)  # once, on arrival, against the recipient's trust
    _history(delivery, workflow.ARRIVED, env, audit.Actor.system("hub"), reference=reference)
    # subscribers (exchange.includeme): the catalog, "arrived" queued for a sender served by an adapter
    # (R6.5), the pending list of a product that pulls (/edxml/v1, R3.3), the sender's status feed
    env.notify(DeliveryArrived(delivery, site, old, workflow.ARRIVED))


def _history(delivery, state, env, actor, now=None, **details):
    """One entry on the delivery's timeline, at ``now`` (default: the env's clock)."""
    delivery.history.append(
        dict(
            actor.fields(),
            state=state,
            time=iso(now or env.now()),
            **{k: v for k, v in details.items() if v not in (None, "", (), [])},
        )
    )


# -- acting on deliveries ------------------------------------------------------------------
def act(
    site,
    env,
    actor,
    delivery,
    action_name,
    reason="",
    assignees=(),
    deadline=None,
    note="",
    system=False,
    informed=(),
):
    """Move ``delivery`` by ``action_name`` (``workflow.ACTIONS``); the caller checked the permission."""
    action = workflow.get_action(delivery, action_name)
    workflow.check(delivery, action)
    reason = (reason or "").strip()
    if action.needs_reason and not reason:
        raise DocumentError(_("Give a reason."), field="reason")
    old = delivery.state
    details = {"reason": reason, "note": (note or "").strip()}
    if action.name == "accept":
        _register_incoming(site, env, actor, delivery, details)
    elif action.name == "assign" and not (system and not assignees):  # a product's 04 names nobody here
        _assign(site, env, delivery, assignees, deadline, details, informed)
    elif action.name in ("start", "complete") and not system and not delivery.is_personal:
        if not leads(delivery, actor):
            raise Forbidden(_("Only the specialist who leads its processing may do this."), field="action")
    elif action.name == "recall":
        delivery.resume_state = old
    new = workflow.target_state(delivery, action)
    delivery.state = new
    if action.name == "complete":
        delivery.completed_at = iso(env.now())
    if action.name == "refuse_recall":
        delivery.resume_state = None
    _history(delivery, action.target, env, actor, **details)
    audit.record(
        site,
        actor,
        f"delivery.{action.name}",
        path_of(delivery),
        state=action.target,
        **{k: v for k, v in details.items() if v not in (None, "", (), [])},
    )
    # subscribers (exchange.includeme): the catalog, the status queued for the end an adapter serves (R6.5)
    env.notify(DeliveryActed(delivery, site, old, new, action=action.name, side=action.side, actor=actor))
    return delivery


def _register_incoming(site, env, actor, delivery, details):
    unit = site["directory"][delivery.recipient_code]
    now = env.now()
    year = now.astimezone(env.timezone).year
    document = delivery.document
    number = registers.take_number(
        unit,
        INCOMING,
        year,
        {
            "document": document.id,
            "time": iso(now),
            **registers.incoming_columns(site, delivery),
            **actor.fields(),
        },
    )
    delivery.register_number, delivery.register_year = number, year
    details["register"] = f"{year}-in/{number}"
    registers.note_duplicates(unit, INCOMING, year, number)


def _assign(site, env, delivery, assignees, deadline, details, informed=()):
    """The leader's assignment as offices make it: ``assignees`` the one who leads (chủ trì)
    first, then those who co-operate (phối hợp); ``informed`` those who are told, for
    information (để biết). Clients that send ``assignees`` alone keep working: the first
    named leads."""
    logins = list(dict.fromkeys(as_list(assignees)))
    informed = [login for login in dict.fromkeys(as_list(informed)) if login not in logins]
    if not logins:
        raise DocumentError(_("Choose the specialist who leads."), field="assignees")
    unit = site["directory"][delivery.recipient_code]
    for login, field in [(login, "assignees") for login in logins] + [
        (login, "informed") for login in informed
    ]:
        user = site["users"].get(login)
        if (
            user is None
            or not user.is_active()
            or user.unit_code != unit.code
            or sec.SPECIALIST not in unit.local_roles_of(sec.user_principal(login))
            and sec.LEADER not in unit.local_roles_of(sec.user_principal(login))
        ):
            raise DocumentError(
                _("${login} is not a specialist of this unit."), field=field, login=login[:60]
            )
    if deadline:
        deadline = iso_date(deadline, "deadline")
        if deadline < env.today().isoformat():
            raise DocumentError(_("The deadline is in the past."), field="deadline")
        delivery.due = deadline
    delivery.assignees = tuple(logins)
    delivery.lead, delivery.cooperating, delivery.informed = logins[0], tuple(logins[1:]), tuple(informed)
    details.update(
        assignees=list(logins),
        lead=logins[0],
        cooperating=list(logins[1:]),
        informed=list(informed),
        deadline=deadline or delivery.due,
    )


def leads(delivery, actor):
    """Is ``actor`` (or the one they act for) the one who leads the processing of ``delivery``?
    An assignment made before the roles (no ``lead``): any of its assignees."""
    who = {actor.login, actor.on_behalf_of or ""}
    if delivery.lead:
        return delivery.lead in who
    return bool(who & set(delivery.assignees or ()))


def mark_read(site, env, actor, delivery):
    """The first time a recipient opens its delivery; the read itself is audited by ``read``."""
    if delivery.read_at is None and delivery.state:
        delivery.read_at, delivery.read_by = iso(env.now()), actor.login
        env.notify(DeliveryChanged(delivery, site, delivery.state, delivery.state))


def read(site, env, actor, document, delivery=None):
    """Audit a read of ``document`` (R6.6); a recipient's first read marks its delivery read."""
    audit.record(site, actor, "document.view", path_of(document), notation=document.notation)
    if delivery is not None:
        mark_read(site, env, actor, delivery)


# -- reading -------------------------------------------------------------------------------
def overdue(delivery, today_iso):
    return bool(delivery.due and delivery.state in workflow.OPEN_STATES and delivery.due < today_iso)


def timeline(document):
    """Per recipient: its delivery, state and history, for the sender's view."""
    return [(key, document.deliveries[key]) for key in document.deliveries.keys()]


# -- what a transport reports -------------------------------------------------------------
def transport_reported(site, env, via, reports):
    """``reports`` (``transports.TransportReport``) of the adapter ``via`` on the timelines of
    the deliveries they are about; a failed or lost one is flagged for the operator, and the
    flag goes when the recipient's system received it after all. Returns how many changed."""
    from ..transports import REPORT_STATES

    changed = 0
    transport = site["transport"]
    for report in reports:
        document = site["documents"].named_by_reference(report.reference)
        delivery = document.delivery_for(report.recipient) if document is not None else None
        if delivery is None or report.state not in REPORT_STATES or delivery.remote_state == report.state:
            continue
        delivery.remote_state = report.state
        _history(
            delivery,
            delivery.state,
            env,
            audit.Actor.system(via),
            transport=via,
            remote=report.state,
            remote_note=(report.description or "")[:300],
        )
        if report.state in ("failed", "lost"):
            transport.flag_lost(delivery, via, report.state, (report.description or "")[:300], iso(env.now()))
        else:
            transport.unflag_lost(delivery)
        changed += 1
    return changed


def on_message_set_aside(event):
    """Subscriber of ``MessageSetAside``: the document's timeline says its message to that
    recipient cannot be delivered as it is (the operator is alerted; a retry from
    /manage/transport delivers it later), so the sender does not read "on its way" forever."""
    message = event.message
    if message.kind != "document":
        return
    document = event.site["documents"].get(message.document)
    delivery = document.delivery_for(message.recipient) if document is not None else None
    if delivery is None:
        return
    _history(
        delivery,
        delivery.state,
        None,
        audit.Actor.system("transport"),
        now=utc_now(),  # the event carries no env
        note="set_aside",
        transport=message.adapter or "",
    )


def recall_many(site, env, actor, chosen, reason):
    """The sender asks several recipients of one document for it back, with one reason: one
    act, all or none (the caller's transaction), so a recall to ten recipients is one form.
    The caller checked the permission on each delivery."""
    if not chosen:
        raise DocumentError(_("Choose the recipients to take it back from."), field="recipients")
    if len({d.document.id for d in chosen}) != 1:
        raise DocumentError(_("Choose the recipients to take it back from."), field="recipients")
    return [act(site, env, actor, delivery, "recall", reason=reason) for delivery in chosen]
