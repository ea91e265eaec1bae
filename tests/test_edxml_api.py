"""/edxml/v1, the edXML API for eOffice products (R3.3): through WebTest on a fresh demo site.

Two units' products (SNV sends, STTTT receives) exchange a package and its statuses; every
refusal is checked for its status, its problem details, that nothing was stored and that it
is on the audit record.
"""

import os
import uuid

from lienthong.core import edxml

from .support.demo import demo_factory, web  # noqa: F401  (fixtures)
from .support.exchange import NOT_CONNECTED, SNV, STTTT, VUNGTAU
from .test_api import as_user, assert_problem, count_of, last_of, stored
from .test_api_documents import unit_token
from .test_inbound import UNKNOWN, make_package, make_status, tamper

XML = "application/xml"
SETTLED = {"lienthong.edxml.feed_settle_seconds": "0"}


class Product:
    """A unit's eOffice product talking to /edxml/v1 with the unit's token."""

    def __init__(self, web, code):
        self.web, self.code = web, code
        self.token = unit_token(web, code).token

    def headers(self, **extra):
        return {"Authorization": f"Bearer {self.token}", **extra}

    def send(self, package, status=201, content_type=XML):
        return self.web.post(
            "/edxml/v1/packages", package, content_type=content_type, headers=self.headers(), status=status
        )

    def pending(self, status=200, **params):
        return self.web.get(
            "/edxml/v1/packages", params=params or None, headers=self.headers(), status=status
        )

    def fetch(self, document_id, status=200):
        return self.web.get(f"/edxml/v1/packages/{document_id}", headers=self.headers(), status=status)

    def ack(self, document_id, status=200):
        return self.web.post(f"/edxml/v1/packages/{document_id}/ack", headers=self.headers(), status=status)

    def report(self, message, status=200, **params):
        query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
        return self.web.post(
            f"/edxml/v1/statuses{query}", message, content_type=XML, headers=self.headers(), status=status
        )

    def statuses(self, status=200, **params):
        return self.web.get(
            "/edxml/v1/statuses", params=params or None, headers=self.headers(), status=status
        )


def documents_count(web):
    return stored(web, lambda site: len(site["documents"]))


