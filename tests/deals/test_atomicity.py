"""A deal's create, move and close are each one transaction: a fault at any step
leaves nothing behind (DESIGN §8, "no multi-step action can half-happen").

A close is the step change with its outcome, reason and `closed_at`, the cancellation
of the deal's planned activities, the stop of its cadence enrolments, the history row,
the "Stage changed" entry, the audit rows, the board totals and the transition's
effects. A move is the step change, history, entry, audit, totals and effects (here:
a cadence enrolment with its activities, a planned follow-up, a notification).

Faults are injected two ways, with no hook in the code under test:
- in the database: a trigger the test installs as the owner fails — or kills the
  connection, as if the process or the network died — when that step's row of the
  deal under test arrives; a deferred constraint trigger does it at COMMIT;
- in Python: a service function the action calls midway is wrapped so that it does
  its writes and then raises.

After each fault the answer is the 500 problem, the organization's rows are exactly as
before — the deal, every activity, enrolment, history, audit, notification and
board-total row — and the same request, sent again, succeeds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from baton.cadences import service as cadence_service
from baton.deals import api as deal_api
from baton.deals import service as deal_service
from baton.workflow import effects as workflow_effects
from tests.deals.conftest import Org
from tests.factories import Member

INTERNAL_ERROR = "Something went wrong on our side; nothing was changed"

# The effects the tests put on the Sales pipeline: the move into Negotiation enrols
# the deal in the default cadence, plans a follow-up and notifies the owner; winning
# plans a kick-off call and notifies the owner.
MOVE_EFFECTS: list[dict[str, Any]] = [
    {"name": "start_cadence", "config": {}},
    {"name": "log_activity", "config": {"subject": "Prepare terms for {title}", "due_in_days": 1}},
    {"name": "notify_owner", "config": {}},
]
CLOSE_EFFECTS: list[dict[str, Any]] = [
    {"name": "log_activity", "config": {"type": "call", "subject": "Kick-off for {title}"}},
    {"name": "notify_owner", "config": {}},
]


@dataclass(frozen=True)
class Fault:
    """Fail when a row matching `condition` (SQL over NEW; `{deal}` and `{tenant}` are
    filled in) reaches `table` on `event`; `at_commit`: a deferred constraint trigger,
    so the failure comes when the transaction commits."""

    table: str
    event: str
    condition: str
    at_commit: bool = False


ACTIONS = {
    "error": "RAISE EXCEPTION 'injected fault'",
    # A deadlock the database broke by failing this transaction: retryable, so 409.
    "deadlock": "RAISE EXCEPTION 'injected deadlock' USING ERRCODE = 'deadlock_detected'",
    # The connection dies mid-transaction, as if the process or network failed.
    "connection-killed": "PERFORM pg_terminate_backend(pg_backend_pid())",
}

Inject = Callable[[Fault, str, Member, uuid.UUID], Awaitable[None]]


@pytest.fixture
async def inject(owner_conn: asyncpg.Connection) -> AsyncIterator[Inject]:
    async def install(fault: Fault, action: str, member: Member, deal_id: uuid.UUID) -> None:
        condition = fault.condition.format(deal=deal_id, tenant=member.tenant_id)
        trigger = (
            f"CREATE CONSTRAINT TRIGGER inject_fault AFTER {fault.event} ON {fault.table}"
            " DEFERRABLE INITIALLY DEFERRED"
            if fault.at_commit
            else f"CREATE TRIGGER inject_fault BEFORE {fault.event} ON {fault.table}"
        )
        await owner_conn.execute(
            f"""
            CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {condition} THEN {ACTIONS[action]}; END IF;
                RETURN NEW;
            END $$;
            {trigger} FOR EACH ROW EXECUTE FUNCTION inject_fault();
            """
        )

    yield install
    await _remove_faults(owner_conn)


async def _remove_faults(owner_conn: asyncpg.Connection) -> None:
    tables = await owner_conn.fetch(
        "SELECT tgrelid::regclass::text AS name FROM pg_trigger WHERE tgname = 'inject_fault'"
    )
    for row in tables:
        await owner_conn.execute(f"DROP TRIGGER inject_fault ON {row['name']}")
    await owner_conn.execute("DROP FUNCTION IF EXISTS inject_fault()")


async def footprint(owner_conn: asyncpg.Connection, member: Member, deal_id: uuid.UUID) -> Any:
    """Everything of the organization an action on the deal could write."""
    tenant = member.tenant_id
    deal = await owner_conn.fetchrow(
        "SELECT step_id, outcome, win_reason, loss_reason, close_notes, closed_at, version,"
        " rank, next_step, next_step_due_date, updated_at, deleted_at FROM deals WHERE id = $1",
        deal_id,
    )
    return {
        "deal": dict(deal) if deal else None,
        "deals": await owner_conn.fetchval(
            "SELECT count(*) FROM deals WHERE tenant_id = $1", tenant
        ),
        "activities": [
            tuple(r)
            for r in await owner_conn.fetch(
                "SELECT id, status, version, deleted_at FROM activities WHERE tenant_id = $1"
                " ORDER BY id",
                tenant,
            )
        ],
        "enrollments": [
            tuple(r)
            for r in await owner_conn.fetch(
                "SELECT id, status, stopped_at, version FROM cadence_enrollments"
                " WHERE tenant_id = $1 ORDER BY id",
                tenant,
            )
        ],
        "history": await owner_conn.fetchval(
            "SELECT count(*) FROM workflow_history WHERE tenant_id = $1", tenant
        ),
        "audit": await owner_conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1", tenant
        ),
        "notifications": await owner_conn.fetchval(
            "SELECT count(*) FROM notifications WHERE tenant_id = $1", tenant
        ),
        "totals": [
            tuple(r)
            for r in await owner_conn.fetch(
                "SELECT step_id, currency, shard, deal_count, amount_count, amount_total"
                " FROM pipeline_column_totals WHERE tenant_id = $1"
                " ORDER BY step_id, currency, shard",
                tenant,
            )
        ],
    }


def _edge(workflow: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    steps = {s["key"]: s["id"] for s in workflow["steps"]}
    return dict(
        next(
            t
            for t in workflow["transitions"]
            if (t["from_step_id"], t["to_step_id"]) == (steps[source], steps[target])
        )
    )


async def _pipeline_with_effects(client: httpx.AsyncClient, admin: Member) -> dict[str, uuid.UUID]:
    """Put MOVE_EFFECTS and CLOSE_EFFECTS on the Sales pipeline through the admin API and
    publish it: deals created from now on run on that version. Its step ids by key."""
    listed = await client.get("/api/v1/workflow/workflows", headers=admin.headers)
    [summary] = [w for w in listed.json() if w["entity_type"] == "deal" and w["published"]]
    response = await client.get(
        f"/api/v1/workflow/workflows/{summary['id']}", headers=admin.headers
    )
    workflow: dict[str, Any] = response.json()
    for source, target, effects in (
        ("proposal", "negotiation", MOVE_EFFECTS),
        ("negotiation", "won", CLOSE_EFFECTS),
    ):
        edge = _edge(workflow, source, target)
        response = await client.patch(
            f"/api/v1/workflow/transitions/{edge['id']}",
            headers=admin.headers,
            json={"effects": effects, "version": edge["version"]},
        )
        assert response.status_code == 200, response.text
        workflow = response.json()
    published = await client.post(
        f"/api/v1/workflow/workflows/{workflow['id']}/publish", headers=admin.headers
    )
    assert published.status_code == 200, published.text
    return {s["key"]: uuid.UUID(s["id"]) for s in published.json()["steps"]}


@pytest.fixture
async def flow(client: httpx.AsyncClient, org: Org) -> Org:
    """The deal fixtures' organization, its Sales pipeline carrying effects."""
    return Org(
        org.admin, org.sales, org.account_id, await _pipeline_with_effects(client, org.admin)
    )


