"""Accounts on the web: lock-out, admin reset and the must-change guard, the password policy,
my profile, "my password is compromised", locking, the user management screens of the
system admin and of a unit admin, notices, and the session time-out.

Each test runs on a fresh copy of the demo site through WSGI (WebTest); pages are asked
in English (the ``_LOCALE_`` cookie) where a test reads a message.
"""

import re
import time
from datetime import UTC, datetime, timedelta, timezone

from webtest import TestApp

from lienthong.core.app_objects import app_objects

from .support.app import DEMO_PASSWORD, csrf_of, login, with_site
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)

HOME = "http://localhost/"
LOGIN_URL = "http://localhost/login"
PASSWORD_URL = "http://localhost/password"
OPERATOR = "000.00.12.H49"
SNV = "000.00.02.H49"
NEW_PASSWORD = "Mat-khau-moi-2025!"


def client(app, lang="en"):
    """Another browser on the same site (its own cookies)."""
    c = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    if lang:
        c.set_cookie("_LOCALE_", lang)
    return c


def english(web):
    web.set_cookie("_LOCALE_", "en")
    return web


def field_error(res, field):
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', res.text)
    return match.group(1) if match else None


def is_logged_out(c):
    res = c.get("/", status="*")
    return res.status_int == 303 and res.location.startswith(LOGIN_URL)


def user_attr(app, login_name, *names):
    def read(site):
        user = site["users"][login_name]
        return tuple(getattr(user, n) for n in names)

    return with_site(app, read)


def since(app, before):
    return audit_entries_of(app)[before:]


def audit_entries_of(app):
    return with_site(app, lambda site: list(site["audit"].iter_entries()))


# --- lock-out ------------------------------------------------------------------------------


def test_five_failures_lock_the_address_out_then_it_works_after_the_period(demo_factory):
    """R5.3: five failures in a row from one address stop that address for 15 minutes,
    even with the right password; the holder at another address is not refused."""
    web = english(demo_factory(**{"lienthong.throttle.delay": "0"}))  # the lock-out alone, no delays
    app = web.app
    before = len(audit_entries(web))
    for _attempt in range(5):
        res = login(web, "vanthu.stttt", "wrong-password-x", status=401)
    generic = re.search(r'<p class="error" role="alert">([^<]*)</p>', res.text).group(1)
    assert generic == "The login or password is incorrect."

    entries = since(app, before)
    locked = [e for e in entries if e["action"] == "user.locked_out"]
    assert len(locked) == 1 and locked[0]["target"] == "/users/vanthu.stttt"
    assert (locked[0]["actor"], locked[0]["client"], locked[0]["details"]["scope"]) == (
        "system:lockout",
        "127.0.0.1",
        "client",
    )
    assert user_attr(app, "vanthu.stttt", "locked_until") == (None,)  # the account itself is open

    # meanwhile even the right password is refused from this address: 429, wait 15 minutes
    before = len(audit_entries(web))
    res = login(web, "vanthu.stttt", DEMO_PASSWORD, status=429)
    assert 14 * 60 < int(res.headers["Retry-After"]) <= 15 * 60
    message = re.search(r'<p class="error" role="alert">([^<]*)</p>', res.text).group(1)
    assert message == "Too many failed logins. Try again in 15 minutes."
    assert is_logged_out(web)
    assert len(audit_entries(web)) == before  # a refusal before any check writes nothing

    # the holder, at another address, logs in
    desk = client(app)
    desk.extra_environ["REMOTE_ADDR"] = "10.20.0.5"
    assert login(desk, "vanthu.stttt").location == HOME

    # the period passes
    def expire(site):
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
        site["users"]["vanthu.stttt"].login_failures.by_client["127.0.0.1"] = (0, past, past)

    with_site(app, expire)
    app_objects(app.registry).login_throttle.succeeded(
        "vanthu.stttt", "127.0.0.1"
    )  # its own count lapses too
    res = login(web, "vanthu.stttt", DEMO_PASSWORD)
    assert res.location == HOME
    assert web.get("/").status_int == 200
    assert user_attr(app, "vanthu.stttt", "failed_logins", "locked_until") == (0, None)


