"""The document API: send, read, download, act, recall, mailboxes, search, paper check, edXML.

Every test runs on a fresh copy of the demo site. Refusals are checked for their status,
their problem details (the field at fault), that nothing was stored and, for refused
access, that the refusal is on the audit record.
"""

import base64
import json
from datetime import timedelta

import pytest

from lienthong.core.services import audit, tokens

from .support.demo import demo_factory, web  # noqa: F401  (fixtures)
from .support.exchange import NOT_CONNECTED, PDF, SNV, STTTT, VUNGTAU, basic
from .test_api import Api, as_user, assert_problem, count_of, last_of, stored

EN = {"Accept-Language": "en"}


def pdf_bytes(text="noi dung"):
    return PDF + f"% {text}\n".encode()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def send_body(**extra):
    body = basic(**extra)
    body.setdefault(
        "attachments",
        [{"name": "quyet-dinh.pdf", "description": "Quyết định", "content_base64": b64(pdf_bytes())}],
    )
    return body


def unit_token(web, code, label="VNPT iOffice"):
    secret = stored(web, lambda site: tokens.create(site, audit.Actor.system("test"), code, label)[1])
    return Api(web, secret)


def documents_count(web):
    return stored(web, lambda site: len(site["documents"]))


def register_last(web, code, direction="out"):
    def last(site):
        register = site["directory"][code]["registers"].get_register(
            hub_today(web).year, direction, create=False
        )
        return register.last_number if register is not None else 0

    return stored(web, last)


def hub_today(web):
    """Today in the hub's time zone (Asia/Ho_Chi_Minh), which date filters use."""
    from lienthong.core.services.env import get_env

    return get_env(web.app.registry).today()


def send(api, status=201, headers=None, **extra):
    return api.post("/api/v1/documents", send_body(**extra), status=status, headers=headers)


def actions_url(doc, code):
    return f"/api/v1/documents/{doc['id']}/deliveries/{code}/actions"


def delivery_of(doc, key):
    return next(d for d in doc["deliveries"] if d["key"] == key)


# -- sending, reading, processing -----------------------------------------------------------
def test_a_clerk_sends_the_recipient_reads_downloads_and_processes(web):
    clerk = as_user(web, "vanthu.snv")
    res = send(clerk)
    doc = res.json
    assert res.location == f"http://localhost/api/v1/documents/{doc['id']}"
    assert doc["state"] == "issued" and doc["notation"] == "1/QĐ-SNV" and doc["role"] == "sender"
    assert doc["subject"].startswith("Quyết định về việc") and doc["sender"] == {
        "code": SNV,
        "name": "Sở Nội vụ",
    }
    assert doc["issued_by"] == "vanthu.snv" and doc["register_number"] == 1
    assert [(d["key"], d["state"]) for d in doc["deliveries"]] == [(STTTT, "01"), (VUNGTAU, "01")]
    assert doc["deliveries"][0]["history"][0]["state"] == "01" and doc["deliveries"][0]["actions"] == [
        "recall"
    ]
    [attachment] = doc["attachments"]
    assert attachment["name"] == "quyet-dinh.pdf" and attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(pdf_bytes()) and attachment["description"] == "Quyết định"
    assert last_of(web, "document.issue")["actor"] == "vanthu.snv"
    assert register_last(web, SNV) == 1

    # the recipient's inbox lists it, unread
    recipient = as_user(web, "vanthu.stttt")
    inbox = recipient.get(f"/api/v1/organizations/{STTTT}/inbox").json
    assert inbox["total"] == 1 and inbox["page"] == 1 and inbox["size"] == 20
    item = inbox["items"][0]
    assert item["box"] == "in" and item["document"]["id"] == doc["id"] and item["delivery"]["state"] == "01"
    assert item["delivery"]["read_at"] is None and item["delivery"]["due"]
    assert recipient.get(f"/api/v1/organizations/{STTTT}/inbox", unread="true").json["total"] == 1

    # reading it is audited and marks it read; a recipient sees its own delivery only
    views = count_of(web, "document.view")
    seen = recipient.get(f"/api/v1/documents/{doc['id']}").json
    assert seen["role"] == "recipient" and [d["key"] for d in seen["deliveries"]] == [STTTT]
    assert seen["deliveries"][0]["actions"] == ["accept", "refuse"]
    assert seen["persons"] == [] and seen["meta"]["subject"] == doc["subject"]
    assert count_of(web, "document.view") == views + 1
    entry = last_of(web, "document.view")
    assert (entry["actor"], entry["target"]) == ("vanthu.stttt", f"/documents/{doc['id']}")
    assert recipient.get(f"/api/v1/organizations/{STTTT}/inbox", unread="true").json["total"] == 0
    assert recipient.get(f"/api/v1/organizations/{STTTT}/inbox", unread="false").json["total"] == 1
    # the edXML DocumentId finds it too
    assert recipient.get(f"/api/v1/documents/{doc['document_id']}").json["id"] == doc["id"]

    # the attachment's bytes, as a download, on the record
    res = recipient.get(attachment["url"])
    assert res.body == pdf_bytes() and res.headers["Content-Type"] == "application/pdf"
    assert res.headers["Content-Disposition"].startswith('attachment; filename="quyet-dinh.pdf"')
    entry = last_of(web, "attachment.download")
    assert entry["actor"] == "vanthu.stttt" and entry["target"].endswith("/attachments/quyet-dinh.pdf")

    # accept (registered), assign, start, complete
    url = actions_url(doc, STTTT)
    accepted = recipient.post(url, {"action": "accept", "note": "đã nhận"}, status=200).json
    assert accepted["state"] == "03" and accepted["register_number"] == 1
    assert register_last(web, STTTT, "in") == 1
    deadline = (hub_today(web) + timedelta(days=14)).isoformat()
    leader = as_user(web, "lanhdao.stttt")
    assigned = leader.post(
        url, {"action": "assign", "assignees": ["chuyenvien.stttt"], "deadline": deadline}, status=200
    ).json
    assert (
        assigned["state"] == "04"
        and assigned["assignees"] == ["chuyenvien.stttt"]
        and assigned["due"] == deadline
    )
    specialist = as_user(web, "chuyenvien.stttt")
    assert specialist.post(url, {"action": "start"}, status=200).json["state"] == "05"
    done = specialist.post(url, {"action": "complete", "note": "xong"}, status=200).json
    assert done["state"] == "06" and done["completed_at"] and done["actions"] == []
    assert last_of(web, "delivery.complete")["actor"] == "chuyenvien.stttt"

    # an illegal move: 409 saying why; nothing changes
    res = recipient.post(url, {"action": "accept"}, status=409, headers=EN)
    body = assert_problem(res, 409, field="action")
    assert (
        body["detail"] == "A delivery that is completed cannot be moved by \u201cAccept and register\u201d."
    )
    assert register_last(web, STTTT, "in") == 1

    # the sender sees each recipient's state and timeline
    mine = clerk.get(f"/api/v1/documents/{doc['id']}").json
    stttt = delivery_of(mine, STTTT)
    assert stttt["state"] == "06" and [h["state"] for h in stttt["history"]] == ["01", "03", "04", "05", "06"]
    assert [h["actor"] for h in stttt["history"][1:]] == [
        "vanthu.stttt",
        "lanhdao.stttt",
        "chuyenvien.stttt",
        "chuyenvien.stttt",
    ]
    assert stttt["history"][1]["register"].endswith("-in/1") and stttt["read_by"] == "vanthu.stttt"
    assert delivery_of(mine, VUNGTAU)["state"] == "01" and delivery_of(mine, VUNGTAU)["read_at"] is None
    outbox = clerk.get(f"/api/v1/organizations/{SNV}/outbox").json
    assert outbox["total"] == 1 and outbox["items"][0]["box"] == "out"
    assert outbox["items"][0]["document"]["delivery_states"] == {"06": 1, "01": 1}


