"""R6.1, R6.3: every role against every view, across two units, refused and audited where it must be.

The list of views is read from Pyramid's introspector, so a view added later and missing
from ``MATRIX`` fails ``test_every_view_is_in_the_matrix`` until someone states who may use it.
Each entry says which URLs exercise the view (placeholders filled for the actor's own unit
and for another unit) and the rule that decides who gets in. The rules are written from the
regulation (who may see what), not from the ACLs they check.

Refusals must be: a redirect to the login page for an anonymous visitor of a page, 401 for
an anonymous API call, and 403 with an ``access.denied`` audit entry for everyone else.
Allowed requests must get past authorization: POSTs to pages are sent without a CSRF
token (so an allowed one stops at 400 and changes nothing); API writes get a body that is
not a JSON object (400) or a fresh throwaway target.
"""

import json
from dataclasses import dataclass

import pytest
from pyramid.interfaces import IException
from zope.interface.interface import InterfaceClass

from lienthong.core.services import accounts, audit, delegations, tokens

from .support.app import with_site
from .support.demo import demo_factory  # noqa: F401  (fixture)

OWN = "000.00.12.H49"  # the unit of every acting person below
OTHER = "000.00.02.H49"  # somebody else's unit
THIRD = "000.00.31.H49"  # a unit that exchanges documents with both


@dataclass(frozen=True)
class Actor:
    name: str
    login: str | None = None  # None: anonymous, or a system token
    system: bool = False  # an API token of OWN (an eOffice product)


ACTORS = [
    Actor("anonymous"),
    Actor("system_admin", "admin"),
    Actor("auditor", "kiemtoan"),
    Actor("unit_admin", "quantri.stttt"),
    Actor("clerk", "vanthu.stttt"),
    Actor("leader", "lanhdao.stttt"),
    Actor("specialist", "chuyenvien.stttt"),
    Actor("system_token", system=True),
]
MAIL_ROLES = ("clerk", "leader", "specialist")
TARGET_USERS = {OWN: "chuyenvien.stttt", OTHER: "chuyenvien.snv"}


@dataclass(frozen=True)
class Target:
    """Where a URL points: a unit, and for user URLs a person (``self`` when it is the actor)."""

    unit: str | None = None
    user: str | None = None


# -- rules: who may use a view, said from the regulation's side ---------------------------
def everyone(actor, target):
    return True


def people(actor, target):
    """Any logged-in person (not an eOffice product's token)."""
    return actor.login is not None


def logged_in(actor, target):
    return actor.login is not None or actor.system


def system_admin(actor, target):
    return actor.name == "system_admin"


def auditors(actor, target):
    return actor.name in ("system_admin", "auditor")


def unit_managers(actor, target):
    return actor.name == "system_admin" or (actor.name == "unit_admin" and target.unit == OWN)


def unit_mail(actor, target):
    """A unit mailbox: the unit's clerks, leaders, specialists and its eOffice product; never admins or auditors."""
    return target.unit == OWN and (actor.name in MAIL_ROLES or actor.system)


def personal_mail(actor, target):
    return actor.login is not None and target.user == actor.login


def user_page(actor, target):
    """A person's account: themselves, the admins of their unit, the system admin."""
    return user_managers(actor, target) or (actor.login is not None and target.user == actor.login)


def unit_readers(actor, target):
    """A unit's record through the API: people, and a unit's own token for its own unit."""
    return actor.login is not None or (actor.system and target.unit == OWN)


def user_managers(actor, target):
    """An account's management screens: the system admin, and the admin of the person's unit
    unless the person holds a site-wide role (a unit admin must not reset the system admin)."""
    return actor.name == "system_admin" or (
        actor.name == "unit_admin" and target.unit == OWN and target.user not in SITE_ROLE_HOLDERS
    )


def delegators(actor, target):
    """A delegation is revoked by the person who gave it, or by the system admin."""
    return actor.name == "system_admin" or (
        actor.login is not None and actor.login == TARGET_USERS[target.unit]
    )


def unit_drafters(actor, target):
    """Drafting for a unit: its clerks, leaders and specialists (and its eOffice product)."""
    return unit_mail(actor, target)


def unit_clerks(actor, target):
    """Registering for a unit (paper check, issuing by default): its clerks and its eOffice product."""
    return target.unit == OWN and (actor.name == "clerk" or actor.system)


def unit_leaders(actor, target):
    """Approving a unit's drafts: its leaders (and its eOffice product, whose own approval counts)."""
    return target.unit == OWN and (actor.name == "leader" or actor.system)


