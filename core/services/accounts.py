"""Accounts: create and change users, grant roles as local roles, authenticate, lock out.

Every change is written to the audit log with the actor; errors name the field at fault.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from .. import permissions as sec
from ..clock import iso, now_iso, parse_iso, utc_now
from ..errors import Conflict, NotFound, ServiceError
from ..i18n import _
from ..resources.users import User
from ..text import is_email
from . import audit, notices, sessions, tokens
from .passwords import PasswordPolicyError, check_policy, hash_password, random_password, verify_password

LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
SITE_ROLES = (sec.SYSTEM_ADMIN, sec.AUDITOR)
UNIT_ROLES = (sec.UNIT_ADMIN, sec.CLERK, sec.LEADER, sec.SPECIALIST)
EDITABLE = ("fullname", "position", "email", "unit_code")
COMPROMISED = "compromised"  # the lock reason of a reported password
ROLES_CHANGED = "roles_changed"  # why a person's sessions ended: an admin changed their roles


class AccountError(ServiceError):
    pass


@dataclass(frozen=True)
class LockoutPolicy:
    """R5.3 and the login throttle (docs/security.md, "Login throttling").

    ``attempts`` failed logins in a row for one account from one address lock that
    address out of that account for ``minutes``; the account itself locks, for as long,
    only after ``account_attempts`` failures from all addresses (default ``4 × attempts``, so
    that no account takes more than about 100 failures an hour: ASVS 2.2.1),
    and its admins are alerted. Before the lock-out the in-process throttle
    (``services.throttle``) lets ``free`` failures through, then makes each next attempt
    wait ``delay`` seconds, doubling; one address failing on any accounts gets
    ``client_free`` failures free before the same delays.
    """

    attempts: int = 5
    minutes: int = 15
    account_attempts: int = 0  # 0: four times ``attempts``
    free: int = 2
    delay: float = 1.0
    client_free: int = 20

    @classmethod
    def from_settings(cls, settings):
        return cls(
            int(settings.get("lienthong.lockout.attempts", 5)),
            int(settings.get("lienthong.lockout.minutes", 15)),
            int(settings.get("lienthong.lockout.account_attempts", 0)),
            int(settings.get("lienthong.throttle.free", 2)),
            float(settings.get("lienthong.throttle.delay", 1)),
            int(settings.get("lienthong.throttle.client_free", 20)),
        )

    @property
    def account_threshold(self):
        return self.account_attempts or 4 * self.attempts


class LoginThrottled(ServiceError):
    """A login refused before its password is checked: the address (or the account) must wait.

    ``retry_after`` is in whole seconds; the pages and the API answer 429 with ``Retry-After``.
    """

    status = 429

    def __init__(self, retry_after):
        self.retry_after = max(1, int(retry_after))
        minutes = -(-self.retry_after // 60)
        if self.retry_after < 120:
            message = _("Too many failed logins. Try again in a moment (${seconds} s).")
        else:
            message = _("Too many failed logins. Try again in ${minutes} minutes.")
        super().__init__(message, field="login", seconds=self.retry_after, minutes=minutes)


def normalise_login(login):
    """The one spelling of a login: no surrounding spaces, lower case (as accounts are stored)."""
    return (login or "").strip().lower()


def get_user(site, login):
    user = site["users"].get(normalise_login(login))
    if user is None:
        raise NotFound(_("Unknown user ${login}."), field="login", login=login or "")
    return user


def _check_password(password, login, field="password"):
    try:
        check_policy(password or "", login)
    except PasswordPolicyError as exc:
        exc.field = field
        raise


def _unit(site, code, field="unit_code"):
    from .directory import active_unit

    return active_unit(site, code, field)


def _check_email(email):
    if email and not is_email(email):
        raise AccountError(_("${value} is not an e-mail address."), field="email", value=email)


def add_user(
    site,
    actor,
    login,
    fullname,
    password,
    unit_code=None,
    roles=(),
    position="",
    email="",
    enforce_policy=True,
    password_hash=None,
    must_change_password=False,
):
    """Create a user and grant ``roles``: site roles on the site, others on the user's unit.

    ``password_hash`` (with ``password=None``) takes an argon2 hash made earlier, so that
    bulk imports hash a shared initial password once. Everything is checked before
    anything is written.
    """
    login = normalise_login(login)
    if not LOGIN_RE.match(login):
        raise AccountError(
            _("Invalid login ${login}: use 2-64 lowercase letters, digits, '.', '_' or '-'."),
            field="login",
            login=login,
        )
    if login in site["users"]:
        raise Conflict(_("The login ${login} already exists."), field="login", login=login)
    fullname = (fullname or "").strip()
    if not fullname:
        raise AccountError(_("The full name is required."), field="fullname")
    _check_email(email)
    unit = _unit(site, unit_code) if unit_code else None
    for role in roles:
        _check_role(role, unit)
    if password_hash is None:
        if enforce_policy:
            _check_password(password, login)
        password_hash = hash_password(password)
    user = User(login, fullname, password_hash, unit_code or None, position or "", email or "")
    user.must_change_password = must_change_password
    site["users"].add(login, user)
    principal = sec.user_principal(login)
    for role in roles:
        (site if role in SITE_ROLES else unit).grant_local_role(principal, role)
    audit.record(site, actor, "user.create", f"/users/{login}", roles=list(roles), unit=unit_code)
    return user


def _check_role(role, unit):
    if role not in sec.ROLES:
        raise AccountError(_("Unknown role ${role}."), field="roles", role=role)
    if role not in SITE_ROLES and unit is None:
        raise AccountError(_("The role ${role} needs a unit."), field="roles", role=role)


def update_user(site, actor, user, **changes):
    """Change profile fields (``EDITABLE``); returns the changed fields.

    Moving a person to another unit moves their unit roles with them: roles left on the
    old unit would still open its mailbox.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise AccountError(_("${name} cannot be changed here."), field=name, name=name)
    if "fullname" in changes and not (changes["fullname"] or "").strip():
        raise AccountError(_("The full name is required."), field="fullname")
    if "email" in changes:
        _check_email(changes["email"])
    if changes.get("unit_code"):
        _unit(site, changes["unit_code"])
    old_code = user.unit_code
    changed = {}
    for name, value in changes.items():
        value = (value or "").strip() or (None if name == "unit_code" else "")
        if getattr(user, name) != value:
            changed[name] = value
            setattr(user, name, value)
    if changed:
        audit.record(site, actor, "user.update", f"/users/{user.login}", fields=sorted(changed))
    if "unit_code" in changed:
        _move_unit_roles(site, actor, user, old_code, user.unit_code)
    return changed


