"""/vxp/: the hub as the national axis for its own units, driven as a product built on the SDK would.

The client below is written from the axis's contract (shared/interop/README.md) and signs
with the simulator's own signer (``tests/support/vxp_axis.signed_headers``), not with the
plugin's: it cross-checks the face instead of agreeing with it by construction. Two units'
products (SNV sends, STTTT receives) exchange a package and its statuses through ``/vxp/``;
every refusal is a FAIL reply in the axis's shape and on the audit record.
"""

import base64
import hashlib
import json
import re
import time
from datetime import datetime, timedelta

import pytest

from lienthong.core import edxml
from lienthong.core.services import audit, credentials

from .support.app import csrf_of, login, with_site
from .support.demo import demo_factory, web  # noqa: F401  (fixtures)
from .support.exchange import NOT_CONNECTED, SNV, STTTT, VUNGTAU
from .support.vxp_axis import VN, signed_headers
from .test_api import count_of, last_of, stored
from .test_inbound import make_package, make_status

SETTLED = {"lienthong.edxml.feed_settle_seconds": "0"}


def make_credential(web, code, label="SDK product"):
    from lienthong.core.services.env import get_env

    env = get_env(web.app.registry)

    def run(site):
        credential, secret = credentials.create(site, env, audit.Actor.system("test"), code, label)
        return credential.system_id, secret

    return stored(web, run)


class SdkProduct:
    """A unit's product built on the axis's SDK, pointed at the hub: base URL, system id, secret."""

    def __init__(self, web, code=None, system_id=None, secret=None, base="/vxp"):
        self.web, self.base = web, base
        if system_id is None:
            system_id, secret = make_credential(web, code)
        self.code, self.system_id, self.secret = code, system_id, secret
        self.last = None

    def moment(self):
        """Now, and never twice the same millisecond (the timestamp is the call's only nonce)."""
        now = datetime.now(VN)
        if self.last is not None and now <= self.last + timedelta(milliseconds=1):
            now = self.last + timedelta(milliseconds=2)
        self.last = now
        return now

    def headers(self, params=None, now=None):
        return signed_headers(self.system_id, self.secret, params or {}, now=now or self.moment())

    def call(self, name, params=None, file=None, method="POST", headers=None, status=200):
        headers = headers if headers is not None else self.headers(params)
        url = f"{self.base}/{name}"
        if method == "GET":
            res = self.web.get(url, headers=headers, status=status)
        elif file is not None:
            res = self.web.post(
                url, headers=headers, upload_files=[("file_doc", "edoc.edxml", file)], status=status
            )
        else:
            res = self.web.post(url, headers=headers, status=status)
        return res

    def answer(self, name, params=None, **kwargs):
        res = self.call(name, params, **kwargs)
        assert res.content_type == "application/json"
        return res.json

    def ok(self, name, params=None, **kwargs):
        body = self.answer(name, params, **kwargs)
        assert body["status"] == "OK" and body["ErrorCode"] == "0", body
        return body

    def send(self, data, to, messagetype="edoc", sender=None):
        params = {
            "from": sender or self.code,
            "to": json.dumps(list(to)),
            "servicetype": "eDoc",
            "messagetype": messagetype,
            "hash-file": hashlib.sha256(data).hexdigest(),
        }
        return self.answer("sendEdoc", params, file=data)

    def received(self, messagetype="edoc"):
        return self.ok("getReceivedEdocList", {"messagetype": messagetype})["data"]

    def get_edoc(self, doc_id):
        body = self.ok("getEdoc", {"docId": doc_id})
        return base64.b64decode(body["data"], validate=True)

    def update_status(self, doc_id, status):
        return self.answer("updateStatus", {"docId": doc_id, "status": status})


def fail_of(body, code):
    assert body["status"] == "FAIL" and body["ErrorCode"] == code, body
    return body


def refusals(web):
    return [
        e
        for e in with_site(web.app, lambda site: list(site["audit"].iter_entries()))
        if e["action"] == "vxp.refuse"
    ]


def closed(parsed):
    for item in parsed.pop("attachments", ()):
        item["file"].close()
    return parsed


