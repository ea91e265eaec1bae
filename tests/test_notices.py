"""Notices for every event (issue 17, R7.3, R8.1): who is told of an act, in the act's transaction.

The services run on a copy of the demo site; each test looks only at the notices made after
it started (the demo's own documents leave some behind).
"""

import pytest
import transaction

from lienthong.core.i18n import site_localizer
from lienthong.core.resources.users import MAX_NOTICES, Notice
from lienthong.core.services import deliveries, documents as ds, notices

from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, VUNGTAU, actor, basic, hub  # noqa: F401
from .test_digest import smtp  # noqa: F401  (fixture: a real SMTP server)

PEOPLE = (
    "vanthu.snv",
    "lanhdao.snv",
    "chuyenvien.snv",
    "vanthu.stttt",
    "lanhdao.stttt",
    "chuyenvien.stttt",
    "vanthu.vungtau",
)


def marks(hub):
    """The newest notice key of each person now, to tell later notices from earlier ones."""

    def run(site):
        return {
            p: (site["users"][p].notices.maxKey() if len(site["users"][p].notices) else 0) for p in PEOPLE
        }

    return hub.tx(run)


def since(hub, before):
    """``{login: [(kind, text in Vietnamese, link)]}`` of the notices made after ``before``."""
    localizer = site_localizer(hub.app.registry)

    def run(site):
        found = {}
        for login, mark in before.items():
            tree = site["users"][login].notices
            rows = [
                (n.kind, notices.text_of(localizer, n), n.link)
                for k, n in tree.items(min=mark, excludemin=True)
            ]
            if rows:
                found[login] = rows
        return found

    return hub.tx(run)


def issue(hub, who="vanthu.snv", **extra):
    def run(site):
        doc = ds.compose(site, hub.env, actor(who), site["directory"][SNV], basic(**extra))
        ds.issue(site, hub.env, actor(who), doc)
        return doc.id

    return hub.tx(run)


def act(hub, doc_id, code, who, action, **kw):
    hub.tx(
        lambda site: deliveries.act(
            site, hub.env, actor(who), site["documents"][doc_id].delivery_for(code), action, **kw
        )
    )


def test_an_arrival_tells_the_recipient_units_clerks_in_vietnamese_and_not_the_sender(hub):
    before = marks(hub)
    doc_id = issue(hub, recipients=[STTTT, VUNGTAU])
    told = since(hub, before)
    assert set(told) == {"vanthu.stttt", "vanthu.vungtau"}  # clerks only; not the issuer, not the leaders
    [(kind, text, link)] = told["vanthu.stttt"]
    assert kind == notices.ARRIVED
    assert link == f"/documents/{doc_id}/deliveries/{STTTT}"
    assert (
        text.startswith("Sở Nội vụ") and "đã gửi văn bản" in text and "Sở Thông tin và Truyền thông" in text
    )
    # rendered when shown, in the reader's language: the stored message is the English msgid
    stored = hub.tx(lambda site: site["users"]["vanthu.stttt"].notices.values()[-1].message)
    assert stored.startswith("${sender} sent document")
    assert hub.tx(lambda site: site["users"]["vanthu.stttt"].unread_notices()) >= 1


def test_a_refusal_tells_the_senders_clerks_and_the_drafter_not_the_one_who_refused(hub):
    doc_id = issue(hub, who="chuyenvien.snv", recipients=[STTTT])  # drafted and issued by the specialist
    before = marks(hub)
    act(hub, doc_id, STTTT, "vanthu.stttt", "refuse", reason="Sai thể thức")
    told = since(hub, before)
    assert set(told) == {"vanthu.snv", "chuyenvien.snv"}
    [(kind, text, link)] = told["vanthu.snv"]
    assert kind == notices.REFUSED and link == f"/documents/{doc_id}"
    assert "từ chối" in text and "Sai thể thức" in text


