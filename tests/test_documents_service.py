"""The document services on a real demo site: issue, number, deliver, the state machine, recall, links."""

import threading

import pytest
import transaction

from lienthong.core.errors import Conflict, Forbidden, ServiceError
from lienthong.core.resources.site import find_site
from lienthong.core.services import deliveries, documents as ds, outbound, workflow

from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import NOT_CONNECTED, SNV, STP, STTTT, VUNGTAU, actor, basic, hub, pdf_file  # noqa: F401


def issue_one(hub, who="vanthu.snv", unit=SNV, files=None, **extra):
    def run(site):
        doc = ds.compose(
            site,
            hub.env,
            actor(who),
            site["directory"][unit],
            basic(**extra),
            files if files is not None else [("quyet-dinh.pdf", pdf_file(), "Quyết định")],
        )
        ds.issue(site, hub.env, actor(who), doc)
        return doc.id

    return hub.tx(run)


def test_issue_numbers_in_the_outgoing_register_and_delivers_at_once(hub):
    first = issue_one(hub)
    second = issue_one(hub, doc_type="CV")

    def check(site):
        a, b = site["documents"][first], site["documents"][second]
        assert (a.meta["code_number"], a.notation) == ("1", "1/QĐ-SNV")
        assert b.notation == "2/SNV"  # an official letter has no abbreviation
        assert a.meta["from"]["organ_id"] == SNV and [t["organ_id"] for t in a.meta["to"]] == [STTTT, VUNGTAU]
        register = site["directory"][SNV]["registers"].get_register(a.register_year, "out", create=False)
        assert [r["document"] for r in register.rows()] == [first, second]
        for code in (STTTT, VUNGTAU):
            delivery = a.delivery_for(code)
            assert delivery.state == workflow.ARRIVED and delivery.due and delivery.arrived_at
            assert hub.env.calendar.is_working_day(__import__("datetime").date.fromisoformat(delivery.due))
        assert a.attachments["quyet-dinh.pdf"].mime_type == "application/pdf"
        actions = [e["action"] for e in site["audit"].iter_entries()]
        assert actions.count("document.issue") == 2

    hub.tx(check)


def test_a_secret_document_is_refused_and_nothing_is_stored(hub):
    before = hub.tx(lambda site: (len(site["documents"]), site._p_jar.db().objectCount()))
    with pytest.raises(ServiceError) as refused:
        issue_one(hub, classification="Tối mật")
    assert "secret" in refused.value.text() and refused.value.field == "validation"
    assert hub.tx(lambda site: len(site["documents"])) == before[0]
    assert (
        hub.tx(lambda site: site["directory"][SNV]["registers"].get_register(2026, "out", create=False))
        is None
    )


def test_a_plugins_validator_refuses_with_its_reason(demo_factory):
    from lienthong.core.hookspecs import hookimpl

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    class ForbiddenWord:
        @hookimpl
        def lienthong_validate_outgoing(self, document, sender):
            return ["the subject has a forbidden word"] if "cấm" in document.meta["subject"] else []

    h = hub_with_plugins(demo_factory, ForbiddenWord())
    try:
        with pytest.raises(ServiceError, match="forbidden word"):
            issue_one(h, subject="Việc cấm")
        assert issue_one(h)
    finally:
        close_app(h.app)


def test_approval_policy_requires_a_leaders_approval(hub):
    def set_policy(site):
        site["directory"][SNV].policies["approval"] = True

    hub.tx(set_policy)

    def draft(site):
        return ds.compose(site, hub.env, actor("chuyenvien.snv"), site["directory"][SNV], basic()).id

    doc_id = hub.tx(draft)
    with pytest.raises(Conflict, match="approve"):
        hub.tx(lambda site: ds.issue(site, hub.env, actor("vanthu.snv"), site["documents"][doc_id]))
    hub.tx(lambda site: ds.submit(site, hub.env, actor("chuyenvien.snv"), site["documents"][doc_id]))
    hub.tx(lambda site: ds.approve(site, hub.env, actor("lanhdao.snv"), site["documents"][doc_id], "Đồng ý"))
    hub.tx(lambda site: ds.issue(site, hub.env, actor("vanthu.snv"), site["documents"][doc_id]))

    def check(site):
        doc = site["documents"][doc_id]
        assert doc.is_issued() and [a["action"] for a in doc.approval] == ["submit", "approve"]
        assert doc.approval[1]["actor"] == "lanhdao.snv" and doc.issued_by == "vanthu.snv"

    hub.tx(check)


