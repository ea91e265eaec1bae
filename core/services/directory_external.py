"""A directory kept by another system (the national axis's) brought into the hub's, in bulk,
and the hub's own units told apart from it (``local_units``).

``import_external_units`` is ``services.directory.add_unit`` for tens of thousands of units at
once: checked row by row, one audit entry for the whole import instead of one per unit, and
commits every ``batch`` rows left to the caller. The units are reached through an adapter; a
unit this hub hosts (bound to any other adapter, or none) is never touched.
"""

from dataclasses import dataclass, field
from datetime import date

from ..clock import now_iso
from ..edxml import remote_code
from ..i18n import _
from ..resources import directory as d
from ..resources.directory import Organization
from ..text import is_email
from . import audit
from .directory import DirectoryError, _text

#: codes named in an import's report and audit entry, at most
REPORT_CODES = 50


@dataclass
class ExternalImport:
    """What ``import_external_units`` did: counts, and the first codes of what it left alone."""

    added: int = 0
    changed: int = 0
    withdrawn: int = 0
    restored: int = 0
    unchanged: int = 0
    hosted: int = 0  # skipped: a unit of this hub (another adapter, or none) has the code
    refused: int = 0  # rows that cannot be a unit (no code of the dotted shape, no name)
    hosted_codes: list = field(default_factory=list)
    refused_rows: list = field(default_factory=list)  # (code, reason)
    seen: int = 0

    def as_dict(self):
        return {
            "added": self.added,
            "changed": self.changed,
            "withdrawn": self.withdrawn,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "hosted": self.hosted,
            "refused": self.refused,
            "hosted_codes": list(self.hosted_codes),
            "refused_rows": [list(r) for r in self.refused_rows],
        }


def _external_row(row):
    """A row's cleaned fields, or a reason why it cannot be a unit."""
    code = _text(row.get("code"))
    if not remote_code(code):
        return None, "not a dotted identifier code"
    name = " ".join(_text(row.get("name")).split())
    if not name:
        return None, "no name"
    email = _text(row.get("email"))
    former = [c for c in (_text(c) for c in row.get("former_codes") or ()) if c and c != code]
    return {
        "code": code,
        "name": name[:500],
        "parent_code": _text(row.get("parent_code")) or None,
        "email": email if is_email(email) else "",
        "former_codes": tuple(dict.fromkeys(former)),
        "withdrawn": bool(row.get("withdrawn")),
    }, ""


