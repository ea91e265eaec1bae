"""PAdES signatures on PDF attachments, with pyHanko.

Signing adds an incremental update with a PAdES baseline signature (B-B; B-T when
``lienthong.signing.tsa_url`` names an RFC 3161 timestamp service), optionally with a
visible stamp on the first page. Verification reports every embedded signature with a
badge (see ``lienthong.core.signing``); it never raises for bad input.
"""

import io
import os
import unicodedata

from lienthong.core.clock import iso, utc_now
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

TSA_SETTING = "lienthong.signing.tsa_url"
FONT_SETTING = "lienthong.signing.stamp_font"
FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)
STAMP_TEXT = "%(signer)s\n%(position)s\n%(ts)s"


def _ascii(text):
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _stamp_style(settings):
    """A text stamp in a font that has Vietnamese letters (DejaVu Sans), else ASCII-folded text."""
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.stamp import TextStampStyle

    font_path = (settings or {}).get(FONT_SETTING) or next((p for p in FONT_PATHS if os.path.exists(p)), None)
    box = {}
    unicode_ok = False
    if font_path and os.path.exists(font_path):
        try:
            import uharfbuzz  # noqa: F401 (GlyphAccumulatorFactory needs it)
            from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory

            box["font"] = GlyphAccumulatorFactory(font_path)
            unicode_ok = True
        except ImportError:
            pass
    style = TextStampStyle(
        stamp_text=STAMP_TEXT,
        timestamp_format="%Y-%m-%d %H:%M:%S %z",
        border_width=1,
        text_box_style=TextBoxStyle(font_size=8, **box),
    )
    return style, unicode_ok


def _field_name(reader):
    from pyhanko.sign.fields import enumerate_sig_fields

    existing = {name for name, _value, _ref in enumerate_sig_fields(reader)}
    n = len(existing) + 1
    while f"Signature{n}" in existing:
        n += 1
    return f"Signature{n}"


