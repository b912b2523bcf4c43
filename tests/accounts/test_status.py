"""The computed account status (DESIGN §5), driven by ledger dates and won deals.

Dates in the data are fixed relative to today; the code and the view use the real
clock, so these hold on any day.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.accounts.support import add_transaction, create_account, insert_deal, today
from tests.factories import Member, register_tenant


async def _status(client: httpx.AsyncClient, member: Member, account: dict[str, Any]) -> Any:
    response = await client.get(f"/api/v1/accounts/{account['id']}", headers=member.headers)
    assert response.status_code == 200
    return response.json()["status"]


@pytest.mark.parametrize(
    ("ledger_days_ago", "tenure", "activity"),
    [
        ([], "prospect", "no_transaction"),
        ([10], "new_customer", "active"),
        ([90], "new_customer", "inactive"),
        ([30], "new_customer", "active"),
        ([31], "new_customer", "passive"),
        ([120, 45], "active_customer", "passive"),
        ([120, 10], "active_customer", "active"),
        ([200, 89], "active_customer", "passive"),
        ([120], "winback_target", "inactive"),
        ([400, 91], "winback_target", "inactive"),
    ],
)
async def test_status_follows_the_ledger(
    client: httpx.AsyncClient, ledger_days_ago: list[int], tenure: str, activity: str
) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    for days in ledger_days_ago:
        await add_transaction(client, admin, account["id"], days)
    status = await _status(client, admin, account)
    assert (status["tenure"], status["activity"]) == (tenure, activity)
    if ledger_days_ago:
        first, last = max(ledger_days_ago), min(ledger_days_ago)
        assert status["customer_since"] == status["first_transaction_on"]
        assert status["first_transaction_on"] == (today() - timedelta(days=first)).isoformat()
        assert status["last_transaction_on"] == (today() - timedelta(days=last)).isoformat()
    else:
        assert status["customer_since"] is None
        assert status["last_transaction_on"] is None


async def test_a_won_deal_makes_a_customer_and_a_lost_one_does_not(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    lost = await create_account(client, admin)
    await insert_deal(owner_conn, admin, lost["id"], outcome="lost", closed_days_ago=5)
    assert (await _status(client, admin, lost))["tenure"] == "prospect"

    recent = await create_account(client, admin)
    await insert_deal(owner_conn, admin, recent["id"], outcome="won", closed_days_ago=5)
    status = await _status(client, admin, recent)
    assert (status["tenure"], status["activity"]) == ("new_customer", "no_transaction")
    assert (
        status["first_won_on"]
        == status["customer_since"]
        == (today() - timedelta(days=5)).isoformat()
    )

    # Won long ago, never a ledger line: a customer, with no activity to judge by.
    old = await create_account(client, admin)
    await insert_deal(owner_conn, admin, old["id"], outcome="won", closed_days_ago=200)
    status = await _status(client, admin, old)
    assert (status["tenure"], status["activity"]) == ("active_customer", "no_transaction")

    # The won deal came first, the ledger later: customer since the deal.
    mixed = await create_account(client, admin)
    await insert_deal(owner_conn, admin, mixed["id"], outcome="won", closed_days_ago=150)
    await add_transaction(client, admin, mixed["id"], 100)
    status = await _status(client, admin, mixed)
    assert (status["tenure"], status["activity"]) == ("winback_target", "inactive")
    assert status["customer_since"] == (today() - timedelta(days=150)).isoformat()


async def test_lists_filter_by_tenure_and_activity(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    prospect = await create_account(client, admin)
    new = await create_account(client, admin)
    await add_transaction(client, admin, new["id"], 10)
    active = await create_account(client, admin)
    await add_transaction(client, admin, active["id"], 120)
    await add_transaction(client, admin, active["id"], 45)
    winback = await create_account(client, admin)
    await add_transaction(client, admin, winback["id"], 120)

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v1/accounts", headers=admin.headers, params=params)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids(tenure="prospect") == [prospect["id"]]
    assert await ids(tenure="new_customer") == [new["id"]]
    assert await ids(tenure="active_customer") == [active["id"]]
    assert await ids(tenure="winback_target") == [winback["id"]]
    assert await ids(activity="no_transaction") == [prospect["id"]]
    assert await ids(activity="active") == [new["id"]]
    assert await ids(activity="passive") == [active["id"]]
    assert await ids(activity="inactive") == [winback["id"]]
    assert await ids(tenure="winback_target", activity="active") == []
    listed = await client.get("/api/v1/accounts", headers=admin.headers)
    statuses = {a["id"]: a["status"]["tenure"] for a in listed.json()["items"]}
    assert statuses[new["id"]] == "new_customer"


async def test_the_status_cannot_be_written(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    account = await create_account(client, admin)
    response = await client.patch(
        f"/api/v1/accounts/{account['id']}",
        headers=admin.headers,
        json={"status": {"tenure": "active_customer"}, "version": 1},
    )
    assert response.status_code == 422
