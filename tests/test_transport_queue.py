"""The durable outbound queue (R6.5): its records, keys, concurrency, leases and dead letters,
and /manage/transport (system admins only; retry and discard audited)."""

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import transaction
from ZODB.POSException import ConflictError

from lienthong.core.db import get_database, run_in_site
from lienthong.core.services import documents as ds, outbound
from lienthong.core.worker import Worker

from .support.app import csrf_of, login
from .support.demo import demo_factory  # noqa: F401
from .support.exchange import SNV, STP, VUNGTAU, Hub, actor, basic

PLUGIN = {"lienthong.plugins.extra": "tests.support.transport_adapter"}


def make_hub(demo_factory):
    hub = Hub(demo_factory(**PLUGIN))

    def bind(site):
        for code in (STP, VUNGTAU):
            site["directory"][code].adapter = "test_push"
            site["directory"][code].adapter_settings["url"] = "http://127.0.0.1:9/nowhere"

    hub.tx(bind)
    return hub


def issue(hub, recipients=(STP,), subject="Công văn"):
    def run(site):
        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=list(recipients), subject=subject),
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.id

    return hub.tx(run)


def test_keys_order_by_time_and_never_repeat():
    keys = [outbound.new_key() for _ in range(2000)]
    assert keys == sorted(keys) and len(set(keys)) == 2000
    early = outbound.new_key(datetime(2020, 1, 1, tzinfo=UTC))
    assert early.startswith("20") and "Z-" in early


def test_a_queued_document_is_a_small_record_for_its_destination(demo_factory):
    hub = make_hub(demo_factory)
    name = issue(hub, recipients=[STP, VUNGTAU])

    def check(site):
        doc = site["documents"][name]
        rows = outbound.pending(site)
        assert sorted(m["recipient"] for _k, m in rows) == sorted([STP, VUNGTAU])
        for _key, m in rows:
            assert (m["kind"], m["document"], m["document_id"], m["sender"], m["adapter"], m["attempts"]) == (
                "document",
                name,
                doc.document_id,
                SNV,
                "test_push",
                0,
            )
            assert m["next_attempt"] == m["queued_at"] and m["last_error"] == ""
        assert {r["code"]: r["count"] for r in outbound.overview(site)} == {STP: 1, VUNGTAU: 1}

    hub.tx(check)


def test_a_refused_send_queues_nothing(demo_factory):
    hub = make_hub(demo_factory)

    def refused(site):
        doc = ds.compose(site, hub.env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=[STP]))
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        raise RuntimeError("the request failed after the send")

    with pytest.raises(RuntimeError):
        hub.tx(refused)
    assert hub.tx(outbound.pending) == []


def test_many_senders_enqueue_to_one_destination_at_once_and_nothing_is_lost(demo_factory):
    hub = make_hub(demo_factory)
    name = issue(hub)
    db = get_database(hub.app.registry)
    conflicts = []

    def sender(i):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for n in range(25):
                try:  # 10 attempts: what pyramid_retry does for a request
                    run_in_site(
                        db,
                        lambda site: outbound.enqueue(
                            site, "test_push", "status", name, STP, extra={"n": f"{i}-{n}"}
                        ),
                        attempts=10,
                        connection=conn,
                        on_conflict=lambda attempt: conflicts.append(1),
                    )
                except ConflictError:
                    conflicts.append(1)
        finally:
            tm.abort()
            conn.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = hub.tx(outbound.pending)
    assert sorted(m["extra"]["n"] for _k, m in rows if m["kind"] == "status") == sorted(
        f"{i}-{n}" for i in range(8) for n in range(25)
    )
    assert len(conflicts) < 200  # BTree conflict resolution merges most concurrent inserts


