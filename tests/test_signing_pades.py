"""PAdES signatures on PDFs (R10.10, R7.4): PKCS#12 and a real SoftHSM2 token, a live test PKI.

Revocation is checked over HTTP against certomancer's OCSP responder and CRL repository,
timestamps come from its RFC 3161 service; nothing is mocked.
"""

import io
import os
import shutil
import subprocess
from datetime import timedelta

import pytest

from lienthong.core.signing import (
    EXPIRED,
    INVALID,
    KEY_PATH_REFUSED,
    MODIFIED,
    PKCS11,
    REVOKED,
    UNTRUSTED,
    VALID,
    KeyRef,
    SigningError,
    Trust,
)
from lienthong.plugins.signing_pades.signer import PadesSigner
from tests.support.pki import PASSPHRASE, pki, sample_pdf  # noqa: F401 (fixture)
from tests.support.softhsm import softhsm_token  # noqa: F401 (fixture)

SIGNER = PadesSigner()


@pytest.fixture
def settings(pki):
    return {
        "lienthong.signing.secret.p12": PASSPHRASE,
        "lienthong.signing.tsa_url": pki.tsa_url,
        **pki.key_settings,
    }


def p12(pki, name, **extra):
    return KeyRef(path=pki.pkcs12(name), secret_name="p12", **extra)


def token_key(token, **extra):
    values = dict(
        kind=PKCS11,
        path=token.module,
        token_label=token.token_label,
        key_label=token.key_label,
        secret_name="hsm",
    )
    values.update(extra)
    return KeyRef(**values)


def token_settings(token, pin=None):
    return {"lienthong.signing.secret.hsm": pin or token.pin}


def only(reports):
    assert len(reports) == 1, reports
    return reports[0]


def test_handles_pdfs_only():
    assert SIGNER.handles("qd.pdf", "application/octet-stream")
    assert SIGNER.handles("qd", "application/pdf")
    assert not SIGNER.handles(
        "qd.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert (SIGNER.name, SIGNER.format) == ("pades", "pdf")


def test_pkcs12_signature_is_valid_timestamped_and_visible(pki, settings):
    from pyhanko.pdf_utils.reader import PdfFileReader

    pdf = sample_pdf()
    signed = SIGNER.sign(
        pdf,
        p12(pki, "unit", stamp=True, position="Giám đốc", stamp_box=(300, 40, 560, 120)),
        settings,
        reason="Ban hành",
        location="Bà Rịa - Vũng Tàu",
    )
    assert signed.startswith(pdf)  # an incremental update: the original bytes stay
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert report.badge == VALID, report
    assert report.signer == "Sở Nội vụ"
    assert report.issuer == "LienThong Test Issuing CA"
    assert report.serial == format(pki.cert("unit").serial_number, "x")
    assert report.timestamped and report.details["timestamp_valid"]
    assert report.signed_at.startswith(str(pki.now.year))
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert sig.sig_object["/Reason"] == "Ban hành"
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES baseline
    widget = sig.sig_field["/Kids"][0] if "/Kids" in sig.sig_field else sig.sig_field
    assert [int(v) for v in widget["/Rect"]] == [300, 40, 560, 120]
    assert "/AP" in widget  # a visible appearance


def test_without_tsa_no_timestamp(pki):
    signed = SIGNER.sign(
        sample_pdf(), p12(pki, "person"), {"lienthong.signing.secret.p12": PASSPHRASE, **pki.key_settings}
    )
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert report.badge == VALID and not report.timestamped and report.signer == "Nguyễn Văn An"


def test_softhsm_token_signature_is_valid(pki, softhsm_token):
    signed = SIGNER.sign(
        sample_pdf(),
        token_key(softhsm_token, stamp=True),
        dict(token_settings(softhsm_token), **{"lienthong.signing.tsa_url": pki.tsa_url}),
    )
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert (report.badge, report.signer, report.timestamped) == (VALID, "Sở Nội vụ", True)


def test_module_from_settings(pki, softhsm_token):
    key = token_key(softhsm_token, path="")
    settings = dict(
        token_settings(softhsm_token), **{"lienthong.signing.pkcs11_module": softhsm_token.module}
    )
    assert only(SIGNER.verify(SIGNER.sign(sample_pdf(), key, settings), pki.trust(), {})).badge == VALID


def test_changed_byte_after_signing_is_modified(pki, settings):
    signed = SIGNER.sign(sample_pdf("Quyet dinh so 12"), p12(pki, "unit"), settings)
    at = signed.index(b"Quyet dinh so 12")
    tampered = signed[:at] + b"Quyet dinh so 13" + signed[at + 16 :]
    report = only(SIGNER.verify(tampered, pki.trust(), {}))
    assert report.badge == MODIFIED and report.signer == "Sở Nội vụ"


def test_content_appended_after_signing_is_modified(pki, settings):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = SIGNER.sign(sample_pdf(), p12(pki, "unit"), settings)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.pdf_name("/Contents")] = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    assert only(SIGNER.verify(out.getvalue(), pki.trust(), {})).badge == MODIFIED


