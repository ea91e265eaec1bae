"""The `lienthong` console script, run for real in a subprocess on temp ini files.

Success paths print what happened; every failure ends with exit status != 0 and exactly
one clear line on stderr, never a Python traceback.
"""

import concurrent.futures
import os
import re

import pytest
from webtest import TestApp

from lienthong.core import evolve

from .support import cli
from .support.app import base_settings, close_app, file_uri, free_port, login, make_app

NEW_PASSWORD = "Mat-khau-moi-2024"


@pytest.fixture
def site_ini(tmp_path):
    """An ini on a FileStorage in ``tmp_path/var`` (not created yet)."""
    return cli.write_ini(tmp_path / "site.ini", file_uri(tmp_path / "var"), port=free_port())


def can_log_in(directory, login_name, password):
    """Start the real app on the database in ``directory`` and log in through the form."""
    app = make_app(base_settings(directory))
    try:
        browser = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        return login(browser, login_name, password, status="*").status_int == 303
    finally:
        close_app(app)


# --------------------------------------------------------------------------- help


def test_help_of_every_command(tmp_path):
    from lienthong.core.cli import cli as group

    names = set(group.commands)
    assert {"init", "serve", "migrate", "shell", "adduser", "audit", "plugins"} <= names
    commands = [[name] for name in sorted(names)] + [["audit", "verify"]]

    # run where there is no etc/development.ini: help must not need a configuration file
    def helps(command):
        return command, cli.run(command + ["--help"], cwd=str(tmp_path))

    top = cli.run(["--help"], cwd=str(tmp_path))
    assert top.returncode == 0 and "Usage: lienthong [OPTIONS] COMMAND" in top.stdout
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(helps, commands))
    for command, result in results:
        assert result.returncode == 0, (command, result.stderr)
        assert f"Usage: lienthong {' '.join(command)} [OPTIONS]" in result.stdout, result.stdout
        assert result.stderr == ""
        cmd = group
        for part in command:
            cmd = cmd.commands[part]
        first_line = (cmd.help or "").strip().splitlines()[0]
        assert first_line[:40] in " ".join(result.stdout.split()), (command, result.stdout)
        if len(command) == 1:
            assert command[0] in top.stdout
    adduser = next(result for command, result in results if command == ["adduser"])
    for option in ("--fullname", "--unit", "--role", "--password"):
        assert option in adduser.stdout


# --------------------------------------------------------------------------- init


def test_init_then_init_demo_with_the_password_from_the_environment(tmp_path, site_ini):
    first = cli.run(["init"], site_ini)
    assert first.returncode == 0, first.stderr
    assert f"site ready at schema generation {evolve.current_generation()}" in first.stdout
    assert (tmp_path / "var" / "Data.fs").exists()

    password = "Demo-mat-khau-env-2024"
    demo = cli.run(["init", "--demo"], site_ini, env=cli.clean_env(LIENTHONG_DEMO_PASSWORD=password))
    assert demo.returncode == 0, demo.stderr
    assert re.search(r"demo province created: \d+ units, \d+ users, 4 documents", demo.stdout)
    assert "admin" in demo.stdout  # the logins are listed ...
    assert password not in demo.stdout + demo.stderr  # ... the password given is not echoed
    assert "shown once" not in demo.stdout

    kept = cli.run(
        ["init", "--demo"], site_ini, env=cli.clean_env(LIENTHONG_DEMO_PASSWORD="other-password-99")
    )
    assert kept.returncode == 0, kept.stderr
    assert "already there: keeping the existing data" in kept.stdout
    assert can_log_in(tmp_path / "var", "admin", password)
    assert not can_log_in(tmp_path / "var", "admin", "other-password-99")


def test_init_demo_without_a_password_prints_a_random_one_once(tmp_path, site_ini):
    demo = cli.run(["init", "--demo"], site_ini)
    assert demo.returncode == 0, demo.stderr
    match = re.search(r"demo password for every demo login \(shown once\): (\S+)", demo.stdout)
    assert match, demo.stdout
    password = match.group(1)
    assert len(password) >= 12
    assert demo.stdout.count(password) == 1

    again = cli.run(["init", "--demo"], site_ini)
    assert again.returncode == 0, again.stderr
    assert "already there: keeping the existing data" in again.stdout
    assert password not in again.stdout and "shown once" not in again.stdout
    assert can_log_in(tmp_path / "var", "vanthu.snv", password)


# --------------------------------------------------------------------------- adduser and audit


