"""The transport worker in the test process (R6.5): a real receiver over HTTP, the real queue.

Each test drives ``core.worker.Worker`` on the application's database with the test
adapter (``tests/support/transport_adapter.py``) POSTing to ``tests/support/receiver.py``.
"""

import threading
from datetime import UTC

import pytest

from lienthong.core.db import get_database
from lienthong.core.services import deliveries, documents as ds, outbound, workflow
from lienthong.core.transports import Adapter
from lienthong.core.worker import Worker

from .support.demo import demo_factory  # noqa: F401
from .support.exchange import SNV, STP, STTTT, VUNGTAU, Hub, actor, basic, pdf_file
from .support.receiver import Receiver, wait_until

PLUGIN = {"lienthong.plugins.extra": "tests.support.transport_adapter"}


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def make_hub(demo_factory, **settings):
    return Hub(demo_factory(**PLUGIN, **settings))


def bind(hub, receiver, *codes, adapter="test_push"):
    def run(site):
        for code in codes:
            unit = site["directory"][code]
            unit.adapter = adapter
            unit.adapter_settings["url"] = receiver.url()

    hub.tx(run)


def send(hub, sender=SNV, clerk="vanthu.snv", files=True, **data):
    def run(site):
        unit = site["directory"][sender]
        doc = ds.compose(
            site,
            hub.env,
            actor(clerk),
            unit,
            basic(**data),
            [("van-ban.pdf", pdf_file(data.get("subject", "x")), "")] if files else (),
        )
        ds.issue(site, hub.env, actor(clerk), doc)
        return doc.id, doc.document_id

    return hub.tx(run)


def worker(hub, worker_id="w1"):
    return Worker(get_database(hub.app.registry), hub.app.registry, worker_id=worker_id)


def drain(hub, worker_id="w1"):
    w = worker(hub, worker_id)
    try:
        return w.run(threading.Event(), once=True)
    finally:
        w.close()


def queued(hub):
    return hub.tx(outbound.pending)


def dead(hub):
    return hub.tx(lambda site: [(k, m.as_dict()) for k, m in outbound.dead_letters(site).items()])


def test_documents_for_adapter_units_are_delivered_over_http_and_arrive(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP, VUNGTAU)
    name, document_id = send(hub, recipients=[STP, VUNGTAU, STTTT])
    assert sorted(m["recipient"] for _k, m in queued(hub)) == sorted([STP, VUNGTAU])
    assert hub.tx(lambda site: site["documents"][name].delivery_for(STP).state) == ""

    assert drain(hub) == 2
    assert sorted((m["recipient"], m["document_id"]) for m in receiver.stored.values()) == sorted(
        [(STP, document_id), (VUNGTAU, document_id)]
    )
    assert receiver.duplicates == 0
    assert all(m["size"] > 500 for m in receiver.stored.values())  # a whole edXML package
    assert queued(hub) == [] and dead(hub) == []

    def check(site):
        doc = site["documents"][name]
        for code in (STP, VUNGTAU):
            delivery = doc.delivery_for(code)
            assert delivery.state == workflow.ARRIVED and delivery.arrived_at and delivery.due

    hub.tx(check)
    assert drain(hub) == 0  # nothing left: a second run sends nothing again
    assert receiver.requests == 2


