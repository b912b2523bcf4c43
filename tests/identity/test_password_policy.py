"""A password being set is at least 12 characters and not one of the 10 000 most
common (the shipped offline list): registration, a new member (API, web, CLI) and a
password change (API, web) refuse it with a 422 naming the field; sign-in does not
judge what it is shown."""

from __future__ import annotations

import re

import httpx
import pytest

from baton.demo import DEMO_PASSWORD
from baton.identity.common_passwords import MIN_PASSWORD_LENGTH, TOO_COMMON, is_common
from tests.factories import PASSWORD, register_tenant, unique

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
HTML = {"accept": "text/html"}
# On the list, and long enough: only the list refuses them.
COMMON_LONG = ("qwerty123456", "Q1W2E3R4T5Y6")


def test_the_list_is_shipped_and_the_project_passwords_pass() -> None:
    assert is_common("password")
    assert is_common("  QWERTY ")
    for common in COMMON_LONG:
        assert len(common) >= MIN_PASSWORD_LENGTH
        assert is_common(common)
    for ours in (DEMO_PASSWORD, PASSWORD):
        assert len(ours) >= MIN_PASSWORD_LENGTH
        assert not is_common(ours)


def _field_errors(response: httpx.Response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.mark.parametrize("password", ["eleven-char", *COMMON_LONG])
async def test_registration_refuses_a_short_or_common_password(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "organization_name": unique("Org"),
            "full_name": "Ada",
            "email": f"{unique('a')}@example.com",
            "password": password,
        },
    )
    assert response.status_code == 422, response.text
    assert list(_field_errors(response)) == ["password"]
    if password in COMMON_LONG:
        assert TOO_COMMON in _field_errors(response)["password"]


async def test_a_new_member_and_a_password_change_refuse_a_common_password(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    invited = await client.post(
        "/api/v1/users",
        headers=admin.headers,
        json={
            "email": f"{unique('s')}@example.com",
            "full_name": "Sam",
            "role": "sales",
            "password": COMMON_LONG[0],
        },
    )
    assert invited.status_code == 422
    assert TOO_COMMON in _field_errors(invited)["password"]
    changed = await client.post(
        "/api/v1/auth/password",
        headers=admin.headers,
        json={"current_password": PASSWORD, "new_password": COMMON_LONG[1]},
    )
    assert changed.status_code == 422
    assert list(_field_errors(changed)) == ["new_password"]
    # Signing in judges nothing but the password's match.
    refused = await client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": "short"}
    )
    assert refused.status_code == 401


async def test_web_forms_say_what_is_wrong_with_the_password(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    invited = await client.post(
        "/api/v1/invitations",
        headers=admin.headers,
        json={"email": f"{unique('s')}@example.com", "full_name": "Sam", "role": "sales"},
    )
    path = f"/invitations/{invited.json()['token']}"
    token = CSRF.search((await client.get(path)).text)[1]
    refused = await client.post(
        path,
        data={"csrf_token": token, "full_name": "Sam", "password": COMMON_LONG[0]},
        headers={**HTML, "referer": f"http://testserver{path}"},
    )
    assert refused.status_code == 422
    assert "is one of the most common passwords" in refused.text
    assert 'id="password-error"' in refused.text
    page = await client.get("/login")
    signed = await client.post(
        "/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": CSRF.search(page.text)[1]},
    )
    assert signed.status_code == 303
    token = CSRF.search((await client.get("/account")).text)[1]
    changed = await client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": "too-short"},
        headers={**HTML, "referer": "http://testserver/account"},
    )
    assert changed.status_code == 422
    assert "needs at least 12 characters" in changed.text
    assert "String should" not in changed.text
