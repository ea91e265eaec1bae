"""The delivery state machine: one table, edXML status codes (DESIGN.md).

Each action names the states it may start from, the state it leads to, the permission
the actor needs on the delivery, and whether a reason must be given. Everything that
moves a delivery — pages, the JSON API, the edXML status messages of eOffice products —
goes through ``transition``; an illegal move is a ``Conflict`` (409) saying why.
"""

from dataclasses import dataclass

from .. import permissions as sec
from ..edxml import (  # a delivery's states are the edXML status codes, defined by the codec
    ACCEPTED,
    ARRIVED,
    ASSIGNED,
    COMPLETED,
    IN_PROGRESS,
    RECALL_AGREED,
    RECALL_ASKED,
    RECALL_REFUSED,
    REFUSED,
)
from ..errors import Conflict, ServiceError
from ..i18n import _

STATE_TITLES = {
    "": _("queued for the recipient's system"),
    ARRIVED: _("arrived"),
    REFUSED: _("refused"),
    ACCEPTED: _("accepted and registered"),
    ASSIGNED: _("assigned"),
    IN_PROGRESS: _("in progress"),
    COMPLETED: _("completed"),
    RECALL_ASKED: _("recall asked"),
    RECALL_AGREED: _("recalled"),
    RECALL_REFUSED: _("recall refused"),
}

#: states in which the recipient still owes work (overdue tracking)
OPEN_STATES = (ARRIVED, ACCEPTED, ASSIGNED, IN_PROGRESS, RECALL_ASKED)


@dataclass(frozen=True)
class Action:
    name: str
    sources: tuple
    target: str
    permission: str
    side: str  # "recipient" or "sender"
    needs_reason: bool = False
    title: object = ""


ACTIONS = {
    a.name: a
    for a in (
        Action("accept", (ARRIVED,), ACCEPTED, sec.REGISTER, "recipient", title=_("Accept and register")),
        Action(
            "refuse", (ARRIVED,), REFUSED, sec.REGISTER, "recipient", needs_reason=True, title=_("Refuse")
        ),
        Action("assign", (ACCEPTED, ASSIGNED), ASSIGNED, sec.ASSIGN, "recipient", title=_("Assign")),
        Action("start", (ASSIGNED,), IN_PROGRESS, sec.PROCESS, "recipient", title=_("Start processing")),
        Action("complete", (IN_PROGRESS,), COMPLETED, sec.PROCESS, "recipient", title=_("Complete")),
        Action(
            "recall",
            (ARRIVED, ACCEPTED, ASSIGNED, IN_PROGRESS),
            RECALL_ASKED,
            sec.SEND,
            "sender",
            needs_reason=True,
            title=_("Ask to take back"),
        ),
        Action(
            "agree_recall",
            (RECALL_ASKED,),
            RECALL_AGREED,
            sec.REGISTER,
            "recipient",
            title=_("Agree to the recall"),
        ),
        Action(
            "refuse_recall",
            (RECALL_ASKED,),
            RECALL_REFUSED,
            sec.REGISTER,
            "recipient",
            needs_reason=True,
            title=_("Refuse the recall"),
        ),
    )
}

#: a personal mailbox has no register and no leader: its holder reads and completes
PERSONAL_ACTIONS = {
    a.name: a
    for a in (
        Action("start", (ARRIVED,), IN_PROGRESS, sec.PROCESS, "recipient", title=_("Start processing")),
        Action("complete", (ARRIVED, IN_PROGRESS), COMPLETED, sec.PROCESS, "recipient", title=_("Complete")),
        Action(
            "recall",
            (ARRIVED, IN_PROGRESS),
            RECALL_ASKED,
            sec.SEND,
            "sender",
            needs_reason=True,
            title=_("Ask to take back"),
        ),
        Action(
            "agree_recall",
            (RECALL_ASKED,),
            RECALL_AGREED,
            sec.PROCESS,
            "recipient",
            title=_("Agree to the recall"),
        ),
        Action(
            "refuse_recall",
            (RECALL_ASKED,),
            RECALL_REFUSED,
            sec.PROCESS,
            "recipient",
            needs_reason=True,
            title=_("Refuse the recall"),
        ),
    )
}

#: the edXML status code an eOffice product reports -> the action it stands for
ACTION_FOR_STATUS = {
    ACCEPTED: "accept",
    REFUSED: "refuse",
    ASSIGNED: "assign",
    IN_PROGRESS: "start",
    COMPLETED: "complete",
    RECALL_ASKED: "recall",
    RECALL_AGREED: "agree_recall",
    RECALL_REFUSED: "refuse_recall",
}


def actions_for(delivery):
    return PERSONAL_ACTIONS if delivery.is_personal else ACTIONS


def get_action(delivery, name):
    action = actions_for(delivery).get(name)
    if action is None:
        raise ServiceError(_("Unknown action ${action}."), field="action", action=name or "")
    return action


def available(delivery):
    """The actions whose source states include the delivery's state (permissions aside)."""
    return [a for a in actions_for(delivery).values() if delivery.state in a.sources]


def check(delivery, action):
    """Raise ``Conflict`` unless ``action`` may start from the delivery's state."""
    if delivery.state not in action.sources:
        raise Conflict(
            _("A delivery that is ${state} cannot be moved by \u201c${action}\u201d."),
            field="action",
            state=STATE_TITLES.get(delivery.state, delivery.state),
            action=action.title,
        )


def target_state(delivery, action):
    """Where ``action`` leads: a refused recall goes back to the state before the recall."""
    if action.target == RECALL_REFUSED:
        return delivery.resume_state or ARRIVED
    return action.target
