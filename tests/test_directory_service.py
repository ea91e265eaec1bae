"""services.directory on a real site (temp FileStorage): checks, reorganizations, the R11 roadmap, search."""

from datetime import date

import pytest

from lienthong.core.errors import Conflict, ServiceError
from lienthong.core.resources import directory as d
from lienthong.core.services import audit, directory as dirs

from .support.app import with_site
from .support.refusals import refused as support_refused

ADMIN = audit.Actor("admin")
PROVINCE = "000.00.00.H49"


def snapshot(site):
    return (
        sorted(site["directory"].keys()),
        len(site["audit"]),
        {u.code: (u.name, u.parent_code, u.email, dict(u.policies)) for u in site["directory"].values()},
    )


def refused(app, fn, exc_type=ServiceError):
    """Run ``fn(site)``, expect ``exc_type``, and prove nothing was stored; returns the error."""
    return support_refused(app, fn, snapshot, exc_type)


def unit(code, name="Đơn vị thử", **extra):
    return {"code": code, "name": name, "parent_code": PROVINCE, **extra}


# --------------------------------------------------------------------------- clean: each field


@pytest.mark.parametrize(
    "data, field, fragment, status",
    [
        (unit("12.00.00.H49"), "code", "Invalid identifier code 12.00.00.H49", 400),
        (unit("000.00.90.h49"), "code", "Invalid identifier code", 400),
        (unit("000.00.02.H49"), "code", "already taken", 409),
        (unit("000.00.90.H49", name="  "), "name", "name is required", 400),
        (unit("000.00.90.H49", kind="ministry"), "kind", "Unknown kind of unit ministry", 400),
        (
            unit("000.00.90.H49", parent_code="000.00.99.H49"),
            "parent_code",
            "Unknown parent unit 000.00.99.H49",
            400,
        ),
        (unit("000.00.90.H49", parent_code="000.00.90.H49"), "parent_code", "cannot be its own parent", 400),
        (unit("000.00.90.H49", email="snv.brvt.gov.vn"), "email", "is not an e-mail address", 400),
        (unit("000.00.90.H49", phone="gọi tôi"), "phone", "is not a telephone number", 400),
        (unit("000.00.90.H49", deadline_days="0"), "deadline_days", "from 1 to 365", 400),
        (unit("000.00.90.H49", deadline_days="mười"), "deadline_days", "from 1 to 365", 400),
        (unit("000.00.90.H49", must_sign="maybe"), "must_sign", "neither yes nor no", 400),
        (unit("000.00.90.H49", approval="perhaps"), "approval", "neither yes nor no", 400),
        (unit("000.00.90.H49", issuers="specialist"), "issuers", "clerk, leader", 400),
        (unit("000.00.90.H49", issuers=""), "issuers", "clerk, leader", 400),
        (unit("000.00.90.H49", policies={"colour": "red"}), "colour", "Unknown policy colour", 400),
        (unit("000.00.90.H49", adapter="nope"), "adapter", "No transport plugin is called nope", 400),
        (unit("000.00.90.H49", adapter_settings=["x"]), "adapter_settings", "names with values", 400),
    ],
)
def test_add_unit_refuses_each_bad_field_and_stores_nothing(demo_app, data, field, fragment, status):
    error = refused(demo_app, lambda site: dirs.add_unit(site, ADMIN, data, known_adapters={"vnpt"}))
    assert (error.field, error.status) == (field, status)
    assert fragment in error.text()


def test_a_parent_cycle_is_refused(demo_app):
    with_site(
        demo_app, lambda site: dirs.add_unit(site, ADMIN, unit("000.00.90.H49", parent_code="000.00.31.H49"))
    )
    # the district would sit below its own sub-unit's child
    error = refused(
        demo_app,
        lambda site: dirs.update_unit(
            site, ADMIN, site["directory"]["000.00.31.H49"], {"parent_code": "000.00.90.H49"}
        ),
    )
    assert error.field == "parent_code" and "would make a cycle" in error.text()
    # ... and inside an import: the pending parents decide
    error = refused(
        demo_app,
        lambda site: dirs.clean(
            site,
            unit("000.00.91.H49", parent_code="000.00.92.H49"),
            pending_parents={"000.00.91.H49": "000.00.92.H49", "000.00.92.H49": "000.00.91.H49"},
        ),
    )
    assert error.field == "parent_code" and "cycle" in error.text()