def _move_unit_roles(site, actor, user, old_code, new_code):
    principal = sec.user_principal(user.login)
    old_unit = site["directory"].get(old_code or "")
    roles = list(old_unit.local_roles_of(principal)) if old_unit is not None else []
    for role in roles:
        old_unit.revoke_local_role(principal, role)
        if new_code:
            site["directory"][new_code].grant_local_role(principal, role)
    if roles:
        audit.record(
            site, actor, "user.move_roles", f"/users/{user.login}", roles=roles, unit=old_code, to=new_code
        )
        end_sessions(site, actor, user, ROLES_CHANGED, with_tokens=False)


def roles_of(site, user):
    """All roles held by ``user`` (site-wide and on their unit), for display."""
    return sorted({role for _code, role in role_grants(site, user)})


def role_grants(site, user):
    """``(unit_code or None, role)`` for every role ``user`` holds: None means site-wide."""
    principal = sec.user_principal(user.login)
    grants = {(None, role) for role in site.local_roles_of(principal)}
    codes = set(user.extra_units)
    if user.unit_code:
        codes.add(user.unit_code)
    for code in codes:
        unit = site["directory"].get(code)
        if unit is not None:
            grants |= {(code, role) for role in unit.local_roles_of(principal)}
    return sorted(grants, key=lambda g: (g[0] or "", g[1]))


def grant_role(site, actor, user, role, unit_code=None):
    unit = None if role in SITE_ROLES else _unit(site, unit_code or user.unit_code or "", field="unit_code")
    _check_role(role, unit)
    target = site if unit is None else unit
    target.grant_local_role(sec.user_principal(user.login), role)
    if unit is not None and unit.code != user.unit_code:
        user.extra_units = tuple(sorted(set(user.extra_units) | {unit.code}))
    audit.record(
        site,
        actor,
        "user.grant_role",
        f"/users/{user.login}",
        role=role,
        unit=None if unit is None else unit.code,
    )
    end_sessions(site, actor, user, ROLES_CHANGED, with_tokens=False)


def revoke_role(site, actor, user, role, unit_code=None):
    if role == sec.SYSTEM_ADMIN and user.login == actor.login:
        raise Conflict(_("You cannot remove your own system administrator role."), field="roles")
    target = site if role in SITE_ROLES else site["directory"].get(unit_code or user.unit_code or "")
    if target is None or role not in target.local_roles_of(sec.user_principal(user.login)):
        raise AccountError(
            _("${login} does not hold the role ${role} there."), field="roles", login=user.login, role=role
        )
    target.revoke_local_role(sec.user_principal(user.login), role)
    audit.record(
        site,
        actor,
        "user.revoke_role",
        f"/users/{user.login}",
        role=role,
        unit=None if target is site else target.code,
    )
    end_sessions(site, actor, user, ROLES_CHANGED, with_tokens=False)


