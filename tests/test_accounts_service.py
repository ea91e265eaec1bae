"""services.accounts and services.tokens on a real site: lock-out, resets, compromise reports,
roles as local roles, password changes, API tokens."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lienthong.core import permissions as sec
from lienthong.core.clock import now_iso
from lienthong.core.errors import Conflict, NotFound, ServiceError
from lienthong.core.services import accounts, audit, sessions, tokens
from lienthong.core.services.directory import DirectoryError
from lienthong.core.services.passwords import verify_password
from lienthong.core.services.throttle import LoginThrottle

from .support.app import DEMO_PASSWORD, with_site
from .support.refusals import refused as support_refused

ADMIN = audit.Actor("admin")
NEW_PASSWORD = "Mat-khau-moi-2026"
POLICY = accounts.LockoutPolicy(attempts=3, minutes=1)


def entries(site, action=None):
    return [e for e in site["audit"].iter_entries() if action is None or e["action"] == action]


def users_state(site):
    return {
        u.login: (
            u.password_hash,
            u.locked,
            u.session_epoch,
            u.must_change_password,
            u.unit_code,
            u.fullname,
            u.email,
            tuple(getattr(u, "extra_units", ()) or ()),
        )
        for u in site["users"].values()
    }


def roles_state(site):
    return (
        dict(site.__local_roles__ or {}),
        {u.code: dict(u.__local_roles__ or {}) for u in site["directory"].values()},
    )


def state(site):
    return users_state(site), roles_state(site), len(site["audit"]), len(site["users"])


def refused(app, fn, exc_type=ServiceError):
    """``fn(site)`` raises ``exc_type`` and nothing about users, roles or the audit changed."""
    return support_refused(app, fn, state, exc_type)


# --------------------------------------------------------------------------- lock-out


def test_lock_out_per_address_after_n_failures_then_it_lapses(demo_app):
    def attempt(site, password="sai-mat-khau-1", client="10.0.0.7"):
        return accounts.authenticate(site, "vanthu.snv", password, client=client, lockout=POLICY)

    assert with_site(demo_app, attempt) is None
    assert with_site(demo_app, attempt) is None
    assert with_site(demo_app, lambda site: site["users"]["vanthu.snv"].failed_logins) == 2
    assert with_site(demo_app, attempt) is None  # the third: this address is locked out for a minute

    def check(site):
        user = site["users"]["vanthu.snv"]
        assert user.locked_until is None and not user.locked  # not the account: the address
        until = datetime.fromisoformat(user.login_failures.locked_until("10.0.0.7"))
        assert timedelta(seconds=50) < until - datetime.now(UTC) <= timedelta(minutes=1)
        locked = entries(site, "user.locked_out")[-1]
        assert (locked["actor"], locked["target"], locked["client"]) == (
            "system:lockout",
            "/users/vanthu.snv",
            "10.0.0.7",
        )
        assert (locked["details"]["attempts"], locked["details"]["scope"]) == (3, "client")
        assert [e["details"]["reason"] for e in entries(site, "auth.login_failed")][-3:] == [
            "bad_credentials"
        ] * 3

    with_site(demo_app, check)

    # the guessing address is refused even the right password, which is not even checked…
    with pytest.raises(accounts.LoginThrottled) as refused_login:
        with_site(demo_app, lambda site: attempt(site, DEMO_PASSWORD))
    assert 50 < refused_login.value.retry_after <= 60
    # …while the holder, from an address that has not been failing, gets in
    assert with_site(demo_app, lambda site: attempt(site, DEMO_PASSWORD, "10.0.0.8").login) == "vanthu.snv"
    assert with_site(demo_app, lambda site: site["users"]["vanthu.snv"].failed_logins) == 0

    def minute_passes(site):
        past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        site["users"]["vanthu.snv"].login_failures.by_client["10.0.0.7"] = (0, past, past)

    with_site(demo_app, minute_passes)
    assert with_site(demo_app, lambda site: attempt(site, DEMO_PASSWORD).login) == "vanthu.snv"
    assert (
        with_site(demo_app, lambda site: site["users"]["vanthu.snv"].login_failures.locked_until("10.0.0.7"))
        is None
    )


def test_unknown_logins_fail_like_wrong_passwords(demo_app):
    assert (
        with_site(demo_app, lambda site: accounts.authenticate(site, "khong.co", "x" * 12, lockout=POLICY))
        is None
    )
    entry = with_site(demo_app, lambda site: entries(site)[-1])
    assert (entry["action"], entry["details"]["reason"]) == ("auth.login_failed", "bad_credentials")


def test_lockout_policy_from_settings():
    assert accounts.LockoutPolicy.from_settings({}) == accounts.LockoutPolicy(5, 15)
    assert (
        accounts.LockoutPolicy.from_settings(
            {"lienthong.lockout.attempts": "3", "lienthong.lockout.minutes": "1"}
        )
        == POLICY
    )


# --------------------------------------------------------------------------- throttling


def test_one_normalising_function_for_logins():
    assert accounts.normalise_login(" VanThu.SNV ") == "vanthu.snv"
    assert accounts.normalise_login(None) == ""


def test_the_throttle_grows_the_delay_per_account_and_client_then_per_client():
    now = [1000.0]
    policy = accounts.LockoutPolicy(attempts=5, minutes=15, free=2, delay=1, client_free=4)
    throttle = LoginThrottle(policy, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == 0  # the first two are free
    throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == 1
    assert throttle.wait("admin", "10.0.0.2") == 0  # another address is not slowed down
    assert throttle.wait("other", "10.0.0.1") == 0  # nor another account from this one
    now[0] += 1
    assert throttle.wait("admin", "10.0.0.1") == 0
    throttle.failed("admin", "10.0.0.1")
    assert throttle.wait("admin", "10.0.0.1") == 2  # the delay doubles
    now[0] += 2
    throttle.failed("admin", "10.0.0.1")  # the fifth: locked out for the lock-out's minutes
    assert throttle.wait("admin", "10.0.0.1") == 15 * 60
    now[0] += 15 * 60
    assert throttle.wait("admin", "10.0.0.1") == 0

    # one address guessing many accounts: free up to client_free, then delays for all of them
    for name in ("a", "b", "c", "d"):
        throttle.failed(name, "10.0.0.3")
    assert throttle.wait("e", "10.0.0.3") == 0
    throttle.failed("e", "10.0.0.3")
    assert throttle.wait("f", "10.0.0.3") == 1
    throttle.succeeded("f", "10.0.0.3")  # a success does not clear the address's count
    assert throttle.wait("g", "10.0.0.3") == 1


def test_the_throttle_stays_bounded():
    throttle = LoginThrottle(accounts.LockoutPolicy(), clock=lambda: 0.0, max_entries=50)
    for i in range(500):
        throttle.failed(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle) <= 50


def test_failures_from_many_addresses_lock_the_account_and_alert_the_admins(demo_app):
    policy = accounts.LockoutPolicy(attempts=3, minutes=1, account_attempts=10)

    def fail(client, password="sai-mat-khau-1"):
        return lambda site: accounts.authenticate(site, "vanthu.snv", password, client=client, lockout=policy)

    for i in range(9):
        assert with_site(demo_app, fail(f"10.1.{i}.1")) is None
    assert with_site(demo_app, lambda site: site["users"]["vanthu.snv"].locked_until) is None
    assert with_site(demo_app, fail("10.1.9.1")) is None  # the tenth, far past any one address's count

    def check(site):
        user = site["users"]["vanthu.snv"]
        until = datetime.fromisoformat(user.locked_until)
        assert timedelta(seconds=50) < until - datetime.now(UTC) <= timedelta(minutes=1)
        entry = entries(site, "user.locked_out")[-1]
        assert (entry["actor"], entry["target"]) == ("system:lockout", "/users/vanthu.snv")
        assert (entry["details"]["scope"], entry["details"]["failures"], entry["details"]["clients"]) == (
            "account",
            10,
            10,
        )
        # the unit's admin and the system admin are alerted, with a link to the account
        for login in ("quantri.snv", "admin"):
            notices = list(site["users"][login].notices.values())
            assert [n.link for n in notices] == ["/manage/users/vanthu.snv"], login
            assert notices[0].mapping["login"] == "vanthu.snv"
        assert entry["details"]["alerted"] == ["admin", "quantri.snv"]

    with_site(demo_app, check)
    # now even the right password from an address that never failed waits for the lock to end
    with pytest.raises(accounts.LoginThrottled) as refused_login:
        with_site(demo_app, fail("10.9.9.9", DEMO_PASSWORD))
    assert 50 < refused_login.value.retry_after <= 60


# --------------------------------------------------------------------------- sessions


def test_a_session_ends_when_idle_or_past_its_absolute_lifetime(demo_app):
    policy = sessions.SessionPolicy(idle=1800, absolute=4 * 3600)
    t0 = datetime.now(UTC)

    def open_at(when):
        return lambda site: sessions.open_session(site["users"]["vanthu.snv"], "10.0.0.7", policy, now=when)

    def alive(sid, when):
        return with_site(
            demo_app,
            lambda site: sessions.current(site["users"]["vanthu.snv"], sid, policy, now=when) is not None,
        )

    idle = with_site(demo_app, open_at(t0))
    assert alive(idle, t0 + timedelta(minutes=20))  # used: the idle clock starts again
    assert alive(idle, t0 + timedelta(minutes=45))
    assert not alive(idle, t0 + timedelta(minutes=45 + 32))  # idle for longer than 30 minutes
    assert not alive(idle, t0 + timedelta(minutes=45))  # and it is gone for good

    busy = with_site(demo_app, open_at(t0))
    for minutes in range(20, 4 * 60, 20):
        assert alive(busy, t0 + timedelta(minutes=minutes))
    assert not alive(busy, t0 + timedelta(hours=4, minutes=1))  # past the absolute lifetime, however busy
    assert not alive("forged-or-unknown", t0)
    assert (
        with_site(demo_app, lambda site: sessions.listing(site["users"]["vanthu.snv"], policy, now=t0)) == []
    )


# --------------------------------------------------------------------------- passwords


def test_reset_password_forces_a_change_and_ends_sessions(demo_app):
    def reset(site):
        user = site["users"]["chuyenvien.snv"]
        user.failed_logins, user.locked_until = 2, "2999-01-01T00:00:00+00:00"
        return user.session_epoch, accounts.reset_password(site, ADMIN, user)

    epoch, one_time = with_site(demo_app, reset)

    def check(site):
        user = site["users"]["chuyenvien.snv"]
        assert user.must_change_password and user.session_epoch == epoch + 1
        assert (user.failed_logins, user.locked_until) == (0, None)
        assert verify_password(user.password_hash, one_time) and not verify_password(
            user.password_hash, DEMO_PASSWORD
        )
        entry = entries(site)[-1]
        assert (entry["action"], entry["actor"], entry["target"]) == (
            "user.password_reset",
            "admin",
            "/users/chuyenvien.snv",
        )
        assert one_time not in str(entry)

    with_site(demo_app, check)

    def change(site):
        user = site["users"]["chuyenvien.snv"]
        accounts.set_password(
            site, audit.Actor("chuyenvien.snv"), user, NEW_PASSWORD, current_password=one_time
        )
        return user.must_change_password

    assert with_site(demo_app, change) is False


@pytest.mark.parametrize(
    "current, new, field, fragment",
    [
        ("sai-mat-khau-1", NEW_PASSWORD, "current_password", "current password is incorrect"),
        (DEMO_PASSWORD, "ngan", "new_password", "at least 10 characters"),
        (DEMO_PASSWORD, "Vanthu.SNV", "new_password", "must not be the login"),
        (DEMO_PASSWORD, "matkhau123", "new_password", "too common"),
        (DEMO_PASSWORD, DEMO_PASSWORD, "new_password", "must differ"),
    ],
)
def test_set_password_refusals(demo_app, current, new, field, fragment):
    error = refused(
        demo_app,
        lambda site: accounts.set_password(
            site, audit.Actor("vanthu.snv"), site["users"]["vanthu.snv"], new, current_password=current
        ),
    )
    assert error.field == field and fragment in error.text()


# --------------------------------------------------------------------------- compromised


def test_report_compromised_locks_ends_sessions_alerts_and_opens_an_incident(demo_app):
    def report(site):
        user = site["users"]["vanthu.stttt"]
        epoch = user.session_epoch
        incident = accounts.report_compromised(
            site,
            audit.Actor("vanthu.stttt", client="10.0.0.8"),
            user,
            note="Tôi đã nhập mật khẩu vào một trang giả mạo",
        )
        return epoch, incident

    epoch, incident_id = with_site(demo_app, report)

    def check(site):
        user = site["users"]["vanthu.stttt"]
        assert user.locked and user.lock_reason == "compromised" and user.session_epoch == epoch + 1
        assert not user.is_active()
        incident = site["incidents"][incident_id]
        assert (incident.kind, incident.subject, incident.reported_by, incident.unit_code) == (
            "compromised_password",
            "/users/vanthu.stttt",
            "vanthu.stttt",
            "000.00.12.H49",
        )
        assert "trang giả mạo" in incident.description
        # the admin of the unit (not the admin of another unit) gets a notice with a link
        admin = site["users"]["quantri.stttt"]
        notices = list(admin.notices.values())
        assert len(notices) == 1 and notices[0].link == "/manage/users/vanthu.stttt" and not notices[0].read
        assert notices[0].mapping["login"] == "vanthu.stttt"
        assert len(site["users"]["quantri.snv"].notices) == 0
        entry = entries(site, "user.compromised")[-1]
        assert (
            entry["actor"],
            entry["client"],
            entry["details"]["incident"],
            entry["details"]["alerted"],
        ) == ("vanthu.stttt", "10.0.0.8", incident_id, ["quantri.stttt"])
        assert entries(site, "incident.open")[-1]["target"] == f"/incidents/{incident_id}"

    with_site(demo_app, check)
    # locked: the right password no longer opens the account
    assert (
        with_site(demo_app, lambda site: accounts.authenticate(site, "vanthu.stttt", DEMO_PASSWORD)) is None
    )


def test_report_compromised_for_a_unit_with_its_own_admin(demo_app):
    with_site(demo_app, lambda site: accounts.report_compromised(site, ADMIN, site["users"]["lanhdao.snv"]))
    alerted = with_site(demo_app, lambda site: entries(site, "user.compromised")[-1]["details"]["alerted"])
    assert alerted == ["quantri.snv"]


def test_lock_and_unlock(demo_app):
    error = refused(demo_app, lambda site: accounts.lock(site, ADMIN, site["users"]["admin"]), Conflict)
    assert error.field == "login"

    def lock(site):
        accounts.lock(site, ADMIN, site["users"]["chuyenvien.vungtau"], reason="nghỉ việc")

    with_site(demo_app, lock)

    def log_in(site):
        return accounts.authenticate(site, "chuyenvien.vungtau", DEMO_PASSWORD)

    assert with_site(demo_app, log_in) is None
    with_site(demo_app, lambda site: accounts.unlock(site, ADMIN, site["users"]["chuyenvien.vungtau"]))
    assert with_site(demo_app, log_in) is not None
    actions = with_site(
        demo_app, lambda site: [(e["action"], e["details"].get("reason")) for e in entries(site)][-4:]
    )
    assert actions == [
        ("user.lock", "nghỉ việc"),
        ("auth.login_failed", "locked"),
        ("user.unlock", None),
        ("auth.login", None),
    ]


# --------------------------------------------------------------------------- roles


def test_grant_and_revoke_roles_as_local_roles(demo_app):
    def grant(site):
        user = site["users"]["chuyenvien.snv"]
        accounts.grant_role(site, ADMIN, user, sec.LEADER)  # on the user's own unit
        accounts.grant_role(site, ADMIN, user, sec.CLERK, unit_code="000.00.03.H49")  # on another unit
        accounts.grant_role(site, ADMIN, user, sec.AUDITOR)  # site-wide
        return accounts.role_grants(site, user), accounts.roles_of(site, user)

    grants, roles = with_site(demo_app, grant)
    assert grants == [
        (None, sec.AUDITOR),
        ("000.00.02.H49", sec.LEADER),
        ("000.00.02.H49", sec.SPECIALIST),
        ("000.00.03.H49", sec.CLERK),
    ]
    assert roles == sorted([sec.AUDITOR, sec.LEADER, sec.SPECIALIST, sec.CLERK])

    def check(site):
        principal = sec.user_principal("chuyenvien.snv")
        assert sec.CLERK in site["directory"]["000.00.03.H49"].local_roles_of(principal)
        assert sec.AUDITOR in site.local_roles_of(principal)
        assert site["users"]["chuyenvien.snv"].extra_units == ("000.00.03.H49",)
        granted = entries(site, "user.grant_role")[-3:]
        assert [(e["details"]["role"], e["details"]["unit"]) for e in granted] == [
            (sec.LEADER, "000.00.02.H49"),
            (sec.CLERK, "000.00.03.H49"),
            (sec.AUDITOR, None),
        ]

    with_site(demo_app, check)

    def revoke(site):
        user = site["users"]["chuyenvien.snv"]
        accounts.revoke_role(site, ADMIN, user, sec.CLERK, unit_code="000.00.03.H49")
        accounts.revoke_role(site, ADMIN, user, sec.AUDITOR)
        return accounts.role_grants(site, user)

    assert with_site(demo_app, revoke) == [("000.00.02.H49", sec.LEADER), ("000.00.02.H49", sec.SPECIALIST)]
    error = refused(
        demo_app, lambda site: accounts.revoke_role(site, ADMIN, site["users"]["chuyenvien.snv"], sec.AUDITOR)
    )
    assert error.field == "roles" and "does not hold the role auditor" in error.text()


@pytest.mark.parametrize(
    "login_name, role, unit_code, field, fragment",
    [
        ("chuyenvien.snv", "director", None, "roles", "Unknown role director"),
        ("kiemtoan_nounit", sec.CLERK, None, "unit_code", "Unknown unit"),
        ("chuyenvien.snv", sec.CLERK, "000.00.99.H49", "unit_code", "Unknown unit 000.00.99.H49"),
    ],
)
def test_grant_role_errors(demo_app, login_name, role, unit_code, field, fragment):
    if login_name == "kiemtoan_nounit":  # a user without a unit asks for a unit role without naming one
        with_site(
            demo_app,
            lambda site: accounts.add_user(
                site, ADMIN, "kiemtoan2", "Kiểm toán 2", NEW_PASSWORD, roles=(sec.AUDITOR,)
            ),
        )
        login_name = "kiemtoan2"
    error = refused(
        demo_app,
        lambda site: accounts.grant_role(site, ADMIN, site["users"][login_name], role, unit_code=unit_code),
    )
    assert error.field == field and fragment in error.text()


@pytest.mark.parametrize(
    "kwargs, field, fragment",
    [
        (dict(login="Bad Login"), "login", "Invalid login"),
        (dict(login="vanthu.snv"), "login", "already exists"),
        (dict(fullname=" "), "fullname", "full name is required"),
        (dict(email="khong-phai-email"), "email", "not an e-mail address"),
        (dict(unit_code="000.00.99.H49"), "unit_code", "Unknown unit 000.00.99.H49"),
        (dict(roles=("director",)), "roles", "Unknown role director"),
        (dict(unit_code=None, roles=(sec.CLERK,)), "roles", "needs a unit"),
        (dict(password="matkhau123"), "password", "too common"),
    ],
)
def test_add_user_errors_store_nothing(demo_app, kwargs, field, fragment):
    values = dict(
        login="nguyen.van.b",
        fullname="Nguyễn Văn B",
        password=NEW_PASSWORD,
        unit_code="000.00.02.H49",
        roles=(sec.CLERK,),
    )
    values.update(kwargs)
    error = refused(demo_app, lambda site: accounts.add_user(site, ADMIN, **values))
    assert error.field == field and fragment in error.text()


def test_update_user_checks_the_unit(demo_app):
    error = refused(
        demo_app,
        lambda site: accounts.update_user(
            site, ADMIN, site["users"]["vanthu.snv"], unit_code="000.00.99.H49"
        ),
    )
    assert error.field == "unit_code"
    assert (
        refused(
            demo_app,
            lambda site: accounts.update_user(site, ADMIN, site["users"]["vanthu.snv"], password_hash="x"),
        ).field
        == "password_hash"
    )
    assert refused(demo_app, lambda site: accounts.get_user(site, "khong.co"), NotFound).status == 404


# --------------------------------------------------------------------------- tokens


def test_token_secret_is_shown_once_and_only_a_digest_is_stored(demo_app):
    def create(site):
        token, secret = tokens.create(site, ADMIN, "000.00.02.H49", "VNPT iOffice Sở Nội vụ")
        return token.token_id, secret

    token_id, secret = with_site(demo_app, create)
    assert secret.startswith("lt_") and len(secret) > 40

    def check(site):
        token = site["tokens"][token_id]
        stored = {k: v for k, v in vars(token).items() if not k.startswith("_p_")}
        assert secret not in repr(stored) and token.digest == tokens.digest(secret)
        assert tokens.find(site, secret) is token
        assert tokens.find(site, secret + "x") is None and tokens.find(site, "not-a-token") is None
        assert tokens.find(site, "") is None
        assert [t.token_id for t in tokens.of_unit(site, "000.00.02.H49")] == [token_id]
        assert tokens.of_unit(site, "000.00.12.H49") == []
        entry = entries(site, "token.create")[-1]
        assert (entry["target"], entry["details"]["unit"]) == (f"/tokens/{token_id}", "000.00.02.H49")
        assert secret not in str(entry)

    with_site(demo_app, check)

    with_site(demo_app, lambda site: tokens.revoke(site, ADMIN, token_id))

    def revoked(site):
        token = tokens.find(site, secret)
        assert token.revoked and not token.is_valid(now_iso())
        assert [e["action"] for e in entries(site)][-1] == "token.revoke"
        tokens.revoke(site, ADMIN, token_id)  # again: nothing new to record
        assert [e["action"] for e in entries(site)][-1] == "token.revoke"
        return len(entries(site, "token.revoke"))

    assert with_site(demo_app, revoked) == 1


@pytest.mark.parametrize(
    "unit_code, label, exc_type, field",
    [
        ("000.00.99.H49", "x", DirectoryError, "unit"),  # an unknown unit is a bad value (400)
        ("", "x", DirectoryError, "unit"),
        ("000.00.02.H49", "  ", ServiceError, "label"),
    ],
)
def test_token_create_errors(demo_app, unit_code, label, exc_type, field):
    def attempt(site):
        with pytest.raises(exc_type) as info:
            tokens.create(site, ADMIN, unit_code, label)
        return info.value.field, len(site["tokens"])

    assert with_site(demo_app, attempt) == (field, 0)
    error = refused(demo_app, lambda site: tokens.revoke(site, ADMIN, "khong-co"), NotFound)
    assert error.field == "token"


def test_a_compromised_account_reopens_only_by_a_password_reset(demo_app):
    with_site(demo_app, lambda site: accounts.report_compromised(site, ADMIN, site["users"]["vanthu.stttt"]))
    refused(demo_app, lambda site: accounts.unlock(site, ADMIN, site["users"]["vanthu.stttt"]), Conflict)
    one_time = with_site(
        demo_app, lambda site: accounts.reset_password(site, ADMIN, site["users"]["vanthu.stttt"])
    )

    def check(site):
        user = site["users"]["vanthu.stttt"]
        assert not user.locked and user.lock_reason == "" and user.must_change_password
        return accounts.authenticate(site, "vanthu.stttt", one_time) is not None

    assert with_site(demo_app, check)


def test_moving_a_person_moves_their_unit_roles(demo_app):
    def move(site):
        accounts.update_user(site, ADMIN, site["users"]["vanthu.stttt"], unit_code="000.00.02.H49")

    with_site(demo_app, move)

    def check(site):
        principal = sec.user_principal("vanthu.stttt")
        moved = entries(site, "user.move_roles")[-1]["details"]
        return (
            site["directory"]["000.00.12.H49"].local_roles_of(principal),
            site["directory"]["000.00.02.H49"].local_roles_of(principal),
            moved["unit"],
            moved["to"],
        )

    assert with_site(demo_app, check) == ((), (sec.CLERK,), "000.00.12.H49", "000.00.02.H49")


def test_nobody_removes_their_own_system_admin_role(demo_app):
    refused(
        demo_app,
        lambda site: accounts.revoke_role(site, ADMIN, site["users"]["admin"], sec.SYSTEM_ADMIN),
        Conflict,
    )
    assert with_site(demo_app, lambda site: site.local_roles_of(sec.user_principal("admin"))) == (
        sec.SYSTEM_ADMIN,
    )
