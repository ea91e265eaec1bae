"""Federation (issue #7, plugin peer_hub): two real hubs, each `lienthong serve` on its own ZEO
database with its in-process worker, exchanging documents and statuses over signed HTTP.

Unit tests of the signatures first; then the hubs: directory sync both ways, a document
from a clerk on hub A to a unit on hub B and its status back, the same batch sent twice,
refusals of callers (unknown, bad signature, replay) and of packages (a sender the caller
does not host), and a recipient hosted elsewhere that B does not serve.
"""

import base64
import json
import time

import pytest
import requests

from lienthong.core.resources import directory as d
from lienthong.core.resources.folder import Folder
from lienthong.core.services import deliveries, directory as dirs, documents as ds, edxml_io
from lienthong.plugins.peer_hub import auth, client, config as peer_config

from .support.exchange import SNV, STP, VUNGTAU, actor, basic
from .support.peers import B_CLERK, B_DEPT, B_OTHER, B_UNITS, peer_destination, start_pair, sync_both
from .support.receiver import wait_until

SECRET = "s" * 40


def hub_config(name="hub-a", peer="hub-b", secret=SECRET, key_id="k1", window=300):
    return peer_config.load(
        {
            "lienthong.peer_hub.name": name,
            "lienthong.peer_hub.peers": peer,
            f"lienthong.peer_hub.peer.{peer}.url": "http://127.0.0.1:1",
            f"lienthong.peer_hub.peer.{peer}.key_id": key_id,
            f"lienthong.peer_hub.secret.{peer}": secret,
            "lienthong.peer_hub.window": str(window),
        }
    )


# -- signatures (no server) -----------------------------------------------------------------
def test_a_signed_request_verifies_once_and_not_when_anything_changes():
    a, b = hub_config("hub-a", "hub-b"), hub_config("hub-b", "hub-a")
    body = b'{"packages": []}'
    headers = auth.sign_request(a, a.peers["hub-b"], "POST", "/peer/v1/packages", body)
    nonces = auth.SiteNonces(Folder())
    assert auth.verify_request(b, headers, "POST", "/peer/v1/packages", body, nonces).name == "hub-a"
    with pytest.raises(auth.PeerAuthError, match="replayed"):
        auth.verify_request(b, headers, "POST", "/peer/v1/packages", body, nonces)
    for method, path, data, changed in (
        ("POST", "/peer/v1/packages", b'{"packages": [1]}', {}),
        ("POST", "/peer/v1/statuses", body, {}),
        ("GET", "/peer/v1/packages", body, {}),
        ("POST", "/peer/v1/packages", body, {auth.H_TIME: str(int(time.time()) - 1)}),
    ):
        with pytest.raises(auth.PeerAuthError, match="bad signature"):
            auth.verify_request(b, {**headers, **changed}, method, path, data, auth.SiteNonces(Folder()))
    # another secret, another key id, an unknown caller, a stale timestamp, another callee
    with pytest.raises(auth.PeerAuthError, match="bad signature"):
        auth.verify_request(
            hub_config("hub-b", "hub-a", secret="t" * 40),
            headers,
            "POST",
            "/peer/v1/packages",
            body,
            auth.SiteNonces(Folder()),
        )
    with pytest.raises(auth.PeerAuthError, match="not the key in force"):
        auth.verify_request(
            hub_config("hub-b", "hub-a", key_id="k2"),
            headers,
            "POST",
            "/peer/v1/packages",
            body,
            auth.SiteNonces(Folder()),
        )
    with pytest.raises(auth.PeerAuthError, match="unknown peer hub 'hub-a'"):
        auth.verify_request(
            hub_config("hub-b", "hub-c"),
            headers,
            "POST",
            "/peer/v1/packages",
            body,
            auth.SiteNonces(Folder()),
        )
    with pytest.raises(auth.PeerAuthError, match="outside the 300s window"):
        auth.verify_request(
            b, headers, "POST", "/peer/v1/packages", body, auth.SiteNonces(Folder()), now=time.time() + 400
        )
    with pytest.raises(auth.PeerAuthError, match="bad signature"):
        auth.verify_request(
            hub_config("hub-c", "hub-a"),
            headers,
            "POST",
            "/peer/v1/packages",
            body,
            auth.SiteNonces(Folder()),
        )


