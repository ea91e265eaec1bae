"""Digital signatures on the hub (R10.10, R7.4): units' keys, signing at issue, badges at arrival.

The cryptography is the signing plugins' (hook ``lienthong_signers``, contract in
``core/signing.py``); this service decides what is signed with which key, which roots a
verification trusts (``services/trust_roots``), and keeps what it found:

- at issue, every attachment a signer handles is signed with the sender unit's key
  (``sign_attachments``); a failure refuses the send, naming the document and the reason,
  and the caller's transaction stores nothing;
- when a delivery arrives, its attachments are verified once against the recipient's
  trust (the operator's roots and the unit's own) and the reports are kept on the delivery
  (``verify_delivery``); pages and the API show them, they never verify again;
- an edXML package is signed in its envelope with the same key (``sign_package``) and its
  envelope signature verified on import (``verify_package``).
"""

import io
import logging
import time

from persistent.list import PersistentList
from pyramid.i18n import TranslationString

from .. import signing
from ..clock import iso
from ..errors import DocumentError
from ..i18n import _
from ..resources.trust import find_trust, trust_store
from ..text import plain
from . import audit
from .attachments import open_attachment
from .trust_roots import SignatureError, trust_for, trust_key

log = logging.getLogger(__name__)

#: a verification found for one document and one set of roots is reused this long (a fan-out)
MEMO_SECONDS = 60


# -- signers ---------------------------------------------------------------------------------
def signers(env_or_pm):
    """Every Signer the enabled plugins offer (an ``Env`` or a plugin manager)."""
    pm = getattr(env_or_pm, "plugins", env_or_pm)
    found = []
    for offered in pm.hook.lienthong_signers():
        found.extend(offered or ())
    return found


def attachment_signer(found, attachment):
    """The first signer that handles ``attachment`` (format other than the edXML envelope), or None."""
    for signer in found:
        if signer.format != "edxml" and signer.handles(attachment.name, attachment.mime_type):
            return signer
    return None


def envelope_signer(found):
    return next((s for s in found if s.format == "edxml"), None)


class _Reason(TranslationString):
    """A translatable reason put inside another message: as plain text (``ServiceError.text()``,
    the CLI, logs) it shows with its own values filled in; views translate both (``translate_message``)."""

    def __str__(self):
        return self.interpolate()


def _message(exc):
    """A ``SigningError``'s reason as a translatable string."""
    message = exc.message
    mapping = dict(getattr(message, "mapping", None) or {}, **(exc.mapping or {}))
    return _Reason(message, domain="lienthong", mapping=mapping or None)


# -- keys ------------------------------------------------------------------------------------
KEY_FIELDS = ("kind", "path", "token_label", "key_label", "secret_name", "signer_name", "stamp")


def key_for(site, unit_code):
    """The unit's ``KeyRef``, or None when it signs nothing."""
    store = find_trust(site)
    data = store.key_of(unit_code) if store is not None else None
    return signing.KeyRef.from_dict(data) if data else None


def unit_keys(site):
    """``[(unit code, KeyRef)]`` of the units that sign, in code order."""
    store = find_trust(site)
    return [(code, key_for(site, code)) for code in (store.codes_with_keys() if store is not None else ())]


def _setting_list(settings, name):
    return [v for v in str((settings or {}).get(name, "") or "").split() if v]


def pkcs11_modules(settings):
    """The PKCS#11 modules a key may name: ``lienthong.signing.pkcs11_modules`` and the default module."""
    modules = _setting_list(settings, "lienthong.signing.pkcs11_modules")
    default = str((settings or {}).get("lienthong.signing.pkcs11_module") or "").strip()
    return modules + ([default] if default and default not in modules else [])