def test_second_signature_leaves_the_first_valid(pki, settings):
    once = SIGNER.sign(sample_pdf(), p12(pki, "person"), settings)
    twice = SIGNER.sign(once, p12(pki, "unit", stamp=True), settings)
    reports = SIGNER.verify(twice, pki.trust(), {})
    assert [(r.badge, r.signer) for r in reports] == [(VALID, "Nguyễn Văn An"), (VALID, "Sở Nội vụ")]
    assert [r.details["field"] for r in reports] == ["Signature1", "Signature2"]


@pytest.mark.parametrize("name", ["revoked", "revoked_crl"], ids=["ocsp", "crl"])
def test_revoked_signer_is_revoked(pki, settings, name):
    signed = SIGNER.sign(sample_pdf(), p12(pki, name), settings)
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert report.badge == REVOKED, report
    assert report.signer == pki.names[name]


def test_self_signed_and_unknown_root_are_untrusted(pki, settings):
    signed = SIGNER.sign(sample_pdf(), p12(pki, "selfsigned"), settings)
    assert only(SIGNER.verify(signed, pki.trust(), {})).badge == UNTRUSTED
    good = SIGNER.sign(sample_pdf(), p12(pki, "unit"), settings)
    other_root = Trust(roots=[pki.cert_der("selfsigned")])
    assert only(SIGNER.verify(good, other_root, {})).badge == UNTRUSTED
    assert only(SIGNER.verify(good, Trust(roots=[]), {})).badge == UNTRUSTED


def test_offline_verification_does_not_crash(pki, settings):
    """No fetching (or an unreachable responder): soft-fail, the signature still reads as valid."""
    signed = SIGNER.sign(sample_pdf(), p12(pki, "unit"), settings)
    assert only(SIGNER.verify(signed, pki.trust(fetch=False), {})).badge == VALID


def test_expired_certificate_refused_at_signing(pki, settings):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(sample_pdf(), p12(pki, "expired"), settings)
    assert "expired" in str(info.value.message)
    assert info.value.mapping["date"] == pki.cert("expired").not_valid_after_utc.date().isoformat()