def test_an_answer_is_bound_to_its_peer_and_its_request():
    a, b = hub_config("hub-a", "hub-b"), hub_config("hub-b", "hub-a")
    signed = auth.sign_response(b, b.peers["hub-a"], 200, "POST", "/peer/v1/packages", "n" * 32, b'{"ok": 1}')
    auth.verify_response(
        a, a.peers["hub-b"], 200, signed, "POST", "/peer/v1/packages", "n" * 32, b'{"ok": 1}'
    )
    for status, nonce, body in (
        (201, "n" * 32, b'{"ok": 1}'),
        (200, "m" * 32, b'{"ok": 1}'),
        (200, "n" * 32, b'{"ok": 2}'),
    ):
        with pytest.raises(auth.PeerAuthError, match="bad signature"):
            auth.verify_response(
                a, a.peers["hub-b"], status, signed, "POST", "/peer/v1/packages", nonce, body
            )
    # a request signature is not an answer's (the direction is signed)
    request = auth.sign_request(b, b.peers["hub-a"], "POST", "/peer/v1/packages", b"")
    with pytest.raises(auth.PeerAuthError):
        auth.verify_response(
            a, a.peers["hub-b"], 200, request, "POST", "/peer/v1/packages", request[auth.H_NONCE], b""
        )


def test_peer_settings_that_cannot_work_are_named():
    with pytest.raises(peer_config.PeerConfigError, match="too short"):
        hub_config(secret="short")
    with pytest.raises(peer_config.PeerConfigError, match="name is required"):
        peer_config.load({"lienthong.peer_hub.peers": "hub-b"})
    with pytest.raises(peer_config.PeerConfigError, match="hub-b.url"):
        peer_config.load({"lienthong.peer_hub.name": "a", "lienthong.peer_hub.peers": "hub-b"})
    with pytest.raises(peer_config.PeerConfigError, match="LIENTHONG_PEER_SECRET_HUB_B"):
        peer_config.load(
            {
                "lienthong.peer_hub.name": "a",
                "lienthong.peer_hub.peers": "hub-b",
                "lienthong.peer_hub.peer.hub-b.url": "https://b",
                "lienthong.peer_hub.peer.hub-b.key_id": "1",
            }
        )


# -- two hubs -------------------------------------------------------------------------------
MAX_BODY = 2_000_000


@pytest.fixture
def hubs(tmp_path, tmp_path_factory, venv_bin):
    with start_pair(
        tmp_path, tmp_path_factory, venv_bin, **{"lienthong.peer_hub.max_body": str(MAX_BODY)}
    ) as pair:
        yield pair


def send_from_a(a, recipients, subject="Công văn liên tỉnh"):
    def send(site):
        env = env_of(a)
        document = ds.compose(
            site,
            env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=recipients, subject=subject),
        )
        ds.issue(site, env, actor("vanthu.snv"), document)
        return document.id, document.document_id

    return a.tx(send)


def env_of(hub):
    from lienthong.core.services.env import get_env

    return get_env(hub.app.registry)


def document_on(hub, document_id):
    def find(site):
        name = site["documents"].name_for(document_id)
        if name is None:
            return None
        document = site["documents"][name]
        return {
            "sender": document.sender_code,
            "deliveries": {k: v.state for k, v in document.deliveries.items()},
        }

    return hub.tx(find)


