"""Accounts: create users, grant roles as local roles, authenticate."""
import re

from .. import security as sec
from ..resources.users import User
from . import audit
from .passwords import check_policy, hash_password, verify_password

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SITE_ROLES = (sec.SYSTEM_ADMIN, sec.AUDITOR)


class AccountError(ValueError):
    pass


def add_user(site, actor, login, fullname, password, unit_code=None, roles=(), position="",
             email="", enforce_policy=True, password_hash=None):
    """Create a user and grant ``roles``: site roles on the site, others on the user's unit.

    ``password_hash`` (with ``password=None``) takes an argon2 hash made earlier, so that
    bulk imports hash a shared initial password once.
    """
    login = (login or "").strip().lower()
    if not LOGIN_RE.match(login):
        raise AccountError(f"invalid login {login!r}: use 2-64 lowercase letters, digits, '.', '_' or '-'")
    if login in site["users"]:
        raise AccountError(f"login {login!r} already exists")
    unit = None
    if unit_code is not None:
        unit = site["directory"].get(unit_code)
        if unit is None:
            raise AccountError(f"unknown unit {unit_code!r}")
    for role in roles:
        if role not in sec.ROLES:
            raise AccountError(f"unknown role {role!r}")
        if role not in SITE_ROLES and unit is None:
            raise AccountError(f"role {role!r} needs a unit")
    if password_hash is None:
        if enforce_policy:
            check_policy(password, login)
        password_hash = hash_password(password)
    user = User(login, fullname, password_hash, unit_code, position, email)
    site["users"].add(login, user)
    principal = sec.user_principal(login)
    for role in roles:
        (site if role in SITE_ROLES else unit).grant_local_role(principal, role)
    audit.record(site, actor, "user.create", f"/users/{login}", roles=list(roles), unit=unit_code)
    return user


def roles_of(site, user):
    """All roles held by ``user`` (site-wide and on their unit), for display."""
    principal = sec.user_principal(user.login)
    roles = set(site.local_roles_of(principal))
    if user.unit_code and user.unit_code in site["directory"]:
        roles.update(site["directory"][user.unit_code].local_roles_of(principal))
    return sorted(roles)


def authenticate(site, login, password, client=None):
    """Return the user when the login and password match an active account, else None.

    Unknown logins cost the same argon2 verification as known ones and are reported
    with the same answer, so the login form does not reveal which accounts exist.
    """
    login = (login or "").strip().lower()
    user = site["users"].get(login)
    ok = verify_password(user.password_hash if user else None, password or "")
    actor = audit.Actor(login=login or "-", client=client)
    if user is None or not ok or not user.is_active():
        audit.record(site, actor, "auth.login_failed", f"/users/{login}",
                     reason="locked" if (user is not None and ok) else "bad_credentials")
        return None
    audit.record(site, actor, "auth.login", f"/users/{login}")
    return user


def set_password(site, actor, user, new_password):
    check_policy(new_password, user.login)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    audit.record(site, actor, "user.password_change", f"/users/{user.login}")
