"""The winback sweep: an account whose status turns inactive or winback target is
enrolled in the organization's winback cadence once per lapse, with an entry on its
timeline; nothing without a cadence; never twice for two sweeps at once; another
organization untouched; the setting validated and for admins only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from baton.accounts.tasks import Winback, enrol_lapsed_accounts
from baton.config import Settings
from baton.db.engine import Database
from tests.accounts.support import add_transaction, create_account, today
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import sweep_unit

STEPS = [
    {"type": "call", "subject_template": "Winback call with {company}", "delay_days": 0},
    {"type": "email", "subject_template": "What is new, {company}", "delay_days": 3},
]


async def _cadence(client: httpx.AsyncClient, admin: Member, **extra: Any) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/cadences",
        headers=admin.headers,
        json={"name": "Winback: re-engage", "steps": STEPS, **extra},
    )
    assert created.status_code == 201, created.text
    cadence: dict[str, Any] = created.json()
    return cadence


async def _set_winback(
    client: httpx.AsyncClient, admin: Member, cadence_id: str | None
) -> httpx.Response:
    current = await client.get("/api/v1/settings", headers=admin.headers)
    return await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"winback_cadence_id": cadence_id, "version": current.json()["version"]},
    )


async def _organization(client: httpx.AsyncClient) -> tuple[Member, Member, dict[str, Any]]:
    """An admin, a salesperson and the winback cadence, chosen in the settings."""
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    cadence = await _cadence(client, admin)
    chosen = await _set_winback(client, admin, cadence["id"])
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["winback_cadence_id"] == cadence["id"]
    return admin, sales, cadence


async def _lapsed(client: httpx.AsyncClient, owner: Member, days_ago: int = 120) -> dict[str, Any]:
    account = await create_account(client, owner, owner_id=str(owner.user_id))
    await add_transaction(client, owner, account["id"], days_ago)
    return account


async def _sweep(database: Database, settings: Settings, tenant_id: uuid.UUID) -> list[Winback]:
    async with sweep_unit(database, settings, tenant_id) as ctx:
        return await enrol_lapsed_accounts(ctx)


async def _enrolments(owner_conn: asyncpg.Connection, account: dict[str, Any]) -> list[Any]:
    return await owner_conn.fetch(
        "SELECT e.id, e.cadence_id, e.status, e.owner_id,"
        " (SELECT count(*) FROM activities a WHERE a.enrollment_id = e.id) AS planned"
        " FROM cadence_enrollments e WHERE e.account_id = $1",
        uuid.UUID(account["id"]),
    )


async def _timeline(owner_conn: asyncpg.Connection, account: dict[str, Any]) -> list[str]:
    rows = await owner_conn.fetch(
        "SELECT subject FROM activities WHERE account_id = $1 AND type = 'system' ORDER BY id",
        uuid.UUID(account["id"]),
    )
    return [row["subject"] for row in rows]


async def test_a_lapsed_account_is_enrolled_once_and_noted_on_its_timeline(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin, sales, cadence = await _organization(client)
    target = await _lapsed(client, sales, 120)  # a customer quiet for 120 days
    passive = await _lapsed(client, sales, 40)
    prospect = await create_account(client, sales)

    done = await _sweep(database, settings, admin.tenant_id)

    assert [w.account_id for w in done] == [uuid.UUID(target["id"])]
    (enrolment,) = await _enrolments(owner_conn, target)
    assert str(enrolment["cadence_id"]) == cadence["id"]
    assert enrolment["status"] == "active"
    assert enrolment["owner_id"] == sales.user_id
    assert enrolment["planned"] == 2
    assert done[0].enrollment_id == enrolment["id"]
    last = (today() - timedelta(days=120)).isoformat()
    assert await _timeline(owner_conn, target) == [
        f"Status changed to winback target (last transaction {last}):"
        " enrolled in 'Winback: re-engage'"
    ]
    overview = await client.get(f"/api/v1/accounts/{target['id']}/overview", headers=sales.headers)
    assert overview.status_code == 200
    for quiet in (passive, prospect):
        assert await _enrolments(owner_conn, quiet) == []
        assert await _timeline(owner_conn, quiet) == []

    # A second run changes nothing.
    audited = await owner_conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE tenant_id = $1", admin.tenant_id
    )
    assert await _sweep(database, settings, admin.tenant_id) == []
    assert (
        await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1", admin.tenant_id
        )
        == audited
    )

    # It buys again, then lapses again: a new lapse. Still enrolled in the cadence
    # (its activities are planned): not enrolled twice, but noted.
    await owner_conn.execute(
        "UPDATE account_transactions SET occurred_on = occurred_on + 10 WHERE account_id = $1",
        uuid.UUID(target["id"]),
    )
    (again,) = await _sweep(database, settings, admin.tenant_id)
    assert again.enrollment_id is None
    assert len(await _enrolments(owner_conn, target)) == 1
    assert (await _timeline(owner_conn, target))[-1].endswith(
        "already enrolled in 'Winback: re-engage'"
    )


async def test_nothing_happens_without_an_active_winback_cadence(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin, sales, cadence = await _organization(client)
    quiet = await _lapsed(client, sales)
    cleared = await _set_winback(client, admin, None)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["winback_cadence_id"] is None
    assert await _sweep(database, settings, admin.tenant_id) == []

    # Chosen again, then made inactive: still nothing.
    assert (await _set_winback(client, admin, cadence["id"])).status_code == 200
    await owner_conn.execute(
        "UPDATE cadences SET active = false WHERE id = $1", uuid.UUID(cadence["id"])
    )
    assert await _sweep(database, settings, admin.tenant_id) == []
    assert await _timeline(owner_conn, quiet) == []

    # Active again: the account quiet all along is enrolled now.
    await owner_conn.execute(
        "UPDATE cadences SET active = true WHERE id = $1", uuid.UUID(cadence["id"])
    )
    assert len(await _sweep(database, settings, admin.tenant_id)) == 1


async def test_two_sweeps_at_once_enrol_once_and_other_organizations_are_untouched(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin, sales, _ = await _organization(client)
    other_admin, other_sales, _other = await _organization(client)
    first, second = await _lapsed(client, sales), await _lapsed(client, sales)
    theirs = await _lapsed(client, other_sales)

    # Deterministic interleaving: the second waits on the first's uncommitted rows.
    async with sweep_unit(database, settings, admin.tenant_id) as ctx:
        assert len(await enrol_lapsed_accounts(ctx, batch=1)) == 1
        waiting = asyncio.create_task(_sweep(database, settings, admin.tenant_id))
        await asyncio.sleep(0.3)
        assert not waiting.done()
    # It then takes only the account the first left.
    assert [w.account_id for w in await waiting] == [uuid.UUID(second["id"])]

    for account in (first, second):
        assert len(await _enrolments(owner_conn, account)) == 1
        assert len(await _timeline(owner_conn, account)) == 1
    assert await _enrolments(owner_conn, theirs) == []

    # A real race on the other organization: one enrolment between them.
    runs = await asyncio.gather(
        *(_sweep(database, settings, other_admin.tenant_id) for _ in range(2))
    )
    assert sorted(len(run) for run in runs) == [0, 1]
    assert len(await _enrolments(owner_conn, theirs)) == 1


async def test_the_winback_cadence_setting_is_validated_and_for_admins(
    client: httpx.AsyncClient,
) -> None:
    admin, sales, cadence = await _organization(client)
    other_admin, _sales, theirs = await _organization(client)
    inactive = await _cadence(client, admin, active=False)
    for bad in (theirs["id"], str(uuid.uuid4()), inactive["id"], "not-a-uuid"):
        refused = await _set_winback(client, admin, bad)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "winback_cadence_id"
    manager = await add_member(client, admin, "manager")
    for member in (manager, sales):
        current = await client.get("/api/v1/settings", headers=member.headers)
        assert current.json()["winback_cadence_id"] == cadence["id"]
        forbidden = await client.patch(
            "/api/v1/settings",
            headers=member.headers,
            json={"winback_cadence_id": None, "version": current.json()["version"]},
        )
        assert forbidden.status_code == 403
    assert (await client.get("/api/v1/settings", headers=other_admin.headers)).json()[
        "winback_cadence_id"
    ] == theirs["id"]