def test_directories_sync_both_ways_collisions_refused_and_withdrawn_units_marked(hubs):
    a, b = hubs
    # hub B also claims Sở Tư pháp's code, which hub A hosts: neither side overwrites its own unit
    b.tx(
        lambda site: (
            dirs.add_unit(site, actor("vanthu.bp"), {"code": STP, "name": "Trùng mã"}),
            dirs.set_connection_state(site, actor("vanthu.bp"), site["directory"][STP], d.OFFICIAL),
        )
    )
    out_a, out_b = sync_both(a, b)
    assert f"refused {STP}" in out_a and f"refused {STP}" in out_b
    assert "hub-b: 3 created" in out_a, out_a

    def peer_units(site, peer):
        return {
            u.code: (u.name, u.parent_code, u.connection_state)
            for u in site["directory"].values()
            if u.adapter == "peer_hub" and u.adapter_settings.get("peer") == peer
        }

    on_a = a.tx(lambda site: peer_units(site, "hub-b"))
    assert on_a == {code: (name, parent, d.OFFICIAL) for code, name, _s, _k, parent in B_UNITS}
    on_b = b.tx(lambda site: peer_units(site, "hub-a"))
    assert SNV in on_b and VUNGTAU in on_b and STP not in on_b
    assert b.tx(lambda site: site["directory"][STP].name) == "Trùng mã"  # never overwritten
    synced = a.tx(lambda site: _audit(site, "peer.sync"))[-1]
    assert synced["details"]["peer"] == "hub-b" and sorted(synced["details"]["created"]) == sorted(on_a)
    assert synced["details"]["refused"] == [
        f"{STP}: the code {STP} is a unit hosted here (Sở Tư pháp); not overwritten"
    ]
    created = a.tx(lambda site: [e["target"] for e in _audit(site, "unit.create")])  # as a manual edit
    assert {f"/directory/{code}" for code in on_a} <= set(created)

    # B's unit is dissolved: the next sync on A keeps it (documents refer to it) but not connected
    b.tx(lambda site: dirs.dissolve(site, actor("vanthu.bp"), B_OTHER))
    result = a.cli("peer", "sync", "hub-b")
    assert result.returncode == 0 and "1 no longer hosted" in result.stdout and "2 unchanged" in result.stdout
    assert a.tx(lambda site: site["directory"][B_OTHER].connection_state) == d.NOT_CONNECTED
    status = a.cli("peer", "status")
    assert "signature good, hosts 3 units\t3 units here\t0 queued" in status.stdout, status.stdout


def test_a_document_from_hub_a_reaches_hub_b_once_and_the_acceptance_comes_back(hubs):
    a, b = hubs
    sync_both(a, b)
    name, document_id = send_from_a(a, [B_DEPT, VUNGTAU])
    # B serves its own unit only; VUNGTAU (hosted on A) got it on A directly
    assert wait_until(
        lambda: (document_on(b, document_id) or {}).get("deliveries", {}).get(B_DEPT) == "01", timeout=30
    ), open(a.log).read()[-3000:]
    on_b = document_on(b, document_id)
    assert on_b == {"sender": SNV, "deliveries": {B_DEPT: "01"}}
    assert wait_until(lambda: document_on(a, document_id)["deliveries"][B_DEPT] == "01", timeout=15)

    # B's clerk accepts: hub A's sender sees 03 on its delivery
    def accept(site):
        document = site["documents"][site["documents"].name_for(document_id)]
        deliveries.act(site, env_of(b), actor(B_CLERK), document.delivery_for(B_DEPT), "accept")

    b.tx(accept)
    assert wait_until(lambda: document_on(a, document_id)["deliveries"][B_DEPT] == "03", timeout=30), open(
        b.log
    ).read()[-3000:]

    # A's sender asks for it back (13, the sender's act, to B); B's clerk agrees (15, back to A)
    def act(hub, login, action, **extra):
        def run(site):
            document = site["documents"][site["documents"].name_for(document_id)]
            deliveries.act(site, env_of(hub), actor(login), document.delivery_for(B_DEPT), action, **extra)

        hub.tx(run)

    act(a, "vanthu.snv", "recall", reason="Sai số liệu")
    assert wait_until(lambda: document_on(b, document_id)["deliveries"][B_DEPT] == "13", timeout=30), (
        queue_of(a, B_DEPT)
    )
    act(b, B_CLERK, "agree_recall")
    assert wait_until(lambda: document_on(a, document_id)["deliveries"][B_DEPT] == "15", timeout=30), (
        queue_of(b, SNV)
    )
    # each queue empties once its worker committed the delivery, a moment after the other hub stored it
    assert wait_until(lambda: queue_of(a, B_DEPT) == ([], []) and queue_of(b, SNV) == ([], []), timeout=30)

    # the same batch posted twice straight to B: stored once, the second answer says duplicate
    package = a.tx(lambda site: edxml_io.export_document(site, env_of(a), site["documents"][name]))
    hub = peer_config.load(a.settings)
    batch = {"packages": [{"key": "k1", "data": base64.b64encode(package).decode()}]}
    for _ in range(2):
        answer = client.call(hub, hub.peers["hub-b"], "POST", "/peer/v1/packages", batch)
        assert [r["result"] for r in answer["results"]] == ["duplicate"]
    assert (
        b.tx(lambda site: sum(1 for doc in site["documents"].values() if doc.document_id == document_id)) == 1
    )