def test_adduser_policy_errors_then_success_then_audit_verify(tmp_path, site_ini):
    assert cli.run(["init"], site_ini).returncode == 0
    base = ["adduser", "nguyen.van.a", "--fullname", "Nguyễn Văn A", "--role", "auditor"]

    cli.assert_clean_failure(
        cli.run(base + ["--password", "ngan"], site_ini), "The password must have at least 10 characters"
    )
    cli.assert_clean_failure(
        cli.run(
            [
                "adduser",
                "nguyen.van.bb",
                "--fullname",
                "B",
                "--role",
                "auditor",
                "--password",
                "Nguyen.Van.BB",
            ],
            site_ini,
        ),
        "The password must not be the login",
    )
    cli.assert_clean_failure(
        cli.run(
            base[:4] + ["--unit", "999.99.99.H49", "--role", "clerk", "--password", NEW_PASSWORD], site_ini
        ),
        "Unknown unit 999.99.99.H49",
    )

    # the password from the environment, so it is not on the command line
    added = cli.run(base, site_ini, env=cli.clean_env(LIENTHONG_NEW_PASSWORD=NEW_PASSWORD))
    assert added.returncode == 0, added.stderr
    assert "user nguyen.van.a added" in added.stdout
    cli.assert_clean_failure(
        cli.run(base + ["--password", NEW_PASSWORD], site_ini), "The login nguyen.van.a already exists"
    )

    verify = cli.run(["audit", "verify"], site_ini)
    assert verify.returncode == 0, verify.stderr
    # site.create + user.create (the refused attempts wrote nothing)
    assert "audit log intact: 2 entries" in verify.stdout
    assert can_log_in(tmp_path / "var", "nguyen.van.a", NEW_PASSWORD)


def test_commands_on_a_database_without_a_site_say_run_init(site_ini):
    cli.assert_clean_failure(cli.run(["audit", "verify"], site_ini), "run `lienthong init` first")


# --------------------------------------------------------------------------- errors


def _unknown_config(tmp_path):
    return str(tmp_path / "nowhere.ini"), "configuration file not found"


def _not_an_ini(tmp_path):
    path = tmp_path / "garbage.ini"
    path.write_text("this is not an ini file\n")
    return str(path), "cannot read the configuration file"


def _bad_scheme(tmp_path):
    return cli.write_ini(
        tmp_path / "bad.ini", "foo://x", port=free_port()
    ), "unknown storage URI scheme 'foo'"


def _var_dir_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    uri = f"file://{tmp_path}/afile/Data.fs?blobstorage_dir={tmp_path}/afile/blobs"
    return cli.write_ini(tmp_path / "f.ini", uri, port=free_port()), "is a file, not a directory"


def _var_dir_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    uri = f"file://{tmp_path}/afile/var/Data.fs"
    return cli.write_ini(tmp_path / "f.ini", uri, port=free_port()), "cannot create the data directory"


def _var_dir_not_creatable(tmp_path):
    # tests run as root, so chmod does not stop them; sysfs refuses mkdir even to root
    target = "/sys/lienthong-test-var"
    try:
        os.mkdir(target)
    except OSError:
        pass
    else:  # pragma: no cover - a writable /sys: this case cannot be made here
        os.rmdir(target)
        pytest.skip("/sys accepts new directories on this machine")
    uri = f"file://{target}/Data.fs"
    return cli.write_ini(tmp_path / "ro.ini", uri, port=free_port()), "cannot create the data directory"


# (case, command): `serve` builds the application through PasteDeploy, a path of its own,
# so it is checked for the errors that come from the database settings
ERROR_CASES = [
    (case, ["init"])
    for case in (
        _unknown_config,
        _not_an_ini,
        _bad_scheme,
        _var_dir_is_a_file,
        _var_dir_under_a_file,
        _var_dir_not_creatable,
    )
]
ERROR_CASES += [
    (case, ["serve"]) for case in (_unknown_config, _bad_scheme, _var_dir_is_a_file, _var_dir_not_creatable)
]


@pytest.mark.parametrize(
    "case,command", ERROR_CASES, ids=[f"{c[1][0]}-{c[0].__name__.strip('_')}" for c in ERROR_CASES]
)
def test_errors_are_one_clear_line(tmp_path, case, command):
    ini, expected = case(tmp_path)
    cli.assert_clean_failure(cli.run(command, ini, timeout=60), expected)


def test_a_database_locked_by_a_running_server(tmp_path, site_ini):
    assert cli.run(["init"], site_ini).returncode == 0
    server = cli.start_server(site_ini, free_port(), tmp_path / "serve.log")
    try:
        cli.assert_clean_failure(
            cli.run(["init"], site_ini), "is locked by another process", str(tmp_path / "var" / "Data.fs")
        )
        # a second server on another port: the same clear line (serve has its own code path)
        second = cli.run(["serve", "--port", str(free_port())], site_ini, timeout=60)
        cli.assert_clean_failure(second, "is locked by another process")
        assert server.poll() is None  # the first server is unharmed
    finally:
        cli.stop(server)
    # once the server has stopped, the lock is gone
    after = cli.run(["init"], site_ini)
    assert after.returncode == 0, after.stderr


def test_serve_on_a_port_in_use_is_one_clear_line_and_frees_the_database(site_ini):
    import socket

    assert cli.run(["init"], site_ini).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli.run(["serve", "--port", str(port)], site_ini, timeout=60)
    cli.assert_clean_failure(result, f"cannot listen on 127.0.0.1:{port}", "is another server running there?")
    assert cli.run(["init"], site_ini).returncode == 0  # the database was closed, not left locked