def authenticate(site, login, password, client=None, lockout=LockoutPolicy(), via="web", throttle=None):
    """Return the user when the login and password match an active account, else None.

    Unknown logins cost the same argon2 verification as known ones and get the same
    answer, so the login form does not reveal which accounts exist. Raises
    ``LoginThrottled``, before any password check and without writing anything, when
    ``client`` must wait: the in-process ``throttle`` slows it down for this account or
    for all, the lock-out of R5.3 stops it for this account, or the whole account is
    locked. A client that has not been failing is never refused the right password,
    unless the account itself is locked, which takes ``lockout.account_threshold``
    failures from all addresses.
    """
    login = normalise_login(login)
    key = client or "-"
    now = now_iso()
    user = site["users"].get(login)
    if throttle is not None:
        wait = throttle.wait(login, key)
        if wait:
            raise LoginThrottled(wait)
    if user is not None and user.login_failures is not None:
        until = user.login_failures.locked_until(key, now)
        if until:
            raise LoginThrottled(_seconds_until(until))
    if user is not None and not user.locked and not user.is_active(now):  # the account-wide lock
        raise LoginThrottled(_seconds_until(user.locked_until))
    ok = verify_password(user.password_hash if user else None, password or "")
    actor = audit.Actor(login=login or "-", client=client)
    if user is not None and user.locked:
        audit.record(site, actor, "auth.login_failed", f"/users/{login}", reason="locked", via=via)
        return None
    if user is None or not ok:
        audit.record(site, actor, "auth.login_failed", f"/users/{login}", reason="bad_credentials", via=via)
        if throttle is not None:
            throttle.failed(login, key)
        if user is not None:
            _count_failure(site, user, key, now, lockout)
        return None
    if throttle is not None:
        throttle.succeeded(login, key)
    failures = user.login_failures
    if failures is not None and (key in failures.by_client or failures.count()):
        failures.clear(key)  # this address starts again; the others' lock-outs stand
        failures.total.set(0)
    if user.locked_until:
        user.locked_until = None
    audit.record(site, actor, "auth.login", f"/users/{login}", via=via)
    return user


def _seconds_until(until_iso):
    return max(1, int((parse_iso(until_iso) - utc_now()).total_seconds()) + 1)


def _count_failure(site, user, client, now, lockout):
    """One more failure of ``user`` from ``client``: the lock-out of that address at
    ``lockout.attempts`` in a row, the lock of the account far past that."""
    failures = user.failures()
    count = failures.of(client)[0] + 1
    until = None
    if count >= lockout.attempts:
        until = iso(utc_now() + timedelta(minutes=lockout.minutes))
        audit.record(
            site,
            audit.Actor(login=audit.Actor.system("lockout").login, client=client),
            "user.locked_out",
            f"/users/{user.login}",
            scope="client",
            until=until,
            attempts=lockout.attempts,
        )
        count = 0
    failures.by_client[client] = (count, now, until)
    failures.total.change(1)
    total = failures.count()
    if total >= lockout.account_threshold:
        _lock_account(site, user, total, failures.clients(), lockout)


def _lock_account(site, user, total, clients, lockout):
    """Far past what one address may try: the whole account waits, and its admins are told."""
    user.locked_until = iso(utc_now() + timedelta(minutes=lockout.minutes))
    user.failures().total.set(0)
    for client, (_count, _last, until) in list(user.failures().by_client.items()):
        if until is None:  # the addresses that are not locked out start again
            del user.failures().by_client[client]
    admins = {
        a.login: a for a in unit_admins(site, user.unit_code) + system_admins(site) if a.login != user.login
    }
    for admin in admins.values():
        notify(
            admin,
            _(
                "The account ${login} (${name}) is locked for ${minutes} minutes after ${failures} failed "
                "logins from ${clients} addresses. Someone may be guessing its password: check with its "
                "holder; unlocking it on its page reopens it at once."
            ),
            link=f"/manage/users/{user.login}",
            login=user.login,
            name=user.fullname,
            minutes=lockout.minutes,
            failures=total,
            clients=clients,
        )
    audit.record(
        site,
        audit.Actor.system("lockout"),
        "user.locked_out",
        f"/users/{user.login}",
        scope="account",
        until=user.locked_until,
        failures=total,
        clients=clients,
        alerted=sorted(admins),
    )