def test_a_units_token_issues_as_its_product_even_under_the_approval_policy(web):
    def approval(site):
        site["directory"][SNV].policies["approval"] = True

    stored(web, approval)
    clerk = as_user(web, "vanthu.snv")
    before = documents_count(web)
    res = send(clerk, status=409, headers=EN)
    assert_problem(res, 409, field="state")
    assert "approve" in res.json["detail"]
    assert documents_count(web) == before and register_last(web, SNV) == 0
    # a draft is fine
    draft = clerk.post("/api/v1/documents", send_body(draft=True)).json
    assert draft["state"] == "draft" and draft["deliveries"] == [] and draft["notation"] == ""
    assert register_last(web, SNV) == 0

    product = unit_token(web, SNV)
    doc = send(product).json
    assert doc["state"] == "issued" and doc["issued_by"] == f"system:{SNV}"
    assert register_last(web, SNV) == 1
    # it sends for its own unit only
    count = documents_count(web)
    denied = count_of(web, "access.denied")
    res = product.post(
        "/api/v1/documents", send_body(unit=STTTT, recipients=[VUNGTAU]), status=403, headers=EN
    )
    assert_problem(res, 403, field="unit")
    assert res.json["detail"] == f"This token belongs to unit {SNV}; it cannot act on unit {STTTT}."
    assert documents_count(web) == count and count_of(web, "access.denied") == denied + 1
    assert last_of(web, "access.denied")["actor"] == f"system:{SNV}"


def test_a_specialist_writes_drafts_but_does_not_issue(web):
    specialist = as_user(web, "chuyenvien.snv")
    before = documents_count(web)
    assert_problem(send(specialist, status=403), 403, field="draft")
    assert documents_count(web) == before
    assert specialist.post("/api/v1/documents", send_body(draft=True)).json["state"] == "draft"


