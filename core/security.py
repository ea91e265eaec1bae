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
from pyramid.location import lineage

# Roles from DESIGN.md. The Vietnamese titles are the UI's names for them.
SYSTEM_ADMIN = "system_admin"
UNIT_ADMIN = "unit_admin"
CLERK = "clerk"
LEADER = "leader"
SPECIALIST = "specialist"
AUDITOR = "auditor"

ROLES = (SYSTEM_ADMIN, UNIT_ADMIN, CLERK, LEADER, SPECIALIST, AUDITOR)

# Permissions used by views; each resource's ACL maps roles onto these.
VIEW = "view"                 # see the authenticated pages
MANAGE = "manage"             # the operator's management screens
MANAGE_UNIT = "manage_unit"   # a unit admin's screens for their unit
VIEW_AUDIT = "view_audit"     # read the audit log and reports, never document contents
READ_MAILBOX = "read_mailbox"
SEND = "send"
REGISTER = "register"
ASSIGN = "assign"
PROCESS = "process"

SITE_ACL = [
    (Allow, f"role:{SYSTEM_ADMIN}", ALL_PERMISSIONS),
    (Allow, f"role:{AUDITOR}", (VIEW, VIEW_AUDIT)),
    (Allow, Authenticated, VIEW),
]

UNIT_ACL = [
    (Allow, f"role:{UNIT_ADMIN}", (VIEW, MANAGE_UNIT, READ_MAILBOX)),
    (Allow, f"role:{CLERK}", (VIEW, READ_MAILBOX, SEND, REGISTER)),
    (Allow, f"role:{LEADER}", (VIEW, READ_MAILBOX, SEND, ASSIGN)),
    (Allow, f"role:{SPECIALIST}", (VIEW, READ_MAILBOX, PROCESS)),
]


def user_principal(login):
    return f"user:{login}"


def role_principals(context, login):
    """Roles granted to ``login`` on ``context`` or any of its ancestors."""
    principal = user_principal(login)
    roles = set()
    for node in lineage(context):
        getter = getattr(node, "local_roles_of", None)
        if getter is not None:
            roles.update(getter(principal))
    return {f"role:{r}" for r in roles}


class LienThongSecurityPolicy:
    """Session login + ACLs with local roles."""

    def __init__(self):
        self.helper = SessionAuthenticationHelper(prefix="lienthong.")
        self.acl = ACLHelper()

    def identity(self, request):
        """The ``User`` resource of the logged-in user, or None (also when locked/removed)."""
        if "_lienthong_identity" in request.__dict__:
            return request.__dict__["_lienthong_identity"]
        user = None
        userid = self.helper.authenticated_userid(request)
        if userid:
            from .resources.site import get_site
            site = get_site(request)
            candidate = site["users"].get(userid)
            if candidate is not None and candidate.is_active():
                user = candidate
        request.__dict__["_lienthong_identity"] = user
        return user

    def authenticated_userid(self, request):
        user = self.identity(request)
        return user.login if user is not None else None

    def principals(self, request, context):
        principals = {Everyone}
        user = self.identity(request)
        if user is not None:
            principals.add(Authenticated)
            principals.add(user_principal(user.login))
            if context is not None:
                principals.update(role_principals(context, user.login))
        return principals

    def permits(self, request, context, permission):
        return self.acl.permits(context, self.principals(request, context), permission)

    def remember(self, request, userid, **kw):
        request.__dict__.pop("_lienthong_identity", None)
        return self.helper.remember(request, userid, **kw)

    def forget(self, request, **kw):
        request.__dict__.pop("_lienthong_identity", None)
        return self.helper.forget(request, **kw)