def test_only_one_of_two_workers_claims_a_destination_and_an_expired_lease_is_taken_over(demo_factory):
    hub = make_hub(demo_factory)
    for i in range(3):
        issue(hub, subject=f"Số {i}")
    db, registry = get_database(hub.app.registry), hub.app.registry
    workers = [Worker(db, registry, worker_id=f"w{i}") for i in range(2)]
    try:
        for _round in range(15):
            barrier = threading.Barrier(2)
            got = [None, None]

            def claim(i):
                barrier.wait()
                got[i] = workers[i].claim(STP)

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sum(1 for g in got if g) <= 1, got
            winner = next((workers[i] for i in range(2) if got[i]), None)
            if winner is not None:
                assert got[workers.index(winner)] == ("test_push", [k for k, _m in hub.tx(outbound.pending)])
                winner.record(STP, "test_push", [])  # releases the lease, records nothing
        # a lease held by a worker that died is taken over once it runs out
        assert workers[0].claim(STP)
        assert workers[1].claim(STP) is None
        later = datetime.now(UTC) + timedelta(seconds=61)
        workers[1].clock = lambda: later
        assert workers[1].claim(STP)
        assert hub.tx(lambda site: outbound.destination(site, STP).lease_owner) == "w1"
    finally:
        for w in workers:
            w.close()


def test_backoff_doubles_up_to_the_cap_with_jitter():
    assert outbound.backoff(1, 10, 3600, lambda: 0.5) == 10
    assert outbound.backoff(4, 10, 3600, lambda: 0.5) == 80
    assert outbound.backoff(30, 10, 3600, lambda: 0.5) == 3600
    assert (
        outbound.backoff(1, 10, 3600, lambda: 0.0) == 5 and outbound.backoff(1, 10, 3600, lambda: 1.0) == 15
    )


# -- /manage/transport ------------------------------------------------------------------------
def _dead_letter(hub):
    name = issue(hub)

    def bury(site):
        dest = outbound.destination(site, STP)
        key = dest.messages.minKey()
        dest.messages[key].attempts = 8
        outbound.bury(site, dest, key, "HTTP 422 from the product", datetime.now(UTC))
        return key

    return name, hub.tx(bury)


def test_the_transport_page_shows_queues_and_dead_letters_to_the_system_admin(demo_factory):
    hub = make_hub(demo_factory)
    _name, key = _dead_letter(hub)
    issue(hub, recipients=[VUNGTAU])
    login(hub.web, "admin")
    page = hub.web.get("/manage/transport")
    assert 'id="link-transport"' in page.text
    row = page.html.find(id=f"queue-{VUNGTAU}")
    assert row is not None and row.find(class_="count").text.strip() == "1"
    dead = page.html.find("tr", attrs={"data-key": key})
    assert dead is not None and "HTTP 422 from the product" in dead.text and STP in dead.text


def test_the_last_error_says_in_vietnamese_what_happened_and_the_adapters_words_apart(demo_factory):
    """Issue 16: "Lỗi gần nhất" is the kind of failure in Vietnamese, the adapter's English reason
    after it as a technical detail; one mapping for the queues, the dead letters and the alert."""
    from lienthong.core.views.manage_transport import FAILURE_TITLES

    assert set(FAILURE_TITLES) == set(outbound.FAILURES) | {""}
    hub = make_hub(demo_factory)
    reasons = {
        outbound.EXHAUSTED: "HTTP 503 from the product",
        outbound.REFUSED: "HTTP 422 from the product",
        outbound.UNBUILDABLE: "cannot build the message: the subject holds U+000B",
        outbound.NO_ADAPTER: "no adapter named 'gone' is installed (unit x)",
        "": "connection refused",  # a dead letter from before the kind was kept
    }
    keys = {}
    for failure, reason in reasons.items():
        issue(hub, subject=f"Công văn {failure}")

        def bury(site, failure=failure, reason=reason):
            dest = outbound.destination(site, STP)
            key = dest.messages.minKey()
            now = datetime.now(UTC)
            if failure in (outbound.REFUSED, outbound.UNBUILDABLE):
                outbound.set_aside(site, hub.env, dest, key, reason, now, failure)
            else:
                message = outbound.bury(site, dest, key, reason, now, failure or outbound.EXHAUSTED)
                message.failure = failure
            return key

        keys[failure] = hub.tx(bury)
    issue(hub, recipients=[VUNGTAU])

    def fail(site):
        dest = outbound.destination(site, VUNGTAU)
        outbound.failed(dest, dest.messages.minKey(), "HTTP 503 from the product", datetime.now(UTC), 60)

    hub.tx(fail)
    login(hub.web, "admin")
    page = hub.web.get("/manage/transport").html
    expected = {
        outbound.TRANSIENT: "Lỗi tạm thời: hệ thống sẽ tự động gửi lại",
        outbound.EXHAUSTED: "Đã gửi không thành công quá số lần cho phép: không tự động gửi lại nữa",
        outbound.REFUSED: "Hệ thống nơi nhận đã từ chối hẳn",
        outbound.UNBUILDABLE: "Không thể lập gói tin từ dữ liệu đang lưu",
        outbound.NO_ADAPTER: (
            "Không có đường chuyển tới nơi nhận: đơn vị không còn, chưa gắn bộ kết nối hoặc bộ kết "
            "nối chưa được cài đặt"
        ),
        "": "Chưa chuyển được",
    }
    head = page.find(id=f"queue-{VUNGTAU}").select_one(".error-text")
    assert head.select_one(".failure").text == expected[outbound.TRANSIENT]
    detail = head.select_one(".technical")
    assert "Chi tiết kỹ thuật" in detail.text and detail.code.text == "HTTP 503 from the product"
    for failure, key in keys.items():
        cell = page.find("tr", attrs={"data-key": key}).select_one(".error-text")
        assert cell.select_one(".failure").text == expected[failure], failure
        assert reasons[failure] not in cell.select_one(".failure").text
        assert cell.select_one(".technical code").text == reasons[failure]
    alert = page.find(id="transport-alert")  # what was set aside, in the same words
    assert [li.select_one(".failure").text for li in alert.select("li.set-aside")] == [
        expected[outbound.REFUSED],
        expected[outbound.UNBUILDABLE],
    ]