def raw_post(hub, path, body, headers):
    return requests.post(hub.url + path, data=body, headers=headers, timeout=10)


def test_callers_that_do_not_authenticate_get_401_and_are_on_the_record(hubs):
    a, b = hubs
    hub = peer_config.load(a.settings)
    peer = hub.peers["hub-b"]
    body = json.dumps({"packages": [{"key": "x", "data": "AAAA"}]}).encode()
    path = "/peer/v1/packages"
    signed = auth.sign_request(hub, peer, "POST", path, body)
    cases = {
        "no signature": ({}, "not signed by a peer hub"),
        "unknown peer": ({**signed, auth.H_PEER: "hub-x"}, "unknown peer hub 'hub-x'"),
        "bad signature": ({**signed, auth.H_SIG: "0" * 64}, "bad signature"),
        "other body": (signed, "bad signature"),
    }
    for label, (headers, reason) in cases.items():
        response = raw_post(b, path, body + (b" " if label == "other body" else b""), headers)
        assert response.status_code == 401, label
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert reason in response.json()["detail"], (label, response.json())
    first = raw_post(b, path, body, signed)
    assert first.status_code == 200 and first.json()["results"][0]["result"] == "refused"
    replay = raw_post(b, path, body, signed)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
    b.stop()  # the nonces seen are in B's database: a restart within the window forgets none
    b.start()
    replay = raw_post(b, path, body, signed)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
    # a body over lienthong.peer_hub.max_body is refused before anything is read into the hub
    big = json.dumps({"packages": [{"key": "x", "data": "A" * MAX_BODY}]}).encode()
    too_large = raw_post(b, path, big, auth.sign_request(hub, peer, "POST", path, big))
    assert too_large.status_code == 413 and f"{MAX_BODY} bytes allowed" in too_large.json()["detail"]
    # the caller sees the refusal as a failed call (the adapter's retry), with B's reason
    wrong = peer_config.load({**a.settings, "lienthong.peer_hub.secret.hub-b": "w" * 40})
    with pytest.raises(client.PeerCallError, match="refused our signature: bad signature"):
        client.call(wrong, wrong.peers["hub-b"], "GET", "/peer/v1/directory")
    entries = b.tx(lambda site: _audit(site, "peer.refuse"))
    reasons = " | ".join(e["details"].get("reason", "") for e in entries)
    for text in ("not signed by a peer hub", "unknown peer hub", "bad signature", "replayed"):
        assert text in reasons, reasons


