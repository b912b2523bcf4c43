"""Two-factor sign-in (RFC 6238): set up, confirm, sign in with a code or a recovery
code (each once), wrong codes counted by the rate limiter, turned off with the
password; organizations may require it of admins."""

from __future__ import annotations

import base64
import re

import httpx

from baton.identity import totp
from tests.factories import PASSWORD, Member, register_tenant


def test_codes_follow_rfc_6238() -> None:
    # RFC 6238 appendix B (SHA-1 key "12345678901234567890"), last six digits.
    secret = base64.b32encode(b"12345678901234567890").decode().rstrip("=")
    assert totp.code_at(secret, 59 // 30) == "287082"
    assert totp.code_at(secret, 1111111109 // 30) == "081804"
    assert totp.verify(secret, "287082", after_step=None, now=59) == 1
    assert totp.verify(secret, "287082", after_step=1, now=59) is None  # used once
    assert totp.verify(secret, "000000", after_step=None, now=59) is None


async def _enable(client: httpx.AsyncClient, member: Member) -> tuple[str, list[str]]:
    began = await client.post("/api/v1/me/totp", headers=member.headers)
    assert began.status_code == 200, began.text
    secret = began.json()["secret"]
    assert began.json()["otpauth_uri"].startswith("otpauth://totp/Baton")
    wrong = await client.post(
        "/api/v1/me/totp/confirm", headers=member.headers, json={"code": "000000"}
    )
    assert wrong.status_code == 422
    confirmed = await client.post(
        "/api/v1/me/totp/confirm",
        headers=member.headers,
        json={"code": totp.code_at(secret, totp.current_step())},
    )
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    return secret, codes


async def _login(client: httpx.AsyncClient, member: Member, **extra: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": member.email, "password": PASSWORD, **extra}
    )


async def test_sign_in_asks_for_the_code_after_the_password(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    secret, codes = await _enable(client, admin)
    missing = await _login(client, admin)
    assert missing.status_code == 401
    problem = missing.json()
    assert problem["type"].endswith("/totp-required")
    assert problem["errors"][0]["field"] == "totp_code"
    # A wrong password says nothing about the second factor.
    wrong_password = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "not-it-at-all"}
    )
    assert not wrong_password.json()["type"].endswith("/totp-required")
    bad = await _login(client, admin, totp_code="000000")
    assert bad.status_code == 401
    # The code of the next step (its window is open): accepted once, then refused.
    code = totp.code_at(secret, totp.current_step() + 1)
    assert (await _login(client, admin, totp_code=code)).status_code == 200
    assert (await _login(client, admin, totp_code=code)).status_code == 401
    # A recovery code signs in once.
    assert (await _login(client, admin, totp_code=codes[0])).status_code == 200
    assert (await _login(client, admin, totp_code=codes[0])).status_code == 401


async def test_wrong_codes_are_rate_limited(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _enable(client, admin)
    statuses = [(await _login(client, admin, totp_code="000000")).status_code for _ in range(12)]
    assert statuses[0] == 401
    assert statuses[-1] == 429


async def test_turning_it_off_needs_the_password(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    await _enable(client, admin)
    refused = await client.post(
        "/api/v1/me/totp/disable", headers=admin.headers, json={"password": "not-it-at-all"}
    )
    assert refused.status_code == 422
    again = await client.post("/api/v1/me/totp", headers=admin.headers)
    assert again.status_code == 409
    off = await client.post(
        "/api/v1/me/totp/disable", headers=admin.headers, json={"password": PASSWORD}
    )
    assert off.status_code == 204
    assert (await _login(client, admin)).status_code == 200


async def test_an_organization_may_require_it_of_admins(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    assert (await _login(client, admin)).json()["totp_setup_required"] is False
    settings = await client.get("/api/v1/settings", headers=admin.headers)
    changed = await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"require_admin_totp": True, "version": settings.json()["version"]},
    )
    assert changed.status_code == 200, changed.text
    assert (await _login(client, admin)).json()["totp_setup_required"] is True
    secret, _ = await _enable(client, admin)
    signed = await _login(client, admin, totp_code=totp.code_at(secret, totp.current_step() + 1))
    assert signed.json()["totp_setup_required"] is False


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
SECRET = re.compile(r"Secret: <code>([A-Z2-7]+)</code>")


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


async def _web_sign_in(
    client: httpx.AsyncClient, member: Member, totp_code: str = ""
) -> httpx.Response:
    return await client.post(
        "/login",
        data={
            "email": member.email,
            "password": PASSWORD,
            "totp_code": totp_code,
            "csrf_token": await _csrf(client, "/login"),
        },
    )


async def test_the_web_set_up_and_sign_in(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    assert (await _web_sign_in(client, admin)).status_code == 303
    page = await client.post(
        "/account/totp/begin", data={"csrf_token": await _csrf(client, "/account")}
    )
    assert page.status_code == 200, page.text
    found = SECRET.search(page.text)
    assert found
    secret = found.group(1)
    assert "otpauth://totp/Baton" in page.text
    confirmed = await client.post(
        "/account/totp/confirm",
        data={
            "csrf_token": CSRF.search(page.text)[1],
            "code": totp.code_at(secret, totp.current_step()),
        },
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.text.count("<li><code>") == 10
    assert "Turn off two-factor sign-in" in confirmed.text
    client.cookies.clear()
    asked = await _web_sign_in(client, admin)
    assert asked.status_code == 401
    assert 'name="totp_code"' in asked.text
    assert "Enter the code from your authenticator app" in asked.text
    signed = await _web_sign_in(client, admin, totp.code_at(secret, totp.current_step() + 1))
    assert signed.status_code == 303


async def test_an_admin_without_it_is_sent_to_set_it_up(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    settings = await client.get("/api/v1/settings", headers=admin.headers)
    await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"require_admin_totp": True, "version": settings.json()["version"]},
    )
    signed = await _web_sign_in(client, admin)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/account?totp_setup=1"
    page = await client.get(signed.headers["location"])
    assert "requires two-factor sign-in for admins" in page.text
