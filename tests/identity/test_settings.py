"""GET/PATCH /api/v1/settings: every member reads, admins change at the current version
(stale → 409), values out of range are 422 naming the field, each organization sees
and changes only its own settings, and every change is in the audit log."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant


async def _settings(client: httpx.AsyncClient, member: Member) -> dict[str, Any]:
    response = await client.get("/api/v1/settings", headers=member.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _patch(client: httpx.AsyncClient, member: Member, **body: Any) -> httpx.Response:
    return await client.patch("/api/v1/settings", headers=member.headers, json=body)


@pytest.mark.parametrize("role", ["manager", "marketing", "sales", "viewer"])
async def test_every_member_reads_and_only_admins_change(
    client: httpx.AsyncClient, role: str
) -> None:
    admin = await register_tenant(client)
    member = await add_member(client, admin, role)
    settings = await _settings(client, member)
    assert settings["claim_sla_hours"] == 24  # the default of a new organization
    assert settings["default_currency"] == "USD"
    assert settings["timezone"] == "UTC"
    assert settings["version"] == 1

    refused = await _patch(client, member, claim_sla_hours=8, version=1)
    assert refused.status_code == 403
    assert (await _settings(client, admin))["claim_sla_hours"] == 24


async def test_admin_changes_the_settings_at_the_current_version(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    changed = await _patch(client, admin, claim_sla_hours=8, version=1)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["claim_sla_hours"] == 8
    assert body["version"] == 2
    assert body["default_currency"] == "USD"  # only the fields sent change
    assert await _settings(client, admin) == body

    # A second admin who edited version 1 loses: 409, nothing written.
    stale = await _patch(client, admin, claim_sla_hours=48, version=1)
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("/stale-version")
    assert (await _settings(client, admin))["claim_sla_hours"] == 8

    # If-Match works as for every other PATCH; several settings at once.
    both = await client.patch(
        "/api/v1/settings",
        headers={**admin.headers, "If-Match": '"2"'},
        json={"claim_sla_hours": 720, "default_currency": "EUR", "timezone": "Europe/Berlin"},
    )
    assert both.status_code == 200, both.text
    assert both.json() | {"updated_at": None} == {
        "claim_sla_hours": 720,
        "claim_escalation_hours": 24,
        "winback_cadence_id": None,
        "retention_days": 90,
        "audit_retention_days": 730,
        "require_admin_totp": False,
        "default_currency": "EUR",
        "timezone": "Europe/Berlin",
        "locale": "en-US",
        "version": 3,
        "updated_at": None,
    }

    # Audited like every write: who changed what, before and after.
    rows = await owner_conn.fetch(
        "SELECT changed_columns, before->>'claim_sla_hours' AS before_sla,"
        " after->>'claim_sla_hours' AS after_sla, actor_user_id FROM audit_log"
        " WHERE tenant_id = $1 AND table_name = 'tenant_settings' AND action = 'update'"
        " ORDER BY id",
        admin.tenant_id,
    )
    assert [(row["before_sla"], row["after_sla"]) for row in rows] == [("24", "8"), ("8", "720")]
    assert all(row["actor_user_id"] == admin.user_id for row in rows)
    assert "claim_sla_hours" in rows[0]["changed_columns"]
    assert "default_currency" not in rows[0]["changed_columns"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"claim_sla_hours": 0}, "claim_sla_hours"),
        ({"claim_sla_hours": 721}, "claim_sla_hours"),
        ({"claim_sla_hours": -5}, "claim_sla_hours"),
        ({"claim_sla_hours": "soon"}, "claim_sla_hours"),
        ({"claim_sla_hours": None}, "claim_sla_hours"),
        ({"default_currency": "euro"}, "default_currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"claim_sla_hours": 8}, "version"),
        ({"claim_sla_hours": 8, "colour": "red"}, "colour"),
    ],
)
async def test_out_of_range_and_malformed_values_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    admin = await register_tenant(client)
    if field != "version":
        body = {**body, "version": 1}
    refused = await _patch(client, admin, **body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in refused.json()["errors"]] == [field]
    assert (await _settings(client, admin))["version"] == 1  # nothing written


async def test_the_database_holds_the_same_bounds(
    client: httpx.AsyncClient, app_conn: asyncpg.Connection
) -> None:
    """The CHECK is the backstop for anything that skips the service (raw SQL)."""
    admin = await register_tenant(client)
    for hours in (0, 721):
        with pytest.raises(asyncpg.CheckViolationError):
            async with app_conn.transaction():
                await app_conn.execute(
                    "SELECT set_config('baton.tenant_id', $1, true)", str(admin.tenant_id)
                )
                await app_conn.execute("UPDATE tenant_settings SET claim_sla_hours = $1", hours)


async def test_each_organization_reads_and_changes_only_its_own(
    client: httpx.AsyncClient,
) -> None:
    first, second = await register_tenant(client), await register_tenant(client)
    changed = await _patch(client, first, claim_sla_hours=2, version=1)
    assert changed.status_code == 200
    assert (await _settings(client, second))["claim_sla_hours"] == 24
    # The second admin's PATCH changes the second organization only.
    other = await _patch(client, second, claim_sla_hours=100, version=1)
    assert other.status_code == 200
    assert (await _settings(client, first)) == changed.json()
    assert (await _settings(client, second))["claim_sla_hours"] == 100


async def test_a_patch_without_changes_checks_the_version_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    same = await _patch(client, admin, version=1)
    assert same.status_code == 200
    assert same.json()["version"] == 1
    assert (await _patch(client, admin, version=7)).status_code == 409
    assert (await _patch(client, admin)).status_code == 422


async def test_anonymous_callers_are_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/settings")).status_code == 401
    assert (await client.patch("/api/v1/settings", json={"version": 1})).status_code == 401