# -- the flow ---------------------------------------------------------------------------------
def test_send_poll_fetch_acknowledge_status_and_sent_list(demo_factory):
    web = demo_factory(**SETTLED)
    snv, stttt = SdkProduct(web, SNV), SdkProduct(web, STTTT)
    package, document_id = make_package(to=(STTTT, VUNGTAU))

    sent = snv.send(package, [STTTT, VUNGTAU])
    assert sent["status"] == "OK" and sent["ErrorCode"] == "0" and sent["DocId"]
    doc_id = sent["DocId"]
    assert last_of(web, "edxml.receive")["actor"] == f"system:{SNV}"
    assert last_of(web, "edxml.receive")["details"]["via"].startswith("vxp-face ")
    # the same package again: OK, the same DocId, nothing more stored (a duplicate is a success)
    again = snv.send(package, [STTTT, VUNGTAU])
    assert again["status"] == "OK" and again["DocId"] == doc_id
    assert stored(web, lambda site: len(site["documents"].carrying(document_id)) == 1)

    # the recipient's product: count, poll, fetch, acknowledge
    assert stttt.ok("countReceiveEdoc", method="GET")["total"] == 1
    [row] = stttt.received()
    assert row["from"] == SNV and row["to"] == [STTTT] and row["messageType"] == "edoc"
    assert row["status"] == "pending" and re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", row["created_time"])
    data = stttt.get_edoc(row["docId"])
    parsed = closed(edxml.parse_document(data))
    assert parsed["document_id"] == document_id and parsed["from"]["organ_id"] == SNV
    assert last_of(web, "document.export")["actor"] == f"system:{STTTT}"
    streamed = stttt.call("downloadEdoc", {"docId": row["docId"]}, method="GET")
    assert streamed.content_type == "application/octet-stream" and streamed.body == data
    # fail: offered again
    assert stttt.update_status(row["docId"], "fail")["status"] == "OK"
    assert [r["docId"] for r in stttt.received()] == [row["docId"]]
    assert stttt.update_status(row["docId"], "processing")["status"] == "OK"
    # done: the same acknowledgement as /edxml/v1's ack
    assert stttt.update_status(row["docId"], "done")["status"] == "OK"
    assert stttt.received() == [] and stttt.ok("countReceiveEdoc", method="GET")["total"] == 0
    assert stored(web, lambda site: site["documents"][row["docId"]].delivery_for(STTTT).fetched_at)
    assert count_of(web, "edxml.ack") == 1
    assert stttt.update_status(row["docId"], "done")["status"] == "OK"  # done again: OK
    fail_of(stttt.update_status(row["docId"], "fail"), "BAD_PARAMETER")  # after done
    # what the unit's pending list holds is what /edxml/v1 lists: VUNGTAU has not fetched
    assert (
        stored(
            web,
            lambda site: __import__("lienthong.core.services.edxml_pull", fromlist=["x"]).pending_count(
                site, VUNGTAU
            ),
        )
        == 1
    )

    # the recipient reports 03 with messagetype=status; a repeat is the same DocId
    accepted = make_status(document_id, SNV, STTTT, "03", "Đã vào sổ")
    first = stttt.send(accepted, [SNV], messagetype="status")
    assert first["status"] == "OK" and first["DocId"]
    assert stttt.send(accepted, [SNV], messagetype="status")["DocId"] == first["DocId"]
    assert stored(web, lambda site: site["documents"][row["docId"]].delivery_for(STTTT).state) == "03"

    # the sender's product: the statuses of what it sent come as messagetype=status items
    assert snv.ok("countReceiveStatus", method="GET")["total"] == 3
    items = snv.received("status")
    assert [i["from"] for i in items] == [STTTT, VUNGTAU, STTTT]
    codes = []
    for item in items:
        status = edxml.parse_status(snv.get_edoc(item["docId"]))
        assert status["response_for"]["document_id"] == document_id
        codes.append(status["status_code"])
    assert codes == ["01", "01", "03"]
    assert snv.update_status(items[0]["docId"], "done")["status"] == "OK"
    assert snv.update_status(items[2]["docId"], "done")["status"] == "OK"
    assert [i["docId"] for i in snv.received("status")] == [items[1]["docId"]]
    assert snv.update_status(items[1]["docId"], "done")["status"] == "OK"
    assert snv.received("status") == [] and snv.ok("countReceiveStatus", method="GET")["total"] == 0
    # the recipient sees nothing of the sender's statuses
    assert stttt.received("status") == []
    fail_of(stttt.update_status(items[0]["docId"], "done"), "NOT_FOUND")

    # the sent list: one row per recipient
    rows = {r["toCode"]: r for r in snv.ok("getSentEdocList")["data"] if r["senderDocId"] == doc_id}
    assert set(rows) == {STTTT, VUNGTAU}
    assert rows[STTTT]["sendStatus"] == "sent" and rows[STTTT]["receiveStatus"] == "done"
    assert rows[STTTT]["statusCode"] == "03" and rows[STTTT]["notation"] == "15/QĐ-SNV"
    assert rows[VUNGTAU]["receiveStatus"] == "pending" and rows[VUNGTAU]["statusCode"] == "01"
    assert rows[STTTT]["fromCode"] == SNV and rows[STTTT]["title"].startswith("Kế hoạch")


