"""Import and export of the directory as CSV or JSON (R10.3).

``export`` writes every unit, one row (CSV) or object (JSON) each, in code order. CSV is
written by the hub's one CSV writer (``core/csvfile.py``): UTF-8 with a byte-order mark so
that Excel opens Vietnamese names correctly, and a cell a spreadsheet would evaluate
(``=HYPERLINK(…)``) is made inert with a leading apostrophe, which the import takes off; lists are
written space-separated (``issuers``: ``clerk leader``; ``successors``), booleans as
``true``/``false``, nothing as an empty cell. JSON has the same keys in the same order,
with native types, plus ``adapter_settings``.

``import_`` is all or nothing: every row is parsed and checked first (through
``directory.clean`` with the whole file's parents, so a child may come before its parent
and a cycle inside the file is found), every error of every row is collected, and if
there is any, ``ImportRejected`` carries the list and nothing is written. Otherwise
units are created and changed through ``add_unit``/``update_unit``/``set_connection_state``
in the caller's transaction, parents before children.

What an import does not do: reorganize. A unit that exists keeps its status and
successors (a row that would change them is an error: merge, split and dissolve are done
on the unit's page, where their consequences are shown). A *new* unit may arrive already
merged, split or dissolved: that records history (for instance moving a directory from
one hub to another) and its status is stored as given, without re-running the
reorganization.

A column or key that is absent leaves the field as it is; an empty cell clears a text
field, and leaves a policy, the connection state or the status as it is.

Longer than 600 lines because export and import are one contract: the columns, the way
each cell is written and the way it is read back stay side by side, so that a file written
by ``export`` imports unchanged.
"""

import csv
import io
import json
from dataclasses import dataclass, field as dc_field
from datetime import date

from ..csvfile import cell_value, csv_text
from ..errors import ServiceError
from ..i18n import _
from ..json_input import NotJson, read_json
from ..resources import directory as d
from . import audit, directory as dirs

FORMATS = ("csv", "json")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MAX_BYTES_SETTING = "lienthong.import.max_bytes"

# code, name, short_name, kind, parent_code, email, phone, address, eoffice_product, adapter
TEXT_COLUMNS = dirs.FIELDS
STATE_COLUMNS = ("connection_state", "pilot_start", "status", "successors")
POLICY_COLUMNS = dirs.POLICY_FIELDS  # deadline_days, must_sign, issuers, approval
COLUMNS = TEXT_COLUMNS + STATE_COLUMNS + POLICY_COLUMNS
JSON_KEYS = COLUMNS + ("adapter_settings",)
PUBLIC_COLUMNS = (
    "code",
    "name",
    "short_name",
    "kind",
    "parent_code",
    "email",
    "phone",
    "address",
    "connection_state",
)


class ImportRejected(ServiceError):
    """The file has bad rows; ``errors`` lists them all as ``{row, field, message}``.

    ``row`` is the spreadsheet row for CSV (the header is row 1), the position in the list
    for JSON (from 1), or None for the file as a whole. ``message`` is a TranslationString
    (translate it, or call ``.interpolate()`` for English).
    """

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(
            _("The file has ${count} error(s); nothing was imported."), field="file", count=len(self.errors)
        )

    def lines(self):
        """One English line per error, for the command line."""
        return [describe(e) for e in self.errors]


def describe(error, translate=None):
    message = translate(error["message"]) if translate else error["message"].interpolate()
    where = []
    if error["row"] is not None:
        where.append(f"row {error['row']}")
    if error["field"]:
        where.append(error["field"])
    return f"{', '.join(where)}: {message}" if where else message


def _error(row, field, message, **mapping):
    """One row error; ``message`` is a ``_("English msgid")`` filled with ``mapping``."""
    return {"row": row, "field": field, "message": _(message, mapping=mapping) if mapping else message}


def _service_error(row, exc):
    return {"row": row, "field": exc.field, "message": exc.message}


@dataclass
class ImportReport:
    created: list = dc_field(default_factory=list)
    updated: list = dc_field(default_factory=list)
    unchanged: list = dc_field(default_factory=list)

    def counts(self):
        return {"created": len(self.created), "updated": len(self.updated), "unchanged": len(self.unchanged)}