def test_multipart_send_with_file_parts(web):
    clerk = as_user(web, "vanthu.snv")
    metadata = json.dumps(basic(recipients=[STTTT]), ensure_ascii=False)
    res = web.post(
        "/api/v1/documents",
        {"metadata": metadata},
        upload_files=[
            ("file", "to-trinh.pdf", pdf_bytes("mot")),
            ("file", "Phụ lục số 2.pdf", pdf_bytes("hai")),
        ],
        headers={"Authorization": f"Bearer {clerk.token}"},
        status=201,
    )
    assert sorted(a["name"] for a in res.json["attachments"]) == ["Phụ lục số 2.pdf", "to-trinh.pdf"]
    url = next(a["url"] for a in res.json["attachments"] if a["name"].startswith("Phụ"))
    got = as_user(web, "vanthu.stttt").get(url)
    assert got.body == pdf_bytes("hai")
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"Phu luc so 2.pdf\"; filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c%20s%E1%BB%91%202.pdf"
    )
    # a multipart body without metadata, or with metadata that is not JSON or carries what XML cannot
    bad_subject = json.dumps(basic(recipients=[STTTT], subject="Về\u000bviệc"))
    for fields, field in (
        ({"x": "1"}, "metadata"),
        ({"metadata": "{oops"}, "metadata"),
        ({"metadata": bad_subject}, "subject"),
    ):
        assert_problem(
            web.post(
                "/api/v1/documents",
                fields,
                upload_files=[("file", "a.pdf", pdf_bytes())],
                headers={"Authorization": f"Bearer {clerk.token}"},
                status=400,
            ),
            400,
            field=field,
        )


def test_personal_mailbox_and_personal_actions(web):
    clerk = as_user(web, "vanthu.snv")
    doc = send(clerk, recipients=[VUNGTAU], persons=["chuyenvien.stttt"]).json
    assert [d["key"] for d in doc["deliveries"]] == [VUNGTAU, "~chuyenvien.stttt"]
    person = as_user(web, "chuyenvien.stttt")
    box = person.get("/api/v1/me/mailbox").json
    assert box["total"] == 1 and box["items"][0]["box"] == "personal"
    assert box["items"][0]["delivery"]["recipient_login"] == "chuyenvien.stttt"
    url = actions_url(doc, "chuyenvien.stttt")
    assert_problem(person.post(url, {"action": "accept"}, status=400), 400, field="action")
    assert person.post(url, {"action": "complete"}, status=200).json["state"] == "06"
    # nobody else: not the person's unit clerk, not a unit's token
    assert_problem(as_user(web, "vanthu.stttt").get(f"/api/v1/documents/{doc['id']}", status=403), 403)
    assert_problem(unit_token(web, STTTT).get("/api/v1/me/mailbox", status=403), 403)


def test_a_delegate_acts_for_the_leader_and_the_timeline_says_so(web):
    doc = send(as_user(web, "vanthu.snv"), recipients=[STTTT]).json
    as_user(web, "vanthu.stttt").post(actions_url(doc, STTTT), {"action": "accept"}, status=200)
    today = hub_today(web)
    delegation = (
        as_user(web, "lanhdao.stttt")
        .post(
            "/api/v1/delegations",
            {
                "delegate": "chuyenvien.stttt",
                "start": today.isoformat(),
                "end": (today + timedelta(days=3)).isoformat(),
                "scope": "role",
                "unit_code": STTTT,
                "role": "leader",
            },
        )
        .json
    )
    delegate = as_user(web, "chuyenvien.stttt")
    acting = {"X-Acting-For": delegation["id"]}
    # without the header the specialist may not assign; under the delegation, they may
    assert_problem(
        delegate.post(
            actions_url(doc, STTTT), {"action": "assign", "assignees": ["chuyenvien.stttt"]}, status=403
        ),
        403,
        field="action",
    )
    seen = delegate.get(f"/api/v1/documents/{doc['id']}", headers=acting).json
    assert "assign" in seen["deliveries"][0]["actions"]
    assigned = delegate.post(
        actions_url(doc, STTTT),
        {"action": "assign", "assignees": ["chuyenvien.stttt"]},
        headers=acting,
        status=200,
    ).json
    last = assigned["history"][-1]
    assert (last["state"], last["actor"], last["on_behalf_of"]) == ("04", "chuyenvien.stttt", "lanhdao.stttt")
    entry = last_of(web, "delivery.assign")
    assert (entry["actor"], entry["on_behalf_of"]) == ("chuyenvien.stttt", "lanhdao.stttt")


