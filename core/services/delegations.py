"""Delegation (R6.2): lend a mailbox, a role or named permissions for a period, never a password.

The delegate switches to "acting for" the delegator (a session setting on pages, the
``X-Acting-For`` header on the API); the security policy then lends the delegated rights
and every audit entry names both people. A revoked or expired delegation stops lending
on the very next request.
"""

import uuid
from datetime import date

from .. import permissions as sec
from ..clock import now_iso
from ..errors import Conflict, Forbidden, NotFound, ServiceError
from ..i18n import _
from ..resources.delegations import PERMISSIONS, ROLE, SCOPES, Delegation
from . import audit
from .accounts import notify, role_grants

MAX_DAYS = 366


class DelegationError(ServiceError):
    pass


def _date(value, field):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except (ValueError, AttributeError):
        raise DelegationError(
            _("${value} is not a date (yyyy-mm-dd)."), field=field, value=value or ""
        ) from None


def create(
    site,
    actor,
    delegator,
    delegate_login,
    start,
    end,
    scope,
    unit_code=None,
    role=None,
    permissions=(),
    note="",
    today=None,
):
    """``delegator`` lends ``scope`` to ``delegate_login`` from ``start`` to ``end`` (inclusive dates)."""
    today = today or date.today()
    delegate = site["users"].get((delegate_login or "").strip().lower())
    if delegate is None:
        raise DelegationError(_("Unknown user ${login}."), field="delegate", login=delegate_login or "")
    if delegate.login == delegator.login:
        raise DelegationError(_("You cannot delegate to yourself."), field="delegate")
    if not delegate.is_active():
        raise DelegationError(_("The account ${login} is locked."), field="delegate", login=delegate.login)
    start, end = _date(start, "start"), _date(end, "end")
    if end < start:
        raise DelegationError(_("The delegation ends before it starts."), field="end")
    if end < today:
        raise DelegationError(_("The delegation would already be over."), field="end")
    if (end - start).days >= MAX_DAYS:
        raise DelegationError(_("A delegation lasts at most ${days} days."), field="end", days=MAX_DAYS)
    if scope not in SCOPES:
        raise DelegationError(
            _("Unknown scope ${scope}: use mailbox, role or permissions."), field="scope", scope=scope or ""
        )
    held = role_grants(site, delegator)
    if scope in (ROLE, PERMISSIONS):
        unit_code = unit_code or delegator.unit_code
        unit_roles = {r for code, r in held if code == unit_code}
        if not unit_roles:
            raise DelegationError(
                _("You hold no role on unit ${code}."), field="unit_code", code=unit_code or ""
            )
    if scope == ROLE:
        if role not in unit_roles or role == sec.UNIT_ADMIN:
            raise DelegationError(
                _("You cannot delegate the role ${role} on that unit."), field="role", role=role or ""
            )
        permissions = ()
    elif scope == PERMISSIONS:
        permissions = tuple(dict.fromkeys(permissions or ()))
        if not permissions:
            raise DelegationError(_("Name at least one permission."), field="permissions")
        for p in permissions:
            if p not in sec.DELEGABLE:
                raise DelegationError(
                    _("The permission ${name} cannot be delegated."), field="permissions", name=p
                )
        role = None
    else:
        unit_code, role, permissions = None, None, ()
    d = Delegation(
        uuid.uuid4().hex,
        delegator.login,
        delegate.login,
        start.isoformat(),
        end.isoformat(),
        scope,
        unit_code=unit_code,
        role=role,
        permissions=permissions,
        created=now_iso(),
        created_by=actor.login,
        note=(note or "").strip()[:500],
    )
    site["delegations"].add_delegation(d)
    notify(
        delegate,
        _("${name} delegated to you from ${start} to ${end}."),
        link="/delegations",
        kind="delegation",
        name=delegator.fullname,
        start=d.start,
        end=d.end,
    )
    audit.record(
        site,
        actor,
        "delegation.create",
        f"/delegations/{d.delegation_id}",
        delegator=d.delegator,
        delegate=d.delegate,
        start=d.start,
        end=d.end,
        scope=scope,
        unit=unit_code,
        role=role,
        permissions=list(permissions),
    )
    return d


def get(site, delegation_id):
    d = site["delegations"].get(delegation_id or "")
    if d is None:
        raise NotFound(_("Unknown delegation."), field="delegation")
    return d


def revoke(site, actor, d, by_admin=False):
    """The delegator (or an admin) ends a delegation at once."""
    if not by_admin and actor.login != d.delegator:
        raise Forbidden(_("Only the person who delegated can revoke it."), field="delegation")
    if d.revoked:
        raise Conflict(_("The delegation is already revoked."), field="delegation")
    d.revoked = now_iso()
    audit.record(
        site,
        actor,
        "delegation.revoke",
        f"/delegations/{d.delegation_id}",
        delegator=d.delegator,
        delegate=d.delegate,
    )


def usable_by(site, login, today):
    """Delegations ``login`` may act under today."""
    return [
        d
        for d in site["delegations"].received_by(login)
        if d.is_current(today)
        and site["users"].get(d.delegator) is not None
        and site["users"][d.delegator].is_active()
    ]