def _writer(data):
    """An incremental writer over ``data``, or a SigningError saying why it cannot be signed."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.misc import PdfError

    if not data or not bytes(data[:1024]).lstrip().startswith(b"%PDF-"):
        raise SigningError(_("The file is not a PDF and cannot be signed."))
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        if writer.prev.encrypted:
            raise SigningError(_("The PDF is encrypted (password-protected) and cannot be signed."))
        if int(writer.root["/Pages"].get("/Count", 0)) < 1:
            raise SigningError(_("The PDF has no page and cannot be signed."))
    except SigningError:
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise SigningError(
            _("The PDF is damaged or unreadable and cannot be signed (${error})."),
            error=str(e) or type(e).__name__,
        ) from e
    return writer


class PadesSigner(Signer):
    """PAdES baseline signatures on PDF attachments."""

    name = "pades"
    format = "pdf"

    def handles(self, name, mime_type):
        return (mime_type or "").lower() == "application/pdf" or (name or "").lower().endswith(".pdf")

    def sign(self, data, key, settings, *, reason="", location="", signer_name=""):
        from pkcs11 import exceptions as p11
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.sign import fields, signers, timestamps
        from pyhanko.sign.general import SigningError as PyHankoSigningError

        writer = _writer(bytes(data))
        settings = settings or {}
        tsa_url = settings.get(TSA_SETTING) or ""
        with keys.opened(key, settings) as opened:
            name = signer_name or key.signer_name or opened.common_name
            field_name = _field_name(writer.prev)
            meta = signers.PdfSignatureMetadata(
                field_name=field_name,
                reason=reason or None,
                location=location or None,
                name=name,
                subfilter=fields.SigSeedSubFilter.PADES,
                md_algorithm="sha256",
            )
            options = {}
            text_params = None
            if key.stamp:
                style, unicode_ok = _stamp_style(settings)
                position = getattr(key, "position", "") or ""
                text_params = {
                    "signer": name if unicode_ok else _ascii(name),
                    "position": position if unicode_ok else _ascii(position),
                }
                options["stamp_style"] = style
                options["new_field_spec"] = fields.SigFieldSpec(
                    sig_field_name=field_name, on_page=0, box=tuple(int(v) for v in key.stamp_box)
                )
            if tsa_url:
                options["timestamper"] = timestamps.HTTPTimeStamper(tsa_url, timeout=10)
            pdf_signer = signers.PdfSigner(meta, signer=opened.pyhanko_signer, **options)
            try:
                out = run(pdf_signer.async_sign_pdf(writer, appearance_text_params=text_params))
            except p11.PKCS11Error as e:
                raise keys.pkcs11_failure(e, key) from e
            except timestamps.TimestampRequestError as e:
                raise SigningError(
                    _("The timestamp service ${url} did not answer: ${error}"), url=tsa_url, error=str(e)
                ) from e
            except (PdfError, PyHankoSigningError, ValueError, KeyError, TypeError) as e:
                raise SigningError(_("The PDF cannot be signed: ${error}"), error=str(e)) from e
        return out.getvalue()

    def verify(self, data, trust, settings):
        from pyhanko.pdf_utils.reader import PdfFileReader

        stream = data if hasattr(data, "read") else io.BytesIO(bytes(data))
        if _plainly_unsigned(stream):
            return []
        try:
            stream.seek(0)
            reader = PdfFileReader(io.BytesIO(stream.read()), strict=False)  # pyHanko copies its input
            if reader.encrypted:
                return [_report(INVALID, reason="encrypted PDF: its signatures cannot be checked")]
            embedded = list(reader.embedded_signatures)
        except Exception as e:  # any parse failure of a damaged file is the report, not a crash
            return [_report(INVALID, reason=f"unreadable PDF: {e or type(e).__name__}")]
        return [_verify_one(sig, trust) for sig in embedded]


SCAN_CHUNK = 1 << 20


def _plainly_unsigned(stream):
    """A whole, unencrypted PDF without a signature dictionary: nothing to verify, known without parsing.

    Every PDF signature's dictionary lies uncompressed in the file (its ``/ByteRange`` gives
    the file offsets it covers), so a file without ``/ByteRange`` carries none. Parsing such
    a file cost most of a send on arrival; anything unusual (no header, no end marker in the
    last 1024 bytes, encryption) still goes through the full reader. Read in chunks.
    """
    stream.seek(0)
    if b"%PDF-" not in stream.read(1024):
        return False
    stream.seek(0, io.SEEK_END)
    stream.seek(max(0, stream.tell() - 1024))
    if b"%%EOF" not in stream.read():
        return False
    stream.seek(0)
    tail = b""
    while chunk := stream.read(SCAN_CHUNK):
        window = tail + chunk
        if b"/ByteRange" in window or b"/Encrypt" in window:
            return False
        tail = window[-16:]
    return True


def _report(badge, **values):
    return SignatureReport(badge=badge, format="pades", target=values.pop("target", ""), **values)


def _name(name, default=""):
    try:
        return name.native.get("common_name") or name.human_friendly
    except Exception:
        return default


def _iso(moment):
    return iso(moment) if moment is not None else ""


def _verify_one(embedded, trust):
    """The badge of one embedded signature (cryptography, coverage, trust, revocation, time)."""
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    report = _report(INVALID, target="")
    try:
        cert = embedded.signer_cert
        report.signer = _name(cert.subject)
        report.issuer = _name(cert.issuer)
        report.serial = format(cert.serial_number, "x")
        report.details["not_after"] = _iso(cert.not_valid_after)
    except Exception as e:
        report.reason = f"no readable signer certificate: {e}"
        return report
    report.details["field"] = embedded.field_name
    try:
        context = validation_context(trust)
        status = run(async_validate_pdf_signature(embedded, signer_validation_context=context), context)
    except Exception as e:  # malformed CMS, unknown algorithm...
        report.reason = f"signature cannot be checked: {e or type(e).__name__}"
        return report
    ts = status.timestamp_validity
    report.timestamped = ts is not None
    signed_at = (ts.timestamp if ts is not None else None) or status.signer_reported_dt
    report.signed_at = _iso(signed_at)
    if ts is not None:
        report.details["timestamp_valid"] = bool(ts.valid and ts.intact and ts.trusted)
    report.details["coverage"] = status.coverage.name if status.coverage else ""
    level = status.modification_level
    report.details["modification_level"] = level.name if level is not None else ""
    report.badge, report.reason = _badge(status, cert, signed_at, SignatureCoverageLevel)
    return report


def _badge(status, cert, signed_at, coverage_levels):
    from pyhanko.sign.diff_analysis import ModificationLevel

    if not status.intact:
        return MODIFIED, "the signed bytes were changed"
    if not status.valid:
        return INVALID, "the signature value does not match the signer's certificate"
    if status.coverage not in (coverage_levels.ENTIRE_FILE, coverage_levels.ENTIRE_REVISION):
        return MODIFIED, "the signature does not cover the document"
    if status.coverage != coverage_levels.ENTIRE_FILE:
        # later revisions may add signatures, fill forms and add revocation info; anything
        # else (content, annotations) counts as a change after signing
        level = status.modification_level
        if level is None or level > ModificationLevel.FORM_FILLING or status.docmdp_ok is False:
            return MODIFIED, "the document was changed after signing"
    if status.revoked:
        return REVOKED, "the signer's certificate is revoked"
    indic = status.trust_problem_indic
    if indic is None and status.trusted:
        return VALID, ""
    indic_name = getattr(indic, "name", str(indic))
    if indic_name in ("REVOKED",):
        return REVOKED, "the signer's certificate is revoked"
    if indic_name in ("EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "NOT_YET_VALID"):
        return EXPIRED, "the signer's certificate was not valid at signing time"
    when = signed_at or utc_now()
    if cert is not None and not (cert.not_valid_before <= when <= cert.not_valid_after):
        return EXPIRED, "the signer's certificate was not valid at signing time"
    if indic_name in (
        "NO_CERTIFICATE_CHAIN_FOUND",
        "NO_CERTIFICATE_CHAIN_FOUND_NO_POE",
        "CHAIN_CONSTRAINTS_FAILURE",
    ):
        return UNTRUSTED, "no chain to a trusted root"
    if indic_name in ("TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"):
        return UNTRUSTED, "revocation status unknown"
    return UNTRUSTED, f"not trusted ({indic_name})"