# -- recall ---------------------------------------------------------------------------------
def test_recall_agreed_and_refused(web):
    clerk = as_user(web, "vanthu.snv")
    doc = send(clerk).json
    recipient = as_user(web, "vanthu.stttt")
    assert_problem(clerk.post(actions_url(doc, STTTT), {"action": "recall"}, status=400), 400, field="reason")
    asked = clerk.post(
        actions_url(doc, STTTT), {"action": "recall", "reason": "sai số liệu"}, status=200
    ).json
    assert asked["state"] == "13"
    # the recipient, not the sender, answers
    assert_problem(
        clerk.post(actions_url(doc, STTTT), {"action": "agree_recall"}, status=403), 403, field="action"
    )
    agreed = recipient.post(actions_url(doc, STTTT), {"action": "agree_recall"}, status=200).json
    assert agreed["state"] == "15" and agreed["history"][-1]["actor"] == "vanthu.stttt"

    vungtau = as_user(web, "vanthu.vungtau")
    vungtau.post(actions_url(doc, VUNGTAU), {"action": "accept"}, status=200)
    clerk.post(actions_url(doc, VUNGTAU), {"action": "recall", "reason": "sai số liệu"}, status=200)
    assert_problem(
        vungtau.post(actions_url(doc, VUNGTAU), {"action": "refuse_recall"}, status=400), 400, field="reason"
    )
    back = vungtau.post(
        actions_url(doc, VUNGTAU), {"action": "refuse_recall", "reason": "đã triển khai"}, status=200
    ).json
    assert back["state"] == "03"  # where it was before the recall
    seen = clerk.get(f"/api/v1/documents/{doc['id']}").json
    assert [h["state"] for h in delivery_of(seen, VUNGTAU)["history"]] == ["01", "03", "13", "16"]
    assert delivery_of(seen, VUNGTAU)["history"][-1]["reason"] == "đã triển khai"
    assert delivery_of(seen, STTTT)["state"] == "15"


def test_bad_action_bodies(web):
    doc = send(as_user(web, "vanthu.snv")).json
    recipient = as_user(web, "vanthu.stttt")
    url = actions_url(doc, STTTT)
    assert_problem(recipient.post(url, {"action": "explode"}, status=400), 400, field="action")
    assert_problem(recipient.post(url, {"action": "accept", "extra": 1}, status=400), 400, field="extra")
    assert_problem(recipient.post(url, {}, status=400), 400, field="action")
    assert_problem(
        recipient.post(
            f"/api/v1/documents/{doc['id']}/deliveries/{SNV}/actions", {"action": "accept"}, status=404
        ),
        404,
    )
    assert_problem(
        recipient.post("/api/v1/documents/nope/deliveries/x/actions", {"action": "accept"}, status=404), 404
    )
    # a leader may not accept (the clerk registers), a clerk may not assign
    assert_problem(
        as_user(web, "lanhdao.stttt").post(url, {"action": "accept"}, status=403), 403, field="action"
    )
    recipient.post(url, {"action": "accept"}, status=200)
    assert_problem(
        recipient.post(url, {"action": "assign", "assignees": ["chuyenvien.stttt"]}, status=403), 403
    )
    leader = as_user(web, "lanhdao.stttt")
    assert_problem(
        leader.post(url, {"action": "assign", "assignees": ["vanthu.snv"]}, status=400),
        400,
        field="assignees",
    )
    assert_problem(
        leader.post(
            url, {"action": "assign", "assignees": ["chuyenvien.stttt"], "deadline": "soon"}, status=400
        ),
        400,
        field="deadline",
    )


# -- refusals store nothing -----------------------------------------------------------------
def _bad(kind):
    good = send_body()
    if kind == "bad base64":
        good["attachments"][0]["content_base64"] = "JVBERi0x*&^"
    elif kind == "base64 with data after padding":
        padded = b64(pdf_bytes() + b"x")
        assert padded.endswith("=")
        good["attachments"][0]["content_base64"] = padded + "QQ=="
    elif kind == "unknown recipient":
        good["recipients"] = ["999.99.99.H49"]
    elif kind == "unknown doc type":
        good["doc_type"] = "XX"
    elif kind == "no subject":
        good["subject"] = ""
    elif kind == "a program named .pdf":
        good["attachments"][0]["content_base64"] = b64(b"MZ\x90\x00" + b"\x00" * 200)
    elif kind == "unknown field":
        good["colour"] = "red"
    elif kind == "unknown group":
        good["groups"] = ["all_planets"]
    elif kind == "a subject XML cannot carry":
        good["subject"] = "Về việc\u000btriển khai"  # a vertical tab, pasted from a word processor
    elif kind == "a NUL in the signer":
        good["signer_name"] = "Nguyễn\u0000Văn A"
    elif kind == "a lone surrogate in a place":
        good["to_places"] = ["Như trên", "Lưu \ud800"]
    elif kind == "an attachment name XML cannot carry":
        good["attachments"][0]["name"] = "quyet\u001fdinh.pdf"
    return good


@pytest.mark.parametrize(
    "kind, field",
    [
        ("bad base64", "attachments.content_base64"),
        ("base64 with data after padding", "attachments.content_base64"),
        ("unknown recipient", "recipients"),
        ("unknown doc type", "doc_type"),
        ("no subject", "subject"),
        ("a program named .pdf", "attachments"),
        ("unknown field", "colour"),
        ("unknown group", "groups"),
        ("a subject XML cannot carry", "subject"),
        ("a NUL in the signer", "signer_name"),
        ("a lone surrogate in a place", "to_places"),
        ("an attachment name XML cannot carry", "attachments.name"),
    ],
)
def test_bad_sends_are_400_and_store_nothing(web, kind, field):
    clerk = as_user(web, "vanthu.snv")
    before = documents_count(web)
    assert_problem(clerk.post("/api/v1/documents", _bad(kind), status=400), 400, field=field)
    assert documents_count(web) == before and register_last(web, SNV) == 0
    assert last_of(web, "document.draft") is None