def _assert_internal_error(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    assert response.json()["detail"] == INTERNAL_ERROR
    assert response.headers["content-type"].startswith("application/problem+json")


def _assert_failed(response: httpx.Response, action: str) -> None:
    if action == "deadlock":
        # Refused by the database inside a statement sent on the driver, answered as
        # every other statement's refusal is (baton.db.driver → from_database_error).
        assert response.status_code == 409, response.text
        assert response.json()["detail"] == "The record is busy; retry the request"
    elif action == "connection-killed":
        # The database went away mid-request: nothing was changed, worth a retry.
        assert response.status_code == 503, response.text
        assert response.json()["type"].endswith("/database-unavailable")
        assert response.headers["retry-after"]
    else:
        _assert_internal_error(response)


# ------------------------------------------------------------------------- close

CLOSE_FAULTS = {
    "deal-row": Fault("deals", "UPDATE", "NEW.id = '{deal}' AND NEW.outcome IS NOT NULL"),
    "planned-activities-cancelled": Fault(
        "activities", "UPDATE", "NEW.deal_id = '{deal}' AND NEW.status = 'cancelled'"
    ),
    "stage-changed-entry": Fault(
        "activities", "INSERT", "NEW.deal_id = '{deal}' AND NEW.type = 'system'"
    ),
    "history": Fault("workflow_history", "INSERT", "NEW.record_id = '{deal}'"),
    "audit": Fault("audit_log", "INSERT", "NEW.table_name = 'deals' AND NEW.row_id = '{deal}'"),
    "board-totals": Fault("pipeline_column_totals", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "enrollment-stopped": Fault(
        "cadence_enrollments", "UPDATE", "NEW.deal_id = '{deal}' AND NEW.status = 'stopped'"
    ),
    "effect-log-activity": Fault(
        "activities", "INSERT", "NEW.deal_id = '{deal}' AND NEW.type <> 'system'"
    ),
    "effect-notify-owner": Fault("notifications", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "commit": Fault(
        "deals", "UPDATE", "NEW.id = '{deal}' AND NEW.outcome IS NOT NULL", at_commit=True
    ),
}


async def _deal_to_close(
    client: httpx.AsyncClient, flow: Org, owner_conn: asyncpg.Connection
) -> dict[str, Any]:
    """A deal in Negotiation with live cadence work and a planned follow-up."""
    deal = await flow.walk(
        client, await flow.create(client, amount="900.00"), "discovery", "proposal", "negotiation"
    )
    planned = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1 AND status = 'planned'",
        uuid.UUID(deal["id"]),
    )
    active = await owner_conn.fetchval(
        "SELECT count(*) FROM cadence_enrollments WHERE deal_id = $1 AND status = 'active'",
        uuid.UUID(deal["id"]),
    )
    # Five cadence steps and the transition's follow-up; one live enrolment.
    assert (planned, active) == (6, 1)
    return deal


async def _close(client: httpx.AsyncClient, flow: Org, deal: dict[str, Any]) -> httpx.Response:
    # The admin closes the sales member's deal, so notify_owner has someone to tell.
    return await flow.close(
        client, deal, member=flow.admin, outcome="won", reason="price", notes="Signed"
    )


async def _assert_closed_whole(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    deal: dict[str, Any],
    before: Any,
) -> None:
    """The same close, sent again without the fault, does every part of its work."""
    closed = await _close(client, flow, deal)
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert body["cancelled_activities"] == 6
    assert (body["deal"]["outcome"], body["deal"]["step"]["key"]) == ("won", "won")
    after = await footprint(owner_conn, flow.admin, uuid.UUID(deal["id"]))
    assert after["deal"]["closed_at"] is not None
    assert after["deal"]["version"] > before["deal"]["version"]
    assert after["history"] == before["history"] + 1
    assert after["notifications"] == before["notifications"] + 1
    assert after["audit"] > before["audit"]
    assert [status for _, status, _, _ in after["enrollments"]] == ["stopped"]
    statuses = [status for _, status, _, _ in after["activities"]]
    # 6 cancelled; done: the three earlier "Stage changed" entries and this one;
    # planned: the kick-off call the won transition plans.
    assert sorted(statuses) == ["cancelled"] * 6 + ["done"] * 4 + ["planned"]


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("fault", list(CLOSE_FAULTS))
async def test_a_fault_at_any_step_of_a_close_changes_nothing(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    inject: Inject,
    fault: str,
    action: str,
) -> None:
    deal = await _deal_to_close(client, flow, owner_conn)
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, flow.admin, deal_id)
    await inject(CLOSE_FAULTS[fault], action, flow.admin, deal_id)
    _assert_failed(await _close(client, flow, deal), action)
    assert await footprint(owner_conn, flow.admin, deal_id) == before
    await _remove_faults(owner_conn)
    await _assert_closed_whole(client, flow, owner_conn, deal, before)


def _raise_after(target: Callable[..., Awaitable[Any]], ran: list[str]) -> Any:
    """`target` doing all of its work, then failing."""

    async def broken(*args: Any, **kwargs: Any) -> Any:
        await target(*args, **kwargs)
        ran.append(target.__name__)
        raise RuntimeError(f"injected fault after {target.__name__}")

    return broken


# Python-level faults: (module, function) the close calls after its first statement.
CLOSE_PYTHON_FAULTS = {
    "after-stopping-enrollments": (cadence_service, "stop_enrollments_for"),
    "after-running-effects": (workflow_effects, "run_effects"),
    "after-every-write": (deal_service, "_load"),
}


@pytest.mark.parametrize("point", list(CLOSE_PYTHON_FAULTS))
async def test_a_python_failure_midway_through_a_close_changes_nothing(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
) -> None:
    deal = await _deal_to_close(client, flow, owner_conn)
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, flow.admin, deal_id)
    module, name = CLOSE_PYTHON_FAULTS[point]
    ran: list[str] = []
    monkeypatch.setattr(module, name, _raise_after(getattr(module, name), ran))
    _assert_internal_error(await _close(client, flow, deal))
    monkeypatch.undo()
    assert ran == [name]
    assert await footprint(owner_conn, flow.admin, deal_id) == before
    await _assert_closed_whole(client, flow, owner_conn, deal, before)


