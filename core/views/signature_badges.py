"""Signature badges for the document page (R10.10): what was found when the delivery arrived.

The reports were kept on the delivery (``signatures.verify_delivery``); showing them never
verifies again.
"""

from pyramid.i18n import TranslationString

from ..signing import BADGE_TITLES
from .base import local_time


def _reason(request, reason):
    """A report's reason in the viewer's language when it is one of the hub's messages
    (a plugin's own text, with its values in it, is shown as it was written)."""
    return request.localizer.translate(TranslationString(reason, domain="lienthong")) if reason else ""


def badge_views(request, reports, target=None):
    """Template rows of ``reports`` (dicts), those about ``target`` only when it is given."""
    rows = []
    for report in reports or ():
        if target is not None and report.get("target") != target:
            continue
        badge = report.get("badge", "")
        title = BADGE_TITLES.get(badge)
        rows.append(
            {
                "badge": badge,
                "title": request.localizer.translate(title) if title is not None else badge,
                "signer": report.get("signer", ""),
                "issuer": report.get("issuer", ""),
                "time": local_time(request, report.get("signed_at")) if report.get("signed_at") else "",
                "timestamped": bool(report.get("timestamped")),
                "reason": _reason(request, report.get("reason", "")),
                "format": report.get("format", ""),
            }
        )
    return rows


def for_attachment(request, deliveries, name):
    """The badges of attachment ``name`` as the viewer's first delivery recorded them."""
    for delivery in deliveries:
        if delivery.signatures_checked_at:
            return badge_views(request, delivery.signatures, name)
    return []


def applied(request, document):
    """What the sender's key signed at issue."""
    return [
        {
            "target": s.get("target", ""),
            "key": s.get("key", ""),
            "format": s.get("format", ""),
            "time": local_time(request, s.get("time")),
        }
        for s in getattr(document, "signatures_applied", ()) or ()
    ]