def test_a_secret_document_is_refused_with_the_validators_reason(web):
    clerk = as_user(web, "vanthu.snv")
    res = send(clerk, status=400, headers=EN, classification="Mật")
    body = assert_problem(res, 400, field="validation")
    assert "secret" in body["detail"].lower()
    assert documents_count(web) == 0 and register_last(web, SNV) == 0
    assert_problem(send(clerk, status=400, classification="Bí mật"), 400, field="classification")


def test_oversize_bodies_and_files_are_413_before_anything_is_stored(demo_factory):
    web = demo_factory(
        **{"lienthong.attachments.max_file_bytes": "1000", "lienthong.attachments.max_document_bytes": "1500"}
    )
    clerk = as_user(web, "vanthu.snv")
    # one file over the per-file limit (decoded size)
    res = clerk.post(
        "/api/v1/documents",
        send_body(attachments=[{"name": "lon.pdf", "content_base64": b64(pdf_bytes("x" * 2000))}]),
        status=413,
    )
    assert_problem(res, 413, field="attachments")
    # two files within the per-file limit, over the per-document one
    res = clerk.post(
        "/api/v1/documents",
        send_body(
            attachments=[
                {"name": f"{n}.pdf", "content_base64": b64(pdf_bytes("y" * 700))} for n in ("a", "b")
            ]
        ),
        status=413,
    )
    assert_problem(res, 413, field="attachments")
    # a body larger than any acceptable one is refused unread
    huge = json.dumps(send_body(content="x" * (2 * 1024 * 1024)))
    res = web.post(
        "/api/v1/documents",
        huge,
        content_type="application/json",
        headers={"Authorization": f"Bearer {clerk.token}"},
        status=413,
    )
    assert_problem(res, 413, field="body")
    assert documents_count(web) == 0 and register_last(web, SNV) == 0


def test_a_body_in_another_format_is_415(web):
    clerk = as_user(web, "vanthu.snv")
    res = web.post(
        "/api/v1/documents",
        b"<x/>",
        content_type="text/plain",
        headers={"Authorization": f"Bearer {clerk.token}"},
        status=415,
    )
    assert_problem(res, 415, field="Content-Type")
    assert documents_count(web) == 0


# -- who may see what -----------------------------------------------------------------------
def test_other_units_people_and_tokens_are_refused_and_audited(web):
    doc = send(as_user(web, "vanthu.snv"), recipients=[STTTT]).json
    attachment = doc["attachments"][0]["url"].replace("http://localhost", "")
    calls = [
        lambda api: api.get(f"/api/v1/documents/{doc['id']}", status=403),
        lambda api: api.get(attachment, status=403),
        lambda api: api.get(f"/api/v1/documents/{doc['id']}/edxml", status=403),
        lambda api: api.post(actions_url(doc, STTTT), {"action": "accept"}, status=403),
        lambda api: api.get(f"/api/v1/organizations/{STTTT}/inbox", status=403),
        lambda api: api.get(f"/api/v1/organizations/{SNV}/outbox", status=403),
        lambda api: api.post(
            "/api/v1/paper-check",
            {"unit": STTTT, "notation": "1/QĐ-SNV", "promulgation_date": "2026-01-05"},
            status=403,
        ),
    ]
    callers = {
        "vanthu.vungtau": as_user(web, "vanthu.vungtau"),
        "admin": as_user(web, "admin"),
        "kiemtoan": as_user(web, "kiemtoan"),
        f"system:{VUNGTAU}": unit_token(web, VUNGTAU),
    }
    for login, api in callers.items():
        for call in calls:
            denied = count_of(web, "access.denied")
            assert_problem(call(api), 403)
            assert count_of(web, "access.denied") == denied + 1, login
            assert last_of(web, "access.denied")["actor"] == login
    assert last_of(web, "document.view") is None and last_of(web, "attachment.download") is None
    assert stored(web, lambda site: site["documents"][doc["id"]].delivery_for(STTTT).state) == "01"
    # without a token: 401
    assert_problem(web.get(f"/api/v1/documents/{doc['id']}", status=401), 401)
    assert_problem(web.post_json("/api/v1/documents", send_body(), status=401), 401)


def test_a_draft_is_seen_by_its_unit_only(web):
    draft = as_user(web, "chuyenvien.snv").post("/api/v1/documents", send_body(draft=True)).json
    assert as_user(web, "lanhdao.snv").get(f"/api/v1/documents/{draft['id']}").json["state"] == "draft"
    assert_problem(as_user(web, "vanthu.stttt").get(f"/api/v1/documents/{draft['id']}", status=403), 403)
    assert as_user(web, "vanthu.stttt").get(f"/api/v1/organizations/{STTTT}/inbox").json["total"] == 0