def test_send_list_fetch_ack_and_statuses_between_two_products(demo_factory):
    web = demo_factory(**SETTLED)
    snv, stttt = Product(web, SNV), Product(web, STTTT)
    package, document_id = make_package(to=(STTTT, VUNGTAU))
    res = snv.send(package)
    sent = res.json
    assert (
        sent["created"] is True
        and sent["document_id"] == document_id
        and sent["recipients"] == [STTTT, VUNGTAU]
    )
    assert sent["url"] == f"http://localhost/api/v1/documents/{sent['id']}"
    assert last_of(web, "edxml.receive")["actor"] == f"system:{SNV}"
    # the same package again: stored once, and the answer says so
    again = snv.send(package, status=200).json
    assert again["created"] is False and again["identical"] is True and again["id"] == sent["id"]
    assert again["detail"].startswith(("Đã tiếp nhận trước đó", "Already received"))
    assert (
        web.post(
            "/edxml/v1/packages",
            package,
            content_type=XML,
            status=200,
            headers=snv.headers(**{"Accept-Language": "en"}),
        )
        .json["detail"]
        .startswith("Already received")
    )
    assert documents_count(web) == 1

    # the recipient's product lists, fetches and acknowledges it
    listed = stttt.pending().json
    assert listed["pending"] == 1 and listed["next"] is None
    [item] = listed["items"]
    assert (
        item["document_id"] == document_id
        and item["sender"]["code"] == SNV
        and item["notation"] == "15/QĐ-SNV"
    )
    assert item["subject"].startswith("Kế hoạch") and item["arrived_at"] and item["size"] > 0
    assert item["url"] == f"http://localhost/edxml/v1/packages/{document_id}"
    fetched = stttt.fetch(document_id)
    assert fetched.headers["Content-Type"].startswith(XML)
    parsed = edxml.parse_document(fetched.body)
    for f in parsed.pop("attachments"):
        assert f["name"] == "quyet-dinh.pdf"
        f["file"].close()
    assert parsed["document_id"] == document_id and parsed["from"]["organ_id"] == SNV
    export = last_of(web, "document.export")
    assert export["actor"] == f"system:{STTTT}" and export["target"] == f"/documents/{sent['id']}"
    acked = stttt.ack(document_id).json
    assert acked["acknowledged"] is True and acked["was_pending"] is True and acked["fetched_at"]
    assert stttt.ack(document_id).json["was_pending"] is False  # idempotent
    assert stttt.pending().json == {"items": [], "pending": 0, "next": None}
    assert count_of(web, "edxml.ack") == 1
    assert (
        stored(web, lambda site: site["documents"][sent["id"]].delivery_for(STTTT).fetched_at)
        == acked["fetched_at"]
    )
    # VUNGTAU's product has not fetched yet: still pending there
    assert Product(web, VUNGTAU).pending().json["pending"] == 1

    # statuses from the recipient's product, applied once
    accepted = make_status(document_id, SNV, STTTT, "03", "Đã vào sổ")
    res = stttt.report(accepted).json
    assert res == {
        "document_id": document_id,
        "status_code": "03",
        "applied": True,
        "deliveries": [{"recipient": STTTT, "state": "03"}],
    }
    assert stttt.report(accepted).json["applied"] is False

    # the sender's product reads the statuses of what it sent, with a cursor
    feed = snv.statuses().json
    assert [(i["recipient"], i["status_code"]) for i in feed["items"]] == [
        (STTTT, "01"),
        (VUNGTAU, "01"),
        (STTTT, "03"),
    ]
    status = edxml.parse_status(feed["items"][-1]["status"].encode())
    assert status["status_code"] == "03" and status["from"]["organ_id"] == STTTT
    assert status["response_for"]["document_id"] == document_id and status["description"] == "Đã vào sổ"
    assert snv.statuses(since=feed["next"]).json["items"] == []
    first = snv.statuses(limit=1).json
    assert len(first["items"]) == 1 and first["next"] == first["items"][0]["cursor"]
    assert [i["status_code"] for i in snv.statuses(since=first["next"]).json["items"]] == ["01", "03"]
    # the recipient's product sees nothing in the sender's feed
    assert stttt.statuses().json["items"] == []

    # the sender's product recalls from STTTT only; the recipient's product agrees
    recall = make_status(document_id, SNV, SNV, "13", "Gửi nhầm", timestamp="2026-03-04T08:00:00+07:00")
    assert snv.report(recall, recipient=STTTT).json["deliveries"] == [{"recipient": STTTT, "state": "13"}]
    assert stttt.report(make_status(document_id, SNV, STTTT, "15")).json["deliveries"][0]["state"] == "15"
    assert [i["status_code"] for i in snv.statuses(since=feed["next"]).json["items"]] == ["13", "15"]


def test_the_statuses_cursor_looks_back_over_the_settling_window(web):
    """With the default window, the next cursor stays before recent statuses: they come again, never lost."""
    snv, stttt = Product(web, SNV), Product(web, STTTT)
    package, document_id = make_package(to=(STTTT,))
    snv.send(package)
    feed = snv.statuses().json
    assert len(feed["items"]) == 1 and feed["next"] < feed["items"][0]["cursor"]
    assert snv.statuses(since=feed["next"]).json["items"] == feed["items"]
    assert stttt.report(make_status(document_id, SNV, STTTT, "03")).json["applied"] is True


def test_pending_list_order_and_paging(web):
    snv, stttt = Product(web, SNV), Product(web, STTTT)
    ids = []
    for number in range(1, 6):
        package, document_id = make_package(to=(STTTT,), number=str(number))
        snv.send(package)
        ids.append(document_id)
    page = stttt.pending(limit=2).json
    assert [i["document_id"] for i in page["items"]] == ids[:2] and page["pending"] == 5 and page["next"]
    page2 = stttt.pending(limit=2, after=page["next"]).json
    assert [i["document_id"] for i in page2["items"]] == ids[2:4]
    page3 = stttt.pending(limit=2, after=page2["next"]).json
    assert [i["document_id"] for i in page3["items"]] == ids[4:] and page3["next"] is None
    stttt.ack(ids[1])
    assert [i["document_id"] for i in stttt.pending().json["items"]] == [ids[0]] + ids[2:]
    assert_problem(stttt.pending(limit=0, status=400), 400, field="limit")
    assert_problem(stttt.pending(limit="many", status=400), 400, field="limit")