def test_junk_json_from_a_peer_is_400_naming_what_is_wrong_never_a_500(hubs):
    """Issue 16, item 5: nested too deep, a lone surrogate, a control character."""
    a, b = hubs
    hub = peer_config.load(a.settings)
    peer = hub.peers["hub-b"]
    path = "/peer/v1/packages"
    cases = [
        (b"[" * 100_000, "deep"),
        (b'{"packages": [{"key": "\\ud800", "data": "AAAA"}]}', "packages.key"),
        (b'{"packages": [{"key": "a\\u0001b", "data": "AAAA"}]}', "packages.key"),
        (b'{"packages": [{"key": "x", "data": "AAAA", "recipient": "\\u0000"}]}', "packages.recipient"),
    ]
    for body, named in cases:
        response = raw_post(b, path, body, auth.sign_request(hub, peer, "POST", path, body))
        assert response.status_code == 400, (named, response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/problem+json")
        assert named in response.json()["detail"], (named, response.json())


def _audit(site, action):
    return [dict(entry) for entry in site["audit"].iter_entries() if entry["action"] == action]


def test_a_package_from_a_unit_the_caller_does_not_host_is_refused_the_others_accepted(hubs):
    a, b = hubs
    sync_both(a, b)
    hub = peer_config.load(a.settings)
    _n1, good_id = send_from_a(a, [VUNGTAU], subject="Văn bản hợp lệ")  # stays on A: not queued to B
    _n2, forged_id = send_from_a(a, [VUNGTAU], subject="Văn bản giả danh")

    def packages(site):
        out = []
        for document_id, recipients in ((forged_id, [B_DEPT]), (good_id, [B_DEPT])):
            document = site["documents"][site["documents"].name_for(document_id)]
            meta = edxml_io.document_meta(document)
            meta["to"] = [{"organ_id": code, "organ_name": code} for code in recipients]
            if document_id == forged_id:  # claims to come from B's own unit
                meta["from"] = {"organ_id": B_OTHER, "organ_name": "Sở Tư pháp tỉnh Bình Phước"}
            from lienthong.core import edxml

            out.append(edxml.build_document(meta, []))
        return out

    forged, good = a.tx(packages)
    batch = {
        "packages": [
            {"key": "forged", "data": base64.b64encode(forged).decode()},
            {"key": "good", "data": base64.b64encode(good).decode()},
        ]
    }
    answer = client.call(hub, hub.peers["hub-b"], "POST", "/peer/v1/packages", batch)
    results = {r["key"]: r for r in answer["results"]}
    assert results["forged"]["result"] == "refused"
    assert results["forged"]["reason"] == f"the sender {B_OTHER} is not a unit hosted by hub-a"
    assert results["good"]["result"] == "created" and results["good"]["delivered_to"] == [B_DEPT]
    assert document_on(b, forged_id) is None
    assert document_on(b, good_id) == {"sender": SNV, "deliveries": {B_DEPT: "01"}}
    refusals = b.tx(lambda site: _audit(site, "peer.refuse"))
    assert any(e["details"].get("document_id") == forged_id for e in refusals)

    # a status between two of A's own units is none of B's business
    from lienthong.core import edxml

    status = edxml.build_status(
        {
            "response_for": {
                "organ_id": SNV,
                "code": "1/QĐ-SNV",
                "promulgation_date": "2026-11-25",
                "document_id": good_id,
            },
            "from": {"organ_id": VUNGTAU, "organ_name": "UBND TP Vũng Tàu"},
            "status_code": "03",
            "description": "",
            "timestamp": "2026-11-25T10:00:00+07:00",
            "staff_info": {"staff": "", "department": "", "mobile": "", "email": ""},
        }
    )
    answer = client.call(
        hub,
        hub.peers["hub-b"],
        "POST",
        "/peer/v1/statuses",
        {"statuses": [{"key": "s", "data": base64.b64encode(status).decode()}]},
    )
    assert answer["results"] == [
        {
            "key": "s",
            "result": "refused",
            "document_id": good_id,
            "reason": (
                f"the status of {VUNGTAU} about a document of {SNV} is not between a unit hosted by hub-a and one "
                f"hosted on hub-b"
            ),
        }
    ]


def test_a_recipient_hosted_elsewhere_is_not_served_by_b_and_a_package_for_none_is_refused(hubs):
    a, b = hubs
    sync_both(a, b)
    hub = peer_config.load(a.settings)
    _n, document_id = send_from_a(a, [VUNGTAU, STP])

    def package(site):
        document = site["documents"][site["documents"].name_for(document_id)]
        return edxml_io.export_document(site, env_of(a), document)

    data = a.tx(package)  # addressed to A's own units only
    answer = client.call(
        hub,
        hub.peers["hub-b"],
        "POST",
        "/peer/v1/packages",
        {"packages": [{"key": "p", "data": base64.b64encode(data).decode()}]},
    )
    assert answer["results"][0]["result"] == "refused"
    assert (
        "no recipient" in answer["results"][0]["reason"]
        and "hosted on hub-b" in answer["results"][0]["reason"]
    )
    assert document_on(b, document_id) is None


def queue_of(hub, code):
    from lienthong.core.services import outbound

    def read(site):
        dest = outbound.destination(site, code)
        queued = (
            [(m.kind, m.attempts, m.last_error) for m in dest.messages.values()] if dest is not None else []
        )
        dead = [(m.kind, m.last_error) for m in outbound.dead_letters(site).values() if m.recipient == code]
        return queued, dead

    return hub.tx(read)


def test_a_peer_down_is_retried_until_it_returns_and_a_refusal_is_a_dead_letter(hubs):
    a, b = hubs
    sync_both(a, b)
    b.stop()
    _n, document_id = send_from_a(a, [B_DEPT], subject="Gửi khi hub B dừng")
    assert wait_until(
        lambda: any(attempts and "did not answer" in error for _k, attempts, error in queue_of(a, B_DEPT)[0]),
        timeout=20,
    )
    b.start()
    assert wait_until(
        lambda: (document_on(b, document_id) or {}).get("deliveries") == {B_DEPT: "01"}, timeout=30
    )
    assert wait_until(lambda: queue_of(a, B_DEPT) == ([], []), timeout=15)

    # B no longer serves B_OTHER (A has not synced since): B refuses, A keeps the reason as a dead letter
    b.tx(lambda site: dirs.dissolve(site, actor(B_CLERK), B_OTHER))
    _n, refused_id = send_from_a(a, [B_OTHER], subject="Gửi cho đơn vị đã giải thể")
    assert wait_until(lambda: queue_of(a, B_OTHER)[1], timeout=30)
    queued, dead = queue_of(a, B_OTHER)
    assert queued == [] and dead == [
        ("document", f"refused by peer hub hub-b: no recipient of document {refused_id} is hosted on hub-b")
    ]
    assert document_on(b, refused_id) is None


def test_a_package_the_core_refuses_mid_batch_is_set_aside_and_the_rest_imported_once(hubs):
    a, b = hubs
    sync_both(a, b)
    hub = peer_config.load(a.settings)
    ids = [send_from_a(a, [VUNGTAU], subject=f"Văn bản {i}")[1] for i in range(3)]

    def packages(site):
        from lienthong.core import edxml

        out = []
        for document_id, sender in ((ids[0], None), (ids[0], VUNGTAU), (ids[1], None), (ids[2], None)):
            document = site["documents"][site["documents"].name_for(document_id)]
            meta = edxml_io.document_meta(document)
            meta["to"] = [{"organ_id": B_DEPT, "organ_name": "Sở Nội vụ tỉnh Bình Phước"}]
            if sender:  # another unit A hosts revokes SNV's document under its DocumentId
                meta["from"] = {"organ_id": sender, "organ_name": "UBND TP Vũng Tàu"}
                meta["business_doc_type"] = 1  # a revocation
                meta["business_reason"] = "Thu hồi văn bản của đơn vị khác"
            out.append(edxml.build_document(meta, []))
        return out

    keys = ["first", "foreign-revocation", "second", "third"]
    batch = {
        "packages": [{"key": k, "data": base64.b64encode(p).decode()} for k, p in zip(keys, a.tx(packages))]
    }
    answer = client.call(hub, hub.peers["hub-b"], "POST", "/peer/v1/packages", batch)
    assert [r["key"] for r in answer["results"]] == keys
    assert [r["result"] for r in answer["results"]] == ["created", "refused", "created", "created"]
    assert f"of {VUNGTAU} was delivered here" in answer["results"][1]["reason"]
    for document_id in ids:  # SNV's first document is not revoked by the other unit's package
        assert document_on(b, document_id) == {"sender": SNV, "deliveries": {B_DEPT: "01"}}
    assert b.tx(lambda site: sum(1 for doc in site["documents"].values() if doc.document_id in ids)) == 3
    refusals = b.tx(lambda site: _audit(site, "peer.refuse"))
    assert [e["details"]["key"] for e in refusals] == ["foreign-revocation"]


def test_the_bench_destination_hub_takes_a_batch_from_the_senders_units(tmp_path):
    from lienthong.core import edxml

    with peer_destination(tmp_path, "hub-a", [(SNV, "Sở Nội vụ")]) as destination:
        hub = peer_config.load(destination.sender_settings)
        meta = {
            "document_id": "bench-1",
            "from": {"organ_id": SNV, "organ_name": "Sở Nội vụ"},
            "to": [{"organ_id": destination.units[0], "organ_name": "Sở Nội vụ (hub ngang hàng)"}],
            "code_number": "7",
            "code_notation": "QĐ-SNV",
            "promulgation_place": "Vũng Tàu",
            "promulgation_date": "2026-11-25",
            "doc_type": "QD",
            "subject": "Thử tải",
            "content": "",
            "signer_name": "Hoàng Đức Thắng",
            "signer_position": "Phó Giám đốc",
            "trace": [{"organ_id": SNV, "timestamp": "2026-11-25T10:00:00+07:00"}],
        }
        package = base64.b64encode(edxml.build_document(meta, [])).decode()
        answer = client.call(
            hub,
            hub.peers["bench-peer"],
            "POST",
            "/peer/v1/packages",
            {"packages": [{"key": "1", "data": package}, {"key": "2", "data": package}]},
        )
        assert [r["result"] for r in answer["results"]] == ["created", "duplicate"], answer
