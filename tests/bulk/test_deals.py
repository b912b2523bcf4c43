"""POST /api/v1/deals/bulk: each row its own checked, audited change; refusals stay alone."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests.bulk.conftest import Org
from tests.deals.conftest import NEXT_WEEK, insert_account, pipeline_steps
from tests.factories import add_member, register_tenant

URL = "/api/v1/deals/bulk"


async def _state(owner_conn: asyncpg.Connection, deal_id: str) -> asyncpg.Record:
    return await owner_conn.fetchrow(
        "SELECT d.version, s.key AS step, d.owner_id, d.deleted_at,"
        " (SELECT count(*) FROM workflow_history h WHERE h.record_id = d.id) AS history,"
        " (SELECT count(*) FROM audit_log l WHERE l.row_id = d.id) AS audit"
        " FROM deals d JOIN workflow_steps s ON s.tenant_id = d.tenant_id AND s.id = d.step_id"
        " WHERE d.id = $1",
        uuid.UUID(deal_id),
    )


def _by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in body["results"]}


async def test_a_bulk_move_moves_what_the_workflow_allows_and_refuses_the_rest(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    ready = await org.walk(
        client,
        await org.create(client, amount="500.00", expected_close_date=NEXT_WEEK),
        "discovery",
    )
    missing_amount = await org.walk(client, await org.create(client), "discovery")
    too_far = await org.create(client)  # Prospecting: no transition to Proposal
    before = {d["id"]: await _state(owner_conn, d["id"]) for d in (ready, missing_amount, too_far)}

    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={
            "ids": [ready["id"], missing_amount["id"], too_far["id"]],
            "action": "move",
            "to_step_id": str(org.steps["proposal"]),
        },
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "move"
    assert body["total"] == 3
    assert body["counts"] == {"moved": 1, "refused": 2}
    assert [row["id"] for row in body["results"]] == [
        ready["id"],
        missing_amount["id"],
        too_far["id"],
    ]
    rows = _by_id(body)
    assert rows[ready["id"]] == {"id": ready["id"], "status": "moved", "error": None}
    refused = rows[missing_amount["id"]]
    assert refused["status"] == "refused"
    assert {e["field"] for e in refused["error"]["errors"]} == {
        "fields.amount",
        "fields.expected_close_date",
    }
    # The same words the single move gives.
    single = await org.move(client, await org.get(client, missing_amount), "proposal")
    assert single.status_code == 422
    assert refused["error"]["detail"] == single.json()["detail"]
    assert rows[too_far["id"]]["status"] == "refused"
    assert rows[too_far["id"]]["error"]["detail"]

    moved = await _state(owner_conn, ready["id"])
    assert moved["step"] == "proposal"
    assert moved["version"] == before[ready["id"]]["version"] + 1
    assert moved["history"] == before[ready["id"]]["history"] + 1
    assert moved["audit"] > before[ready["id"]]["audit"]
    actor = await owner_conn.fetchval(
        "SELECT actor_user_id FROM audit_log WHERE row_id = $1 ORDER BY id DESC LIMIT 1",
        uuid.UUID(ready["id"]),
    )
    assert actor == org.sales.user_id
    entry = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE deal_id = $1 AND subject LIKE '%Proposal%'",
        uuid.UUID(ready["id"]),
    )
    assert entry == 1
    for deal in (missing_amount, too_far):
        assert await _state(owner_conn, deal["id"]) == before[deal["id"]]


async def test_a_deal_already_at_the_stage_is_unchanged(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery")
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={"ids": [deal["id"]], "action": "move", "to_step_id": str(org.steps["discovery"])},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "unchanged"
    assert (await org.get(client, deal))["version"] == deal["version"]


async def test_a_close_step_is_refused_as_the_single_move_refuses_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery")
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={"ids": [deal["id"]], "action": "move", "to_step_id": str(org.steps["won"])},
    )
    row = response.json()["results"][0]
    assert row["status"] == "refused"
    assert "/close" in row["error"]["detail"]


async def test_another_organizations_ids_are_not_found_and_untouched(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    other_admin = await register_tenant(client)
    other = Org(
        admin=other_admin,
        sales=other_admin,
        account_id=await insert_account(owner_conn, other_admin),
        steps=await pipeline_steps(owner_conn, other_admin),
    )
    theirs = await other.create(client)
    mine = await org.create(client)
    before = await _state(owner_conn, theirs["id"])
    unknown = str(uuid.uuid4())

    for action in (
        {"action": "delete"},
        {"action": "change_owner", "owner_id": str(org.sales.user_id)},
    ):
        response = await client.post(
            URL, headers=org.sales.headers, json={"ids": [theirs["id"], unknown], **action}
        )
        assert response.status_code == 200, response.text
        assert [row["status"] for row in response.json()["results"]] == ["not_found", "not_found"]
        assert response.json()["results"][0]["error"]["detail"] == "No such deal"
        assert await _state(owner_conn, theirs["id"]) == before

    # Their ids beside ours: ours done, theirs not found.
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={
            "ids": [theirs["id"], mine["id"]],
            "action": "move",
            "to_step_id": str(other.steps["discovery"]),
        },
    )
    statuses = [row["status"] for row in response.json()["results"]]
    assert statuses[0] == "not_found"
    # Our deal's workflow has no step with the other organization's id.
    assert statuses[1] == "refused"
    assert await _state(owner_conn, theirs["id"]) == before


async def test_a_viewer_may_not_act_in_bulk(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    viewer = await add_member(client, org.admin, "viewer")
    deal = await org.create(client)
    response = await client.post(
        URL, headers=viewer.headers, json={"ids": [deal["id"]], "action": "delete"}
    )
    assert response.status_code == 403, response.text
    assert (await _state(owner_conn, deal["id"]))["deleted_at"] is None


async def test_duplicate_ids_are_acted_on_and_answered_once(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    before = await _state(owner_conn, deal["id"])
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={
            "ids": [deal["id"], deal["id"], deal["id"]],
            "action": "move",
            "to_step_id": str(org.steps["discovery"]),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 1
    assert response.json()["results"] == [{"id": deal["id"], "status": "moved", "error": None}]
    assert (await _state(owner_conn, deal["id"]))["history"] == before["history"] + 1


async def test_the_request_names_rows_and_what_the_action_needs(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ids": [], "action": "delete"}, "ids"),
        ({"action": "delete"}, ""),
        ({"ids": [deal["id"]], "filter": {}, "action": "delete"}, ""),
        ({"ids": [deal["id"]], "action": "move"}, ""),
        ({"ids": [deal["id"]], "action": "change_owner"}, ""),
        ({"ids": [deal["id"]], "action": "add_tag", "tag": "vip"}, "action"),
        ({"ids": [str(uuid.uuid4()) for _ in range(1001)], "action": "delete"}, "ids"),
    ]
    for body, field in cases:
        response = await client.post(URL, headers=org.sales.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        if field:
            assert any(e["field"].startswith(field) for e in response.json()["errors"]), (
                response.text
            )
    assert (await org.get(client, deal))["version"] == deal["version"]


async def test_an_unknown_cadence_is_refused_for_the_whole_request(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={"ids": [deal["id"]], "action": "enrol", "cadence_id": str(uuid.uuid4())},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "cadence_id"


async def test_delete_then_restore_undoes_it(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deals = [await org.create(client) for _ in range(2)]
    ids = [d["id"] for d in deals]
    deleted = await client.post(
        URL, headers=org.sales.headers, json={"ids": ids, "action": "delete"}
    )
    assert deleted.json()["counts"] == {"deleted": 2}
    for deal_id in ids:
        assert (await _state(owner_conn, deal_id))["deleted_at"] is not None
    restored = await client.post(
        URL, headers=org.sales.headers, json={"ids": ids, "action": "restore"}
    )
    assert restored.json()["counts"] == {"restored": 2}, restored.text
    for deal_id in ids:
        assert (await _state(owner_conn, deal_id))["deleted_at"] is None
    # A live deal is not deleted: the single restore's 409, row by row.
    again = await client.post(
        URL, headers=org.sales.headers, json={"ids": ids, "action": "restore"}
    )
    assert {row["status"] for row in again.json()["results"]} == {"refused"}
    assert again.json()["results"][0]["error"]["detail"] == "The deal is not deleted"


async def test_change_owner_by_filter_and_enrol(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    mine = [await org.create(client) for _ in range(3)]
    response = await client.post(
        URL,
        headers=org.sales.headers,
        json={
            "filter": {"view": "mine", "account_id": str(org.account_id)},
            "action": "change_owner",
            "owner_id": str(org.admin.user_id),
        },
    )
    assert response.status_code == 200, response.text
    assert sorted(row["id"] for row in response.json()["results"]) == sorted(d["id"] for d in mine)
    for deal in mine:
        assert (await _state(owner_conn, deal["id"]))["owner_id"] == org.admin.user_id
    # Nobody's left in the sales member's view now.
    empty = await client.post(
        URL,
        headers=org.sales.headers,
        json={"filter": {"view": "mine"}, "action": "delete"},
    )
    assert empty.status_code == 200
    assert empty.json()["results"] == []

    cadence_id = await owner_conn.fetchval(
        "SELECT id FROM cadences WHERE tenant_id = $1 AND active ORDER BY created_at LIMIT 1",
        org.admin.tenant_id,
    )
    enrolled = await client.post(
        URL,
        headers=org.sales.headers,
        json={"ids": [mine[0]["id"]], "action": "enrol", "cadence_id": str(cadence_id)},
    )
    assert enrolled.json()["results"][0]["status"] == "enrolled", enrolled.text
    twice = await client.post(
        URL,
        headers=org.sales.headers,
        json={"ids": [mine[0]["id"]], "action": "enrol", "cadence_id": str(cadence_id)},
    )
    assert twice.json()["results"][0]["status"] == "refused"
    assert "already enrolled" in twice.json()["results"][0]["error"]["detail"]


async def test_an_idempotency_key_replays_the_answer_without_acting_again(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    body = {"ids": [deal["id"]], "action": "move", "to_step_id": str(org.steps["discovery"])}
    headers = {**org.sales.headers, "Idempotency-Key": f"bulk-{uuid.uuid4()}"}
    first = await client.post(URL, headers=headers, json=body)
    assert first.status_code == 200, first.text
    after_first = await _state(owner_conn, deal["id"])
    replay = await client.post(URL, headers=headers, json=body)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert await _state(owner_conn, deal["id"]) == after_first
    other = await client.post(URL, headers=headers, json={**body, "action": "delete"})
    assert other.status_code == 422


async def test_all_matching_is_exactly_what_the_deals_list_shows_for_its_filters(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    """The bulk filter is the list's filters: for each, the rows acted on are the rows
    `GET /api/v1/deals` lists, in its order, and never another organization's."""
    month = NEXT_WEEK[:7]
    small = await org.create(client, amount="100.00", expected_close_date=NEXT_WEEK)
    large = await org.create(client, amount="9000.00", owner_id=str(org.admin.user_id))
    middle = await org.walk(
        client,
        await org.create(client, amount="2500.50", expected_close_date=NEXT_WEEK),
        "discovery",
    )
    late = await org.create(client, amount="2600.00")
    await owner_conn.execute(
        "UPDATE deals SET next_step_due_date = current_date - 3 WHERE id = $1",
        uuid.UUID(late["id"]),
    )
    # Another organization with deals that match every filter below.
    other_admin = await register_tenant(client)
    other = Org(
        admin=other_admin,
        sales=other_admin,
        account_id=await insert_account(owner_conn, other_admin),
        steps=await pipeline_steps(owner_conn, other_admin),
    )
    theirs = {
        (await other.create(client, amount=amount, expected_close_date=NEXT_WEEK))["id"]
        for amount in ("100.00", "2500.50", "9000.00")
    }
    await owner_conn.execute(
        "UPDATE deals SET next_step_due_date = current_date - 3 WHERE tenant_id = $1",
        other_admin.tenant_id,
    )

    filters: list[tuple[dict[str, Any], set[str]]] = [
        ({"owner_id": str(org.admin.user_id)}, {large["id"]}),
        ({"stage": "discovery"}, {middle["id"]}),
        ({"amount_min": 2000, "amount_max": "2600.00"}, {middle["id"], late["id"]}),
        ({"close_month": month, "view": "pipeline"}, {small["id"], middle["id"]}),
        ({"overdue": True}, {late["id"]}),
        ({"overdue": False, "amount_min": "1000", "sort": "-amount"}, {large["id"], middle["id"]}),
        ({"view": "mine", "sort": "amount"}, {small["id"], middle["id"], late["id"]}),
    ]
    for matched, expected in filters:
        listed = await client.get(
            "/api/v1/deals",
            headers=org.sales.headers,
            params={
                k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in matched.items()
            },
        )
        assert listed.status_code == 200, listed.text
        listed_ids = [deal["id"] for deal in listed.json()["items"]]
        assert set(listed_ids) == expected, matched
        # Restoring live deals changes nothing and answers every matched row.
        response = await client.post(
            URL, headers=org.sales.headers, json={"filter": matched, "action": "restore"}
        )
        assert response.status_code == 200, response.text
        assert [row["id"] for row in response.json()["results"]] == listed_ids, matched
        assert not theirs & {row["id"] for row in response.json()["results"]}


async def test_a_deal_filter_is_held_to_the_list_filters_rules(
    client: httpx.AsyncClient, org: Org
) -> None:
    for matched, field in (
        ({"amount_min": 500, "amount_max": 100}, "amount_max"),
        ({"amount_min": "1e3"}, "amount_min"),
        ({"overdue": "true"}, "overdue"),
        ({"close_month": "2026-13"}, "close_month"),
        ({"sort": "probability"}, "sort"),
        ({"tag": "vip"}, "tag"),
    ):
        response = await client.post(
            URL, headers=org.sales.headers, json={"filter": matched, "action": "delete"}
        )
        assert response.status_code == 422, (matched, response.text)
        assert field in response.text, matched
