"""Signatures on the hub (R10.10, R7.4): signed at issue with the unit's key, verified once on arrival.

Real parts only: the PAdES plugin (pyHanko), a certomancer PKI with live OCSP/CRL over HTTP,
a SoftHSM2 token, and the demo site's document services.
"""

import io

import pytest

from lienthong.core import signing
from lienthong.core.errors import ServiceError
from lienthong.core.resources.registers import OUTGOING
from lienthong.core.services import attachments, documents as ds, signatures, trust_roots

from .support.app import close_app, login
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, VUNGTAU, Hub, actor, basic
from .support.pki import PASSPHRASE, pki  # noqa: F401  (fixture)
from .support.softhsm import softhsm_token  # noqa: F401  (fixture)

SECRET = "snv"
SETTINGS = {f"lienthong.signing.secret.{SECRET}": PASSPHRASE}


def signing_hub(demo_factory, pki, roots=True, **extra):
    hub = Hub(demo_factory(**dict(SETTINGS, **pki.key_settings, **extra)))
    if roots:
        hub.tx(lambda site: trust_roots.add_root(site, actor("admin"), pki.root_der))
    return hub


def set_key(hub, unit=SNV, **key):
    def run(site):
        signatures.set_key(
            site,
            actor("admin"),
            site["directory"][unit],
            dict({"secret_name": SECRET}, **key),
            hub.env.settings,
            operator=True,
        )

    hub.tx(run)


def token_settings(token, pin=None):
    return {
        "lienthong.signing.secret.snv-pin": pin or token.pin,
        "lienthong.signing.pkcs11_module": token.module,
    }


def p12_key(hub, pki, name="unit", unit=SNV):
    set_key(hub, unit, kind="pkcs12", path=pki.pkcs12(name))


def compose(hub, unit=SNV, who="vanthu.snv", files=None, **extra):
    def run(site):
        data = basic(**dict({"persons": ["chuyenvien.stttt"]}, **extra))
        attached = (
            files
            if files is not None
            else [("quyet-dinh.pdf", io.BytesIO(signatures.tiny_pdf("Quyet dinh")), "Quyết định")]
        )
        return ds.compose(site, hub.env, actor(who), site["directory"][unit], data, attached).id

    return hub.tx(run)


def issue(hub, name, who="vanthu.snv"):
    def run(site):
        return ds.issue(site, hub.env, actor(who), site["documents"][name]).id

    return hub.tx(run)


def send(hub, **kwargs):
    return issue(hub, compose(hub, **kwargs), kwargs.get("who", "vanthu.snv"))


def badges(hub, name):
    def read(site):
        document = site["documents"][name]
        return {
            key: [(r["badge"], r["target"]) for r in d.signatures] for key, d in document.deliveries.items()
        }

    return hub.tx(read)


def signed_elsewhere(pki, name, tamper=False):
    """A PDF signed outside the hub by ``name``'s certificate (optionally changed after signing)."""
    from lienthong.plugins.signing_pades.signer import PadesSigner

    key = signing.KeyRef(kind=signing.PKCS12, path=pki.pkcs12(name), secret_name="outside")
    data = PadesSigner().sign(
        signatures.tiny_pdf("LienThong"),
        key,
        {"lienthong.signing.secret.outside": PASSPHRASE, **pki.key_settings},
    )
    if tamper:
        assert data.count(b"LienThong") == 1
        data = data.replace(b"LienThong", b"LienThonG")
    return data


