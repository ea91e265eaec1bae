"""Writing to the audit log: every service that reads or changes something calls ``record``."""

from dataclasses import dataclass

from ..clock import now_iso


@dataclass(frozen=True)
class Actor:
    """Who acts, on whose behalf (a delegation), and from where."""

    login: str
    on_behalf_of: str | None = None
    client: str | None = None

    @classmethod
    def system(cls, name="system"):
        return cls(login=f"system:{name}")

    def fields(self):
        """Who acted, as a history entry or a register row records it."""
        return {"actor": self.login, "on_behalf_of": self.on_behalf_of}


def record(site, actor, action, target="", **details):
    """Append one entry to the hash-chained log of ``site``; returns the entry."""
    return site["audit"].append(
        time=now_iso(),
        actor=actor.login,
        on_behalf_of=actor.on_behalf_of,
        action=action,
        target=target,
        client=actor.client,
        details=details,
    )


def verify(site):
    return site["audit"].verify()


def record_in_own_transaction(db, actor, action, target="", attempts=3, **details):
    """Append an entry in a transaction of its own and commit it.

    For events whose request transaction is aborted (refused access, an error page):
    the refusal itself must still be on the record.
    """
    from ..db import run_in_site

    return run_in_site(db, lambda site: record(site, actor, action, target, **details), attempts)
