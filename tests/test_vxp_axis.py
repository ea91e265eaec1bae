"""The national axis simulator (``tests/support/vxp_axis.py``) over real HTTP: two centres send,
list, fetch and acknowledge; every check of the signature refuses what it should, with its
ErrorCode; junk never makes it answer a 500; the generated national directory has the
expected size and shape, and the synchronisation feed returns just what changed.
"""

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timezone

import pytest
import requests

from .support.vxp_axis import (
    VN,
    AxisSimulator,
    read_notation_title,
    serve_axis,
    signed_headers,
)

A, SECRET_A, A_UNIT = "vxp.saas.03", "secret-of-centre-a", "000.00.02.H49"
B, SECRET_B, B_UNIT = "vxp.bo.22", "secret-of-centre-b", "000.00.00.G22"
C, SECRET_C, C_UNIT = "vxp.saas.07", "secret-of-centre-c", "000.00.05.H07"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
TIMESTAMP = re.compile(r"\d{8}T\d{6}\+0\d{3}")


def edxml(subject="Về việc tổ chức hội nghị", number="123", notation="QĐ-UBND", status=False):
    if status:
        header = (
            "<edXML:From><edXML:OrganId>000.00.00.G22</edXML:OrganId></edXML:From>"
            "<edXML:ResponseFor><edXML:OrganId>000.00.02.H49</edXML:OrganId>"
            "<edXML:Code>7/QĐ-UBND</edXML:Code></edXML:ResponseFor><edXML:StatusCode>03</edXML:StatusCode>"
        )
    else:
        header = (
            "<edXML:From><edXML:OrganId>000.00.02.H49</edXML:OrganId></edXML:From>"
            "<edXML:ResponseFor><edXML:Code><edXML:CodeNumber>9</edXML:CodeNumber>"
            "<edXML:CodeNotation>CV-OLD</edXML:CodeNotation></edXML:Code></edXML:ResponseFor>"
            f"<edXML:Code><edXML:CodeNumber>{number}</edXML:CodeNumber>"
            f"<edXML:CodeNotation>{notation}</edXML:CodeNotation></edXML:Code>"
            f"<edXML:Subject>{subject}</edXML:Subject>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{NS}"><edXML:edXMLEnvelope xmlns:edXML="{NS}">'
        f"<edXML:edXMLHeader><edXML:MessageHeader>{header}</edXML:MessageHeader></edXML:edXMLHeader>"
        "</edXML:edXMLEnvelope><AttachmentEncoded/></edXML>"
    ).encode()