def test_the_code_never_changes_and_changes_are_audited(demo_app):
    error = refused(
        demo_app,
        lambda site: dirs.update_unit(
            site, ADMIN, site["directory"]["000.00.02.H49"], {"code": "000.00.98.H49"}
        ),
    )
    assert error.field == "code"

    def change(site):
        snv = site["directory"]["000.00.02.H49"]
        return dirs.update_unit(
            site,
            ADMIN,
            snv,
            {"email": "snv@brvt.gov.vn", "deadline_days": "7", "must_sign": "có", "issuers": "clerk, leader"},
        ), snv

    changed, _ = with_site(demo_app, change)
    assert changed == ["email", "policies"]

    def check(site):
        snv = site["directory"]["000.00.02.H49"]
        assert (snv.policy("deadline_days"), snv.policy("must_sign"), snv.policy("issuers")) == (
            7,
            True,
            ("clerk", "leader"),
        )
        entry = list(site["audit"].iter_entries())[-1]
        assert (entry["action"], entry["target"], entry["details"]) == (
            "unit.update",
            "/directory/000.00.02.H49",
            {"fields": ["email", "policies"]},
        )

    with_site(demo_app, check)
    assert (
        with_site(
            demo_app,
            lambda site: dirs.update_unit(
                site, ADMIN, site["directory"]["000.00.02.H49"], {"email": "snv@brvt.gov.vn"}
            ),
        )
        == []
    )


# --------------------------------------------------------------------------- rename and search


def test_rename_keeps_former_names_and_search_finds_the_old_name(demo_app):
    def rename(site):
        tourism = site["directory"]["000.00.14.H49"]
        dirs.rename(site, ADMIN, tourism, "Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL")
        return tourism.former_names

    former = with_site(demo_app, rename)
    assert [(f["name"], f["short_name"], f["actor"]) for f in former] == [("Sở Du lịch", "SDL", "admin")]

    def check(site):
        tourism = site["directory"]["000.00.14.H49"]
        assert (tourism.name, tourism.short_name) == ("Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL")
        assert "000.00.14.H49" in [u.code for u in dirs.search(site, "so du lich")]  # the old name
        assert "000.00.14.H49" in [u.code for u in dirs.search(site, "the thao va du lich")]
        assert dirs.as_dict(tourism)["former_names"] == ["Sở Du lịch"]
        entry = list(site["audit"].iter_entries())[-1]
        assert (entry["action"], entry["details"]["former"]) == ("unit.rename", "Sở Du lịch")

    with_site(demo_app, check)
    error = refused(demo_app, lambda site: dirs.rename(site, ADMIN, site["directory"]["000.00.14.H49"], " "))
    assert error.field == "name"


@pytest.mark.parametrize(
    "query",
    ["so thong tin", "SO THONG TIN", "Sở Thông Tin", "sở thông tin và truyền thông", "STTTT", "000.00.12"],
)
def test_search_is_accent_and_case_insensitive(demo_app, query):
    found = with_site(demo_app, lambda site: [u.code for u in dirs.search(site, query)])
    assert found == ["000.00.12.H49"]


def test_search_folds_d_with_stroke_and_filters(demo_app):
    def run(site):
        return (
            [u.code for u in dirs.search(site, "dat do")],  # "Đất Đỏ"
            [u.code for u in dirs.search(site, "DAT DO")],
            [u.code for u in dirs.search(site, "ủy ban", kind="district")],
            [u.code for u in dirs.search(site, "", state=d.PILOT)],
            [u.code for u in dirs.search(site, "", parent="000.00.31.H49")],
            dirs.search(site, "không có đơn vị này"),
        )

    dat_do, upper, districts, pilots, under_vung_tau, nothing = with_site(demo_app, run)
    assert dat_do == upper == ["000.00.37.H49"]
    assert districts == [f"000.00.{n}.H49" for n in range(31, 39)]
    assert pilots == ["000.00.16.H49", "000.00.33.H49"]
    assert under_vung_tau == ["000.01.31.H49", "000.02.31.H49"]
    assert nothing == []


