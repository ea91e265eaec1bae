"""Adapter edxml_push (R4, R6.5): POSTs edXML to a real product endpoint on localhost.

Direct calls check what each answer of the product means (delivered, retry, dead
letter); the worker-driven test delivers a real issued document and the status flowing
back through the durable queue.
"""

import datetime
import http.server
import ssl
import threading

import pytest

from lienthong.core.db import get_database
from lienthong.core.plugins import transport_names
from lienthong.core.services import outbound
from lienthong.core.transports import OutboundMessage, PermanentError, TransportError
from lienthong.core.worker import Worker
from lienthong.plugins.edxml_push import EdxmlPush

from .support.app import free_port
from .support.demo import demo_factory, web  # noqa: F401
from .support.endpoint import Endpoint
from .support.exchange import SNV, STP, STTTT, Hub, actor, basic, pdf_file

PAYLOAD = b"<?xml version='1.0' encoding='UTF-8'?>\n<edXML:edXMLEnvelope/>"
ADAPTER = EdxmlPush()  # the adapter the direct calls below use (the hook makes one per application)


@pytest.fixture
def endpoint():
    e = Endpoint().start()
    yield e
    e.stop()


def message(url, key="20260101T000000-abc", **settings):
    return OutboundMessage(
        key=key,
        kind="document",
        document_id="DOC-1",
        recipient=STP,
        sender=SNV,
        payload=PAYLOAD,
        settings={"url": url, **settings},
    )


def test_a_2xx_delivers_with_the_headers_and_the_bearer_token(endpoint):
    ADAPTER.deliver(message(endpoint.url(), token="s3cret-token"), None)
    (request,) = endpoint.requests
    assert request["method"] == "POST" and request["path"] == "/inbox" and request["body"] == PAYLOAD
    h = request["headers"]
    assert h["content-type"].startswith("application/xml")
    assert h["authorization"] == "Bearer s3cret-token"
    assert h["x-lienthong-message-id"] == "20260101T000000-abc" and h["x-lienthong-kind"] == "document"
    assert h["x-lienthong-document-id"] == "DOC-1" and h["x-lienthong-recipient"] == STP


def test_already_have_it_counts_as_delivered(endpoint):
    endpoint.answers = ["409 Conflict"]
    ADAPTER.deliver(message(endpoint.url()), None)  # no exception: delivered
    assert len(endpoint.requests) == 1
    assert "authorization" not in endpoint.requests[0]["headers"]


@pytest.mark.parametrize(
    "status", ["400 Bad Request", "401 Unauthorized", "404 Not Found", "422 Unprocessable"]
)
def test_a_refusal_is_permanent_with_the_products_reason(endpoint, status):
    endpoint.answers = [status]
    endpoint.body = "Thiếu số ký hiệu văn bản".encode()
    with pytest.raises(PermanentError) as info:
        ADAPTER.deliver(message(endpoint.url()), None)
    assert info.value.permanent
    assert status.split()[0] in info.value.reason and "Thiếu số ký hiệu" in info.value.reason


@pytest.mark.parametrize(
    "status",
    ["500 Internal Server Error", "503 Service Unavailable", "429 Too Many Requests", "408 Request Timeout"],
)
def test_a_server_failure_is_retried(endpoint, status):
    endpoint.answers = [status]
    with pytest.raises(TransportError) as info:
        ADAPTER.deliver(message(endpoint.url()), None)
    assert not info.value.permanent and status.split()[0] in info.value.reason


def test_receiver_down_is_retryable():
    url = f"http://127.0.0.1:{free_port()}/inbox"  # nothing listens there
    with pytest.raises(TransportError) as info:
        ADAPTER.deliver(message(url), None)
    assert not info.value.permanent and "cannot connect" in info.value.reason


def test_a_slow_product_times_out_and_is_retried(endpoint):
    endpoint.delay = 2.0
    with pytest.raises(TransportError) as info:
        ADAPTER.deliver(message(endpoint.url(), timeout="0.5"), None)
    assert not info.value.permanent and "did not answer" in info.value.reason


