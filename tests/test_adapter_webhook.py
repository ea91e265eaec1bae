"""Adapter webhook_json (R4, R6.5): signed JSON notifications, and a receiver that refuses forgeries.

The hub does not take webhooks in (products send to /edxml/v1 with their token), so the
refusal of a replayed or tampered webhook is the receivers' side: ``verify_signature`` and
``ReplayGuard`` from the plugin, used here by a sample receiver served by waitress. The
test replays and alters real requests the worker sent.
"""

import json
import threading
import time

import pytest
import requests

from lienthong.core.db import get_database
from lienthong.core.services import documents as ds
from lienthong.core.transports import OutboundMessage, PermanentError
from lienthong.core.worker import Worker
from lienthong.plugins.webhook_json import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ReplayGuard,
    SignatureError,
    WebhookJson,
    sign,
    verify_signature,
)

from .support.demo import demo_factory  # noqa: F401
from .support.endpoint import Endpoint
from .support.exchange import SNV, STP, STTTT, Hub, actor, basic, pdf_file

SECRET = "whsec-0123456789abcdef"
ADAPTER = WebhookJson()  # the adapter the direct calls below use (the hook makes one per application)


class SampleReceiver:
    """What a dashboard does with the hub's webhooks: check, refuse replays, deduplicate by message_id."""

    def __init__(self, secret):
        self.secret = secret
        self.guard = ReplayGuard(tolerance=300)
        self.accepted = {}  # message_id -> notification
        self.refusals = []

    def __call__(self, request, start_response):
        h = request["headers"]
        try:
            self.guard.check(
                self.secret, h.get(TIMESTAMP_HEADER.lower()), request["body"], h.get(SIGNATURE_HEADER.lower())
            )
        except SignatureError as exc:
            self.refusals.append(exc.reason)
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [exc.reason.encode()]
        note = json.loads(request["body"])
        self.accepted.setdefault(note["message_id"], note)
        start_response("204 No Content", [])
        return [b""]


@pytest.fixture
def receiver():
    sample = SampleReceiver(SECRET)
    endpoint = Endpoint(app=sample).start()
    sample.endpoint = endpoint
    yield sample
    endpoint.stop()


def run_worker(hub):
    worker = Worker(get_database(hub.app.registry), hub.app.registry, worker_id="hook")
    try:
        return worker.run(threading.Event(), once=True)
    finally:
        worker.close()


@pytest.fixture
def delivered(demo_factory, receiver):
    """A real document sent by SNV to STP (webhook) and STTTT; STP's arrival notified back to SNV."""
    hub = Hub(demo_factory())

    def setup(site):
        for code in (STP, SNV):
            site["directory"][code].adapter = "webhook_json"
            site["directory"][code].adapter_settings.update(
                {"url": receiver.endpoint.url(f"/hook/{code}"), "secret": SECRET}
            )
        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[STP, STTTT]),
            [("van-ban.pdf", pdf_file("hook"), "")],
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.document_id, doc.notation, doc.title

    document_id, notation, subject = hub.tx(setup)
    run_worker(hub)
    return hub, document_id, notation, subject


def test_notifications_are_signed_json_without_attachments(delivered, receiver):
    _hub, document_id, notation, subject = delivered
    assert receiver.refusals == []
    notes = list(receiver.accepted.values())
    (document,) = [n for n in notes if n["event"] == "document"]
    assert (
        document["document_id"] == document_id and document["sender"] == SNV and document["recipient"] == STP
    )
    assert (
        document["notation"] == notation and document["subject"] == subject and document["attachments"] == 1
    )
    assert document["status"] is None and document["time"]
    assert not any("AttachmentText" in json.dumps(n) or "base64" in json.dumps(n) for n in notes)
    statuses = [n for n in notes if n["event"] == "status"]
    assert ("01", document_id, SNV) in {(n["status"], n["document_id"], n["recipient"]) for n in statuses}
    paths = {r["path"] for r in receiver.endpoint.requests}
    assert paths == {f"/hook/{STP}", f"/hook/{SNV}"}