def test_bad_packages_are_refused_and_nothing_is_stored(demo_factory):
    web = demo_factory(**{"lienthong.edxml.max_bytes": "8000"})
    snv = Product(web, SNV)
    refusals = count_of(web, "edxml.refuse")
    body = assert_problem(snv.send(b"<edXMLEnvelope>", status=400), 400)
    assert "edXML" in body["detail"] or "XML" in body["detail"]
    package, document_id = make_package(to=(STTTT,))
    tampered = tamper(package)
    assert_problem(snv.send(tampered, status=400), 400, field="edXMLManifest/Reference/Digest")
    # From another unit
    other, _ = make_package(sender=VUNGTAU, to=(STTTT,))
    body = assert_problem(snv.send(other, status=403), 403, field="From/OrganId")
    assert VUNGTAU in body["detail"]
    # unknown and not-connected recipients
    assert_problem(
        snv.send(make_package(to=(STTTT, UNKNOWN))[0], status=400), 400, field="MessageHeader/To/OrganId"
    )
    assert_problem(
        snv.send(make_package(to=(NOT_CONNECTED,))[0], status=403), 403, field="MessageHeader/To/OrganId"
    )
    # too large (413 before reading), not XML (415)
    big, _ = make_package(to=(STTTT,), files=[("a.pdf", b"%PDF-1.4\n" + os.urandom(9000))])
    assert_problem(snv.send(big, status=413), 413, field="body")
    assert_problem(snv.send(b"{}", content_type="application/json", status=415), 415, field="Content-Type")
    assert documents_count(web) == 0
    assert count_of(web, "edxml.refuse") == refusals + 5  # 413/415 are refused before the service
    assert count_of(web, "access.denied") == 0  # each refusal recorded once, as edxml.refuse
    last = last_of(web, "edxml.refuse")
    assert last["actor"] == f"system:{SNV}" and last["details"]["via"].startswith("edxml-api")
    # the client's own X-Forwarded-For is not believed: the address is the connection's
    # (behind the proxy, waitress's trusted_proxy puts the real client there)
    forged = {**snv.headers(), "X-Forwarded-For": "203.0.113.66"}
    web.post("/edxml/v1/packages", b"<edXMLEnvelope>", content_type=XML, headers=forged, status=400)
    assert last_of(web, "edxml.refuse")["details"]["via"] == "edxml-api 127.0.0.1"
    # edxml+xml is accepted too
    assert snv.send(package, content_type="application/edxml+xml").json["created"] is True


def test_tokens_people_and_strangers(web):
    snv, stttt = Product(web, SNV), Product(web, STTTT)
    package, document_id = make_package(to=(STTTT,))
    snv.send(package)
    # no token, a bad token: 401
    assert_problem(web.get("/edxml/v1/packages", status=401), 401)
    bad = web.get("/edxml/v1/packages", headers={"Authorization": "Bearer nope"}, status=401)
    assert_problem(bad, 401)
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    # a person's token, even the clerk of the unit: 403, on the record
    clerk = as_user(web, "vanthu.stttt")
    for method, path in (
        ("get", "/edxml/v1/packages"),
        ("get", f"/edxml/v1/packages/{document_id}"),
        ("post", f"/edxml/v1/packages/{document_id}/ack"),
        ("get", "/edxml/v1/statuses"),
    ):
        res = getattr(web, method)(path, headers={"Authorization": f"Bearer {clerk.token}"}, status=403)
        assert_problem(res, 403)
        assert last_of(web, "access.denied")["actor"] == "vanthu.stttt"
    res = web.post(
        "/edxml/v1/packages",
        package,
        content_type=XML,
        headers={"Authorization": f"Bearer {as_user(web, 'vanthu.snv').token}"},
        status=403,
    )
    assert assert_problem(res, 403, field="Authorization")
    # a package not addressed to the unit: 404 for fetch and ack
    vungtau = Product(web, VUNGTAU)
    assert_problem(vungtau.fetch(document_id, status=404), 404, field="document_id")
    assert_problem(vungtau.ack(document_id, status=404), 404)
    assert_problem(stttt.fetch("no-such-document", status=404), 404)
    # statuses: for a document not addressed to the unit 404, from another unit 403, illegal 409
    assert_problem(
        vungtau.report(make_status(document_id, SNV, VUNGTAU, "03"), status=404),
        404,
        field="MessageHeader/ResponseFor/DocumentId",
    )
    assert_problem(
        vungtau.report(make_status(document_id, SNV, STTTT, "03"), status=403),
        403,
        field="MessageHeader/From/OrganId",
    )
    body = assert_problem(
        stttt.report(make_status(document_id, SNV, STTTT, "06"), status=409), 409, field="action"
    )
    assert body["detail"]
    assert_problem(stttt.report(b"<x/>", status=400), 400)
    assert_problem(stttt.report(package, status=400), 400)  # a document is not a status
    assert (
        stored(
            web,
            lambda site: site["documents"][site["documents"].name_for(document_id)].delivery_for(STTTT).state,
        )
        == "01"
    )
    # methods the routes do not take
    assert_problem(web.delete("/edxml/v1/packages", headers=stttt.headers(), status=405), 405)


