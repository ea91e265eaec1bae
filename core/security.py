"""The security policy: who the request is, on whose behalf it acts, and what it may do.

Pages log in with the session, the APIs with bearer tokens; a delegate may act for a
delegator. The roles, permissions, ACL pieces and the principal helpers the policy hands
to Pyramid's ACL helper live in ``core/permissions.py``, below the resources. Code asks
``request.has_permission(...)``; it never tests a role by hand.
"""
from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.interfaces import ISecurityPolicy
from pyramid.location import lineage

from .permissions import (
    PROCESS,
    READ_MAILBOX,
    SYSTEM,
    VIEW,
    related_unit_codes,
    role_principals,
    unit_of,
    unit_role,
    user_principal,
)
from .resources.delegations import MAILBOX, PERMISSIONS, ROLE


class SystemIdentity:
    """Who a unit's API token speaks for: the unit's eOffice product (role ``system`` on it only)."""

    def __init__(self, token):
        self.token = token
        self.unit_code = token.unit_code
        self.login = f"system:{token.unit_code}"
        self.fullname = token.label
        self.must_change_password = False

    def is_active(self, now_iso=None):
        return True


def _today(request):
    from datetime import datetime
    return datetime.now(request.registry.lienthong_timezone).date().isoformat()


def _now_iso():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def is_api_request(request):
    """The JSON and edXML APIs authenticate by bearer token only, never by the session cookie,
    so a page on another site cannot make a logged-in browser call them (no CSRF there)."""
    return request.path.startswith(("/api/", "/edxml/"))


BEARER_PREFIX = "bearer "
ACTING_FOR_SESSION_KEY = "lienthong.acting_for"
ACTING_FOR_HEADER = "X-Acting-For"
LAST_USED_EVERY = 60  # seconds: a token's last-used time is written at most this often


class LienThongSecurityPolicy:
    """Session login for pages, bearer tokens for the APIs, ACLs with local roles, delegations."""

    def __init__(self):
        self.helper = SessionAuthenticationHelper(prefix="lienthong.")
        self.acl = ACLHelper()

    # -- who ---------------------------------------------------------------
    def identity(self, request):
        """The ``User`` (or ``SystemIdentity``) of the request, or None.

        None also when the account is locked or removed, when its sessions were ended
        (``session_epoch``), or when a token is revoked or expired: each takes effect on
        the next request.
        """
        if "_lienthong_identity" in request.__dict__:
            return request.__dict__["_lienthong_identity"]
        if is_api_request(request):
            user = self._token_identity(request)
        else:
            user = self._session_identity(request)
        request.__dict__["_lienthong_identity"] = user
        return user

    def _session_identity(self, request):
        userid = self.helper.authenticated_userid(request)
        if not userid:
            return None
        from .resources.site import get_site
        user = get_site(request)["users"].get(userid)
        if user is None or not user.is_active():
            return None
        if request.session.get("lienthong.epoch", 0) != user.session_epoch:
            return None
        return user

    def _token_identity(self, request):
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith(BEARER_PREFIX):
            return None
        from .resources.site import get_site
        from .services import tokens
        site = get_site(request)
        token = tokens.find(site, header[len(BEARER_PREFIX):].strip())
        now = _now_iso()
        if token is None or not token.is_valid(now):
            return None
        if token.kind == "system":
            identity = SystemIdentity(token)
        else:
            identity = site["users"].get(token.login)
            if identity is None or not identity.is_active() or token.epoch != identity.session_epoch:
                return None
        request.__dict__["_lienthong_token"] = token
        tokens.touch(token, now, every=LAST_USED_EVERY)
        return identity

    def authenticated_userid(self, request):
        user = self.identity(request)
        return user.login if user is not None else None

    # -- on whose behalf ---------------------------------------------------
    def delegation(self, request):
        """The delegation the user is acting under on this request, if it is still current."""
        if "_lienthong_delegation" in request.__dict__:
            return request.__dict__["_lienthong_delegation"]
        found = None
        user = self.identity(request)
        if user is not None and not isinstance(user, SystemIdentity):
            if is_api_request(request):
                wanted = request.headers.get(ACTING_FOR_HEADER)
            else:
                wanted = request.session.get(ACTING_FOR_SESSION_KEY) if request.session else None
            if wanted:
                from .resources.site import get_site
                site = get_site(request)
                d = site["delegations"].get(wanted)
                delegator = site["users"].get(d.delegator) if d is not None else None
                if (d is not None and d.delegate == user.login and d.is_current(_today(request))
                        and delegator is not None and delegator.is_active()):
                    found = d
        request.__dict__["_lienthong_delegation"] = found
        return found

    # -- what --------------------------------------------------------------
    def principals(self, request, context):
        principals = {Everyone}
        user = self.identity(request)
        if user is None:
            return principals
        principals.add(Authenticated)
        if isinstance(user, SystemIdentity):
            principals.add(user.token.principal)
            principals.add(unit_role(SYSTEM, user.unit_code))
            unit = unit_of(context) if context is not None else None
            if unit is not None and unit.code == user.unit_code:
                principals.add(f"role:{SYSTEM}")
            return principals
        principals.add(user_principal(user.login))
        if context is not None:
            principals.update(role_principals(context, user.login))
        return principals

    def delegated_principals(self, delegation, context, permission):
        """What the delegator lends on ``context`` for ``permission``, within the delegation's scope."""
        base = {Everyone, Authenticated}
        if delegation.scope == MAILBOX:
            if permission not in (VIEW, READ_MAILBOX, PROCESS):
                return None
            for node in lineage(context):
                owners = getattr(node, "owner_logins", None)
                if (getattr(node, "owner_login", None) == delegation.delegator
                        or (owners is not None and delegation.delegator in owners())):
                    return base | {user_principal(delegation.delegator)}
            return None
        if delegation.unit_code not in related_unit_codes(context):
            return None
        held = role_principals(context, delegation.delegator)
        if delegation.scope == ROLE:
            role = f"role:{delegation.role}"
            qualified = unit_role(delegation.role, delegation.unit_code)
            return base | {role, qualified} if qualified in held else None
        if delegation.scope == PERMISSIONS and permission in delegation.permissions:
            suffix = f"@{delegation.unit_code}"
            return base | {p for p in held if "@" not in p or p.endswith(suffix)}
        return None

    def permits(self, request, context, permission):
        result = self.acl.permits(context, self.principals(request, context), permission)
        if result:
            return result
        delegation = self.delegation(request)
        if delegation is not None:
            lent = self.delegated_principals(delegation, context, permission)
            if lent is not None:
                lent_result = self.acl.permits(context, lent, permission)
                if lent_result:
                    return lent_result
        return result

    # -- log in and out ----------------------------------------------------
    def remember(self, request, userid, **kw):
        request.__dict__.pop("_lienthong_identity", None)
        from .resources.site import get_site
        user = get_site(request)["users"].get(userid)
        request.session["lienthong.epoch"] = user.session_epoch if user is not None else 0
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        request.__dict__.pop("_lienthong_identity", None)
        request.__dict__.pop("_lienthong_delegation", None)
        request.session.pop(ACTING_FOR_SESSION_KEY, None)
        return self.helper.forget(request, **kw)


def current_delegation(request):
    """The delegation this request acts under, or None (any security policy may lack it)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    getter = getattr(policy, "delegation", None)
    return getter(request) if getter is not None else None