def set_password(site, actor, user, new_password, current_password=None, keep_session=None):
    """Change a password; when ``current_password`` is given (a user changing their own) it must match.

    Every other session of the person and every login token ends (ASVS 3.3.3): whoever
    knew the old password is out. ``keep_session`` is the id of the session making the
    change, which stays (the caller gives it a new id).
    """
    if current_password is not None and not verify_password(user.password_hash, current_password):
        raise AccountError(_("The current password is incorrect."), field="current_password")
    _check_password(new_password, user.login, field="new_password")
    if current_password is not None and verify_password(user.password_hash, new_password):
        raise AccountError(_("The new password must differ from the current one."), field="new_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    end_sessions(site, actor, user, "password_change", keep_session=keep_session)
    audit.record(site, actor, "user.password_change", f"/users/{user.login}")


def reset_password(site, actor, user):
    """An admin's reset: a random one-time password, to be changed at the next login; returns it.

    Every session and login token of the user ends, so whoever knew the old one is out.
    """
    password = random_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    if user.lock_reason == COMPROMISED:  # the new password is what reopens a compromised account
        user.locked = False
        user.lock_reason = ""
    user.locked_until = None
    user.failed_logins = 0
    end_sessions(site, actor, user, "password_reset")
    audit.record(site, actor, "user.password_reset", f"/users/{user.login}")
    return password


def end_sessions(site, actor, user, reason, keep_session=None, with_tokens=True):
    """End the sessions of ``user`` (all but ``keep_session``, an id) and, ``with_tokens``, every
    login token: each stops being accepted on its next request. Returns ``(sessions, tokens)``.

    The one place that ends a person's sessions: a password change or reset, a lock, a
    compromise report, a change of their roles (sessions only: a token holds no privilege
    of its own, the roles are read on each request). One audit entry says why and how many.
    """
    ended = sessions.end_all(user, keep=keep_session)
    revoked = []
    if with_tokens:
        user.session_epoch += 1  # a token made before, revoked or not, no longer matches the account
        revoked = tokens.revoke_login_tokens(site, user.login)
    if ended or revoked:
        audit.record(
            site,
            actor,
            "user.sessions_end",
            f"/users/{user.login}",
            reason=reason,
            sessions=ended,
            tokens=len(revoked),
        )
    return ended, len(revoked)


def lock(site, actor, user, reason=""):
    if user.login == actor.login:
        raise Conflict(_("You cannot lock your own account."), field="login")
    user.locked = True
    user.lock_reason = reason or ""
    end_sessions(site, actor, user, "lock")
    audit.record(site, actor, "user.lock", f"/users/{user.login}", reason=reason or "")


def unlock(site, actor, user):
    """Reopen a locked account; one whose password was compromised reopens only by a reset."""
    if user.lock_reason == COMPROMISED:
        raise Conflict(
            _("The password of this account was reported compromised: reset the password to unlock it."),
            field="locked",
        )
    user.locked = False
    user.lock_reason = ""
    user.locked_until = None
    user.failed_logins = 0
    audit.record(site, actor, "user.unlock", f"/users/{user.login}")


def unit_admins(site, unit_code):
    """The users who hold the unit-admin role on ``unit_code``."""
    unit = site["directory"].get(unit_code or "")
    if unit is None or not unit.__local_roles__:
        return []
    logins = [
        p.split(":", 1)[1]
        for p, roles in unit.__local_roles__.items()
        if sec.UNIT_ADMIN in roles and p.startswith("user:")
    ]
    return [site["users"][login] for login in logins if login in site["users"]]


def system_admins(site):
    if not site.__local_roles__:
        return []
    logins = [
        p.split(":", 1)[1]
        for p, roles in site.__local_roles__.items()
        if sec.SYSTEM_ADMIN in roles and p.startswith("user:")
    ]
    return [site["users"][login] for login in logins if login in site["users"]]


def notify(user, message, link="", kind=None, **mapping):
    """An in-app notice for ``user``; ``message`` is a msgid translated when shown. ``kind``:
    one of ``services.notices.KINDS`` the person may mute, else an alert they always get."""
    return notices.add(user, kind or notices.ALERT, message, mapping, link)


def report_compromised(site, actor, user, note=""):
    """R8.2: lock the account, end its sessions and tokens, alert the unit's admins, open an incident.

    Returns the incident's id. Reported by the user or by an admin; either way the account
    stays locked until an admin resets the password.
    """
    from .incidents import open_incident

    user.locked = True
    user.lock_reason = COMPROMISED
    end_sessions(site, actor, user, COMPROMISED)
    incident_id = open_incident(
        site,
        actor,
        "compromised_password",
        f"/users/{user.login}",
        unit_code=user.unit_code,
        description=note,
        actions=[_("account locked"), _("sessions and tokens ended"), _("unit admins alerted")],
    )
    admins = unit_admins(site, user.unit_code) or system_admins(site)
    for admin in admins:
        notify(
            admin,
            _(
                "The password of ${login} (${name}) was reported compromised; the account is locked. "
                "Reset its password after checking with its holder."
            ),
            link=f"/manage/users/{user.login}",
            login=user.login,
            name=user.fullname,
        )
    audit.record(
        site,
        actor,
        "user.compromised",
        f"/users/{user.login}",
        incident=incident_id,
        alerted=[a.login for a in admins],
    )
    return incident_id
