"""The commit job is all or nothing: a database error, a deadlock or a killed
connection injected mid-commit (after progress was reported) leaves zero rows of the
batch; the batch is `failed` with the reason, or — its connection gone — still
`running`, and the job's retry imports it whole.

Faults come from a trigger the test installs as the owner on `targets`, firing for
one company name of the test's own organization; nothing in the code under test
knows about it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from baton.config import Settings
from baton.db.engine import Database
from baton.imports import service
from tests.factories import Member, register_tenant
from tests.imports.support import commit, get, uploaded
from tests.jobs.support import run_due_jobs

ACTIONS = {
    "error": "RAISE EXCEPTION 'injected fault'",
    "deadlock": "RAISE EXCEPTION 'injected deadlock' USING ERRCODE = 'deadlock_detected'",
    "connection-killed": "PERFORM pg_terminate_backend(pg_backend_pid())",
}
ROWS = "Company\n" + "".join(f"Company {n:02}\n" for n in range(1, 11))


@pytest.fixture
async def faulty(owner_conn: asyncpg.Connection) -> AsyncIterator[object]:
    async def install(action: str, member: Member) -> None:
        await owner_conn.execute(
            f"""
            CREATE FUNCTION inject_import_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.tenant_id = '{member.tenant_id}' AND NEW.company_name = 'Company 07'
                THEN {ACTIONS[action]}; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER inject_import_fault BEFORE INSERT ON targets
            FOR EACH ROW EXECUTE FUNCTION inject_import_fault();
            """
        )

    yield install
    await remove(owner_conn)


async def remove(owner_conn: asyncpg.Connection) -> None:
    await owner_conn.execute("DROP TRIGGER IF EXISTS inject_import_fault ON targets")
    await owner_conn.execute("DROP FUNCTION IF EXISTS inject_import_fault()")


async def _count(owner_conn: asyncpg.Connection, member: Member) -> int:
    return int(
        await owner_conn.fetchval(
            "SELECT count(*) FROM targets WHERE tenant_id = $1", member.tenant_id
        )
    )


@pytest.mark.parametrize(
    ("action", "reason"), [("error", "injected fault"), ("deadlock", "injected deadlock")]
)
async def test_a_database_error_mid_commit_leaves_nothing_and_the_batch_failed(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    faulty: object,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    reason: str,
) -> None:
    # Three rows a statement: two chunks land (and report progress) before the fault.
    monkeypatch.setattr(service, "CHUNK", 3)
    admin = await register_tenant(client)
    await faulty(action, admin)  # type: ignore[operator]
    batch = await uploaded(client, admin, ROWS)
    assert (await commit(client, admin, batch)).status_code == 202
    await run_due_jobs(settings, database)
    failed = await get(client, admin, batch["id"])
    assert failed["status"] == "failed"
    assert reason in failed["failure"]
    assert failed["failure"].startswith("Nothing was imported")
    assert (failed["created"], failed["rows_done"]) == (0, 0)
    assert await _count(owner_conn, admin) == 0
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE tenant_id = $1", admin.tenant_id
    )
    assert history == 0
    # A failed batch is not committed again.
    assert (await commit(client, admin, failed)).status_code == 409


async def test_a_killed_connection_leaves_nothing_and_the_retry_imports_it_whole(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    faulty: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "CHUNK", 3)
    admin = await register_tenant(client)
    await faulty("connection-killed", admin)  # type: ignore[operator]
    batch = await uploaded(client, admin, ROWS)
    assert (await commit(client, admin, batch)).status_code == 202
    await run_due_jobs(settings, database)
    running = await get(client, admin, batch["id"])
    assert running["status"] == "running"
    assert await _count(owner_conn, admin) == 0
    await remove(owner_conn)
    # The retry's wait elapses now.
    await owner_conn.execute(
        "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second'"
        " WHERE task_name = 'imports.commit' AND status = 'todo' AND args ->> 'batch_id' = $1",
        batch["id"],
    )
    await run_due_jobs(settings, database)
    done = await get(client, admin, batch["id"])
    assert done["status"] == "completed", done
    assert done["created"] == 10
    assert await _count(owner_conn, admin) == 10


async def test_a_fault_in_a_companion_or_a_placed_deal_leaves_nothing_of_either_table(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An account's first contact is written after its chunk of accounts, a deal past
    the first step through the guard's import exception: a fault in either rolls back
    everything the batch wrote, history and totals included."""
    monkeypatch.setattr(service, "CHUNK", 3)
    admin = await register_tenant(client)
    await owner_conn.execute(
        f"""
        CREATE FUNCTION inject_import_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.tenant_id = '{admin.tenant_id}'
               AND coalesce(to_jsonb(NEW) ->> 'first_name', to_jsonb(NEW) ->> 'name')
                   IN ('Person07', 'Deal 07')
            THEN RAISE EXCEPTION 'injected fault'; END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER inject_import_fault BEFORE INSERT ON contacts
        FOR EACH ROW EXECUTE FUNCTION inject_import_fault();
        CREATE TRIGGER inject_import_fault BEFORE INSERT ON deals
        FOR EACH ROW EXECUTE FUNCTION inject_import_fault();
        """
    )
    try:
        accounts = "Name,Contact\n" + "".join(
            f"Company {n:02},Person{n:02}\n" for n in range(1, 11)
        )
        batch = await uploaded(client, admin, accounts, kind="accounts")
        assert (await commit(client, admin, batch)).status_code == 202
        await run_due_jobs(settings, database)
        failed = await get(client, admin, batch["id"])
        assert (failed["status"], failed["created"]) == ("failed", 0)
        assert "injected fault" in failed["failure"]
        for table in ("accounts", "contacts"):
            count = await owner_conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE tenant_id = $1", admin.tenant_id
            )
            assert count == 0, table

        await owner_conn.execute(
            "INSERT INTO accounts (tenant_id, id, name, owner_id)"
            " VALUES ($1, gen_random_uuid(), 'Acme', $2)",
            admin.tenant_id,
            admin.user_id,
        )
        deals = "Deal Name,Company,Stage\n" + "".join(
            f"Deal {n:02},Acme,Proposal\n" for n in range(1, 11)
        )
        batch = await uploaded(client, admin, deals, kind="deals")
        assert (await commit(client, admin, batch)).status_code == 202
        await run_due_jobs(settings, database)
        failed = await get(client, admin, batch["id"])
        assert (failed["status"], failed["created"]) == ("failed", 0)
        assert "injected fault" in failed["failure"]
        for query in (
            "SELECT count(*) FROM deals WHERE tenant_id = $1",
            "SELECT count(*) FROM workflow_history WHERE tenant_id = $1 AND entity_type = 'deal'",
            "SELECT coalesce(sum(deal_count), 0) FROM pipeline_column_totals WHERE tenant_id = $1",
        ):
            assert await owner_conn.fetchval(query, admin.tenant_id) == 0, query
    finally:
        await owner_conn.execute("DROP TRIGGER IF EXISTS inject_import_fault ON contacts")
        await owner_conn.execute("DROP TRIGGER IF EXISTS inject_import_fault ON deals")
        await owner_conn.execute("DROP FUNCTION IF EXISTS inject_import_fault()")