class Centre:
    """A connected centre calling the axis (with the simulator's own reference signer)."""

    METHODS = {"/downloadEdoc": "GET", "/countReceiveEdoc": "GET", "/countReceiveStatus": "GET"}

    def __init__(self, base, system_id, secret):
        self.base, self.system_id, self.secret = base, system_id, secret
        self.last_ms = None

    def headers(self, params=None, now=None):
        if now is None:  # no two calls in the same millisecond: identical ones would be replays
            while True:
                now = time.time()
                if int(now * 1000) != self.last_ms:
                    self.last_ms = int(now * 1000)
                    break
                time.sleep(0.0005)
        return signed_headers(self.system_id, self.secret, params or {}, now=now)

    def call(self, path, params=None, files=None, headers=None, method=None, now=None):
        headers = headers if headers is not None else self.headers(params, now=now)
        method = method or self.METHODS.get(path, "POST")
        return requests.request(method, self.base + path, headers=headers, files=files, timeout=30)

    def answer(self, path, params=None, **kwargs):
        response = self.call(path, params, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def ok(self, path, params=None, **kwargs):
        body = self.answer(path, params, **kwargs)
        assert body["status"] == "OK", body
        return body

    def fails(self, code, path, params=None, **kwargs):
        body = self.answer(path, params, **kwargs)
        assert (body["status"], body["ErrorCode"]) == ("FAIL", code), body
        assert body["ErrorDesc"]
        return body

    def send_params(self, data, to, messagetype="edoc", sender=None):
        return {
            "from": sender or (A_UNIT if self.system_id == A else B_UNIT),
            "to": json.dumps(to),
            "servicetype": "eDoc",
            "messagetype": messagetype,
            "hash-file": hashlib.sha256(data).hexdigest(),
        }

    def send(self, data, to, messagetype="edoc", sender=None):
        params = self.send_params(data, to, messagetype, sender)
        body = self.ok("/sendEdoc", params, files={"file_doc": ("edoc.edxml", data, "application/xml")})
        return body["DocId"]

    def waiting(self, messagetype="edoc"):
        return self.ok("/getReceivedEdocList", {"messagetype": messagetype})["data"]

    def count(self, what="Edoc"):
        return self.ok(f"/countReceive{what}")["total"]


@pytest.fixture
def sim():
    simulator = AxisSimulator()
    for system_id, secret in ((A, SECRET_A), (B, SECRET_B), (C, SECRET_C)):
        simulator.add_centre(system_id, secret)
    simulator.serve_codes(A, [A_UNIT])
    simulator.serve_codes(B, [B_UNIT])
    simulator.serve_codes(C, [C_UNIT])
    return simulator


@pytest.fixture
def axis(sim):
    with serve_axis(sim) as base:
        yield sim, Centre(base, A, SECRET_A), Centre(base, B, SECRET_B), Centre(base, C, SECRET_C)


def test_reference_signer_shape():
    moment = datetime(2026, 12, 3, 14, 55, 1, 42000)  # naive: Vietnam time
    headers = signed_headers(A, SECRET_A, {"docId": "d-1", "to": ["x"]}, now=moment)
    assert headers["XroadVnpt-timestamp"] == "03122026T145501+0042"
    assert headers["XroadVnpt-version"] == "3.0.201608"
    assert headers["XroadVnpt-to"] == '["x"]'
    keys = ["XroadVnpt-systemid", "XroadVnpt-timestamp", "XroadVnpt-docId", "XroadVnpt-to"]
    assert headers["XroadVnpt-sign-header-key"] == ";".join(keys)
    signed = json.loads(headers["XroadVnpt-sign-header"])
    assert list(signed) == keys and all(signed[k] == headers[k] for k in keys)
    digest = hmac.new(
        SECRET_A.encode(), headers["XroadVnpt-sign-header"].encode(), hashlib.sha256
    ).hexdigest()
    assert headers["XroadVnpt-hash-header"] == digest
    utc = signed_headers(A, SECRET_A, {}, now=datetime(2026, 12, 3, 7, 55, 1, tzinfo=UTC))
    assert utc["XroadVnpt-timestamp"] == "03122026T145501+0000"
    # a Vietnamese value travels percent-encoded, so every header is ASCII
    named = signed_headers(A, SECRET_A, {"name": "Sở Nội vụ 100%"})
    assert named["XroadVnpt-name"] == "S%E1%BB%9F N%E1%BB%99i v%E1%BB%A5 100%25"
    assert all(v.isascii() for v in named.values())


def test_send_list_fetch_done(axis):
    sim, a, b, _c = axis
    data = edxml()
    sender_doc = a.send(data, [B_UNIT])
    assert b.count() == 1 and b.count("Status") == 0 and a.count() == 0
    (row,) = b.waiting()
    assert row["from"] == A_UNIT and row["to"] == [B_UNIT] and row["status"] == "pending"
    assert (row["serviceType"], row["messageType"]) == ("eDoc", "edoc")
    assert row["created_time"] and row["docId"] != sender_doc
    assert b.waiting("status") == []
    fetched = b.ok("/getEdoc", {"docId": row["docId"]})
    assert base64.b64decode(fetched["data"]) == data
    raw = b.call("/downloadEdoc", {"docId": row["docId"]})
    assert raw.status_code == 200 and raw.headers["Content-Type"].startswith("application/octet-stream")
    assert raw.content == data
    (sent,) = a.ok("/getSentEdocList")["data"]
    assert (sent["receiveStatus"], sent["receivedTime"]) == ("pending", "")
    b.ok("/updateStatus", {"docId": row["docId"], "status": "done"})
    assert b.waiting() == [] and b.count() == 0
    (sent,) = a.ok("/getSentEdocList")["data"]
    assert sent["senderDocId"] == sender_doc and sent["receiverDocId"] == row["docId"]
    assert (sent["fromCode"], sent["toCode"]) == (A_UNIT, B_UNIT)
    assert (sent["sendStatus"], sent["receiveStatus"]) == ("sent", "done")
    assert sent["title"] == "Về việc tổ chức hội nghị" and sent["notation"] == "123/QĐ-UBND"
    assert sent["sentTime"] and sent["receivedTime"]
    assert sim.sent_rows(A) == [sent] and b.ok("/getSentEdocList")["data"] == []
    b.ok("/updateStatus", {"docId": row["docId"], "status": "done"})  # done again: no harm
    b.fails("BAD_PARAMETER", "/updateStatus", {"docId": row["docId"], "status": "fail"})
    assert [c[2] for c in sim.calls].count("OK") == len(sim.calls) - 1


def test_fail_offers_again_and_processing_keeps_it_listed(axis):
    sim, a, b, _c = axis
    a.send(edxml(), [B_UNIT])
    (row,) = b.waiting()
    doc = {"docId": row["docId"]}
    b.ok("/updateStatus", {**doc, "status": "processing"})
    assert [r["status"] for r in b.waiting()] == ["processing"] and b.count() == 1
    assert a.ok("/getSentEdocList")["data"][0]["receiveStatus"] == "pending"
    b.ok("/updateStatus", {**doc, "status": "fail"})
    assert [r["docId"] for r in b.waiting()] == [row["docId"]]
    assert a.ok("/getSentEdocList")["data"][0]["receiveStatus"] == "fail"
    b.ok("/updateStatus", {**doc, "status": "fail"})
    (item,) = sim.items(B)
    assert item["redeliveries"] == 2 and item["state"] == "fail"
    b.ok("/updateStatus", {**doc, "status": "done"})
    assert b.waiting() == [] and sim.items(B)[0]["redeliveries"] == 2
    assert [h[0] for h in sim.items(B)[0]["history"]] == ["processing", "fail", "fail", "done"]
    assert a.ok("/getSentEdocList")["data"][0]["receiveStatus"] == "done"


def test_status_messages_wait_apart_from_documents(axis):
    _sim, a, b, _c = axis
    b.send(edxml(status=True), [A_UNIT], messagetype="status")
    assert a.count("Status") == 1 and a.count() == 0 and a.waiting() == []
    (row,) = a.waiting("status")
    assert row["messageType"] == "status" and row["from"] == B_UNIT
    (sent,) = b.ok("/getSentEdocList")["data"]
    assert (sent["notation"], sent["title"]) == ("", "")  # the Code of ResponseFor is not its own


def test_one_item_per_receiving_centre_and_unknown_codes(axis):
    sim, a, b, c = axis
    sim.serve_codes(B, ["000.00.01.G22"])
    to = [B_UNIT, "000.00.01.G22", C_UNIT, "000.00.99.Z99", B_UNIT]
    sender_doc = a.send(edxml(), to)
    (for_b,) = b.waiting()
    (for_c,) = c.waiting()
    assert for_b["to"] == [B_UNIT, "000.00.01.G22"] and for_c["to"] == [C_UNIT]
    assert for_b["docId"] != for_c["docId"]
    rows = {r["toCode"]: r for r in a.ok("/getSentEdocList")["data"]}
    assert sorted(rows) == sorted(set(to))
    assert {r["senderDocId"] for r in rows.values()} == {sender_doc}
    assert rows["000.00.01.G22"]["receiverDocId"] == for_b["docId"]
    lost = rows["000.00.99.Z99"]
    assert (lost["sendStatus"], lost["receiveStatus"], lost["receiverDocId"]) == ("fail", "not_found", "")
    c.ok("/updateStatus", {"docId": for_c["docId"], "status": "done"})
    rows = {r["toCode"]: r["receiveStatus"] for r in a.ok("/getSentEdocList")["data"]}
    assert rows == {
        B_UNIT: "pending",
        "000.00.01.G22": "pending",
        C_UNIT: "done",
        "000.00.99.Z99": "not_found",
    }
    data = edxml()
    a.fails(
        "AGENCY_NOT_FOUND",
        "/sendEdoc",
        a.send_params(data, ["000.00.99.Z99"]),
        files={"file_doc": ("e.edxml", data)},
    )
    assert len(sim.items()) == 2


def test_only_the_receiving_centre_fetches_or_acknowledges(axis):
    sim, a, b, c = axis
    a.send(edxml(), [C_UNIT])
    (row,) = c.waiting()
    assert b.waiting() == [] and b.count() == 0
    for centre in (b, a):  # another centre, and the sender itself
        centre.fails("NOT_FOUND", "/getEdoc", {"docId": row["docId"]})
        centre.fails("NOT_FOUND", "/downloadEdoc", {"docId": row["docId"]})
        centre.fails("NOT_FOUND", "/updateStatus", {"docId": row["docId"], "status": "done"})
    b.fails("NOT_FOUND", "/getEdoc", {"docId": "no-such-doc"})
    assert sim.items(C)[0]["state"] == "pending"


def test_the_sender_code_must_be_the_callers(axis):
    sim, a, b, _c = axis
    data = edxml()
    files = {"file_doc": ("e.edxml", data)}
    b.fails("BAD_PARAMETER", "/sendEdoc", b.send_params(data, [C_UNIT], sender=A_UNIT), files=files)
    b.fails("BAD_PARAMETER", "/sendEdoc", b.send_params(data, [C_UNIT], sender="000.00.77.H77"), files=files)
    assert sim.items() == []


def test_hash_mismatch(axis):
    sim, a, _b, _c = axis
    params = a.send_params(edxml(), [B_UNIT])
    a.fails("HASH_MISMATCH", "/sendEdoc", params, files={"file_doc": ("e.edxml", edxml(subject="khác"))})
    assert sim.items() == []


def _resign(headers, secret, signed):
    """Headers whose sign-header is ``signed`` (a dict), correctly hashed with ``secret``."""
    text = json.dumps(signed)
    headers = {**headers, "XroadVnpt-sign-header": text}
    headers["XroadVnpt-hash-header"] = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return headers


def test_signature_checks(axis):
    sim, a, b, _c = axis
    a.send(edxml(), [B_UNIT])
    (row,) = b.waiting()
    doc = {"docId": row["docId"]}
    wrong = Centre(b.base, B, "not-the-secret")
    wrong.fails("SIGNATURE_INVALID", "/getEdoc", doc)
    Centre(b.base, "vxp.nobody", SECRET_B).fails("UNKNOWN_SYSTEM", "/getEdoc", doc)
    nameless = {k: v for k, v in b.headers(doc).items() if k != "XroadVnpt-systemid"}
    b.fails("UNKNOWN_SYSTEM", "/getEdoc", headers=nameless)
    unsigned = {k: v for k, v in b.headers(doc).items() if k != "XroadVnpt-hash-header"}
    b.fails("SIGNATURE_INVALID", "/getEdoc", headers=unsigned)
    # a parameter header changed after signing
    b.fails("HEADER_MISMATCH", "/getEdoc", headers={**b.headers(doc), "XroadVnpt-docId": "other"})
    # the signed JSON changed too, but the hash is the old one
    headers = b.headers(doc)
    tampered = json.loads(headers["XroadVnpt-sign-header"])
    tampered["XroadVnpt-docId"] = "other"
    b.fails(
        "SIGNATURE_INVALID",
        "/getEdoc",
        headers={**headers, "XroadVnpt-docId": "other", "XroadVnpt-sign-header": json.dumps(tampered)},
    )
    # correctly hashed, but the JSON and the key list disagree, or systemid is not signed
    headers = b.headers(doc)
    signed = json.loads(headers["XroadVnpt-sign-header"])
    b.fails("HEADER_MISMATCH", "/getEdoc", headers=_resign(headers, SECRET_B, dict(reversed(signed.items()))))
    headers = b.headers(doc)
    without_id = {k: v for k, v in signed.items() if k != "XroadVnpt-systemid"}
    headers = {**_resign(headers, SECRET_B, without_id), "XroadVnpt-sign-header-key": ";".join(without_id)}
    b.fails("HEADER_MISMATCH", "/getEdoc", headers=headers)
    headers = b.headers(doc)
    b.fails("HEADER_MISMATCH", "/getEdoc", headers=_resign(headers, SECRET_B, ["not", "an", "object"]))
    # an unsigned parameter header slipped in
    b.fails("HEADER_MISMATCH", "/getEdoc", headers={**b.headers(doc), "XroadVnpt-status": "done"})
    # time: too old, too far ahead, malformed
    b.fails("TIMESTAMP_EXPIRED", "/getEdoc", doc, now=time.time() - 301)
    b.fails("TIMESTAMP_EXPIRED", "/getEdoc", doc, now=time.time() + 301)
    b.ok("/getEdoc", doc, now=time.time() - 200)
    headers = b.headers(doc)
    signed = {**json.loads(headers["XroadVnpt-sign-header"]), "XroadVnpt-timestamp": "2026-12-03T14:55:01"}
    headers = {**_resign(headers, SECRET_B, signed), "XroadVnpt-timestamp": "2026-12-03T14:55:01"}
    b.fails("TIMESTAMP_INVALID", "/getEdoc", headers=headers)
    # a replay, also of a send: no second item
    headers = b.headers(doc)
    b.ok("/getEdoc", headers=headers)
    b.fails("REPLAY", "/getEdoc", headers=headers)
    data = edxml()
    headers = a.headers(a.send_params(data, [B_UNIT]))
    a.ok("/sendEdoc", headers=headers, files={"file_doc": ("e.edxml", data)})
    a.fails("REPLAY", "/sendEdoc", headers=headers, files={"file_doc": ("e.edxml", data)})
    assert len(sim.items(B)) == 2
    codes = [code for _path, _system, code in sim.calls]
    for code in ("SIGNATURE_INVALID", "UNKNOWN_SYSTEM", "HEADER_MISMATCH", "TIMESTAMP_EXPIRED", "REPLAY"):
        assert code in codes
    assert ("/getEdoc", "vxp.nobody", "UNKNOWN_SYSTEM") in sim.calls


def test_replays_are_forgotten_after_the_window():
    now = [1_800_000_000.0]
    sim = AxisSimulator(window=300, clock=lambda: now[0])
    sim.add_centre(A, SECRET_A)
    with serve_axis(sim) as base:
        a = Centre(base, A, SECRET_A)
        headers = a.headers({}, now=now[0])
        a.ok("/countReceiveEdoc", headers=headers)
        now[0] += 299
        a.fails("REPLAY", "/countReceiveEdoc", headers=headers)
        now[0] += 2  # the timestamp itself is now too old
        a.fails("TIMESTAMP_EXPIRED", "/countReceiveEdoc", headers=headers)
        assert sim.seen == {}  # nothing kept beyond the window


def test_down_answers_503_then_up(axis):
    sim, a, b, _c = axis
    sim.down()
    response = a.call("/countReceiveEdoc")
    assert response.status_code == 503 and response.json()["ErrorCode"] == "UNAVAILABLE"
    data = edxml()
    response = a.call("/sendEdoc", a.send_params(data, [B_UNIT]), files={"file_doc": ("e.edxml", data)})
    assert response.status_code == 503 and sim.items() == []
    sim.up()
    a.send(data, [B_UNIT])
    assert b.count() == 1
    assert [c for c in sim.calls if c[2] == "UNAVAILABLE"] == [
        ("/countReceiveEdoc", A, "UNAVAILABLE"),
        ("/sendEdoc", A, "UNAVAILABLE"),
    ]


def test_unknown_path_and_wrong_method(axis):
    _sim, a, _b, _c = axis
    response = a.call("/getEverything")
    assert response.status_code == 404 and response.json()["ErrorCode"] == "NOT_FOUND"
    response = a.call("/countReceiveEdoc", method="POST")
    assert response.status_code == 405 and response.json()["status"] == "FAIL"


def test_junk_parameters_fail_never_500(axis):
    sim, a, b, _c = axis
    data = edxml()
    file_doc = {"file_doc": ("e.edxml", data)}
    good = a.send_params(data, [B_UNIT])
    junk_sends = [
        ({**good, "to": "000.00.00.G22"}, file_doc),  # not JSON
        ({**good, "to": '{"to": 1}'}, file_doc),
        ({**good, "to": "[]"}, file_doc),
        ({**good, "to": "[1, null]"}, file_doc),
        ({**good, "to": '["has space"]'}, file_doc),
        (good, None),  # no file_doc
        (good, {"other": ("e.edxml", data)}),
        (good, {"file_doc": ("e.edxml", b"")}),
        ({k: v for k, v in good.items() if k != "hash-file"}, file_doc),
        ({**good, "hash-file": "abc"}, file_doc),
        ({**good, "messagetype": "letter"}, file_doc),
        ({**good, "servicetype": "fax"}, file_doc),
        ({k: v for k, v in good.items() if k != "from"}, file_doc),
    ]
    for params, files in junk_sends:
        a.fails("BAD_PARAMETER", "/sendEdoc", params, files=files)
    response = requests.post(
        a.base + "/sendEdoc",
        headers={**a.headers(good), "Content-Type": "multipart/form-data; boundary=zzz"},
        data=b"--zzz\r\nContent-Disposition: form-data; name=\r\n\r\n\x00\xff--",
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["ErrorCode"] == "BAD_PARAMETER"
    for version in ("abc", "-1", "1.5", "", "9" * 40):
        a.fails("BAD_PARAMETER", "/getSynchronizeUnit", {"version": version})
    a.fails("BAD_PARAMETER", "/getSynchronizeUnit")
    a.fails("BAD_PARAMETER", "/getReceivedEdocList")
    a.fails("BAD_PARAMETER", "/getReceivedEdocList", {"messagetype": "EDOC"})
    a.fails("BAD_PARAMETER", "/getEdoc")
    a.send(data, [B_UNIT])
    (row,) = b.waiting()
    b.fails("BAD_PARAMETER", "/updateStatus", {"docId": row["docId"], "status": "maybe"})
    b.fails("BAD_PARAMETER", "/updateStatus", {"docId": row["docId"]})
    headers = b.headers({"docId": "x"})
    signed = {**json.loads(headers["XroadVnpt-sign-header"]), "XroadVnpt-docId": "%ff%fe"}
    headers = {**_resign(headers, SECRET_B, signed), "XroadVnpt-docId": "%ff%fe"}
    b.fails("BAD_PARAMETER", "/getEdoc", headers=headers)  # not UTF-8 once percent-decoded
    a.fails("BAD_PARAMETER", "/registerAgency", {"code": "000.00.03.H49"})
    a.fails("BAD_PARAMETER", "/registerAgency", {"code": "000.00.03.H49", "name": "X", "pid": "one"})
    a.fails("BAD_PARAMETER", "/registerAgency", {"code": "", "name": "X"})
    a.fails("BAD_PARAMETER", "/deleteAgency")
    # a raw non-ASCII (latin-1) header value: headers must be ASCII
    headers = a.headers({"messagetype": "edoc"})
    headers = {**headers, "XroadVnpt-messagetype": "édoc"}
    a.fails("BAD_PARAMETER", "/getReceivedEdocList", headers=headers)
    assert not [c for c in sim.calls if c[2] == "INTERNAL"]


def test_directory_and_its_changes(axis):
    sim, a, b, _c = axis
    sim.generate_agencies(500)
    listed = a.ok("/getAgenciesList")["data"]
    # B's code is a ministry, among the first 500 generated; A's and C's were added apart
    assert len(listed) == 500 + 2
    assert set(listed[0]) == {"id", "pid", "code", "name", "mail", "oldCode"}
    qd20 = a.ok("/getAgenciesListQD20")["data"]
    assert {r["level"] for r in qd20} == {1, 2} and all(r["code102"] == r["code"] for r in qd20)
    everything = a.ok("/getSynchronizeUnit", {"version": 0})
    version = everything["version"]
    assert len(everything["data"]) == len(listed)
    assert all(
        r["deleted"] is False and r["version"] <= version and r["modifyDate"] for r in everything["data"]
    )
    assert a.ok("/getSynchronizeUnit", {"version": version})["data"] == []

    sim.mark_changed("000.00.01.G01", name="Văn phòng Bộ Quốc phòng (mới)")
    changes = a.ok("/getSynchronizeUnit", {"version": version})
    (change,) = changes["data"]
    assert changes["version"] == version + 1 and change["deleted"] is False
    assert (change["code"], change["name"]) == ("000.00.01.G01", "Văn phòng Bộ Quốc phòng (mới)")
    sim.withdraw("000.00.01.G01")
    (change,) = a.ok("/getSynchronizeUnit", {"version": version + 1})["data"]
    assert change["deleted"] is True and change["version"] == version + 2
    assert "000.00.01.G01" not in {r["code"] for r in a.ok("/getAgenciesList")["data"]}

    # a centre registers one of its units (a Vietnamese name, percent-encoded) and withdraws it
    province = sim.agencies["000.00.00.H49"]["id"]
    new = "000.00.03.H49"
    registered = a.ok("/registerAgency", {"code": new, "name": "Sở Tư pháp tỉnh Quảng Trị", "pid": province})
    assert registered["data"]["name"] == "Sở Tư pháp tỉnh Quảng Trị" and registered["data"]["pid"] == province
    (change,) = a.ok("/getSynchronizeUnit", {"version": version + 2})["data"]
    assert change["code"] == new and change["version"] == version + 3
    b.send(edxml(), [new])
    assert a.waiting()[0]["to"] == [new]
    b.fails("BAD_PARAMETER", "/registerAgency", {"code": new, "name": "Chiếm chỗ"})  # A's unit
    b.fails("BAD_PARAMETER", "/deleteAgency", {"code": new})
    a.fails("AGENCY_NOT_FOUND", "/registerAgency", {"code": "000.00.04.H49", "name": "X", "pid": 999999})
    a.fails("AGENCY_NOT_FOUND", "/deleteAgency", {"code": "000.00.88.H88"})
    a.ok("/deleteAgency", {"code": new})
    (change,) = a.ok("/getSynchronizeUnit", {"version": version + 3})["data"]
    assert change["code"] == new and change["deleted"] is True
    data = edxml()
    b.fails("AGENCY_NOT_FOUND", "/sendEdoc", b.send_params(data, [new]), files={"file_doc": ("e", data)})


def test_generated_national_directory():
    sim = AxisSimulator()
    started = time.monotonic()
    assert sim.generate_agencies(111000) == 111000
    assert time.monotonic() - started < 5
    agencies = list(sim.agencies.values())
    assert len(agencies) == 111000 and len({a["id"] for a in agencies}) == 111000
    assert all(re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}", a["code"]) for a in agencies)
    by_id = {a["id"]: a for a in agencies}
    for agency in agencies:
        if agency["pid"] is None:
            assert agency["level"] == 1 and agency["code"].startswith("000.00.00.")
        else:
            parent = by_id[agency["pid"]]
            assert parent["level"] == agency["level"] - 1
            assert agency["code"].endswith(parent["code"][-3:])
    levels = {level: sum(1 for a in agencies if a["level"] == level) for level in (1, 2, 3, 4)}
    assert levels[1] == 30 + 63 and all(levels.values())
    assert sim.agencies["000.00.00.G22"]["name"] == "Văn phòng Chính phủ"
    assert sim.agencies["000.00.00.H49"]["name"].endswith("Quảng Trị")
    assert sim.agencies["000.03.12.H49"]["pid"] == sim.agencies["000.00.12.H49"]["id"]
    assert sum(1 for a in agencies if not a["name"].isascii()) > 100000  # diacritics
    with_old = [a for a in agencies if a["oldCode"]]
    assert 1000 < len(with_old) < 20000
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.[GH]\d{2}", a["oldCode"]) for a in with_old)
    assert {a["version"] for a in agencies} == {sim.version}

    again, other = AxisSimulator(), AxisSimulator()
    again.generate_agencies(3000)
    other.generate_agencies(3000, seed=2)
    first = [(a["code"], a["name"], a["pid"]) for a in again.agencies.values()]
    assert first == [(a["code"], a["name"], a["pid"]) for a in agencies[:3000]]
    assert first != [(a["code"], a["name"], a["pid"]) for a in other.agencies.values()]


def test_whole_directory_over_http():
    sim = AxisSimulator()
    sim.add_centre(A, SECRET_A)
    sim.generate_agencies(111000)
    with serve_axis(sim) as base:
        a = Centre(base, A, SECRET_A)
        assert len(a.ok("/getAgenciesList")["data"]) == 111000
        body = a.ok("/getSynchronizeUnit", {"version": 0})
        assert len(body["data"]) == 111000 and body["version"] == 1


def test_notation_and_title_are_read_safely():
    assert read_notation_title(edxml()) == ("123/QĐ-UBND", "Về việc tổ chức hội nghị")
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<edXML><Subject>&b;</Subject></edXML>"
    )
    assert read_notation_title(laughs) == ("", "")
    external = b'<!DOCTYPE e SYSTEM "file:///etc/passwd"><edXML><Subject>x</Subject></edXML>'
    assert read_notation_title(external) == ("", "")
    assert read_notation_title(b"<edXML><Subject>x</Subjec></edXML>") == ("", "")
    assert read_notation_title(b"\xff\xfe junk") == ("", "")
    unbound = b"<e:edXML><e:Code><e:CodeNumber>5</e:CodeNumber></e:Code><e:Subject> S </e:Subject></e:edXML>"
    assert read_notation_title(unbound) == ("5", "S")


def test_a_bug_of_the_simulator_is_a_fail_not_a_500(axis, monkeypatch, caplog):
    from .support import vxp_axis

    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setitem(vxp_axis.ROUTES, "/countReceiveEdoc", ("GET", broken))
    sim, a, _b, _c = axis
    response = a.call("/countReceiveEdoc")
    assert response.status_code == 200 and response.json()["ErrorCode"] == "INTERNAL"
    assert sim.calls[-1] == ("/countReceiveEdoc", A, "INTERNAL") and "boom" in caplog.text