def unit_registers(actor, target):
    """A unit's registers: its clerks and leaders, and its eOffice product."""
    return target.unit == OWN and (actor.name in ("clerk", "leader") or actor.system)


def own_mail(actor, target):
    """Writing for one's own unit (the route's context is the caller's unit mailbox)."""
    return actor.name in MAIL_ROLES or actor.system


def own_registrars(actor, target):
    """Registering for one's own unit: its clerk and its eOffice product."""
    return actor.name == "clerk" or actor.system


def nobody(actor, target):
    return False


def products(actor, target):
    """The edXML API: a unit's eOffice product (its API token); never a person."""
    return actor.system


def own_product(actor, target):
    return actor.system and target.unit == OWN


SITE_ROLE_HOLDERS = ("admin", "kiemtoan")


# -- the matrix --------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    templates: tuple
    targets: tuple
    rule: object
    renew: bool = False  # the call may end the credentials it used: log in again after it


UNITS = (Target(unit=OWN), Target(unit=OTHER))
NO_TARGET = (Target(),)
PEOPLE = (
    Target(unit=OWN, user="self"),
    Target(unit=OWN, user=TARGET_USERS[OWN]),
    Target(unit=OTHER, user=TARGET_USERS[OTHER]),
    Target(unit=OWN, user="admin"),
)
FRESH_PEOPLE = (Target(unit=OWN, user="fresh"), Target(unit=OTHER, user="fresh"))


def case(templates, targets=NO_TARGET, rule=everyone, renew=False):
    return [Case(tuple(templates), targets, rule, renew)]


