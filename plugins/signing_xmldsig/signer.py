"""XML-DSig of the edXML envelope, with signxml.

The signature is enveloped: a ``ds:Signature`` in ``edXMLHeader`` (after
``TraceHeaderList``, where core/edxml/parse.py reads it), one Reference with ``URI=""`` (the
whole package, attachments included) and the transforms enveloped-signature + exclusive
C14N, RSA-SHA256 (ECDSA-SHA256 for EC keys), the certificate chain in ``KeyInfo``.

Verification badges: a digest mismatch (a byte of the package changed after signing) is
``modified``; a SignatureValue that does not check (SignedInfo changed, wrong key, damaged
signature), a signature that does not cover the whole package, or an unreadable package
is ``invalid``; then the signing certificate is validated against the trust roots with
pyhanko-certvalidator (live OCSP/CRL): ``revoked``, ``expired``, ``untrusted`` or ``valid``.
"""

import base64

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from lienthong.core.i18n import _
from lienthong.core.signing import (
    EXPIRED,
    INVALID,
    MODIFIED,
    REVOKED,
    UNTRUSTED,
    VALID,
    SignatureReport,
    Signer,
    SigningError,
)

from .. import signing_common as keys
from ..signing_common import run, validation_context

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
TARGET = "edxml"


def _parser():
    # huge_tree: attachments are base64 text nodes that can pass libxml2's 10 MB default;
    # the package size itself is bounded by the caller (edXML max_bytes)
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_blank_text=False
    )


def _parse(data):
    """(root, header) of a package, either shape; ValueError for anything not a well-formed,
    DOCTYPE-free edXML package."""
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not well-formed XML: {e.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise ValueError("a DOCTYPE is not allowed")
    envelope = root
    if root.tag == f"{{{EDXML_NS}}}edXML":  # the field's shape: the envelope inside the root
        envelope = root.find(f"{{{EDXML_NS}}}edXMLEnvelope")
    if envelope is None or envelope.tag != f"{{{EDXML_NS}}}edXMLEnvelope":
        raise ValueError("not an edXML envelope")
    header = envelope.find(f"{{{EDXML_NS}}}edXMLHeader")
    if header is None:
        raise ValueError("no edXMLHeader")
    return root, header


def _signatures(header):
    return [e for e in header if isinstance(e.tag, str) and etree.QName(e).localname == "Signature"]


class XmldsigSigner(Signer):
    """Enveloped XML-DSig on the edXML package (the header's Signature element)."""

    name = "xmldsig"
    format = "edxml"

    def handles(self, name, mime_type):
        return False  # it signs envelopes, not attachments

    def sign(self, data, key, settings, *, reason="", location="", signer_name=""):
        from pkcs11 import exceptions as p11
        from signxml import XMLSigner
        from signxml.exceptions import SignXMLException

        try:
            root, header = _parse(data)
        except ValueError as e:
            raise SigningError(_("The edXML package cannot be signed: ${error}."), error=str(e)) from e
        if _signatures(header):
            raise SigningError(_("The edXML package is already signed."))
        placeholder = etree.Element(f"{{{DS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DS})
        trace = header.find(f"{{{EDXML_NS}}}TraceHeaderList")
        anchor = trace if trace is not None else header.find(f"{{{EDXML_NS}}}MessageHeader")
        if anchor is not None:
            anchor.addnext(placeholder)
            placeholder.tail, anchor.tail = anchor.tail, anchor.tail
        else:
            header.append(placeholder)
        with keys.opened(key, settings or {}) as opened:
            is_ec = isinstance(opened.cert.public_key(), ec.EllipticCurvePublicKey)
            signer = XMLSigner(
                signature_algorithm="ecdsa-sha256" if is_ec else "rsa-sha256",
                digest_algorithm="sha256",
                c14n_algorithm=EXC_C14N,
            )
            signer.namespaces = {"ds": DS}
            certs = [
                c.public_bytes(serialization.Encoding.PEM).decode() for c in [opened.cert] + opened.chain
            ]
            try:
                signed = signer.sign(root, key=opened.private_key, cert=certs, always_add_key_value=False)
            except p11.PKCS11Error as e:
                raise keys.pkcs11_failure(e, key) from e
            except (SignXMLException, ValueError) as e:
                raise SigningError(_("The edXML package cannot be signed: ${error}."), error=str(e)) from e
        return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

    def verify(self, data, trust, settings):
        try:
            root, header = _parse(data)
        except ValueError as e:
            return [_report(INVALID, reason=f"unreadable package: {e}")]
        signatures = _signatures(header)
        if not signatures:
            return []
        if len(signatures) > 1:
            return [_report(INVALID, reason="more than one Signature in the header")]
        return [_verify(bytes(data), signatures[0], trust)]


def _report(badge, **values):
    return SignatureReport(badge=badge, format="xmldsig", target=TARGET, **values)


def _key_info_certs(signature):
    certs = []
    for element in signature.iter(f"{{{DS}}}X509Certificate"):
        try:
            certs.append(
                x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split())))
            )
        except ValueError:
            continue
    return certs


