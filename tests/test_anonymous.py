"""Issue 16: every page that needs a login sends an anonymous visitor to the login page.

The views are read from Pyramid's introspector (routes and traversal views alike), so a view
added later is walked too; the ones public by design are those registered with
``NO_PERMISSION_REQUIRED`` (the login form, the public address book and a unit's page, the
directory's CSV, health, metrics, the language switch, the OpenAPI documents, and the routes
that check a signature themselves: ``/peer/``, ``/vxp/``). Each other GET is asked for with
concrete objects of the demo site in its URL, by a visitor without a session and by one
whose session ended, and must answer:

- a page asked for as HTML: 303 to ``/login?came_from=<the page>``;
- an API path, or a page asked for as JSON: 401 problem+json;

never 200 (the login form in place of the page, or the page itself).
"""

import io
from datetime import date
from urllib.parse import urlencode

import pytest
from pyramid.interfaces import IException, IRoutesMapper
from pyramid.security import NO_PERMISSION_REQUIRED
from zope.interface.interface import InterfaceClass

from lienthong.core.problems import API_PREFIXES

from .support.app import csrf_of, login, with_site
from .support.demo import demo_factory  # noqa: F401  (fixture)

OWN = "000.00.12.H49"  # Sở Thông tin và Truyền thông: the unit the URLs name
SENDER = "000.00.31.H49"
PERSON = "chuyenvien.stttt"
CLERKS = {OWN: "vanthu.stttt", SENDER: "vanthu.vungtau"}

#: a traversal view's context -> the paths of demo objects of that class (filled from ``objects``)
CONTEXT_PATHS = {
    "Site": ["/"],
    "Directory": ["/directory"],
    "Organization": ["/directory/{code}"],
    "Mailbox": ["/directory/{code}/mailbox", "/users/{login}/mailbox"],
    "Document": ["/documents/{incoming}", "/documents/{outgoing}"],
    "Attachment": ["/documents/{incoming}/attachments/a.pdf"],
    "Delivery": ["/documents/{incoming}/deliveries/{code}"],
    "Registers": ["/directory/{code}/registers"],
    "Register": ["/directory/{code}/registers/{register}"],
    "AuditLog": ["/audit"],
    "Incidents": ["/incidents"],
}
#: a view name that works on one kind of object only: the path of that object
NAMED_PATHS = {("Document", "edit"): ["/documents/{draft}"]}
#: a route whose context comes from the query: (route, context) -> what the query adds
ROUTE_QUERIES = {("manage_users", "Organization"): "?unit={code}"}
#: route placeholders -> the demo object each is filled with
PLACEHOLDERS = {
    "code": "{code}",
    "login": "{login}",
    "id": "{incoming}",
    "name": "a.pdf",
    "document_id": "{incoming_id}",
}


def _document(app, sender, recipient, issue=True):
    from lienthong.core.services import audit, documents as ds
    from lienthong.core.services.env import get_env

    env = get_env(app.registry)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

    def make(site):
        clerk = audit.Actor(login=CLERKS[sender])
        document = ds.compose(
            site,
            env,
            clerk,
            site["directory"][sender],
            {"doc_type": "CV", "subject": "Trang cần đăng nhập", "recipients": [recipient]},
            [("a.pdf", io.BytesIO(pdf), "")],
        )
        if issue:
            ds.issue(site, env, clerk, document)
        return document.id, document.document_id

    return with_site(app, make)


def objects(app):
    """The concrete demo objects the URLs name."""
    incoming, incoming_id = _document(app, SENDER, OWN)
    outgoing, _ = _document(app, OWN, SENDER)
    draft, _ = _document(app, OWN, SENDER, issue=False)
    return {
        "code": OWN,
        "login": PERSON,
        "incoming": incoming,
        "incoming_id": incoming_id,
        "outgoing": outgoing,
        "draft": draft,
        "register": f"{date.today().year}-out",
    }


def _is_public(introspector, view):
    permissions = [p["value"] for p in introspector.related(view) if p.category_name == "permissions"]
    return NO_PERMISSION_REQUIRED in permissions


