"""The national directory into the hub's: the axis's agencies as units reached through it.

``sync(site, actor, client)`` reads the axis's directory and hands it to the core's bulk
service (``services.directory_external.import_external_units``), which adds each agency as a unit
bound to the adapter ``vxp`` (connection state official), updates those it added before and
never touches a unit this hub hosts. The hierarchy comes from ``pid`` (the parent's integer
id on the axis, turned into the parent's code), ``oldCode`` is kept as a former code.

- **Full** (``getAgenciesList``): every agency; a ``vxp`` unit the list no longer has is
  withdrawn. The directory's version is read *before* the list
  (``getSynchronizeUnit`` with a version beyond any), so a change made while the list is
  read comes again in the next incremental sync instead of being lost.
- **Incremental** (``getSynchronizeUnit(version=last)``): only what changed since; a
  ``deleted`` agency is withdrawn (dissolved, without successor: never offered as a
  recipient again, its old documents keep their sender).

The last version is kept in the site's state of this plugin (``site.state_for("vxp")``):
``version``, ``synced_at``, ``full_at``. Large imports commit every ``BATCH`` units through
the caller's ``commit``; the audit has one entry per sync.
"""

from dataclasses import dataclass

from lienthong.core.clock import now_iso
from lienthong.core.services.directory_external import import_external_units

from .client import AxisError

PLUGIN = "vxp"
BATCH = 5000
#: a version beyond any the axis has: ``getSynchronizeUnit`` then answers its current version only
BEYOND = 10**17


class SyncError(Exception):
    """The axis refused or did not answer; ``reason`` says which call and why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass
class SyncResult:
    full: bool
    version: int
    since: int | None
    rows: int
    report: object  # services.directory.ExternalImport


def state(site):
    return site.state_for(PLUGIN)


def last_version(site):
    value = state(site).get("version")
    return int(value) if value is not None else None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _rows(agencies):
    """The axis's agencies as the core's import rows (``pid`` -> the parent's code)."""
    by_id = {}
    for agency in agencies:
        key = _int(agency.get("id"))
        if key is not None and agency.get("code"):
            by_id[key] = str(agency["code"]).strip()
    rows = []
    for agency in agencies:
        if not isinstance(agency, dict):
            continue
        parent = by_id.get(_int(agency.get("pid")))
        old = str(agency.get("oldCode") or "").strip()
        rows.append(
            {
                "code": str(agency.get("code") or "").strip(),
                "name": str(agency.get("name") or ""),
                "parent_code": parent,
                "email": str(agency.get("mail") or ""),
                "former_codes": [old] if old else [],
                "withdrawn": agency.get("deleted") in (True, 1, "1", "true", "True"),
            }
        )
    return rows


def fetch(client, full, since):
    """``(agencies, version)`` from the axis; ``SyncError`` when it refuses or is silent."""
    try:
        if full:
            version = _int(client.call("getSynchronizeUnit", {"version": str(BEYOND)}).get("version"))
            agencies = client.call("getAgenciesList").get("data") or []
        else:
            answer = client.call("getSynchronizeUnit", {"version": str(since)})
            agencies, version = answer.get("data") or [], _int(answer.get("version"))
    except AxisError as exc:
        raise SyncError(exc.reason) from exc
    if not isinstance(agencies, list):
        raise SyncError("the axis answered the directory with something that is not a list")
    return [a for a in agencies if isinstance(a, dict)], version


def sync(site, actor, client, full=False, commit=None, on_progress=None):
    """Synchronize the directory with the axis; full when asked or never done. ``commit()`` is
    called after every ``BATCH`` units (None: the caller commits once); ``on_progress(done,
    total)`` as it goes. Returns a ``SyncResult``."""
    since = last_version(site)
    full = full or since is None
    agencies, version = fetch(client, full, since)
    ids = _axis_ids(site)
    for agency in agencies:
        key = _int(agency.get("id"))
        code = str(agency.get("code") or "").strip()
        if key is not None and code and ids.get(key) != code:
            ids[key] = code
    rows = _rows(agencies)
    for row, agency in zip(rows, agencies, strict=False):
        if row["parent_code"] is None and _int(agency.get("pid")) in ids:
            row["parent_code"] = ids[_int(agency.get("pid"))]
    total = len(rows)

    def batch_done(report):
        if on_progress is not None:
            on_progress(report.seen, total)
        if commit is not None and report.seen < total:
            commit()

    report = import_external_units(
        site,
        actor,
        rows,
        PLUGIN,
        complete=full,
        batch=BATCH,
        on_batch=batch_done,
        source="getAgenciesList" if full else f"getSynchronizeUnit({since})",
    )
    mine = state(site)
    mine["axis_ids"] = ids
    if version is not None:
        mine["version"] = version
    mine["synced_at"] = now_iso()
    if full:
        mine["full_at"] = mine["synced_at"]
    return SyncResult(
        full=full, version=version or 0, since=None if full else since, rows=total, report=report
    )


def _axis_ids(site):
    """The axis's integer ids of the agencies synced, to their codes (an IOBTree in the plugin's
    state), so an incremental change naming its parent by ``pid`` finds the parent's code."""
    from BTrees.IOBTree import IOBTree

    mine = state(site)
    ids = mine.get("axis_ids")
    if ids is None:
        ids = IOBTree()
    return ids


def directory_job(config):
    """The worker's scheduled incremental sync (``lienthong.vxp.directory_sync_seconds``).

    It runs only after a first full sync (``lienthong vxp sync --full``, in batches of its
    own); an axis that refuses or does not answer is logged, and the sync comes again."""
    import logging

    from lienthong.core.jobs import ScheduledJob
    from lienthong.core.services.audit import Actor

    from .client import AxisClient

    log = logging.getLogger(__name__)
    client = AxisClient(config)

    def run(site, env):
        if last_version(site) is None:
            log.info("vxp: the national directory was never synchronized: run lienthong vxp sync --full")
            return None
        try:
            return sync(site, Actor.system("vxp"), client)
        except SyncError as exc:
            log.warning("vxp: the scheduled directory sync failed: %s", exc)
            return None

    return ScheduledJob("vxp-directory", config.directory_sync_seconds, run)
