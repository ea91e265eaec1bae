"""The management screens of digital signatures (R10.10): trust roots, a unit's key, the key test."""

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from .support.app import csrf_of, login, with_site
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)
from .support.pki import PASSPHRASE, pki  # noqa: F401  (fixture)

SNV = "000.00.02.H49"
STTTT = "000.00.12.H49"


@pytest.fixture
def web(demo_factory, pki):
    """The demo site, its operator's key folder the one of the test PKI's PKCS#12 files."""
    return demo_factory(**pki.key_settings)


def pem(der):
    lines = base64.encodebytes(der).decode().replace("\n", "")
    body = "\n".join(lines[i : i + 64] for i in range(0, len(lines), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()


def ca_certificate(days, name="Sắp Hết Hạn CA"):
    """A self-signed CA certificate valid for ``days`` more days (DER)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def upload(web, url, page_url, data, filename="root.pem", status=303):
    page = web.get(page_url)
    return web.post(
        url, {"csrf_token": csrf_of(page)}, upload_files=[("certificate", filename, data)], status=status
    )


def stored_roots(web, unit_code=None):
    from lienthong.core.services import trust_roots

    return with_site(web.app, lambda site: [r.subject for r in trust_roots.roots(site, unit_code)])


def test_the_operator_uploads_roots_and_sees_their_expiry(web, pki):
    login(web, "admin")
    upload(web, "/manage/signing", "/manage/signing", pem(pki.root_der))
    upload(web, "/manage/signing", "/manage/signing", ca_certificate(10), filename="soon.der")
    page = web.get("/manage/signing")
    assert "LienThong Test Root CA" in page.text and "Sắp Hết Hạn CA" in page.text
    rows = page.html.select("#root-list tbody tr")
    assert len(rows) == 2
    soon = next(r for r in rows if "Sắp Hết Hạn" in r.text)
    assert "expiry-expiring" in soon.get("class") and soon.select(".state-scheduled")
    root = next(r for r in rows if "Test Root" in r.text)
    assert not root.get("class") and not root.select(".state")
    added = [e for e in audit_entries(web) if e["action"] == "signing.root.add"]
    assert len(added) == 2 and added[0]["actor"] == "admin" and added[0]["details"]["fingerprint"]
    assert web.get("/manage").html.select_one("#link-signing")["href"].endswith("/manage/signing")


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"this is not a certificate", "not a certificate"),
        (b"", "Choose a certificate file"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_stored(web, data, expected):
    login(web, "admin")
    page = web.get("/manage/signing")
    response = web.post(
        "/manage/signing",
        {"csrf_token": csrf_of(page)},
        upload_files=[("certificate", "x.pem", data)],
        status=400,
    )
    assert response.html.select_one("#error-certificate") is not None
    assert stored_roots(web) == []
    assert not [e for e in audit_entries(web) if e["action"].startswith("signing.")]


def test_a_leaf_or_expired_certificate_is_not_a_root(web, pki):
    login(web, "admin")
    response = upload(web, "/manage/signing", "/manage/signing", pki.cert_der("unit"), status=400)
    assert response.html.select_one("#error-certificate")
    response = upload(
        web, "/manage/signing", "/manage/signing", ca_certificate(-1, "Đã Hết Hạn CA"), status=400
    )
    assert response.html.select_one("#error-certificate")
    assert stored_roots(web) == []


def test_the_operator_removes_a_root_audited(web, pki):
    login(web, "admin")
    upload(web, "/manage/signing", "/manage/signing", pki.root_der, filename="root.der")
    page = web.get("/manage/signing")
    form = page.forms[[k for k, f in page.forms.items() if "/remove" in (f.action or "")][0]]
    form.submit(status=303)
    assert stored_roots(web) == []
    removed = [e for e in audit_entries(web) if e["action"] == "signing.root.remove"]
    assert len(removed) == 1 and "LienThong Test Root CA" in removed[0]["details"]["subject"]


def test_the_unit_admin_sets_the_units_key_and_roots(web, pki):
    login(web, "quantri.snv")
    web.get(f"/manage/units/{SNV}").html.select_one("#link-unit-signing")
    page = web.get(f"/manage/units/{SNV}/signing")
    form = page.forms["key-form"]
    form["kind"] = "pkcs12"
    form["path"] = pki.pkcs12("unit")
    form["secret_name"] = "demo-snv"  # not the unit's own secret name: refused
    refused = form.submit(status=400)
    assert refused.html.select_one("#error-secret_name")
    form = refused.forms["key-form"]
    form["secret_name"] = f"{SNV}-p12"
    form.submit(status=303)
    upload(
        web, f"/manage/units/{SNV}/signing/roots", f"/manage/units/{SNV}/signing", pem(pki.intermediate_der)
    )

    from lienthong.core.services import signatures

    key = with_site(web.app, lambda site: signatures.key_for(site, SNV))
    assert (key.kind, key.path, key.secret_name) == ("pkcs12", pki.pkcs12("unit"), f"{SNV}-p12")
    assert stored_roots(web, SNV) and stored_roots(web) == []
    page = web.get(f"/manage/units/{SNV}/signing")
    current = page.html.select_one("#current-key").text
    assert f"{SNV}-p12" in current and "pkcs12:" not in current  # the file named as people say it
    assert "PKCS#12" in current and key.path.rsplit("/", 1)[-1] in current
    actions = [e["action"] for e in audit_entries(web)]
    assert "signing.key.set" in actions and "signing.root.add" in actions
    key_entry = [e for e in audit_entries(web) if e["action"] == "signing.key.set"][0]
    assert key_entry["actor"] == "quantri.snv" and key_entry["target"] == f"/directory/{SNV}"


def test_a_pkcs11_module_must_be_allowed(web):
    login(web, "admin")
    page = web.get(f"/manage/units/{SNV}/signing")
    form = page.forms["key-form"]
    form["kind"] = "pkcs11"
    form["path"] = "/tmp/evil.so"
    form["token_label"], form["key_label"], form["secret_name"] = "t", "k", "pin"
    assert form.submit(status=400).html.select_one("#error-path")
    from lienthong.core.services import signatures

    assert with_site(web.app, lambda site: signatures.key_for(site, SNV)) is None


def test_another_units_admin_and_a_clerk_are_refused(web, pki):
    login(web, "quantri.stttt")
    web.get(f"/manage/units/{SNV}/signing", status=403)
    own = web.get(f"/manage/units/{STTTT}/signing")
    web.post(
        f"/manage/units/{SNV}/signing",
        {"csrf_token": csrf_of(own), "kind": "pkcs12", "path": "/x.p12", "secret_name": f"{SNV}"},
        status=403,
    )
    web.post(f"/manage/units/{SNV}/signing/test", {"csrf_token": csrf_of(own)}, status=403)
    web.get("/manage/signing", status=403)
    web.post("/manage/signing", {"csrf_token": csrf_of(own)}, status=403)
    web.reset()
    login(web, "vanthu.snv")
    web.get(f"/manage/units/{SNV}/signing", status=403)


def test_forms_without_csrf_are_refused(web, pki):
    login(web, "admin")
    web.post("/manage/signing", {}, upload_files=[("certificate", "r.der", pki.root_der)], status=400)
    web.post(f"/manage/units/{SNV}/signing", {"kind": "", "secret_name": ""}, status=400)
    assert stored_roots(web) == []


def set_key_directly(web, key):
    from lienthong.core.services import audit, signatures

    settings = web.app.registry.settings
    with_site(
        web.app,
        lambda site: signatures.set_key(
            site, audit.Actor("admin"), site["directory"][SNV], key, settings, operator=True
        ),
    )


def test_testing_the_key_shows_the_certificate(demo_factory, pki, monkeypatch):
    monkeypatch.setenv("LIENTHONG_SIGNING_SECRET_SNV_TEST", PASSPHRASE)
    web = demo_factory(**{"lienthong.signing.fetch": "false"}, **pki.key_settings)
    set_key_directly(web, {"kind": "pkcs12", "path": pki.pkcs12("unit"), "secret_name": "snv-test"})
    login(web, "quantri.snv")
    page = web.get(f"/manage/units/{SNV}/signing")
    result = page.forms["test-form"].submit(status=200)
    assert "Sở Nội vụ" in result.html.select_one("#test-signer").text
    assert result.html.select_one("#test-result .time")  # the certificate's expiry


def test_testing_a_key_with_a_wrong_pin_says_so(demo_factory, pki, monkeypatch):
    monkeypatch.setenv("LIENTHONG_SIGNING_SECRET_SNV_TEST", "not-the-passphrase")
    web = demo_factory(**{"lienthong.signing.fetch": "false"}, **pki.key_settings)
    set_key_directly(web, {"kind": "pkcs12", "path": pki.pkcs12("unit"), "secret_name": "snv-test"})
    login(web, "quantri.snv")
    page = web.get(f"/manage/units/{SNV}/signing")
    result = page.forms["test-form"].submit(status=400)
    message = result.html.select_one("#test-result .error").text
    assert message.strip()
    assert not result.html.select_one("#test-signer")


# -- the operator's key folder (issue 16) ----------------------------------------------------
KEY_FOLDER_MESSAGE = (
    "Tệp khóa phải là tệp PKCS#12 nằm trong thư mục khóa của đơn vị vận hành {dir}; "
    "đề nghị liên hệ đơn vị vận hành để đặt tệp vào thư mục này."
)


def _outside_paths(pki, tmp_path):
    """Paths a unit admin might try: each names a readable file, or none, outside the key folder."""
    import os

    outside = tmp_path / "outside.p12"
    with open(pki.pkcs12("unit"), "rb") as f:
        outside.write_bytes(f.read())  # a good key, only in the wrong place
    link = os.path.join(pki.key_dir, f"escape-{tmp_path.name}.p12")
    os.symlink(outside, link)
    return {
        "system file": "/etc/passwd",
        "dot-dot": os.path.join(pki.key_dir, "..", os.path.relpath(outside, os.path.dirname(pki.key_dir))),
        "symbolic link": link,
        "missing inside": os.path.join(pki.key_dir, "no-such-key.p12"),
        "the folder itself": pki.key_dir,
    }


def test_a_key_path_outside_the_key_folder_is_refused_in_one_message(web, pki, tmp_path):
    """Outside the folder, through .. or a link, or no file at all: the same words beside the field
    (nothing tells what exists on the server), the form kept, nothing stored, nothing audited."""
    from lienthong.core.services import signatures

    login(web, "quantri.snv")
    before = len(audit_entries(web))
    messages = set()
    for what, path in _outside_paths(pki, tmp_path).items():
        page = web.get(f"/manage/units/{SNV}/signing")
        form = page.forms["key-form"]
        form["kind"], form["path"], form["secret_name"] = "pkcs12", path, f"{SNV}-p12"
        refused = form.submit(status=400)
        error = refused.html.select_one("#error-path")
        assert error is not None, what
        messages.add(error.text.strip())
        assert refused.forms["key-form"]["path"].value == path, what  # the form kept
    assert messages == {KEY_FOLDER_MESSAGE.format(dir=pki.key_dir)}
    assert with_site(web.app, lambda site: signatures.key_for(site, SNV)) is None
    assert len(audit_entries(web)) == before


def test_the_default_key_folder_is_keys_in_the_var_directory(demo_factory, pki):
    """Without the setting the folder is keys/ next to the Data.fs: the PKI's files are refused."""
    import os

    from lienthong.core import signing

    web = demo_factory()
    settings = web.app.registry.settings
    data_fs = settings["zodbconn.uri"][len("file://") :].split("?")[0]
    assert signing.key_dir(settings) == os.path.join(os.path.dirname(data_fs), "keys")
    login(web, "admin")
    form = web.get(f"/manage/units/{SNV}/signing").forms["key-form"]
    form["kind"], form["path"], form["secret_name"] = "pkcs12", pki.pkcs12("unit"), "snv-p12"
    error = form.submit(status=400).html.select_one("#error-path").text.strip()
    assert error == KEY_FOLDER_MESSAGE.format(dir=signing.key_dir(settings))


def test_testing_a_stored_key_outside_the_key_folder_says_the_folder(
    demo_factory, pki, tmp_path, monkeypatch
):
    """A path kept from before the rule is not opened by the key test either."""
    from lienthong.core import signing
    from lienthong.core.resources.trust import trust_store

    monkeypatch.setenv("LIENTHONG_SIGNING_SECRET_SNV_TEST", PASSPHRASE)
    web = demo_factory(**{"lienthong.signing.fetch": "false"}, **pki.key_settings)
    outside = _outside_paths(pki, tmp_path)["dot-dot"]
    key = signing.KeyRef(kind=signing.PKCS12, path=outside, secret_name="snv-test")
    with_site(web.app, lambda site: trust_store(site).set_key(SNV, key.as_dict()))
    login(web, "quantri.snv")
    result = web.get(f"/manage/units/{SNV}/signing").forms["test-form"].submit(status=400)
    message = result.html.select_one("#test-result .error").text
    assert KEY_FOLDER_MESSAGE.format(dir=pki.key_dir) in message and "outside.p12" not in message
    assert not result.html.select_one("#test-signer")