def test_unknown_documents_and_attachments_are_404(web):
    api = as_user(web, "vanthu.snv")
    doc = send(api).json
    assert_problem(api.get("/api/v1/documents/no-such-document", status=404), 404)
    assert_problem(api.get(f"/api/v1/documents/{doc['id']}/attachments/other.pdf", status=404), 404)
    assert_problem(api.get("/api/v1/organizations/999.99.99.H49/inbox", status=404), 404)
    assert_problem(
        web.put_json(
            f"/api/v1/documents/{doc['id']}", {}, headers={"Authorization": f"Bearer {api.token}"}, status=405
        ),
        405,
    )
    assert_problem(
        web.delete(
            f"/api/v1/documents/{doc['id']}", headers={"Authorization": f"Bearer {api.token}"}, status=405
        ),
        405,
    )


# -- lists and search -----------------------------------------------------------------------
def test_list_filters_sorting_paging_and_junk(web):
    clerk = as_user(web, "vanthu.snv")
    send(clerk, recipients=[STTTT])
    send(clerk, recipients=[STTTT], doc_type="CV", subject="Công văn về việc báo cáo")
    send(as_user(web, "vanthu.vungtau"), recipients=[STTTT], subject="Báo cáo tình hình")
    api = as_user(web, "vanthu.stttt")
    url = f"/api/v1/organizations/{STTTT}/inbox"
    assert api.get(url).json["total"] == 3
    assert api.get(url, sender=SNV).json["total"] == 2
    assert [i["document"]["doc_type"] for i in api.get(url, doc_type="CV").json["items"]] == ["CV"]
    assert api.get(url, state="01").json["total"] == 3 and api.get(url, state="03").json["total"] == 0
    page = api.get(url, size="2", page="2").json
    assert page["total"] == 3 and len(page["items"]) == 1 and page["page"] == 2
    newest = api.get(url).json["items"]
    assert newest[0]["document"]["sender"]["code"] == VUNGTAU  # newest first
    today = hub_today(web).isoformat()
    assert api.get(url, date_from=today, date_to=today).json["total"] == 3
    assert api.get(url, date_to="2000-01-01").json["total"] == 0
    assert api.get(url, overdue="true").json["total"] == 0
    assert api.get(url, sort="due").json["total"] == 3
    for name, value in (
        ("sort", "x"),
        ("page", "0"),
        ("page", "x"),
        ("size", "999"),
        ("date_from", "soon"),
        ("state", "zz"),
        ("overdue", "maybe"),
        ("unread", "2"),
        ("doc_type", "??"),
    ):
        assert_problem(api.get(url, status=400, **{name: value}), 400, field=name)
    assert_problem(api.get("/api/v1/search", status=400, q="x" * 300), 400, field="q")


def test_search_ignores_accents_and_stays_within_the_callers_boxes(web):
    send(as_user(web, "vanthu.snv"), recipients=[STTTT])  # Quyết định … to STTTT
    send(as_user(web, "vanthu.vungtau"), recipients=[SNV], subject="Quyết định khen thưởng")  # not STTTT's
    send(
        as_user(web, "vanthu.stttt"),
        recipients=[VUNGTAU],
        doc_type="TB",
        subject="Thông báo lịch họp",
        content="Lịch họp tháng 12",
    )
    api = as_user(web, "vanthu.stttt")
    found = api.get("/api/v1/search", q="quyet dinh").json
    assert found["total"] == 1
    assert found["items"][0]["document"]["subject"].startswith("Quyết định về việc ban hành")
    assert found["items"][0]["box"] == "in"
    assert api.get("/api/v1/search", q="QUYẾT ĐỊNH chuyen doi").json["total"] == 1
    assert api.get("/api/v1/search", q="thong bao").json["items"][0]["box"] == "out"
    assert api.get("/api/v1/search", q="thong bao", box="in").json["total"] == 0
    assert api.get("/api/v1/search", q="khen thuong").json["total"] == 0
    assert api.get("/api/v1/search", q="").json["total"] == 0
    # the unit's token searches its unit's boxes; the system admin reads no mail
    assert unit_token(web, STTTT).get("/api/v1/search", q="quyet dinh").json["total"] == 1
    assert as_user(web, "admin").get("/api/v1/search", q="quyet dinh").json["total"] == 0
    snv = as_user(web, "vanthu.snv").get("/api/v1/search", q="quyet dinh").json
    assert snv["total"] == 2 and {i["box"] for i in snv["items"]} == {"in", "out"}