def set_key(site, actor, unit, data, settings=None, operator=False):
    """Set (or, with kind "", remove) the unit's signing key reference; audited.

    The secret (PIN, passphrase) is never given here: ``secret_name`` names it in the
    settings or the environment. A unit admin (``operator`` False) may name only secrets
    that begin with the unit's code, so no unit signs with another unit's key.
    A PKCS#12 file must be in the operator's key folder (``signing.confined_key_path``);
    PKCS#11 modules are limited to the ones the settings list.
    """
    kind = str(data.get("kind") or "").strip()
    if not kind:
        trust_store(site).set_key(unit.code, None)
        audit.record(site, actor, "signing.key.set", f"/directory/{unit.code}", kind="")
        return None
    if kind not in signing.KEY_KINDS:
        raise SignatureError(_("Unknown kind of key ${kind}."), field="kind", kind=kind[:20])
    values = {name: str(data.get(name) or "").strip() for name in KEY_FIELDS if name not in ("kind", "stamp")}
    key = signing.KeyRef(kind=kind, stamp=bool(data.get("stamp")), **values)
    if not key.secret_name:
        raise SignatureError(
            _("Name the secret (passphrase or PIN) that opens the key."), field="secret_name"
        )
    if not all(c.isalnum() or c in "-_." for c in key.secret_name):
        raise SignatureError(
            _("A secret name has letters, digits, dots, dashes and underscores only."), field="secret_name"
        )
    if not operator and not key.secret_name.lower().startswith(unit.code.lower()):
        raise SignatureError(
            _("The secret's name must begin with the unit's code ${code}."),
            field="secret_name",
            code=unit.code,
        )
    if kind == signing.PKCS12:
        if not key.path or not key.path.startswith("/"):
            raise SignatureError(_("Give the full path of the PKCS#12 file on the server."), field="path")
        try:  # inside the operator's key folder, and there; one message for every refusal
            signing.confined_key_path(key.path, settings)
        except signing.SigningError as exc:
            raise SignatureError(exc.message, field="path", **exc.mapping) from None
    else:
        modules = pkcs11_modules(settings)
        if key.path and key.path not in modules:
            raise SignatureError(
                _("This PKCS#11 module is not among the ones the operator allows."), field="path"
            )
        if not key.token_label:
            raise SignatureError(_("Give the label of the token."), field="token_label")
        if not key.key_label:
            raise SignatureError(_("Give the label of the key on the token."), field="key_label")
    previous = trust_store(site).key_of(unit.code)
    trust_store(site).set_key(unit.code, key.as_dict())
    audit.record(
        site,
        actor,
        "signing.key.set",
        f"/directory/{unit.code}",
        kind=kind,
        path=key.path,
        token_label=key.token_label,
        key_label=key.key_label,
        secret_name=key.secret_name,
        stamp=key.stamp,
        previous_kind=(previous or {}).get("kind", ""),
    )
    return key


def tiny_pdf(text="LienThong"):
    """A small valid one-page PDF (for testing a key, and the demo)."""
    text = "".join(c for c in text if 32 <= ord(c) < 127 and c not in "()\\")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_key(site, env, unit):
    """Load the unit's key and sign a tiny PDF: the signer's report (subject, issuer…), or a SignatureError."""
    key = key_for(site, unit.code)
    if key is None:
        raise SignatureError(_("The unit has no signing key."), field="kind")
    found = signers(env)
    signer = next(
        (s for s in found if s.format != "edxml" and s.handles("test.pdf", "application/pdf")), None
    )
    if signer is None:
        raise SignatureError(_("No signing plugin for PDF is enabled."), field="kind")
    try:
        signed = signer.sign(
            tiny_pdf("LienThong key test"), key, env.settings, reason="Key test", signer_name=key.signer_name
        )
    except signing.SigningError as exc:
        raise SignatureError(
            _("The key cannot sign: ${reason}"), field="kind", reason=_message(exc)
        ) from None
    reports = signer.verify(signed, trust_for(site, unit.code, env.settings), env.settings)
    report = (
        reports[-1]
        if reports
        else signing.SignatureReport(badge=signing.INVALID, format=signer.name, target="test.pdf")
    )
    result = report.as_dict()
    result["not_after"] = (report.details or {}).get("not_after", "")
    return result


# -- signing at issue ------------------------------------------------------------------------
def sign_attachments(site, env, actor, document, unit):
    """Sign every attachment of ``document`` a signer handles with ``unit``'s key; return what was signed.

    A ``SigningError`` becomes a ``DocumentError`` naming the document and the reason: the
    send is refused and the caller's transaction (with any bytes already stored) is aborted.
    """
    key = key_for(site, unit.code)
    if key is None:
        return []
    found = signers(env)
    signed = []
    now = iso(env.now())
    for name in list(document.attachments.keys()):
        attachment = document.attachments[name]
        signer = attachment_signer(found, attachment)
        if signer is None:
            continue
        with open_attachment(site, env, attachment) as stream:
            data = stream.read()
        try:
            out = signer.sign(
                data,
                key,
                env.settings,
                reason=_signing_reason(document),
                location=unit.name,
                signer_name=key.signer_name,
            )
        except signing.SigningError as exc:
            raise DocumentError(
                _("The document \u201c${subject}\u201d cannot be signed (${name}): ${reason}"),
                field="signature",
                subject=document.title[:120],
                name=name,
                reason=_message(exc),
            ) from None
        before = attachment.sha256
        stored = env.blob_store.put(site, io.BytesIO(out))
        attachment.sha256, attachment.size, attachment.store = stored, len(out), env.blob_store.name
        signed.append(
            {
                "target": name,
                "format": signer.name,
                "key": _key_label(key),
                "time": now,
                "sha256_before": before,
                "sha256": stored,
            }
        )
    if signed:
        applied = getattr(document, "signatures_applied", None)
        if not isinstance(applied, PersistentList):
            document.signatures_applied = applied = PersistentList()
        applied.extend(signed)
        audit.record(
            site,
            actor,
            "document.sign",
            f"/documents/{document.id}",
            attachments=[s["target"] for s in signed],
            key=_key_label(key),
        )
    return signed


def _signing_reason(document):
    return f"{document.meta.get('doc_type_name') or document.meta.get('doc_type') or ''}: {document.title}"[
        :200
    ]