def test_the_login_page_slows_a_guesser_down_with_a_429_in_vietnamese(web):
    """Issue 16.3 on the page: growing delays for one address, the holder still gets in."""
    guesser = TestApp(web.app, extra_environ={"REMOTE_ADDR": "203.0.113.5"})
    answers = []
    for i in range(8):
        res = login(guesser, (" VanThu.STTTT ", "vanthu.stttt")[i % 2], f"sai-mat-khau-{i}", status="*")
        answers.append(res.status_int)
        if res.status_int == 429:
            assert int(res.headers["Retry-After"]) >= 1
            message = re.search(r'<p class="error" role="alert">([^<]*)</p>', res.text).group(1)
            assert "thử lại sau" in message
    assert answers[:2] == [401, 401] and answers[-1] == 429
    assert answers.count(401) <= 5
    assert user_attr(web.app, "vanthu.stttt", "locked_until") == (None,)
    assert login(client(web.app), "vanthu.stttt").location == HOME  # from the holder's own desk


def test_lockout_settings_are_read(demo_factory):
    web = demo_factory(**{"lienthong.lockout.attempts": "2", "lienthong.lockout.minutes": "1"})
    before = len(audit_entries(web))
    login(web, "chuyenvien.snv", "nope-nope-nope", status=401)
    login(web, "chuyenvien.snv", "nope-nope-nope", status=401)
    locked = [e for e in since(web.app, before) if e["action"] == "user.locked_out"]
    assert len(locked) == 1 and locked[0]["details"]["attempts"] == 2
    until = datetime.fromisoformat(locked[0]["details"]["until"])
    assert timedelta(seconds=30) < until - datetime.now(UTC) <= timedelta(minutes=1)
    res = login(web, "chuyenvien.snv", DEMO_PASSWORD, status=429)
    assert 30 < int(res.headers["Retry-After"]) <= 60


def test_session_times_out_after_the_idle_period(demo_factory):
    web = demo_factory(**{"lienthong.session.timeout": "3"})
    login(web, "vanthu.stttt")
    assert web.get("/").status_int == 200
    time.sleep(4.2)
    assert is_logged_out(web)


# --- sessions live on the server (ASVS V3) -------------------------------------------------

SESSION_COOKIE = "lienthong_session"


def replay(app, cookie, lang="en", **environ):
    """Another browser holding a copy of a session cookie saved earlier."""
    c = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", **environ})
    if lang:
        c.set_cookie("_LOCALE_", lang)
    c.set_cookie(SESSION_COOKIE, cookie)
    return c


def last_of(app, action):
    found = [e for e in audit_entries_of(app) if e["action"] == action]
    return found[-1] if found else None


def test_logging_out_ends_the_session_on_the_server(web):
    app = web.app
    english(web)
    login(web, "vanthu.stttt")
    profile_token = csrf_of(web.get("/profile"))
    saved = web.cookies[SESSION_COOKIE]
    assert replay(app, saved).get("/").status_int == 200  # a copy works while the session lasts

    web.post("/logout", {"csrf_token": csrf_of(web.get("/"))}, status=303)
    assert last_of(app, "auth.logout")["actor"] == "vanthu.stttt"

    # the copy saved before logging out opens nothing: not the home page, not the mailbox,
    # and its own CSRF token does not let it change the profile
    copy = replay(app, saved)
    assert is_logged_out(copy)
    res = copy.get(f"/directory/{OPERATOR}/mailbox", status="*")
    assert res.status_int == 303 and res.location.startswith(LOGIN_URL)
    res = copy.post(
        "/profile",
        {"fullname": "Kẻ gian", "position": "", "email": "", "csrf_token": profile_token},
        status="*",
    )
    assert res.status_int == 303 and res.location.startswith(LOGIN_URL)
    assert user_attr(app, "vanthu.stttt", "fullname") != ("Kẻ gian",)