def test_an_issued_document_never_changes(hub):
    doc_id = issue_one(hub)
    with pytest.raises(Conflict, match="never changes"):
        hub.tx(
            lambda site: ds.update_draft(
                site, hub.env, actor("vanthu.snv"), site["documents"][doc_id], {"subject": "Khác"}
            )
        )
    with pytest.raises(Conflict):
        hub.tx(lambda site: ds.issue(site, hub.env, actor("vanthu.snv"), site["documents"][doc_id]))


def act(hub, doc_id, code, who, action, **kw):
    return hub.tx(
        lambda site: (
            deliveries.act(
                site, hub.env, actor(who), site["documents"][doc_id].delivery_for(code), action, **kw
            ).state
        )
    )


def test_the_whole_journey_with_register_assignment_and_completion(hub):
    doc_id = issue_one(hub, who="vanthu.snv", recipients=[STTTT])
    with pytest.raises(Conflict, match="cannot be moved"):
        act(hub, doc_id, STTTT, "lanhdao.stttt", "assign", assignees=["chuyenvien.stttt"])
    assert act(hub, doc_id, STTTT, "vanthu.stttt", "accept") == "03"
    with pytest.raises(ServiceError, match="not a specialist"):
        act(hub, doc_id, STTTT, "lanhdao.stttt", "assign", assignees=["chuyenvien.snv"])
    assert (
        act(
            hub,
            doc_id,
            STTTT,
            "lanhdao.stttt",
            "assign",
            assignees=["chuyenvien.stttt"],
            note="Tham mưu trả lời",
        )
        == "04"
    )
    with pytest.raises(Forbidden):
        act(hub, doc_id, STTTT, "vanthu.stttt", "start")  # not an assignee
    assert act(hub, doc_id, STTTT, "chuyenvien.stttt", "start") == "05"
    assert act(hub, doc_id, STTTT, "chuyenvien.stttt", "complete") == "06"
    with pytest.raises(Conflict):
        act(hub, doc_id, STTTT, "chuyenvien.stttt", "complete")

    def check(site):
        delivery = site["documents"][doc_id].delivery_for(STTTT)
        assert [h["state"] for h in delivery.history] == ["01", "03", "04", "05", "06"]
        assigned = delivery.history[2]
        assert assigned["actor"] == "lanhdao.stttt" and assigned["assignees"] == ["chuyenvien.stttt"]
        assert assigned["note"] == "Tham mưu trả lời" and assigned["time"]
        assert delivery.register_number == 1 and delivery.history[1]["register"].endswith("-in/1")

    hub.tx(check)


def test_refuse_needs_a_reason(hub):
    doc_id = issue_one(hub, recipients=[STTTT])
    with pytest.raises(ServiceError, match="reason"):
        act(hub, doc_id, STTTT, "vanthu.stttt", "refuse")
    assert act(hub, doc_id, STTTT, "vanthu.stttt", "refuse", reason="Không đúng thẩm quyền") == "02"


def test_recall_agreed_and_refused(hub):
    doc_id = issue_one(hub, recipients=[STTTT, VUNGTAU])
    act(hub, doc_id, VUNGTAU, "vanthu.vungtau", "accept")
    assert act(hub, doc_id, STTTT, "vanthu.snv", "recall", reason="Sai sót số liệu") == "13"
    assert act(hub, doc_id, VUNGTAU, "vanthu.snv", "recall", reason="Sai sót số liệu") == "13"
    assert act(hub, doc_id, STTTT, "vanthu.stttt", "agree_recall") == "15"
    assert act(hub, doc_id, VUNGTAU, "vanthu.vungtau", "refuse_recall", reason="Đã xử lý") == "03"
    with pytest.raises(Conflict):
        act(hub, doc_id, STTTT, "vanthu.stttt", "accept")

    def check(site):
        delivery = site["documents"][doc_id].delivery_for(VUNGTAU)
        assert [h["state"] for h in delivery.history] == ["01", "03", "13", "16"]

    hub.tx(check)