#: (route name [@context] or "Context:view name", method) -> the cases that exercise it
MATRIX = {
    # pages of the foundation
    ("Site:", "GET"): case(["/"], rule=people),
    ("Site:login", "GET"): case(["/login"]),
    ("Site:login", "POST"): case(["/login"]),
    ("Site:logout", "POST"): case(["/logout"]),
    ("Site:manage", "GET"): case(["/manage"], rule=system_admin),
    ("AuditLog:", "GET"): case(["/audit"], rule=auditors),
    ("Incidents:", "GET"): case(["/incidents"], rule=auditors),
    ("Incident:close", "POST"): case(["/incidents/{incident}/close"], rule=system_admin),
    ("healthz", "GET"): case(["/healthz"]),
    ("metrics", "GET"): case(["/metrics"]),
    ("language", "GET"): case(["/language?lang=en"]),
    # the public address book, unit pages and mailboxes
    ("Directory:", "GET"): case(["/directory", "/directory?q=so+thong+tin&view=tree"]),
    ("public_directory_export", "GET"): case(["/directory/export.csv"]),
    ("Organization:", "GET"): case(["/directory/{unit}"], UNITS),
    ("Mailbox:", "GET"): case(["/directory/{unit}/mailbox"], UNITS, unit_mail)
    + case(["/users/{user}/mailbox"], PEOPLE, personal_mail),
    ("Mailbox:export.xlsx", "GET"): case(["/directory/{unit}/mailbox/export.xlsx"], UNITS, unit_mail)
    + case(["/users/{user}/mailbox/export.xlsx"], PEOPLE, personal_mail),
    # documents: a unit's mailbox, drafts, documents and deliveries, registers, paper check
    **{
        ("Mailbox:compose", m): case(["/directory/{unit}/mailbox/compose"], UNITS, unit_drafters)
        + case(["/users/{user}/mailbox/compose"], PEOPLE, nobody)
        for m in ("GET", "POST")
    },
    **{
        ("Mailbox:paper", m): case(["/directory/{unit}/mailbox/paper"], UNITS, unit_clerks)
        for m in ("GET", "POST")
    },
    ("Site:search", "GET"): case(["/search?q=quyet+dinh"], rule=people),
    ("Document:", "GET"): case(
        ["/documents/{incoming}", "/documents/{outgoing}", "/documents/{draft}"], UNITS, unit_mail
    ),
    ("Attachment:", "GET"): case(["/documents/{incoming}/attachments/a.pdf"], UNITS, unit_mail),
    ("Document:edxml", "GET"): case(
        ["/documents/{incoming}/edxml", "/documents/{outgoing}/edxml"], UNITS, unit_mail
    ),
    ("Delivery:", "GET"): case(
        ["/documents/{incoming}/deliveries/{unit}", f"/documents/{{outgoing}}/deliveries/{THIRD}"],
        UNITS,
        unit_mail,
    ),
    ("Delivery:act", "POST"): case(
        ["/documents/{incoming}/deliveries/{unit}/act", f"/documents/{{outgoing}}/deliveries/{THIRD}/act"],
        UNITS,
        unit_mail,
    ),
    ("Document:recall", "POST"): case(
        ["/documents/{incoming}/recall", "/documents/{outgoing}/recall"], UNITS, unit_mail
    ),
    **{
        ("Document:edit", m): case(["/documents/{draft}/edit"], UNITS, unit_drafters) for m in ("GET", "POST")
    },
    ("Document:submit", "POST"): case(["/documents/{draft}/submit"], UNITS, unit_drafters),
    ("Document:approve", "POST"): case(["/documents/{draft}/approve"], UNITS, unit_leaders),
    ("Document:send_back", "POST"): case(["/documents/{draft}/send_back"], UNITS, unit_leaders),
    ("Document:issue", "POST"): case(["/documents/{draft}/issue"], UNITS, unit_clerks),
    ("Registers:", "GET"): case(["/directory/{unit}/registers"], UNITS, unit_registers),
    ("Register:", "GET"): case(
        [
            "/directory/{unit}/registers/{register}",
            "/directory/{unit}/registers/{register}?print=1",
            "/directory/{unit}/registers/{register}?print=1&from=1&to=1&volume=1",
        ],
        UNITS,
        unit_registers,
    ),
    ("Register:scan", "GET"): case(
        ["/directory/{unit}/registers/{register}/scan?number=1"], UNITS, unit_registers
    ),
    ("Register:export.csv", "GET"): case(
        ["/directory/{unit}/registers/{register}/export.csv"], UNITS, unit_registers
    ),
    ("Register:export.xlsx", "GET"): case(
        ["/directory/{unit}/registers/{register}/export.xlsx"], UNITS, unit_registers
    ),
    # one's own account
    ("profile", "GET"): case(["/profile"], rule=people),
    ("profile", "POST"): case(["/profile"], rule=people),
    ("report_compromised", "POST"): case(["/profile/compromised"], rule=people),
    ("password", "GET"): case(["/password"], rule=people),
    ("password", "POST"): case(["/password"], rule=people),
    ("notices", "GET"): case(["/notices"], rule=people),
    ("notices", "POST"): case(["/notices"], rule=people),
    ("notice_settings", "GET"): case(["/notices/settings"], rule=people),
    ("notice_settings", "POST"): case(["/notices/settings"], rule=people),
    ("delegations", "GET"): case(["/delegations"], rule=people),
    ("delegations", "POST"): case(["/delegations"], rule=people),
    ("delegation_act", "POST"): case(["/delegations/{delegation}/act"], UNITS, people),
    ("delegation_revoke", "POST"): case(["/delegations/{delegation}/revoke"], UNITS, people),
    ("delegation_stop", "POST"): case(["/delegations/stop"], rule=people),
    # management of the directory and units
    ("directory_export_csv", "GET"): case(["/manage/directory/export.csv"], rule=system_admin),
    ("directory_export_json", "GET"): case(["/manage/directory/export.json"], rule=system_admin),
    ("directory_import", "GET"): case(["/manage/directory/import"], rule=system_admin),
    ("directory_import", "POST"): case(["/manage/directory/import"], rule=system_admin),
    ("manage_units", "GET"): case(["/manage/units"], rule=system_admin),
    ("manage_units", "POST"): case(["/manage/units"], rule=system_admin),
    ("manage_unit", "GET"): case(["/manage/units/{unit}"], UNITS, unit_managers),
    ("manage_unit", "POST"): case(["/manage/units/{unit}"], UNITS, unit_managers),
    ("manage_unit_connection", "POST"): case(["/manage/units/{unit}/connection"], UNITS, system_admin),
    ("manage_unit_rename", "POST"): case(["/manage/units/{unit}/rename"], UNITS, system_admin),
    ("manage_unit_merge", "POST"): case(["/manage/units/{unit}/merge"], UNITS, system_admin),
    ("manage_unit_split", "POST"): case(["/manage/units/{unit}/split"], UNITS, system_admin),
    ("manage_unit_dissolve", "POST"): case(["/manage/units/{unit}/dissolve"], UNITS, system_admin),
    ("manage_unit_tokens", "POST"): case(["/manage/units/{unit}/tokens"], UNITS, unit_managers),
    ("manage_unit_token_revoke", "POST"): case(
        ["/manage/units/{unit}/tokens/{token}/revoke"], UNITS, unit_managers
    ),
    ("manage_unit_credentials", "POST"): case(["/manage/units/{unit}/credentials"], UNITS, unit_managers),
    ("manage_unit_credential_revoke", "POST"): case(
        ["/manage/units/{unit}/credentials/{credential}/revoke"], UNITS, unit_managers
    ),
    # digital signatures: the operator's trust roots; a unit's key and roots
    ("manage_signing", "GET"): case(["/manage/signing"], rule=system_admin),
    ("manage_signing", "POST"): case(["/manage/signing"], rule=system_admin),
    ("manage_signing_remove", "POST"): case(["/manage/signing/roots/00ff/remove"], rule=system_admin),
    ("manage_unit_signing", "GET"): case(["/manage/units/{unit}/signing"], UNITS, unit_managers),
    ("manage_unit_signing", "POST"): case(["/manage/units/{unit}/signing"], UNITS, unit_managers),
    ("manage_unit_signing_test", "POST"): case(["/manage/units/{unit}/signing/test"], UNITS, unit_managers),
    ("manage_unit_signing_roots", "POST"): case(["/manage/units/{unit}/signing/roots"], UNITS, unit_managers),
    ("manage_unit_signing_root_remove", "POST"): case(
        ["/manage/units/{unit}/signing/roots/00ff/remove"], UNITS, unit_managers
    ),
    # the outbound queue
    ("manage_transport", "GET"): case(["/manage/transport"], rule=system_admin),
    ("manage_transport_retry", "POST"): case(["/manage/transport/retry"], rule=system_admin),
    ("manage_transport_discard", "POST"): case(["/manage/transport/discard"], rule=system_admin),
    ("manage_transport_check", "POST"): case(["/manage/transport/check"], rule=system_admin),
    # inspecting an edXML package (stores nothing)
    ("manage_edxml", "GET"): case(["/manage/edxml"], rule=system_admin),
    ("manage_edxml", "POST"): case(["/manage/edxml"], rule=system_admin),
    # management of accounts
    ("manage_users@Site", "GET"): case(["/manage/users"], rule=system_admin),
    ("manage_users@Site", "POST"): case(["/manage/users"], rule=system_admin),
    ("manage_users@Organization", "GET"): case(["/manage/users?unit={unit}"], UNITS, unit_managers),
    ("manage_users@Organization", "POST"): case(["/manage/users?unit={unit}"], UNITS, unit_managers),
    ("manage_user@User", "GET"): case(["/manage/users/{user}"], PEOPLE, user_managers),
    **{
        (f"manage_user_{action}@User", "POST"): case(
            [f"/manage/users/{{user}}/{path}"], PEOPLE, user_managers
        )
        for action, path in (
            ("edit", "edit"),
            ("lock", "lock"),
            ("unlock", "unlock"),
            ("reset", "reset"),
            ("roles", "roles"),
            ("compromised", "compromised"),
            ("delegation_revoke", "delegations/revoke"),
        )
    },
    # the JSON API (bearer tokens; the finer checks inside a view are in test_api.py)
    ("api.openapi", "GET"): case(["/api/v1/openapi.json"]),
    ("api.auth.token", "POST"): case(["/api/v1/auth/token"]),
    ("api.auth.token", "DELETE"): case(["/api/v1/auth/token"], rule=logged_in, renew=True),
    ("api.me", "GET"): case(["/api/v1/me"], rule=logged_in),
    ("api.organizations", "GET"): case(["/api/v1/organizations?q=so"], rule=logged_in),
    ("api.organizations", "POST"): case(["/api/v1/organizations"], rule=system_admin),
    ("api.organization", "GET"): case(["/api/v1/organizations/{unit}"], UNITS, logged_in),
    ("api.organization", "PATCH"): case(["/api/v1/organizations/{unit}"], UNITS, unit_managers),
    ("api.organization.connection", "POST"): case(
        ["/api/v1/organizations/{unit}/connection"], UNITS, system_admin
    ),
    ("api.organization.reorganize", "POST"): case(
        ["/api/v1/organizations/{unit}/reorganize"], UNITS, system_admin
    ),
    ("api.organization.tokens", "GET"): case(["/api/v1/organizations/{unit}/tokens"], UNITS, unit_managers),
    ("api.organization.tokens", "POST"): case(["/api/v1/organizations/{unit}/tokens"], UNITS, unit_managers),
    ("api.token", "DELETE"): case(["/api/v1/tokens/{token}"], UNITS, unit_managers),
    ("api.users", "GET"): case(["/api/v1/users"], rule=logged_in),
    ("api.users", "POST"): case(["/api/v1/users"], rule=logged_in),
    ("api.user", "GET"): case(["/api/v1/users/{user}"], PEOPLE, user_page),
    ("api.user", "PATCH"): case(["/api/v1/users/{user}"], PEOPLE, user_page),
    ("api.user.compromised", "POST"): case(["/api/v1/users/{user}/compromised"], FRESH_PEOPLE, user_managers),
    ("api.delegations", "GET"): case(["/api/v1/delegations"], rule=people),
    ("api.delegations", "POST"): case(["/api/v1/delegations"], rule=people),
    ("api.delegation", "DELETE"): case(["/api/v1/delegations/{delegation}"], UNITS, delegators),
    # the document API
    ("api.documents", "POST"): case(["/api/v1/documents"], rule=own_mail),
    ("api.document", "GET"): case(
        ["/api/v1/documents/{incoming}", "/api/v1/documents/{outgoing}"], UNITS, unit_mail
    ),
    ("api.document.attachment", "GET"): case(
        ["/api/v1/documents/{incoming}/attachments/a.pdf"], UNITS, unit_mail
    ),
    ("api.document.edxml", "GET"): case(["/api/v1/documents/{incoming}/edxml"], UNITS, unit_mail),
    ("api.delivery.actions", "POST"): case(
        [
            "/api/v1/documents/{incoming}/deliveries/{unit}/actions",
            f"/api/v1/documents/{{outgoing}}/deliveries/{THIRD}/actions",
        ],
        UNITS,
        unit_mail,
    ),
    ("api.delivery.edxml", "GET"): case(
        ["/api/v1/documents/{incoming}/deliveries/{unit}/edxml"], UNITS, unit_mail
    ),
    ("api.organization.inbox", "GET"): case(["/api/v1/organizations/{unit}/inbox"], UNITS, unit_mail),
    ("api.organization.outbox", "GET"): case(["/api/v1/organizations/{unit}/outbox"], UNITS, unit_mail),
    ("api.me.mailbox", "GET"): case(["/api/v1/me/mailbox"], rule=people),
    ("api.me.notices", "GET"): case(["/api/v1/me/notices?unread=true"], rule=people),
    ("api.me.notices.read_all", "POST"): case(["/api/v1/me/notices/read"], rule=people),
    ("api.me.notice.read", "POST"): case(["/api/v1/me/notices/1/read"], rule=people),
    ("api.search", "GET"): case(["/api/v1/search?q=quyet+dinh"], rule=logged_in),
    ("api.paper_check", "POST"): case(["/api/v1/paper-check"], rule=own_registrars),
    ("api.edxml", "POST"): case(["/api/v1/edxml"], rule=own_mail),
    # the edXML API for eOffice products (unit tokens only)
    ("edxml.openapi", "GET"): case(["/edxml/v1/openapi.json"]),
    ("edxml.packages", "POST"): case(["/edxml/v1/packages"], rule=products),
    ("edxml.packages", "GET"): case(["/edxml/v1/packages"], rule=products),
    ("edxml.package", "GET"): case(["/edxml/v1/packages/{incoming}"], UNITS, own_product),
    ("edxml.package.ack", "POST"): case(["/edxml/v1/packages/{incoming}/ack"], UNITS, own_product),
    ("edxml.statuses", "POST"): case(["/edxml/v1/statuses"], rule=products),
    ("edxml.statuses", "GET"): case(["/edxml/v1/statuses"], rule=products),
    # hub-to-hub (plugin peer_hub): signed requests of a configured peer only, never a person or a token
    ("peer.directory", "GET"): case(["/peer/v1/directory"], rule=nobody),
    ("peer.packages", "POST"): case(["/peer/v1/packages"], rule=nobody),
    ("peer.statuses", "POST"): case(["/peer/v1/statuses"], rule=nobody),
    # the axis's API offered to the units (plugin vxp): calls signed with a unit's system
    # credential only, never a person's session or an API token
    **{
        (f"vxp.{name}", method): case([f"/vxp/{name}"], rule=nobody)
        for name, method in (
            ("sendEdoc", "POST"),
            ("getReceivedEdocList", "POST"),
            ("getEdoc", "POST"),
            ("downloadEdoc", "GET"),
            ("updateStatus", "POST"),
            ("getSentEdocList", "POST"),
            ("countReceiveEdoc", "GET"),
            ("countReceiveStatus", "GET"),
            ("getAgenciesList", "POST"),
        )
    },
    ("vxp.unknown", "GET"): case(["/vxp/registerAgency"], rule=nobody),
    ("vxp.unknown", "POST"): case(["/vxp/deleteAgency"], rule=nobody),
}