def test_changing_my_password_ends_my_other_sessions_and_my_tokens(web):
    app = web.app
    elsewhere = client(app)
    login(elsewhere, "vanthu.stttt")
    api = client(app, lang=None)
    token = api.post_json(
        "/api/v1/auth/token", {"login": "vanthu.stttt", "password": DEMO_PASSWORD}, status=201
    ).json["token"]
    me = english(web)
    login(me, "vanthu.stttt")
    before = me.cookies[SESSION_COOKIE]
    form = me.get("/password")
    res = me.post(
        "/password",
        {
            "current_password": DEMO_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": csrf_of(form),
        },
        status=303,
    )
    assert res.location == HOME
    assert me.get("/").status_int == 200  # this browser stays logged in…
    assert is_logged_out(replay(app, before))  # …on a new session id: the old one is gone
    assert is_logged_out(elsewhere)  # every other session has ended
    api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}, status=401)  # and every token
    ended = last_of(app, "user.sessions_end")
    assert (ended["actor"], ended["target"], ended["details"]["reason"]) == (
        "vanthu.stttt",
        "/users/vanthu.stttt",
        "password_change",
    )
    assert (ended["details"]["sessions"], ended["details"]["tokens"]) == (1, 1)
    assert audit_entries(web)[-1]["action"] == "user.password_change"


def test_a_new_session_id_at_login_and_when_an_admin_changes_my_roles(web):
    app = web.app
    holder = client(app)
    login(holder, "chuyenvien.snv")
    first = holder.cookies[SESSION_COOKIE]
    # logging in again from the same browser: a fresh id, the earlier one ends (no fixation)
    holder.post(
        "/login",
        {"login": "chuyenvien.snv", "password": DEMO_PASSWORD, "csrf_token": csrf_of(holder.get("/"))},
        status=303,
    )
    assert holder.get("/").status_int == 200
    assert is_logged_out(replay(app, first))

    # an admin grants a role: the holder's sessions end; the next login opens a fresh one
    admin = english(web)
    login(admin, "admin")
    page = admin.get("/manage/users/chuyenvien.snv")
    admin.post(
        "/manage/users/chuyenvien.snv/roles",
        {"op": "grant", "role": "clerk", "csrf_token": csrf_of(page)},
        status=303,
    )
    assert is_logged_out(holder)
    ended = last_of(app, "user.sessions_end")
    assert (ended["target"], ended["details"]["reason"]) == ("/users/chuyenvien.snv", "roles_changed")
    assert login(holder, "chuyenvien.snv").location == HOME
    assert holder.get("/").status_int == 200


# --- reset, must change, password policy ---------------------------------------------------


def test_admin_reset_then_must_change_at_next_login(web):
    app = web.app
    holder = client(app)
    login(holder, "vanthu.stttt")
    assert holder.get("/").status_int == 200

    admin = english(web)
    login(admin, "admin")
    page = admin.get("/manage/users/vanthu.stttt")
    res = admin.post("/manage/users/vanthu.stttt/reset", {"csrf_token": csrf_of(page)})
    assert res.status_int == 200
    one_time = re.search(r'<code id="one-time-password">([^<]+)</code>', res.text).group(1)
    assert len(one_time) >= 12
    assert audit_entries(web)[-1]["action"] == "user.password_reset"
    assert admin.get("/manage/users/vanthu.stttt").text.count(one_time) == 0  # shown once only

    # the holder's existing session has ended; the old password no longer works
    assert is_logged_out(holder)
    login(holder, "vanthu.stttt", DEMO_PASSWORD, status=401)

    # the one-time password leads straight to /password, and nowhere else
    res = login(holder, "vanthu.stttt", one_time)
    assert res.location == PASSWORD_URL
    for path in ("/", "/profile", "/delegations", "/directory", "/manage/users"):
        res = holder.get(path, status="*")
        assert (res.status_int, res.location) == (303, PASSWORD_URL), path
    form = holder.get("/password")
    assert 'id="must-change"' in form.text
    assert holder.get("/static/lienthong.css").status_int == 200

    # a bad change keeps the obligation
    res = holder.post(
        "/password",
        {
            "current_password": one_time,
            "new_password": "short",
            "confirm_password": "short",
            "csrf_token": csrf_of(form),
        },
        status=400,
    )
    assert field_error(res, "new_password") == "The password must have at least 10 characters."
    assert user_attr(app, "vanthu.stttt", "must_change_password") == (True,)

    res = holder.post(
        "/password",
        {
            "current_password": one_time,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "csrf_token": csrf_of(form),
        },
    )
    assert res.location == HOME
    assert holder.get("/").status_int == 200
    assert user_attr(app, "vanthu.stttt", "must_change_password") == (False,)
    assert audit_entries(web)[-1]["action"] == "user.password_change"

    # and the new password is the one that works from now on
    other = client(app)
    assert login(other, "vanthu.stttt", NEW_PASSWORD).location == HOME


