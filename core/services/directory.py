"""The directory of units (R10.3, R11): add, change, connect, reorganize, find.

Units are never deleted: a merged, split or dissolved unit stays in the directory with
its successors, so old documents keep a readable sender and new ones addressed to it
reach whoever took over (``resolve``).
"""

import re
from datetime import date
from itertools import islice

from persistent.list import PersistentList

from .. import permissions as sec
from ..clock import now_iso
from ..edxml import valid_code
from ..errors import Conflict, NotFound, ServiceError, xml_text
from ..i18n import _
from ..resources import directory as d
from ..resources.directory import Organization, unit_words
from ..text import fold, is_email, matches
from . import audit

PILOT_MONTHS = 2  # R11: a connected eOffice product runs a two-month pilot before going official
PHONE_RE = re.compile(r"^[0-9 +().-]{6,20}$")

#: fields a unit has, in the order forms, CSV and the API show them
FIELDS = (
    "code",
    "name",
    "short_name",
    "kind",
    "parent_code",
    "email",
    "phone",
    "address",
    "eoffice_product",
    "adapter",
)
POLICY_FIELDS = ("deadline_days", "must_sign", "issuers", "approval")
ISSUER_ROLES = (sec.CLERK, sec.LEADER)


class DirectoryError(ServiceError):
    pass


def get_unit(site, code):
    unit = site["directory"].get((code or "").strip())
    if unit is None:
        raise NotFound(_("Unknown unit ${code}."), field="code", code=code or "")
    return unit