def test_recall_its_answer_and_completion_reach_the_other_end(hub):
    doc_id = issue(hub, recipients=[STTTT, VUNGTAU])
    before = marks(hub)
    act(hub, doc_id, STTTT, "vanthu.snv", "recall", reason="Gửi nhầm")
    told = since(hub, before)
    assert set(told) == {"vanthu.stttt"}  # the recipient who answers it; the sender's clerk recalled it
    assert told["vanthu.stttt"][0][0] == notices.RECALL and "Gửi nhầm" in told["vanthu.stttt"][0][1]

    before = marks(hub)
    act(hub, doc_id, STTTT, "vanthu.stttt", "agree_recall")
    assert {k for k, _t, _l in since(hub, before)["vanthu.snv"]} == {notices.RECALL}

    act(hub, doc_id, VUNGTAU, "vanthu.vungtau", "accept")
    act(hub, doc_id, VUNGTAU, "lanhdao.vungtau", "assign", assignees=["chuyenvien.vungtau"])
    act(hub, doc_id, VUNGTAU, "chuyenvien.vungtau", "start")
    before = marks(hub)
    act(hub, doc_id, VUNGTAU, "chuyenvien.vungtau", "complete")
    told = since(hub, before)
    assert set(told) == {"vanthu.snv"}
    assert told["vanthu.snv"][0][0] == notices.COMPLETED and "hoàn thành" in told["vanthu.snv"][0][1]


def test_an_assignment_and_its_changes_tell_the_assignees(hub):
    doc_id = issue(hub, recipients=[STTTT])
    act(hub, doc_id, STTTT, "vanthu.stttt", "accept")
    before = marks(hub)
    act(hub, doc_id, STTTT, "lanhdao.stttt", "assign", assignees=["chuyenvien.stttt"])
    told = since(hub, before)
    assert set(told) == {"chuyenvien.stttt"} and told["chuyenvien.stttt"][0][0] == notices.ASSIGNED
    assert told["chuyenvien.stttt"][0][2] == f"/documents/{doc_id}/deliveries/{STTTT}"

    before = marks(hub)
    act(hub, doc_id, STTTT, "lanhdao.stttt", "assign", assignees=["lanhdao.stttt"])  # the leader takes it
    told = since(hub, before)
    assert set(told) == {"chuyenvien.stttt"}  # told it is no longer theirs; the leader acted, so not told
    assert "không còn" in told["chuyenvien.stttt"][0][1]


def test_the_approval_path_tells_the_leaders_then_the_drafter(hub):
    hub.tx(lambda site: site["directory"][SNV].policies.__setitem__("approval", True))
    doc_id = hub.tx(
        lambda site: ds.compose(site, hub.env, actor("chuyenvien.snv"), site["directory"][SNV], basic()).id
    )
    before = marks(hub)
    hub.tx(lambda site: ds.submit(site, hub.env, actor("chuyenvien.snv"), site["documents"][doc_id]))
    told = since(hub, before)
    assert set(told) == {"lanhdao.snv"} and told["lanhdao.snv"][0][0] == notices.APPROVAL_REQUESTED
    assert (
        "Bùi Thanh Tâm" in told["lanhdao.snv"][0][1] and told["lanhdao.snv"][0][2] == f"/documents/{doc_id}"
    )

    before = marks(hub)
    hub.tx(
        lambda site: ds.send_back(
            site, hub.env, actor("lanhdao.snv"), site["documents"][doc_id], "Sửa trích yếu"
        )
    )
    told = since(hub, before)
    assert set(told) == {"chuyenvien.snv"} and "Sửa trích yếu" in told["chuyenvien.snv"][0][1]

    hub.tx(lambda site: ds.submit(site, hub.env, actor("chuyenvien.snv"), site["documents"][doc_id]))
    before = marks(hub)
    hub.tx(lambda site: ds.approve(site, hub.env, actor("lanhdao.snv"), site["documents"][doc_id]))
    told = since(hub, before)
    assert set(told) == {"chuyenvien.snv"} and told["chuyenvien.snv"][0][0] == notices.APPROVAL_RETURNED


def test_a_muted_kind_is_not_kept_and_an_aborted_act_leaves_no_notice(hub):
    def mute(site):
        notices.set_preferences(
            site,
            actor("vanthu.vungtau"),
            site["users"]["vanthu.vungtau"],
            set(notices.KINDS) - {notices.ARRIVED},
            False,
        )

    hub.tx(mute)
    before = marks(hub)
    issue(hub, recipients=[STTTT, VUNGTAU])
    assert set(since(hub, before)) == {"vanthu.stttt"}

    before = marks(hub)

    def aborted(site):
        doc = ds.compose(
            site, hub.env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=[STTTT])
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        raise RuntimeError("the request failed after the send")

    with pytest.raises(RuntimeError):
        hub.tx(aborted)
    assert since(hub, before) == {}