def test_api_is_refused_with_a_problem_while_the_password_must_change(web):
    from lienthong.core.resources.tokens import LOGIN
    from lienthong.core.services import audit, tokens

    def make(site):
        user = site["users"]["chuyenvien.stttt"]
        user.must_change_password = True
        _token, secret = tokens.create(
            site,
            audit.Actor.system("test"),
            user.unit_code,
            "test",
            kind=LOGIN,
            login=user.login,
            epoch=user.session_epoch,
        )
        return secret

    secret = with_site(web.app, make)
    res = web.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, status=403)
    assert res.content_type == "application/problem+json"
    assert res.json["status"] == 403


def test_password_policy_messages_name_the_field(web):
    english(web)
    login(web, "chuyenvien.stttt")
    form = web.get("/password")
    token = csrf_of(form)

    def change(current, new, confirm=None, status=400):
        return web.post(
            "/password",
            {
                "current_password": current,
                "new_password": new,
                "confirm_password": new if confirm is None else confirm,
                "csrf_token": token,
            },
            status=status,
        )

    assert (
        field_error(change(DEMO_PASSWORD, "abc"), "new_password")
        == "The password must have at least 10 characters."
    )
    assert (
        field_error(change(DEMO_PASSWORD, "Chuyenvien.Stttt"), "new_password")
        == "The password must not be the login."
    )
    assert (
        field_error(change(DEMO_PASSWORD, "password123"), "new_password")
        == "The password is too common; choose another."
    )
    assert (
        field_error(change("not-my-password", NEW_PASSWORD), "current_password")
        == "The current password is incorrect."
    )
    assert (
        field_error(change(DEMO_PASSWORD, NEW_PASSWORD, "something-else-1"), "confirm_password")
        == "The two new passwords are not the same."
    )
    assert (
        field_error(change(DEMO_PASSWORD, DEMO_PASSWORD), "new_password")
        == "The new password must differ from the current one."
    )
    assert not [e for e in audit_entries(web) if e["action"] == "user.password_change"]
    assert change(DEMO_PASSWORD, NEW_PASSWORD, status=303).location == HOME


# --- profile -------------------------------------------------------------------------------


def test_profile_shows_my_roles_and_saves_my_details(web):
    english(web)
    login(web, "lanhdao.stttt")
    page = web.get("/profile")
    roles = re.search(r'<ul class="roles-list" id="my-roles">(.*?)</ul>', page.text, re.S).group(1)
    assert "Leader" in roles and "Sở Thông tin và Truyền thông" in roles

    token = csrf_of(page)
    res = web.post(
        "/profile",
        {
            "fullname": "Trần Văn Hùng",
            "position": "Phó Giám đốc",
            "email": "hung@stttt.example.vn",
            "csrf_token": token,
        },
    )
    assert res.status_int == 303
    assert user_attr(web.app, "lanhdao.stttt", "position", "email") == (
        "Phó Giám đốc",
        "hung@stttt.example.vn",
    )
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"], entry["details"]["fields"]) == (
        "user.update",
        "lanhdao.stttt",
        ["email", "position"],
    )

    before = len(audit_entries(web))
    res = web.post(
        "/profile",
        {"fullname": "  ", "position": "X", "email": "not-an-email", "csrf_token": token},
        status=400,
    )
    assert field_error(res, "fullname") == "The full name is required."
    assert user_attr(web.app, "lanhdao.stttt", "fullname", "position") == ("Trần Văn Hùng", "Phó Giám đốc")
    assert len(audit_entries(web)) == before
    res = web.post(
        "/profile",
        {"fullname": "Trần Văn Hùng", "position": "X", "email": "not-an-email", "csrf_token": token},
        status=400,
    )
    assert field_error(res, "email") == "not-an-email is not an e-mail address."
    assert user_attr(web.app, "lanhdao.stttt", "position") == ("Phó Giám đốc",)


