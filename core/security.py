"""The security policy: who the request is, on whose behalf it acts, and what it may do.

Pages log in with the session, the APIs with bearer tokens; a delegate may act for a
delegator. A session is valid only while the server holds it (``services.sessions``): the
policy opens one at ``remember``, checks it on every request and ends it at ``forget``.
The roles, permissions, ACL pieces and the principal helpers the policy hands to Pyramid's
ACL helper live in ``core/permissions.py``, below the resources. Code asks
``request.has_permission(...)``; it never tests a role by hand.
"""

from pyramid.authentication import SessionAuthenticationHelper
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.interfaces import ISecurityPolicy
from pyramid.location import lineage
from pyramid.request import RequestLocalCache

from .clock import now_iso
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

    def __init__(self, session_policy=None):
        from .services.sessions import SessionPolicy

        self.helper = SessionAuthenticationHelper(prefix="lienthong.")
        self.session_policy = session_policy or SessionPolicy()
        self.acl = ACLHelper()
        # Pyramid's per-request caches (emptied when the request ends); login, logout and
        # "act for" clear them so the rest of the request sees the change
        self.identity_cache = RequestLocalCache(self._identity)
        self.delegation_cache = RequestLocalCache(self._delegation)
        self.token_cache = RequestLocalCache()

    # -- who ---------------------------------------------------------------
    def identity(self, request):
        """The ``User`` (or ``SystemIdentity``) of the request, or None.

        None also when the account is locked or removed, when the server no longer holds
        the session (logged out, ended, idle or too old: ``services.sessions``), or when a
        token is revoked or expired: each takes effect on the next request.
        """
        return self.identity_cache.get_or_create(request)

    def _identity(self, request):
        if is_api_request(request):
            return self._token_identity(request)
        return self._session_identity(request)

    def _session_identity(self, request):
        userid = self.helper.authenticated_userid(request)
        if not userid:
            return None
        user = request.site["users"].get(userid)
        if user is None or not user.is_active():
            return None
        from .services import sessions

        if sessions.current(user, request.session.get(sessions.SID_KEY), self.session_policy) is None:
            return None
        return user

    def _token_identity(self, request):
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith(BEARER_PREFIX):
            return None
        from .services import tokens

        site = request.site
        token = tokens.find(site, header[len(BEARER_PREFIX) :].strip())
        now = now_iso()
        if token is None or not token.is_valid(now):
            return None
        if token.kind == "system":
            identity = SystemIdentity(token)
        else:
            identity = site["users"].get(token.login)
            if identity is None or not identity.is_active() or token.epoch != identity.session_epoch:
                return None
        self.token_cache.set(request, token)
        tokens.touch(token, now, every=LAST_USED_EVERY)
        return identity

    def authenticated_userid(self, request):
        user = self.identity(request)
        return user.login if user is not None else None

    def token(self, request):
        """The token that identified this API request, or None."""
        self.identity(request)
        return self.token_cache.get(request, None)

    # -- on whose behalf ---------------------------------------------------
    def delegation(self, request):
        """The delegation the user is acting under on this request, if it is still current."""
        return self.delegation_cache.get_or_create(request)

    def delegation_changed(self, request):
        """The acting-for choice changed during this request: read it again on next use."""
        self.delegation_cache.clear(request)

    def _delegation(self, request):
        found = None
        user = self.identity(request)
        if user is not None and not isinstance(user, SystemIdentity):
            if is_api_request(request):
                wanted = request.headers.get(ACTING_FOR_HEADER)
            else:
                wanted = request.session.get(ACTING_FOR_SESSION_KEY) if request.session else None
            if wanted:
                site = request.site
                d = site["delegations"].get(wanted)
                delegator = site["users"].get(d.delegator) if d is not None else None
                if (
                    d is not None
                    and d.delegate == user.login
                    and d.is_current(request.env.today().isoformat())
                    and delegator is not None
                    and delegator.is_active()
                ):
                    found = d
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
                if getattr(node, "owner_login", None) == delegation.delegator or (
                    owners is not None and delegation.delegator in owners()
                ):
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
        """Log ``userid`` in: a session that was in this cookie ends, and a fresh one (new
        cookie contents, new id on the server) begins, so no id chosen before the login
        survives it (no fixation)."""
        from .services import sessions

        self._end_session(request)
        request.session.invalidate()
        self.identity_cache.clear(request)
        self.delegation_cache.clear(request)
        user = request.site["users"].get(userid)
        if user is not None:
            request.session[sessions.SID_KEY] = sessions.open_session(
                user, request.client_address, self.session_policy, request.user_agent or ""
            )
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        """Log out: the server forgets the session, so a saved copy of the cookie opens nothing."""
        self._end_session(request)
        self.identity_cache.clear(request)
        self.delegation_cache.clear(request)
        request.session.pop(ACTING_FOR_SESSION_KEY, None)
        return self.helper.forget(request, **kw)

    def renew_session(self, request):
        """A new id for this request's session, its contents kept (a change of privilege within
        it: acting for someone, a new password); the old id stops working."""
        from .services import sessions

        user = self.identity(request)
        sid = request.session.get(sessions.SID_KEY)
        if user is None or isinstance(user, SystemIdentity) or not sid:
            return
        request.session[sessions.SID_KEY] = sessions.renew(
            user, sid, request.client_address, self.session_policy, request.user_agent or ""
        )

    def _end_session(self, request):
        from .services import sessions

        sid = request.session.get(sessions.SID_KEY)
        userid = self.helper.authenticated_userid(request)
        user = request.site["users"].get(userid) if userid else None
        if sid and user is not None:
            sessions.close(user, sid)
        request.session.pop(sessions.SID_KEY, None)


def current_delegation(request):
    """The delegation this request acts under, or None (any security policy may lack it)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    getter = getattr(policy, "delegation", None)
    return getter(request) if getter is not None else None


def delegation_changed(request):
    """Tell the policy that the acting-for choice of this request changed (act for, stop)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    changed = getattr(policy, "delegation_changed", None)
    if changed is not None:
        changed(request)


def renew_session(request):
    """Give this request's session a new id, its contents kept (any security policy may lack it)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    renew = getattr(policy, "renew_session", None)
    if renew is not None:
        renew(request)


def current_session_id(request):
    """The id of this request's session on the server (for a service that must keep it), or None."""
    from .services.sessions import SID_KEY

    if is_api_request(request) or request.identity is None:
        return None
    return request.session.get(SID_KEY)


def presented_token(request):
    """The API token that identified this request, or None (any security policy may lack it)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    getter = getattr(policy, "token", None)
    return getter(request) if getter is not None else None