# --------------------------------------------------------------------------- reorganization


def test_merge_then_split_resolves_to_the_first_successor_and_reparents(demo_app):
    def reorganize(site):
        # 2025: Vũng Tàu and Bà Rịa merge into Vũng Tàu's code, which later splits
        dirs.merge(site, ADMIN, ["000.00.32.H49"], "000.00.31.H49")
        dirs.add_unit(site, ADMIN, unit("000.00.41.H49", "Đặc khu Vũng Tàu", kind="district"))
        dirs.add_unit(site, ADMIN, unit("000.00.42.H49", "Phường Bà Rịa", kind="district"))
        dirs.split(site, ADMIN, "000.00.31.H49", ["000.00.41.H49", "000.00.42.H49"])

    with_site(demo_app, reorganize)

    def check(site):
        directory = site["directory"]
        assert directory["000.00.32.H49"].status == d.MERGED and directory["000.00.31.H49"].status == d.SPLIT
        assert dirs.resolve(site, "000.00.32.H49").code == "000.00.41.H49"  # through the chain
        assert dirs.resolve(site, "000.00.31.H49").code == "000.00.41.H49"
        assert dirs.resolve(site, "000.00.12.H49").code == "000.00.12.H49"
        assert dirs.resolve(site, "999.99.99.H49") is None
        # the sub-units of the split district now hang under its first successor
        assert [u.parent_code for u in (directory["000.01.31.H49"], directory["000.02.31.H49"])] == [
            "000.00.41.H49",
            "000.00.41.H49",
        ]
        assert directory["000.00.41.H49"].predecessors == ("000.00.31.H49",)
        assert directory["000.00.31.H49"].predecessors == ("000.00.32.H49",)
        assert "000.00.31.H49" not in [u.code for u in dirs.search(site, "vung tau")]
        assert "000.00.31.H49" in [u.code for u in dirs.search(site, "vung tau", include_inactive=True)]
        assert [e["action"] for e in site["audit"].iter_entries()][-1] == "unit.split"

    with_site(demo_app, check)
    # a reorganized unit stays readable but can no longer change
    error = refused(
        demo_app,
        lambda site: dirs.update_unit(site, ADMIN, site["directory"]["000.00.31.H49"], {"email": "x@y.vn"}),
        Conflict,
    )
    assert error.status == 409
    refused(demo_app, lambda site: dirs.merge(site, ADMIN, ["000.00.31.H49"], "000.00.41.H49"), Conflict)


def test_dissolve_without_a_successor_resolves_to_none(demo_app):
    def dissolve(site):
        dirs.dissolve(site, ADMIN, "000.00.34.H49")

    with_site(demo_app, dissolve)

    def check(site):
        assert dirs.resolve(site, "000.00.34.H49") is None
        # its commune goes up to the dissolved district's parent
        assert site["directory"]["000.01.34.H49"].parent_code == PROVINCE
        assert site["directory"]["000.00.34.H49"].name == "Ủy ban nhân dân huyện Châu Đức"  # history readable

    with_site(demo_app, check)


@pytest.mark.parametrize(
    "fn, field",
    [
        (lambda site: dirs.merge(site, ADMIN, [], "000.00.31.H49"), "codes"),
        (lambda site: dirs.merge(site, ADMIN, ["000.00.31.H49"], "000.00.31.H49"), "successor"),
        (lambda site: dirs.merge(site, ADMIN, ["000.00.99.H49"], "000.00.31.H49"), "codes"),
        (lambda site: dirs.split(site, ADMIN, "000.00.31.H49", ["000.00.32.H49"]), "successors"),
        (
            lambda site: dirs.split(site, ADMIN, "000.00.31.H49", ["000.00.31.H49", "000.00.32.H49"]),
            "successors",
        ),
        (lambda site: dirs.dissolve(site, ADMIN, "000.00.31.H49", "000.00.31.H49"), "successor"),
        (lambda site: dirs.dissolve(site, ADMIN, "000.00.31.H49", "000.00.99.H49"), "successor"),
    ],
)
def test_bad_reorganizations_are_refused(demo_app, fn, field):
    assert refused(demo_app, fn).field == field