# -------------------------------------------------------------------------- move

MOVE_FAULTS = {
    "deal-row": Fault("deals", "UPDATE", "NEW.id = '{deal}'"),
    "history": Fault("workflow_history", "INSERT", "NEW.record_id = '{deal}'"),
    "stage-changed-entry": Fault(
        "activities", "INSERT", "NEW.deal_id = '{deal}' AND NEW.type = 'system'"
    ),
    "audit": Fault("audit_log", "INSERT", "NEW.table_name = 'deals' AND NEW.row_id = '{deal}'"),
    "board-totals": Fault("pipeline_column_totals", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "effect-enrollment": Fault("cadence_enrollments", "INSERT", "NEW.deal_id = '{deal}'"),
    "effect-cadence-activity": Fault(
        "activities", "INSERT", "NEW.deal_id = '{deal}' AND NEW.enrollment_id IS NOT NULL"
    ),
    "effect-log-activity": Fault(
        "activities",
        "INSERT",
        "NEW.deal_id = '{deal}' AND NEW.type <> 'system' AND NEW.enrollment_id IS NULL",
    ),
    "effect-notify-owner": Fault("notifications", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "commit": Fault("deals", "UPDATE", "NEW.id = '{deal}'", at_commit=True),
}


async def _move(client: httpx.AsyncClient, flow: Org, deal: dict[str, Any]) -> httpx.Response:
    # The admin moves the sales member's deal, so notify_owner has someone to tell.
    return await flow.move(client, deal, "negotiation", member=flow.admin)


async def _assert_moved_whole(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    deal: dict[str, Any],
    before: Any,
) -> None:
    moved = await _move(client, flow, deal)
    assert moved.status_code == 200, moved.text
    assert moved.json()["deal"]["step"]["key"] == "negotiation"
    after = await footprint(owner_conn, flow.admin, uuid.UUID(deal["id"]))
    assert after["history"] == before["history"] + 1
    assert after["notifications"] == before["notifications"] + 1
    assert [status for _, status, _, _ in after["enrollments"]] == ["active"]
    # Five cadence activities and the follow-up, planned; one more "Stage changed".
    assert len(after["activities"]) == len(before["activities"]) + 7


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("fault", list(MOVE_FAULTS))
async def test_a_fault_at_any_step_of_a_move_changes_nothing(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    inject: Inject,
    fault: str,
    action: str,
) -> None:
    deal = await flow.walk(client, await flow.create(client), "discovery", "proposal")
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, flow.admin, deal_id)
    await inject(MOVE_FAULTS[fault], action, flow.admin, deal_id)
    _assert_failed(await _move(client, flow, deal), action)
    assert await footprint(owner_conn, flow.admin, deal_id) == before
    await _remove_faults(owner_conn)
    await _assert_moved_whole(client, flow, owner_conn, deal, before)


MOVE_PYTHON_FAULTS = {
    "after-running-effects": (workflow_effects, "run_effects"),
    "after-every-write": (deal_service, "_load"),
}


@pytest.mark.parametrize("point", list(MOVE_PYTHON_FAULTS))
async def test_a_python_failure_midway_through_a_move_changes_nothing(
    client: httpx.AsyncClient,
    flow: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
) -> None:
    deal = await flow.walk(client, await flow.create(client), "discovery", "proposal")
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, flow.admin, deal_id)
    module, name = MOVE_PYTHON_FAULTS[point]
    ran: list[str] = []
    monkeypatch.setattr(module, name, _raise_after(getattr(module, name), ran))
    _assert_internal_error(await _move(client, flow, deal))
    monkeypatch.undo()
    assert ran == [name]
    assert await footprint(owner_conn, flow.admin, deal_id) == before
    await _assert_moved_whole(client, flow, owner_conn, deal, before)