def test_profile_needs_a_login(web):
    res = web.get("/profile", status=303)
    assert res.location.startswith(LOGIN_URL)
    res = web.get("/delegations", status=303)
    assert res.location.startswith(LOGIN_URL)


# --- compromised password ------------------------------------------------------------------


def test_reporting_my_password_compromised(web):
    app = web.app
    other_session = client(app)
    login(other_session, "chuyenvien.stttt")
    me = english(web)
    login(me, "chuyenvien.stttt")
    page = me.get("/profile")
    before = len(audit_entries(web))

    # without the confirmation box nothing happens
    me.post("/profile/compromised", {"csrf_token": csrf_of(page)}, status=303)
    assert user_attr(app, "chuyenvien.stttt", "locked") == (False,)

    res = me.post(
        "/profile/compromised",
        {"confirm": "1", "note": "I typed it on a shared computer", "csrf_token": csrf_of(page)},
        status=303,
    )
    assert res.location == LOGIN_URL
    assert "Your account is locked" in res.follow().text
    assert user_attr(app, "chuyenvien.stttt", "locked", "lock_reason") == (True, "compromised")

    # every session has ended, and the password no longer opens one
    assert is_logged_out(me)
    assert is_logged_out(other_session)
    login(client(app), "chuyenvien.stttt", status=401)

    # the unit admin got a notice; an incident exists; all of it is on the record
    def facts(site):
        notices = [
            (n.message, n.mapping.get("login"), n.link)
            for n in site["users"]["quantri.stttt"].notices.values()
        ]
        incidents = [(i.kind, i.subject, i.reported_by, i.description) for i in site["incidents"].values()]
        return notices, incidents

    notices, incidents = with_site(app, facts)
    assert any(
        login_ == "chuyenvien.stttt" and link == "/manage/users/chuyenvien.stttt"
        for _m, login_, link in notices
    )
    assert incidents == [
        (
            "compromised_password",
            "/users/chuyenvien.stttt",
            "chuyenvien.stttt",
            "I typed it on a shared computer",
        )
    ]
    actions = [(e["action"], e["actor"], e["target"]) for e in since(app, before)]
    assert ("user.compromised", "chuyenvien.stttt", "/users/chuyenvien.stttt") in actions
    assert any(a == "incident.open" for a, _actor, _t in actions)

    # the unit admin reads the notice, marks it read, and resets the account
    admin = client(app)
    login(admin, "quantri.stttt")
    notices_page = admin.get("/notices")
    assert "chuyenvien.stttt" in notices_page.text and 'class="unread"' in notices_page.text
    admin.post("/notices", {"csrf_token": csrf_of(notices_page)}, status=303)
    assert 'class="unread"' not in admin.get("/notices").text
    assert with_site(app, lambda site: site["users"]["quantri.stttt"].unread_notices()) == 0
    page = admin.get("/manage/users/chuyenvien.stttt")
    assert 'id="state-locked"' in page.text
    admin.post("/manage/users/chuyenvien.stttt/unlock", {"csrf_token": csrf_of(page)}, status=303)
    res = admin.post("/manage/users/chuyenvien.stttt/reset", {"csrf_token": csrf_of(page)})
    one_time = re.search(r'<code id="one-time-password">([^<]+)</code>', res.text).group(1)
    assert login(client(app), "chuyenvien.stttt", one_time).location == PASSWORD_URL


def test_admin_reports_a_password_compromised(web):
    app = web.app
    holder = client(app)
    login(holder, "vanthu.snv")
    admin = english(web)
    login(admin, "admin")
    page = admin.get("/manage/users/vanthu.snv")
    admin.post(
        "/manage/users/vanthu.snv/compromised", {"confirm": "1", "csrf_token": csrf_of(page)}, status=303
    )
    assert is_logged_out(holder)
    assert user_attr(app, "vanthu.snv", "locked") == (True,)
    kinds = with_site(app, lambda site: [(i.kind, i.reported_by) for i in site["incidents"].values()])
    assert kinds == [("compromised_password", "admin")]
    # the unit 000.00.02.H49 has its own admin: that admin is alerted
    assert with_site(app, lambda site: site["users"]["quantri.snv"].unread_notices()) == 1