def max_bytes_of(settings):
    """The import size limit from the ini (``lienthong.import.max_bytes``), 5 MB by default."""
    try:
        value = int(str((settings or {}).get(MAX_BYTES_SETTING, DEFAULT_MAX_BYTES)).strip())
    except ValueError:
        value = DEFAULT_MAX_BYTES
    return value if value > 0 else DEFAULT_MAX_BYTES


def _check_format(fmt):
    fmt = (fmt or "").strip().lower()
    if fmt not in FORMATS:
        raise ServiceError(_("Unknown format ${format}: use csv or json."), field="format", format=fmt)
    return fmt


# -- export ----------------------------------------------------------------------------------
def unit_row(unit, public=False):
    """The exported values of one unit, with native types (lists, booleans, None)."""
    if public:
        return {name: getattr(unit, name, None) for name in PUBLIC_COLUMNS}
    row = {name: getattr(unit, name, None) for name in TEXT_COLUMNS}
    row.update(
        connection_state=unit.connection_state,
        pilot_start=unit.pilot_start or None,
        status=unit.status,
        successors=list(unit.successors or ()),
    )
    for key in POLICY_COLUMNS:
        value = unit.policy(key)
        row[key] = list(value) if isinstance(value, (tuple, list)) else value
    settings = dict(unit.adapter_settings or {})
    row["adapter_settings"] = {k: settings[k] for k in sorted(settings)}
    return row


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def export(site, fmt="csv", public=False, adapters=None):
    """Every unit (``public``: active units, public fields only) as CSV or JSON text.

    ``adapters`` (name -> adapter): their secret settings are masked, so an exported file
    never carries a product's token or an HMAC key; importing it back keeps the stored ones.
    """
    fmt = _check_format(fmt)
    units = [u for u in site["directory"].values() if not public or u.is_active()]
    columns = PUBLIC_COLUMNS if public else (COLUMNS if fmt == "csv" else JSON_KEYS)
    rows = [unit_row(u, public=public) for u in units]
    for unit, row in zip(units, rows):
        if "adapter_settings" in row:
            row["adapter_settings"] = dict(sorted(dirs.masked_settings(unit, adapters or {}).items()))
    if fmt == "json":
        return json.dumps([{k: r[k] for k in columns} for r in rows], ensure_ascii=False, indent=2) + "\n"
    return csv_text(columns, ([_cell(r[k]) for k in columns] for r in rows))