def test_agencies_list_is_the_hubs_directory(web):
    product = SdkProduct(web, STTTT)
    data = product.ok("getAgenciesList")["data"]
    by_code = {row["code"]: row for row in data}
    assert SNV in by_code and STTTT in by_code
    for row in data:
        assert set(row) == {"id", "pid", "code", "name", "mail", "oldCode"}
        assert isinstance(row["id"], int)
    ids = {row["id"] for row in data}
    assert len(ids) == len(data)
    child = next(r for r in data if r["pid"] is not None)
    assert child["pid"] in ids
    assert by_code[SNV]["name"] == "Sở Nội vụ"


# -- refusals -----------------------------------------------------------------------------------
def test_signature_refusals_are_fail_replies_on_the_record(web):
    product = SdkProduct(web, STTTT)
    params = {"messagetype": "edoc"}

    def refused(code, headers, name="getReceivedEdocList"):
        before = len(refusals(web))
        body = fail_of(product.answer(name, params, headers=headers), code)
        found = refusals(web)
        assert len(found) == before + 1 and found[-1]["details"]["code"] == code
        return body, found[-1]

    # a signature made with another secret
    _body, entry = refused("SIGNATURE_INVALID", signed_headers(product.system_id, "x" * 43, params))
    assert entry["actor"] == f"vxp:{product.system_id}"  # not the unit's: the call is not proven to be its
    # an unknown system id
    _body, entry = refused("UNKNOWN_SYSTEM", signed_headers("nobody.here", product.secret, params))
    assert entry["actor"] == "vxp:nobody.here"
    refused("UNKNOWN_SYSTEM", {})
    # a timestamp 10 minutes old, one 10 minutes ahead, one that is not a timestamp
    refused("TIMESTAMP_EXPIRED", product.headers(params, now=datetime.now(VN) - timedelta(minutes=10)))
    refused("TIMESTAMP_EXPIRED", product.headers(params, now=datetime.now(VN) + timedelta(minutes=10)))
    bad = product.headers(params)
    bad["XroadVnpt-timestamp"] = "2026-01-01"
    refused("HEADER_MISMATCH", bad)  # the signed value differs from the header
    # a replay of an accepted call
    headers = product.headers(params)
    assert product.answer("getReceivedEdocList", params, headers=headers)["status"] == "OK"
    refused("REPLAY", headers)
    # a parameter header that is not signed; a signed one changed on the way
    extra = dict(product.headers(params), **{"XroadVnpt-docId": "x"})
    refused("HEADER_MISMATCH", extra)
    changed = dict(product.headers(params), **{"XroadVnpt-messagetype": "status"})
    refused("HEADER_MISMATCH", changed)
    # sign-header keys not the sign-header-key list
    listed = product.headers(params)
    listed["XroadVnpt-sign-header-key"] = "XroadVnpt-systemid"
    refused("HEADER_MISMATCH", listed)
    # a missing signature header
    missing = product.headers(params)
    del missing["XroadVnpt-hash-header"]
    refused("SIGNATURE_INVALID", missing)


def test_a_replay_is_refused_after_a_restart_and_by_another_process(demo_factory):
    """The signatures of accepted calls are kept in the database (``services.nonces``), not
    in the process: a new application on the same database refuses the replay too."""
    from .support.app import close_app

    web = demo_factory()
    product = SdkProduct(web, STTTT)
    params = {"messagetype": "edoc"}
    headers = product.headers(params)
    assert product.answer("getReceivedEdocList", params, headers=headers)["status"] == "OK"
    uri = web.app.registry.settings["zodbconn.uri"]
    close_app(web.app)
    again = demo_factory(**{"zodbconn.uri": uri})  # the hub restarted, or its other process
    product.web = again
    fail_of(product.answer("getReceivedEdocList", params, headers=headers), "REPLAY")
    assert product.ok("getReceivedEdocList", params)["status"] == "OK"  # a new call goes through
    assert with_site(again.app, lambda site: site["nonces"].count()) == 2