# A move without effects runs on the driver's connection (baton.core.driver_transaction): its
# one statement in the driver's transaction, so a fault anywhere in it leaves nothing.
PLAIN_MOVE_FAULTS = {
    name: MOVE_FAULTS[name]
    for name in ("deal-row", "history", "stage-changed-entry", "audit", "board-totals")
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("fault", list(PLAIN_MOVE_FAULTS))
async def test_a_fault_in_a_move_on_the_driver_changes_nothing(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    inject: Inject,
    fault: str,
    action: str,
) -> None:
    deal = await org.create(client)
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, org.admin, deal_id)
    await inject(PLAIN_MOVE_FAULTS[fault], action, org.admin, deal_id)
    _assert_failed(await org.move(client, deal, "discovery"), action)
    assert await footprint(owner_conn, org.admin, deal_id) == before
    await _remove_faults(owner_conn)
    moved = await org.move(client, deal, "discovery")
    assert moved.status_code == 200, moved.text
    after = await footprint(owner_conn, org.admin, deal_id)
    assert after["history"] == before["history"] + 1
    assert len(after["activities"]) == len(before["activities"]) + 1


async def test_a_one_statement_move_whose_answer_fails_writes_nothing(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The move on the driver's connection commits only once its answer is built
    (`baton.core.driver_transaction`): a failure there (a bug) is a 500 and no move at all."""
    deal = await org.create(client)
    deal_id = uuid.UUID(deal["id"])
    before = await footprint(owner_conn, org.admin, deal_id)

    def broken(*args: Any) -> Any:
        raise RuntimeError("injected fault while answering")

    monkeypatch.setattr(deal_api, "_on_step", broken)
    _assert_internal_error(await org.move(client, deal, "discovery"))
    monkeypatch.undo()
    assert await footprint(owner_conn, org.admin, deal_id) == before
    again = await org.move(client, deal, "discovery")
    assert again.status_code == 200, again.text


# ------------------------------------------------------------------------ create

# Creating a deal enrols it in nothing (no transition is taken): its steps are the
# row, the initial history row, the audit row and the board totals.
CREATE_FAULTS = {
    "history": Fault("workflow_history", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "audit": Fault(
        "audit_log", "INSERT", "NEW.tenant_id = '{tenant}' AND NEW.table_name = 'deals'"
    ),
    "board-totals": Fault("pipeline_column_totals", "INSERT", "NEW.tenant_id = '{tenant}'"),
    "commit": Fault("deals", "INSERT", "NEW.tenant_id = '{tenant}'", at_commit=True),
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("fault", list(CREATE_FAULTS))
async def test_a_fault_at_any_step_of_a_create_leaves_no_deal(
    client: httpx.AsyncClient,
    org: Org,
    owner_conn: asyncpg.Connection,
    inject: Inject,
    fault: str,
    action: str,
) -> None:
    nothing = uuid.uuid4()
    before = await footprint(owner_conn, org.admin, nothing)
    await inject(CREATE_FAULTS[fault], action, org.admin, nothing)
    response = await client.post(
        "/api/v1/deals",
        headers=org.sales.headers,
        json={
            "name": "Doomed",
            "account_id": str(org.account_id),
            "next_step": "Call",
            "next_step_due_date": "2030-01-01",
            "amount": "10.00",
        },
    )
    _assert_failed(response, action)
    assert await footprint(owner_conn, org.admin, nothing) == before
    await _remove_faults(owner_conn)
    created = await org.create(client, amount="10.00")
    after = await footprint(owner_conn, org.admin, uuid.UUID(created["id"]))
    assert (after["deals"], after["history"]) == (before["deals"] + 1, before["history"] + 1)
