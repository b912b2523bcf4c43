"""The web session id rotates at sign-in and at a password change: the id the browser
had before is refused afterwards (session fixation, a session seen before sign-in)."""

from __future__ import annotations

import re

import httpx

from tests.factories import PASSWORD, register_tenant

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
NEW_PASSWORD = "a-much-longer-new-secret-9"


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "page has no CSRF field"
    return match.group(1)


async def _sign_in(client: httpx.AsyncClient, email: str, csrf: str, password: str) -> str:
    signed = await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf}
    )
    assert signed.status_code == 303, signed.text
    return signed.cookies["baton_session"]


async def _is_signed_in(app_client: httpx.AsyncClient, session: str) -> bool:
    app_client.cookies.clear()
    app_client.cookies.set("baton_session", session)
    page = await app_client.get("/account")
    return page.status_code == 200


async def test_signing_in_again_revokes_the_session_the_browser_had(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    first = await _sign_in(client, admin.email, await _csrf(client, "/login"), PASSWORD)
    # Signed in, the browser posts the sign-in form again (a token bound to `first`).
    second = await _sign_in(client, admin.email, await _csrf(client, "/account"), PASSWORD)
    assert second != first
    assert not await _is_signed_in(client, first)
    assert await _is_signed_in(client, second)


async def test_a_password_change_rotates_the_session(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    before = await _sign_in(client, admin.email, await _csrf(client, "/login"), PASSWORD)
    changed = await client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "csrf_token": await _csrf(client, "/account"),
        },
    )
    assert changed.status_code == 303, changed.text
    after = changed.cookies["baton_session"]
    assert after != before
    landing = await client.get(changed.headers["location"])
    assert "Password changed" in landing.text
    assert not await _is_signed_in(client, before)
    assert await _is_signed_in(client, after)
    # The new session's forms work (their tokens are bound to it).
    client.cookies.set("baton_session", after)
    saved = await client.post(
        "/account/timezone",
        data={"timezone": "Europe/Paris", "csrf_token": await _csrf(client, "/account")},
    )
    assert saved.status_code == 200, saved.text


async def test_a_password_change_by_api_keeps_only_its_own_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    web = await _sign_in(client, admin.email, await _csrf(client, "/login"), PASSWORD)
    changed = await client.post(
        "/api/v1/auth/password",
        headers=admin.headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204
    assert "baton_session" not in changed.cookies
    assert not await _is_signed_in(client, web)
    client.cookies.clear()
    me = await client.get("/api/v1/me", headers=admin.headers)
    assert me.status_code == 200