# --- lock and unlock -----------------------------------------------------------------------


def test_admin_locks_with_a_reason_and_the_session_ends(web):
    app = web.app
    holder = client(app)
    login(holder, "lanhdao.snv")
    admin = english(web)
    login(admin, "admin")
    page = admin.get("/manage/users/lanhdao.snv")

    res = admin.post(
        "/manage/users/lanhdao.snv/lock", {"reason": " ", "csrf_token": csrf_of(page)}, status=400
    )
    assert field_error(res, "reason") == "Say why the account is locked."
    assert user_attr(app, "lanhdao.snv", "locked") == (False,)
    assert holder.get("/").status_int == 200

    admin.post(
        "/manage/users/lanhdao.snv/lock",
        {"reason": "left the department", "csrf_token": csrf_of(page)},
        status=303,
    )
    assert user_attr(app, "lanhdao.snv", "locked", "lock_reason") == (True, "left the department")
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["details"]["reason"]) == ("user.lock", "left the department")
    assert is_logged_out(holder)
    login(holder, "lanhdao.snv", status=401)

    admin.post("/manage/users/lanhdao.snv/unlock", {"csrf_token": csrf_of(page)}, status=303)
    assert audit_entries(web)[-1]["action"] == "user.unlock"
    assert login(holder, "lanhdao.snv").location == HOME

    # nobody locks themselves out
    page = admin.get("/manage/users/admin")
    res = admin.post("/manage/users/admin/lock", {"reason": "oops", "csrf_token": csrf_of(page)}, status=409)
    assert field_error(res, "reason") == "You cannot lock your own account."


# --- the system admin's user screens -------------------------------------------------------


def test_admin_lists_searches_and_filters_users(web):
    english(web)
    login(web, "admin")
    res = web.get("/manage/users")
    total = int(re.search(r'<span id="total">(\d+)</span>', res.text).group(1))
    assert total == with_site(web.app, lambda site: len(site["users"]))

    res = web.get("/manage/users", {"q": "nguyen thi mai"})
    assert re.findall(r'/manage/users/([a-z0-9._-]+)">', res.text) == ["vanthu.stttt"]
    res = web.get("/manage/users", {"q": "VANTHU"})
    assert set(re.findall(r'/manage/users/([a-z0-9._-]+)">', res.text)) == {
        "vanthu.stttt",
        "vanthu.snv",
        "vanthu.vungtau",
    }
    res = web.get("/manage/users", {"filter_unit": SNV})
    assert set(re.findall(r'/manage/users/([a-z0-9._-]+)">', res.text)) == {
        "quantri.snv",
        "vanthu.snv",
        "lanhdao.snv",
        "chuyenvien.snv",
    }
    res = web.get("/manage/users", {"filter_unit": SNV, "q": "hoang duc"})
    assert re.findall(r'/manage/users/([a-z0-9._-]+)">', res.text) == ["lanhdao.snv"]