# -- paper check ----------------------------------------------------------------------------
def test_paper_check_outcomes(web):
    doc = send(as_user(web, "vanthu.snv"), recipients=[STTTT]).json
    clerk = as_user(web, "vanthu.stttt")
    body = {"sender_code": SNV, "notation": "Số: 1/QĐ-SNV", "promulgation_date": doc["promulgation_date"]}
    found = clerk.post("/api/v1/paper-check", body, status=200).json
    assert found["outcome"] == "registered_electronic" and found["document"]["id"] == doc["id"]
    assert found["delivery"]["state"] == "03" and found["register_number"] == 1
    again = clerk.post("/api/v1/paper-check", body, status=200).json
    assert again["outcome"] == "already_registered" and register_last(web, STTTT, "in") == 1

    # (b) a sender that is not connected: the paper is registered, with its scan
    scan = {"name": "ban-giay.pdf", "content_base64": b64(pdf_bytes("scan"))}
    paper = clerk.post(
        "/api/v1/paper-check",
        {
            "sender_code": NOT_CONNECTED,
            "notation": "7/TB-SDL",
            "promulgation_date": "2026-01-05",
            "subject": "Thông báo",
            "scan": scan,
        },
        status=200,
    ).json
    assert paper["outcome"] == "registered_paper" and paper["register_number"] == 2
    assert paper["scan"]["name"] == "ban-giay.pdf" and paper["scan"]["size"] == len(pdf_bytes("scan"))
    assert last_of(web, "paper.register")["actor"] == "vanthu.stttt"

    # (c) a connected sender with no such data message: refused, the sender told, an incident opened
    refused = clerk.post(
        "/api/v1/paper-check",
        {"sender_code": SNV, "notation": "99/QĐ-SNV", "promulgation_date": "2026-01-05"},
        status=200,
    ).json
    assert refused["outcome"] == "refused_connected" and refused["incident"]
    assert refused["notified"] == ["vanthu.snv"] and refused["sender"]["code"] == SNV
    assert stored(web, lambda site: refused["incident"] in site["incidents"])

    # bad input names the field; another unit's register is out of reach
    assert_problem(
        clerk.post("/api/v1/paper-check", {"notation": "1", "promulgation_date": "05/01/2026"}, status=400),
        400,
        field="promulgation_date",
    )
    assert_problem(
        clerk.post(
            "/api/v1/paper-check",
            {"sender_code": "999.99.99.H49", "notation": "1", "promulgation_date": "2026-01-05"},
            status=400,
        ),
        400,
        field="sender",
    )
    assert_problem(
        clerk.post(
            "/api/v1/paper-check", {**body, "scan": {"name": "x.pdf", "content_base64": "@@"}}, status=400
        ),
        400,
        field="scan.content_base64",
    )
    assert_problem(
        as_user(web, "vanthu.snv").post("/api/v1/paper-check", {**body, "unit": STTTT}, status=403),
        403,
        field="unit",
    )
    assert_problem(as_user(web, "lanhdao.stttt").post("/api/v1/paper-check", body, status=403), 403)


# -- edXML ----------------------------------------------------------------------------------
def _edxml_io():
    return pytest.importorskip("lienthong.core.services.edxml_io")


def test_edxml_export_is_audited_and_import_sends(web):
    _edxml_io()
    clerk = as_user(web, "vanthu.snv")
    doc = send(clerk, recipients=[STTTT]).json
    recipient = as_user(web, "vanthu.stttt")
    res = recipient.get(f"/api/v1/documents/{doc['id']}/edxml")
    assert res.headers["Content-Type"].startswith("application/xml") and b"edXMLEnvelope" in res.body
    entry = last_of(web, "document.export")
    assert (entry["actor"], entry["target"]) == ("vanthu.stttt", f"/documents/{doc['id']}")
    status = recipient.get(f"/api/v1/documents/{doc['id']}/deliveries/{STTTT}/edxml")
    assert (
        b"StatusCode" in status.body
        and last_of(web, "document.export")["details"]["format"] == "edxml-status"
    )

    # the package, imported by another unit, is refused: its From is SNV
    before = documents_count(web)
    headers = {"Authorization": f"Bearer {recipient.token}"}
    res = web.post("/api/v1/edxml", res.body, content_type="application/xml", headers=headers, status=403)
    assert_problem(res, 403, field="From/OrganId")
    assert documents_count(web) == before
    # hostile or broken packages: 400 naming the reason, nothing stored
    for bad in (
        b"<not-edxml/>",
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        b"\xff\x00",
    ):
        assert_problem(
            web.post("/api/v1/edxml", bad, content_type="application/xml", headers=headers, status=400), 400
        )
    assert_problem(
        web.post("/api/v1/edxml", b"{}", content_type="application/json", headers=headers, status=415), 415
    )
    assert documents_count(web) == before