def login_views(app):
    """``[(what, url template)]``: one entry per GET view a login is needed for."""
    registry = app.registry
    introspector = registry.introspector
    patterns = {route.name: route.pattern for route in registry.getUtility(IRoutesMapper).get_routes()}
    found, unknown = set(), []
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        context = view["context"]
        if isinstance(context, type) and issubclass(context, BaseException):
            continue
        if isinstance(context, InterfaceClass) and context.isOrExtends(IException):
            continue
        methods = view["request_methods"] or ("GET",)
        if "GET" not in ((methods,) if isinstance(methods, str) else methods):
            continue
        if _is_public(introspector, view) or view["route_name"] == "__static/":
            continue
        context_name = getattr(context, "__name__", None) if context is not None else None
        if view["route_name"]:
            pattern = patterns[view["route_name"]]
            for placeholder, value in PLACEHOLDERS.items():
                pattern = pattern.replace("{" + placeholder + "}", value)
            pattern += ROUTE_QUERIES.get((view["route_name"], context_name), "")
            if "{" in pattern.replace("{code}", "").replace("{login}", "").replace("{incoming", ""):
                unknown.append(f"route {view['route_name']}: {patterns[view['route_name']]}")
                continue
            found.add((view["route_name"], pattern))
            continue
        paths = NAMED_PATHS.get((context_name, view["name"])) or CONTEXT_PATHS.get(context_name)
        if paths is None:
            unknown.append(f"traversal view {context_name}:{view['name']}")
            continue
        for path in paths:
            url = path if not view["name"] else f"{path.rstrip('/')}/{view['name']}"
            found.add((f"{context_name}:{view['name']}", url))
    assert not unknown, f"say which demo object each of these is walked with: {unknown}"
    return sorted(found)


def _ended_session(web):
    """A browser that logged in and out: it still sends the cookie of a session the hub forgot."""
    login(web, PERSON)
    cookie = web.cookies.get("lienthong_session")
    web.post("/logout", {"csrf_token": csrf_of(web.get("/profile"))}, status=303)
    web.set_cookie("lienthong_session", cookie)


def _judge(web, url):
    """What is wrong with the anonymous answers to ``url`` (as HTML, as JSON, HEAD): [] if nothing."""
    wrong = []
    api = url.startswith(API_PREFIXES)
    asked = {
        "html": web.get(url, headers={"Accept": "text/html,application/xhtml+xml"}, expect_errors=True),
        "json": web.get(url, headers={"Accept": "application/json"}, expect_errors=True),
        "head": web.head(url, headers={"Accept": "text/html"}, expect_errors=True),
    }
    for how, res in asked.items():
        where = f"{how} GET {url}: {res.status}"
        if res.status_int == 200 and 'name="password"' in res.text:
            wrong.append(f"{where} (the login form in place of the page)")
        elif api or how == "json":
            if res.status_int != 401 or (how != "head" and res.content_type != "application/problem+json"):
                wrong.append(f"{where} (expected 401 problem+json)")
        elif res.status_int != 303 or res.location != "http://localhost/login?" + urlencode(
            {"came_from": url}
        ):
            wrong.append(f"{where} -> {res.location} (expected 303 to the login page)")
    return wrong


@pytest.mark.parametrize("visitor", ["no session", "ended session"])
def test_every_page_that_needs_a_login_sends_an_anonymous_visitor_to_it(demo_factory, visitor):
    web = demo_factory()
    values = objects(web.app)
    views = login_views(web.app)
    assert len(views) > 40  # every page and API read that needs a login, not a handful
    if visitor == "ended session":
        _ended_session(web)
    wrong = []
    for _what, template in views:
        wrong += _judge(web, template.format(**values))
    assert not wrong, "\n".join(wrong)


def test_the_walk_knows_the_public_views_and_skips_only_those(demo_factory):
    """The views left out are public by design; a page that needs a login is never among them."""
    web = demo_factory()
    walked = {url for _what, url in login_views(web.app)}
    for page in ("/", "/manage", "/audit", "/profile", "/manage/transport", "/api/v1/me"):
        assert page in walked
    for public in ("/login", "/directory", "/directory/{code}", "/healthz", "/api/v1/openapi.json"):
        assert public not in walked
    # and the judge sees the login form answered with 200 in place of a page
    assert any("the login form in place of the page" in w for w in _judge(web, "/login"))