def test_shell_binds_the_site_and_commits_only_when_asked(site_ini):
    env = cli.clean_env(LIENTHONG_DEMO_PASSWORD="shell-password-1")
    assert cli.run(["init", "--demo"], site_ini, env=env).returncode == 0
    session = (
        "print('units', len(site['directory']))\n"
        "site['directory']['000.00.02.H49'].phone = '0254 3852 000'\n"
        "tm.commit()\n"
        "site['directory']['000.00.02.H49'].phone = 'not committed'\n"
    )
    result = cli.run(["shell"], site_ini, input=session)
    assert result.returncode == 0, result.stderr
    assert "units 32" in result.stdout
    check = cli.run(["shell"], site_ini, input="print('phone', site['directory']['000.00.02.H49'].phone)\n")
    assert "phone 0254 3852 000" in check.stdout


def test_reindex_rebuilds_the_catalog_of_the_demo_documents(tmp_path, site_ini):
    demo = cli.run(
        ["init", "--demo"], site_ini, env=cli.clean_env(LIENTHONG_DEMO_PASSWORD="Demo-mat-khau-env-2024")
    )
    assert demo.returncode == 0, demo.stderr
    result = cli.run(["reindex"], site_ini)
    assert result.returncode == 0, result.stderr
    assert "catalog rebuilt: 17 records" in result.stdout


# --------------------------------------------------------------------------- serve: proxies, slow clients


def _get(port, path, source="127.0.0.1", headers=None, timeout=5):
    """GET ``path`` from the local address ``source`` (any 127.x.y.z is this machine): the status."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    finally:
        connection.close()


def test_forwarded_headers_count_only_from_the_trusted_proxies(tmp_path):
    """waitress's own proxy handling, trusting each address of `trusted_proxy` (several for
    `lienthong serve`), and nobody else: a forged X-Forwarded-For does not open /metrics."""
    port = free_port()
    ini = cli.write_ini(
        tmp_path / "proxied.ini",
        file_uri(tmp_path / "var"),
        port=port,
        server={
            "trusted_proxy": "127.0.0.2 127.0.0.3",
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto",
        },
        lienthong__metrics__allow="203.0.113.7",
    )
    assert cli.run(["init"], ini).returncode == 0
    server = cli.start_server(ini, port, tmp_path / "serve.log")
    try:
        client = {"X-Forwarded-For": "203.0.113.7"}
        assert _get(port, "/metrics", "127.0.0.1", client) == 403  # not a proxy: the header is dropped
        assert _get(port, "/metrics", "127.0.0.2", client) == 200
        assert _get(port, "/metrics", "127.0.0.3", client) == 200
        assert _get(port, "/metrics", "127.0.0.4", client) == 403
        # the proxy appends the address it saw: what the client wrote before it is not believed
        assert _get(port, "/metrics", "127.0.0.2", {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}) == 403
    finally:
        cli.stop(server)


def test_serve_refuses_to_trust_forwarded_headers_from_anyone(tmp_path):
    ini = cli.write_ini(
        tmp_path / "anyone.ini",
        file_uri(tmp_path / "var"),
        port=free_port(),
        server={"trusted_proxy": "*", "trusted_proxy_headers": "x-forwarded-for"},
    )
    cli.assert_clean_failure(cli.run(["serve"], ini), "trusted_proxy = *", "the proxy's address")


def production_server_settings():
    """The production ini's [server:main] (waitress) settings, but for where it listens."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(os.path.dirname(os.path.dirname(__file__)), "etc", "production.ini"))
    server = dict(parser["server:main"])
    for name in ("use", "host", "port", "listen"):
        server.pop(name, None)
    return server


def test_slow_clients_do_not_take_the_production_server_down(tmp_path):
    """120 connections that trickle a header or a body: waitress's default (100 channels)
    stops accepting, so a new request waits; the production settings serve it at once."""
    import socket
    import time

    port = free_port()
    ini = cli.write_ini(
        tmp_path / "slow.ini", file_uri(tmp_path / "var"), port=port, server=production_server_settings()
    )
    assert cli.run(["init"], ini).returncode == 0
    server = cli.start_server(ini, port, tmp_path / "serve.log")
    slow = []
    try:
        for i in range(120):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:
                s.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nx")
            slow.append(s)
        time.sleep(0.5)
        for s in slow:  # still trickling
            s.sendall(b"x")
        started = time.monotonic()
        assert _get(port, "/healthz", timeout=5) == 200
        assert time.monotonic() - started < 3
    finally:
        for s in slow:
            s.close()
        cli.stop(server)


def test_serve_reads_the_waitress_settings_an_ini_inherits():
    """etc/relstorage.ini's [server:main] is `use = config:production.ini#main`: serve must listen,
    trust and bound slow clients as production does, not with waitress's defaults (0.0.0.0:8080)."""
    from lienthong.core.serving import server_settings

    etc = os.path.join(os.path.dirname(os.path.dirname(__file__)), "etc")
    production = server_settings(os.path.join(etc, "production.ini"))
    assert production["trusted_proxy"] == "127.0.0.1" and production["connection_limit"] == "1000"
    assert server_settings(os.path.join(etc, "relstorage.ini")) == production