def test_the_edxml_api_has_its_own_openapi_document(web):
    from openapi_spec_validator import validate

    doc = web.get("/edxml/v1/openapi.json").json
    validate(doc)
    assert set(doc["paths"]) == {
        "/edxml/v1/openapi.json",
        "/edxml/v1/packages",
        "/edxml/v1/packages/{document_id}",
        "/edxml/v1/packages/{document_id}/ack",
        "/edxml/v1/statuses",
    }
    send = doc["paths"]["/edxml/v1/packages"]["post"]
    assert set(send["requestBody"]["content"]) == {"application/xml", "application/edxml+xml", "text/xml"}
    assert {"200", "201", "400", "401", "403", "409", "413", "415"} <= set(send["responses"])
    # …and the JSON API's document is left as it was
    assert not [p for p in web.get("/api/v1/openapi.json").json["paths"] if p.startswith("/edxml")]


def test_an_unknown_document_id_in_a_status_is_404(web):
    stttt = Product(web, STTTT)
    res = stttt.report(make_status(uuid.uuid4().hex, SNV, STTTT, "03"), status=404)
    assert_problem(res, 404, field="MessageHeader/ResponseFor/DocumentId")


def test_a_package_that_cannot_be_built_is_set_aside_not_refused_forever(web):
    """Issue 16, item 2: a document stored before the inputs refused text XML cannot carry."""
    from .support.app import csrf_of, login

    snv, stttt = Product(web, SNV), Product(web, STTTT)
    ids = []
    for number in range(1, 4):
        package, document_id = make_package(to=(STTTT,), number=str(number))
        snv.send(package)
        ids.append(document_id)

    def spoil(site):  # as an older release let it in
        document = site["documents"][site["documents"].name_for(ids[0])]
        document.meta = dict(document.meta, subject="Kế hoạch\u000bnăm 2026")

    stored(web, spoil)
    gone = stttt.fetch(ids[0], status=410)
    body = assert_problem(gone, 410, field="document_id")
    assert ids[0] in body["detail"]
    # it left the pending list: the product goes on with the next ones
    assert [i["document_id"] for i in stttt.pending().json["items"]] == ids[1:]
    assert stttt.fetch(ids[1]).headers["Content-Type"].startswith(XML)
    assert_problem(stttt.fetch(ids[0], status=410), 410, field="document_id")  # asked again: the same

    def letters(site):
        from lienthong.core.services import outbound

        return [(m.document_id, m.recipient, m.permanent) for m in outbound.dead_letters(site).values()]

    assert stored(web, letters) == [(ids[0], STTTT, True)]  # set aside once
    login(web, "admin")
    page = web.get("/manage/transport")
    alert = page.html.find(id="transport-alert")
    assert alert is not None and STTTT in alert.text
    name = stored(web, lambda site: site["documents"].name_for(ids[0]))
    assert alert.find("a", href=lambda h: h and h.endswith(f"/documents/{name}")) is not None
    # the operator puts it back once the document is mended: listed again
    stored(
        web,
        lambda site: site["documents"][site["documents"].name_for(ids[0])].meta.update(
            subject="Kế hoạch năm 2026"
        ),
    )
    key = page.html.find("tr", attrs={"data-key": True})["data-key"]
    web.post("/manage/transport/retry", {"key": key, "csrf_token": csrf_of(page)}, status=303)
    assert ids[0] in [i["document_id"] for i in stttt.pending().json["items"]]
    assert stttt.fetch(ids[0]).status_int == 200
    assert web.get("/manage/transport").html.find(id="transport-alert") is None