def test_a_persons_notices_are_bounded_and_the_unread_count_follows(hub):
    def fill(site):
        user = site["users"]["vanthu.vungtau"]
        user.notices.clear()
        user.unread_counter().set(0)
        first = None
        for n in range(MAX_NOTICES + 20):
            key = user.add_notice(Notice(f"2026-01-01T00:00:{n % 60:02d}.{n:06d}+00:00", "x ${n}", {"n": n}))
            first = first or key
        return first

    first = hub.tx(fill)

    def check(site):
        user = site["users"]["vanthu.vungtau"]
        assert len(user.notices) == MAX_NOTICES and first not in user.notices
        assert user.unread_notices() == MAX_NOTICES
        total, rows = notices.listing(user, unread_only=True, limit=10)
        assert total == MAX_NOTICES and len(rows) == 10
        assert notices.mark_read(user, str(rows[0][0])) and user.unread_notices() == MAX_NOTICES - 1
        assert notices.mark_all_read(user) == MAX_NOTICES - 1 and user.unread_notices() == 0
        assert not notices.mark_read(user, "nope")

    hub.tx(check)
    transaction.abort()


# -- preferences and e-mail --------------------------------------------------------------
@pytest.fixture
def mail_hub(demo_factory, smtp):  # noqa: F811
    from .support.exchange import Hub
    from .test_digest import mail_settings

    settings = dict(
        mail_settings(smtp.port), **{"lienthong.public_url": "http://localhost/"}
    )  # webtest's host
    return Hub(demo_factory(**settings))


def worker_of(hub):
    from lienthong.core.db import get_database
    from lienthong.core.worker import Worker

    return Worker(get_database(hub.app.registry), hub.app.registry, worker_id="test-notices")


def queue_sizes(hub):
    return hub.tx(lambda site: (len(site["mail"].pending), len(site["mail"].sent)))


def test_a_clerk_chooses_on_the_settings_page_and_gets_an_arrival_by_mail_after_commit(mail_hub, smtp):
    from lienthong.core import notice_mail

    from .support.app import csrf_of, login

    web = mail_hub.web
    login(web, "vanthu.stttt")
    form = web.get("/notices/settings")
    assert (
        "Gửi kèm mỗi thông báo qua thư điện tử" in form.text and "vanthu.stttt@demo.lienthong.vn" in form.text
    )
    wanted = [k for k in notices.KINDS if k != notices.COMPLETED]
    web.post("/notices/settings", {"csrf_token": csrf_of(form), "kind": wanted, "email": "1"}, status=303)
    prefs = mail_hub.tx(lambda site: notices.preferences(site["users"]["vanthu.stttt"]))
    assert prefs == {"muted": frozenset({notices.COMPLETED}), "email": True}
    web.post("/notices/settings", {"kind": wanted, "email": "1"}, status=400)  # no CSRF token: refused

    pending_before, _sent = queue_sizes(mail_hub)
    doc_id = issue(mail_hub, recipients=[STTTT, VUNGTAU])
    assert smtp.envelopes == []  # nothing is sent from inside the act's transaction
    assert queue_sizes(mail_hub)[0] == pending_before + 1  # the clerk of STTTT only asked for mail

    worker = worker_of(mail_hub)
    try:
        import threading

        worker.run(threading.Event(), once=True)  # the worker's loop sends what waits in /mail
        [message] = smtp.to("vanthu.stttt")
        assert "Sở Nội vụ đã gửi văn bản" in message["Subject"]
        body = message.get_content()
        assert f"http://localhost/documents/{doc_id}/deliveries/{STTTT}" in body
        assert "/notices/settings" in body
        assert queue_sizes(mail_hub)[0] == 0
        assert notice_mail.send_pending(worker) == (0, 0)
        assert len(smtp.to("vanthu.stttt")) == 1  # sent once, marked sent
    finally:
        worker.close()


