"""Delegation on the web (R6.2), end to end through WSGI on a copy of the demo site.

A leader lends their role to a colleague, who acts for them from their own login: the
mailbox pages and the security policy grant what the role allows, every audit entry
names both people, and revoking (or the end date passing) stops it on the next request.
The probe route below (included only by these tests) asks the application's own security
policy ``request.has_permission(permission, resource)`` for any path of the tree.
"""

import re
from datetime import date, timedelta

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.traversal import find_resource
from webtest import TestApp

from .support.app import csrf_of, login, with_site
from .support.demo import audit_entries, demo_factory  # noqa: F401  (fixture)

OPERATOR = "000.00.12.H49"
SNV = "000.00.02.H49"


# -- the probe: a test-only include --------------------------------------------------------


def probe(request):
    resource = find_resource(request.site, request.params["path"])
    return {"allowed": bool(request.has_permission(request.params["permission"], resource))}


def includeme(config):
    config.add_route("delegation_probe", "/_probe")
    config.add_view(probe, route_name="delegation_probe", renderer="json", permission=NO_PERMISSION_REQUIRED)


def make_web(demo_factory):
    web = demo_factory(**{"pyramid.includes": "tests.test_delegation_pages"})
    web.set_cookie("_LOCALE_", "en")
    return web


def client(app):
    c = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    c.set_cookie("_LOCALE_", "en")
    return c


def allowed(c, path, permission):
    return c.get("/_probe", {"path": path, "permission": permission}).json["allowed"]


def today():
    # the demo site's time zone is Asia/Ho_Chi_Minh; the policy uses the same day
    from datetime import datetime

    from lienthong.core.i18n import site_timezone

    return datetime.now(site_timezone({})).date()


def create(c, **data):
    page = c.get("/delegations")
    form = {
        "start": today().isoformat(),
        "end": (today() + timedelta(days=3)).isoformat(),
        "note": "",
        "csrf_token": csrf_of(page),
        **data,
    }
    return c.post("/delegations", form, status="*")


def delegation_ids(app, delegator):
    return with_site(app, lambda site: [d.delegation_id for d in site["delegations"].given_by(delegator)])


def act(c, delegation_id, status=303):
    token = csrf_of(c.get("/delegations"))
    return c.post(f"/delegations/{delegation_id}/act", {"csrf_token": token}, status=status)


def field_error(res, field):
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', res.text)
    return match.group(1) if match else None


# -- the role scope, end to end -------------------------------------------------------------