def test_a_revoked_credential_is_refused(web):
    product = SdkProduct(web, STTTT)
    product.ok("countReceiveEdoc", method="GET")
    stored(web, lambda site: credentials.revoke(site, audit.Actor.system("test"), product.system_id))
    fail_of(product.answer("countReceiveEdoc", method="GET"), "UNKNOWN_SYSTEM")
    assert last_of(web, "credential.revoke")["target"] == f"/credentials/{product.system_id}"


def test_another_units_doc_id_and_sender_are_refused(demo_factory):
    web = demo_factory(**SETTLED)
    snv, stttt, vungtau = SdkProduct(web, SNV), SdkProduct(web, STTTT), SdkProduct(web, VUNGTAU)
    package, _document_id = make_package(to=(STTTT,))
    doc_id = snv.send(package, [STTTT])["DocId"]
    # VUNGTAU's product may not fetch, download or acknowledge what went to STTTT only
    fail_of(vungtau.answer("getEdoc", {"docId": doc_id}), "NOT_FOUND")
    fail_of(vungtau.answer("downloadEdoc", {"docId": doc_id}, method="GET"), "NOT_FOUND")
    fail_of(vungtau.update_status(doc_id, "done"), "NOT_FOUND")
    assert refusals(web)[-1]["actor"] == f"system:{VUNGTAU}"
    assert stttt.received()[0]["docId"] == doc_id  # still pending for its recipient
    # the sender of the package is not the credential's unit
    other, _ = make_package(sender=VUNGTAU, to=(STTTT,))
    fail_of(snv.send(other, [STTTT], sender=VUNGTAU), "BAD_PARAMETER")
    body = fail_of(snv.send(other, [STTTT]), "FORBIDDEN")  # `from` says SNV, the package says VUNGTAU
    assert body["field"] == "From/OrganId"
    assert last_of(web, "edxml.refuse")["details"]["via"].startswith("vxp-face")
    # a recipient not connected to the hub (R11)
    lonely, _ = make_package(to=(NOT_CONNECTED,))
    fail_of(snv.send(lonely, [NOT_CONNECTED]), "FORBIDDEN")
    # the hash of the file is not the file's
    params = {
        "from": SNV,
        "to": json.dumps([STTTT]),
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": "0" * 64,
    }
    fail_of(snv.answer("sendEdoc", params, file=package), "HASH_MISMATCH")
    assert stored(web, lambda site: len(site["documents"].carrying(_document_id))) == 1


JUNK = [
    "",
    " ",
    "null",
    "[]",
    "{}",
    "[1]",
    '["' + "x" * 100 + '"]',
    "é",
    "%",
    "%ZZ",
    "%C3",
    "\u00a0",
    "x" * 5000,
    "../..",
    "<x/>",
    "[" * 100_000,  # nested too deep for the parser (issue 16, item 5)
]


@pytest.mark.parametrize(
    "name,method,names",
    [
        ("sendEdoc", "POST", ("from", "to", "servicetype", "messagetype", "hash-file")),
        ("getReceivedEdocList", "POST", ("messagetype",)),
        ("getEdoc", "POST", ("docId",)),
        ("downloadEdoc", "GET", ("docId",)),
        ("updateStatus", "POST", ("docId", "status")),
    ],
)
def test_junk_in_every_parameter_is_a_fail_never_a_500(web, name, method, names):
    product = SdkProduct(web, SNV)
    good = {
        "from": SNV,
        "to": json.dumps([STTTT]),
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": "a" * 64,
        "docId": "x",
        "status": "done",
    }
    for param in names:
        for junk in JUNK:
            params = {n: good[n] for n in names}
            params[param] = junk
            try:
                headers = product.headers(params)
            except Exception:
                continue
            if not all(v.isascii() for v in headers.values()):
                continue
            res = product.call(
                name, params, method=method, headers=headers, file=b"<x/>" if name == "sendEdoc" else None
            )
            assert res.status_int == 200 and res.json["status"] == "FAIL", (param, junk, res.json)
            assert res.json["ErrorCode"] != "INTERNAL", (param, junk[:20], res.json)  # refused, not broken
    # junk bodies, raw non-ASCII headers, wrong methods, unknown calls
    res = web.request(
        "/vxp/sendEdoc",
        method="POST",
        body=b"\x00\xff" * 50,
        headers=product.headers({}),
        content_type="multipart/form-data; boundary=zz",
    )
    assert res.json["status"] == "FAIL"
    assert web.get("/vxp/sendEdoc", status=405).json["ErrorCode"] == "METHOD_NOT_ALLOWED"
    assert web.post("/vxp/nothing", status=404).json["ErrorCode"] == "NOT_FOUND"