def test_an_aborted_act_mails_nothing_and_a_server_away_keeps_the_mail(mail_hub, smtp):
    from lienthong.core import notice_mail

    def opt_in(site):
        user = site["users"]["vanthu.stttt"]
        notices.set_preferences(site, actor("vanthu.stttt"), user, notices.KINDS, True)
        site["mail"].pending.clear()

    mail_hub.tx(opt_in)

    def aborted(site):
        doc = ds.compose(
            site, mail_hub.env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=[STTTT])
        )
        ds.issue(site, mail_hub.env, actor("vanthu.snv"), doc)
        raise RuntimeError("the request failed after the send")

    with pytest.raises(RuntimeError):
        mail_hub.tx(aborted)
    worker = worker_of(mail_hub)
    try:
        assert queue_sizes(mail_hub)[0] == 0
        assert notice_mail.send_pending(worker) == (0, 0) and smtp.envelopes == []

        issue(mail_hub, recipients=[STTTT])
        smtp.stop()  # the mail server is away: the mail stays queued, tried again later
        assert notice_mail.send_pending(worker) == (0, 1)
        waiting = mail_hub.tx(
            lambda site: [(m.attempts, bool(m.next_attempt)) for m in site["mail"].pending.values()]
        )
        assert waiting == [(1, True)]
    finally:
        worker.close()


# -- the pages: the top bar's count, the list, marking ----------------------------------------
def unread_count(page):
    import re

    found = re.search(r'id="unread-count"[^>]*>(\d+)<', page.text)
    return int(found.group(1)) if found else 0


def test_the_top_bar_counts_unread_notices_and_the_list_marks_them_and_links_the_document(hub):
    from .support.app import csrf_of, login

    def clear(site):
        user = site["users"]["vanthu.stttt"]
        user.notices.clear()
        user.unread_counter().set(0)

    hub.tx(clear)
    web = hub.web
    login(web, "vanthu.stttt")
    home = web.get("/")
    assert "Đăng xuất" in home.text and 'id="notices-link"' in home.text and unread_count(home) == 0
    first = issue(hub, recipients=[STTTT])
    second = issue(hub, recipients=[STTTT], subject="Công văn về việc báo cáo chuyển đổi số")
    page = web.get("/notices")
    assert unread_count(page) == 2 and page.text.count('class="unread"') == 2
    assert f'href="http://localhost/documents/{second}/deliveries/{STTTT}"' in page.text  # newest first
    assert page.text.index(second) < page.text.index(first)
    keys = hub.tx(lambda site: list(site["users"]["vanthu.stttt"].notices.keys()))

    # one read: the count drops, the document opens from the link
    web.post("/notices", {"csrf_token": csrf_of(page), "key": str(keys[0])}, status=303)
    page = web.get("/notices")
    assert unread_count(page) == 1 and page.text.count('class="unread"') == 1
    assert web.get(f"/documents/{first}/deliveries/{STTTT}").follow().status_int == 200
    only_unread = web.get("/notices?unread=1")
    assert second in only_unread.text and first not in only_unread.text
    # unread again, then all read
    web.post("/notices", {"csrf_token": csrf_of(page), "key": str(keys[0]), "read": "0"}, status=303)
    assert unread_count(web.get("/")) == 2
    web.post("/notices", {"csrf_token": csrf_of(page)}, status=303)
    assert unread_count(web.get("/notices")) == 0
    # without the CSRF token nothing changes
    web.post("/notices", {"key": str(keys[0]), "read": "0"}, status=400)
    assert hub.tx(lambda site: site["users"]["vanthu.stttt"].unread_notices()) == 0