def registered_views(app):
    """``(key, method)`` for every view a request can reach (exception views and static files aside)."""
    found = set()
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        context = view["context"]
        if isinstance(context, type) and issubclass(context, BaseException):
            continue
        if isinstance(context, InterfaceClass) and context.isOrExtends(IException):
            continue
        if view["route_name"] == "__static/":
            continue
        if getattr(view["callable"], "lienthong_method_not_allowed", False):
            continue  # the API's answer to a method a route does not have (405), not an operation
        if view["route_name"]:
            key = view["route_name"] + (f"@{context.__name__}" if context is not None else "")
        else:
            key = f"{getattr(context, '__name__', context)}:{view['name']}"
        methods = view["request_methods"] or ("GET",)
        if isinstance(methods, str):
            methods = (methods,)
        for method in methods:
            if method != "HEAD":
                found.add((key, method))
    return found


def test_every_view_is_in_the_matrix(demo_factory):
    web = demo_factory()
    missing = registered_views(web.app) - set(MATRIX)
    assert not missing, f"views with no row in MATRIX (say who may use them): {sorted(missing)}"
    stale = set(MATRIX) - registered_views(web.app)
    assert not stale, f"MATRIX rows for views that no longer exist: {sorted(stale)}"


# -- running it --------------------------------------------------------------------------
def resolve(target, actor, state):
    """The target with "self" and "fresh" people made concrete."""
    if target.user == "self":
        return Target(unit=OWN, user=actor.login or TARGET_USERS[OWN])
    if target.user == "fresh":
        return Target(unit=target.unit, user=_fresh_user(state, target))
    return target