def test_a_package_that_is_not_edxml_is_a_fail(web):
    product = SdkProduct(web, SNV)
    for junk in (b"not xml", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"<edXML/>"):
        body = product.send(junk, [STTTT])
        assert body["status"] == "FAIL" and body["ErrorCode"] in ("BAD_PARAMETER", "FORBIDDEN"), body
        body = product.send(junk, [STTTT], messagetype="status")
        assert body["status"] == "FAIL", body


def test_the_secret_is_stored_encrypted_and_unreadable_under_another_key(web):
    system_id, secret = make_credential(web, STTTT)

    def attributes(site):
        credential = site["credentials"][system_id]
        return vars(credential).copy(), credentials.secret_of(
            {"lienthong.secret": "another-secret-" + "y" * 30}, credential
        )

    with pytest.raises(credentials.CredentialUnreadable):
        stored(web, attributes)
    found = stored(web, lambda site: vars(site["credentials"][system_id]).copy())
    assert secret.encode() not in found["encrypted_secret"] and secret not in repr(found)
    assert last_of(web, "credential.create")["details"]["unit"] == STTTT


# -- the unit's page --------------------------------------------------------------------------
def test_credential_is_made_on_the_units_page_shown_once_and_revoked(web):
    login(web, "quantri.stttt")
    url = f"/manage/units/{STTTT}"
    page = web.get(url)
    assert 'id="credentials"' in page.text
    response = web.post(
        url + "/credentials",
        {"credential_label": "VNPT iOffice (SDK)", "csrf_token": csrf_of(page)},
        status=200,
    )
    assert response.headers["Cache-Control"] == "no-store"
    system_id = re.search(
        r'id="system_id" class="secret code" readonly value="([^"]+)"', response.text
    ).group(1)
    secret = re.search(r'id="secret" class="secret code" readonly value="([^"]+)"', response.text).group(1)
    assert "Mã hệ thống" in response.text or "System id" in response.text
    # the secret works at /vxp/ and is never shown again; the list shows id, label, times
    product = SdkProduct(web, STTTT, system_id=system_id, secret=secret)
    product.ok("countReceiveEdoc", method="GET")
    page = web.get(url)
    assert system_id in page.text and "VNPT iOffice (SDK)" in page.text and secret not in page.text
    # without the CSRF token: refused
    web.post(url + "/credentials", {"credential_label": "x"}, status=400)
    # an empty label: the field says so
    response = web.post(
        url + "/credentials", {"credential_label": " ", "csrf_token": csrf_of(page)}, status=400
    )
    assert 'id="error-credential_label"' in response.text
    # another unit's admin cannot revoke it
    response = web.post(f"{url}/credentials/{system_id}/revoke", {"csrf_token": csrf_of(page)}, status=303)
    assert response.location.endswith("#credentials")
    fail_of(product.answer("countReceiveEdoc", method="GET"), "UNKNOWN_SYSTEM")
    page = web.get(url)
    row = page.text[page.text.index(f'id="credential-{system_id}"') :]
    assert "/revoke" not in row[: row.index("</tr>")]
    assert last_of(web, "credential.create")["actor"] == "quantri.stttt"


def test_another_units_admin_cannot_make_or_revoke_a_credential(web):
    system_id, _secret = make_credential(web, STTTT)
    login(web, "quantri.snv")
    page = web.get(f"/manage/units/{SNV}")
    token = csrf_of(page)
    web.post(f"/manage/units/{STTTT}/credentials", {"credential_label": "x", "csrf_token": token}, status=403)
    web.post(f"/manage/units/{STTTT}/credentials/{system_id}/revoke", {"csrf_token": token}, status=403)
    web.post(f"/manage/units/{SNV}/credentials/{system_id}/revoke", {"csrf_token": token}, status=404)
    assert stored(web, lambda site: site["credentials"][system_id].revoked) is None


def test_clock_window_is_configurable(demo_factory):
    web = demo_factory(**{"lienthong.vxp.face.window": "5"})
    product = SdkProduct(web, STTTT)
    fail_of(
        product.answer(
            "countReceiveEdoc",
            method="GET",
            headers=product.headers(now=datetime.now(VN) - timedelta(seconds=30)),
        ),
        "TIMESTAMP_EXPIRED",
    )
    time.sleep(0.01)
    product.ok("countReceiveEdoc", method="GET")