def test_bad_settings_are_named_and_refused_for_good():
    assert ADAPTER.check_settings({}) == ["url is required"]
    assert ADAPTER.check_settings(
        {"url": "ftp://x", "timeout": "abc", "verify": "maybe", "ca_bundle": "rel.pem"}
    ) == [
        "url must be an http:// or https:// address",
        "timeout must be a number of seconds",
        "verify must be yes or no",
        "ca_bundle must be an absolute path",
    ]
    assert ADAPTER.check_settings({"url": "https://ioffice.example.vn/edxml", "timeout": "20"}) == []
    with pytest.raises(PermanentError, match="url is required"):
        ADAPTER.deliver(OutboundMessage("k", "document", "D", STP, SNV, PAYLOAD), None)


# -- TLS ------------------------------------------------------------------------------------
def self_signed(directory):
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ioffice.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_endpoint(tmp_path):
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    cert, key = self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/inbox", cert, received
    server.shutdown()
    server.server_close()


def test_tls_is_verified_by_default_and_a_ca_bundle_makes_it_trusted(tls_endpoint):
    url, cert, received = tls_endpoint
    with pytest.raises(TransportError) as info:
        ADAPTER.deliver(message(url), None)
    assert "TLS failure" in info.value.reason and not info.value.permanent
    assert received == []
    ADAPTER.deliver(message(url, ca_bundle=cert), None)
    assert received == [PAYLOAD]


# -- through the queue and the worker -------------------------------------------------------
def test_the_worker_delivers_a_document_and_its_status_back_through_edxml_push(demo_factory, endpoint):
    hub = Hub(demo_factory())
    assert "edxml_push" in transport_names(hub.app.registry)

    def bind(site):
        for code, path in ((STP, "/stp"), (SNV, "/snv")):
            site["directory"][code].adapter = "edxml_push"
            site["directory"][code].adapter_settings.update(
                {"url": endpoint.url(path), "token": f"tok-{code}"}
            )

    def send(site):
        from lienthong.core.services import documents as ds

        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[STP, STTTT]),
            [("van-ban.pdf", pdf_file("push"), "")],
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.id, doc.document_id

    hub.tx(bind)
    name, document_id = hub.tx(send)
    worker = Worker(get_database(hub.app.registry), hub.app.registry, worker_id="push")
    try:
        worker.run(threading.Event(), once=True)
    finally:
        worker.close()
    by_path = {}
    for request in endpoint.requests:
        by_path.setdefault(request["path"], []).append(request)
    (package,) = by_path["/stp"]
    assert package["headers"]["x-lienthong-kind"] == "document"
    assert package["headers"]["x-lienthong-document-id"] == document_id
    assert package["headers"]["authorization"] == f"Bearer tok-{STP}"
    from lienthong.core import edxml

    meta = edxml.parse_document(package["body"])
    assert meta["document_id"] == document_id and [a["name"] for a in meta["attachments"]] == ["van-ban.pdf"]
    for a in meta["attachments"]:
        a["file"].close()
    # the recipient's delivery arrived; the sender's product heard the status 01 of STP
    assert hub.tx(lambda site: site["documents"][name].delivery_for(STP).state) == "01"
    statuses = [edxml.parse_status(r["body"]) for r in by_path["/snv"]]
    assert ("01", STP) in {(s["status_code"], s["from"]["organ_id"]) for s in statuses}
    assert all(r["headers"]["x-lienthong-kind"] == "status" for r in by_path["/snv"])
    assert hub.tx(outbound.pending) == []


# -- the adapter and its settings on the unit's directory entry ------------------------------
def _unit_settings(app, code):
    from .support.app import with_site as run

    return run(
        app, lambda site: (site["directory"][code].adapter, dict(site["directory"][code].adapter_settings))
    )


