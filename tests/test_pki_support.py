"""The test PKI and the SoftHSM2 token the signing tests stand on: live services, real token."""

import asyncio

import pytest
import requests
from asn1crypto import crl as asn1_crl, x509

from tests.support.pki import pki  # noqa: F401 (fixture)
from tests.support.softhsm import softhsm_token  # noqa: F401 (fixture)


def _validate(pki, name, **context):
    from pyhanko_certvalidator import CertificateValidator, ValidationContext

    vc = ValidationContext(
        trust_roots=[x509.Certificate.load(pki.root_der)],
        allow_fetching=True,
        revocation_mode="hard-fail",
        **context,
    )
    validator = CertificateValidator(x509.Certificate.load(pki.cert_der(name)), validation_context=vc)
    return asyncio.run(validator.async_validate_usage({"digital_signature"}))


def test_certificates_chain_and_names(pki):
    unit = pki.cert("unit")
    assert unit.subject.rfc4514_string().startswith("CN=Sở Nội vụ")
    assert pki.cert("unit").issuer == pki.cert("interm").subject
    assert pki.cert("selfsigned").issuer == pki.cert("selfsigned").subject
    assert pki.cert("expired").not_valid_after_utc < pki.now
    assert len(pki.intermediate_der) > 0 and pki.root_der != pki.intermediate_der


def test_valid_cert_validates_with_live_ocsp_and_crl(pki):
    path = _validate(pki, "unit")
    assert path.leaf.subject.native["common_name"] == "Sở Nội vụ"


def test_revoked_via_ocsp_and_via_crl(pki):
    from pyhanko_certvalidator.errors import RevokedError

    with pytest.raises(RevokedError):
        _validate(pki, "revoked")
    with pytest.raises(RevokedError):
        _validate(pki, "revoked_crl")


def test_crl_served_over_http_lists_revoked(pki):
    response = requests.get(pki.crl_url, timeout=5)
    assert response.status_code == 200
    crl = asn1_crl.CertificateList.load(response.content)
    serials = {entry["user_certificate"].native for entry in crl["tbs_cert_list"]["revoked_certificates"]}
    assert pki.cert("revoked").serial_number in serials
    assert pki.cert("revoked_crl").serial_number in serials
    assert pki.cert("unit").serial_number not in serials


def test_tsa_answers_rfc3161(pki):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    token = asyncio.run(HTTPTimeStamper(pki.tsa_url).async_timestamp(b"\x00" * 32, "sha256"))
    assert token["content_type"].native == "signed_data"


def test_pkcs12_opens(pki):
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12(pki.pkcs12("person", "pw"), passphrase=b"pw")
    assert signer.signing_cert.subject.native["common_name"] == "Nguyễn Văn An"


def test_softhsm_token_has_key_and_certificate(pki, softhsm_token):
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    session = open_pkcs11_session(
        softhsm_token.module,
        token_criteria=TokenCriteria(softhsm_token.token_label),
        user_pin=softhsm_token.pin,
    )
    try:
        signer = PKCS11Signer(session, key_label=softhsm_token.key_label, cert_label=softhsm_token.key_label)
        assert signer.signing_cert.dump() == pki.cert_der("unit")
        signature = asyncio.run(signer.async_sign_raw(b"data", "sha256"))
        assert len(signature) == 256
    finally:
        session.close()
