"""Roles, permissions and the principals that carry them: the vocabulary of the ACLs.

Resources name these in their ``__acl__``; the security policy (``core/security.py``)
computes a request's principals with the helpers below and hands them to Pyramid's ACL
helper. This module sits below the resources: it imports nothing from the application,
so every layer may use it.

A user's roles are *local roles* on a resource (the site for the system administrator
and auditor, a unit for unit admins, clerks, leaders, specialists). On a context they
become ``role:<name>`` principals, and ``role:<name>@<code>`` when held on unit ``code``.
"""

from pyramid.authorization import ALL_PERMISSIONS, Allow, Authenticated
from pyramid.location import lineage

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
VIEW = "view"  # see the authenticated pages
MANAGE = "manage"  # the operator's management screens
MANAGE_UNIT = "manage_unit"  # a unit admin's screens for their unit
VIEW_AUDIT = "view_audit"  # read the audit log and reports, never document contents
EDIT_SELF = "edit_self"  # one's own profile, password and delegations
READ_MAILBOX = "read_mailbox"
SEND = "send"
REGISTER = "register"
ASSIGN = "assign"
PROCESS = "process"
DRAFT = "draft"  # write a draft for one's unit (a specialist drafts, R7.5)
APPROVE = "approve"  # approve a unit's draft before issue (the unit's policy)
ISSUE = "issue"  # issue a unit's document: number it and send it

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
    """The site's unit directory, found from the root of ``node``'s lineage, or None."""
    root = None
    for root in lineage(node):  # noqa: B007  (the last of the lineage is the root)
        pass
    try:
        return root["directory"]
    except (KeyError, TypeError):
        return None