def test_the_unit_form_shows_each_adapters_settings_checks_them_and_never_shows_a_secret(testapp):
    from .support.app import csrf_of, login
    from .test_directory_pages import field_error, policies_form

    login(testapp, "admin")
    url = f"/manage/units/{STP}"
    page = testapp.get(url)
    for name in ("edxml_push", "hotfolder", "webhook_json"):
        assert f'id="adapter-settings-{name}"' in page.text
    assert 'name="setting.edxml_push.token" type="password"' in page.text
    settings_box = page.html.find(id="adapter-settings-edxml_push").text
    assert "Địa chỉ URL nhận gói tin của phần mềm" in settings_box and "Endpoint URL" not in settings_box

    def post(settings, status=303, adapter="edxml_push"):
        fields = [
            ("kind", "department"),
            ("parent_code", "000.00.00.H49"),
            ("eoffice_product", "VNPT iOffice"),
            ("adapter", adapter),
            ("adapter_settings", ""),
        ]
        fields += [(f"setting.edxml_push.{k}", v) for k, v in settings.items()]
        token = csrf_of(testapp.get(url))
        return testapp.post(url, policies_form() + fields + [("csrf_token", token)], status=status)

    before = _unit_settings(testapp.app, STP)
    response = post({"url": "ftp://ioffice", "token": "tok-1"}, status=400)
    assert "url must be an http:// or https:// address" in field_error(response, "adapter_settings")
    assert "tok-1" not in response.text  # a re-shown form does not echo the secret
    assert _unit_settings(testapp.app, STP) == before  # nothing saved
    post({"url": "https://ioffice.stp.example.vn/edxml", "token": "tok-1", "timeout": "20"})
    assert _unit_settings(testapp.app, STP) == (
        "edxml_push",
        {"url": "https://ioffice.stp.example.vn/edxml", "token": "tok-1", "timeout": "20"},
    )
    page = testapp.get(url)
    assert "tok-1" not in page.text and 'value="https://ioffice.stp.example.vn/edxml"' in page.text
    # an empty secret field keeps the stored secret; a new value replaces it
    post({"url": "https://ioffice.stp.example.vn/v2", "token": ""})
    assert _unit_settings(testapp.app, STP)[1] == {
        "url": "https://ioffice.stp.example.vn/v2",
        "token": "tok-1",
    }
    post({"url": "https://ioffice.stp.example.vn/v2", "token": "tok-2"})
    assert _unit_settings(testapp.app, STP)[1]["token"] == "tok-2"
    # required settings of another adapter: refused next to the settings
    token = csrf_of(testapp.get(url))
    response = testapp.post(
        url,
        policies_form()
        + [
            ("kind", "department"),
            ("parent_code", "000.00.00.H49"),
            ("eoffice_product", ""),
            ("adapter", "hotfolder"),
            ("adapter_settings", ""),
            ("setting.hotfolder.out_dir", "/srv/out"),
            ("csrf_token", token),
        ],
        status=400,
    )
    assert "in_dir is required" in field_error(response, "adapter_settings")


def test_the_api_checks_adapter_settings_and_masks_secrets(web):
    from .test_api import as_user, assert_problem

    api = as_user(web, "admin")
    path = f"/api/v1/organizations/{STP}"
    body = assert_problem(api.patch(path, {"adapter": "webhook_json"}, status=400), 400, field="adapter")
    assert "url is required" in body["detail"] and "secret is required" in body["detail"]
    assert_problem(
        api.patch(
            path,
            {
                "adapter": "webhook_json",
                "adapter_settings": {
                    "url": "https://dash.example.vn/hook",
                    "secret": "0123456789abcdef",
                    "colour": "red",
                },
            },
            status=400,
        ),
        400,
        field="adapter_settings",
    )
    res = api.patch(
        path,
        {
            "adapter": "webhook_json",
            "adapter_settings": {"url": "https://dash.example.vn/hook", "secret": "0123456789abcdef"},
        },
    )
    assert res.json["adapter_settings"] == {"url": "https://dash.example.vn/hook", "secret": "********"}
    assert "0123456789abcdef" not in api.get(path).text
    # what GET shows, sent back, keeps the secret
    res = api.patch(
        path, {"adapter_settings": {"url": "https://dash.example.vn/hook2", "secret": "********"}}
    )
    assert _unit_settings(web.app, STP)[1] == {
        "url": "https://dash.example.vn/hook2",
        "secret": "0123456789abcdef",
    }
    # another adapter: the old secret does not follow it
    api.patch(
        path,
        {"adapter": "edxml_push", "adapter_settings": {"url": "https://x.example.vn", "token": "********"}},
    )
    assert _unit_settings(web.app, STP) == ("edxml_push", {"url": "https://x.example.vn"})
