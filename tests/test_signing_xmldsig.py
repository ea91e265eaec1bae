"""XML-DSig of the edXML envelope (R10.10, R7.4): PKCS#12 and a real SoftHSM2 token, live test PKI."""

import io
import os

import pytest

from lienthong.core import edxml
from lienthong.core.signing import (
    INVALID,
    MODIFIED,
    PKCS11,
    REVOKED,
    UNTRUSTED,
    VALID,
    KeyRef,
    SigningError,
    Trust,
)
from lienthong.plugins.signing_xmldsig.signer import XmldsigSigner
from tests.support.app import ROOT
from tests.support.pki import PASSPHRASE, pki, sample_pdf  # noqa: F401 (fixture)
from tests.support.softhsm import softhsm_token  # noqa: F401 (fixture)

SIGNER = XmldsigSigner()
SETTINGS = {"lienthong.signing.secret.p12": PASSPHRASE}


def settings(pki):
    return {**SETTINGS, **pki.key_settings}


def p12(pki, name):
    return KeyRef(path=pki.pkcs12(name), secret_name="p12")


def package(with_attachment=True):
    with open(os.path.join(ROOT, "tests", "data", "edxml", "full.xml"), "rb") as f:
        meta = edxml.parse_document(f.read())
    for attachment in meta.pop("attachments"):
        attachment["file"].close()
    meta.pop("signature")
    files = (
        [
            (
                {"name": "quyet-dinh.pdf", "content_type": "application/pdf", "description": "Quyết định"},
                io.BytesIO(sample_pdf()),
            )
        ]
        if with_attachment
        else []
    )
    return edxml.build_document(meta, files)


def only(reports):
    assert len(reports) == 1, reports
    return reports[0]


def flip(data, marker, offset=0):
    """``data`` with one ASCII byte changed right after ``marker`` (+ offset)."""
    at = data.index(marker) + len(marker) + offset
    new = b"B" if data[at : at + 1] != b"B" else b"C"
    return data[:at] + new + data[at + 1 :]


def test_does_not_handle_attachments():
    assert not XmldsigSigner().handles("a.xml", "application/xml")
    assert (SIGNER.name, SIGNER.format) == ("xmldsig", "edxml")


def test_signed_package_is_valid_and_still_parses(pki):
    data = package()
    signed = SIGNER.sign(data, p12(pki, "unit"), settings(pki))
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert (report.badge, report.format, report.target) == (VALID, "xmldsig", "edxml")
    assert (report.signer, report.issuer) == ("Sở Nội vụ", "LienThong Test Issuing CA")
    assert report.serial == format(pki.cert("unit").serial_number, "x")
    # the codec (core/edxml/) reads the signed package: same metadata, the Signature kept
    meta = edxml.parse_document(signed)
    original = edxml.parse_document(data)
    assert meta["signature"].startswith(b"<ds:Signature")
    assert b"enveloped-signature" in meta["signature"]
    assert meta["subject"] == original["subject"]
    assert [a["sha256"] for a in meta["attachments"]] == [a["sha256"] for a in original["attachments"]]
    for a in meta["attachments"] + original["attachments"]:
        a["file"].close()
    # the Signature sits in the header, after TraceHeaderList
    header = signed[signed.index(b"<edXML:edXMLHeader>") : signed.index(b"</edXML:edXMLHeader>")]
    assert header.index(b"</edXML:TraceHeaderList>") < header.index(b"<ds:Signature")


def test_softhsm_token_signature_is_valid(pki, softhsm_token):
    key = KeyRef(
        kind=PKCS11,
        path=softhsm_token.module,
        token_label=softhsm_token.token_label,
        key_label=softhsm_token.key_label,
        secret_name="hsm",
    )
    signed = SIGNER.sign(package(), key, {"lienthong.signing.secret.hsm": softhsm_token.pin})
    report = only(SIGNER.verify(signed, pki.trust(), {}))
    assert (report.badge, report.signer) == (VALID, "Sở Nội vụ")