def test_signature_made_with_a_since_expired_certificate_is_expired(pki):
    """Signed (per its claimed time) while the certificate was valid, no timestamp: now EXPIRED."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    class PastSigner(signers.PdfSigner):
        def init_signing_session(self, pdf_out, existing_fields_only=False):
            session = super().init_signing_session(pdf_out, existing_fields_only)
            session.system_time = pki.cert("expired").not_valid_after_utc - timedelta(days=30)
            return session

    signer = signers.SimpleSigner.load_pkcs12(pki.pkcs12("expired"), passphrase=PASSPHRASE.encode())
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
    out = PastSigner(meta, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(sample_pdf())))
    report = only(SIGNER.verify(out.getvalue(), pki.trust(), {}))
    assert report.badge == EXPIRED, report
    assert report.signed_at.startswith(str(pki.cert("expired").not_valid_after_utc.year))


def test_wrong_pin_is_a_clear_error(pki, softhsm_token):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(sample_pdf(), token_key(softhsm_token), token_settings(softhsm_token, pin="000000"))
    assert info.value.message == "Wrong PIN for the token ${token}."
    assert info.value.mapping == {"token": softhsm_token.token_label}


def test_token_not_present_is_a_clear_error(pki, softhsm_token):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(
            sample_pdf(), token_key(softhsm_token, token_label="no-such-token"), token_settings(softhsm_token)
        )
    assert "not present" in str(info.value.message)
    assert info.value.mapping == {"token": "no-such-token"}


def test_token_removed_is_a_clear_error(pki, softhsm_token):
    """A second token whose directory is deleted (the slot is gone) cannot sign."""
    env = dict(os.environ)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            "gone",
            "--pin",
            "1111",
            "--so-pin",
            "22222222",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    for entry in os.listdir(softhsm_token.token_dir):
        path = os.path.join(softhsm_token.token_dir, entry)
        with open(os.path.join(path, "token.object"), "rb") as f:
            if b"gone" in f.read():
                shutil.rmtree(path)
    with pytest.raises(SigningError) as info:
        SIGNER.sign(
            sample_pdf(),
            token_key(softhsm_token, token_label="gone"),
            {"lienthong.signing.secret.hsm": "1111"},
        )
    assert "not present" in str(info.value.message)


def test_key_label_not_on_token(pki, softhsm_token):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(sample_pdf(), token_key(softhsm_token, key_label="other"), token_settings(softhsm_token))
    assert info.value.message == "No private key labelled ${label} on the token ${token}."


def test_missing_module(pki):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(sample_pdf(), KeyRef(kind=PKCS11, path="/nonexistent/libpkcs11.so", token_label="t"), {})
    assert "not installed" in str(info.value.message)


def test_pkcs12_problems(pki, settings, tmp_path):
    missing = os.path.join(pki.key_dir, "none.p12")
    with pytest.raises(SigningError) as info:
        SIGNER.sign(sample_pdf(), KeyRef(path=missing, secret_name="p12"), settings)
    assert info.value.message == KEY_PATH_REFUSED and info.value.mapping == {"dir": pki.key_dir}
    with pytest.raises(SigningError) as info:
        SIGNER.sign(
            sample_pdf(), p12(pki, "unit"), {"lienthong.signing.secret.p12": "wrong", **pki.key_settings}
        )
    assert "wrong passphrase" in str(info.value.message)
    with pytest.raises(SigningError) as info:
        SIGNER.sign(
            sample_pdf(), KeyRef(path=pki.pkcs12("unit"), secret_name="unset-secret"), pki.key_settings
        )
    assert info.value.mapping == {"name": "unset-secret"}


def test_a_key_file_outside_the_key_folder_is_never_opened(pki, settings, tmp_path):
    """Issue 16: a stored path from before the key folder (or a link put there since) is refused
    when the key is opened, in the same words as a missing file."""
    outside = tmp_path / "outside.p12"
    with open(pki.pkcs12("unit"), "rb") as f:
        outside.write_bytes(f.read())  # a good PKCS#12 file, only in the wrong place
    link = os.path.join(pki.key_dir, "link-out.p12")
    if not os.path.lexists(link):
        os.symlink(outside, link)
    escape = os.path.join(pki.key_dir, "..", os.path.relpath(outside, os.path.dirname(pki.key_dir)))
    assert os.path.isfile(escape)
    for path in (str(outside), link, escape):
        with pytest.raises(SigningError) as info:
            SIGNER.sign(sample_pdf(), KeyRef(path=path, secret_name="p12"), settings)
        assert info.value.message == KEY_PATH_REFUSED, path
    with pytest.raises(SigningError) as info:  # the default folder (var/keys): not this PKI's
        SIGNER.sign(sample_pdf(), p12(pki, "unit"), {"lienthong.signing.secret.p12": PASSPHRASE})
    assert info.value.message == KEY_PATH_REFUSED


def test_secret_from_environment(pki, monkeypatch):
    monkeypatch.setenv("LIENTHONG_SIGNING_SECRET_SNV_P12", PASSPHRASE)
    signed = SIGNER.sign(
        sample_pdf(), KeyRef(path=pki.pkcs12("unit"), secret_name="snv-p12"), pki.key_settings
    )
    assert only(SIGNER.verify(signed, pki.trust(), {})).badge == VALID


@pytest.mark.parametrize(
    "data",
    [b"", b"not a pdf at all", b"%PDF-1.7\n1 0 obj garbage", None],
    ids=["empty", "text", "garbage", "truncated"],
)
def test_corrupted_pdf_refused_at_signing_invalid_at_verify(pki, settings, data):
    if data is None:
        data = sample_pdf()[:300]
    with pytest.raises(SigningError) as info:
        SIGNER.sign(data, p12(pki, "unit"), settings)
    assert "PDF" in str(info.value.message)
    report = only(SIGNER.verify(data, pki.trust(), {}))
    assert report.badge == INVALID and report.reason


def test_damaged_signature_container_is_invalid(pki, settings):
    signed = SIGNER.sign(sample_pdf(), p12(pki, "unit"), settings)
    start = signed.index(b"/Contents <") + 11
    damaged = signed[:start] + b"00" * 40 + signed[start + 80 :]
    assert only(SIGNER.verify(damaged, pki.trust(), {})).badge in (INVALID, MODIFIED)


def test_encrypted_pdf_refused(pki, settings):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter()
    writer.insert_page(
        PageObject(
            contents=writer.add_object(generic.StreamObject(stream_data=b"")), media_box=(0, 0, 595, 842)
        )
    )
    writer.encrypt("owner-password", "user-password")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(SigningError) as info:
        SIGNER.sign(out.getvalue(), p12(pki, "unit"), settings)
    assert "encrypted" in str(info.value.message)
    assert only(SIGNER.verify(out.getvalue(), pki.trust(), {})).badge == INVALID


def test_unsigned_pdf_has_no_reports(pki):
    assert SIGNER.verify(sample_pdf(), pki.trust(), {}) == []


def test_plugin_hook_and_disabling():
    from lienthong.core.plugins import make_plugin_manager

    names = lambda pm: sorted(s.name for group in pm.hook.lienthong_signers() for s in group)  # noqa: E731
    assert names(make_plugin_manager({})) == ["pades", "xmldsig"]
    assert names(make_plugin_manager({"lienthong.plugins.disabled": "signing_pades"})) == ["xmldsig"]
    assert names(make_plugin_manager({"lienthong.plugins.disabled": "signing_pades signing_xmldsig"})) == []


def test_an_unsigned_pdf_is_known_without_parsing_and_anything_unusual_is_parsed(pki, settings):
    """The fast path on arrival: a whole PDF without a signature dictionary has nothing to verify;
    a truncated, encrypted or signed one goes through the reader."""
    from lienthong.plugins.signing_pades.signer import _plainly_unsigned

    plain = sample_pdf()
    assert _plainly_unsigned(io.BytesIO(plain)) and SIGNER.verify(io.BytesIO(plain), pki.trust(), {}) == []
    assert not _plainly_unsigned(io.BytesIO(plain[:300]))  # no end marker: parsed, and invalid
    assert not _plainly_unsigned(io.BytesIO(b"\x00" * 2000 + plain))  # no header near the start
    signed = SIGNER.sign(plain, p12(pki, "unit"), settings)
    assert not _plainly_unsigned(io.BytesIO(signed))
    assert only(SIGNER.verify(io.BytesIO(signed), pki.trust(), {})).badge == VALID  # a file works as bytes do
    split = 3 * (1 << 20) - 5  # a marker across two chunks of the scan is still found
    assert not _plainly_unsigned(
        io.BytesIO(b"%PDF-1.7\n" + b" " * (split - 9) + b"/ByteRange [0 1 2 3]\n%%EOF\n")
    )