# -- parsing ---------------------------------------------------------------------------------
def _decode(data, max_bytes):
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ImportRejected(
            [
                _error(
                    None,
                    "file",
                    _("The file is ${size} bytes; at most ${limit} bytes are accepted."),
                    size=size,
                    limit=max_bytes,
                )
            ]
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRejected(
                [
                    _error(
                        None,
                        "file",
                        _(
                            "The file is not UTF-8 text (byte ${offset} is not valid): "
                            'save it as "CSV UTF-8" or JSON in UTF-8.'
                        ),
                        offset=exc.start,
                    )
                ]
            ) from None
    return data[1:] if data.startswith("\ufeff") else data


def _delimiter(header_line):
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _parse_csv(text):
    """``[(row number, {column: text})]``; file-level problems raise ImportRejected."""
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    try:
        header = next(reader, None)
        records = list(reader)
    except csv.Error as exc:
        raise ImportRejected(
            [
                _error(
                    reader.line_num or None,
                    "file",
                    _("The file is not valid CSV: ${reason}."),
                    reason=str(exc),
                )
            ]
        ) from None
    if not header or not any(h.strip() for h in header):
        raise ImportRejected(
            [_error(None, "file", _("The file is empty: the first row must name the columns."))]
        )
    header = [h.strip() for h in header]
    errors = []
    for name in header:
        if name not in COLUMNS:
            errors.append(
                _error(
                    1,
                    name or "-",
                    _("Unknown column ${name}; the columns are: ${columns}."),
                    name=name,
                    columns=", ".join(COLUMNS),
                )
            )
    seen = set()
    for name in header:
        if name in seen and name in COLUMNS:
            errors.append(_error(1, name, _("The column ${name} appears twice."), name=name))
        seen.add(name)
    if "code" not in header:
        errors.append(_error(1, "code", _("The column code (the unit's identifier code) is required.")))
    if errors:
        raise ImportRejected(errors)
    rows = []
    for index, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank line
        if len(record) != len(header):
            rows.append(
                (
                    index,
                    _error(
                        index,
                        None,
                        _("The row has ${cells} cells but the header has ${columns}."),
                        cells=len(record),
                        columns=len(header),
                    ),
                )
            )
            continue
        rows.append((index, dict(zip(header, (cell_value(c) for c in record)))))
    return rows


def _parse_json(text):
    try:  # nesting counted before parsing; the text of each unit is checked with its row
        data = read_json(text, field="file", text=False)
    except NotJson as exc:
        raise ImportRejected(
            [_error(None, "file", _("The file is not valid JSON: ${reason}."), reason=str(exc))]
        ) from None
    except ServiceError as exc:
        raise ImportRejected([_service_error(None, exc)]) from None
    if not isinstance(data, list):
        raise ImportRejected([_error(None, "file", _("The JSON file must be a list of units (objects)."))])
    rows = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            rows.append((index, _error(index, None, _("Each unit must be a JSON object."))))
            continue
        unknown = [k for k in item if k not in JSON_KEYS]
        if unknown:
            rows.append(
                (
                    index,
                    _error(
                        index,
                        unknown[0],
                        _("Unknown key ${name}; the keys are: ${keys}."),
                        name=unknown[0],
                        keys=", ".join(JSON_KEYS),
                    ),
                )
            )
            continue
        rows.append((index, item))
    return rows


# -- checking a row --------------------------------------------------------------------------
def _text_value(value):
    return "" if value is None else value.strip() if isinstance(value, str) else value


def _codes(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [c for c in value.replace(",", " ").replace(";", " ").split() if c]
    if isinstance(value, (list, tuple)):
        return [str(c).strip() for c in value if str(c).strip()]
    return None


def _row_data(row, raw, errors):
    """The row's values for ``directory.clean``, the wanted connection state and status."""
    data = {}
    for name in TEXT_COLUMNS:
        if name in raw:
            value = raw[name]
            if value is not None and not isinstance(value, str):
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    value = str(value)
                else:
                    errors.append(_error(row, name, _("${name} must be text."), name=name))
                    continue
            data[name] = _text_value(value)
    for name in POLICY_COLUMNS:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # not given: the unit keeps (or gets the default of) this policy
        data[name] = value.strip() if isinstance(value, str) else value
    if "adapter_settings" in raw and raw["adapter_settings"] is not None:
        data["adapter_settings"] = raw["adapter_settings"]
    wanted = {}
    for name in ("connection_state", "pilot_start", "status"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(_error(row, name, _("${name} must be text."), name=name))
            continue
        wanted[name] = (value or "").strip() or None
    if wanted.get("connection_state") and wanted["connection_state"] not in d.CONNECTION_STATES:
        errors.append(
            _error(
                row,
                "connection_state",
                _("Unknown connection state ${state}: use ${states}."),
                state=wanted["connection_state"],
                states=", ".join(d.CONNECTION_STATES),
            )
        )
        wanted["connection_state"] = None
    if wanted.get("pilot_start"):
        try:
            wanted["pilot_start"] = date.fromisoformat(wanted["pilot_start"]).isoformat()
        except ValueError:
            errors.append(
                _error(
                    row, "pilot_start", _("${value} is not a date (yyyy-mm-dd)."), value=wanted["pilot_start"]
                )
            )
            wanted["pilot_start"] = None
    if wanted.get("status") and wanted["status"] not in d.STATUSES:
        errors.append(
            _error(
                row,
                "status",
                _("Unknown status ${status}: use ${statuses}."),
                status=wanted["status"],
                statuses=", ".join(d.STATUSES),
            )
        )
        wanted["status"] = None
    if "successors" in raw:
        successors = _codes(raw["successors"])
        if successors is None:
            errors.append(_error(row, "successors", _("successors must be a list of identifier codes.")))
        else:
            wanted["successors"] = successors
    return data, wanted


def _connection_steps(row, unit, wanted, today, errors):
    """The ``(state, date)`` moves that bring a unit (None: a new one) to the wanted state."""
    state, start = wanted.get("connection_state"), wanted.get("pilot_start")
    current = unit.connection_state if unit is not None else d.NOT_CONNECTED
    current_start = unit.pilot_start if unit is not None else None
    if state is None or state == current:
        if start and start != current_start:
            errors.append(
                _error(
                    row,
                    "pilot_start",
                    _(
                        "The pilot start of a unit changes only with its connection "
                        "state (now ${state}, since ${date})."
                    ),
                    state=current,
                    date=current_start or "-",
                )
            )
        return []
    if state == d.NOT_CONNECTED:
        if start:
            errors.append(_error(row, "pilot_start", _("A unit that is not connected has no pilot start.")))
        return [(d.NOT_CONNECTED, today)]
    if state == d.PILOT:
        return [(d.PILOT, date.fromisoformat(start) if start else today)]
    # official
    if start and start != current_start:
        if current == d.PILOT:
            errors.append(
                _error(
                    row,
                    "pilot_start",
                    _("The unit's pilot started on ${date}; an import cannot change that."),
                    date=current_start or "-",
                )
            )
            return []
        began = date.fromisoformat(start)
        ended = dirs.add_months(began, dirs.PILOT_MONTHS)
        return [(d.PILOT, began), (d.OFFICIAL, min(ended, today) if began <= today else began)]
    return [(d.OFFICIAL, today)]


def _status_plan(row, code, unit, wanted, in_file, directory, errors):
    """None (nothing to do) or ``(status, successors)`` to record on a new unit."""
    status = wanted.get("status")
    successors = wanted.get("successors")
    if unit is not None:
        if (status is not None and status != unit.status) or (
            successors is not None and list(successors) != list(unit.successors)
        ):
            errors.append(
                _error(
                    row,
                    "status",
                    _(
                        "An import does not reorganize a unit: ${code} is ${status}; "
                        "merge, split or dissolve it on its page."
                    ),
                    code=code,
                    status=unit.status,
                )
            )
        return None
    status = status or d.ACTIVE
    successors = successors or []
    if status == d.ACTIVE:
        if successors:
            errors.append(_error(row, "successors", _("An active unit has no successors.")))
        return None
    count_ok = {
        d.MERGED: len(successors) == 1,
        d.SPLIT: len(successors) >= 2,
        d.DISSOLVED: len(successors) <= 1,
    }[status]
    if not count_ok:
        errors.append(
            _error(
                row,
                "successors",
                {
                    d.MERGED: _("A merged unit has exactly one successor."),
                    d.SPLIT: _("A split unit has two successors or more."),
                    d.DISSOLVED: _("A dissolved unit has at most one successor."),
                }[status],
            )
        )
    for successor in successors:
        if successor == code:
            errors.append(_error(row, "successors", _("A unit cannot be its own successor.")))
        elif successor not in in_file and successor not in directory:
            errors.append(_error(row, "successors", _("Unknown successor unit ${code}."), code=successor))
    return status, tuple(successors)


def _differs(unit, values):
    for key, value in values.items():
        if key == "code":
            continue
        if key == "policies":
            if any(unit.policy(k) != v for k, v in value.items()):
                return True
        elif key == "adapter_settings":
            if dict(unit.adapter_settings or {}) != value:
                return True
        elif getattr(unit, key, None) != value:
            return True
    return False


def _depth(code, pending, directory):
    depth, seen, current = 0, {code}, code
    while True:
        parent = (
            pending[current] if current in pending else getattr(directory.get(current), "parent_code", None)
        )
        if not parent or parent in seen:
            return depth
        seen.add(parent)
        depth += 1
        current = parent


# -- import ----------------------------------------------------------------------------------
def parse(text_or_bytes, fmt, max_bytes=DEFAULT_MAX_BYTES):
    """``[(row, values or error)]`` from the file; raises ImportRejected for a file-level fault."""
    fmt = _check_format(fmt)
    text = _decode(text_or_bytes if text_or_bytes is not None else b"", max_bytes)
    if not text.strip():
        raise ImportRejected([_error(None, "file", _("The file is empty."))])
    return _parse_csv(text) if fmt == "csv" else _parse_json(text)


def import_(site, actor, text_or_bytes, fmt, known_adapters=None, max_bytes=DEFAULT_MAX_BYTES, today=None):
    """Check the whole file, then create and update its units; returns an ``ImportReport``.

    Raises ``ImportRejected`` (with every bad row) before writing anything. Writes go to
    the caller's transaction: abort it on any error.
    """
    fmt = _check_format(fmt)
    rows = parse(text_or_bytes, fmt, max_bytes)
    today = today or date.today()
    directory = site["directory"]
    errors, good = [], []
    for row, value in rows:
        if _is_error(value):
            errors.append(value)
        else:
            good.append((row, value))
    if not rows:
        errors.append(_error(None, "file", _("The file lists no units.")))

    # first pass: the codes and parents of the whole file
    first_row, pending = {}, {}
    for row, raw in good:
        code = raw.get("code")
        code = code.strip() if isinstance(code, str) else code
        if not isinstance(code, str) or not code:
            continue
        if code in first_row:
            errors.append(
                _error(
                    row,
                    "code",
                    _("The code ${code} is also on row ${other}."),
                    code=code,
                    other=first_row[code],
                )
            )
            continue
        first_row[code] = row
        if "parent_code" in raw:
            parent = raw["parent_code"]
            pending[code] = (parent.strip() if isinstance(parent, str) else parent) or None
        elif code not in directory:
            pending[code] = None

    # second pass: every field of every row
    plans = []
    for row, raw in good:
        row_errors = []
        data, wanted = _row_data(row, raw, row_errors)
        code = data.get("code", "")
        if code and first_row.get(code) != row:
            continue  # a duplicate, reported above
        unit = directory.get(code) if code else None
        try:
            values = dirs.clean(
                site, data, existing=unit, known_adapters=known_adapters, pending_parents=pending
            )
        except ServiceError as exc:
            row_errors.append(_service_error(row, exc))
            values = None
        steps = _connection_steps(row, unit, wanted, today, row_errors)
        status = _status_plan(row, code, unit, wanted, first_row, directory, row_errors)
        if (
            unit is not None
            and not unit.is_active()
            and values is not None
            and (_differs(unit, values) or steps)
        ):
            row_errors.append(
                _error(
                    row, "code", _("Unit ${code} was reorganized and can no longer be changed."), code=code
                )
            )
        errors.extend(row_errors)
        if not row_errors:
            plans.append((row, code, data, unit, steps, status))
    if errors:
        errors.sort(key=lambda e: (e["row"] is not None, e["row"] or 0))
        raise ImportRejected(errors)

    # apply: parents before children, so that each unit's parent chain is final when checked
    report = ImportReport()
    plans.sort(key=lambda p: (_depth(p[1], pending, directory), p[1]))
    retired = []
    for row, code, data, unit, steps, status in plans:
        try:
            if unit is None:
                unit = dirs.add_unit(site, actor, data, known_adapters=known_adapters)
                bucket = report.created
            elif unit.is_active():
                bucket = report.updated if dirs.update_unit(site, actor, unit, data, known_adapters) else None
            else:
                bucket = None
            for state, on in steps:
                dirs.set_connection_state(site, actor, unit, state, on=on, note="import")
                bucket = bucket if bucket is not None else report.updated
        except ServiceError as exc:  # the checks above should have caught it; the caller aborts
            raise ImportRejected([_service_error(row, exc)]) from exc
        (report.unchanged if bucket is None else bucket).append(code)
        if status is not None:
            retired.append((unit, status))
    # units that arrive already reorganized: their history is recorded as it is, not re-run
    for unit, (status, successors) in retired:
        unit.status = status
        unit.successors = successors
        for successor in successors:
            heir = directory[successor]
            heir.predecessors = tuple(heir.predecessors) + (unit.code,)
        directory.reindex(unit)
    for bucket in (report.created, report.updated, report.unchanged):
        bucket.sort()
    audit.record(
        site,
        actor,
        "directory.import",
        "/directory",
        format=fmt,
        **report.counts(),
        reorganized=sorted(u.code for u, _s in retired),
    )
    return report


def _is_error(value):
    return set(value) == {"row", "field", "message"} and hasattr(value["message"], "interpolate")