def _text(value):
    return (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()


def clean(site, data, existing=None, known_adapters=None, pending_parents=None):
    """Check unit fields and return them cleaned; raise ``DirectoryError`` naming the first bad field.

    ``existing`` is the unit being changed (None when adding). ``pending_parents`` maps
    codes to parent codes of units being imported together, so a file may list a unit
    before its parent and a cycle inside the file is still found.
    """
    out = {}
    for name in FIELDS:
        if name in data:
            out[name] = _text(data[name])
            xml_text(out[name], name)  # names and addresses travel in edXML headers
    directory = site["directory"]
    if existing is None:
        code = out.get("code", "")
        if not valid_code(code):
            raise DirectoryError(
                _("Invalid identifier code ${code}: the form is ddd.dd.dd.Xdd, e.g. 000.00.12.H49."),
                field="code",
                code=code,
            )
        if code in directory:
            raise Conflict(_("The identifier code ${code} is already taken."), field="code", code=code)
    elif "code" in out and out["code"] != existing.code:
        raise DirectoryError(
            _("An identifier code never changes; reorganize the unit instead."), field="code"
        )
    code = out.get("code") or existing.code
    if existing is None or "name" in out:
        if not out.get("name"):
            raise DirectoryError(_("The unit's name is required."), field="name")
    if "kind" in out or existing is None:
        out["kind"] = out.get("kind") or "agency"
        if out["kind"] not in d.KINDS:
            raise DirectoryError(_("Unknown kind of unit ${kind}."), field="kind", kind=out["kind"])
    if out.get("email") and not is_email(out["email"]):
        raise DirectoryError(_("${value} is not an e-mail address."), field="email", value=out["email"])
    if out.get("phone") and not PHONE_RE.match(out["phone"]):
        raise DirectoryError(_("${value} is not a telephone number."), field="phone", value=out["phone"])
    if out.get("adapter"):
        if known_adapters is not None and out["adapter"] not in known_adapters:
            raise DirectoryError(
                _("No transport plugin is called ${name}."), field="adapter", name=out["adapter"]
            )
    if "parent_code" in out:
        out["parent_code"] = out["parent_code"] or None
        _check_parent(directory, code, out["parent_code"], pending_parents or {})
    if "adapter_settings" in data:
        settings = data["adapter_settings"] or {}
        if not isinstance(settings, dict) or not all(isinstance(k, str) for k in settings):
            raise DirectoryError(_("Adapter settings must be names with values."), field="adapter_settings")
        xml_text(settings, "adapter_settings")
        out["adapter_settings"] = dict(settings)
    if isinstance(known_adapters, dict) and ("adapter" in out or "adapter_settings" in out):
        _check_adapter_settings(out, existing, known_adapters)
    policies = {k: data[k] for k in POLICY_FIELDS if k in data}
    policies.update(data.get("policies") or {})
    if policies:
        out["policies"] = clean_policies(policies)
    return out


#: what a secret adapter setting shows instead of its value; sent back, it keeps the stored value
MASK = "********"


def _check_adapter_settings(out, existing, adapters):
    """The settings of an adapter that declares them (``Adapter.settings``): known names, secrets
    kept when sent back masked, and ``adapter.check_settings`` content with them."""
    name = out["adapter"] if "adapter" in out else (existing.adapter if existing is not None else "")
    adapter = adapters.get(name) if name else None
    declared = {s.name: s for s in getattr(adapter, "settings", ()) or ()}
    if not declared:
        return  # no adapter, or one that takes free settings
    given = "adapter_settings" in out
    if given:
        values = {k: ("" if v is None else str(v)) for k, v in out["adapter_settings"].items()}
    else:
        values = {k: str(v) for k, v in (existing.adapter_settings if existing is not None else {}).items()}
    same = existing is not None and existing.adapter == name
    stored = dict(existing.adapter_settings or {}) if same else {}
    for key in list(values):
        if key not in declared:
            if not given:  # settings of the previous adapter: dropped
                del values[key]
                continue
            raise DirectoryError(
                _("The adapter ${adapter} has no setting ${name}."),
                field="adapter_settings",
                adapter=name,
                name=key,
            )
        if values[key] == MASK:
            if declared[key].secret and key in stored:
                values[key] = str(stored[key])
            else:
                del values[key]
    reasons = [str(r) for r in adapter.check_settings(dict(values))]
    if reasons:
        raise DirectoryError(
            _("The settings of adapter ${adapter} cannot work: ${reasons}."),
            field="adapter_settings" if given else "adapter",
            adapter=name,
            reasons="; ".join(reasons),
        )
    out["adapter_settings"] = {k: v for k, v in values.items() if v != ""}


def masked_settings(unit, adapters):
    """The unit's adapter settings to show: secret values (by the adapter's declaration) masked."""
    adapter = adapters.get(unit.adapter) if unit.adapter else None
    secret = {s.name for s in getattr(adapter, "settings", ()) or () if s.secret}
    return {k: (MASK if k in secret and v else v) for k, v in (unit.adapter_settings or {}).items()}


def clean_policies(values):
    out = {}
    for key, value in values.items():
        if key not in POLICY_FIELDS:
            raise DirectoryError(_("Unknown policy ${name}."), field=key, name=key)
        if key == "deadline_days":
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = -1
            if not 1 <= value <= 365:
                raise DirectoryError(
                    _("The processing deadline is a number of working days from 1 to 365."), field=key
                )
        elif key in ("must_sign", "approval"):
            value = _boolean(value, key)
        elif key == "issuers":
            if isinstance(value, str):
                value = [v for v in re.split(r"[\s,;]+", value) if v]
            value = tuple(value)
            if not value or any(v not in ISSUER_ROLES for v in value):
                raise DirectoryError(_("Who may issue is one or more of: clerk, leader."), field=key)
        out[key] = value
    return out


def _boolean(value, field):
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("1", "true", "yes", "on", "có", "co"):
        return True
    if text in ("", "0", "false", "no", "off", "không", "khong"):
        return False
    raise DirectoryError(_("${value} is neither yes nor no."), field=field, value=text)


def _check_parent(directory, code, parent_code, pending):
    """The parent exists (here or in the same import) and the chain above it never returns to ``code``."""
    if parent_code is None:
        return
    if parent_code == code:
        raise DirectoryError(_("A unit cannot be its own parent."), field="parent_code")
    seen = {code}
    current = parent_code
    while current:
        if current in seen:
            raise DirectoryError(
                _("Parent ${parent} would make a cycle: ${code} is above it."),
                field="parent_code",
                parent=parent_code,
                code=code,
            )
        seen.add(current)
        if current in pending:
            current = pending[current]
        elif current in directory:
            current = directory[current].parent_code
        else:
            raise DirectoryError(_("Unknown parent unit ${parent}."), field="parent_code", parent=current)


def _apply(unit, values):
    for name, value in values.items():
        if name == "policies":
            unit.policies.update(value)
        elif name == "adapter_settings":
            unit.adapter_settings.clear()
            unit.adapter_settings.update(value)
        elif name != "code":
            setattr(unit, name, value)


def add_unit(site, actor, data, known_adapters=None):
    """Add a unit (with its mailbox) from ``data``; everything is checked before it is stored."""
    values = clean(site, data, known_adapters=known_adapters)
    unit = Organization(values["code"], values["name"], kind=values["kind"])
    _apply(unit, values)
    unit.short_name = values.get("short_name") or values["name"]
    site["directory"].add(unit.code, unit)  # indexes it
    audit.record(site, actor, "unit.create", f"/directory/{unit.code}", name=unit.name)
    return unit


def update_unit(site, actor, unit, data, known_adapters=None):
    """Change a unit's fields and policies; returns the names of the fields that changed."""
    if not unit.is_active():
        raise Conflict(
            _("Unit ${code} was reorganized and can no longer be changed."), field="code", code=unit.code
        )
    values = clean(site, data, existing=unit, known_adapters=known_adapters)
    changed = []
    if "name" in values and values["name"] != unit.name:
        rename(site, actor, unit, values.pop("name"), values.pop("short_name", "") or unit.short_name)
        changed.append("name")
    for key, value in values.items():
        if key == "policies":
            differs = any(unit.policy(k) != v for k, v in value.items())
        else:
            differs = getattr(unit, key, None) != value
        if differs:
            changed.append(key)
    _apply(unit, values)
    if changed:
        _reindex(site, unit)
        audit.record(site, actor, "unit.update", f"/directory/{unit.code}", fields=changed)
    return changed


# -- connection roadmap (R11) ---------------------------------------------------------------
def add_months(day, months):
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    import calendar

    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pilot_end(unit):
    if unit.connection_state != d.PILOT or not unit.pilot_start:
        return None
    return add_months(date.fromisoformat(unit.pilot_start), PILOT_MONTHS)


def set_connection_state(site, actor, unit, state, on=None, note=""):
    """Move a unit along the R11 roadmap; ``on`` (a date) is when it took effect, today by default."""
    if state not in d.CONNECTION_STATES:
        raise DirectoryError(_("Unknown connection state ${state}."), field="connection_state", state=state)
    if not unit.is_active():
        raise Conflict(
            _("Unit ${code} was reorganized and can no longer be changed."), field="code", code=unit.code
        )
    on = on or date.today()
    if isinstance(on, str):
        try:
            on = date.fromisoformat(on)
        except ValueError:
            raise DirectoryError(_("${value} is not a date (yyyy-mm-dd)."), field="date", value=on) from None
    if state == unit.connection_state:
        raise Conflict(_("The unit is already in that state."), field="connection_state")
    if unit.connection_history is None:
        unit.connection_history = PersistentList()
    unit.connection_history.append(
        {
            "state": state,
            "date": on.isoformat(),
            "actor": actor.login,
            "note": note or "",
            "previous": unit.connection_state,
        }
    )
    unit.connection_state = state
    unit.pilot_start = (
        on.isoformat() if state == d.PILOT else (unit.pilot_start if state == d.OFFICIAL else None)
    )
    _reindex(site, unit)
    audit.record(site, actor, "unit.connection", f"/directory/{unit.code}", state=state, date=on.isoformat())


def pilot_overdue(site, today=None):
    """Units whose two-month pilot has ended and that are still not official (R11)."""
    today = today or date.today()
    return [u for u in search(site, state=d.PILOT) if pilot_end(u) and pilot_end(u) <= today]


# -- reorganization --------------------------------------------------------------------------
def active_unit(site, code, field):
    """The unit ``code`` when it exists and has not been reorganized; else an error naming ``field``."""
    unit = site["directory"].get(code or "")
    if unit is None:
        raise DirectoryError(_("Unknown unit ${code}."), field=field, code=code or "")
    if not unit.is_active():
        raise Conflict(
            _("Unit ${code} was reorganized; use the unit that took over."), field=field, code=code
        )
    return unit


def rename(site, actor, unit, name, short_name=""):
    name = _text(name)
    if not name:
        raise DirectoryError(_("The unit's name is required."), field="name")
    if not unit.is_active():
        raise Conflict(
            _("Unit ${code} was reorganized and can no longer be changed."), field="code", code=unit.code
        )
    unit.former_names = tuple(unit.former_names) + (
        {"name": unit.name, "short_name": unit.short_name, "until": now_iso(), "actor": actor.login},
    )
    unit.name = name
    unit.short_name = _text(short_name) or name
    _reindex(site, unit)
    audit.record(
        site, actor, "unit.rename", f"/directory/{unit.code}", name=name, former=unit.former_names[-1]["name"]
    )


def _retire(site, actor, unit, status, successors):
    """Mark ``unit`` as ended and hand its sub-units to the first successor."""
    unit.status = status
    unit.successors = tuple(successors)
    heir = successors[0] if successors else unit.parent_code
    moved = children(site, unit.code)
    for child in moved:
        child.parent_code = heir
    for code in successors:
        successor = site["directory"][code]
        successor.predecessors = tuple(successor.predecessors) + (unit.code,)
    _reindex(site, unit, *moved)


def merge(site, actor, codes, successor_code):
    """Several units become one: each is marked merged into ``successor_code`` (which must exist)."""
    codes = [c for c in dict.fromkeys(_text(c) for c in codes) if c]
    if not codes:
        raise DirectoryError(_("Name the units to merge."), field="codes")
    successor = active_unit(site, successor_code, "successor")
    if successor.code in codes:
        raise DirectoryError(_("The successor cannot be one of the merged units."), field="successor")
    units = [active_unit(site, c, "codes") for c in codes]
    for unit in units:
        _retire(site, actor, unit, d.MERGED, [successor.code])
    audit.record(site, actor, "unit.merge", f"/directory/{successor.code}", merged=codes)
    return successor


def split(site, actor, code, successor_codes):
    """One unit becomes several: documents addressed to it go to the first successor."""
    unit = active_unit(site, code, "code")
    successors = [c for c in dict.fromkeys(_text(c) for c in successor_codes) if c]
    if len(successors) < 2:
        raise DirectoryError(_("A split needs at least two successor units."), field="successors")
    if unit.code in successors:
        raise DirectoryError(_("The split unit cannot be its own successor."), field="successors")
    for c in successors:
        active_unit(site, c, "successors")
    _retire(site, actor, unit, d.SPLIT, successors)
    audit.record(site, actor, "unit.split", f"/directory/{unit.code}", successors=successors)


def dissolve(site, actor, code, successor_code=None):
    """A unit ends; with a successor, documents addressed to it go there, without one they are refused."""
    unit = active_unit(site, code, "code")
    successors = []
    if successor_code:
        if successor_code == unit.code:
            raise DirectoryError(_("The dissolved unit cannot be its own successor."), field="successor")
        successors = [active_unit(site, successor_code, "successor").code]
    _retire(site, actor, unit, d.DISSOLVED, successors)
    audit.record(site, actor, "unit.dissolve", f"/directory/{unit.code}", successor=successor_code or None)


def resolve(site, code):
    """The active unit that receives what is addressed to ``code`` today, or None.

    Follows the first successor through any number of reorganizations (a district
    merged into a new one that later split...).
    """
    directory = site["directory"]
    seen = set()
    unit = directory.get(code)
    while unit is not None and not unit.is_active():
        if unit.code in seen or not unit.successors:
            return None
        seen.add(unit.code)
        unit = directory.get(unit.successors[0])
    return unit


# -- finding ---------------------------------------------------------------------------------
def _reindex(site, *units):
    """The one place a change of units reaches the directory's search index."""
    directory = site["directory"]
    for unit in units:
        directory.reindex(unit)


def _scan(site, query, kind, state, include_inactive, parent):
    """The units matching, by reading every one (a directory without its index: before generation 9)."""
    found = []
    for unit in site["directory"].values():
        if not include_inactive and not unit.is_active():
            continue
        if kind and unit.kind != kind:
            continue
        if state and unit.connection_state != state:
            continue
        if parent is not None and unit.parent_code != (parent or None):
            continue
        if query and not matches(query, *unit_words(unit)):
            continue
        found.append(unit.code)
    return found


def find_codes(site, query="", kind=None, state=None, include_inactive=False, parent=None):
    """The codes of the units matching, in code order (see ``search``), read from the index."""
    directory = site["directory"]
    index = directory.search_index
    if index is None:
        return _scan(site, query, kind, state, include_inactive, parent)
    codes = index.search(
        fold(query).split(),
        kind=kind or None,
        state=state or None,
        parent=None if parent is None else (parent or ""),
        include_inactive=include_inactive,
    )
    if codes is None:  # every unit: the directory's own keys are in code order
        gone = () if include_inactive else index.inactive
        return [c for c in directory.keys() if c not in gone]
    return sorted(codes)


#: matches beyond which a page is picked by walking the directory in code order rather than sorting
WALK = 5000


def find(site, query="", kind=None, state=None, include_inactive=False, parent=None, offset=0, limit=50):
    """``(total, units)``: how many units match and the ``limit`` of them from ``offset`` on, in
    code order. What pages, the API and pickers call: only the units shown are loaded."""
    directory = site["directory"]
    index = directory.search_index
    offset, limit = max(0, offset), max(0, limit)
    if index is not None and not fold(query) and not (kind or state) and parent is None:
        # the whole directory (a page's first look): walk its keys up to the page, nothing more
        gone = () if include_inactive else index.inactive
        total = len(directory) - len(gone)
        page = islice((c for c in directory.keys() if c not in gone), offset, offset + limit)
        return total, [directory[c] for c in page]
    if index is None:
        codes = find_codes(site, query, kind, state, include_inactive, parent)
        return len(codes), [directory[c] for c in codes[offset : offset + limit]]
    found = index.search(
        fold(query).split(),
        kind=kind or None,
        state=state or None,
        parent=None if parent is None else (parent or ""),
        include_inactive=include_inactive,
    )
    if len(found) > WALK:  # most of the directory ("a"): its keys are in order, stop at the page's end
        page = list(islice((c for c in directory.keys() if c in found), offset, offset + limit))
    else:
        page = sorted(found)[offset : offset + limit]
    return len(found), [directory[c] for c in page]


def search(site, query="", kind=None, state=None, include_inactive=False, parent=None):
    """Units matching ``query`` (accent- and case-insensitive: "so thong tin" finds "Sở Thông tin"),
    in code order.

    Every word of the query must be part of one of the unit's words: its name, short name,
    code, address, former names and former codes. Prefer ``find`` where only a page is shown.
    """
    directory = site["directory"]
    return [directory[c] for c in find_codes(site, query, kind, state, include_inactive, parent)]


#: the most units a recipient picker offers at once; beyond, it offers what its query finds
PICKER_LIMIT = 300


def picker_units(site, query="", chosen=(), exclude=(), limit=PICKER_LIMIT):
    """``(units, total)`` for a recipient picker: the active units matching ``query`` (all when
    empty), at most ``limit`` of them, plus the ``chosen`` ones always, by name; ``total`` is how
    many match. A small directory is offered whole, as before; the national one (~111,000
    units) never goes into one page."""
    directory = site["directory"]
    total, units = find(site, query, offset=0, limit=limit + len(exclude))
    units = [u for u in units if u.code not in exclude][:limit]
    have = {u.code for u in units}
    for code in chosen:
        unit = directory.get(code)
        if unit is not None and code not in have and code not in exclude:
            units.append(unit)
            have.add(code)
    total -= sum(1 for code in exclude if code in directory and directory[code].is_active())
    return sorted(units, key=lambda u: u.name), max(total, 0)


def children(site, code):
    index = site["directory"].search_index
    if index is None:
        return [u for u in site["directory"].values() if u.parent_code == code and u.is_active()]
    return search(site, parent=code or "")


def ancestors(site, unit):
    """The chain of parents above ``unit``, nearest first."""
    chain, seen = [], {unit.code}
    current = site["directory"].get(unit.parent_code or "")
    while current is not None and current.code not in seen:
        chain.append(current)
        seen.add(current.code)
        current = site["directory"].get(current.parent_code or "")
    return chain


def as_dict(unit, public=False):
    """A unit's fields as plain data (the API, exports). ``public`` leaves out adapter settings."""
    data = {name: getattr(unit, name, None) for name in FIELDS}
    data.update(
        connection_state=unit.connection_state,
        pilot_start=unit.pilot_start,
        pilot_end=(pilot_end(unit).isoformat() if pilot_end(unit) else None),
        status=unit.status,
        successors=list(unit.successors),
        predecessors=list(unit.predecessors),
        former_names=[f["name"] for f in unit.former_names],
    )
    if not public:
        data["policies"] = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in {**d.DEFAULT_POLICIES, **dict(unit.policies)}.items()
        }
        data["adapter_settings"] = dict(unit.adapter_settings or {})
        data["connection_history"] = [dict(h) for h in (unit.connection_history or ())]
    return data