def test_statuses_go_back_to_a_sender_served_by_an_adapter_each_as_it_was(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, SNV)
    name, document_id = send(hub, recipients=[STTTT, VUNGTAU])

    def accept(site):
        delivery = site["documents"][name].delivery_for(VUNGTAU)
        deliveries.act(site, hub.env, actor("vanthu.vungtau"), delivery, "accept")

    hub.tx(accept)

    def refuse(site):
        delivery = site["documents"][name].delivery_for(STTTT)
        deliveries.act(
            site, hub.env, actor("vanthu.stttt"), delivery, "refuse", reason="Không đúng thẩm quyền"
        )

    hub.tx(refuse)
    messages = queued(hub)
    assert [(m["kind"], m["recipient"], m["sender"], m["extra"]["status"]) for _k, m in messages] == [
        ("status", SNV, STTTT, "01"),
        ("status", SNV, VUNGTAU, "01"),
        ("status", SNV, VUNGTAU, "03"),
        ("status", SNV, STTTT, "02"),
    ]
    assert drain(hub) == 4
    got = [receiver.stored[k] for k in receiver.order[SNV]]
    # each status is delivered as it was queued, though the delivery moved on meanwhile
    assert [(m["kind"], m["status"]) for m in got] == [
        ("status", "01"),
        ("status", "01"),
        ("status", "03"),
        ("status", "02"),
    ]
    assert {m["document_id"] for m in got} == {document_id}


def test_the_status_message_is_edxml_with_the_queued_code(demo_factory, receiver):
    from lienthong.core import edxml

    hub = make_hub(demo_factory)
    bind(hub, receiver, SNV)
    name, document_id = send(hub, recipients=[VUNGTAU])

    def build(site):
        ((_key, message),) = outbound.pending(site)
        delivery = site["documents"][name].delivery_for(VUNGTAU)
        deliveries.act(site, hub.env, actor("vanthu.vungtau"), delivery, "accept")  # the delivery moves on
        return outbound.status_message(site, hub.env, delivery, message["extra"])

    parsed = edxml.parse_status(build_bytes := hub.tx(build))
    assert build_bytes.lstrip().startswith(b"<")
    assert parsed["status_code"] == "01"
    assert parsed["response_for"]["document_id"] == document_id
    assert parsed["from"]["organ_id"] == VUNGTAU