def test_wrong_pin(pki, softhsm_token):
    key = KeyRef(
        kind=PKCS11,
        path=softhsm_token.module,
        token_label=softhsm_token.token_label,
        key_label=softhsm_token.key_label,
        secret_name="hsm",
    )
    with pytest.raises(SigningError) as info:
        SIGNER.sign(package(), key, {"lienthong.signing.secret.hsm": "999999"})
    assert info.value.message == "Wrong PIN for the token ${token}."


@pytest.mark.parametrize("where", ["subject", "attachment", "trace"])
def test_changed_byte_in_signed_part_is_modified(pki, where):
    signed = SIGNER.sign(package(), p12(pki, "unit"), settings(pki))
    marker = {
        "subject": b"<edXML:DocumentId>",
        "attachment": b"<ContentTransferEncoded>",
        "trace": b"<edXML:OrganId>",
    }[where]
    report = only(SIGNER.verify(flip(signed, marker, 2), pki.trust(), {}))
    assert report.badge == MODIFIED, report
    assert report.signer == "Sở Nội vụ"


def test_changed_signature_value_or_signed_info_is_invalid(pki):
    signed = SIGNER.sign(package(with_attachment=False), p12(pki, "unit"), settings(pki))
    assert only(SIGNER.verify(flip(signed, b"<ds:SignatureValue>", 10), pki.trust(), {})).badge == INVALID
    assert only(SIGNER.verify(flip(signed, b"<ds:DigestValue>", 3), pki.trust(), {})).badge == INVALID


def test_revoked_via_ocsp_and_crl(pki):
    for name in ("revoked", "revoked_crl"):
        signed = SIGNER.sign(package(with_attachment=False), p12(pki, name), settings(pki))
        report = only(SIGNER.verify(signed, pki.trust(), {}))
        assert (report.badge, report.signer) == (REVOKED, pki.names[name])


def test_self_signed_and_unknown_root_untrusted(pki):
    signed = SIGNER.sign(package(with_attachment=False), p12(pki, "selfsigned"), settings(pki))
    assert only(SIGNER.verify(signed, pki.trust(), {})).badge == UNTRUSTED
    good = SIGNER.sign(package(with_attachment=False), p12(pki, "unit"), settings(pki))
    assert only(SIGNER.verify(good, Trust(roots=[pki.cert_der("selfsigned")]), {})).badge == UNTRUSTED


def test_expired_refused(pki):
    with pytest.raises(SigningError) as info:
        SIGNER.sign(package(with_attachment=False), p12(pki, "expired"), settings(pki))
    assert "expired" in str(info.value.message)


def test_signature_removed_or_moved_outside_coverage(pki):
    signed = SIGNER.sign(package(with_attachment=False), p12(pki, "unit"), settings(pki))
    start, end = signed.index(b"<ds:Signature"), signed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    assert SIGNER.verify(signed[:start] + signed[end:], pki.trust(), {}) == []  # unsigned
    narrowed = signed.replace(b'URI=""', b'URI="#nothing"', 1)
    assert only(SIGNER.verify(narrowed, pki.trust(), {})).badge == INVALID


def test_bad_input(pki):
    assert only(SIGNER.verify(b"not xml", pki.trust(), {})).badge == INVALID
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    assert only(SIGNER.verify(doctype, pki.trust(), {})).badge == INVALID
    with pytest.raises(SigningError):
        SIGNER.sign(b"<x/>", p12(pki, "unit"), settings(pki))
    signed = SIGNER.sign(package(with_attachment=False), p12(pki, "unit"), settings(pki))
    with pytest.raises(SigningError) as info:
        SIGNER.sign(signed, p12(pki, "unit"), settings(pki))
    assert "already signed" in str(info.value.message)
    assert SIGNER.verify(package(with_attachment=False), pki.trust(), {}) == []
