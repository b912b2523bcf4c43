"""Every transition of the target-prospecting workflow, valid and invalid, through
POST /targets/{id}/status and /convert; history and timeline entries of each move."""

from __future__ import annotations

import itertools

import asyncpg
import httpx

from tests.factories import register_tenant
from tests.targets.support import STATUSES, bring_to, create_target, get_target, set_status

# What /status accepts (the default workflow); Converted is reached by /convert only.
STATUS_MOVES = {
    ("new_target", "contacted"),
    ("contacted", "engaged"),
    ("engaged", "qualified"),
    *((key, "dropped") for key in ("new_target", "contacted", "engaged", "qualified")),
}


async def test_every_status_change_is_accepted_exactly_along_a_transition(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    for source, goal in itertools.product(STATUSES, STATUSES):
        target = await bring_to(client, admin, await create_target(client, admin), source)
        extra = {"reason": "not_interested"} if goal == "dropped" else {}
        response = await set_status(client, admin, target, goal, **extra)
        pair = f"{source} → {goal}"
        if (source, goal) in STATUS_MOVES:
            assert response.status_code == 200, (pair, response.text)
            moved = response.json()
            assert moved["status"] == goal == moved["step"]["key"], pair
            assert moved["version"] == target["version"] + 1, pair
            history = await owner_conn.fetchrow(
                "SELECT f.key AS from_key, t.key AS to_key, h.reason, h.actor_id"
                " FROM workflow_history h"
                " JOIN workflow_steps f ON f.tenant_id = h.tenant_id AND f.id = h.from_step_id"
                " JOIN workflow_steps t ON t.tenant_id = h.tenant_id AND t.id = h.to_step_id"
                " WHERE h.tenant_id = $1 AND h.record_id = $2 AND h.entity_type = 'target'"
                " ORDER BY h.at DESC, h.id DESC LIMIT 1",
                admin.tenant_id,
                moved["id"],
            )
            assert history is not None, pair
            assert (history["from_key"], history["to_key"]) == (source, goal), pair
            assert history["actor_id"] == admin.user_id
            assert history["reason"] == extra.get("reason")
            timeline = await client.get(
                f"/api/v1/targets/{moved['id']}/activities", headers=admin.headers
            )
            latest = timeline.json()[0]
            assert latest["type"] == "system", pair
            assert latest["subject"].startswith("Stage changed:"), pair
            assert latest["target_id"] == moved["id"]
        else:
            assert response.status_code == 422, (pair, response.text)
            assert response.json()["errors"], pair
            unchanged = await get_target(client, admin, target["id"])
            assert unchanged["status"] == source, pair
            assert unchanged["version"] == target["version"], pair


async def test_converted_is_reached_only_by_converting(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    fresh = await create_target(client, admin)
    refused = await set_status(client, admin, fresh, "converted")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "to_step_id"
    qualified = await bring_to(client, admin, await create_target(client, admin), "qualified")
    refused = await set_status(client, admin, qualified, "converted")
    assert refused.status_code == 422
    assert "/convert" in refused.json()["detail"]
    assert (await get_target(client, admin, qualified["id"]))["status"] == "qualified"


async def test_convert_is_refused_except_from_engaged_and_qualified(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    for source in ("new_target", "contacted", "dropped"):
        target = await bring_to(client, admin, await create_target(client, admin), source)
        response = await client.post(
            f"/api/v1/targets/{target['id']}/convert", headers=admin.headers
        )
        assert response.status_code == 422, (source, response.text)
        assert response.json()["errors"][0]["field"] == "status"
        assert (await get_target(client, admin, target["id"]))["version"] == target["version"]


async def test_dropping_needs_a_listed_reason_and_other_needs_notes(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    target = await bring_to(client, admin, await create_target(client, admin), "contacted")
    cases: tuple[tuple[dict[str, str], str], ...] = (
        ({}, "reason"),
        ({"reason": "bored"}, "reason"),
        ({"reason": "other"}, "notes"),
        ({"reason": "other", "notes": "   "}, "notes"),
    )
    for extra, field in cases:
        response = await set_status(client, admin, target, "dropped", **extra)
        assert response.status_code == 422, (extra, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], extra
    assert (await get_target(client, admin, target["id"]))["dropped_at"] is None

    dropped = await set_status(
        client, admin, target, "dropped", reason="other", notes="Moved abroad"
    )
    assert dropped.status_code == 200, dropped.text
    body = dropped.json()
    assert body["status"] == "dropped"
    assert (body["drop_reason"], body["drop_notes"]) == ("other", "Moved abroad")
    assert body["dropped_at"] is not None


async def test_an_unknown_status_is_422_naming_it(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    target = await create_target(client, admin)
    response = await set_status(client, admin, target, "won")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"