def test_a_recall_by_the_sender_goes_to_the_adapter_recipient(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    name, document_id = send(hub, recipients=[STP])
    drain(hub)

    def recall(site):
        delivery = site["documents"][name].delivery_for(STP)
        deliveries.act(site, hub.env, actor("vanthu.snv"), delivery, "recall", reason="Ban hành nhầm")

    hub.tx(recall)
    ((_key, message),) = queued(hub)
    assert (message["kind"], message["recipient"], message["sender"], message["extra"]["status"]) == (
        "status",
        STP,
        SNV,
        workflow.RECALL_ASKED,
    )
    assert drain(hub) == 1
    assert [(m["kind"], m["status"]) for m in (receiver.stored[k] for k in receiver.order[STP])] == [
        ("document", ""),
        ("status", workflow.RECALL_ASKED),
    ]


def test_a_receiver_down_for_a_while_gets_the_backlog_in_order_after_it_returns(demo_factory, receiver):
    hub = make_hub(
        demo_factory, **{"lienthong.transport.backoff_base": "0.3", "lienthong.transport.backoff_cap": "0.6"}
    )
    bind(hub, receiver, STP, VUNGTAU)
    receiver.down = True
    sent = [
        send(hub, files=False, recipients=[STP, VUNGTAU], subject=f"Công văn số {i}")[1] for i in range(6)
    ]
    drain(hub)
    messages = queued(hub)
    assert len(messages) == 12 and receiver.stored == {}
    heads = [m for _k, m in messages if m["attempts"]]
    assert len(heads) == 2 and all(
        "HTTP 503" in m["last_error"] for m in heads
    )  # one failed head per destination
    assert all(m["next_attempt"] > m["queued_at"] for m in heads)
    drain(hub)  # not due yet: the backoff holds the heads
    assert {m["attempts"] for _k, m in queued(hub) if m["attempts"]} == {1}

    receiver.down = False
    assert wait_until(lambda: (drain(hub), len(receiver.stored) == 12)[1], timeout=10)
    for code in (STP, VUNGTAU):
        assert [receiver.stored[k]["document_id"] for k in receiver.order[code]] == sent
    assert queued(hub) == [] and receiver.duplicates == 0


def test_a_message_that_always_fails_becomes_a_dead_letter_and_the_others_flow(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    ids = [send(hub, files=False, recipients=[STP], subject=f"Văn bản {i}")[1] for i in range(3)]
    receiver.reject.add(ids[0])  # the product refuses it for good (HTTP 422)
    drain(hub)
    ((key, letter),) = dead(hub)
    assert letter["document_id"] == ids[0] and "HTTP 422" in letter["last_error"] and letter["attempts"] == 1
    assert letter["failure"] == "refused"  # what /manage/transport explains in Vietnamese
    assert receiver.document_ids() == ids[1:]
    assert queued(hub) == []


def test_after_max_attempts_a_failing_message_is_a_dead_letter(demo_factory, receiver):
    hub = make_hub(
        demo_factory,
        **{
            "lienthong.transport.max_attempts": "3",
            "lienthong.transport.backoff_base": "0.05",
            "lienthong.transport.backoff_cap": "0.1",
        },
    )
    bind(hub, receiver, STP)
    receiver.down = True
    send(hub, files=False, recipients=[STP])
    assert wait_until(lambda: (drain(hub), len(dead(hub)) == 1)[1], timeout=10)
    ((_key, letter),) = dead(hub)
    assert letter["attempts"] == 3 and "HTTP 503" in letter["last_error"] and letter["dead_at"]
    assert letter["failure"] == "exhausted"
    assert receiver.requests == 3


def test_a_unit_whose_adapter_is_gone_gets_dead_letters_with_the_reason(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    send(hub, files=False, recipients=[STP])
    bind(hub, receiver, STP, adapter="no_such_adapter")
    drain(hub)
    ((_key, letter),) = dead(hub)
    assert "no adapter named 'no_such_adapter'" in letter["last_error"]
    assert letter["failure"] == "no_adapter"
    assert receiver.requests == 0


def test_retry_puts_a_dead_letter_back_and_discard_removes_it_both_audited(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    first = send(hub, files=False, recipients=[STP], subject="Một")[1]
    second = send(hub, files=False, recipients=[STP], subject="Hai")[1]
    receiver.reject.update({first, second})
    drain(hub)
    (k1, _m1), (k2, _m2) = dead(hub)
    receiver.reject.clear()
    admin = actor("admin")
    hub.tx(lambda site: outbound.retry(site, admin, k1))
    hub.tx(lambda site: outbound.discard(site, admin, k2))
    assert [k for k, _m in queued(hub)] == [k1] and dead(hub) == []
    assert drain(hub) == 1
    assert receiver.document_ids() == [first]

    def entries(site):
        log = site["audit"]
        return [(e["action"], e["target"]) for e in log.iter_entries(start=max(1, len(log) - 5))]

    assert ("transport.retry", f"/transport/dead/{k1}") in hub.tx(entries)
    assert ("transport.discard", f"/transport/dead/{k2}") in hub.tx(entries)
    with pytest.raises(Exception, match="No dead letter"):
        hub.tx(lambda site: outbound.retry(site, admin, k2))


def test_two_workers_in_threads_share_the_queue_without_a_duplicate(demo_factory, receiver):
    hub = make_hub(demo_factory)
    codes = [STP, VUNGTAU, STTTT, "000.00.14.H49"]
    bind(hub, receiver, *codes)

    def make(site):
        unit = site["directory"][SNV]
        ids = []
        for i in range(50):
            doc = ds.compose(
                site, hub.env, actor("vanthu.snv"), unit, basic(recipients=codes, subject=f"Số {i}")
            )
            ds.issue(site, hub.env, actor("vanthu.snv"), doc)
            ids.append(doc.document_id)
        return ids

    ids = hub.tx(make)
    assert len(queued(hub)) == 200
    stop = threading.Event()
    workers = [worker(hub, f"w{i}") for i in range(2)]
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    try:
        assert wait_until(lambda: len(receiver.stored) == 200, timeout=60)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        for w in workers:
            w.close()
    assert receiver.duplicates == 0 and receiver.concurrent == 0
    for code in codes:
        assert [receiver.stored[k]["document_id"] for k in receiver.order[code]] == ids
    assert wait_until(lambda: queued(hub) == [], timeout=5)


class PollingAdapter(Adapter):
    """An adapter whose product left two files: a good package from SNV and one that is not edXML."""

    name = "test_poll"
    batch_size = 1

    def __init__(self):
        self.waiting, self.done = [], []

    def deliver_batch(self, messages, env):
        return [None for _m in messages]

    def poll(self, unit_code, settings, env):
        from lienthong.core.transports import InboundMessage

        found = [
            InboundMessage(
                unit=unit_code,
                kind=kind,
                payload=payload,
                source=source,
                done=lambda result, source=source: self.done.append((source, result.ok, result.reason)),
            )
            for kind, payload, source in self.waiting
            if unit_code == SNV
        ]
        self.waiting = []
        return found


def test_polled_inbound_messages_reach_the_hub_and_a_refusal_blocks_nothing(demo_factory):
    from lienthong.core import edxml, hookspecs
    from lienthong.core.services import edxml_io

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    adapter = PollingAdapter()

    class Plugin:
        @hookspecs.hookimpl
        def lienthong_transports(self):
            return [adapter]

    hub = hub_with_plugins(demo_factory, Plugin())
    try:
        name, _document_id = send(hub, files=False, recipients=[VUNGTAU])

        def package(site):
            meta = edxml_io.document_meta(site["documents"][name])
            meta["document_id"] = "polled-0001"
            meta["to"] = [{"organ_id": STTTT, "organ_name": site["directory"][STTTT].name}]
            return edxml.build_document(meta, [])

        adapter.waiting = [
            ("document", b"not edXML at all", "in/bad.xml"),
            ("document", hub.tx(package), "in/good.xml"),
        ]
        hub.tx(lambda site: setattr(site["directory"][SNV], "adapter", "test_poll"))
        drain(hub)
        assert [(s, ok) for s, ok, _r in adapter.done] == [("in/bad.xml", False), ("in/good.xml", True)]
        assert adapter.done[0][2]  # the refusal says why

        def check(site):
            doc = site["documents"][site["documents"].name_for("polled-0001")]
            assert doc.sender_code == SNV and doc.delivery_for(STTTT).state == workflow.ARRIVED

        hub.tx(check)
    finally:
        close_app(hub.app)


def test_a_polls_packages_commit_together_and_one_refused_after_its_writes_is_rolled_back_alone(
    demo_factory,
):
    """One transaction per poll (a savepoint per package): the refused package's writes and its
    plugins' after-commit hooks go, the others' stay, and each ``done`` hears its own outcome."""
    from lienthong.core import edxml, hookspecs
    from lienthong.core.errors import ServiceError
    from lienthong.core.events import DeliveryArrived
    from lienthong.core.services import edxml_io

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    adapter = PollingAdapter()
    heard = []

    def refusals_on_record(site):
        return sum(
            1
            for entry in site["audit"].iter_entries()
            if entry.get("action") in ("transport.inbound_refused", "edxml.refuse")
        )

    def refuse_b(event):  # a rule that refuses only once the document and its delivery exist
        if event.delivery.document.document_id == "polled-B":
            raise ServiceError("refused after the writes")

    class Plugin:
        @hookspecs.hookimpl
        def lienthong_transports(self):
            return [adapter]

        @hookspecs.hookimpl
        def lienthong_configure(self, config):
            config.add_subscriber(refuse_b, DeliveryArrived)

        @hookspecs.hookimpl
        def lienthong_delivery_changed(self, delivery, old_state, new_state):
            heard.append(delivery.document.document_id)

    hub = hub_with_plugins(demo_factory, Plugin())
    try:
        name, _document_id = send(hub, files=False, recipients=[VUNGTAU])

        def package(document_id):
            def build(site):
                meta = edxml_io.document_meta(site["documents"][name])
                meta["document_id"] = document_id
                meta["to"] = [{"organ_id": STTTT, "organ_name": site["directory"][STTTT].name}]
                return edxml.build_document(meta, [])

            return hub.tx(build)

        adapter.waiting = [("document", package(f"polled-{x}"), f"in/{x}.xml") for x in "ABC"]
        hub.tx(lambda site: setattr(site["directory"][SNV], "adapter", "test_poll"))
        refusals_before = hub.tx(refusals_on_record)
        w = worker(hub)
        try:
            assert w.poll() == 3
        finally:
            w.close()
        assert [(s, ok) for s, ok, _r in adapter.done] == [
            ("in/A.xml", True),
            ("in/B.xml", False),
            ("in/C.xml", True),
        ]
        assert "refused after the writes" in adapter.done[1][2]

        def stored(site):
            names = {x: site["documents"].name_for(f"polled-{x}") for x in "ABC"}
            serials = {x: site["documents"][n]._p_serial for x, n in names.items() if n}
            return names, serials, refusals_on_record(site) - refusals_before

        names, serials, refusals = hub.tx(stored)
        assert names["B"] is None and names["A"] and names["C"]  # B's writes rolled back, alone
        assert serials["A"] == serials["C"]  # A and C in one transaction
        assert refusals == 1  # B's refusal on the record
        assert "polled-B" not in heard and {"polled-A", "polled-C"} <= set(heard)
    finally:
        close_app(hub.app)


def test_the_workers_chores_remove_spent_login_tokens_and_keep_the_rest(demo_factory):
    """People who never log in again would keep their expired API login tokens forever."""
    from datetime import datetime, timedelta, timezone

    from lienthong.core.resources.tokens import LOGIN
    from lienthong.core.services import tokens

    hub = make_hub(demo_factory)

    def make(site):
        system = actor("admin")
        spent, _secret = tokens.create(site, system, SNV, "API login", kind=LOGIN, login="vanthu.snv", ttl=60)
        live, _secret = tokens.create(
            site, system, STTTT, "API login", kind=LOGIN, login="vanthu.stttt", ttl=7200
        )
        product, _secret = tokens.create(site, system, SNV, "eOffice")
        return spent.token_id, live.token_id, product.token_id

    spent, live, product = hub.tx(make)
    w = worker(hub)
    w.clock = lambda: datetime.now(UTC) + timedelta(minutes=10)  # the first has expired by then
    try:
        assert [job.name for job in w.jobs][:1] == ["housekeeping"]  # a scheduled job of the core's
        assert w.write(lambda site: w.chores(site, w.env)) == 1
        assert w.write(lambda site: w.chores(site, w.env)) == 0
    finally:
        w.close()
    left = hub.tx(lambda site: {t for t in (spent, live, product) if t in site["tokens"]})
    assert left == {live, product}


def test_the_worker_sends_the_daily_digest_once_a_day_and_one_worker_only(demo_factory):
    """``lienthong.worker.digest_at``: the digest is a scheduled job of the worker (no cron needed);
    two workers never both send it, and it waits for its time."""
    from datetime import datetime, time as clock_time, timedelta, timezone

    from aiosmtpd.controller import Controller

    from .support.app import free_port
    from .test_digest import Inbox, mail_settings

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        hub = make_hub(
            demo_factory, **mail_settings(controller.port), **{"lienthong.worker.digest_at": "6:30"}
        )
        send(hub, recipients=[STTTT])  # something waits for STTTT's clerk
        env = hub.env
        day = env.today()
        while not env.calendar.is_working_day(day):
            day += timedelta(days=1)

        def at(hour, minute):
            local = datetime.combine(day, clock_time(hour, minute), tzinfo=env.timezone)
            return lambda: local.astimezone(UTC)

        first, second = worker(hub, "w1"), worker(hub, "w2")
        try:
            first.clock = second.clock = at(6, 29)
            assert first.scheduled_digest() is None and inbox.envelopes == []  # not yet
            first.clock = second.clock = at(6, 31)
            report = first.scheduled_digest()
            assert report is not None and report.sent >= 1
            mailed = len(inbox.envelopes)
            assert "vanthu.stttt" in inbox.recipients()
            assert second.scheduled_digest() is None and first.scheduled_digest() is None
            assert len(inbox.envelopes) == mailed  # nobody mailed twice
        finally:
            first.close()
            second.close()
    finally:
        controller.stop()


@pytest.mark.parametrize(
    "name, value",
    [
        ("lienthong.worker.digest_at", "25:00"),
        ("lienthong.transport.max_attempts", "many"),
        ("lienthong.transport.lease_seconds", "-5"),
    ],
)
def test_a_bad_worker_setting_stops_start_up_with_the_setting_named(tmp_path, name, value):
    from .support.app import base_settings, make_app

    with pytest.raises(ValueError, match=f"{name} = '{value}'"):
        make_app(base_settings(tmp_path, **{name: value}))


class CentreAdapter(Adapter):
    """A centre for the whole hub (as the national axis): it counts its polls and, while one
    runs, lets a second worker try to poll it too."""

    name = "test_centre"
    centre_poll_seconds = 0.01

    def __init__(self):
        self.polls = []
        self.during = None  # called inside the first poll

    def deliver_batch(self, messages, env):
        return [None for _m in messages]

    def poll_centre(self, env):
        self.polls.append(env is not None)
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return []


def test_two_workers_never_poll_one_centre_at_once_and_the_lease_is_released(demo_factory):
    from lienthong.core import hookspecs

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    adapter = CentreAdapter()

    class Plugin:
        @hookspecs.hookimpl
        def lienthong_transports(self):
            return [adapter]

    hub = hub_with_plugins(demo_factory, Plugin())
    first, second = worker(hub, "w1"), worker(hub, "w2")
    try:
        second_found = []
        adapter.during = lambda: second_found.append(second.poll_centres())
        assert first.poll_centres() == 0
        assert adapter.polls == [True] and second_found == [0]  # w2 saw w1's lease and did not poll
        second.next_centre_poll.clear()
        second.poll_centres()  # the lease was released: w2 polls now
        assert adapter.polls == [True, True]
        assert hub.tx(lambda site: dict(site["transport"].centre_leases or {})) == {}
    finally:
        first.close()
        second.close()
        close_app(hub.app)


def test_the_centres_destinations_wait_for_the_worker_that_holds_its_lease_and_it_drains_them(demo_factory):
    """A worker importing from a centre queues statuses for that centre's destinations; a
    second worker draining them at the same time would make the import conflict. So the second
    leaves them while the lease is held, and the holder drains them. The holder keeps the
    lease while it finds work (a warm cache goes on), and lets it go when it finds nothing
    or stops."""
    from lienthong.core import hookspecs
    from lienthong.core.transports import InboundMessage

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    adapter = CentreAdapter()
    delivered = []
    adapter.deliver_batch = lambda messages, env: [delivered.append(m.recipient) for m in messages]

    class Plugin:
        @hookspecs.hookimpl
        def lienthong_transports(self):
            return [adapter]

    hub = hub_with_plugins(demo_factory, Plugin())
    hub.tx(lambda site: setattr(site["directory"][STP], "adapter", "test_centre"))
    send(hub, files=False, recipients=[STP, VUNGTAU])
    first, second = worker(hub, "w1"), worker(hub, "w2")

    def holder(site):
        return dict(site["transport"].centre_leases or {}).get("test_centre", (None,))[0]

    try:
        seen_by_second = []
        adapter.during = lambda: seen_by_second.append(second.due())
        original = adapter.poll_centre
        junk = InboundMessage(unit=SNV, kind="document", payload=b"not edXML", source="axis:1")
        adapter.poll_centre = lambda env: original(env) or [junk]  # found something (refused)
        assert first.poll_centres() == 1
        assert STP not in seen_by_second[0]  # left to the holder while it held the lease
        assert delivered == [STP]  # the holder drained it before its next poll
        assert all(m["recipient"] != STP for _k, m in queued(hub))

        assert hub.tx(holder) == "w1"  # it found something: it keeps the lease for its next poll
        second.next_centre_poll.clear()
        assert second.poll_centres() == 0 and len(adapter.polls) == 1  # w2 leaves it to w1
        adapter.poll_centre = original  # nothing more waits
        first.next_centre_poll.clear()
        assert first.poll_centres() == 0 and hub.tx(holder) is None  # found nothing: let go
        first.next_centre_poll.clear()
        adapter.poll_centre = lambda env: original(env) or [junk]
        assert first.poll_centres() == 1 and hub.tx(holder) == "w1"
    finally:
        first.close()  # a worker that stops lets its leases go
        assert hub.tx(holder) is None
        second.close()
        close_app(hub.app)


def test_a_payload_that_cannot_be_built_is_a_dead_letter_at_once_and_the_queue_flows(demo_factory, receiver):
    """Issue 16, item 2: a document stored before the inputs refused text XML cannot carry."""
    from .support.app import login

    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    ids = [send(hub, files=False, recipients=[STP], subject=f"Văn bản {i}") for i in range(3)]

    def spoil(site):  # as an older release let it in
        document = site["documents"][ids[0][0]]
        document.meta = dict(document.meta, subject="Văn bản\u000b0")

    hub.tx(spoil)
    drain(hub)
    ((key, letter),) = dead(hub)
    assert letter["document_id"] == ids[0][1] and letter["attempts"] == 1 and letter["permanent"] is True
    assert "XML" in letter["last_error"] and letter["failure"] == "unbuildable"
    assert receiver.document_ids() == [i[1] for i in ids[1:]]  # the others went on, in order
    assert queued(hub) == []
    # the operator is alerted: on /manage/transport and as an incident
    login(hub.web, "admin")
    alert = hub.web.get("/manage/transport").html.find(id="transport-alert")
    assert alert is not None and STP in alert.text
    assert alert.find("a", href=lambda h: h and h.endswith(f"/documents/{ids[0][0]}")) is not None
    row = hub.web.get("/manage/transport").html.select_one("#dead-table .dead-letter").text
    assert "văn bản" in row and "document" not in row  # the kind as the operator reads it

    def incidents(site):
        return [(i.kind, i.subject) for i in site["incidents"].values()]

    assert ("undeliverable_message", f"/transport/dead/{key}") in hub.tx(incidents)
    # and the sender, on the document's timeline: not "on its way" forever
    hub.web.reset()
    login(hub.web, "vanthu.snv")
    timeline = hub.web.get(f"/documents/{ids[0][0]}").html.select_one(".recipient-timeline").text
    assert "không thể chuyển đến hệ thống nơi nhận như hiện tại" in timeline


def test_a_transient_failure_keeps_the_order_of_its_destination(demo_factory, receiver):
    hub = make_hub(demo_factory)
    bind(hub, receiver, STP)
    ids = [send(hub, files=False, recipients=[STP], subject=f"Văn bản {i}")[1] for i in range(2)]
    receiver.down = True
    drain(hub)
    assert dead(hub) == [] and [m["document_id"] for _k, m in queued(hub)] == ids
    assert [m["attempts"] for _k, m in queued(hub)] == [1, 0]  # the head waits, the rest behind it
    assert [m["failure"] for _k, m in queued(hub)] == ["transient", ""]
