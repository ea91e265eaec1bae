"""The demo's signatures (issue #6): a small demo CA and a signing key for Sở Nội vụ.

``lienthong init --demo`` calls ``setup`` after the demo documents are issued: it makes a
demo CA and a certificate for Sở Nội vụ (SNV) with ``cryptography``, writes the CA (PEM)
and SNV's PKCS#12 file under ``lienthong.signing.demo_dir`` (default: ``demo-pki`` in the
operator's key folder ``signing.key_dir``, where every PKCS#12 file must be), trusts the CA
for every unit and gives SNV the key. The PKCS#12 passphrase is the secret ``demo-snv``
(setting ``lienthong.signing.secret.demo-snv`` or the variable
``LIENTHONG_SIGNING_SECRET_DEMO_SNV``); without it the demo signs nothing and says so.

A clerk of SNV (``vanthu.snv``) then issues a PDF: it is signed with SNV's key, and the
recipients see a valid badge. Nothing here is fit for production: the CA key is thrown away.
"""

import os
from datetime import UTC, datetime, timedelta

from .. import signing
from . import audit, signatures, trust_roots

SNV = "000.00.02.H49"
SECRET_NAME = "demo-snv"
CA_NAME = "LienThong Demo CA"
SNV_NAME = "Sở Nội vụ"


def demo_dir(settings):
    configured = (settings or {}).get("lienthong.signing.demo_dir")
    if configured:
        return os.path.abspath(configured)
    return os.path.join(signing.key_dir(settings), "demo-pki")


def _name(common_name, unit=None):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "LienThong Demo"),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def make_pki(directory, passphrase, now=None):
    """Write ``ca.pem`` and ``snv.p12`` into ``directory``; return (CA DER, PKCS#12 path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    now = now or datetime.now(UTC)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(CA_NAME)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SNV_NAME, "SNV"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(
        b"snv", key, cert, [ca], serialization.BestAvailableEncryption(passphrase.encode())
    )
    ca_path, p12_path = os.path.join(directory, "ca.pem"), os.path.join(directory, "snv.p12")
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    fd = os.open(p12_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(p12)
    return ca.public_bytes(serialization.Encoding.DER), p12_path


def setup(site, settings):
    """Give the demo site its CA and SNV's key; return a line saying what was done."""
    if SNV not in site["directory"]:
        return "demo signatures: no Sở Nội vụ in the directory, nothing done"
    if signatures.key_for(site, SNV) is not None:
        return "demo signatures: Sở Nội vụ already has a signing key"
    passphrase = signing.secret(settings, SECRET_NAME)
    if not passphrase:
        return (
            f"demo signatures: not set up (set lienthong.signing.secret.{SECRET_NAME} in the ini or "
            f"LIENTHONG_SIGNING_SECRET_DEMO_SNV in the environment before `lienthong init --demo`)"
        )
    ca_der, p12_path = make_pki(demo_dir(settings), passphrase)
    actor = audit.Actor.system("demo")
    try:
        signatures.set_key(
            site,
            actor,
            site["directory"][SNV],
            {"kind": signing.PKCS12, "path": p12_path, "secret_name": SECRET_NAME},
            settings,
            operator=True,
        )
    except trust_roots.SignatureError as exc:  # a demo_dir outside the key folder
        return f"demo signatures: not set up: {exc.text()}"
    trust_roots.add_root(site, actor, ca_der)
    return f"demo signatures: Sở Nội vụ signs with {p12_path}; {CA_NAME} is trusted by every unit"