def _key_label(key):
    if key.kind == signing.PKCS11:
        return f"pkcs11:{key.token_label}/{key.key_label}"
    return f"pkcs12:{key.path.rsplit('/', 1)[-1]}"


# -- verification when a delivery arrives -----------------------------------------------------
def _recipient_unit_code(site, delivery):
    if delivery.recipient_code:
        return delivery.recipient_code
    user = site["users"].get(delivery.recipient_login or "")
    return user.unit_code if user is not None else None


def verify_document(site, env, document, trust):
    """Reports (dicts) of every signature on ``document``'s attachments, verified against ``trust``.

    A fan-out verifies once: the result for this document's bytes and these roots is
    reused for ``MEMO_SECONDS`` (kept on the document object in memory only).
    """
    found = signers(env)
    key = (tuple((a.name, a.sha256) for a in document.attachments.values()), trust_key(trust))
    memo = getattr(document, "_v_signature_memo", None)
    if memo is None:
        memo = document._v_signature_memo = {}
    hit = memo.get(key)
    if hit is not None and time.monotonic() - hit[0] < MEMO_SECONDS:
        return [dict(r) for r in hit[1]]
    reports = []
    for attachment in document.attachments.values():
        signer = attachment_signer(found, attachment)
        if signer is None:
            continue
        with open_attachment(site, env, attachment) as stream:
            if not (hasattr(stream, "seekable") and stream.seekable()):
                stream = io.BytesIO(stream.read())
            try:  # a file, not bytes: a large scan is not read into memory to find it unsigned
                found_reports = signer.verify(stream, trust, env.settings)
            except (
                Exception
            ) as exc:  # the contract says verify never raises; a broken plugin must not stop mail
                log.exception("signer %s failed on %s", signer.name, attachment.name)
                found_reports = [
                    signing.SignatureReport(
                        badge=signing.INVALID,
                        format=signer.name,
                        target=attachment.name,
                        reason=f"verification failed: {exc}",
                    )
                ]
        for report in found_reports:
            out = report.as_dict()
            out["target"] = out.get("target") or attachment.name
            reports.append(plain(out))
    memo[key] = (time.monotonic(), reports)
    return [dict(r) for r in reports]


def verify_delivery(site, env, delivery):
    """Verify the signatures of ``delivery``'s document for its recipient and keep the reports on it."""
    document = delivery.document
    if not signers(env):
        return []
    trust = trust_for(site, _recipient_unit_code(site, delivery), env.settings)
    reports = verify_document(site, env, document, trust)
    delivery.signatures = tuple(reports)  # kept as found, inside the delivery's own record
    delivery.signatures_checked_at = iso(env.now())
    return reports


# -- edXML packages --------------------------------------------------------------------------
def sign_package(site, env, unit, data):
    """``data`` (an edXML package) with its envelope signed by ``unit``'s key; unchanged when the unit
    has no key or no edXML signer is enabled. A failure is a ``SignatureError`` naming the reason."""
    key = key_for(site, unit.code)
    signer = envelope_signer(signers(env)) if key is not None else None
    if signer is None:
        return data
    try:
        return signer.sign(
            data, key, env.settings, reason="edXML", location=unit.name, signer_name=key.signer_name
        )
    except signing.SigningError as exc:
        raise SignatureError(
            _("The edXML package cannot be signed: ${reason}"), field="signature", reason=_message(exc)
        ) from None


XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
#: what ``edxml_io.parse_package`` gives for a Signature that is not XML-DSig (the field's placeholders)
PLACEHOLDER = b""
#: why a placeholder is unverifiable (stored as the msgid; ``signature_badges`` translates it)
PLACEHOLDER_REASON = _("the Signature element is a placeholder, not XML-DSig")


def verify_package(site, env, unit_code, data):
    """The reports (dicts) of the envelope signature of an edXML package, for ``unit_code``'s trust.

    A placeholder (``PLACEHOLDER``: a Signature outside XML-DSig's namespace, as the field's
    products write them) is reported unverifiable: it never blocks and never shows as valid.
    """
    if data == PLACEHOLDER:
        return [
            plain(
                signing.SignatureReport(
                    badge=signing.UNVERIFIABLE,
                    format="xmldsig",
                    target="edxml",
                    reason=str(PLACEHOLDER_REASON),  # a msgid: the pages translate it
                ).as_dict()
            )
        ]
    signer = envelope_signer(signers(env))
    if signer is None:
        return []
    try:
        found = signer.verify(data, trust_for(site, unit_code, env.settings), env.settings)
    except Exception as exc:
        log.exception("signer %s failed on an edXML package", signer.name)
        found = [
            signing.SignatureReport(
                badge=signing.INVALID,
                format=signer.name,
                target="edxml",
                reason=f"verification failed: {exc}",
            )
        ]
    return [plain(r.as_dict()) for r in found]


def badge_title(badge):
    return signing.BADGE_TITLES.get(badge, badge)
