"""Directory sync: the units a peer hosts become units here whose adapter is ``peer_hub``.

Through the directory service (``add_unit``, ``update_unit``, ``set_connection_state``),
so the checks and the audit entries are those of a manual edit. Nothing is ever deleted
(documents refer to units): a unit the peer no longer hosts is marked not connected. A
code that is a unit hosted here, or by another peer, is refused and reported, never
overwritten.
"""

from dataclasses import dataclass, field

import transaction

from lienthong.core.errors import ServiceError
from lienthong.core.resources import directory as d
from lienthong.core.services import audit, directory as dirs

from .hosting import ADAPTER, hosted_by, peer_of


@dataclass
class SyncReport:
    peer: str
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    withdrawn: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (code, reason)

    def summary(self):
        return (
            f"{self.peer}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.withdrawn)} no longer hosted, "
            f"{len(self.refused)} refused"
        )


def _ordered(units):
    """Parents before their children (depth within the peer's list), then by code."""
    by_code = {u["code"]: u for u in units}

    def depth(unit):
        seen, n = set(), 0
        while unit.get("parent_code") in by_code and unit["code"] not in seen:
            seen.add(unit["code"])
            unit = by_code[unit["parent_code"]]
            n += 1
        return n

    return sorted(units, key=lambda u: (depth(u), u["code"]))


def _clean_list(units):
    out = []
    for unit in units or ():
        if isinstance(unit, dict) and isinstance(unit.get("code"), str) and isinstance(unit.get("name"), str):
            if unit.get("status", d.ACTIVE) == d.ACTIVE:
                out.append(unit)
    return out


def apply(site, actor, peer_name, units):
    """Bring the units hosted by ``peer_name`` in line with ``units`` (its /peer/v1/directory list)."""
    directory = site["directory"]
    report = SyncReport(peer_name)
    units = _clean_list(units)
    offered = {u["code"] for u in units}
    tm = site._p_jar.transaction_manager if site._p_jar is not None else transaction.manager
    for unit in _ordered(units):
        code = unit["code"]
        existing = directory.get(code)
        if existing is not None and not hosted_by(existing, peer_name):
            where = f"by peer hub {peer_of(existing)}" if peer_of(existing) else "here"
            report.refused.append(
                (code, f"the code {code} is a unit hosted {where} ({existing.name}); not overwritten")
            )
            continue
        parent = unit.get("parent_code") or None
        if parent and parent not in directory:
            parent = None  # a parent the peer did not list: the unit is placed at the top
        data = {
            "name": unit["name"],
            "short_name": unit.get("short_name") or unit["name"],
            "kind": unit.get("kind") or "agency",
            "parent_code": parent,
            "adapter": ADAPTER,
            "adapter_settings": {"peer": peer_name},
        }
        savepoint = tm.savepoint()
        try:
            if existing is None:
                added = dirs.add_unit(site, actor, {"code": code, **data})
                dirs.set_connection_state(
                    site, actor, added, d.OFFICIAL, note=f"hosted by peer hub {peer_name}"
                )
                report.created.append(code)
                continue
            if not existing.is_active():
                report.refused.append((code, f"the unit {code} was reorganized here; not changed"))
                continue
            changed = dirs.update_unit(site, actor, existing, data)
            if existing.connection_state == d.NOT_CONNECTED:
                dirs.set_connection_state(
                    site, actor, existing, d.OFFICIAL, note=f"hosted by peer hub {peer_name} again"
                )
                changed.append("connection_state")
            (report.updated if changed else report.unchanged).append(code)
        except ServiceError as exc:
            savepoint.rollback()
            report.refused.append((code, exc.text()))
    for unit in list(directory.values()):
        if (
            hosted_by(unit, peer_name)
            and unit.code not in offered
            and unit.is_active()
            and unit.connection_state != d.NOT_CONNECTED
        ):
            dirs.set_connection_state(
                site, actor, unit, d.NOT_CONNECTED, note=f"no longer hosted by peer hub {peer_name}"
            )
            report.withdrawn.append(unit.code)
    audit.record(
        site,
        actor,
        "peer.sync",
        "/directory",
        peer=peer_name,
        created=report.created,
        updated=report.updated,
        withdrawn=report.withdrawn,
        refused=[f"{code}: {reason}" for code, reason in report.refused],
    )
    return report
