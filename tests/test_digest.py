"""The daily digest and overdue reminders (R7.3, R8.1), against a real SMTP server (aiosmtpd).

Documents are issued with the services on the demo site; the digest runs for a working day
chosen from the site's calendar, so the tests do not depend on the day they run.
"""

import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from lienthong.core.mail import MailConfig, Mailer, MailError, build_message
from lienthong.core.services import deliveries, digest as digests, documents as ds, workflow

from .support import cli
from .support.app import file_uri, free_port
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, Hub, actor, basic

MAIL = "@demo.lienthong.vn"
PUBLIC = "https://lienthong.example.vn"


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses in ``refuse``."""

    def __init__(self):
        self.envelopes = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def to(self, login):
        """Messages for ``login``, parsed."""
        return [
            email.message_from_bytes(e.original_content or e.content, policy=email.policy.default)
            for e in self.envelopes
            if login + MAIL in e.rcpt_tos
        ]

    def recipients(self):
        return {address.split("@")[0] for e in self.envelopes for address in e.rcpt_tos}


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port, inbox.running = controller.port, True

    def stop():
        if inbox.running:
            controller.stop()
            inbox.running = False

    inbox.stop = stop
    yield inbox
    stop()


def mail_settings(port):
    return {
        "lienthong.mail.host": "127.0.0.1",
        "lienthong.mail.port": str(port),
        "lienthong.mail.sender": "lienthong@hub.example.vn",
        "lienthong.public_url": PUBLIC + "/",
    }


@pytest.fixture
def hub(demo_factory, smtp):  # noqa: F811  (exchange.hub, with mail settings)
    return Hub(demo_factory(**mail_settings(smtp.port)))


def working_day(env, after=0):
    return env.calendar.add_working_days(env.calendar.add_working_days(env.today(), 0), after)


def next_saturday(env):
    day = env.today() + timedelta(days=1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    assert not env.calendar.is_working_day(day)
    return day


def issue(hub, **extra):
    def run(site):
        doc = ds.compose(site, hub.env, actor("vanthu.snv"), site["directory"][SNV], basic(**extra))
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.id

    return hub.tx(run)


def act(hub, doc_id, code, who, action, **kw):
    hub.tx(
        lambda site: deliveries.act(
            site, hub.env, actor(who), site["documents"][doc_id].delivery_for(code), action, **kw
        )
    )


@pytest.fixture
def exchange(hub):
    """New for both recipients; one overdue at STTTT; one accepted; one assigned to chuyenvien.stttt."""
    env = hub.env
    day = working_day(env)
    ids = {
        "new": issue(hub, subject="Kế hoạch chuyển đổi số năm 2026", persons=["chuyenvien.snv"]),
        "late": issue(
            hub,
            subject="Báo cáo quá hạn về văn thư",
            recipients=[STTTT],
            due_date=(env.today() - timedelta(days=10)).isoformat(),
        ),
        "accepted": issue(hub, subject="Công văn chờ phân công", recipients=[STTTT], doc_type="CV"),
        "assigned": issue(hub, subject="Tham mưu triển khai chữ ký số", recipients=[STTTT]),
    }
    act(hub, ids["accepted"], STTTT, "vanthu.stttt", "accept")
    act(hub, ids["assigned"], STTTT, "vanthu.stttt", "accept")
    deadline = working_day(env, 5).isoformat()
    act(
        hub,
        ids["assigned"],
        STTTT,
        "lanhdao.stttt",
        "assign",
        assignees=["chuyenvien.stttt"],
        deadline=deadline,
    )
    notation = hub.tx(lambda site: {k: site["documents"][v].notation for k, v in ids.items()})
    return {"ids": ids, "notation": notation, "day": day, "deadline": deadline}


def run_digest(hub, **kw):
    return hub.tx(lambda site: digests.run(site, hub.env, **kw))


def by_login(report):
    return {p.login: p for p in report.people}


def notices_of(hub, login):
    """The overdue reminders of ``login`` (arrivals and the rest are notices of other kinds)."""
    return hub.tx(
        lambda site: [
            (n.message, n.link, dict(n.mapping))
            for n in site["users"][login].notices.values()
            if n.kind == "overdue"
        ]
    )


def digest_entries(hub):
    return hub.tx(lambda site: [e for e in site["audit"].iter_entries() if e["action"] == "digest.sent"])


def dmy(iso):
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


# -- the digest ----------------------------------------------------------------------------------
def test_each_person_gets_what_waits_for_them_and_nobody_else_gets_mail(hub, smtp, exchange):
    ids, notation, day = exchange["ids"], exchange["notation"], exchange["day"]
    report = run_digest(hub, today=day)
    people = by_login(report)

    # the clerk of the recipient: the new one to accept, the overdue one first
    clerk = people["vanthu.stttt"]
    assert [d.document.id for d in clerk.sections["arrived"]] == [ids["new"]]
    assert [d.document.id for d in clerk.sections["overdue"]] == [ids["late"]]
    assert (clerk.overdue, clerk.pending, clerk.status) == (1, 1, "sent")
    [mail] = smtp.to("vanthu.stttt")
    assert mail["Subject"].startswith("[LienThong] ") and dmy(day.isoformat()) in mail["Subject"]
    assert mail["From"] == "lienthong@hub.example.vn" and mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    for key in ("new", "late"):
        link = f"{PUBLIC}/documents/{ids[key]}/deliveries/{STTTT}"
        assert notation[key] in text and link in text and f'href="{link}"' in html
    assert "Kế hoạch chuyển đổi số năm 2026" in text  # UTF-8 survives the trip
    assert text.index(notation["late"]) < text.index(notation["new"])  # overdue comes first
    assert notation["accepted"] not in text and notation["assigned"] not in text  # not the clerk's work
    assert f"{PUBLIC}/directory/{STTTT}/mailbox" in text

    # the leader: the accepted one to assign, and the unit's overdue one
    leader = people["lanhdao.stttt"]
    assert [d.document.id for d in leader.sections["to_assign"]] == [ids["accepted"]]
    assert [d.document.id for d in leader.sections["overdue"]] == [ids["late"]]
    assert notation["accepted"] in smtp.to("lanhdao.stttt")[0].get_body(("plain",)).get_content()

    # the specialist: the assignment with its deadline, nothing of the clerk's
    specialist = people["chuyenvien.stttt"]
    assert list(specialist.sections) == ["assigned"]
    assert specialist.sections["assigned"][0].due == exchange["deadline"]
    text = smtp.to("chuyenvien.stttt")[0].get_body(("plain",)).get_content()
    assert notation["assigned"] in text and dmy(exchange["deadline"]) in text
    assert notation["new"] not in text and notation["late"] not in text

    # the other recipient's clerk, and a personal mailbox
    assert [d.document.id for d in people["vanthu.vungtau"].sections["arrived"]] == [ids["new"]]
    assert [d.document.id for d in people["chuyenvien.snv"].sections["personal"]] == [ids["new"]]
    assert (
        f"{PUBLIC}/documents/{ids['new']}/deliveries/~chuyenvien.snv"
        in smtp.to("chuyenvien.snv")[0].get_body(("plain",)).get_content()
    )

    # people with nothing to do get nothing: the sender, the leader of Vũng Tàu, the admins
    assert smtp.recipients() == {
        "vanthu.stttt",
        "lanhdao.stttt",
        "chuyenvien.stttt",
        "vanthu.vungtau",
        "chuyenvien.snv",
    }
    assert set(people) == smtp.recipients()
    assert report.sent == 5 and report.overdue == 2

    # one audit entry for the run, with its counts
    [entry] = digest_entries(hub)
    assert entry["actor"] == "system:digest"
    assert entry["details"]["day"] == day.isoformat()
    assert (entry["details"]["mails"], entry["details"]["people"], entry["details"]["notices"]) == (5, 5, 2)


def test_overdue_gives_one_in_app_notice_a_day(hub, smtp, exchange):
    ids, day = exchange["ids"], exchange["day"]
    first = run_digest(hub, today=day)
    assert first.notices == 2  # the clerk and the leader, for the one overdue delivery
    notices = notices_of(hub, "vanthu.stttt")
    assert len(notices) == 1
    message, link, mapping = notices[0]
    assert (
        link == f"/documents/{ids['late']}/deliveries/{STTTT}"
        and mapping["notation"] == exchange["notation"]["late"]
    )
    reminded = hub.tx(lambda site: dict(site["documents"][ids["late"]].delivery_for(STTTT).reminded_on))
    assert reminded == {"vanthu.stttt": day.isoformat(), "lanhdao.stttt": day.isoformat()}

    second = run_digest(hub, today=day)  # a second run the same day: mails again, no new notice
    assert second.notices == 0 and second.sent == 5
    assert len(notices_of(hub, "vanthu.stttt")) == 1 and len(notices_of(hub, "lanhdao.stttt")) == 1
    assert len(digest_entries(hub)) == 2

    next_day = hub.env.calendar.add_working_days(day, 1)
    assert run_digest(hub, today=next_day).notices == 2  # the next working day, reminded again
    assert len(notices_of(hub, "vanthu.stttt")) == 2

    # once handled, it is neither listed nor reminded
    act(hub, ids["late"], STTTT, "vanthu.stttt", "refuse", reason="Không thuộc thẩm quyền")
    later = by_login(run_digest(hub, today=hub.env.calendar.add_working_days(next_day, 1)))
    assert (
        "overdue" not in later["vanthu.stttt"].sections and "overdue" not in later["lanhdao.stttt"].sections
    )


def test_a_non_working_day_does_nothing_unless_forced(hub, smtp, exchange):
    saturday = next_saturday(hub.env)
    skipped = run_digest(hub, today=saturday)
    assert skipped.skipped and skipped.people == []
    assert smtp.envelopes == [] and digest_entries(hub) == [] and notices_of(hub, "vanthu.stttt") == []

    forced = run_digest(hub, today=saturday, force=True)
    assert not forced.skipped and forced.sent == 5
    [entry] = digest_entries(hub)
    assert entry["details"]["forced"] is True


def test_the_mail_server_down_is_one_clear_error_and_nothing_is_recorded(hub, smtp, exchange):
    smtp.stop()
    with pytest.raises(MailError) as failed:
        run_digest(hub, today=exchange["day"])
    message = str(failed.value)
    assert f"127.0.0.1:{smtp.port}" in message and "refused" in message.lower()
    assert "\n" not in message and failed.value.fatal
    assert notices_of(hub, "vanthu.stttt") == [] and notices_of(hub, "lanhdao.stttt") == []
    delivery_reminded = hub.tx(
        lambda site: getattr(
            site["documents"][exchange["ids"]["late"]].delivery_for(STTTT), "reminded_on", None
        )
    )
    assert not delivery_reminded
    assert digest_entries(hub) == []


def test_a_refused_recipient_does_not_stop_the_others(hub, smtp, exchange):
    smtp.refuse.add("vanthu.vungtau" + MAIL)
    report = run_digest(hub, today=exchange["day"])
    people = by_login(report)
    assert people["vanthu.vungtau"].status == "refused" and "550" in people["vanthu.vungtau"].error
    assert report.sent == 4 and "vanthu.vungtau" not in smtp.recipients()
    assert digest_entries(hub)[0]["details"]["refused"] == 1


def test_dry_run_sends_and_writes_nothing(hub, smtp, exchange):
    report = run_digest(hub, today=exchange["day"], dry_run=True)
    assert {p.login for p in report.people} == {
        "vanthu.stttt",
        "lanhdao.stttt",
        "chuyenvien.stttt",
        "vanthu.vungtau",
        "chuyenvien.snv",
    }
    assert {p.status for p in report.people} == {"dry run"}
    assert smtp.envelopes == [] and notices_of(hub, "vanthu.stttt") == [] and digest_entries(hub) == []


def test_people_already_mailed_are_not_mailed_again_on_a_retry(hub, smtp, exchange):
    """A conflict at commit makes the caller run the digest again: the mails already went."""
    sent = set()
    run_digest(hub, today=exchange["day"], already_sent=sent)
    assert len(smtp.envelopes) == 5 and len(sent) == 5
    again = run_digest(hub, today=exchange["day"], already_sent=sent)
    assert len(smtp.envelopes) == 5 and {p.status for p in again.people} == {"already sent"}


def test_completed_and_recalled_deliveries_are_not_listed(hub, smtp, exchange):
    ids = exchange["ids"]
    act(hub, ids["new"], STTTT, "vanthu.snv", "recall", reason="Gửi nhầm")
    people = by_login(run_digest(hub, today=exchange["day"]))
    clerk = people["vanthu.stttt"]
    assert [d.document.id for d in clerk.sections["recall"]] == [ids["new"]]
    assert "arrived" not in clerk.sections
    act(hub, ids["new"], STTTT, "vanthu.stttt", "agree_recall")
    act(hub, ids["assigned"], STTTT, "chuyenvien.stttt", "start")
    act(hub, ids["assigned"], STTTT, "chuyenvien.stttt", "complete")
    people = by_login(run_digest(hub, today=exchange["day"]))
    assert "recall" not in people["vanthu.stttt"].sections
    assert "chuyenvien.stttt" not in people
    assert (
        hub.tx(lambda site: site["documents"][ids["new"]].delivery_for(STTTT).state) == workflow.RECALL_AGREED
    )


# -- the mail module -----------------------------------------------------------------------------
def test_mail_settings_defaults_and_errors():
    assert MailConfig.from_settings({}) == MailConfig(
        "localhost", 25, "lienthong@localhost", "", "", "", 30.0
    )
    config = MailConfig.from_settings(
        {
            "lienthong.mail.port": "587",
            "lienthong.mail.tls": "true",
            "lienthong.mail.username": "hub",
            "lienthong.mail.password": "s3cret",
        }
    )
    assert (config.port, config.tls, config.username, config.where) == (
        587,
        "starttls",
        "hub",
        "localhost:587",
    )
    assert MailConfig.from_settings({"lienthong.mail.tls": "ssl"}).tls == "ssl"
    for bad in (
        {"lienthong.mail.port": "smtp"},
        {"lienthong.mail.port": "70000"},
        {"lienthong.mail.tls": "maybe"},
    ):
        with pytest.raises(ValueError, match="lienthong.mail"):
            MailConfig.from_settings(bad)


def test_mailer_sends_utf8_and_refuses_login_without_tls(smtp):
    config = MailConfig(host="127.0.0.1", port=smtp.port, sender="lienthong@hub.example.vn")
    message = build_message(
        config,
        "vanthu.stttt" + MAIL,
        "Văn bản cần xử lý",
        "Kính gửi đồng chí Mai,",
        "<p>Kính gửi</p>",
        to_name="Nguyễn Thị Mai",
    )
    with Mailer(config) as mailer:
        mailer.send(message)
    [received] = smtp.to("vanthu.stttt")
    assert received["Subject"] == "Văn bản cần xử lý" and "Nguyễn Thị Mai" in str(received["To"])
    assert received.get_body(("plain",)).get_content().strip() == "Kính gửi đồng chí Mai,"

    with pytest.raises(MailError, match=f"127.0.0.1:{smtp.port}: .*in clear"):
        with Mailer(MailConfig(host="127.0.0.1", port=smtp.port, username="hub", password="x")):
            pass
    with pytest.raises(MailError, match="cannot send mail through no-such-host.invalid:25: unknown host"):
        with Mailer(MailConfig(host="no-such-host.invalid", timeout=5)):
            pass


# -- the command ---------------------------------------------------------------------------------
def test_the_digest_command(tmp_path, smtp):
    ini = cli.write_ini(
        tmp_path / "site.ini",
        file_uri(tmp_path),
        port=free_port(),
        lienthong__mail__host="127.0.0.1",
        lienthong__mail__port=str(smtp.port),
    )
    init = cli.run(["init", "--demo"], ini, env=cli.clean_env(LIENTHONG_DEMO_PASSWORD="demo-password-1"))
    assert init.returncode == 0, init.stderr

    # the demo has an overdue report at STTTT and work for chuyenvien.stttt; pick a working day
    from lienthong.core.workcalendar import WorkCalendar

    calendar = WorkCalendar()
    day = calendar.add_working_days(calendar.today(), 1)
    saturday = calendar.today() + timedelta(days=(5 - calendar.today().weekday()) % 7 or 7)

    dry = cli.run(["digest", "--dry-run", "--today", day.isoformat()], ini)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    clerk = next(line for line in lines if line.startswith("vanthu.stttt\t"))
    assert "vanthu.stttt@demo.lienthong.vn" in clerk and "1 overdue" in clerk and clerk.endswith("dry run")
    assert lines[-1].startswith(f"dry run for {day.isoformat()}, nothing sent or written")
    assert smtp.envelopes == []

    weekend = cli.run(["digest", "--today", saturday.isoformat()], ini)
    assert weekend.returncode == 0 and "not a working day" in weekend.stdout and smtp.envelopes == []

    done = cli.run(["digest", "--today", day.isoformat()], ini)
    assert done.returncode == 0, done.stderr
    mailed = {line.split("\t")[0] for line in done.stdout.splitlines() if line.endswith("\tsent")}
    assert {"vanthu.stttt", "lanhdao.stttt", "chuyenvien.stttt"} <= mailed
    assert mailed == smtp.recipients()
    assert done.stdout.splitlines()[-1].startswith(
        f"digest of {day.isoformat()}: {len(mailed)} mails sent, 0 refused"
    )

    smtp.stop()
    down = cli.run(["digest", "--today", day.isoformat()], ini)
    cli.assert_clean_failure(down, f"cannot send mail through 127.0.0.1:{smtp.port}", "not recorded")
