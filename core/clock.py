"""The hub's clock and the one way it writes a moment down.

Every stored time (audit entries, histories, tokens, locks, the queue) is an ISO 8601 text
in UTC with microseconds, ``2026-01-05T08:00:00.000001+00:00``: it sorts as the moments
do, so containers and checks compare the texts directly (the queue's keys and leases, a
token's expiry, a lock-out's end). Older databases also hold texts written to the second
(``2026-01-05T08:00:00+00:00``, from accounts, tokens and signatures); they compare
correctly with the ones written here: right after the seconds ``+`` sorts before ``.``, so
a whole second sorts before any moment within it.

The audit log's hash chain covers each entry's text, time included: that format must
never change, or the chains written before stop verifying.

This module imports nothing of the hub, so every layer may use it. Code that has an
``Env`` takes the time from ``env.now()`` (which reads this clock); the rest calls
``utc_now()``.
"""

from datetime import UTC, datetime


def utc_now():
    """Now, as an aware datetime in UTC."""
    return datetime.now(UTC)


def iso(when):
    """``when`` as the hub stores a moment: UTC, microseconds (a naive datetime is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def now_iso():
    """Now, as the hub stores a moment."""
    return iso(utc_now())


def parse_iso(text):
    """The aware datetime of a stored moment (any ISO 8601 text; without an offset: UTC)."""
    when = datetime.fromisoformat(text)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