def import_external_units(site, actor, rows, adapter, complete=False, batch=5000, on_batch=None, source=""):
    """Bring units kept by another system into the directory, reached through ``adapter``.

    ``rows`` (an iterable) are dicts: ``code`` (a dotted code, as the other system gives it),
    ``name``, ``parent_code`` (None, or a code here or among the rows: any other is dropped),
    ``email``, ``former_codes``, ``withdrawn``. A new code becomes a unit bound to ``adapter``,
    connection state official; an existing unit bound to ``adapter`` is brought up to date (a
    new name keeps the old one in ``former_names``, as a rename does; a withdrawn one is
    dissolved without successor, one that comes back is active again). A unit bound to anything
    else is this hub's and is never touched: it is counted in ``hosted``. ``complete``: the rows
    are the whole directory, so a unit of ``adapter`` missing from them is withdrawn.

    Writes one audit entry for the whole import, not one per unit. ``on_batch(report)`` is called
    after every ``batch`` rows, where the caller may commit (a large import is then several
    transactions); the audit entry is in the last one. Returns an ``ExternalImport``.
    """
    if not adapter:
        raise DirectoryError(_("Name the transport plugin the units are reached through."), field="adapter")
    directory = site["directory"]
    report = ExternalImport()
    cleaned = []
    for row in rows:
        values, reason = _external_row(row)
        if values is None:
            report.refused += 1
            if len(report.refused_rows) < REPORT_CODES:
                report.refused_rows.append((_text(row.get("code"))[:64], reason))
            continue
        cleaned.append(values)
    known = {values["code"] for values in cleaned}
    today = date.today().isoformat()
    seen = set()
    for number, values in enumerate(cleaned, 1):
        code = values["code"]
        if code in seen:
            continue
        seen.add(code)
        parent = values["parent_code"]
        if parent == code or (parent and parent not in known and parent not in directory):
            parent = None
        unit = directory.get(code)
        if unit is None:
            unit = Organization(
                code, values["name"], kind="agency", parent_code=parent, email=values["email"]
            )
            unit.adapter = adapter
            unit.former_codes = values["former_codes"]
            unit.connection_state = d.OFFICIAL
            unit.connection_history.append(
                {"state": d.OFFICIAL, "date": today, "actor": actor.login, "note": source or adapter,
                 "previous": d.NOT_CONNECTED}
            )  # fmt: skip
            if values["withdrawn"]:
                unit.status = d.DISSOLVED
            directory.add(code, unit)
            report.added += 1
        elif unit.adapter != adapter:
            report.hosted += 1
            if len(report.hosted_codes) < REPORT_CODES:
                report.hosted_codes.append(code)
        else:
            _update_external(site, actor, unit, values, parent, report)
        if on_batch is not None and number % batch == 0:
            report.seen = number
            on_batch(report)
    if complete:
        index = directory.search_index
        bound = (
            index.codes_of_adapter(adapter)
            if index is not None
            else [u.code for u in directory.values() if u.adapter == adapter]
        )
        for code in bound:
            unit = directory[code]
            if code not in seen and unit.is_active():
                unit.status = d.DISSOLVED
                unit.successors = ()
                directory.reindex(unit)
                report.withdrawn += 1
    report.seen = len(cleaned)
    audit.record(
        site,
        actor,
        "directory.external_import",
        "/directory",
        adapter=adapter,
        source=source,
        complete=bool(complete),
        **{k: v for k, v in report.as_dict().items() if k != "refused_rows"},
    )
    if on_batch is not None:
        on_batch(report)
    return report


def _update_external(site, actor, unit, values, parent, report):
    changed = restored = False
    if values["withdrawn"]:
        if unit.is_active():
            unit.status = d.DISSOLVED
            unit.successors = ()
            report.withdrawn += 1
            site["directory"].reindex(unit)
        else:
            report.unchanged += 1
        return
    if not unit.is_active() and not unit.successors:  # withdrawn, now back
        unit.status = d.ACTIVE
        report.restored += 1
        changed = restored = True
    if values["name"] != unit.name:
        unit.former_names = tuple(unit.former_names) + (
            {"name": unit.name, "short_name": unit.short_name, "until": now_iso(), "actor": actor.login},
        )
        unit.name = unit.short_name = values["name"]
        changed = True
    for name in ("parent_code", "email", "former_codes"):
        value = parent if name == "parent_code" else values[name]
        if name == "former_codes":
            value = tuple(dict.fromkeys(tuple(unit.former_codes) + value))
        if getattr(unit, name) != value:
            setattr(unit, name, value)
            changed = True
    if changed:
        site["directory"].reindex(unit)
        report.changed += 0 if restored else 1
    else:
        report.unchanged += 1


def local_units(site, network_adapters=(), exclude=()):
    """The active units people of this hub work in, by code: every unit but those reached
    through a network adapter (another hub's, the national axis's: ``Adapter.network``).

    What the forms that place people or units offer (a user's unit, a unit's parent): with
    the national directory in the hub these would otherwise list 100,000 agencies. Read
    from the index's adapter facet, so the external units are never loaded."""
    directory = site["directory"]
    index = directory.search_index
    skip = set(exclude)
    if index is not None:
        for name in network_adapters:
            skip.update(index.codes_of_adapter(name))
        units = (directory[code] for code in directory.keys() if code not in skip)
    else:
        units = (u for u in directory.values() if u.code not in skip and u.adapter not in network_adapters)
    return [u for u in units if u.is_active()]