def test_update_and_replace_link_to_the_original(hub):
    original = issue_one(hub)
    with pytest.raises(ServiceError, match="why"):
        issue_one(hub, business_doc_type=2, business_document_id=original)
    update = issue_one(
        hub, business_doc_type=2, business_document_id=original, business_reason="Bổ sung phụ lục"
    )
    replace = issue_one(hub, business_doc_type=3, business_document_id=original, business_reason="Thay thế")

    def check(site):
        links = site["documents"][original].links
        assert [(link["document"], link["business_doc_type"]) for link in links] == [
            (update, 2),
            (replace, 3),
        ]
        assert site["documents"][update].meta["business_document_id"] == original

    hub.tx(check)
    with pytest.raises(ServiceError):  # another unit cannot update SNV's document
        issue_one(
            hub,
            who="vanthu.vungtau",
            unit=VUNGTAU,
            business_doc_type=2,
            business_document_id=original,
            business_reason="x",
            recipients=[STTTT],
        )


def test_groups_and_persons_and_the_sender_never_receives_its_own(hub):
    def run(site):
        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[SNV], groups=["all_districts"], persons=["chuyenvien.stttt"]),
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return sorted(doc.deliveries.keys())

    keys = hub.tx(run)
    assert SNV not in keys and "~chuyenvien.stttt" in keys
    assert sum(1 for k in keys if k.startswith("000.00.3")) == 8
    with pytest.raises(ServiceError, match="Unknown group"):
        hub.tx(
            lambda site: ds.compose(
                site, hub.env, actor("vanthu.snv"), site["directory"][SNV], basic(groups=["everyone"])
            )
        )


def test_a_unit_served_by_an_adapter_gets_a_queued_delivery(hub):
    def bind(site):
        site["directory"][STP].adapter = "edxml_push"

    hub.tx(bind)
    doc_id = issue_one(hub, recipients=[STP, STTTT])

    def check(site):
        doc = site["documents"][doc_id]
        assert doc.delivery_for(STP).state == "" and doc.delivery_for(STP).transport == "edxml_push"
        assert doc.delivery_for(STTTT).state == "01"
        assert [(m["adapter"], m["recipient"]) for _k, m in outbound.pending(site)] == [("edxml_push", STP)]

    hub.tx(check)