def test_a_leader_lends_his_role_and_it_stops_at_revocation(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    leader = web
    login(leader, "lanhdao.snv")
    delegate = client(app)
    login(delegate, "chuyenvien.stttt")
    mailbox = f"/directory/{SNV}/mailbox"

    # before: the specialist of another unit has nothing on the leader's unit
    assert delegate.get(mailbox, status="*").status_int == 403
    assert not allowed(delegate, mailbox, "assign")

    res = create(
        leader, delegate="chuyenvien.stttt", scope="role", role=f"{SNV}|leader", note="while I am on leave"
    )
    assert res.status_int == 303
    (did,) = delegation_ids(app, "lanhdao.snv")
    entry = audit_entries(leader)[-1]
    assert (entry["action"], entry["actor"], entry["details"]["scope"], entry["details"]["role"]) == (
        "delegation.create",
        "lanhdao.snv",
        "role",
        "leader",
    )

    # the delegate sees it, with its state, and a button to act for him
    page = delegate.get("/delegations")
    row = re.search(rf'<tr id="received-{did}">(.*?)</tr>', page.text, re.S).group(1)
    assert "Hoàng Đức Thắng" in row and "state-active" in row and f"/delegations/{did}/act" in row
    assert "/delegations/stop" not in page.text  # not acting yet: no banner
    # the delegate has a notice about it
    assert with_site(app, lambda site: site["users"]["chuyenvien.stttt"].unread_notices()) == 1

    # the delegation lends nothing until the delegate chooses to act under it
    assert delegate.get(mailbox, status="*").status_int == 403

    res = act(delegate, did)
    entry = audit_entries(leader)[-1]
    assert (entry["action"], entry["actor"], entry["on_behalf_of"], entry["target"]) == (
        "delegation.act",
        "chuyenvien.stttt",
        "lanhdao.snv",
        f"/delegations/{did}",
    )
    home = res.follow()
    assert "You are acting for" in home.text and "/delegations/stop" in home.text

    # now: what the leader's role allows on his unit, and only there
    assert delegate.get(mailbox).status_int == 200
    entry = audit_entries(leader)[-1]
    assert (entry["action"], entry["actor"], entry["on_behalf_of"]) == (
        "mailbox.view",
        "chuyenvien.stttt",
        "lanhdao.snv",
    )
    assert allowed(delegate, mailbox, "assign")
    assert allowed(delegate, mailbox, "read_mailbox")
    assert not allowed(delegate, mailbox, "register")  # a clerk's, not the leader's
    assert not allowed(delegate, f"/directory/{SNV}", "manage_unit")
    assert not allowed(delegate, "/directory/000.00.31.H49/mailbox", "read_mailbox")
    assert not allowed(delegate, "/users/lanhdao.snv/mailbox", "read_mailbox")  # not in a role's scope
    assert delegate.get("/manage/users/lanhdao.snv", status="*").status_int == 403
    # his own rights stay his own
    assert allowed(delegate, f"/directory/{OPERATOR}/mailbox", "process")

    # the leader revokes: it stops on the very next request
    page = leader.get("/delegations")
    assert f"/delegations/{did}/revoke" in page.text
    leader.post(f"/delegations/{did}/revoke", {"csrf_token": csrf_of(page)}, status=303)
    assert audit_entries(leader)[-1]["action"] == "delegation.revoke"
    assert delegate.get(mailbox, status="*").status_int == 403
    assert not allowed(delegate, mailbox, "assign")
    page = delegate.get("/delegations")
    assert "You are acting for" not in page.text
    row = re.search(rf'<tr id="received-{did}">(.*?)</tr>', page.text, re.S).group(1)
    assert "state-revoked" in row and "/act" not in row
    # and it cannot be taken up again
    act(delegate, did)
    assert delegate.get(mailbox, status="*").status_int == 403


def test_a_delegation_past_its_end_date_stops_at_once(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    create(web, delegate="vanthu.snv", scope="permissions", permissions=["assign", "read_mailbox"])
    (did,) = delegation_ids(app, "lanhdao.stttt")
    delegate = client(app)
    login(delegate, "vanthu.snv")
    act(delegate, did)
    mailbox = f"/directory/{OPERATOR}/mailbox"
    assert allowed(delegate, mailbox, "assign")
    assert not allowed(delegate, mailbox, "send")  # not named, though the leader holds it
    assert delegate.get(mailbox).status_int == 200

    def end_yesterday(site):
        d = site["delegations"][did]
        d.start = d.end = (today() - timedelta(days=1)).isoformat()

    with_site(app, end_yesterday)
    assert delegate.get(mailbox, status="*").status_int == 403
    assert not allowed(delegate, mailbox, "assign")
    row = re.search(rf'<tr id="received-{did}">(.*?)</tr>', delegate.get("/delegations").text, re.S).group(1)
    assert "state-expired" in row


def test_a_scheduled_delegation_lends_nothing_yet(demo_factory):
    web = make_web(demo_factory)
    login(web, "lanhdao.stttt")
    start = today() + timedelta(days=2)
    create(
        web,
        delegate="chuyenvien.stttt",
        scope="role",
        role=f"{OPERATOR}|leader",
        start=start.isoformat(),
        end=(start + timedelta(days=1)).isoformat(),
    )
    (did,) = delegation_ids(web.app, "lanhdao.stttt")
    delegate = client(web.app)
    login(delegate, "chuyenvien.stttt")
    row = re.search(rf'<tr id="received-{did}">(.*?)</tr>', delegate.get("/delegations").text, re.S).group(1)
    assert "state-scheduled" in row and "/act" not in row
    res = act(delegate, did).follow()
    assert "This delegation cannot be used today." in res.text
    assert not allowed(delegate, f"/directory/{OPERATOR}/mailbox", "assign")


def test_nobody_acts_under_someone_elses_delegation(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    create(web, delegate="chuyenvien.stttt", scope="role", role=f"{OPERATOR}|leader")
    (did,) = delegation_ids(app, "lanhdao.stttt")

    intruder = client(app)
    login(intruder, "vanthu.snv")
    before = len(audit_entries(web))
    act(intruder, did, status=403)
    assert [e["action"] for e in audit_entries(web)[before:]] == ["access.denied"]
    assert not allowed(intruder, f"/directory/{OPERATOR}/mailbox", "assign")
    # nor revoke it, nor reach it by forging the session key: the policy checks the delegate
    token = csrf_of(intruder.get("/delegations"))
    intruder.post(f"/delegations/{did}/revoke", {"csrf_token": token}, status=403)
    assert with_site(app, lambda site: site["delegations"][did].revoked) is None
    # the delegator himself cannot "act for" himself through it either
    act(web, did, status=403)
    # an unknown delegation is a 404
    act(intruder, "no-such-delegation", status=404)


def test_personal_mailbox_scope_reaches_the_mailbox_not_the_profile(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    assert create(web, delegate="vanthu.stttt", scope="mailbox").status_int == 303
    (did,) = delegation_ids(app, "lanhdao.stttt")
    delegate = client(app)
    login(delegate, "vanthu.stttt")
    personal = "/users/lanhdao.stttt/mailbox"
    assert delegate.get(personal, status="*").status_int == 403

    act(delegate, did)
    assert delegate.get(personal).status_int == 200
    entry = audit_entries(web)[-1]
    assert (entry["actor"], entry["on_behalf_of"]) == ("vanthu.stttt", "lanhdao.stttt")
    assert allowed(delegate, personal, "read_mailbox")
    assert not allowed(delegate, personal, "send")
    assert not allowed(delegate, "/users/lanhdao.stttt", "view")
    assert not allowed(delegate, "/users/lanhdao.stttt", "edit_self")
    assert delegate.get("/manage/users/lanhdao.stttt", status="*").status_int == 403
    assert not allowed(delegate, "/users/chuyenvien.stttt/mailbox", "read_mailbox")
    # /profile is still the delegate's own
    assert "vanthu.stttt" in delegate.get("/profile").text

    # stop acting: the banner goes, the mailbox closes
    page = delegate.get("/")
    delegate.post("/delegations/stop", {"csrf_token": csrf_of(page)}, status=303)
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"]) == ("delegation.stop", "vanthu.stttt")
    assert delegate.get(personal, status="*").status_int == 403
    assert "You are acting for" not in delegate.get("/").text


def test_a_locked_delegator_lends_nothing(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    create(web, delegate="vanthu.stttt", scope="mailbox")
    (did,) = delegation_ids(app, "lanhdao.stttt")
    delegate = client(app)
    login(delegate, "vanthu.stttt")
    act(delegate, did)
    assert delegate.get("/users/lanhdao.stttt/mailbox").status_int == 200
    admin = client(app)
    login(admin, "admin")
    page = admin.get("/manage/users/lanhdao.stttt")
    admin.post(
        "/manage/users/lanhdao.stttt/lock",
        {"reason": "investigation", "csrf_token": csrf_of(page)},
        status=303,
    )
    assert delegate.get("/users/lanhdao.stttt/mailbox", status="*").status_int == 403


def test_the_delegation_form_names_the_field_at_fault(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    page = web.get("/delegations")
    # the unit admin role is never offered; the leader's own role is
    assert f'value="{OPERATOR}|leader"' in page.text
    before = len(audit_entries(web))

    res = create(web, delegate="nobody.here", scope="mailbox")
    assert res.status_int == 400 and field_error(res, "delegate") == "Unknown user nobody.here."
    res = create(web, delegate="lanhdao.stttt", scope="mailbox")
    assert field_error(res, "delegate") == "You cannot delegate to yourself."
    res = create(
        web,
        delegate="vanthu.stttt",
        scope="mailbox",
        start=today().isoformat(),
        end=(today() - timedelta(days=1)).isoformat(),
    )
    assert field_error(res, "end") == "The delegation ends before it starts."
    res = create(web, delegate="vanthu.stttt", scope="mailbox", start="2020-01-01", end="2020-01-05")
    assert field_error(res, "end") == "The delegation would already be over."
    res = create(web, delegate="vanthu.stttt", scope="mailbox", start="someday")
    assert field_error(res, "start") == "someday is not a date (yyyy-mm-dd)."
    res = create(web, delegate="vanthu.stttt", scope="role", role=f"{OPERATOR}|clerk")
    assert field_error(res, "role") == "You cannot delegate the role clerk on that unit."
    res = create(web, delegate="vanthu.stttt", scope="permissions")
    assert field_error(res, "permissions") == "Name at least one permission."
    res = create(web, delegate="vanthu.stttt", scope="permissions", permissions=["manage_unit"])
    assert field_error(res, "permissions") == "The permission manage_unit cannot be delegated."
    res = create(web, delegate="vanthu.stttt", scope="everything")
    assert field_error(res, "scope").startswith("Unknown scope everything")
    # what was typed is kept
    assert 'value="vanthu.stttt"' in res.text

    assert delegation_ids(app, "lanhdao.stttt") == []
    assert len(audit_entries(web)) == before


def test_an_admin_sees_and_revokes_a_users_delegations(demo_factory):
    web = make_web(demo_factory)
    app = web.app
    login(web, "lanhdao.stttt")
    create(web, delegate="chuyenvien.stttt", scope="mailbox")
    (did,) = delegation_ids(app, "lanhdao.stttt")
    unit_admin = client(app)
    login(unit_admin, "quantri.stttt")
    page = unit_admin.get("/manage/users/chuyenvien.stttt")
    table = re.search(r'<table id="user-delegations">(.*?)</table>', page.text, re.S).group(1)
    assert "Trần Văn Hùng" in table and "state-active" in table
    unit_admin.post(
        "/manage/users/chuyenvien.stttt/delegations/revoke",
        {"delegation": did, "csrf_token": csrf_of(page)},
        status=303,
    )
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"]) == ("delegation.revoke", "quantri.stttt")
    assert with_site(app, lambda site: site["delegations"][did].revoked) is not None