def fill(template, target, state):
    """Put the target's unit, person and fresh objects into a URL template."""
    values = {"unit": target.unit or OWN, "user": target.user or TARGET_USERS[target.unit or OWN]}
    for name, make in FRESH.items():
        if "{" + name + "}" in template:
            values[name] = make(state, target)
    return template.format(**values)


def _fresh_user(site_state, target):
    app = site_state["app"]
    site_state["n"] += 1
    login = f"matrix.{site_state['n']}"
    with_site(
        app,
        lambda site: accounts.add_user(
            site,
            audit.Actor.system("matrix"),
            login,
            "Matrix",
            None,
            target.unit or OWN,
            ("specialist",),
            password_hash="x",
        ),
    )
    return login


def _fresh_token(site_state, target):
    def make(site):
        token, _secret = tokens.create(site, audit.Actor.system("matrix"), target.unit or OWN, "matrix")
        return token.token_id

    return with_site(site_state["app"], make)


def _fresh_delegation(site_state, target):
    from datetime import date, timedelta

    def make(site):
        delegator = site["users"][TARGET_USERS[target.unit or OWN]]
        d = delegations.create(
            site,
            audit.Actor.system("matrix"),
            delegator,
            "vanthu.snv" if target.unit == OTHER else "vanthu.stttt",
            date.today(),
            date.today() + timedelta(days=1),
            "mailbox",
        )
        return d.delegation_id

    return with_site(site_state["app"], make)


