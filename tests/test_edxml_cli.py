"""``lienthong edxml send|poll`` against a real ``lienthong serve`` process over HTTP (R3.3).

The server runs on a copy of the demo site with API tokens for two units (SNV sends,
STTTT receives); the commands are the installed console script, as an operator or a
vendor would run them.
"""

import pytest

from lienthong.core import edxml
from lienthong.core.services import audit, tokens

from .support import cli
from .support.app import base_settings, close_app, file_uri, free_port, make_app, with_site
from .support.demo import build_demo_snapshot, copy_snapshot
from .support.exchange import SNV, STTTT, VUNGTAU
from .test_inbound import make_package


@pytest.fixture
def running(tmp_path, tmp_path_factory):
    """(ini, base url, {unit: token}) of a hub serving a copy of the demo site."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    data = tmp_path / "var"
    data.mkdir()
    copy_snapshot(snapshot, str(data))
    app = make_app(base_settings(data))
    try:
        secrets = with_site(
            app,
            lambda site: {
                code: tokens.create(site, audit.Actor.system("test"), code, "CLI test")[1]
                for code in (SNV, STTTT)
            },
        )
    finally:
        close_app(app)
    port = free_port()
    ini = cli.write_ini(
        tmp_path / "hub.ini",
        file_uri(data),
        port=port,
        lienthong__worker__in_process="false",
        lienthong__edxml__feed_settle_seconds="0",
    )
    server = cli.start_server(ini, port, tmp_path / "serve.log")
    try:
        yield ini, f"http://127.0.0.1:{port}", secrets
    finally:
        cli.stop(server)


def test_send_then_poll_save_and_acknowledge(running, tmp_path):
    ini, url, secrets = running
    package, document_id = make_package(to=(STTTT,))
    path = tmp_path / "goi.xml"
    path.write_bytes(package)
    sent = cli.run(["edxml", "send", str(path), "--to", STTTT, "--url", url, "--token", secrets[SNV]])
    assert sent.returncode == 0, sent.stderr
    assert "received" in sent.stdout and document_id in sent.stdout and STTTT in sent.stdout
    again = cli.run(
        ["edxml", "send", str(path), "--url", url], env=cli.clean_env(LIENTHONG_TOKEN=secrets[SNV])
    )
    assert again.returncode == 0, again.stderr
    assert "already received" in again.stdout

    # poll: the url from the ini's [server:main], the token from the environment
    receiver = cli.clean_env(LIENTHONG_TOKEN=secrets[STTTT])
    listed = cli.run(["edxml", "poll"], ini, env=receiver)
    assert listed.returncode == 0, listed.stderr
    assert document_id in listed.stdout and "1 package(s) waiting" in listed.stdout
    out = tmp_path / "inbox"
    fetched = cli.run(["edxml", "poll", "--out", str(out), "--ack"], ini, env=receiver)
    assert fetched.returncode == 0, fetched.stderr
    assert "1 saved" in fetched.stdout and "1 acknowledged" in fetched.stdout
    saved = edxml.parse_document((out / f"{document_id}.xml").read_bytes())
    for item in saved.pop("attachments"):
        item["file"].close()
    assert saved["document_id"] == document_id and saved["from"]["organ_id"] == SNV
    assert not list(out.glob("*.part"))
    empty = cli.run(["edxml", "poll"], ini, env=receiver)
    assert empty.returncode == 0 and "0 package(s) waiting" in empty.stdout


def test_refusals_are_one_clear_line_and_exit_1(running, tmp_path):
    ini, url, secrets = running
    package, _ = make_package(to=(STTTT,))
    path = tmp_path / "goi.xml"
    path.write_bytes(package)
    # --to checks the package's To; the package is never changed
    line = cli.assert_clean_failure(
        cli.run(["edxml", "send", str(path), "--to", VUNGTAU, "--url", url, "--token", secrets[SNV]]),
        "not addressed to",
        VUNGTAU,
    )
    assert STTTT in line
    # the hub's refusals: its problem details
    cli.assert_clean_failure(cli.run(["edxml", "send", str(path), "--url", url, "--token", "wrong"]), "401")
    cli.assert_clean_failure(
        cli.run(["edxml", "send", str(path), "--url", url, "--token", secrets[STTTT]]),
        "403",
        "field: From/OrganId",
    )
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<edXMLEnvelope>")
    cli.assert_clean_failure(
        cli.run(["edxml", "send", str(broken), "--url", url, "--token", secrets[SNV]]), "400"
    )
    cli.assert_clean_failure(
        cli.run(["edxml", "poll", "--ack", "--url", url, "--token", secrets[STTTT]]), "--ack needs --out"
    )
    cli.assert_clean_failure(cli.run(["edxml", "poll", "--url", url]), "no token")
    cli.assert_clean_failure(
        cli.run(["edxml", "poll", "--url", f"http://127.0.0.1:{free_port()}", "--token", "x"]), "cannot reach"
    )
    # nothing was stored by the refused sends
    listed = cli.run(["edxml", "poll", "--url", url, "--token", secrets[STTTT]])
    assert "0 package(s) waiting" in listed.stdout