# -- signing at issue -------------------------------------------------------------------------
def test_a_clerk_issues_a_signed_pdf_and_every_recipient_sees_a_valid_badge(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    p12_key(hub, pki)
    original = signatures.tiny_pdf("Quyet dinh")
    name = send(hub)

    def check(site):
        document = site["documents"][name]
        attachment = document.attachments["quyet-dinh.pdf"]
        with attachments.open_attachment(site, hub.env, attachment) as f:
            data = f.read()
        assert data.startswith(original) and len(data) > len(original) and attachment.size == len(data)
        assert [(s["target"], s["format"]) for s in document.signatures_applied] == [
            ("quyet-dinh.pdf", "pades")
        ]
        assert document.signatures_applied[0]["sha256"] == attachment.sha256
        for key in (STTTT, VUNGTAU, "~chuyenvien.stttt"):
            delivery = document.deliveries[key]
            [report] = delivery.signatures
            assert (report["badge"], report["format"], report["target"]) == (
                "valid",
                "pades",
                "quyet-dinh.pdf",
            )
            assert report["signer"] == "Sở Nội vụ" and report["signed_at"] and delivery.signatures_checked_at
        assert [e["action"] for e in site["audit"].iter_entries()].count("document.sign") == 1

    hub.tx(check)


def test_a_unit_without_a_key_sends_unsigned(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    name = send(hub)
    assert badges(hub, name) == {STTTT: [], VUNGTAU: [], "~chuyenvien.stttt": []}
    assert hub.tx(lambda site: getattr(site["documents"][name], "signatures_applied", ())) == ()


def test_the_pdf_is_signed_with_a_key_on_a_softhsm_token(demo_factory, pki, softhsm_token):
    hub = signing_hub(demo_factory, pki, **token_settings(softhsm_token))
    set_key(
        hub,
        kind="pkcs11",
        path=softhsm_token.module,
        token_label=softhsm_token.token_label,
        key_label=softhsm_token.key_label,
        secret_name="snv-pin",
    )
    name = send(hub)
    assert badges(hub, name)[STTTT] == [("valid", "quyet-dinh.pdf")]


def _refused_and_unchanged(hub, name, *expected):
    before = hub.tx(
        lambda site: (site["documents"][name].attachments["quyet-dinh.pdf"].sha256, len(site["audit"]))
    )
    with pytest.raises(ServiceError) as refused:
        issue(hub, name)
    text = refused.value.text()
    for part in expected:
        assert part in text, text

    def check(site):
        document = site["documents"][name]
        assert (
            document.state == "draft"
            and not document.meta.get("code_number")
            and not len(document.deliveries)
        )
        assert document.attachments["quyet-dinh.pdf"].sha256 == before[0]
        assert getattr(document, "signatures_applied", ()) == ()
        register = site["directory"][SNV]["registers"].get_register(
            hub.env.today().year, OUTGOING, create=False
        )
        assert register is None or not list(register.rows())
        assert len(site["audit"]) == before[1]

    hub.tx(check)
    return refused.value


def test_a_wrong_passphrase_refuses_the_send_naming_the_document_and_stores_nothing(demo_factory, pki):
    hub = signing_hub(demo_factory, pki, **{"lienthong.signing.secret.snv": "wrong"})
    p12_key(hub, pki)
    name = compose(hub, subject="Quyết định về tổ chức bộ máy")
    error = _refused_and_unchanged(
        hub, name, "Quyết định về tổ chức bộ máy", "cannot be signed", "quyet-dinh.pdf", "passphrase"
    )
    assert error.field == "signature"


def _store_key_as_before_the_key_folder(hub, path):
    """A PKCS#12 path kept from before the rule: written to the trust store, as set_key did then."""
    from lienthong.core.resources.trust import trust_store

    key = signing.KeyRef(kind=signing.PKCS12, path=path, secret_name=SECRET)
    hub.tx(lambda site: trust_store(site).set_key(SNV, key.as_dict()))


def test_a_stored_key_path_outside_the_key_folder_is_never_opened(demo_factory, pki, tmp_path):
    """Issue 16: a path stored before the key folder existed signs nothing, neither at issue nor
    when the worker builds the edXML package; the refusal names the folder, never the file."""
    from lienthong.core.services import outbound

    outside = tmp_path / "outside.p12"
    with open(pki.pkcs12("unit"), "rb") as f:
        outside.write_bytes(f.read())  # a good key with the right passphrase, in the wrong place
    hub = signing_hub(demo_factory, pki)
    _store_key_as_before_the_key_folder(hub, str(outside))
    name = compose(hub, subject="Quyết định về khóa ngoài thư mục")
    error = _refused_and_unchanged(hub, name, "Quyết định về khóa ngoài thư mục", pki.key_dir)
    assert error.field == "signature" and str(outside) not in error.text()
    assert "Key files must be PKCS#12 files in the operator's key folder" in error.text()

    unsigned = signing_hub(demo_factory, pki)  # what the worker does: build the package to send
    name = send(unsigned, persons=[])
    _store_key_as_before_the_key_folder(unsigned, str(outside))

    def build(site):
        document = site["documents"][name]
        message = outbound.Message(
            "document", name, document.document_id, STTTT, SNV, "edxml_push", {}, "2026-01-01T00:00:00Z"
        )
        return outbound.payload(site, unsigned.env, message, site["directory"][STTTT])

    with pytest.raises(ServiceError) as refused:
        unsigned.tx(build)
    assert "cannot be signed" in refused.value.text() and pki.key_dir in refused.value.text()
    assert str(outside) not in refused.value.text()


def test_a_token_that_is_gone_refuses_the_send(demo_factory, pki, softhsm_token):
    hub = signing_hub(demo_factory, pki, **token_settings(softhsm_token))
    set_key(
        hub,
        kind="pkcs11",
        path=softhsm_token.module,
        token_label="unplugged-token",
        key_label=softhsm_token.key_label,
        secret_name="snv-pin",
    )
    _refused_and_unchanged(hub, compose(hub), "cannot be signed", "unplugged-token")


def test_a_wrong_pin_on_the_token_refuses_the_send(demo_factory, pki, softhsm_token):
    hub = signing_hub(demo_factory, pki, **token_settings(softhsm_token, "000000"))
    set_key(
        hub,
        kind="pkcs11",
        path=softhsm_token.module,
        token_label=softhsm_token.token_label,
        key_label=softhsm_token.key_label,
        secret_name="snv-pin",
    )
    _refused_and_unchanged(hub, compose(hub), "cannot be signed", "PIN")


def test_an_expired_signing_certificate_refuses_the_send(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    p12_key(hub, pki, "expired")
    _refused_and_unchanged(hub, compose(hub), "cannot be signed", "expired")


# -- the unit policy "must sign" ------------------------------------------------------------
def _must_sign(hub):
    hub.tx(lambda site: site["directory"][SNV].policies.__setitem__("must_sign", True))


def test_must_sign_without_a_key_refuses_with_a_reason(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    _must_sign(hub)
    error = _refused_and_unchanged(hub, compose(hub), "digital signature", "no signing key")
    assert error.field == "validation"


def test_must_sign_without_a_pdf_refuses_with_a_reason(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    _must_sign(hub)
    p12_key(hub, pki)
    name = compose(hub, files=[])
    with pytest.raises(ServiceError, match="attach the document as a PDF"):
        issue(hub, name)
    assert hub.tx(lambda site: site["documents"][name].state) == "draft"


def test_must_sign_with_a_key_issues_signed(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    _must_sign(hub)
    p12_key(hub, pki)
    name = send(hub)
    assert badges(hub, name)[VUNGTAU] == [("valid", "quyet-dinh.pdf")]


# -- what the recipient sees ------------------------------------------------------------------
@pytest.mark.parametrize(
    "signer,tamper,badge",
    [
        ("unit", True, "modified"),  # changed after signing
        ("revoked", False, "revoked"),  # live OCSP from the test PKI
        ("revoked_crl", False, "revoked"),  # live CRL from the test PKI
        ("selfsigned", False, "untrusted"),
        ("person", False, "valid"),
    ],
)
def test_the_recipient_sees_what_the_signature_is(demo_factory, pki, signer, tamper, badge):
    hub = signing_hub(demo_factory, pki)
    data = signed_elsewhere(pki, signer, tamper)
    name = send(
        hub,
        unit=STTTT,
        who="vanthu.stttt",
        recipients=[SNV],
        persons=[],
        files=[("to-trinh.pdf", io.BytesIO(data), "")],
    )
    assert badges(hub, name) == {SNV: [(badge, "to-trinh.pdf")]}


def test_without_the_operators_root_a_good_signature_is_untrusted_and_a_units_root_trusts_it(
    demo_factory, pki
):
    hub = signing_hub(demo_factory, pki, roots=False)
    hub.tx(lambda site: trust_roots.add_root(site, actor("quantri.snv"), pki.root_der, unit_code=SNV))
    data = signed_elsewhere(pki, "unit")
    name = send(
        hub,
        unit=STTTT,
        who="vanthu.stttt",
        recipients=[SNV, VUNGTAU],
        persons=[],
        files=[("to-trinh.pdf", io.BytesIO(data), "")],
    )
    assert badges(hub, name) == {SNV: [("valid", "to-trinh.pdf")], VUNGTAU: [("untrusted", "to-trinh.pdf")]}


def test_verification_is_kept_and_not_repeated_when_the_page_is_viewed(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    p12_key(hub, pki)
    name = send(hub)
    checked = hub.tx(lambda site: site["documents"][name].deliveries[STTTT].signatures_checked_at)
    # the operator stops trusting the root: what was recorded on arrival stays as it was
    hub.tx(lambda site: trust_roots.remove_root(site, actor("admin"), trust_roots.fingerprint(pki.root_der)))
    login(hub.web, "vanthu.stttt")
    page = hub.web.get(f"/documents/{name}")
    badge = page.html.select_one("#attachments .sig-badge")
    assert "sig-valid" in badge["class"] and "Sở Nội vụ" in badge.parent.text
    assert hub.tx(lambda site: site["documents"][name].deliveries[STTTT].signatures_checked_at) == checked


class CountingSigner(signing.Signer):
    """The real PAdES signer, counting its verifications."""

    def __init__(self):
        from lienthong.plugins.signing_pades.signer import PadesSigner

        self.real = PadesSigner()
        self.name, self.format = self.real.name, self.real.format
        self.verified = 0

    def handles(self, name, mime_type):
        return self.real.handles(name, mime_type)

    def sign(self, data, key, settings, **kw):
        return self.real.sign(data, key, settings, **kw)

    def verify(self, data, trust, settings):
        self.verified += 1
        return self.real.verify(data, trust, settings)


def test_a_fan_out_to_units_that_share_their_trust_verifies_once(demo_factory, pki):
    from webtest import TestApp

    from lienthong.core import make_config
    from lienthong.core.hookspecs import hookimpl

    counting = CountingSigner()

    class Plugin:
        @hookimpl
        def lienthong_signers(self):
            return [counting]

    web = demo_factory(
        **dict(SETTINGS, **pki.key_settings, **{"lienthong.plugins.disabled": "signing_pades"})
    )
    settings = dict(web.app.registry.settings)
    close_app(web.app)
    hub = Hub(TestApp(make_config(settings, plugins=[Plugin()]).make_wsgi_app()))
    try:
        hub.tx(lambda site: trust_roots.add_root(site, actor("admin"), pki.root_der))
        p12_key(hub, pki)
        name = send(hub, recipients=[], groups=["all_districts", "all_departments"])
        found = badges(hub, name)
        assert len(found) > 20 and all(v == [("valid", "quyet-dinh.pdf")] for v in found.values())
        assert counting.verified == 1
    finally:
        close_app(hub.app)


def test_the_document_page_and_the_api_show_the_badges(demo_factory, pki):
    hub = signing_hub(demo_factory, pki)
    p12_key(hub, pki)
    name = send(hub)
    login(hub.web, "vanthu.stttt")
    page = hub.web.get(f"/documents/{name}")
    badge = page.html.select_one(".sig-badge.sig-valid")
    assert badge is not None and badge.text.strip()
    assert "Sở Nội vụ" in page.html.select_one(".signatures").text
    hub.web.reset()
    login(hub.web, "vanthu.snv")
    sender = hub.web.get(f"/documents/{name}")
    assert "quyet-dinh.pdf" in sender.html.select_one("#signed-at-issue").text


def test_the_api_shows_the_kept_signatures_of_the_callers_delivery(demo_factory, pki):
    from lienthong.core.services import audit, tokens

    hub = signing_hub(demo_factory, pki)
    p12_key(hub, pki)
    name = send(hub)
    secret = hub.tx(lambda site: tokens.create(site, audit.Actor.system("test"), STTTT, "iOffice")[1])
    document = hub.web.get(f"/api/v1/documents/{name}", headers={"Authorization": f"Bearer {secret}"}).json
    [delivery] = document["deliveries"]
    assert delivery["key"] == STTTT and delivery["signatures_checked_at"]
    [report] = delivery["signatures"]
    assert report == {
        "badge": "valid",
        "format": "pades",
        "target": "quyet-dinh.pdf",
        "signer": "Sở Nội vụ",
        "issuer": "LienThong Test Issuing CA",
        "serial": report["serial"],
        "signed_at": report["signed_at"],
        "timestamped": False,
        "reason": "",
    }
    assert report["serial"] and report["signed_at"]
    schema = hub.web.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "signatures" in schema["Delivery"]["properties"] and "SignatureReport" in schema


# -- edXML packages ---------------------------------------------------------------------------
def _export(hub, name):
    from lienthong.core.services import edxml_io

    return hub.tx(lambda site: edxml_io.export_document(site, hub.env, site["documents"][name]))


def _import(hub, package):
    from lienthong.core.services import edxml_io

    def run(site):
        document = edxml_io.import_package(
            site, hub.env, actor("vanthu.snv"), site["directory"][SNV], io.BytesIO(package)
        )
        return (
            [(r["badge"], r["target"], r["format"]) for r in getattr(document, "envelope_signatures", ())],
            {k: [r["badge"] for r in d.signatures] for k, d in document.deliveries.items()},
        )

    return hub.tx(run)


def test_an_exported_package_is_signed_and_verified_on_import_elsewhere(demo_factory, pki):
    source = signing_hub(demo_factory, pki)
    p12_key(source, pki)
    package = _export(source, send(source, persons=[]))
    assert b"Signature" in package and b"SignatureValue" in package
    elsewhere = signing_hub(demo_factory, pki)  # another hub: SNV has no key there
    envelope, deliveries = _import(elsewhere, package)
    assert envelope == [("valid", "edxml", "xmldsig")]
    assert deliveries == {STTTT: ["valid"], VUNGTAU: ["valid"]}  # the PDFs keep the source hub's signature


def test_a_package_changed_after_signing_shows_as_modified(demo_factory, pki):
    source = signing_hub(demo_factory, pki)
    p12_key(source, pki)
    package = _export(source, send(source, persons=[]))
    assert b"ban h" in package
    tampered = package.replace(b"ban h", b"BAN h", 1)
    envelope, _deliveries = _import(signing_hub(demo_factory, pki), tampered)
    assert envelope == [("modified", "edxml", "xmldsig")]


def test_an_unsigned_package_has_no_envelope_badge(demo_factory, pki):
    source = signing_hub(demo_factory, pki)
    package = _export(source, send(source, persons=[]))
    assert b"SignatureValue" not in package
    assert _import(signing_hub(demo_factory, pki), package) == ([], {STTTT: [], VUNGTAU: []})


# -- the demo ---------------------------------------------------------------------------------
def test_in_the_demo_a_clerk_issues_a_signed_pdf_and_the_recipient_sees_a_valid_badge(tmp_path):
    """Done-when of issue #6, end to end: `lienthong init --demo`, then the web pages."""
    import re

    from webtest import TestApp

    from .support import cli
    from .support.app import base_settings, csrf_of, file_uri, free_port, make_app

    ini = cli.write_ini(tmp_path / "site.ini", file_uri(tmp_path / "var"), port=free_port())
    env = cli.clean_env(
        LIENTHONG_DEMO_PASSWORD="Demo-mat-khau-2024", LIENTHONG_SIGNING_SECRET_DEMO_SNV="demo-pass"
    )
    done = cli.run(["init", "--demo"], ini, env=env)
    assert done.returncode == 0, done.stderr
    # in the operator's key folder, by default keys/ next to the Data.fs
    assert "Sở Nội vụ signs with" in done.stdout
    assert (tmp_path / "var" / "keys" / "demo-pki" / "snv.p12").exists()

    app = make_app(base_settings(tmp_path / "var", **{"lienthong.signing.secret.demo-snv": "demo-pass"}))
    try:
        web = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        login(web, "vanthu.snv", "Demo-mat-khau-2024")
        form = web.get(f"/directory/{SNV}/mailbox/compose")
        sent = web.post(
            f"/directory/{SNV}/mailbox/compose",
            [
                ("csrf_token", csrf_of(form)),
                ("doc_type", "CV"),
                ("subject", "Về việc thử chữ ký số"),
                ("recipients", STTTT),
                ("priority", "0"),
                ("steering_type", "0"),
                ("business_doc_type", "0"),
                ("do", "issue"),
            ],
            upload_files=[("attachments", "cong-van.pdf", signatures.tiny_pdf("Cong van"))],
            status=303,
        )
        name = re.search(r"/documents/([0-9a-f]+)", sent.location).group(1)
        assert "cong-van.pdf" in web.get(sent.location).html.select_one("#signed-at-issue").text
        web.reset()
        login(web, "vanthu.stttt", "Demo-mat-khau-2024")
        page = web.get(f"/documents/{name}")
        badge = page.html.select_one("#attachments .sig-badge")
        assert "sig-valid" in badge["class"] and "Sở Nội vụ" in badge.parent.text
    finally:
        close_app(app)
