"""The account-status sweep: an account whose status turns inactive or winback target
is announced (`account.status_changed`) and noted on its timeline once per lapse, with
or without a winback cadence, and enrolled in the cadence when there is one (later,
when one is chosen while it is still quiet); never twice for two sweeps at once, nor
delivered twice to a webhook; another organization untouched; the setting validated
and for admins only."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from baton.accounts.tasks import Lapse, sweep_lapsed_accounts
from baton.config import Settings
from baton.db.engine import Database
from baton.webhooks.delivery import pump
from tests.accounts.support import add_transaction, create_account, today
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import sweep_unit
from tests.webhooks.receiver import receiving
from tests.webhooks.support import add_endpoint

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


async def _sweep(database: Database, settings: Settings, tenant_id: uuid.UUID) -> list[Lapse]:
    async with sweep_unit(database, settings, tenant_id) as ctx:
        return await sweep_lapsed_accounts(ctx)


async def _enrolments(owner_conn: asyncpg.Connection, account: dict[str, Any]) -> list[Any]:
    return await owner_conn.fetch(
        "SELECT e.id, e.cadence_id, e.status, e.owner_id,"
        " (SELECT count(*) FROM activities a WHERE a.enrollment_id = e.id) AS planned"
        " FROM cadence_enrollments e WHERE e.account_id = $1",
        uuid.UUID(account["id"]),
    )


async def _events(owner_conn: asyncpg.Connection, account: dict[str, Any]) -> int:
    return int(
        await owner_conn.fetchval(
            "SELECT count(*) FROM outbox_events"
            " WHERE type = 'account.status_changed' AND subject_id = $1",
            uuid.UUID(account["id"]),
        )
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
    assert done[0].changed
    assert await _events(owner_conn, target) == 1
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
        assert await _events(owner_conn, quiet) == 0

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
    assert again.changed
    assert await _events(owner_conn, target) == 2
    assert len(await _enrolments(owner_conn, target)) == 1
    assert (await _timeline(owner_conn, target))[-1].endswith(
        "already enrolled in 'Winback: re-engage'"
    )


async def test_without_a_cadence_the_change_is_announced_and_enrolment_waits_for_one(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin, sales, cadence = await _organization(client)
    quiet = await _lapsed(client, sales)
    back = await _lapsed(client, sales)
    cleared = await _set_winback(client, admin, None)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["winback_cadence_id"] is None

    done = await _sweep(database, settings, admin.tenant_id)

    assert sorted(lapse.account_id for lapse in done) == sorted(
        uuid.UUID(a["id"]) for a in (quiet, back)
    )
    assert all(lapse.changed and lapse.enrollment_id is None for lapse in done)
    last = (today() - timedelta(days=120)).isoformat()
    for account in (quiet, back):
        assert await _events(owner_conn, account) == 1
        assert await _timeline(owner_conn, account) == [
            f"Status changed to winback target (last transaction {last})"
        ]
        assert await _enrolments(owner_conn, account) == []
    # Twice: nothing more.
    assert await _sweep(database, settings, admin.tenant_id) == []

    # Chosen again but made inactive: still no enrolment, nothing announced again.
    assert (await _set_winback(client, admin, cadence["id"])).status_code == 200
    await owner_conn.execute(
        "UPDATE cadences SET active = false WHERE id = $1", uuid.UUID(cadence["id"])
    )
    assert await _sweep(database, settings, admin.tenant_id) == []

    # One of them buys again in the meantime: no longer quiet, not enrolled.
    await add_transaction(client, sales, back["id"], 1)
    # Active: the account quiet all along is enrolled now, once, and not announced
    # a second time.
    await owner_conn.execute(
        "UPDATE cadences SET active = true WHERE id = $1", uuid.UUID(cadence["id"])
    )
    (late,) = await _sweep(database, settings, admin.tenant_id)
    assert late.account_id == uuid.UUID(quiet["id"])
    assert not late.changed
    (enrolment,) = await _enrolments(owner_conn, quiet)
    assert late.enrollment_id == enrolment["id"]
    assert await _events(owner_conn, quiet) == 1
    assert (await _timeline(owner_conn, quiet))[-1] == (
        f"Enrolled in 'Winback: re-engage': winback target since the last transaction ({last})"
    )
    assert await _enrolments(owner_conn, back) == []
    assert await _sweep(database, settings, admin.tenant_id) == []


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
        assert len(await sweep_lapsed_accounts(ctx, batch=1)) == 1
        waiting = asyncio.create_task(_sweep(database, settings, admin.tenant_id))
        await asyncio.sleep(0.3)
        assert not waiting.done()
    # It then takes only the account the first left.
    assert [w.account_id for w in await waiting] == [uuid.UUID(second["id"])]

    for account in (first, second):
        assert len(await _enrolments(owner_conn, account)) == 1
        assert len(await _timeline(owner_conn, account)) == 1
        assert await _events(owner_conn, account) == 1
    assert await _enrolments(owner_conn, theirs) == []
    assert await _events(owner_conn, theirs) == 0

    # A real race on the other organization: one enrolment between them.
    runs = await asyncio.gather(
        *(_sweep(database, settings, other_admin.tenant_id) for _ in range(2))
    )
    assert sorted(len(run) for run in runs) == [0, 1]
    assert len(await _enrolments(owner_conn, theirs)) == 1
    assert await _events(owner_conn, theirs) == 1


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


async def test_a_subscribed_endpoint_receives_one_delivery_per_change(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    with_cadence, sales, _ = await _organization(client)
    without = await register_tenant(client)
    enrolled = await _lapsed(client, sales)
    announced = await _lapsed(client, without)
    async with receiving(200) as receiver:
        await add_endpoint(client, with_cadence, receiver.url, ["account.status_changed"])
        await add_endpoint(client, without, receiver.url, ["account.status_changed"])
        await add_endpoint(client, without, receiver.url, ["deal.moved"])
        for admin in (with_cadence, without):
            # Twice, and twice at once: one change each.
            await asyncio.gather(*(_sweep(database, settings, admin.tenant_id) for _ in range(2)))
            assert await _sweep(database, settings, admin.tenant_id) == []
        await pump(database, settings)
        await pump(database, settings)
    bodies = [json.loads(got.body) for got in receiver.received]
    assert sorted((body["tenant_id"], body["data"]["id"]) for body in bodies) == sorted(
        [
            (str(with_cadence.tenant_id), enrolled["id"]),
            (str(without.tenant_id), announced["id"]),
        ]
    )
    assert {body["type"] for body in bodies} == {"account.status_changed"}
    assert len({got.headers["webhook-id"] for got in receiver.received}) == 2
    for body in bodies:
        assert body["data"]["status"]["tenure"] == "winback_target"