def test_edxml_round_trip_through_the_api(demo_factory):
    """A package exported by one hub and sent by the same unit's eOffice product to another keeps its fields."""
    _edxml_io()
    first, second = demo_factory(), demo_factory()
    clerk = as_user(first, "vanthu.snv")
    doc = send(clerk, recipients=[STTTT], due_date="2030-01-31", priority=2, to_places=["Lưu: VT"]).json
    package = clerk.get(f"/api/v1/documents/{doc['id']}/edxml").body
    product = unit_token(second, SNV)
    res = second.post(
        "/api/v1/edxml",
        package,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {product.token}"},
        status=201,
    )
    imported = res.json
    assert res.location.endswith(f"/api/v1/documents/{imported['id']}")
    assert imported["document_id"] == doc["document_id"] and imported["notation"] == doc["notation"]
    assert imported["state"] == "issued" and imported["origin"] == "edxml"
    for name in (
        "subject",
        "content",
        "doc_type",
        "promulgation_date",
        "due_date",
        "priority",
        "to_places",
        "signer_name",
        "signer_position",
        "from",
        "to",
    ):
        assert imported["meta"][name] == doc["meta"][name], name
    assert [(a["name"], a["sha256"]) for a in imported["attachments"]] == [
        (a["name"], a["sha256"]) for a in doc["attachments"]
    ]
    assert [d["key"] for d in imported["deliveries"]] == [STTTT]
    assert last_of(second, "document.import")["actor"] == f"system:{SNV}"
    # the same package again: one document and a success, as /edxml/v1 answers it (one door)
    again = second.post(
        "/api/v1/edxml",
        package,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {product.token}"},
        status=200,
    )
    assert again.json["id"] == imported["id"]
    assert documents_count(second) == 1
    # a specialist may write drafts but not issue: the import is refused, nothing stored
    specialist = as_user(second, "chuyenvien.snv")
    fresh = package.replace(doc["document_id"].encode(), b"0" * len(doc["document_id"]))
    res = second.post(
        "/api/v1/edxml",
        fresh,
        content_type="application/xml",
        headers={"Authorization": f"Bearer {specialist.token}"},
        status=403,
    )
    assert_problem(res, 403)
    assert documents_count(second) == 1 and last_of(second, "access.denied")["actor"] == "chuyenvien.snv"


# -- the OpenAPI document -------------------------------------------------------------------
NEW_OPERATIONS = [
    ("/api/v1/documents", "post"),
    ("/api/v1/documents/{id}", "get"),
    ("/api/v1/documents/{id}/attachments/{name}", "get"),
    ("/api/v1/documents/{id}/deliveries/{code}/actions", "post"),
    ("/api/v1/organizations/{code}/inbox", "get"),
    ("/api/v1/organizations/{code}/outbox", "get"),
    ("/api/v1/me/mailbox", "get"),
    ("/api/v1/search", "get"),
    ("/api/v1/paper-check", "post"),
    ("/api/v1/documents/{id}/edxml", "get"),
    ("/api/v1/documents/{id}/deliveries/{code}/edxml", "get"),
    ("/api/v1/edxml", "post"),
]


def test_the_openapi_document_describes_the_document_api(web):
    from openapi_spec_validator import validate

    doc = web.get("/api/v1/openapi.json").json
    validate(doc)
    for path, method in NEW_OPERATIONS:
        operation = doc["paths"][path][method]
        assert "401" in operation["responses"] and "405" in operation["responses"], (path, method)
    send_op = doc["paths"]["/api/v1/documents"]["post"]
    assert set(send_op["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"201", "400", "403", "409", "413", "415"} <= set(send_op["responses"])
    assert send_op["requestBody"]["content"]["application/json"]["schema"]["additionalProperties"] is False
    assert set(doc["paths"]["/api/v1/edxml"]["post"]["requestBody"]["content"]) == {"application/xml"}
    assert (
        "application/xml"
        in doc["paths"]["/api/v1/documents/{id}/edxml"]["get"]["responses"]["200"]["content"]
    )
    schemas = doc["components"]["schemas"]
    assert schemas["Delivery"]["properties"]["state"]["enum"][1:] == [
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "13",
        "15",
        "16",
    ]
    actions = doc["paths"]["/api/v1/documents/{id}/deliveries/{code}/actions"]["post"]
    assert actions["requestBody"]["content"]["application/json"]["schema"]["properties"]["action"][
        "enum"
    ] == ["accept", "refuse", "assign", "start", "complete", "recall", "agree_recall", "refuse_recall"]
    assert (
        "QD"
        in send_op["requestBody"]["content"]["application/json"]["schema"]["properties"]["doc_type"]["enum"]
    )


def test_a_large_base64_attachment_in_json_arrives_whole(web):
    """Base64 strings are bounded by the body size and the attachment policy, not by a text limit."""
    big = pdf_bytes("x" * 2_000_000)  # ~2 MB, 2.7 MB of base64
    doc = send(as_user(web, "vanthu.snv"), attachments=[{"name": "lon.pdf", "content_base64": b64(big)}]).json
    reader = as_user(web, "vanthu.stttt")
    got = reader.get(f"/api/v1/documents/{doc['id']}/attachments/lon.pdf")
    assert got.body == big


def test_reading_a_mailbox_or_searching_through_the_api_is_on_the_record(web):
    send(as_user(web, "vanthu.snv"))
    reader = as_user(web, "vanthu.stttt")
    before = count_of(web, "mailbox.view"), count_of(web, "mailbox.search")
    reader.get(f"/api/v1/organizations/{STTTT}/inbox")
    reader.get("/api/v1/search", q="quyet dinh")
    assert (count_of(web, "mailbox.view"), count_of(web, "mailbox.search")) == (before[0] + 1, before[1] + 1)
    assert last_of(web, "mailbox.view")["actor"] == "vanthu.stttt"