def test_registrations_never_repeat_nor_skip_under_concurrency(hub):
    """20 threads × 50 acceptances on one unit give exactly 1..1000 in its incoming register."""
    threads_n, each = 20, 50

    def make(site):
        ids = []
        unit = site["directory"][SNV]
        for _ in range(threads_n * each):
            doc = ds.compose(site, hub.env, actor("vanthu.snv"), unit, basic(recipients=[VUNGTAU]))
            ds.issue(site, hub.env, actor("vanthu.snv"), doc)
            ids.append(doc.id)
        return ids

    ids = hub.tx(make)
    from lienthong.core.db import get_database, run_in_site

    db = get_database(hub.app.registry)
    errors, retries = [], [0]

    def worker(chunk):
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for doc_id in chunk:

                def accept(site):
                    deliveries.act(
                        site,
                        hub.env,
                        actor("vanthu.vungtau"),
                        site["documents"][doc_id].delivery_for(VUNGTAU),
                        "accept",
                    )

                def retried(attempt):
                    retries[0] += 1

                run_in_site(db, accept, attempts=1000, connection=conn, on_conflict=retried)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            tm.abort()
            conn.close()

    threads = [
        threading.Thread(target=worker, args=(ids[i * each : (i + 1) * each],)) for i in range(threads_n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors

    def check(site):
        unit = site["directory"][VUNGTAU]
        year = site["documents"][ids[0]].delivery_for(VUNGTAU).register_year
        register = unit["registers"].get_register(year, "in", create=False)
        numbers = [row["number"] for row in register.rows()]
        assert numbers == list(range(1, threads_n * each + 1))
        assert sorted(site["documents"][i].delivery_for(VUNGTAU).register_number for i in ids) == numbers
        assert len({row["document"] for row in register.rows()}) == threads_n * each

    hub.tx(check)


def test_the_demo_documents_fill_inboxes_in_every_state(hub):
    from lienthong.core.services import demo, mailboxes

    assert hub.tx(lambda site: demo.populate_documents(site, hub.env)) == 4
    assert hub.tx(lambda site: demo.populate_documents(site, hub.env)) == 0  # once only

    def check(site):
        inbox = [mailboxes.box_key("in", STTTT)]
        total, rows = mailboxes.listing(site, hub.env, inbox)
        assert total == 3 and sorted(r.state for r in rows) == ["01", "01", "05"]
        assert mailboxes.overdue_count(site, hub.env, inbox) == 1
        assert mailboxes.listing(site, hub.env, [mailboxes.box_key("personal", "chuyenvien.stttt")])[0] == 1
        total, rows = mailboxes.search(
            site, hub.env, inbox + [mailboxes.box_key("out", STTTT)], "ke hoach chuyen doi"
        )
        assert total == 1 and rows[0].meta["doc_type"] == "KH"
        assert mailboxes.listing(site, hub.env, [mailboxes.box_key("in", "000.00.33.H49")])[0] == 1

    hub.tx(check)


def test_a_document_to_a_person_only_reaches_their_personal_mailbox(hub):
    doc_id = issue_one(hub, recipients=[], persons=["chuyenvien.vungtau"])

    def check(site):
        doc = site["documents"][doc_id]
        assert list(doc.deliveries.keys()) == ["~chuyenvien.vungtau"] and doc.recipients == ()
        assert [t["organ_id"] for t in doc.meta["to"]] == [VUNGTAU]  # edXML's To names the person's unit
        return doc.delivery_for("chuyenvien.vungtau").state

    assert hub.tx(check) == "01"
    assert act(hub, doc_id, "chuyenvien.vungtau", "chuyenvien.vungtau", "complete") == "06"


def test_plugins_hear_of_sends_and_state_changes_after_commit_only(demo_factory):
    from lienthong.core.hookspecs import hookimpl

    from .support.app import close_app
    from .support.exchange import hub_with_plugins

    heard = []

    class Listener:
        @hookimpl
        def lienthong_document_sent(self, document):
            heard.append(("sent", document.notation))

        @hookimpl
        def lienthong_delivery_changed(self, delivery, old_state, new_state):
            heard.append(("changed", delivery.key, old_state, new_state))

    h = hub_with_plugins(demo_factory, Listener())
    try:
        doc_id = issue_one(h, recipients=[STTTT])
        assert heard == [("changed", STTTT, "", "01"), ("sent", "1/QĐ-SNV")]
        heard.clear()
        with pytest.raises(Conflict):  # an action that fails: nothing heard
            act(h, doc_id, STTTT, "lanhdao.stttt", "start")
        with pytest.raises(ServiceError):  # a send refused after composing: nothing heard
            issue_one(h, classification="Mật")
        assert heard == []
        act(h, doc_id, STTTT, "vanthu.stttt", "accept")
        assert heard == [("changed", STTTT, "01", "03")]
    finally:
        close_app(h.app)


def test_the_catalog_is_rebuilt_from_the_documents(hub):
    from lienthong.core.services import demo, indexing, mailboxes

    hub.tx(lambda site: demo.populate_documents(site, hub.env))
    inbox = [mailboxes.box_key("in", STTTT)]
    assert hub.tx(lambda site: mailboxes.listing(site, hub.env, inbox))[0] == 3  # caught up

    def lose_and_rebuild(site):
        from lienthong.core import catalog

        delattr(site["catalog"], catalog.ATTRIBUTE)  # a lost catalog
        assert mailboxes.listing(site, hub.env, inbox)[0] == 0
        return indexing.reindex_all(site)

    assert hub.tx(lose_and_rebuild) == 4 + 1 + 1 + 8 + 1 + 2  # 4 documents, their 13 deliveries
    total, rows = hub.tx(lambda site: mailboxes.listing(site, hub.env, inbox))
    assert total == 3
    assert hub.tx(lambda site: mailboxes.search(site, hub.env, inbox, "bao cao quy III")[0]) == 1