@pytest.mark.parametrize("who", [None, "vanthu.snv", "lanhdao.stttt"])
def test_only_the_system_admin_sees_or_changes_the_transport_queue(demo_factory, who):
    hub = make_hub(demo_factory)
    _name, key = _dead_letter(hub)
    if who:
        login(hub.web, who)
        hub.web.get("/manage/transport", status=403)
        token = csrf_of(hub.web.get("/profile"))
        hub.web.post("/manage/transport/discard", {"key": key, "csrf_token": token}, status=403)
    else:
        assert hub.web.get("/manage/transport", status=(302, 303, 401, 403)).status_int in (
            302,
            303,
            401,
            403,
        )
    assert [k for k in hub.tx(lambda site: list(outbound.dead_letters(site)))] == [key]


def test_retry_and_discard_from_the_page_are_audited_and_need_the_csrf_token(demo_factory):
    hub = make_hub(demo_factory)
    _n1, k1 = _dead_letter(hub)
    _n2, k2 = _dead_letter(hub)
    login(hub.web, "admin")
    hub.web.post("/manage/transport/retry", {"key": k1}, status=400)  # no CSRF token
    token = csrf_of(hub.web.get("/manage/transport"))
    res = hub.web.post("/manage/transport/retry", {"key": k1, "csrf_token": token}, status=303).follow()
    assert STP in res.html.find(class_="flash").text  # the message names the destination
    res = hub.web.post("/manage/transport/discard", {"key": k2, "csrf_token": token}, status=303).follow()
    assert STP in res.html.find(class_="flash").text
    res = hub.web.post("/manage/transport/discard", {"key": "nope", "csrf_token": token}, status=303).follow()
    assert "nope" in res.html.find(class_="flash").text  # refused: no such dead letter

    def check(site):
        assert list(outbound.dead_letters(site)) == []
        assert [k for k, _m in outbound.pending(site)] == [k1]
        message = outbound.destination(site, STP).messages[k1]
        assert message.attempts == 0 and message.dead_at is None
        log = site["audit"]
        entries = [e for e in log.iter_entries(start=max(1, len(log) - 10))]
        return [
            (e["action"], e["target"], e["actor"]) for e in entries if e["action"].startswith("transport.")
        ]

    assert hub.tx(check) == [
        ("transport.retry", f"/transport/dead/{k1}", "admin"),
        ("transport.discard", f"/transport/dead/{k2}", "admin"),
    ]