# -- the API ---------------------------------------------------------------------------------
def test_the_api_pages_my_notices_filters_unread_and_marks_one_with_problems_for_errors(hub):
    from lienthong.core.services import tokens
    from lienthong.core.services.audit import Actor

    from .test_api import assert_problem, bearer, token_for

    def clear(site):
        user = site["users"]["vanthu.stttt"]
        user.notices.clear()
        user.unread_counter().set(0)

    hub.tx(clear)
    web = hub.web
    token = token_for(web, "vanthu.stttt")
    first = issue(hub, recipients=[STTTT])
    issue(hub, recipients=[STTTT])
    issue(hub, recipients=[STTTT])

    page = web.get("/api/v1/me/notices?limit=2", headers=bearer(token)).json
    assert page["total"] == 3 and page["unread"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    newest = page["items"][0]
    assert newest["kind"] == "arrived" and newest["read"] is False and "đã gửi văn bản" in newest["text"]
    assert (
        newest["message"].startswith("${sender} sent document") and newest["mapping"]["sender"] == "Sở Nội vụ"
    )
    assert newest["url"] == "http://localhost" + newest["link"]
    rest = web.get("/api/v1/me/notices?limit=2&offset=2", headers=bearer(token)).json["items"]
    assert [n["link"] for n in rest] == [f"/documents/{first}/deliveries/{STTTT}"]
    english = web.get("/api/v1/me/notices?limit=1&lang=en", headers=bearer(token)).json["items"][0]
    assert english["text"].startswith("Sở Nội vụ sent document")

    done = web.post(f"/api/v1/me/notices/{newest['id']}/read", headers=bearer(token)).json
    assert done["read"] is True and done["id"] == newest["id"]
    unread = web.get("/api/v1/me/notices?unread=true", headers=bearer(token)).json
    assert unread["total"] == 2 and newest["id"] not in [n["id"] for n in unread["items"]]
    again = web.post_json(
        f"/api/v1/me/notices/{newest['id']}/read", {"read": False}, headers=bearer(token)
    ).json
    assert again["read"] is False
    assert web.post("/api/v1/me/notices/read", headers=bearer(token)).json == {"changed": 3, "unread": 0}

    # errors are problem+json
    assert_problem(
        web.post("/api/v1/me/notices/999/read", headers=bearer(token), status=404), 404, "notice_id"
    )
    assert_problem(web.post("/api/v1/me/notices/x/read", headers=bearer(token), status=404), 404, "notice_id")
    bad = web.post_json(
        f"/api/v1/me/notices/{newest['id']}/read", {"read": "yes"}, headers=bearer(token), status=400
    )
    assert_problem(bad, 400)
    assert_problem(web.get("/api/v1/me/notices?unread=maybe", headers=bearer(token), status=400), 400)
    assert_problem(web.get("/api/v1/me/notices", status=401), 401)
    product = hub.tx(lambda site: tokens.create(site, Actor.system("test"), STTTT, "eOffice")[1])
    assert_problem(web.get("/api/v1/me/notices", headers=bearer(product), status=403), 403)
    # and in the OpenAPI document
    paths = web.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/me/notices"] and "post" in paths["/api/v1/me/notices/{notice_id}/read"]


# -- the stored shape ------------------------------------------------------------------------
def test_two_transactions_telling_one_person_at_once_both_commit(hub):
    """The keys are time plus a random part and the unread count a ``Length``: concurrent
    notices to one person merge instead of conflicting."""
    from lienthong.core.db import get_database
    from lienthong.core.resources.site import find_site

    db = get_database(hub.app.registry)
    managers = [transaction.TransactionManager(), transaction.TransactionManager()]
    connections = [db.open(transaction_manager=tm) for tm in managers]
    try:
        before = hub.tx(
            lambda site: (
                len(site["users"]["vanthu.stttt"].notices),
                site["users"]["vanthu.stttt"].unread_notices(),
            )
        )
        users = [find_site(c.root())["users"]["vanthu.stttt"] for c in connections]
        for user in users:
            user.notices.items()  # both read the same state first
        for n, user in enumerate(users):
            notices.add(user, notices.ALERT, "x ${n}", {"n": n})
        for tm in managers:
            tm.commit()
    finally:
        for c in connections:
            c.close()
    after = hub.tx(
        lambda site: (
            len(site["users"]["vanthu.stttt"].notices),
            site["users"]["vanthu.stttt"].unread_notices(),
        )
    )
    assert after == (before[0] + 2, before[1] + 2)


def test_generation_11_gives_older_accounts_their_unread_count_and_the_mail_queue(hub):
    from BTrees.LOBTree import LOBTree

    from lienthong.core import evolve

    def older(site):
        user = site["users"]["vanthu.vungtau"]
        user.notices = LOBTree()
        for n, read in enumerate((False, True, False), 1):
            notice = Notice("2026-01-01T00:00:00.000000+00:00", "x", {}, "")
            notice.read = read
            user.notices[n] = notice  # keys 1, 2, 3 as older code made them
        del user.notices_unread
        site.remove("mail")
        site.generation = 10

    hub.tx(older)
    assert hub.tx(lambda site: site["users"]["vanthu.vungtau"].unread_notices()) == 2  # counted without it

    def migrate(site):
        evolve.step_11_notices_and_mail_queue(site)
        evolve.step_11_notices_and_mail_queue(site)  # idempotent
        site.generation = 11

    hub.tx(migrate)

    def check(site):
        user = site["users"]["vanthu.vungtau"]
        assert user.notices_unread() == 2 and "mail" in site
        key = user.add_notice(Notice("2026-12-01T00:00:00.000000+00:00", "y", {}, ""))
        assert key > 3 and list(user.notices.keys())[-1] == key  # newer keys sort after the old ones
        assert user.unread_notices() == 3

    hub.tx(check)