def _fresh_incident(site_state, target):
    from lienthong.core.services import incidents

    return with_site(
        site_state["app"],
        lambda site: incidents.open_incident(
            site, audit.Actor.system("matrix"), "compromised_password", f"/users/{TARGET_USERS[OWN]}"
        ),
    )


CLERKS = {OWN: "vanthu.stttt", OTHER: "vanthu.snv", THIRD: "vanthu.vungtau"}


def _document(site_state, sender, recipient, issue=True):
    """A document from ``sender`` to ``recipient`` with one attachment ``a.pdf``; its id."""
    import io

    from lienthong.core.services import documents as ds
    from lienthong.core.services.env import get_env

    env = get_env(site_state["app"].registry)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

    def make(site):
        clerk = audit.Actor(login=CLERKS[sender])
        doc = ds.compose(
            site,
            env,
            clerk,
            site["directory"][sender],
            {"doc_type": "CV", "subject": "Ma trận quyền", "recipients": [recipient]},
            [("a.pdf", io.BytesIO(pdf), "")],
        )
        if issue:
            ds.issue(site, env, clerk, doc)
        return doc.id

    return with_site(site_state["app"], make)


def _fresh_incoming(site_state, target):
    return _document(site_state, THIRD, target.unit or OWN)


def _fresh_outgoing(site_state, target):
    return _document(site_state, target.unit or OWN, THIRD)


