"""Who may do what: Pyramid ACLs on the tree plus local roles on resources.

A user's roles are granted as *local roles* on a resource (the site for the system
administrator and auditor, a unit for unit admins, clerks, leaders, specialists).
When Pyramid asks whether a permission is granted on a context, the policy collects the
roles granted on every resource in the context's lineage and hands them to the ACL
helper as ``role:<name>`` principals. Code asks ``request.has_permission(...)``; it never
tests a role by hand.
"""
from pyramid.authorization import ACLHelper, Allow, Authenticated, Everyone, ALL_PERMISSIONS
from pyramid.authentication import SessionAuthenticationHelper
from pyramid.interfaces import ISecurityPolicy
from pyramid.location import lineage
from pyramid.request import RequestLocalCache

from .clock import now_iso

# Roles from DESIGN.md. The Vietnamese titles are the UI's names for them.
SYSTEM_ADMIN = "system_admin"
UNIT_ADMIN = "unit_admin"
CLERK = "clerk"
LEADER = "leader"
SPECIALIST = "specialist"
AUDITOR = "auditor"

ROLES = (SYSTEM_ADMIN, UNIT_ADMIN, CLERK, LEADER, SPECIALIST, AUDITOR)

# A unit's eOffice product or script, acting through an API token of that unit. Never
# granted to a person.
SYSTEM = "system"

# Permissions used by views; each resource's ACL maps roles onto these.
VIEW = "view"                 # see the authenticated pages
MANAGE = "manage"             # the operator's management screens
MANAGE_UNIT = "manage_unit"   # a unit admin's screens for their unit
VIEW_AUDIT = "view_audit"     # read the audit log and reports, never document contents
EDIT_SELF = "edit_self"       # one's own profile, password and delegations
READ_MAILBOX = "read_mailbox"
SEND = "send"
REGISTER = "register"
ASSIGN = "assign"
PROCESS = "process"
DRAFT = "draft"               # write a draft for one's unit (a specialist drafts, R7.5)
APPROVE = "approve"           # approve a unit's draft before issue (the unit's policy)
ISSUE = "issue"               # issue a unit's document: number it and send it

#: permissions a delegation may name (R6.2); management is never delegated
DELEGABLE = (READ_MAILBOX, DRAFT, SEND, APPROVE, ISSUE, REGISTER, ASSIGN, PROCESS)

SITE_ACL = [
    (Allow, f"role:{SYSTEM_ADMIN}", ALL_PERMISSIONS),
    (Allow, f"role:{AUDITOR}", (VIEW, VIEW_AUDIT)),
    (Allow, Authenticated, VIEW),
]

UNIT_ACL = [
    (Allow, f"role:{UNIT_ADMIN}", (VIEW, MANAGE_UNIT)),
    (Allow, f"role:{CLERK}", (VIEW, READ_MAILBOX, DRAFT, SEND, REGISTER)),
    (Allow, f"role:{LEADER}", (VIEW, READ_MAILBOX, DRAFT, SEND, ASSIGN)),
    (Allow, f"role:{SPECIALIST}", (VIEW, READ_MAILBOX, DRAFT, PROCESS)),
    (Allow, f"role:{SYSTEM}", (VIEW, READ_MAILBOX, DRAFT, SEND, REGISTER, ASSIGN, PROCESS)),
]

#: a unit mailbox's own grants (mailbox.py denies every other mail permission after them):
#: the unit's mail roles only, never its admin, the system admin or the auditor (R6.1, R6.3)
UNIT_MAIL_ACL = [ace for ace in UNIT_ACL if ace[1] != f"role:{UNIT_ADMIN}"]


def user_principal(login):
    return f"user:{login}"


def unit_role(role, code):
    """The principal of ``role`` held on the unit ``code`` (``role:clerk@000.00.12.H49``).

    Documents and deliveries belong to several units at once (sender and recipients);
    their ACLs name unit-qualified roles so a clerk of one recipient never gains rights
    on another recipient's delivery.
    """
    return f"role:{role}@{code}"


def _roles_on(node, principal):
    getter = getattr(node, "local_roles_of", None)
    return set(getter(principal)) if getter is not None else set()


def unit_of(node):
    """The Organization in ``node``'s lineage, or None."""
    for n in lineage(node):
        if getattr(n, "content_type", None) == "Organization":
            return n
    return None


def role_principals(context, login):
    """Roles granted to ``login`` on ``context`` or any of its ancestors.

    A resource may name ``related_units()``: units whose roles also count on it (a unit
    admin manages the people of the unit, though /users is not inside /directory).
    """
    principal = user_principal(login)
    found = set()
    for node in lineage(context):
        if getattr(node, "content_type", None) == "Organization":
            found |= {(r, node.code) for r in _roles_on(node, principal)}
        else:
            found |= {(r, None) for r in _roles_on(node, principal)}
        related = getattr(node, "related_units", None)
        if related is not None:
            directory = find_directory(node)
            for code in related():
                unit = directory.get(code) if directory is not None and code else None
                if unit is not None:
                    found |= {(r, code) for r in _roles_on(unit, principal)}
    principals = {f"role:{r}" for r, _code in found}
    principals |= {unit_role(r, code) for r, code in found if code}
    return principals


def related_unit_codes(context):
    """Codes of the units ``context`` belongs to: its own unit and the units it names."""
    codes = set()
    for node in lineage(context):
        if getattr(node, "content_type", None) == "Organization":
            codes.add(node.code)
        related = getattr(node, "related_units", None)
        if related is not None:
            codes.update(c for c in related() if c)
    return codes


def find_directory(node):
    root = None
    for root in lineage(node):
        pass
    try:
        return root["directory"]
    except (KeyError, TypeError):
        return None


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

    def __init__(self):
        self.helper = SessionAuthenticationHelper(prefix="lienthong.")
        self.acl = ACLHelper()
        # Pyramid's per-request caches (emptied when the request ends); login, logout and
        # "act for" clear them so the rest of the request sees the change
        self.identity_cache = RequestLocalCache(self._identity)
        self.delegation_cache = RequestLocalCache(self._delegation)
        self.token_cache = RequestLocalCache()

    # -- who ---------------------------------------------------------------
    def identity(self, request):
        """The ``User`` (or ``SystemIdentity``) of the request, or None.

        None also when the account is locked or removed, when its sessions were ended
        (``session_epoch``), or when a token is revoked or expired: each takes effect on
        the next request.
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
        if request.session.get("lienthong.epoch", 0) != user.session_epoch:
            return None
        return user

    def _token_identity(self, request):
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith(BEARER_PREFIX):
            return None
        from .services import tokens
        site = request.site
        token = tokens.find(site, header[len(BEARER_PREFIX):].strip())
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
                if (d is not None and d.delegate == user.login and d.is_current(request.env.today().isoformat())
                        and delegator is not None and delegator.is_active()):
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
        from .resources.delegations import MAILBOX, PERMISSIONS, ROLE
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
        self.identity_cache.clear(request)
        user = request.site["users"].get(userid)
        request.session["lienthong.epoch"] = user.session_epoch if user is not None else 0
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        self.identity_cache.clear(request)
        self.delegation_cache.clear(request)
        request.session.pop(ACTING_FOR_SESSION_KEY, None)
        return self.helper.forget(request, **kw)


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


def presented_token(request):
    """The API token that identified this request, or None (any security policy may lack it)."""
    policy = request.registry.queryUtility(ISecurityPolicy)
    getter = getattr(policy, "token", None)
    return getter(request) if getter is not None else None
