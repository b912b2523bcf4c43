"""An organization that requires two-factor sign-in of admins blocks an admin without
it, on every path, until they enrol: the API answers 403 `totp-enrolment-required`
(the deal move's fast path and GraphQL too), web pages send them to the enrolment
page, forms and fragments are refused; enrolment, `GET /me` and sign-out still work.
API keys made before keep working but no new one can be made. Other roles, and the
admin once enrolled, are untouched."""

from __future__ import annotations

import re
import uuid

import httpx

from baton.identity import totp
from tests.factories import PASSWORD, Member, add_member, login, register_tenant

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


async def _require(client: httpx.AsyncClient, admin: Member) -> None:
    current = await client.get("/api/v1/settings", headers=admin.headers)
    changed = await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"require_admin_totp": True, "version": current.json()["version"]},
    )
    assert changed.status_code == 200, changed.text


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["type"].endswith("/totp-enrolment-required")
    assert "requires two-factor sign-in for admins: turn it on first" in problem["detail"]


async def _enrol(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    began = await client.post("/api/v1/me/totp", headers=headers)
    assert began.status_code == 200, began.text
    code = totp.code_at(began.json()["secret"], totp.current_step())
    confirmed = await client.post("/api/v1/me/totp/confirm", headers=headers, json={"code": code})
    assert confirmed.status_code == 200, confirmed.text


async def test_the_api_answers_403_until_the_admin_enrols(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    manager = await add_member(client, admin, "manager")
    # An API key made before the organization required it.
    made = await client.post("/api/v1/api-keys", headers=admin.headers, json={"name": "sync"})
    assert made.status_code == 201, made.text
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    await _require(client, admin)
    signed_in = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
    )
    assert signed_in.json()["totp_setup_required"] is True
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    for headers in (admin.headers, bearer):  # the token from before, and a new sign-in
        _refused(await client.get("/api/v1/settings", headers=headers))
        _refused(await client.get("/api/v1/deals", headers=headers))
        _refused(await client.get("/api/v1/users", headers=headers))
        _refused(
            await client.patch(
                "/api/v1/settings", headers=headers, json={"require_admin_totp": False}
            )
        )
        _refused(await client.post("/api/v1/api-keys", headers=headers, json={"name": "x"}))
        # The deal move's fast path authenticates the same way.
        _refused(
            await client.post(
                f"/api/v1/deals/{uuid.uuid4()}/move", headers=headers, json={"to_step_id": None}
            )
        )
        _refused(await client.post("/graphql", headers=headers, json={"query": "{ __typename }"}))
        me = await client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200, me.text

    # The key made before keeps working, but makes no new key.
    assert (await client.get("/api/v1/deals", headers=key)).status_code == 200
    _refused(await client.post("/api/v1/api-keys", headers=key, json={"name": "another"}))
    # Another role of the organization is untouched.
    assert (await client.get("/api/v1/deals", headers=manager.headers)).status_code == 200
    made = await client.post("/api/v1/api-keys", headers=manager.headers, json={"name": "m"})
    assert made.status_code == 201

    # Sign-out works; the signed-out token is then unknown.
    assert (await client.post("/api/v1/auth/logout", headers=bearer)).status_code == 204
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401

    await _enrol(client, admin.headers)
    assert (await client.get("/api/v1/settings", headers=admin.headers)).status_code == 200
    made = await client.post("/api/v1/api-keys", headers=admin.headers, json={"name": "now"})
    assert made.status_code == 201, made.text


async def test_an_organization_that_does_not_require_it_blocks_nothing(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    other = await register_tenant(client)
    await _require(client, other)
    # The other organization's setting says nothing about this one.
    assert (await client.get("/api/v1/settings", headers=admin.headers)).status_code == 200
    assert (await client.post("/api/v1/me/totp", headers=admin.headers)).status_code == 200


async def _web_sign_in(client: httpx.AsyncClient, member: Member) -> None:
    page = await client.get("/login")
    signed = await client.post(
        "/login",
        data={
            "email": member.email,
            "password": PASSWORD,
            "csrf_token": CSRF.search(page.text)[1],  # type: ignore[index]
        },
    )
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/account?totp_setup=1"


async def test_the_web_ui_offers_only_enrolment_and_sign_out(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _require(client, admin)
    await _web_sign_in(client, admin)
    account = await client.get("/account?totp_setup=1")
    assert account.status_code == 200
    assert "requires two-factor sign-in for admins: set it up now to use Baton" in account.text
    # It offers only what is allowed: the set-up and sign-out; no other page, search,
    # bell or other form (each would be a dead end).
    assert 'action="/account/totp/begin"' in account.text
    assert 'action="/logout"' in account.text
    for dead_end in ('href="/pipeline"', 'action="/search"', 'action="/account/timezone"'):
        assert dead_end not in account.text
    assert 'href="/account"' in account.text
    csrf = CSRF.search(account.text)[1]  # type: ignore[index]
    for page in ("/", "/pipeline", "/settings", "/team", "/settings/api-keys", "/deals"):
        sent = await client.get(page)
        assert sent.status_code == 303, (page, sent.status_code)
        assert sent.headers["location"] == "/account?totp_setup=1"
    # A fragment or a form elsewhere: refused with the reason.
    fragment = await client.get("/team", headers={"HX-Request": "true"})
    assert fragment.status_code == 403
    assert "turn it on first" in fragment.text
    invited = await client.post(
        "/team",
        data={"csrf_token": csrf, "email": "x@example.com", "full_name": "X", "role": "sales"},
    )
    assert invited.status_code == 403
    assert "turn it on first" in invited.text

    # The enrolment forms work, and then so does everything else.
    began = await client.post("/account/totp/begin", data={"csrf_token": csrf})
    assert began.status_code == 200, began.text
    secret = re.search(r"Secret: <code>([A-Z2-7]+)</code>", began.text)[1]  # type: ignore[index]
    confirmed = await client.post(
        "/account/totp/confirm",
        data={
            "csrf_token": CSRF.search(began.text)[1],  # type: ignore[index]
            "code": totp.code_at(secret, totp.current_step()),
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    # Enrolled: the answer (the recovery codes) already has the whole app around it.
    assert confirmed.text.count("<li><code>") == 10
    assert 'href="/pipeline"' in confirmed.text
    assert 'action="/account/timezone"' in confirmed.text
    assert (await client.get("/team")).status_code == 200
    assert (await client.get("/")).status_code == 200


async def test_a_due_admin_can_sign_out_of_the_web(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _require(client, admin)
    await _web_sign_in(client, admin)
    account = await client.get("/account")
    csrf = CSRF.search(account.text)[1]  # type: ignore[index]
    out = await client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303, out.text
    # Signed out: an anonymous visitor goes to the login page, not the enrolment one.
    home = await client.get("/")
    assert home.status_code in (302, 303, 307)
    assert home.headers["location"].startswith("/login")
    # And a new API sign-in of the same admin is still held to enrolment.
    token = await login(client, admin.email)
    _refused(await client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}))