def _fresh_draft(site_state, target):
    return _document(site_state, target.unit or OWN, THIRD, issue=False)


def _fresh_register(site_state, target):
    """A register of the target unit that holds an entry: its outgoing register of this year."""
    name = _fresh_outgoing(site_state, target)
    return with_site(site_state["app"], lambda site: f"{site['documents'][name].register_year}-out")


#: placeholders that need an object made for each request (a write may consume it)
def _fresh_credential(site_state, target):
    from lienthong.core.services import credentials
    from lienthong.core.services.env import get_env

    def make(site):
        env = get_env(site_state["app"].registry)
        credential, _secret = credentials.create(
            site, env, audit.Actor.system("matrix"), target.unit or OWN, "matrix"
        )
        return credential.system_id

    return with_site(site_state["app"], make)


FRESH = {
    "token": _fresh_token,
    "credential": _fresh_credential,
    "delegation": _fresh_delegation,
    "incident": _fresh_incident,
    "incoming": _fresh_incoming,
    "outgoing": _fresh_outgoing,
    "draft": _fresh_draft,
    "register": _fresh_register,
}


def authenticate(web, actor, api):
    """Log ``actor`` in: a session for pages, a bearer token for the API. Returns request headers."""
    if actor.name == "anonymous":
        return {}
    if api:

        def make(site):
            if actor.system:
                return tokens.create(site, audit.Actor.system("matrix"), OWN, "matrix product")[1]
            user = site["users"][actor.login]
            return tokens.create(
                site,
                audit.Actor.system("matrix"),
                None,
                "matrix",
                kind="login",
                login=actor.login,
                epoch=user.session_epoch,
            )[1]

        return {"Authorization": f"Bearer {with_site(web.app, make)}"}
    if actor.system:
        return authenticate(web, actor, api=True)  # sent to pages too, where it must open nothing
    from .support.app import login

    login(web, actor.login)
    return {}


def last_entry(app):
    return with_site(app, lambda site: next(site["audit"].iter_entries(reverse=True)))


def call(web, method, url, headers, api):
    body = None
    if method in ("POST", "PUT", "PATCH"):
        body = json.dumps([]) if api else ""
    kwargs = {"headers": headers, "expect_errors": True}
    if api and body is not None:
        kwargs["content_type"] = "application/json"
    if method == "GET":
        return web.get(url, **kwargs)
    if method == "DELETE":
        return web.delete(url, **kwargs)
    return getattr(web, method.lower())(url, body or "", **kwargs)


def check(web, actor, key, method, api, headers):
    """Run every case of one view for ``actor``; return the failures, and the headers to go on with."""
    failures = []
    state = {"app": web.app, "n": 0}
    for item in MATRIX[(key, method)]:
        for target in item.targets:
            for template in item.templates:
                target_now = resolve(target, actor, state)
                url = fill(template, target_now, state)
                # pages ignore bearer tokens: there an eOffice product's token is nobody
                allowed = item.rule(ACTORS[0] if actor.system and not api else actor, target_now)
                res = call(web, method, url, headers, api)
                failures += judge(web, actor, method, url, api, allowed, res)
                if item.renew:
                    headers = authenticate(web, actor, api)
    return failures, headers


def judge(web, actor, method, url, api, allowed, res):
    where = f"{actor.name} {method} {url}: {res.status}"
    if url.startswith("/peer/"):
        # hub-to-hub routes: only a peer hub's signed request passes; no login or token of this hub does
        entry = last_entry(web.app)
        if res.status_int != 401 or entry["action"] != "peer.refuse":
            return [f"{where} (a peer route must answer 401 and record peer.refuse, got {entry['action']})"]
        return []
    if url.startswith("/vxp/"):
        # the axis's API (plugin vxp): only a call signed with a system credential passes; a
        # login or a token of this hub is no signature: a FAIL in the axis's shape, on the record
        entry = last_entry(web.app)
        body = res.json if res.content_type == "application/json" else {}
        if (
            res.status_int not in (200, 404)
            or body.get("status") != "FAIL"
            or entry["action"] != "vxp.refuse"
        ):
            return [f"{where} (a /vxp/ call must answer FAIL and record vxp.refuse, got {entry['action']})"]
        return []
    if allowed:
        if res.status_int in (401, 403) or "/login?came_from" in (res.location or ""):
            return [f"{where} (should be allowed)"]
        return []
    if actor.name == "anonymous" or (actor.system and not api):
        expected = 401 if api else 303
        if res.status_int != expected or (not api and "/login" not in (res.location or "")):
            return [f"{where} (anonymous: expected {expected})"]
        return []
    if res.status_int == 404:
        return []  # existence itself is private there
    if res.status_int != 403:
        return [f"{where} (should be refused)"]
    entry = last_entry(web.app)
    if (entry["action"], entry["target"], entry["actor"]) != (
        "access.denied",
        url.split("?")[0],
        audit_login(actor),
    ):
        return [f"{where} (refused but not audited: {entry['action']} {entry['target']} {entry['actor']})"]
    return []