def test_a_replayed_or_tampered_webhook_is_refused(delivered, receiver):
    original = next(r for r in receiver.endpoint.requests if r["path"] == f"/hook/{STP}")
    url = receiver.endpoint.url(original["path"])
    ts, sig = original["headers"][TIMESTAMP_HEADER.lower()], original["headers"][SIGNATURE_HEADER.lower()]
    body = original["body"]

    def send(body, ts, sig):
        return requests.post(url, data=body, headers={TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sig}, timeout=5)

    before = dict(receiver.accepted)
    # the very same request again: a replay within the tolerance
    assert send(body, ts, sig).status_code == 401
    assert "already received" in receiver.refusals[-1]
    # the body changed (another recipient), same headers
    tampered = body.replace(STP.encode(), STTTT.encode())
    assert tampered != body
    assert send(tampered, ts, sig).status_code == 401
    assert "does not match" in receiver.refusals[-1]
    # a fresh timestamp with the old signature
    assert send(body, str(int(time.time()) + 1), sig).status_code == 401
    assert "does not match" in receiver.refusals[-1]
    # signed with another secret
    now = str(int(time.time()))
    assert send(body, now, sign("another-secret-0123456", now, body)).status_code == 401
    # an old message, correctly signed (captured long ago)
    old = str(int(time.time()) - 3600)
    assert send(body, old, sign(SECRET, old, body)).status_code == 401
    assert "replayed or delayed" in receiver.refusals[-1]
    # missing headers
    assert requests.post(url, data=body, timeout=5).status_code == 401
    assert receiver.accepted == before
    # and a genuine new signature (another second than the original's) is still accepted
    now = str(int(ts) + 2)
    assert send(body, now, sign(SECRET, now, body)).status_code == 204, receiver.refusals[-1]


def test_verify_signature_rules():
    body = b'{"event": "document"}'
    now = 1_767_225_600
    good = sign(SECRET, now, body)
    assert good.startswith("sha256=") and len(good) == 7 + 64
    assert verify_signature(SECRET, str(now), body, good, now=now + 299) is True
    for args, reason in [
        ((SECRET, str(now), body + b" ", good), "does not match"),
        (("other-secret-value-x", str(now), body, good), "does not match"),
        ((SECRET, str(now), body, good), "away from now"),
        ((SECRET, "yesterday", body, good), "not a number"),
        ((SECRET, str(now), body, ""), "missing"),
        (("", str(now), body, good), "no secret"),
    ]:
        at = now + 301 if reason == "away from now" else now
        with pytest.raises(SignatureError, match=reason):
            verify_signature(*args, now=at)
    with pytest.raises(SignatureError, match="away from now"):  # a timestamp from the future
        verify_signature(SECRET, str(now + 600), body, sign(SECRET, now + 600, body), now=now)
    guard = ReplayGuard(tolerance=300)
    assert guard.check(SECRET, str(now), body, good, now=now)
    with pytest.raises(SignatureError, match="already received"):
        guard.check(SECRET, str(now), body, good, now=now + 10)
    # the guard forgets what the timestamp check refuses anyway
    later = now + 1000
    guard.check(SECRET, str(later), body, sign(SECRET, later, body), now=later)
    assert good not in guard.seen


def test_a_receiver_that_refuses_the_signature_makes_a_dead_letter(receiver):
    """A wrong secret on the unit's entry: 401 is permanent (retrying the same signature cannot help)."""
    from lienthong.core import edxml

    payload = edxml.build_status(
        {
            "response_for": {
                "organ_id": SNV,
                "code": "1/QĐ-SNV",
                "promulgation_date": "2026-01-01",
                "document_id": "DOC-1",
            },
            "from": {"organ_id": STP, "organ_name": "Sở Tư pháp"},
            "status_code": "03",
            "description": "",
            "timestamp": "2026-01-02T09:00:00+07:00",
            "staff_info": {"staff": "x", "department": "", "mobile": "", "email": ""},
        }
    )
    message = OutboundMessage(
        "k1",
        "status",
        "DOC-1",
        SNV,
        STP,
        payload,
        settings={"url": receiver.endpoint.url(), "secret": "wrong-secret-0123456"},
    )
    with pytest.raises(PermanentError) as info:
        ADAPTER.deliver(message, None)
    assert "401" in info.value.reason and "does not match" in info.value.reason
    message.settings["secret"] = SECRET
    ADAPTER.deliver(message, None)
    (note,) = receiver.accepted.values()
    assert (note["event"], note["status"], note["document_id"], note["notation"]) == (
        "status",
        "03",
        "DOC-1",
        "1/QĐ-SNV",
    )


def test_settings_are_checked():
    assert ADAPTER.check_settings({}) == ["url is required", "secret is required"]
    assert ADAPTER.check_settings({"url": "http://x/hook", "secret": "short"}) == [
        "secret must be at least 16 characters"
    ]
    assert [s.name for s in ADAPTER.settings if s.secret] == ["secret"]
