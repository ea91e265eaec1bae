"""The JSON API under /api/v1: tokens, directory, accounts, delegations, unit tokens, OpenAPI.

Every test runs on a fresh copy of the demo site (tests/support/demo.py). Refusals are
checked for their status, their problem details, that nothing was stored and that the
refusal (or the change) is in the audit log.
"""

from datetime import UTC, date, timedelta

import pytest

from lienthong.core.services import accounts
from lienthong.core.services.audit import Actor

from .support.app import DEMO_PASSWORD, with_site
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)

PROBLEM = "application/problem+json"
STTTT = "000.00.12.H49"  # the operator unit: quantri.stttt is its admin
SNV = "000.00.02.H49"


# -- helpers --------------------------------------------------------------------------------
def token_for(web, login, password=DEMO_PASSWORD):
    return web.post_json("/api/v1/auth/token", {"login": login, "password": password}, status=201).json[
        "token"
    ]


def bearer(token, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


class Api:
    """A client holding one bearer token."""

    def __init__(self, web, token):
        self.web, self.token = web, token

    def _headers(self, headers):
        return bearer(self.token, **(headers or {}))

    def get(self, path, status=200, headers=None, **params):
        return self.web.get(path, params=params or None, headers=self._headers(headers), status=status)

    def post(self, path, body=None, status=201, headers=None):
        return self.web.post_json(
            path, body if body is not None else {}, headers=self._headers(headers), status=status
        )

    def patch(self, path, body, status=200, headers=None):
        return self.web.patch_json(path, body, headers=self._headers(headers), status=status)

    def delete(self, path, status=204, headers=None):
        return self.web.delete(path, headers=self._headers(headers), status=status)


def as_user(web, login):
    return Api(web, token_for(web, login))


def assert_problem(res, status, field=None):
    assert res.status_int == status
    assert res.content_type == PROBLEM
    body = res.json
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def last_of(web, action):
    found = [e for e in audit_entries(web) if e["action"] == action]
    return found[-1] if found else None


def count_of(web, action):
    return sum(1 for e in audit_entries(web) if e["action"] == action)


def stored(web, fn):
    return with_site(web.app, fn)


# -- logging in -----------------------------------------------------------------------------
def test_login_gives_a_bearer_token_that_logout_revokes(web):
    res = web.post_json(
        "/api/v1/auth/token", {"login": "vanthu.stttt", "password": DEMO_PASSWORD}, status=201
    )
    assert res.content_type == "application/json" and res.charset.lower() == "utf-8"
    assert set(res.json) == {"token", "expires", "login"} and res.json["login"] == "vanthu.stttt"
    expires = res.json["expires"]
    token = res.json["token"]
    entry = last_of(web, "auth.login")
    assert entry["actor"] == "vanthu.stttt" and entry["details"]["via"] == "api"
    # the token is stored hashed, as a login token, with the 8-hour default life
    kinds = stored(web, lambda site: [(t.kind, t.login, t.expires) for t in site["tokens"].values()])
    assert ("login", "vanthu.stttt", expires) in kinds
    assert token not in repr(stored(web, lambda site: [vars(t) for t in site["tokens"].values()]))

    me = web.get("/api/v1/me", headers=bearer(token)).json
    assert me["login"] == "vanthu.stttt" and me["kind"] == "user" and "clerk" in me["roles"]
    assert me["acting_for"] is None

    web.delete("/api/v1/auth/token", headers=bearer(token), status=204)
    assert last_of(web, "token.revoke")["actor"] == "vanthu.stttt"
    assert_problem(web.get("/api/v1/me", headers=bearer(token), status=401), 401)


def test_a_token_lasts_the_configured_time(demo_factory):
    from datetime import datetime, timezone

    web = demo_factory(**{"lienthong.api.token_ttl": "120"})
    res = web.post_json("/api/v1/auth/token", {"login": "vanthu.snv", "password": DEMO_PASSWORD}, status=201)
    left = datetime.fromisoformat(res.json["expires"]) - datetime.now(UTC)
    assert 100 < left.total_seconds() <= 120


def test_an_expired_token_is_refused(web):
    token = token_for(web, "vanthu.snv")

    def expire(site):
        for t in site["tokens"].values():
            if t.login == "vanthu.snv":
                t.expires = "2000-01-01T00:00:00+00:00"

    stored(web, expire)
    assert_problem(web.get("/api/v1/me", headers=bearer(token), status=401), 401)
    # the next login drops the spent token instead of keeping it forever
    fresh = token_for(web, "vanthu.snv")
    assert stored(
        web, lambda site: [t.expires > "2001" for t in site["tokens"].login_tokens("vanthu.snv")]
    ) == [True]
    assert web.get("/api/v1/me", headers=bearer(fresh)).json["login"] == "vanthu.snv"


def test_wrong_password_and_unknown_login_get_the_same_answer(web):
    wrong = web.post_json(
        "/api/v1/auth/token", {"login": "vanthu.snv", "password": "not-the-password"}, status=401
    )
    unknown = web.post_json(
        "/api/v1/auth/token", {"login": "nobody.here", "password": "not-the-password"}, status=401
    )
    assert_problem(wrong, 401)
    assert {k: v for k, v in wrong.json.items()} == {k: v for k, v in unknown.json.items()}
    # the failure is committed: on the record and counted towards the lock-out
    failed = [e for e in audit_entries(web) if e["action"] == "auth.login_failed"]
    assert [e["target"] for e in failed[-2:]] == ["/users/vanthu.snv", "/users/nobody.here"]
    assert all(e["details"]["via"] == "api" for e in failed[-2:])
    assert stored(web, lambda site: site["users"]["vanthu.snv"].failed_logins) == 1
    assert stored(web, lambda site: len(site["tokens"])) == 0


def test_lock_out_of_the_guessing_address_after_failed_api_logins(demo_factory):
    web = demo_factory(**{"lienthong.lockout.attempts": "2"})
    for _ in range(2):
        web.post_json(
            "/api/v1/auth/token", {"login": "vanthu.snv", "password": "not-the-password"}, status=401
        )
    # even the right password is refused from that address while it is locked out: 429
    res = web.post_json("/api/v1/auth/token", {"login": "vanthu.snv", "password": DEMO_PASSWORD}, status=429)
    body = assert_problem(res, 429)
    assert 14 * 60 < int(res.headers["Retry-After"]) <= 15 * 60 and body["retry_after"] == int(
        res.headers["Retry-After"]
    )
    assert "15 phút" in body["detail"]  # Vietnamese by default
    locked = last_of(web, "user.locked_out")
    assert (locked["target"], locked["client"], locked["details"]["scope"]) == (
        "/users/vanthu.snv",
        "127.0.0.1",
        "client",
    )
    # another address is not refused
    web.post_json(
        "/api/v1/auth/token",
        {"login": "vanthu.snv", "password": DEMO_PASSWORD},
        extra_environ={"REMOTE_ADDR": "10.20.0.5"},
        status=201,
    )


def test_a_password_change_revokes_every_login_token_of_the_person(web):
    token = token_for(web, "vanthu.snv")
    assert web.get("/api/v1/me", headers=bearer(token)).json["login"] == "vanthu.snv"

    def change(site):
        user = site["users"]["vanthu.snv"]
        accounts.set_password(
            site, Actor("vanthu.snv"), user, "Mat-khau-moi-2026!", current_password=DEMO_PASSWORD
        )

    stored(web, change)
    assert_problem(web.get("/api/v1/me", headers=bearer(token), status=401), 401)
    assert stored(web, lambda site: [bool(t.revoked) for t in site["tokens"].login_tokens("vanthu.snv")]) == [
        True
    ]
    assert last_of(web, "user.sessions_end")["details"]["tokens"] == 1


def test_failed_api_logins_are_throttled_per_client_and_the_owner_still_gets_in(web):
    """Issue 16.3: 30 guesses in a row from one address, in case and space variants of one login."""
    guesser = {"REMOTE_ADDR": "203.0.113.9"}
    statuses = []
    for i in range(30):
        variant = ("admin", " Admin ", "ADMIN")[i % 3]
        res = web.post_json(
            "/api/v1/auth/token",
            {"login": variant, "password": f"doan-mat-khau-{i}"},
            extra_environ=guesser,
            status="*",
        )
        statuses.append(res.status_int)
        if res.status_int == 429:
            assert_problem(res, 429)
            assert int(res.headers["Retry-After"]) >= 1
    assert set(statuses) == {401, 429}
    assert statuses.count(401) <= 5  # the rest never reached the password check
    assert statuses[-1] == 429
    # the guessing address is stopped even with the right password (the lock-out of R5.3)…
    res = web.post_json(
        "/api/v1/auth/token", {"login": "admin", "password": DEMO_PASSWORD}, extra_environ=guesser, status=429
    )
    assert int(res.headers["Retry-After"]) >= 1
    # …while the owner, from an address that has not been failing, gets in: no account-wide lock
    web.post_json(
        "/api/v1/auth/token",
        {"login": "admin", "password": DEMO_PASSWORD},
        extra_environ={"REMOTE_ADDR": "198.51.100.7"},
        status=201,
    )
    assert stored(web, lambda site: site["users"]["admin"].locked_until) is None


def test_an_account_that_must_change_its_password_gets_no_token(web):
    stored(web, lambda site: setattr(site["users"]["vanthu.snv"], "must_change_password", True))
    res = web.post_json(
        "/api/v1/auth/token",
        {"login": "vanthu.snv", "password": DEMO_PASSWORD},
        headers={"Accept-Language": "en"},
        status=403,
    )
    body = assert_problem(res, 403, field="password")
    assert "change your password" in body["detail"]
    assert stored(web, lambda site: len(site["tokens"])) == 0


@pytest.mark.parametrize(
    "raw, content_type, field",
    [
        (b"{not json", "application/json", "body"),
        (b"[1, 2]", "application/json", "body"),
        (b"", "application/json", "body"),
        (b'{"login": 12, "password": "x"}', "application/json", "login"),
        (b'{"login": "a", "password": "x", "extra": 1}', "application/json", "extra"),
        (b'{"login": "a"}', "application/json", "password"),
        (b"\xff\xfe", "application/json", "body"),
    ],
)
def test_bad_bodies_are_400_naming_what_is_wrong(web, raw, content_type, field):
    res = web.post("/api/v1/auth/token", raw, content_type=content_type, status=400)
    assert_problem(res, 400, field=field)


def test_messages_are_vietnamese_by_default_english_on_request(web):
    vi = web.get("/api/v1/me", status=401).json
    en_header = web.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9"}, status=401).json
    en_param = web.get("/api/v1/me?lang=en", status=401).json
    assert vi["title"] == "Cần xác thực"
    assert en_header["title"] == en_param["title"] == "Authentication required"
    res = web.get("/api/v1/organizations/999.99.99.H49", status=404)
    assert_problem(res, 404)
    assert res.json["title"] == "Không tìm thấy trang"


def test_unknown_api_paths_and_methods_are_problems(web):
    assert_problem(web.get("/api/v1/no-such-thing", status=404), 404)
    assert_problem(web.get("/api/v2/organizations", status=404), 404)
    res = web.delete("/api/v1/organizations", status=405)
    assert_problem(res, 405)
    assert set(res.headers["Allow"].split(", ")) == {"GET", "POST", "HEAD"}
    assert_problem(web.put_json("/api/v1/auth/token", {}, status=405), 405)


# -- organizations --------------------------------------------------------------------------
def test_any_authenticated_caller_searches_the_directory_without_accents(web):
    api = as_user(web, "chuyenvien.snv")
    res = api.get("/api/v1/organizations", q="so thong tin")
    assert [u["code"] for u in res.json["items"]] == [STTTT]
    assert res.json["total"] == 1
    unit = res.json["items"][0]
    assert unit["name"] == "Sở Thông tin và Truyền thông"
    assert "adapter_settings" not in unit and "policies" not in unit  # public fields only
    assert "Sở Thông tin" in res.text  # UTF-8, not \\u escapes

    districts = api.get("/api/v1/organizations", kind="district", limit="3", offset="1").json
    assert districts["total"] == 8 and districts["limit"] == 3 and districts["offset"] == 1
    assert [u["kind"] for u in districts["items"]] == ["district"] * 3
    official = stored(
        web,
        lambda site: sorted(
            u.code for u in site["directory"].values() if u.connection_state == "official" and u.is_active()
        ),
    )
    res = api.get("/api/v1/organizations", state="official", limit="500").json
    assert [u["code"] for u in res["items"]] == official and res["total"] == len(official)
    assert_problem(api.get("/api/v1/organizations", limit="many", status=400), 400, field="limit")
    assert_problem(api.get("/api/v1/organizations", limit="0", status=400), 400, field="limit")
    assert_problem(api.get("/api/v1/organizations", kind="planet", status=400), 400, field="kind")
    assert_problem(
        api.get("/api/v1/organizations", include_inactive="perhaps", status=400),
        400,
        field="include_inactive",
    )


def test_system_admin_adds_a_unit_others_are_refused(web):
    admin = as_user(web, "admin")
    body = {
        "code": "000.00.21.H49",
        "name": "Sở Ngoại vụ",
        "short_name": "SNgV",
        "kind": "department",
        "parent_code": "000.00.00.H49",
        "email": "sngv@example.vn",
        "policies": {"deadline_days": 7},
    }
    res = admin.post("/api/v1/organizations", body)
    assert res.json["code"] == "000.00.21.H49" and res.json["policies"]["deadline_days"] == 7
    assert res.location.endswith("/api/v1/organizations/000.00.21.H49")
    assert stored(web, lambda site: site["directory"]["000.00.21.H49"].name) == "Sở Ngoại vụ"
    assert last_of(web, "unit.create")["target"] == "/directory/000.00.21.H49"

    assert_problem(admin.post("/api/v1/organizations", body, status=409), 409, field="code")
    assert_problem(
        admin.post("/api/v1/organizations", {**body, "code": "21.H49"}, status=400), 400, field="code"
    )
    assert_problem(
        admin.post("/api/v1/organizations", {**body, "code": "000.00.22.H49", "adapter": "nope"}, status=400),
        400,
        field="adapter",
    )
    assert_problem(
        admin.post(
            "/api/v1/organizations", {**body, "code": "000.00.22.H49", "parent_code": "x"}, status=400
        ),
        400,
        field="parent_code",
    )
    assert_problem(
        admin.post(
            "/api/v1/organizations",
            {**body, "code": "000.00.22.H49", "policies": {"deadline_days": "soon"}},
            status=400,
        ),
        400,
        field="policies.deadline_days",
    )
    assert "000.00.22.H49" not in stored(web, lambda site: list(site["directory"]))

    unit_admin = as_user(web, "quantri.stttt")
    denied_before = count_of(web, "access.denied")
    assert_problem(
        unit_admin.post("/api/v1/organizations", {**body, "code": "000.00.23.H49"}, status=403), 403
    )
    assert "000.00.23.H49" not in stored(web, lambda site: list(site["directory"]))
    assert count_of(web, "access.denied") == denied_before + 1
    assert last_of(web, "access.denied")["actor"] == "quantri.stttt"


def test_a_unit_shows_its_private_fields_only_to_its_managers(web):
    clerk = as_user(web, "vanthu.snv").get(f"/api/v1/organizations/{STTTT}").json
    assert clerk["code"] == STTTT and "policies" not in clerk and "adapter_settings" not in clerk
    mine = as_user(web, "quantri.stttt").get(f"/api/v1/organizations/{STTTT}").json
    assert mine["policies"]["deadline_days"] == 10 and mine["adapter_settings"] == {}
    other = as_user(web, "quantri.stttt").get(f"/api/v1/organizations/{SNV}").json
    assert "policies" not in other


def test_a_unit_admin_edits_contact_fields_and_policies_of_their_own_unit(web):
    api = as_user(web, "quantri.stttt")
    res = api.patch(
        f"/api/v1/organizations/{STTTT}",
        {
            "email": "stttt@example.vn",
            "phone": "0254 3852 000",
            "policies": {"deadline_days": 5, "must_sign": True, "issuers": ["clerk", "leader"]},
        },
    )
    assert res.json["email"] == "stttt@example.vn" and res.json["policies"]["must_sign"] is True
    unit = stored(web, lambda site: (site["directory"][STTTT].email, dict(site["directory"][STTTT].policies)))
    assert unit[0] == "stttt@example.vn" and unit[1]["deadline_days"] == 5
    entry = last_of(web, "unit.update")
    assert entry["actor"] == "quantri.stttt" and set(entry["details"]["fields"]) == {
        "email",
        "phone",
        "policies",
    }

    # the adapter, the name and the connection state are the system administrator's
    for field, value in (
        ("adapter", ""),
        ("eoffice_product", "VNPT iOffice"),
        ("name", "Sở mới"),
        ("connection_state", "pilot"),
    ):
        denied = count_of(web, "access.denied")
        assert_problem(
            api.patch(f"/api/v1/organizations/{STTTT}", {"email": "x@example.vn", field: value}, status=403),
            403,
            field=field,
        )
        assert count_of(web, "access.denied") == denied + 1
    assert stored(web, lambda site: site["directory"][STTTT].email) == "stttt@example.vn"

    # another unit: refused by the unit's ACL, on the record
    assert_problem(api.patch(f"/api/v1/organizations/{SNV}", {"email": "snv@example.vn"}, status=403), 403)
    assert stored(web, lambda site: site["directory"][SNV].email) == ""
    assert last_of(web, "access.denied")["target"] == f"/api/v1/organizations/{SNV}"
    # bad values name the field; nothing is saved
    assert_problem(
        api.patch(f"/api/v1/organizations/{STTTT}", {"email": "nope"}, status=400), 400, field="email"
    )
    assert_problem(api.patch(f"/api/v1/organizations/{STTTT}", {"phone": 12}, status=400), 400, field="phone")
    assert_problem(
        api.patch(f"/api/v1/organizations/{STTTT}", {"policies": {"issuers": ["auditor"]}}, status=400),
        400,
        field="policies.issuers",
    )
    assert_problem(
        api.patch(f"/api/v1/organizations/{STTTT}", {"code": "000.00.99.H49"}, status=400), 400, field="code"
    )


def test_a_clerk_cannot_patch_their_unit(web):
    api = as_user(web, "vanthu.stttt")
    assert_problem(api.patch(f"/api/v1/organizations/{STTTT}", {"email": "x@example.vn"}, status=403), 403)
    assert stored(web, lambda site: site["directory"][STTTT].email) == ""


def test_system_admin_patches_adapter_and_connection_state(web):
    api = as_user(web, "admin")
    res = api.patch(
        f"/api/v1/organizations/{SNV}",
        {
            "eoffice_product": "VNPT iOffice",
            "adapter": "",
            "adapter_settings": {"endpoint": "https://snv.example.vn"},
            "connection_state": "pilot",
        },
    )
    assert res.json["connection_state"] == "pilot" and res.json["pilot_end"]
    assert res.json["adapter_settings"] == {"endpoint": "https://snv.example.vn"}
    assert last_of(web, "unit.connection")["details"]["state"] == "pilot"


def test_connection_state_route(web):
    api = as_user(web, "admin")
    res = api.post(
        f"/api/v1/organizations/{SNV}/connection",
        {"state": "pilot", "date": "2025-01-10", "note": "VNPT"},
        status=200,
    )
    assert res.json["pilot_start"] == "2025-01-10" and res.json["pilot_end"] == "2025-03-10"
    assert res.json["connection_history"][-1]["note"] == "VNPT"
    assert_problem(api.post(f"/api/v1/organizations/{SNV}/connection", {"state": "pilot"}, status=409), 409)
    assert_problem(
        api.post(
            f"/api/v1/organizations/{SNV}/connection", {"state": "official", "date": "soon"}, status=400
        ),
        400,
        field="date",
    )
    assert_problem(
        api.post(f"/api/v1/organizations/{SNV}/connection", {"state": "married"}, status=400),
        400,
        field="state",
    )
    # the unit's own admin may not
    before = stored(web, lambda site: site["directory"][STTTT].connection_state)
    unit_admin = as_user(web, "quantri.stttt")
    assert_problem(
        unit_admin.post(
            f"/api/v1/organizations/{STTTT}/connection",
            {"state": "pilot" if before != "pilot" else "official"},
            status=403,
        ),
        403,
    )
    assert stored(web, lambda site: site["directory"][STTTT].connection_state) == before


def test_reorganize_rename_merge_split_dissolve(web):
    api = as_user(web, "admin")
    base = "/api/v1/organizations"
    res = api.post(
        f"{base}/000.00.14.H49/reorganize",
        {"action": "rename", "name": "Sở Văn hóa, Thể thao và Du lịch", "short_name": "SVHTTDL"},
        status=200,
    )
    assert res.json["name"] == "Sở Văn hóa, Thể thao và Du lịch" and res.json["former_names"] == [
        "Sở Du lịch"
    ]
    res = api.post(
        f"{base}/000.00.36.H49/reorganize",
        {"action": "merge", "successor": "000.00.31.H49", "codes": ["000.00.37.H49"]},
        status=200,
    )
    assert res.json["status"] == "merged" and res.json["successors"] == ["000.00.31.H49"]
    assert stored(web, lambda site: site["directory"]["000.00.37.H49"].status) == "merged"
    assert last_of(web, "unit.merge")["details"]["merged"] == ["000.00.36.H49", "000.00.37.H49"]
    res = api.post(f"{base}/000.00.19.H49/reorganize", {"action": "dissolve"}, status=200)
    assert res.json["status"] == "dissolved"

    # bad requests: nothing changes
    assert_problem(
        api.post(f"{base}/000.00.18.H49/reorganize", {"action": "split", "successors": [SNV]}, status=400),
        400,
        field="successors",
    )
    assert_problem(
        api.post(f"{base}/000.00.18.H49/reorganize", {"action": "merge"}, status=400), 400, field="successor"
    )
    assert_problem(
        api.post(f"{base}/000.00.18.H49/reorganize", {"action": "rename", "successor": SNV}, status=400),
        400,
        field="successor",
    )
    assert_problem(
        api.post(f"{base}/000.00.18.H49/reorganize", {"action": "explode"}, status=400), 400, field="action"
    )
    assert_problem(api.post(f"{base}/000.00.36.H49/reorganize", {"action": "dissolve"}, status=409), 409)
    assert stored(web, lambda site: site["directory"]["000.00.18.H49"].status) == "active"
    # inactive units are listed only on request
    listed = api.get(base, include_inactive="true", q="Long Điền").json["items"]
    assert [u["status"] for u in listed] == ["merged"]
    assert api.get(base, q="Long Điền").json["total"] == 0
    # not for a unit admin
    assert_problem(
        as_user(web, "quantri.stttt").post(
            f"{base}/{STTTT}/reorganize", {"action": "rename", "name": "X"}, status=403
        ),
        403,
    )


# -- users ----------------------------------------------------------------------------------
def test_user_lists_follow_who_administers_whom(web):
    everyone = as_user(web, "admin").get("/api/v1/users", limit="100").json
    assert everyone["total"] == stored(web, lambda site: len(site["users"])) >= 12
    assert all("password_hash" not in u and "password" not in u for u in everyone["items"])
    mine = as_user(web, "quantri.stttt").get("/api/v1/users").json
    assert {u["unit_code"] for u in mine["items"]} == {STTTT}
    assert "vanthu.stttt" in {u["login"] for u in mine["items"]}
    assert "admin" not in {u["login"] for u in mine["items"]}  # a site-wide role is beyond a unit admin
    assert as_user(web, "vanthu.snv").get("/api/v1/users").json["total"] == 0
    found = as_user(web, "admin").get("/api/v1/users", q="do thi hong").json["items"]
    assert [u["login"] for u in found] == ["vanthu.snv"]
    in_snv = stored(web, lambda site: sorted(u.login for u in site["users"].values() if u.unit_code == SNV))
    listed = as_user(web, "admin").get("/api/v1/users", unit_code=SNV).json["items"]
    assert [u["login"] for u in listed] == in_snv and "vanthu.snv" in in_snv


def test_system_admin_creates_a_user_with_a_one_time_password(web):
    api = as_user(web, "admin")
    res = api.post(
        "/api/v1/users",
        {
            "login": "vanthu.stp",
            "fullname": "Lý Thị Nga",
            "unit_code": "000.00.03.H49",
            "roles": ["clerk"],
            "position": "Văn thư",
            "email": "nga@example.vn",
        },
    )
    user = res.json
    assert user["login"] == "vanthu.stp" and user["roles"] == ["clerk"] and user["must_change_password"]
    assert len(user["password"]) >= 10 and "password_hash" not in user
    assert res.location.endswith("/api/v1/users/vanthu.stp")
    assert last_of(web, "user.create")["details"]["roles"] == ["clerk"]
    # the one-time password works, but only on the web until it is changed
    res = web.post_json(
        "/api/v1/auth/token", {"login": "vanthu.stp", "password": user["password"]}, status=403
    )
    assert_problem(res, 403, field="password")
    assert "password" not in api.get("/api/v1/users/vanthu.stp").json

    # bad input: named, nothing stored
    assert_problem(
        api.post("/api/v1/users", {"login": "vanthu.stp", "fullname": "X"}, status=409), 409, field="login"
    )
    assert_problem(
        api.post("/api/v1/users", {"login": "A B", "fullname": "X"}, status=400), 400, field="login"
    )
    assert_problem(
        api.post(
            "/api/v1/users",
            {"login": "x.y", "fullname": "X", "unit_code": "999.99.99.H49", "roles": ["clerk"]},
            status=400,
        ),
        400,
        field="unit_code",
    )
    assert_problem(
        api.post("/api/v1/users", {"login": "x.y", "fullname": "X", "password": "short"}, status=400),
        400,
        field="password",
    )
    assert_problem(
        api.post("/api/v1/users", {"login": "x.y", "fullname": "X", "roles": ["king"]}, status=400),
        400,
        field="roles",
    )
    assert_problem(
        api.post("/api/v1/users", {"login": "x.y", "fullname": "X", "roles": "clerk"}, status=400),
        400,
        field="roles",
    )
    assert "x.y" not in stored(web, lambda site: list(site["users"]))


def test_a_unit_admin_creates_accounts_only_in_their_unit_and_only_unit_roles(web):
    api = as_user(web, "quantri.stttt")
    res = api.post(
        "/api/v1/users",
        {
            "login": "chuyenvien2.stttt",
            "fullname": "Lâm Văn Tư",
            "unit_code": STTTT,
            "roles": ["specialist"],
            "password": "mot-mat-khau-dai",
        },
    )
    assert res.json["roles"] == ["specialist"] and "password" not in res.json
    for body, field in (
        ({"unit_code": SNV, "roles": ["clerk"]}, "unit_code"),
        ({"unit_code": STTTT, "roles": ["auditor"]}, "roles"),
        ({"roles": []}, "unit_code"),
    ):
        denied = count_of(web, "access.denied")
        res = api.post("/api/v1/users", {"login": "khac.nguoi", "fullname": "Người Khác", **body}, status=403)
        assert_problem(res, 403, field=field)
        assert count_of(web, "access.denied") == denied + 1
    assert "khac.nguoi" not in stored(web, lambda site: list(site["users"]))
    assert_problem(
        as_user(web, "vanthu.stttt").post(
            "/api/v1/users", {"login": "khac.nguoi", "fullname": "X", "unit_code": STTTT}, status=403
        ),
        403,
    )


def test_who_may_read_an_account(web):
    reads = count_of(web, "user.view")
    assert as_user(web, "vanthu.snv").get("/api/v1/users/vanthu.snv").json["fullname"] == "Đỗ Thị Hồng"
    assert count_of(web, "user.view") == reads  # one's own account: not a read of someone's data
    assert as_user(web, "admin").get("/api/v1/users/vanthu.snv").json["unit_code"] == SNV
    viewed = last_of(web, "user.view")
    assert (viewed["actor"], viewed["target"]) == ("admin", "/users/vanthu.snv")
    assert as_user(web, "quantri.stttt").get("/api/v1/users/vanthu.stttt").json["login"] == "vanthu.stttt"
    denied = count_of(web, "access.denied")
    assert_problem(as_user(web, "lanhdao.snv").get("/api/v1/users/vanthu.stttt", status=403), 403)
    assert_problem(as_user(web, "quantri.stttt").get("/api/v1/users/vanthu.snv", status=403), 403)
    assert count_of(web, "access.denied") == denied + 2
    assert_problem(as_user(web, "admin").get("/api/v1/users/nobody", status=404), 404)


def test_users_edit_their_profile_but_not_their_roles_or_lock(web):
    api = as_user(web, "chuyenvien.snv")
    res = api.patch(
        "/api/v1/users/chuyenvien.snv", {"fullname": "Bùi Thanh Tâm (CV)", "position": "Chuyên viên chính"}
    )
    assert res.json["fullname"] == "Bùi Thanh Tâm (CV)"
    entry = last_of(web, "user.update")
    assert entry["actor"] == "chuyenvien.snv" and entry["details"]["fields"] == ["fullname", "position"]
    for body, field in (
        ({"roles": ["leader"]}, "roles"),
        ({"locked": False}, "locked"),
        ({"unit_code": STTTT}, "unit_code"),
    ):
        assert_problem(
            api.patch("/api/v1/users/chuyenvien.snv", {"position": "X", **body}, status=403), 403, field=field
        )
    user = stored(
        web,
        lambda site: (
            site["users"]["chuyenvien.snv"].position,
            accounts.roles_of(site, site["users"]["chuyenvien.snv"]),
        ),
    )
    assert user == ("Chuyên viên chính", ["specialist"])
    assert_problem(
        api.patch("/api/v1/users/chuyenvien.snv", {"email": "not-an-address"}, status=400), 400, field="email"
    )
    assert_problem(
        api.patch("/api/v1/users/chuyenvien.snv", {"password_hash": "x"}, status=400),
        400,
        field="password_hash",
    )
    assert_problem(api.patch("/api/v1/users/vanthu.snv", {"position": "X"}, status=403), 403)


def test_a_unit_admin_locks_unlocks_and_changes_roles_in_their_unit(web):
    clerk_token = token_for(web, "vanthu.stttt")
    api = as_user(web, "quantri.stttt")
    res = api.patch("/api/v1/users/vanthu.stttt", {"locked": True, "lock_reason": "nghỉ phép dài"})
    assert res.json["locked"] is True and res.json["lock_reason"] == "nghỉ phép dài"
    assert last_of(web, "user.lock")["actor"] == "quantri.stttt"
    assert_problem(web.get("/api/v1/me", headers=bearer(clerk_token), status=401), 401)
    assert api.patch("/api/v1/users/vanthu.stttt", {"locked": False}).json["locked"] is False
    assert last_of(web, "user.unlock")["target"] == "/users/vanthu.stttt"

    res = api.patch("/api/v1/users/vanthu.stttt", {"roles": ["clerk", "leader"]})
    assert res.json["roles"] == ["clerk", "leader"]
    assert last_of(web, "user.grant_role")["details"] == {"role": "leader", "unit": STTTT}
    res = api.patch("/api/v1/users/vanthu.stttt", {"roles": ["leader"]})
    assert res.json["roles"] == ["leader"]
    assert last_of(web, "user.revoke_role")["details"] == {"role": "clerk", "unit": STTTT}
    # site-wide roles are the system administrator's to give
    assert_problem(
        api.patch("/api/v1/users/vanthu.stttt", {"roles": ["leader", "auditor"]}, status=403),
        403,
        field="roles",
    )
    # moving someone into a unit one does not administer
    assert_problem(
        api.patch("/api/v1/users/vanthu.stttt", {"unit_code": SNV}, status=403), 403, field="unit_code"
    )
    assert stored(web, lambda site: accounts.roles_of(site, site["users"]["vanthu.stttt"])) == ["leader"]
    # another unit's people are out of reach
    assert_problem(api.patch("/api/v1/users/vanthu.snv", {"locked": True}, status=403), 403)
    assert stored(web, lambda site: site["users"]["vanthu.snv"].locked) is False


def test_moving_a_user_moves_their_unit_roles(web):
    api = as_user(web, "admin")
    res = api.patch("/api/v1/users/chuyenvien.snv", {"unit_code": "000.00.03.H49"})
    assert res.json["unit_code"] == "000.00.03.H49" and res.json["roles"] == ["specialist"]
    held = stored(
        web,
        lambda site: (
            site["directory"][SNV].local_roles_of("user:chuyenvien.snv"),
            site["directory"]["000.00.03.H49"].local_roles_of("user:chuyenvien.snv"),
        ),
    )
    assert held == ((), ("specialist",))


def test_a_failing_change_leaves_nothing_half_written(web):
    api = as_user(web, "admin")
    # the profile and unit change would be written first; the role grant then fails (no unit)
    res = api.patch(
        "/api/v1/users/chuyenvien.snv",
        {"fullname": "Người Mới", "unit_code": None, "roles": ["clerk"]},
        status=400,
    )
    assert_problem(res, 400, field="unit_code")

    def state(site):
        user = site["users"]["chuyenvien.snv"]
        return user.fullname, user.unit_code, accounts.roles_of(site, user)

    user = stored(web, state)
    assert user == ("Bùi Thanh Tâm", SNV, ["specialist"])
    assert last_of(web, "user.update") is None


def test_the_system_admin_cannot_remove_their_own_role(web):
    api = as_user(web, "admin")
    assert_problem(api.patch("/api/v1/users/admin", {"roles": []}, status=409), 409, field="roles")
    res = api.patch("/api/v1/users/kiemtoan", {"roles": []})
    assert res.json["roles"] == []


def test_reporting_a_compromised_password(web):
    token = token_for(web, "lanhdao.snv")
    res = web.post_json(
        "/api/v1/users/lanhdao.snv/compromised", {"note": "lộ mật khẩu"}, headers=bearer(token), status=200
    )
    assert res.json["locked"] is True and res.json["incident"]
    assert_problem(web.get("/api/v1/me", headers=bearer(token), status=401), 401)
    entry = last_of(web, "user.compromised")
    assert entry["actor"] == "lanhdao.snv" and entry["details"]["incident"] == res.json["incident"]
    assert stored(web, lambda site: res.json["incident"] in site["incidents"])
    # an admin cannot simply unlock it: the password must be reset
    admin = as_user(web, "admin")
    assert_problem(
        admin.patch("/api/v1/users/lanhdao.snv", {"locked": False}, status=409), 409, field="locked"
    )
    # someone else's account: refused
    other = as_user(web, "vanthu.snv")
    assert_problem(other.post("/api/v1/users/chuyenvien.snv/compromised", {}, status=403), 403)
    assert stored(web, lambda site: site["users"]["chuyenvien.snv"].locked) is False
    # by an admin, with no body at all
    web.post("/api/v1/users/chuyenvien.snv/compromised", headers=bearer(admin.token), status=200)
    assert stored(web, lambda site: site["users"]["chuyenvien.snv"].lock_reason) == "compromised"


# -- delegations ----------------------------------------------------------------------------
def _delegate(web, delegator="lanhdao.stttt", delegate="chuyenvien.stttt", **extra):
    today = date.today()
    body = {
        "delegate": delegate,
        "start": today.isoformat(),
        "end": (today + timedelta(days=7)).isoformat(),
        "scope": "role",
        "unit_code": STTTT,
        "role": "leader",
        "note": "đi công tác",
        **extra,
    }
    return as_user(web, delegator).post("/api/v1/delegations", body)


def test_a_delegation_is_made_listed_and_used_with_x_acting_for(web):
    res = _delegate(web)
    d = res.json
    assert (
        d["delegator"] == "lanhdao.stttt" and d["delegate"] == "chuyenvien.stttt" and d["state"] == "active"
    )
    assert last_of(web, "delegation.create")["details"]["role"] == "leader"
    assert as_user(web, "lanhdao.stttt").get("/api/v1/delegations").json["given"][0]["id"] == d["id"]

    delegate = as_user(web, "chuyenvien.stttt")
    assert delegate.get("/api/v1/delegations").json["received"][0]["id"] == d["id"]
    acting = {"X-Acting-For": d["id"]}
    me = delegate.get("/api/v1/me", headers=acting).json
    assert me["acting_for"]["delegator"] == "lanhdao.stttt"
    assert [x["id"] for x in me["delegations_usable"]] == [d["id"]]
    # a change made under the delegation names both people
    delegate.patch(
        "/api/v1/users/chuyenvien.stttt", {"position": "Chuyên viên (thay Giám đốc)"}, headers=acting
    )
    entry = last_of(web, "user.update")
    assert (entry["actor"], entry["on_behalf_of"]) == ("chuyenvien.stttt", "lanhdao.stttt")

    # someone else cannot use it; the delegate cannot revoke it
    stranger = as_user(web, "vanthu.stttt")
    assert_problem(stranger.get("/api/v1/me", headers=acting, status=403), 403, field="X-Acting-For")
    assert_problem(delegate.delete(f"/api/v1/delegations/{d['id']}", status=403), 403, field="delegation")
    # the delegator revokes it: it stops at once
    res = as_user(web, "lanhdao.stttt").delete(f"/api/v1/delegations/{d['id']}", status=200)
    assert res.json["state"] == "revoked"
    assert last_of(web, "delegation.revoke")["actor"] == "lanhdao.stttt"
    denied = count_of(web, "access.denied")
    assert_problem(
        delegate.patch("/api/v1/users/chuyenvien.stttt", {"position": "Không"}, headers=acting, status=403),
        403,
        field="X-Acting-For",
    )
    assert count_of(web, "access.denied") == denied + 1
    assert (
        stored(web, lambda site: site["users"]["chuyenvien.stttt"].position) == "Chuyên viên (thay Giám đốc)"
    )
    assert as_user(web, "lanhdao.stttt").delete(f"/api/v1/delegations/{d['id']}", status=409)


def test_an_expired_delegation_no_longer_works(web):
    d = _delegate(web).json

    def expire(site):
        site["delegations"][d["id"]].start = "2020-01-01"
        site["delegations"][d["id"]].end = "2020-01-31"

    stored(web, expire)
    delegate = as_user(web, "chuyenvien.stttt")
    assert_problem(
        delegate.get("/api/v1/me", headers={"X-Acting-For": d["id"]}, status=403), 403, field="X-Acting-For"
    )
    assert delegate.get("/api/v1/delegations").json["received"][0]["state"] == "expired"
    assert delegate.get("/api/v1/me").json["delegations_usable"] == []


def test_bad_delegations_are_refused_and_not_stored(web):
    today = date.today()
    api = as_user(web, "lanhdao.stttt")
    good = {
        "delegate": "chuyenvien.stttt",
        "start": today.isoformat(),
        "end": (today + timedelta(days=3)).isoformat(),
        "scope": "permissions",
        "unit_code": STTTT,
        "permissions": ["assign"],
    }
    for change, status, field in (
        ({"end": (today - timedelta(days=3)).isoformat()}, 400, "end"),
        ({"delegate": "nobody"}, 400, "delegate"),
        ({"delegate": "lanhdao.stttt"}, 400, "delegate"),
        ({"permissions": ["manage"]}, 400, "permissions"),
        ({"scope": "everything"}, 400, "scope"),
        ({"start": "tomorrow"}, 400, "start"),
        ({"scope": "role", "role": "unit_admin"}, 400, "role"),
        ({"unit_code": SNV}, 400, "unit_code"),
        ({"delegator": "vanthu.stttt"}, 403, "delegator"),
    ):
        assert_problem(
            api.post("/api/v1/delegations", {**good, **change}, status=status), status, field=field
        )
    assert stored(web, lambda site: len(site["delegations"])) == 0
    # the system administrator may set one up for someone else
    res = as_user(web, "admin").post("/api/v1/delegations", {**good, "delegator": "lanhdao.stttt"})
    assert res.json["delegator"] == "lanhdao.stttt"
    assert last_of(web, "delegation.create")["actor"] == "admin"


# -- unit tokens ----------------------------------------------------------------------------
def test_unit_tokens_are_shown_once_scoped_to_their_unit_and_revocable(web):
    unit_admin = as_user(web, "quantri.stttt")
    res = unit_admin.post(f"/api/v1/organizations/{STTTT}/tokens", {"label": "VNPT iOffice"})
    made = res.json
    secret = made["token"]
    assert made["unit_code"] == STTTT and made["kind"] == "system" and secret.startswith("lt_")
    assert last_of(web, "token.create")["details"] == {"unit": STTTT, "label": "VNPT iOffice"}
    listed = unit_admin.get(f"/api/v1/organizations/{STTTT}/tokens")
    assert [t["id"] for t in listed.json["items"]] == [made["id"]]
    assert secret not in listed.text and "token" not in listed.json["items"][0]

    system = Api(web, secret)
    assert system.get(f"/api/v1/organizations/{STTTT}").json["code"] == STTTT
    assert system.get("/api/v1/me").json == {
        "kind": "system",
        "login": f"system:{STTTT}",
        "fullname": "VNPT iOffice",
        "unit_code": STTTT,
        "roles": ["system"],
        "grants": [],
        "acting_for": None,
    }
    assert unit_admin.get(f"/api/v1/organizations/{STTTT}/tokens").json["items"][0]["last_used"]
    # a token of unit X on unit Y (or on X's management) is refused and audited
    for call in (
        lambda: system.patch(f"/api/v1/organizations/{SNV}", {"email": "x@example.vn"}, status=403),
        lambda: system.patch(f"/api/v1/organizations/{STTTT}", {"email": "x@example.vn"}, status=403),
        lambda: system.post(f"/api/v1/organizations/{SNV}/tokens", {"label": "x"}, status=403),
        lambda: system.get(f"/api/v1/organizations/{SNV}/tokens", status=403),
        lambda: system.post(
            "/api/v1/users", {"login": "x.y", "fullname": "X", "unit_code": STTTT}, status=403
        ),
        lambda: system.post(
            "/api/v1/delegations",
            {"delegate": "vanthu.stttt", "start": "2030-01-01", "end": "2030-01-02", "scope": "mailbox"},
            status=403,
        ),
    ):
        denied = count_of(web, "access.denied")
        assert_problem(call(), 403)
        assert count_of(web, "access.denied") == denied + 1
        assert last_of(web, "access.denied")["actor"] == f"system:{STTTT}"
    assert stored(web, lambda site: (site["directory"][SNV].email, site["directory"][STTTT].email)) == (
        "",
        "",
    )
    assert stored(web, lambda site: len(site["tokens"])) == 2  # the unit admin's login token and this one
    # on another unit the refusal says why, naming the credential at fault
    elsewhere = system.get(
        f"/api/v1/organizations/{SNV}/tokens", status=403, headers={"Accept-Language": "en"}
    )
    assert elsewhere.json["field"] == "Authorization"
    assert elsewhere.json["detail"] == f"This token belongs to unit {STTTT}; it cannot act on unit {SNV}."

    # unit admins manage only their unit's tokens
    snv_token = as_user(web, "admin").post(f"/api/v1/organizations/{SNV}/tokens", {"label": "SNV"}).json
    assert_problem(unit_admin.delete(f"/api/v1/tokens/{snv_token['id']}", status=403), 403)
    assert_problem(unit_admin.post(f"/api/v1/organizations/{SNV}/tokens", {"label": "x"}, status=403), 403)
    assert_problem(
        unit_admin.post(f"/api/v1/organizations/{STTTT}/tokens", {"label": " "}, status=400),
        400,
        field="label",
    )
    assert_problem(unit_admin.delete("/api/v1/tokens/no-such-token", status=404), 404)

    unit_admin.delete(f"/api/v1/tokens/{made['id']}", status=204)
    assert last_of(web, "token.revoke")["target"] == f"/tokens/{made['id']}"
    assert_problem(system.get(f"/api/v1/organizations/{STTTT}", status=401), 401)
    assert unit_admin.get(f"/api/v1/organizations/{STTTT}/tokens").json["items"][0]["revoked"]


def test_a_clerk_cannot_make_tokens(web):
    assert_problem(
        as_user(web, "vanthu.stttt").post(
            f"/api/v1/organizations/{STTTT}/tokens", {"label": "x"}, status=403
        ),
        403,
    )
    assert stored(web, lambda site: [t.kind for t in site["tokens"].values()]) == ["login"]


def test_no_token_no_access(web):
    for path in (
        "/api/v1/organizations",
        f"/api/v1/organizations/{STTTT}",
        "/api/v1/users",
        "/api/v1/me",
        "/api/v1/delegations",
    ):
        assert_problem(web.get(path, status=401), 401)
    assert_problem(web.get("/api/v1/me", headers={"Authorization": "Bearer lt_forged"}, status=401), 401)


def test_the_session_cookie_does_not_open_the_api(web):
    from .support.app import login

    login(web, "admin")
    assert_problem(web.get("/api/v1/users", status=401), 401)


# -- the public address ---------------------------------------------------------------------
PUBLIC_URL = "https://lienthong.example.gov.vn"


def test_api_urls_name_the_public_url_and_another_host_gets_a_problem(demo_factory):
    """With lienthong.public_url, the Host header a client sends never reaches an answer."""
    web = demo_factory(**{"lienthong.public_url": PUBLIC_URL, "lienthong.allowed_hosts": "localhost"})
    for path in ("/api/v1/openapi.json", "/edxml/v1/openapi.json"):
        spec = web.get(path, headers={"Host": "localhost:6543", "X-Forwarded-Host": "evil.example"}).json
        assert [s["url"] for s in spec["servers"]] == [PUBLIC_URL], path
    admin = as_user(web, "admin")
    body = {
        "code": "000.00.21.H49",
        "name": "Sở Ngoại vụ",
        "kind": "department",
        "parent_code": "000.00.00.H49",
    }
    res = admin.post("/api/v1/organizations", body)
    assert res.location == PUBLIC_URL + "/api/v1/organizations/000.00.21.H49"
    for path in ("/api/v1/openapi.json", "/edxml/v1/openapi.json", "/api/v1/organizations"):
        res = web.get(path, headers=bearer(admin.token, Host="evil.example"), status=400)
        problem = assert_problem(res, 400)
        assert "evil" not in res.text and PUBLIC_URL in problem["detail"]
    refused = web.post_json(
        "/api/v1/auth/token",
        {"login": "admin", "password": DEMO_PASSWORD},
        headers={"Host": "evil.example"},
        status=400,
    )
    assert_problem(refused, 400)


# -- the OpenAPI document -------------------------------------------------------------------
def test_openapi_document_is_valid_and_describes_every_api_route(web):
    from openapi_spec_validator import validate

    res = web.get("/api/v1/openapi.json")
    assert res.content_type == "application/json"
    doc = res.json
    validate(doc)
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "Problem" in doc["components"]["schemas"]

    introspector = web.app.registry.introspector
    patterns = {}
    for route in introspector.get_category("routes"):
        intr = route["introspectable"]
        if intr["pattern"].startswith("/api/v1"):
            patterns[intr["name"]] = intr["pattern"]
    assert len(patterns) >= 13
    documented = set()
    for view in introspector.get_category("views"):
        intr = view["introspectable"]
        if intr["route_name"] in patterns and intr["request_methods"]:
            for method in (
                intr["request_methods"]
                if not isinstance(intr["request_methods"], str)
                else [intr["request_methods"]]
            ):
                if method == "HEAD":
                    continue
                pattern = patterns[intr["route_name"]]
                assert pattern in doc["paths"], pattern
                operation = doc["paths"][pattern].get(method.lower())
                assert operation, f"{method} {pattern} is not documented"
                assert operation["responses"], f"{method} {pattern} has no responses"
                documented.add((pattern, method))
    assert set(patterns.values()) == set(doc["paths"])
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert (path, method.upper()) in documented
            if operation.get("security") != []:
                assert "401" in operation["responses"]
    assert ("/api/v1/auth/token", "POST") in documented and (
        "/api/v1/organizations/{code}",
        "PATCH",
    ) in documented
    # the login needs no token; the rest do
    assert doc["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert doc["security"] == [{"bearer": []}]


# -- junk in JSON bodies (issue 16, item 5): 400 naming the field, never a 500 ------------------
DEEP = b"[" * 100_000


@pytest.mark.parametrize(
    "path",
    ["/api/v1/auth/token", "/api/v1/organizations", "/api/v1/users/admin", "/api/v1/documents"],
)
def test_json_nested_too_deep_is_refused_before_parsing_on_every_route(web, path):
    token = token_for(web, "vanthu.snv" if path == "/api/v1/documents" else "admin")
    method = web.patch if path == "/api/v1/users/admin" else web.post
    res = method(path, DEEP, content_type="application/json", headers=bearer(token), status=400)
    body = assert_problem(res, 400, field="body")
    assert "32" in body["detail"]  # the limit is said


def test_a_json_body_over_the_size_limit_is_413_before_it_is_read(web):
    raw = b'{"login": "' + b"a" * (2 * 1024 * 1024) + b'", "password": "x"}'
    assert_problem(
        web.post("/api/v1/auth/token", raw, content_type="application/json", status=413), 413, "body"
    )


@pytest.mark.parametrize(
    "raw, field",
    [
        (b'{"login": "\\ud800", "password": "x"}', "login"),  # a lone surrogate
        (b'{"login": "admin", "password": "a\\u0000b"}', "password"),  # NUL
        (b'{"login": "ad\\u000bmin", "password": "x"}', "login"),  # a vertical tab
        (b'{"login": "admin", "password": "\\uffff"}', "password"),  # a non-character
        (b'{"\\ud800": "admin", "password": "x"}', "body"),  # a name no schema knows, unreadable too
    ],
)
def test_text_xml_cannot_carry_is_400_naming_the_field(web, raw, field):
    res = web.post("/api/v1/auth/token", raw, content_type="application/json", status=400)
    assert_problem(res, 400, field=field)


def test_a_lone_surrogate_never_reaches_the_answer(web):
    admin = as_user(web, "admin")
    res = admin.patch("/api/v1/users/admin", {"fullname": "Nguyễn \ud800"}, status=400)
    assert_problem(res, 400, field="fullname")
    res = admin.post(
        "/api/v1/organizations",
        {"code": "000.00.21.H49", "name": "Sở\u0000 Ngoại vụ", "kind": "department"},
        status=400,
    )
    assert_problem(res, 400, field="name")
    assert stored(web, lambda site: "000.00.21.H49" in site["directory"]) is False
    # tabs, line breaks and every letter of Vietnamese stay welcome
    res = admin.patch("/api/v1/users/admin", {"fullname": "Quản trị\thệ thống"})
    assert res.json["fullname"] == "Quản trị\thệ thống"


def test_a_control_character_in_a_query_parameter_is_400_naming_it(web):
    admin = as_user(web, "admin")
    assert_problem(admin.get("/api/v1/users", status=400, q="a\u0000b"), 400, field="q")
    assert_problem(admin.get("/api/v1/users", status=400, q="\u000b"), 400, field="q")
    assert admin.get("/api/v1/users", q="Nguyễn").status_int == 200


def test_a_query_string_that_is_not_utf8_is_400_not_a_500_on_every_route(web):
    for url in ("/api/v1/organizations?q=%ff", "/directory?q=%ED%A0%80", "/?lang=%ff"):
        res = web.get(url, status=400)
        assert res.content_type == PROBLEM and res.json["field"] == "query", url
        assert "Content-Security-Policy" in res.headers
