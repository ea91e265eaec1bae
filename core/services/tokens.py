"""API tokens: made for a unit by an admin (systems, scripts) or by logging in through the API."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from .. import clock
from ..errors import NotFound, ServiceError
from ..i18n import _
from ..resources.tokens import SYSTEM, ApiToken
from . import audit

PREFIX = "lt_"  # recognisable in logs and secret scanners


def digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create(site, actor, unit_code, label, kind=SYSTEM, login=None, ttl=None, epoch=0):
    """Make a token and return ``(token, secret)``; the secret is not kept and cannot be shown again."""
    if kind == SYSTEM:
        from .directory import active_unit

        active_unit(site, unit_code, "unit")
    label = (label or "").strip()
    if not label:
        raise ServiceError(_("Give the token a name that says what uses it."), field="label")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.utc_now()
    token = ApiToken(
        token_id=uuid.uuid4().hex,
        digest=digest(secret),
        kind=kind,
        unit_code=unit_code,
        label=label[:200],
        created=clock.iso(now),
        created_by=actor.login,
        login=login,
        expires=clock.iso(now + timedelta(seconds=ttl)) if ttl else None,
        epoch=epoch,
    )
    if kind != SYSTEM and login:
        prune_login_tokens(site, login, clock.iso(now))
    site["tokens"].add_token(token)
    if kind == SYSTEM:
        audit.record(
            site, actor, "token.create", f"/tokens/{token.token_id}", unit=unit_code, label=token.label
        )
    return token, secret


def find(site, secret):
    if not secret or not secret.startswith(PREFIX):
        return None
    return site["tokens"].find(digest(secret))


def touch(token, now_iso, every=60):
    """Record the token's last use, at most once per ``every`` seconds (no write on every request)."""
    last = token.last_used
    if last is None or (clock.parse_iso(now_iso) - clock.parse_iso(last)).total_seconds() >= every:
        token.last_used = now_iso


def revoke(site, actor, token_id):
    token = site["tokens"].get(token_id)
    if token is None:
        raise NotFound(_("Unknown token."), field="token")
    if not token.revoked:
        token.revoked = clock.now_iso()
        audit.record(
            site, actor, "token.revoke", f"/tokens/{token_id}", unit=token.unit_code, label=token.label
        )
    return token


def revoke_login_tokens(site, login, now_iso=None):
    """Revoke every still valid login token of ``login``; returns their ids.

    The caller records why in one audit entry (``accounts.end_sessions``).
    """
    now_iso = now_iso or clock.now_iso()
    revoked = []
    for token in site["tokens"].login_tokens(login):
        if token.is_valid(now_iso):
            token.revoked = now_iso
            revoked.append(token.token_id)
    return revoked


def of_unit(site, unit_code):
    """The system tokens of a unit, newest first."""
    found = [t for t in site["tokens"].values() if t.kind == SYSTEM and t.unit_code == unit_code]
    return sorted(found, key=lambda t: t.created, reverse=True)


def prune_login_tokens(site, login, now_iso):
    """Drop ``login``'s expired or revoked login tokens, so API logins do not pile up.

    A unit's system tokens are kept, revoked ones included: their list is the unit's record.
    """
    container = site["tokens"]
    spent = [t for t in container.login_tokens(login) if not t.is_valid(now_iso)]
    for token in spent:
        container.remove_token(token)
    return len(spent)


def prune_all_login_tokens(site, now=None):
    """Every person's spent login tokens (the worker's hourly chore): people who never log in
    again would otherwise keep theirs forever. Returns how many went."""
    now_iso = clock.iso(now or clock.utc_now())
    logins = list((site["tokens"].by_login or {}).keys())
    return sum(prune_login_tokens(site, login, now_iso) for login in logins)