def audit_login(actor):
    return actor.login or f"system:{OWN}"


def is_api(key, templates):
    return all(t.startswith(("/api/", "/edxml/", "/peer/")) for t in templates)


@pytest.mark.parametrize("actor", ACTORS, ids=[a.name for a in ACTORS])
def test_every_role_against_every_view(demo_factory, actor):
    web = demo_factory()
    page_headers = authenticate(web, actor, api=False)
    api_headers = authenticate(web, actor, api=True)
    failures = []
    for key, method in sorted(MATRIX):
        if key in ("Site:logout",):
            continue  # logging out would end the session the rest of the run needs; tested in test_web
        api = is_api(key, [t for c in MATRIX[(key, method)] for t in c.templates])
        found, headers = check(web, actor, key, method, api, api_headers if api else page_headers)
        failures += found
        if api:
            api_headers = headers
    assert not failures, "\n".join(failures)


def test_traversal_paths_without_a_view_reveal_nothing(demo_factory):
    """Every stored object reachable by traversal either has a view in MATRIX or answers 404
    to everyone: containers, accounts, tokens and delegations are not browsable by URL."""
    from lienthong.core.resources.site import TOP_LEVEL

    web = demo_factory()
    token_id = with_site(
        web.app, lambda site: tokens.create(site, audit.Actor.system("matrix"), OWN, "x")[0].token_id
    )
    delegation_id = _fresh_delegation({"app": web.app}, Target(unit=OWN))
    with_views = (
        "directory",
        "audit",
        "delegations",
        "incidents",
    )  # the address book, /audit, /delegations: in MATRIX
    paths = [f"/{name}" for name in TOP_LEVEL if name not in with_views]
    paths += [
        f"/users/{TARGET_USERS[OWN]}",
        f"/tokens/{token_id}",
        f"/delegations/{delegation_id}",
        "/incidents/x",
        "/audit/1",
    ]
    for actor in ACTORS:
        web.reset()
        headers = authenticate(web, actor, api=False)
        for path in paths:
            res = web.get(path, headers=headers, expect_errors=True)
            assert res.status_int in (404, 303 if actor.login is None else 404), (
                actor.name,
                path,
                res.status,
            )


JUNK_QUERY = {
    "page": "-1",
    "limit": "x",
    "offset": "zz",
    "q": "\x00<script>",
    "view": "<b>",
    "unit": "../x",
    "kind": "nope",
    "state": "?",
    "include_inactive": "maybe",
    "lang": "xx",
    "actor": "'",
    "action": "%",
}


@pytest.mark.parametrize(
    "actor", [ACTORS[1], ACTORS[3], ACTORS[7]], ids=["system_admin", "unit_admin", "token"]
)
def test_malformed_query_parameters_never_cause_a_server_error(demo_factory, actor):
    """Every GET in the matrix, with junk in every query parameter the views read: a page or a
    problem, never a 500 or a traceback."""
    web = demo_factory()
    page_headers = authenticate(web, actor, api=False)
    api_headers = authenticate(web, actor, api=True)
    state = {"app": web.app, "n": 0}
    for (key, method), cases in sorted(MATRIX.items()):
        if method != "GET":
            continue
        for item in cases:
            for template in item.templates:
                url = fill(template, resolve(item.targets[0], actor, state), state).split("?")[0]
                api = url.startswith("/api/")
                res = web.get(
                    url, params=JUNK_QUERY, headers=api_headers if api else page_headers, expect_errors=True
                )
                assert res.status_int < 500, (key, url, res.status)
                assert b"Traceback" not in res.body, (key, url)  # a workbook or a file is bytes
