"""What a sender sees of its recipients: each delivery in one of a few plain outcomes.

A sender scans its outbox for bad news. A refusal, a recall, or a copy the transport
could not carry must not read as "handled"; so each delivery falls in exactly one
``Outcome`` here (the one place for this rule), and the outbox, the document page and
the API count and colour them the same way.
"""

from dataclasses import dataclass

from ..edxml import (
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
from ..i18n import _

#: what the transport said of a delivery it could not carry (``Delivery.remote_state``)
LOST_REMOTE_STATES = ("lost",)
#: the timeline note of a message the worker set aside (``deliveries.on_message_set_aside``)
SET_ASIDE_NOTE = "set_aside"


@dataclass(frozen=True)
class Outcome:
    key: str
    title: object  # a translatable message, "N ${title}" in the counts
    tone: str  # "bad", "warn", "info", "good", "muted": the colour, with the words saying it too
    needs_reason: bool = False  # the list shows why (refused, recalled, not carried)


OUTCOMES = (
    Outcome("undeliverable", _("not delivered"), "bad", needs_reason=True),
    Outcome("refused", _("refused"), "bad", needs_reason=True),
    Outcome("recall_asked", _("recall asked"), "warn"),
    Outcome("recalled", _("recalled"), "muted", needs_reason=True),
    Outcome("waiting", _("on the way"), "warn"),
    Outcome("arrived", _("arrived, not yet accepted"), "info"),
    Outcome("handling", _("being handled"), "info"),
    Outcome("completed", _("completed"), "good"),
)
BY_KEY = {o.key: o for o in OUTCOMES}
_BY_STATE = {
    ARRIVED: "arrived",
    ACCEPTED: "handling",
    ASSIGNED: "handling",
    IN_PROGRESS: "handling",
    RECALL_REFUSED: "handling",  # the recipient kept it and goes on
    COMPLETED: "completed",
    REFUSED: "refused",
    RECALL_ASKED: "recall_asked",
    RECALL_AGREED: "recalled",
}


def outcome_of(delivery):
    """The ``Outcome`` of one delivery, as its sender should read it."""
    if delivery.revoked_at:
        return BY_KEY["recalled"]
    if delivery.state == "":
        if delivery.remote_state in LOST_REMOTE_STATES or _set_aside(delivery):
            return BY_KEY["undeliverable"]
        return BY_KEY["waiting"]
    if delivery.remote_state in LOST_REMOTE_STATES and delivery.state == ARRIVED:
        return BY_KEY["undeliverable"]
    return BY_KEY[_BY_STATE.get(delivery.state, "handling")]


def _set_aside(delivery):
    """Is the last word on its timeline that its message was set aside (and nothing since)?"""
    last = delivery.history[-1] if delivery.history else {}
    return last.get("note") == SET_ASIDE_NOTE


def reason_of(delivery):
    """Why a delivery ended badly, in its actor's words (a refusal's or a recall's reason), "" if none."""
    if delivery.revoked_at:
        return delivery.revoked_reason or ""
    for entry in reversed(delivery.history or ()):
        if entry.get("reason"):
            return entry["reason"]
    return ""


@dataclass
class Summary:
    total: int
    counts: list  # [(Outcome, n)] in ``OUTCOMES`` order, only outcomes that occur
    reasons: list  # [(recipient delivery, Outcome, reason)] for the outcomes that need one

    @property
    def bad(self):
        return any(o.tone == "bad" for o, _n in self.counts)


def summary(document, limit=5):
    """The document's deliveries counted by outcome, with up to ``limit`` reasons of bad ones."""
    found = {}
    reasons = []
    deliveries = list(document.deliveries.values())
    for delivery in deliveries:
        outcome = outcome_of(delivery)
        found[outcome.key] = found.get(outcome.key, 0) + 1
        if outcome.needs_reason and len(reasons) < limit:
            reasons.append((delivery, outcome, reason_of(delivery)))
    counts = [(o, found[o.key]) for o in OUTCOMES if o.key in found]
    return Summary(len(deliveries), counts, reasons)
