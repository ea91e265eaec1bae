"""System credentials of a unit (``resources/credentials.py``): made, listed, revoked, read back.

A credential is an id and a shared secret a unit's eOffice product signs its calls with (the
national axis's SDK signs every call with an HMAC-SHA256 keyed by such a secret; the hub's
VXP-compatible face, ``plugins/vxp``, checks it). The hub must recompute the HMAC, so the
secret is kept, encrypted (Fernet: AES-128-CBC and HMAC-SHA256) with a key derived by HKDF
from the application's ``lienthong.secret`` (or the file ``lienthong.secret_file`` names):
the database alone, or a backup of it, holds no usable secret. Changing ``lienthong.secret``
makes every credential unreadable (calls are refused; the unit's admin makes new ones).

Made by the unit's admin or the operator (the unit's management page), shown once; what a
credential does counts as its unit's product (``system:<unit code>``, like the unit's API
token). Creation and revocation are on the audit record; so is every refused call (by the
face that refused it).
"""

import base64
import os
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .. import clock
from ..errors import NotFound, ServiceError
from ..i18n import _
from ..resources.credentials import SystemCredential
from . import audit

HKDF_INFO = b"lienthong system credentials v1"
LAST_USED_EVERY = 60  # seconds: the last use is written at most this often (no write per call)
MAX_LABEL = 200


class CredentialUnreadable(Exception):
    """The stored secret cannot be decrypted with this application's key (``lienthong.secret``
    changed, or none is configured)."""


def configured_secret(settings):
    """The application's ``lienthong.secret`` (or the content of ``lienthong.secret_file``);
    None when neither is configured (the sessions' random key of the moment is not used:
    it would not survive a restart)."""
    settings = settings or {}
    value = settings.get("lienthong.secret")
    if value:
        return value
    path = settings.get("lienthong.secret_file")
    if path and os.path.exists(path):
        with open(path) as f:
            return f.read().strip() or None
    return None


def _fernet(settings):
    secret = configured_secret(settings)
    if not secret:
        return None
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _container(site):
    if "credentials" not in site:  # a database older than the container (until its evolve step runs)
        site.ensure_containers()
    return site["credentials"]


def create(site, env, actor, unit_code, label):
    """Make a credential for ``unit_code``: ``(credential, secret)``; the secret is shown once."""
    from .directory import active_unit

    unit = active_unit(site, unit_code, "unit")
    label = " ".join((label or "").split())
    if not label:
        raise ServiceError(_("Give the credential a name that says which product uses it."), field="label")
    fernet = _fernet(env.settings)
    if fernet is None:
        raise ServiceError(
            _(
                "The hub has no lienthong.secret (or lienthong.secret_file) configured: a system credential "
                "cannot be stored safely. Ask the operator to configure it."
            ),
            field="label",
        )
    container = _container(site)
    system_id = f"{unit.code}.{secrets.token_hex(4)}"
    while system_id in container:
        system_id = f"{unit.code}.{secrets.token_hex(4)}"
    secret = secrets.token_urlsafe(32)
    credential = SystemCredential(
        system_id=system_id,
        unit_code=unit.code,
        label=label[:MAX_LABEL],
        encrypted_secret=fernet.encrypt(secret.encode("utf-8")),
        created=clock.iso(env.now()),
        created_by=actor.login,
    )
    container.add(system_id, credential)
    audit.record(
        site, actor, "credential.create", f"/credentials/{system_id}", unit=unit.code, label=credential.label
    )
    return credential, secret


def find(site, system_id):
    """The credential ``system_id`` (revoked or not), or None."""
    if not isinstance(system_id, str) or not system_id or "credentials" not in site:
        return None
    return site["credentials"].get(system_id)


def secret_of(settings, credential):
    """The secret of ``credential`` (bytes), decrypted; ``CredentialUnreadable`` when it cannot be."""
    fernet = _fernet(settings)
    if fernet is None:
        raise CredentialUnreadable("no lienthong.secret is configured")
    try:
        return fernet.decrypt(credential.encrypted_secret)
    except InvalidToken:
        raise CredentialUnreadable("the secret was stored under another lienthong.secret") from None


def touch(credential, now_iso, every=LAST_USED_EVERY):
    """Record an accepted call, at most once per ``every`` seconds."""
    last = credential.last_used
    if last is None or (clock.parse_iso(now_iso) - clock.parse_iso(last)).total_seconds() >= every:
        credential.last_used = now_iso


def revoke(site, actor, system_id, unit_code=None):
    """Revoke ``system_id`` (of ``unit_code`` when given): its calls are refused from now on."""
    credential = find(site, system_id)
    if credential is None or (unit_code is not None and credential.unit_code != unit_code):
        raise NotFound(_("Unknown credential."), field="credential")
    if not credential.revoked:
        credential.revoked = clock.now_iso()
        audit.record(
            site,
            actor,
            "credential.revoke",
            f"/credentials/{system_id}",
            unit=credential.unit_code,
            label=credential.label,
        )
    return credential


def of_unit(site, unit_code):
    """The credentials of a unit, newest first (revoked ones included: the unit's record)."""
    if "credentials" not in site:
        return []
    found = [c for c in site["credentials"].values() if c.unit_code == unit_code]
    return sorted(found, key=lambda c: c.created, reverse=True)


def actor_for(credential, client=None):
    """Who acts when a call signed with ``credential`` is accepted: the unit's product."""
    return audit.Actor(login=f"system:{credential.unit_code}", client=client or None)