def test_admin_creates_an_account_with_a_one_time_password(web):
    app = web.app
    english(web)
    login(web, "admin")
    page = web.get("/manage/users")
    token = csrf_of(page)
    res = web.post(
        "/manage/users",
        {
            "login": "thanhtra.snv",
            "fullname": "Phan Văn Khải",
            "unit_code": SNV,
            "position": "Thanh tra viên",
            "email": "khai@snv.example.vn",
            "roles": ["specialist", "auditor"],
            "csrf_token": token,
        },
        status=201,
    )
    initial = re.search(r'<code id="initial-password">([^<]+)</code>', res.text).group(1)

    def stored(site):
        from lienthong.core.services import accounts

        user = site["users"]["thanhtra.snv"]
        return (
            user.fullname,
            user.unit_code,
            user.must_change_password,
            accounts.role_grants(site, user),
            initial in user.password_hash,
        )

    assert with_site(app, stored) == (
        "Phan Văn Khải",
        SNV,
        True,
        [(None, "auditor"), (SNV, "specialist")],
        False,
    )
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"], entry["target"]) == (
        "user.create",
        "admin",
        "/users/thanhtra.snv",
    )

    newcomer = client(app)
    assert login(newcomer, "thanhtra.snv", initial).location == PASSWORD_URL

    # bad input: a clear message on the field, nothing written
    before = len(audit_entries(web))
    res = web.post(
        "/manage/users",
        {"login": "thanhtra.snv", "fullname": "X", "unit_code": SNV, "csrf_token": token},
        status=409,
    )
    assert field_error(res, "login") == "The login thanhtra.snv already exists."
    res = web.post("/manage/users", {"login": "Bad Login!", "fullname": "X", "csrf_token": token}, status=400)
    assert field_error(res, "login").startswith("Invalid login bad login!")
    res = web.post(
        "/manage/users",
        {"login": "someone", "fullname": "Ai Đó", "unit_code": "999.99.99.H49", "csrf_token": token},
        status=400,
    )
    assert field_error(res, "unit_code") == "Unknown unit 999.99.99.H49."
    res = web.post(
        "/manage/users",
        {"login": "someone", "fullname": "Ai Đó", "roles": "clerk", "csrf_token": token},
        status=400,
    )
    assert field_error(res, "roles") == "The role clerk needs a unit."
    assert with_site(app, lambda site: "someone" in site["users"]) is False
    assert len(audit_entries(web)) == before


def test_admin_grants_and_revokes_roles_and_sees_the_audit(web):
    app = web.app
    login(web, "admin")
    page = web.get("/manage/users/chuyenvien.snv")
    viewed = audit_entries(web)[-1]  # reading someone's account is on the record
    assert (viewed["action"], viewed["actor"], viewed["target"]) == (
        "user.view",
        "admin",
        "/users/chuyenvien.snv",
    )
    token = csrf_of(page)
    web.post(
        "/manage/users/chuyenvien.snv/roles",
        {"op": "grant", "role": "clerk", "csrf_token": token},
        status=303,
    )
    web.post(
        "/manage/users/chuyenvien.snv/roles",
        {"op": "grant", "role": "auditor", "csrf_token": token},
        status=303,
    )
    web.post(
        "/manage/users/chuyenvien.snv/roles",
        {"op": "revoke", "role": "specialist", "unit_code": SNV, "csrf_token": token},
        status=303,
    )

    def grants(site):
        from lienthong.core.services import accounts

        return accounts.role_grants(site, site["users"]["chuyenvien.snv"])

    assert with_site(app, grants) == [(None, "auditor"), (SNV, "clerk")]
    res = web.get("/manage/users/chuyenvien.snv")
    table = re.search(r'<table id="audit">(.*?)</table>', res.text, re.S).group(1)
    assert table.index("user.revoke_role") < table.index("user.grant_role")  # newest first

    # revoking a role not held says so, and changes nothing
    res = web.post(
        "/manage/users/chuyenvien.snv/roles",
        {"op": "revoke", "role": "leader", "unit_code": SNV, "csrf_token": token},
        status=400,
    )
    assert 'id="roles-error"' in res.text
    assert with_site(app, grants) == [(None, "auditor"), (SNV, "clerk")]


# --- a unit admin's reach ------------------------------------------------------------------