# --------------------------------------------------------------------------- R11 roadmap


@pytest.mark.parametrize(
    "start, end",
    [
        ("2026-01-31", "2026-03-31"),
        ("2025-12-15", "2026-02-15"),
        ("2024-12-31", "2025-02-28"),
        ("2023-12-31", "2024-02-29"),
    ],
)
def test_the_pilot_ends_two_months_after_it_starts(demo_app, start, end):
    def pilot(site):
        tourism = site["directory"]["000.00.14.H49"]
        dirs.set_connection_state(site, ADMIN, tourism, d.PILOT, on=start)
        return dirs.pilot_end(tourism)

    assert with_site(demo_app, pilot) == date.fromisoformat(end)


def test_pilot_overdue_and_connection_history(demo_app):
    def run(site):
        tourism = site["directory"]["000.00.14.H49"]
        dirs.set_connection_state(site, ADMIN, tourism, d.PILOT, on="2026-01-31", note="VNPT iOffice")
        return (
            [u.code for u in dirs.pilot_overdue(site, today=date(2026, 3, 30))],
            [u.code for u in dirs.pilot_overdue(site, today=date(2026, 3, 31))],
        )

    before, on_the_day = with_site(demo_app, run)
    assert "000.00.14.H49" not in before and "000.00.14.H49" in on_the_day
    # the demo has one pilot that ran over (started 75 days ago), not the one started 20 days ago
    assert with_site(demo_app, lambda site: [u.code for u in dirs.pilot_overdue(site)]) == [
        "000.00.14.H49",
        "000.00.33.H49",
    ]

    def official(site):
        tourism = site["directory"]["000.00.14.H49"]
        dirs.set_connection_state(site, ADMIN, tourism, d.OFFICIAL, on="2026-04-01")
        return tourism

    with_site(demo_app, official)

    def check(site):
        tourism = site["directory"]["000.00.14.H49"]
        assert (tourism.connection_state, tourism.pilot_start) == (d.OFFICIAL, "2026-01-31")
        assert [(h["previous"], h["state"], h["date"], h["actor"]) for h in tourism.connection_history] == [
            (d.NOT_CONNECTED, d.PILOT, "2026-01-31", "admin"),
            (d.PILOT, d.OFFICIAL, "2026-04-01", "admin"),
        ]
        assert dirs.pilot_end(tourism) is None and "000.00.14.H49" not in [
            u.code for u in dirs.pilot_overdue(site)
        ]
        entry = list(site["audit"].iter_entries())[-1]
        assert (entry["action"], entry["details"]) == (
            "unit.connection",
            {"state": "official", "date": "2026-04-01"},
        )

    with_site(demo_app, check)


@pytest.mark.parametrize(
    "state, on, field",
    [
        ("live", None, "connection_state"),
        (d.PILOT, "31/01/2026", "date"),
        (d.OFFICIAL, None, "connection_state"),
    ],
)
def test_bad_connection_changes(demo_app, state, on, field):
    # 000.00.12.H49 is official in the demo: making it official again is a conflict
    error = refused(
        demo_app,
        lambda site: dirs.set_connection_state(site, ADMIN, site["directory"]["000.00.12.H49"], state, on=on),
    )
    assert error.field == field


def test_the_demo_has_a_realistic_roadmap(demo_app):
    def read(site):
        units = list(site["directory"].values())
        return (
            {s: sum(u.connection_state == s for u in units) for s in d.CONNECTION_STATES},
            all(u.eoffice_product for u in units if u.connection_state != d.NOT_CONNECTED),
            all(u.pilot_start >= "2025-01-01" for u in units if u.connection_state == d.OFFICIAL),
        )

    counts, products, since_2025 = with_site(demo_app, read)
    assert counts[d.OFFICIAL] > 20 and counts[d.PILOT] == 2 and counts[d.NOT_CONNECTED] >= 3
    assert products and since_2025
