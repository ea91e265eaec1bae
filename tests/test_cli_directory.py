"""`lienthong directory export|import`, `lienthong token create|list|revoke` and
`lienthong adduser --must-change-password`, run for real on a copy of the demo site."""

import json

import pytest

from .support import cli
from .support.app import DEMO_PASSWORD, base_settings, close_app, file_uri, free_port, make_app, with_site
from .support.demo import build_demo_snapshot, copy_snapshot

NEW_PASSWORD = "Mat-khau-moi-2026"


@pytest.fixture
def site_ini(tmp_path, tmp_path_factory):
    """An ini on a fresh copy of the demo site in ``tmp_path/var``."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    (tmp_path / "var").mkdir()
    copy_snapshot(snapshot, str(tmp_path / "var"))
    return cli.write_ini(tmp_path / "site.ini", file_uri(tmp_path / "var"), port=free_port())


def on_site(tmp_path, fn):
    """``fn(site)`` on the database the commands used (after they exited)."""
    app = make_app(base_settings(tmp_path / "var"))
    try:
        return with_site(app, fn)
    finally:
        close_app(app)


def last_audit(site):
    return list(site["audit"].iter_entries())[-1]


# --------------------------------------------------------------------------- directory


def test_export_to_stdout_and_to_a_file(tmp_path, site_ini):
    out = cli.run(["directory", "export"], site_ini)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("\ufeffcode,name,short_name,kind,parent_code,")
    assert len(out.stdout.splitlines()) == 33 and out.stderr == ""

    target = tmp_path / "danh-ba.json"
    done = cli.run(["directory", "export", "-o", str(target)], site_ini)  # the format from the name
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"32 units written to {target} (json)"
    units = json.loads(target.read_text(encoding="utf-8"))
    assert len(units) == 32 and units[0]["code"] == "000.00.00.H49"
    entry = on_site(tmp_path, last_audit)
    assert (entry["action"], entry["actor"], entry["details"]["format"]) == (
        "directory.export",
        "system:cli",
        "json",
    )

    csv_file = tmp_path / "danh-ba.csv"
    assert cli.run(["directory", "export", "--format", "csv", "-o", str(csv_file)], site_ini).returncode == 0
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbfcode,") and b"\r\n" in csv_file.read_bytes()
    cli.assert_clean_failure(
        cli.run(["directory", "export", "-o", str(tmp_path / "no" / "such" / "x.csv")], site_ini),
        "cannot write",
    )


def test_import_with_bad_rows_prints_each_and_writes_nothing(tmp_path, site_ini):
    bad = tmp_path / "units.csv"
    bad.write_text(
        "code,name,parent_code,email\n"
        "000.00.90.H49,Phường Rạch Dừa,000.00.31.H49,\n"
        "000.00.91.H49,Phường Thắng Nhì,000.00.99.H49,\n"
        "000.00.92.H49,Phường Thắng Tam,000.00.31.H49,khong-phai-email\n",
        encoding="utf-8",
    )
    before = on_site(tmp_path, lambda site: (len(site["directory"]), len(site["audit"])))
    result = cli.run(["directory", "import", str(bad)], site_ini)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines == [
        "row 3, parent_code: Unknown parent unit 000.00.99.H49.",
        "row 4, email: khong-phai-email is not an e-mail address.",
        "Error: The file has 2 error(s); nothing was imported.",
    ]
    assert result.stdout == ""
    assert on_site(tmp_path, lambda site: (len(site["directory"]), len(site["audit"]))) == before


def test_import_dry_run_then_for_real(tmp_path, site_ini):
    good = tmp_path / "units.json"
    good.write_text(
        json.dumps(
            [
                {
                    "code": "000.00.90.H49",
                    "name": "Ủy ban nhân dân phường Rạch Dừa",
                    "parent_code": "000.00.31.H49",
                    "kind": "commune",
                    "connection_state": "pilot",
                    "pilot_start": "2026-11-02",
                },
                {"code": "000.00.02.H49", "email": "snv@baria-vungtau.gov.vn"},
                {"code": "000.00.03.H49", "name": "Sở Tư pháp"},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    dry = cli.run(["directory", "import", str(good), "--dry-run"], site_ini)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip() == "dry run, nothing written: would be 1 created, 1 updated, 1 unchanged"
    assert on_site(tmp_path, lambda site: "000.00.90.H49" in site["directory"]) is False

    real = cli.run(["directory", "import", str(good)], site_ini)
    assert real.returncode == 0, real.stderr
    assert real.stdout.strip() == "directory imported: 1 created, 1 updated, 1 unchanged"

    def check(site):
        ward = site["directory"]["000.00.90.H49"]
        assert (ward.parent_code, ward.connection_state, ward.pilot_start) == (
            "000.00.31.H49",
            "pilot",
            "2026-11-02",
        )
        assert site["directory"]["000.00.02.H49"].email == "snv@baria-vungtau.gov.vn"
        entry = last_audit(site)
        assert (entry["action"], entry["actor"], entry["details"]["created"]) == (
            "directory.import",
            "system:cli",
            1,
        )

    on_site(tmp_path, check)


def test_round_trip_through_the_command_line(tmp_path, site_ini):
    exported = tmp_path / "all.csv"
    assert cli.run(["directory", "export", "-o", str(exported)], site_ini).returncode == 0
    fresh_ini = cli.write_ini(tmp_path / "fresh.ini", file_uri(tmp_path / "fresh"), port=free_port())
    assert cli.run(["init"], fresh_ini).returncode == 0
    result = cli.run(["directory", "import", str(exported)], fresh_ini)
    assert result.stdout.strip() == "directory imported: 32 created, 0 updated, 0 unchanged", result.stderr
    again = tmp_path / "again.csv"
    assert cli.run(["directory", "export", "-o", str(again)], fresh_ini).returncode == 0
    assert again.read_bytes() == exported.read_bytes()


@pytest.mark.parametrize(
    "content, args, fragments",
    [
        (b"\xff\xfe\x00c", [], ["not UTF-8", "nothing was imported"]),
        (b"code,name\n", ["--format", "json"], ["not valid JSON"]),
        (b"code,colour\n000.00.90.H49,red\n", [], ["row 1, colour: Unknown column colour"]),
    ],
)
def test_unreadable_files_are_one_clear_line(tmp_path, site_ini, content, args, fragments):
    path = tmp_path / "units.csv"
    path.write_bytes(content)
    cli.assert_clean_failure(cli.run(["directory", "import", str(path)] + args, site_ini), *fragments)


def test_import_size_limit_and_missing_file(tmp_path):
    (tmp_path / "var").mkdir()
    ini = cli.write_ini(
        tmp_path / "site.ini", file_uri(tmp_path / "var"), port=free_port(), lienthong__import__max_bytes="20"
    )
    assert cli.run(["init"], ini).returncode == 0
    big = tmp_path / "big.csv"
    big.write_text("code,name\n000.00.90.H49,Phường Rạch Dừa\n", encoding="utf-8")
    cli.assert_clean_failure(cli.run(["directory", "import", str(big)], ini), "at most 20 bytes")
    cli.assert_clean_failure(cli.run(["directory", "import", str(tmp_path / "none.csv")], ini), "cannot read")


# --------------------------------------------------------------------------- tokens


def test_token_create_list_revoke(tmp_path, site_ini):
    made = cli.run(
        ["token", "create", "--unit", "000.00.02.H49", "--label", "VNPT iOffice Sở Nội vụ"], site_ini
    )
    assert made.returncode == 0, made.stderr
    first, second = made.stdout.splitlines()
    token_id = first.split()[1]
    assert first == f"token {token_id} created for unit 000.00.02.H49"
    secret = second.rsplit(" ", 1)[1]
    assert second.startswith("secret (shown once") and secret.startswith("lt_")

    def stored(site):
        from lienthong.core.services import tokens

        token = tokens.find(site, secret)
        return token.token_id, token.unit_code, token.digest != secret

    assert on_site(tmp_path, stored) == (token_id, "000.00.02.H49", True)

    listed = cli.run(["token", "list", "--unit", "000.00.02.H49"], site_ini)
    assert listed.returncode == 0, listed.stderr
    fields = listed.stdout.strip().split("\t")
    assert fields[:2] == [token_id, "VNPT iOffice Sở Nội vụ"] and fields[3:] == ["never", "active"]
    assert secret not in listed.stdout

    revoked = cli.run(["token", "revoke", token_id], site_ini)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"token {token_id} (VNPT iOffice Sở Nội vụ, unit 000.00.02.H49) revoked"
    assert (
        cli.run(["token", "list", "--unit", "000.00.02.H49"], site_ini)
        .stdout.strip()
        .split("\t")[-1]
        .startswith("revoked ")
    )
    actions = on_site(
        tmp_path, lambda site: [(e["action"], e["actor"]) for e in site["audit"].iter_entries()][-2:]
    )
    assert actions == [("token.create", "system:cli"), ("token.revoke", "system:cli")]
    assert (
        cli.run(["token", "list", "--unit", "000.00.03.H49"], site_ini).stdout.strip()
        == "unit 000.00.03.H49 has no tokens"
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["token", "create", "--unit", "000.00.99.H49", "--label", "x"], "Unknown unit 000.00.99.H49"),
        (["token", "create", "--unit", "000.00.02.H49", "--label", " "], "Give the token a name"),
        (["token", "list", "--unit", "000.00.99.H49"], "Unknown unit 000.00.99.H49"),
        (["token", "revoke", "khong-co"], "Unknown token"),
    ],
)
def test_token_errors_are_one_line(site_ini, args, fragment):
    cli.assert_clean_failure(cli.run(args, site_ini), fragment)


# --------------------------------------------------------------------------- adduser


def test_adduser_must_change_password(tmp_path, site_ini):
    added = cli.run(
        [
            "adduser",
            "nguyen.van.c",
            "--fullname",
            "Nguyễn Văn C",
            "--unit",
            "000.00.02.H49",
            "--role",
            "clerk",
            "--password",
            NEW_PASSWORD,
            "--must-change-password",
        ],
        site_ini,
    )
    assert added.returncode == 0, added.stderr
    plain = cli.run(
        [
            "adduser",
            "nguyen.van.d",
            "--fullname",
            "Nguyễn Văn D",
            "--unit",
            "000.00.02.H49",
            "--role",
            "clerk",
            "--password",
            NEW_PASSWORD,
        ],
        site_ini,
    )
    assert plain.returncode == 0, plain.stderr

    def read(site):
        return (
            site["users"]["nguyen.van.c"].must_change_password,
            site["users"]["nguyen.van.d"].must_change_password,
            site["users"]["vanthu.snv"].must_change_password,
        )

    assert on_site(tmp_path, read) == (True, False, False)
    assert DEMO_PASSWORD  # the demo accounts are untouched


def test_help_of_the_new_commands(tmp_path):
    for command in (
        ["directory"],
        ["directory", "export"],
        ["directory", "import"],
        ["token"],
        ["token", "create"],
        ["token", "list"],
        ["token", "revoke"],
    ):
        result = cli.run(command + ["--help"], cwd=str(tmp_path))
        assert result.returncode == 0 and f"Usage: lienthong {' '.join(command)} [OPTIONS]" in result.stdout
    adduser = cli.run(["adduser", "--help"], cwd=str(tmp_path))
    assert "--must-change-password" in adduser.stdout