def test_unit_admin_manages_the_people_of_their_unit_only(web):
    app = web.app
    english(web)
    login(web, "quantri.stttt")
    assert "/manage/users?unit=000.00.12.H49" in web.get("/").text  # the home panel's link

    res = web.get("/manage/users", {"unit": OPERATOR})
    listed = set(re.findall(r'/manage/users/([a-z0-9._-]+)">', res.text))
    assert {"vanthu.stttt", "lanhdao.stttt", "chuyenvien.stttt"} <= listed
    assert not listed & {"vanthu.snv", "lanhdao.snv"}
    assert 'value="auditor"' not in res.text and 'value="system_admin"' not in res.text

    before = len(audit_entries(web))
    for path in (
        "/manage/users",
        f"/manage/users?unit={SNV}",
        "/manage/users/vanthu.snv",
        "/manage/users/admin",
        "/manage/users/kiemtoan",
    ):
        assert web.get(path, status="*").status_int == 403, path
    token = csrf_of(web.get("/profile"))
    for path, data in (
        ("/manage/users/vanthu.snv/reset", {}),
        ("/manage/users/vanthu.snv/lock", {"reason": "x"}),
        ("/manage/users/admin/reset", {}),
        (f"/manage/users?unit={SNV}", {"login": "x.snv", "fullname": "X"}),
    ):
        assert web.post(path, {**data, "csrf_token": token}, status="*").status_int == 403, path
    denied = [e for e in since(app, before) if e["action"] == "access.denied"]
    assert len(denied) == 9
    assert user_attr(app, "vanthu.snv", "must_change_password", "locked") == (False, False)

    # within the unit: reset, roles on the unit, a new account with unit roles only
    page = web.get("/manage/users/vanthu.stttt")
    assert web.post("/manage/users/vanthu.stttt/reset", {"csrf_token": csrf_of(page)}).status_int == 200
    web.post(
        "/manage/users/vanthu.stttt/roles", {"op": "grant", "role": "leader", "csrf_token": token}, status=303
    )
    web.post(
        "/manage/users/vanthu.stttt/roles",
        {"op": "grant", "role": "system_admin", "csrf_token": token},
        status=403,
    )
    web.post(
        "/manage/users/vanthu.stttt/roles",
        {"op": "grant", "role": "leader", "unit_code": SNV, "csrf_token": token},
        status=403,
    )
    res = web.post(
        f"/manage/users?unit={OPERATOR}",
        {
            "login": "vanthu2.stttt",
            "fullname": "Lê Văn Tư",
            "unit_code": SNV,
            "roles": "clerk",
            "csrf_token": token,
        },
        status=201,
    )
    assert 'id="initial-password"' in res.text
    res = web.post(
        f"/manage/users?unit={OPERATOR}",
        {"login": "sep.stttt", "fullname": "Sếp", "roles": "system_admin", "csrf_token": token},
        status=403,
    )
    assert field_error(res, "roles") == "The role system_admin cannot be granted here."
    # moving a person out to a unit one does not manage is refused
    web.post(
        "/manage/users/vanthu2.stttt/edit",
        {"fullname": "Lê Văn Tư", "unit_code": SNV, "csrf_token": token},
        status=403,
    )

    def facts(site):
        from lienthong.core.services import accounts

        new = site["users"]["vanthu2.stttt"]
        return (
            new.unit_code,
            new.must_change_password,
            accounts.role_grants(site, new),
            "sep.stttt" in site["users"],
            accounts.role_grants(site, site["users"]["vanthu.stttt"]),
        )

    assert with_site(app, facts) == (
        OPERATOR,
        True,
        [(OPERATOR, "clerk")],
        False,
        [(OPERATOR, "clerk"), (OPERATOR, "leader")],
    )

    # the other unit's admin has the mirror image
    other = client(app)
    login(other, "quantri.snv")
    assert other.get("/manage/users/vanthu.snv").status_int == 200
    assert other.get("/manage/users/vanthu.stttt", status="*").status_int == 403


def test_every_form_refuses_text_xml_cannot_carry_naming_the_field(web):
    """Issue 16, item 2: a NUL or another control character in any form field is a 400 naming it."""
    english(web)
    login(web, "lanhdao.stttt")
    token = csrf_of(web.get("/profile"))
    for junk in ("\u0000", "\u000b", "\ufffe"):
        res = web.post(
            "/profile",
            {"fullname": "Trần Văn" + junk + "Hùng", "position": "X", "email": "", "csrf_token": token},
            status=400,
        )
        assert "characters" in res.text and "fullname contains" not in res.text
        # the page names the field apart, as a technical detail, not inside the sentence
        assert res.html.select_one("#error-field code").text == "fullname"
    assert user_attr(web.app, "lanhdao.stttt", "position") != ("X",)
