"""Trust roots and certificates (R10.10): which certification authorities a verification trusts.

The operator trusts CA certificates for every unit and a unit may add its own; a
verification for a unit trusts both (``trust_for``). The signing service
(``services/signatures``) uses what this module decides; the management screen edits it.
"""

import hashlib
from datetime import datetime, timedelta

from pyramid.settings import asbool

from .. import signing
from ..clock import iso, now_iso, utc_now
from ..errors import NotFound, ServiceError
from ..i18n import _
from ..resources.trust import TrustRoot, find_trust, trust_store
from . import audit

#: a root expiring within this many days is highlighted on the management screen
EXPIRING_DAYS = 30


class SignatureError(ServiceError):
    """A certificate, key or signature the hub refuses, with the reason."""


# -- certificates ----------------------------------------------------------------------------
def load_certificate(data):
    """A ``cryptography`` certificate from PEM or DER bytes; ``SignatureError`` when it is neither."""
    from cryptography import x509

    data = bytes(data or b"")
    if not data.strip():
        raise SignatureError(_("Choose a certificate file."), field="certificate")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, TypeError):
        raise SignatureError(_("The file is not a certificate (PEM or DER)."), field="certificate") from None


def fingerprint(der):
    return hashlib.sha256(bytes(der)).hexdigest()


def _name(name):
    try:
        return name.rfc4514_string()
    except Exception:  # an unusual attribute cryptography cannot print
        return str(name)


def certificate_facts(cert):
    """What the management screen shows of a certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = cert.public_bytes(Encoding.DER)
    try:
        ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        ca = False
    return {
        "der": der,
        "fingerprint": fingerprint(der),
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "not_before": iso(cert.not_valid_before_utc),
        "not_after": iso(cert.not_valid_after_utc),
        "ca": ca,
        "serial": format(cert.serial_number, "x"),
    }


def expiry_state(not_after_iso, now=None):
    """ "expired", "expiring" (within ``EXPIRING_DAYS``) or ""."""
    now = now or utc_now()
    end = datetime.fromisoformat(not_after_iso)
    if end <= now:
        return "expired"
    if end <= now + timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return ""


# -- trust roots -----------------------------------------------------------------------------
def _root_path(unit_code):
    return "/trust" + (f"/units/{unit_code}" if unit_code else "")


def add_root(site, actor, data, unit_code=None):
    """Trust the CA certificate in ``data`` (PEM or DER) for every unit, or for ``unit_code`` only."""
    facts = certificate_facts(load_certificate(data))
    if not facts["ca"]:
        raise SignatureError(
            _(
                "The certificate of ${subject} is not a CA certificate: only a certification "
                "authority can be a trust root."
            ),
            field="certificate",
            subject=facts["subject"],
        )
    if expiry_state(facts["not_after"]) == "expired":
        raise SignatureError(
            _("The certificate of ${subject} expired on ${date}."),
            field="certificate",
            subject=facts["subject"],
            date=facts["not_after"][:10],
        )
    if unit_code is not None and unit_code not in site["directory"]:
        raise NotFound(_("Unknown unit ${code}."), field="unit", code=unit_code)
    store = trust_store(site)
    roots = store.roots if unit_code is None else store.unit(unit_code, create=True).roots
    if facts["fingerprint"] in roots:
        raise SignatureError(_("This certificate is already trusted."), field="certificate")
    roots[facts["fingerprint"]] = TrustRoot(
        facts["der"],
        facts["fingerprint"],
        facts["subject"],
        facts["issuer"],
        facts["not_before"],
        facts["not_after"],
        actor.login,
        now_iso(),
        unit_code,
    )
    audit.record(
        site,
        actor,
        "signing.root.add",
        _root_path(unit_code),
        fingerprint=facts["fingerprint"],
        subject=facts["subject"],
        not_after=facts["not_after"],
    )
    return roots[facts["fingerprint"]]


def remove_root(site, actor, fp, unit_code=None):
    store = find_trust(site)
    roots = store.roots_of(unit_code) if store is not None else {}
    root = roots.get(fp) if fp else None
    if root is None:
        raise NotFound(
            _("No trusted certificate ${fingerprint}."), field="fingerprint", fingerprint=(fp or "")[:64]
        )
    del roots[fp]
    audit.record(
        site, actor, "signing.root.remove", _root_path(unit_code), fingerprint=fp, subject=root.subject
    )
    return root


def roots(site, unit_code=None):
    """The roots of the operator (``unit_code`` None) or of a unit, by subject."""
    store = find_trust(site)
    if store is None:
        return []
    return sorted(store.roots_of(unit_code).values(), key=lambda r: (r.subject, r.fingerprint))


def unit_roots(site):
    """``{unit code: [roots]}`` of every unit that has its own roots."""
    store = find_trust(site)
    if store is None:
        return {}
    return {
        code: sorted(u.roots.values(), key=lambda r: r.subject)
        for code, u in store.units.items()
        if len(u.roots)
    }


def trust_for(site, unit_code, settings=None):
    """What a verification for ``unit_code`` trusts: the operator's roots and the unit's own."""
    store = find_trust(site)
    ders = []
    if store is not None:
        ders = [r.der for r in store.roots.values()]
        if unit_code:
            ders += [r.der for r in store.roots_of(unit_code).values()]
    fetch = asbool((settings or {}).get("lienthong.signing.fetch", "true"))
    return signing.Trust(roots=ders, fetch=fetch)


def trust_key(trust):
    """What identifies a ``Trust`` (a verification found under it can be reused)."""
    return (
        frozenset(fingerprint(d) for d in trust.roots),
        frozenset(fingerprint(d) for d in trust.intermediates),
        trust.fetch,
    )