def _common_name(name):
    values = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return values[0].value if values else name.rfc4514_string()


def _covers_whole_package(signature):
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        return False
    transforms = [t.get("Algorithm") for t in references[0].iter(f"{{{DS}}}Transform")]
    return ENVELOPED in transforms and all(
        t
        in (
            ENVELOPED,
            EXC_C14N,
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            "http://www.w3.org/2006/12/xml-c14n11",
        )
        for t in transforms
    )


def _verify(data, signature, trust):
    from signxml import SignatureConfiguration, XMLVerifier
    from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature, SignXMLException

    certs = _key_info_certs(signature)
    if not certs:
        return _report(INVALID, reason="no signing certificate in KeyInfo")
    if not _covers_whole_package(signature):
        return _report(INVALID, reason="the signature does not cover the whole package")
    config = SignatureConfiguration(expect_references=1)
    cert, last_error = None, None
    for candidate in certs:  # the signing certificate is the one whose key checks SignedInfo
        try:
            XMLVerifier().verify(data, x509_cert=candidate, parser=_parser(), expect_config=config)
            cert, last_error = candidate, None
            break
        except InvalidDigest as e:
            cert, last_error = candidate, e
            break
        except (InvalidSignature, InvalidInput, SignXMLException, ValueError) as e:
            last_error = e
    shown = cert or certs[0]
    report = _report(
        INVALID,
        signer=_common_name(shown.subject),
        issuer=_common_name(shown.issuer),
        serial=format(shown.serial_number, "x"),
    )
    if isinstance(last_error, InvalidDigest):
        report.badge, report.reason = MODIFIED, "the signed package was changed after signing"
        return report
    if cert is None:
        report.reason = f"the signature value does not check: {last_error}"
        return report
    report.badge, report.reason = _trust(cert, [c for c in certs if c is not cert], trust)
    return report


def _trust(cert, others, trust):
    """The badge of the signing certificate: chain to trust roots, revocation, validity."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import CertificateValidator, errors

    context = validation_context(trust)
    validator = CertificateValidator(
        asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        intermediate_certs=[
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in others
        ],
        validation_context=context,
    )
    try:
        run(validator.async_validate_usage({"digital_signature"}), context)
    except errors.RevokedError:
        return REVOKED, "the signer's certificate is revoked"
    except (errors.ExpiredError, errors.NotYetValidError):
        return EXPIRED, "the signer's certificate is not valid now"
    except errors.InvalidCertificateError as e:
        return UNTRUSTED, f"not trusted: {e}"
    except errors.PathBuildingError:
        return UNTRUSTED, "no chain to a trusted root"
    except errors.PathValidationError as e:
        return UNTRUSTED, f"not trusted: {e}"
    except Exception as e:  # a responder answering garbage, a network error in hard cases
        return UNTRUSTED, f"the certificate could not be checked: {e}"
    return VALID, ""
