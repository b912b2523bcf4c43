"""The database backs every deal rule, whoever sends the SQL: raw statements as the
app role (what a bug in Python could do at worst) are refused like the API refuses."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.deals.conftest import Org


async def _as_member(
    app_conn: asyncpg.Connection, org: Org, reason: str = "", notes: str = ""
) -> None:
    await app_conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
        " set_config('baton.role', 'sales', true),"
        " set_config('baton.transition_reason', $3, true),"
        " set_config('baton.transition_notes', $4, true)",
        str(org.admin.tenant_id),
        str(org.sales.user_id),
        reason,
        notes,
    )


async def _refused(
    app_conn: asyncpg.Connection,
    org: Org,
    statement: str,
    *args: Any,
    reason: str = "",
    notes: str = "",
) -> str:
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        async with app_conn.transaction():
            await _as_member(app_conn, org, reason, notes)
            await app_conn.execute(statement, *args)
    return str(refused.value.constraint_name)


async def test_a_jump_from_prospecting_to_won_is_refused_by_the_database(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    constraint = await _refused(
        app_conn,
        org,
        "UPDATE deals SET step_id = $2, outcome = 'won', win_reason = 'price', closed_at = now()"
        " WHERE id = $1",
        uuid.UUID(deal["id"]),
        org.steps["won"],
        reason="price",
    )
    assert constraint == "workflow_transition_required"
    assert (await org.get(client, deal))["step"]["key"] == "prospecting"


async def test_a_close_without_its_reason_is_refused_by_the_database(
    client: httpx.AsyncClient, org: Org, app_conn: asyncpg.Connection
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    deal_id = uuid.UUID(deal["id"])
    close = (
        "UPDATE deals SET step_id = $2, outcome = $3, win_reason = $4, loss_reason = $5,"
        " close_notes = $6, closed_at = now() WHERE id = $1"
    )
    won, lost = org.steps["won"], org.steps["lost"]
    # The transition's reason is there for the history trigger; the deal row lacks it.
    assert (
        await _refused(app_conn, org, close, deal_id, won, "won", None, None, None, reason="price")
        == "ck_deals_won_has_reason"
    )
    assert (
        await _refused(
            app_conn, org, close, deal_id, lost, "lost", None, None, None, reason="price"
        )
        == "ck_deals_lost_has_reason"
    )
    assert (
        await _refused(
            app_conn,
            org,
            close,
            deal_id,
            won,
            "won",
            "other",
            None,
            None,
            reason="other",
            notes="n",
        )
        == "ck_deals_other_reason_has_notes"
    )
    # Without the transition's reason the history trigger refuses first.
    assert (
        await _refused(app_conn, org, close, deal_id, won, "won", "price", None, None)
        == "workflow_transition_reason"
    )
    # An outcome that does not match the step, and an open deal without a next step.
    assert (
        await _refused(
            app_conn,
            org,
            "UPDATE deals SET outcome = 'won', win_reason = 'price', closed_at = now()"
            " WHERE id = $1",
            deal_id,
        )
        == "deal_outcome_matches_step"
    )
    assert (
        await _refused(app_conn, org, "UPDATE deals SET next_step = NULL WHERE id = $1", deal_id)
        == "ck_deals_open_has_next_step"
    )
    assert (await org.get(client, deal))["outcome"] is None
    # The same close with its reason goes through.
    async with app_conn.transaction():
        await _as_member(app_conn, org, "price")
        await app_conn.execute(close, deal_id, won, "won", "price", None, None)
    assert (await org.get(client, deal))["outcome"] == "won"
