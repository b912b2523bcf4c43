"""Deals through the API: the seed-000 checklist, edits, views, roles and tenants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.deals.conftest import NEXT_WEEK, Org, insert_account, insert_contact
from tests.factories import add_member, register_tenant


async def test_a_new_deal_starts_at_the_initial_step_with_history(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    before = datetime.now(UTC)
    deal = await org.create(client, amount="2500.50", currency="USD")
    assert deal["step"]["key"] == "prospecting"
    assert deal["step"]["category"] == "open"
    assert before - timedelta(seconds=5) <= datetime.fromisoformat(deal["entered_step_at"])
    assert deal["owner_id"] == str(org.sales.user_id)
    assert deal["probability"] == 10
    assert deal["probability_override"] is None
    assert deal["amount"] == "2500.50"
    assert deal["outcome"] is None
    assert deal["version"] == 1
    stored = await owner_conn.fetchrow(
        "SELECT step_id, entered_step_at, rank FROM deals WHERE id = $1", uuid.UUID(deal["id"])
    )
    assert stored["step_id"] == org.steps["prospecting"]
    assert stored["rank"] == deal["rank"]
    history = (
        await client.get(f"/api/v1/deals/{deal['id']}/history", headers=org.sales.headers)
    ).json()
    assert [(h["from_step"], h["to_step"]["key"]) for h in history] == [(None, "prospecting")]
    assert history[0]["actor_id"] == str(org.sales.user_id)
    assert history[0]["current"] is True
    later = await org.create(client, probability=35)
    assert later["probability"] == 35
    assert later["rank"] > deal["rank"]


async def test_create_checks_account_contact_owner_and_next_step(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    async def post(**body: Any) -> httpx.Response:
        payload = {
            "name": "Deal",
            "account_id": str(org.account_id),
            "next_step": "Call",
            "next_step_due_date": NEXT_WEEK,
            **body,
        }
        return await client.post("/api/v1/deals", headers=org.sales.headers, json=payload)

    assert (await post(account_id=str(uuid.uuid4()))).status_code == 404
    gone = await insert_account(owner_conn, org.admin)
    await owner_conn.execute(
        "UPDATE accounts SET deleted_at = now(), deletion_id = gen_random_uuid() WHERE id = $1",
        gone,
    )
    deleted = await post(account_id=str(gone))
    assert deleted.status_code == 422
    assert deleted.json()["errors"][0]["field"] == "account_id"
    elsewhere = await insert_contact(
        owner_conn, org.admin, await insert_account(owner_conn, org.admin)
    )
    wrong_contact = await post(contact_id=str(elsewhere))
    assert wrong_contact.status_code == 422
    assert wrong_contact.json()["errors"][0]["field"] == "contact_id"
    own_contact = await insert_contact(owner_conn, org.admin, org.account_id)
    assert (await post(contact_id=str(own_contact))).status_code == 201
    viewer = await add_member(client, org.admin, "viewer")
    not_a_writer = await post(owner_id=str(viewer.user_id))
    assert not_a_writer.status_code == 422
    assert not_a_writer.json()["errors"][0]["field"] == "owner_id"
    given = await post(owner_id=str(org.admin.user_id))
    assert given.json()["owner_id"] == str(org.admin.user_id)
    for bad in (
        {"next_step": None},
        {"next_step_due_date": None},
        {"amount": "-1"},
        {"currency": "usd"},
        {"probability": 101},
    ):
        response = await post(**bad)
        assert response.status_code == 422, (bad, response.text)


async def test_every_valid_path_of_the_pipeline(client: httpx.AsyncClient, org: Org) -> None:
    # Forward to each open step and back one step from each.
    deal = await org.create(client)
    deal = await org.walk(client, deal, "discovery", "proposal", "negotiation")
    assert deal["step"]["key"] == "negotiation"
    assert deal["probability"] == 75
    back = await org.move(client, deal, "proposal")
    assert back.status_code == 200, back.text
    assert back.json()["backwards"] is True
    deal = await org.walk(client, back.json()["deal"], "discovery", "prospecting")
    assert deal["step"]["key"] == "prospecting"
    # Won from Negotiation.
    deal = await org.walk(client, deal, "discovery", "proposal", "negotiation")
    won = await org.close(client, deal, outcome="won", reason="price")
    assert won.status_code == 200, won.text
    assert won.json()["deal"]["outcome"] == "won"
    assert won.json()["deal"]["step"]["key"] == "won"
    assert won.json()["deal"]["probability"] == 100
    # Lost from every open step.
    for path in (
        (),
        ("discovery",),
        ("discovery", "proposal"),
        ("discovery", "proposal", "negotiation"),
    ):
        deal = await org.walk(client, await org.create(client), *path)
        lost = await org.close(client, deal, outcome="lost", reason="competitor")
        assert lost.status_code == 200, (path, lost.text)
        body = lost.json()["deal"]
        assert (body["step"]["key"], body["outcome"], body["loss_reason"]) == (
            "lost",
            "lost",
            "competitor",
        )
        assert body["closed_at"] is not None


async def test_proposal_requires_amount_and_expected_close_date(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery")
    missing = await org.move(client, deal, "proposal")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {
        "fields.amount",
        "fields.expected_close_date",
    }
    await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={"amount": "10.00", "version": deal["version"]},
    )
    deal = await org.get(client, deal)
    half = await org.move(client, deal, "proposal")
    assert [e["field"] for e in half.json()["errors"]] == ["fields.expected_close_date"]
    done = await org.move(client, deal, "proposal", fields={"expected_close_date": NEXT_WEEK})
    assert done.status_code == 200, done.text
    assert done.json()["deal"]["expected_close_date"] == NEXT_WEEK
    assert done.json()["deal"]["amount"] == "10.00"


async def test_an_invalid_jump_is_422_and_changes_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    jump = await org.close(client, deal, outcome="won", reason="price")
    assert jump.status_code == 422
    assert jump.json()["type"].endswith("/transition-rejected")
    assert "Prospecting" in jump.json()["errors"][0]["message"]
    assert "Won" in jump.json()["errors"][0]["message"]
    skip = await org.move(client, deal, "negotiation")
    assert skip.status_code == 422
    assert skip.json()["errors"][0]["field"] == "to_step_id"
    unchanged = await org.get(client, deal)
    assert (unchanged["step"]["key"], unchanged["version"]) == ("prospecting", 1)


async def test_won_and_lost_steps_are_reached_only_by_closing(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    for key in ("won", "lost"):
        for dry_run in (False, True):
            refused = await org.move(client, deal, key, reason="price", dry_run=dry_run)
            assert refused.status_code == 422
            assert "/close" in refused.json()["detail"]
    assert (await org.get(client, deal))["step"]["key"] == "negotiation"


async def test_won_with_reason_other_requires_notes(client: httpx.AsyncClient, org: Org) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    bare = await org.close(client, deal, outcome="won", reason="other")
    assert bare.status_code == 422
    assert [e["field"] for e in bare.json()["errors"]] == ["notes"]
    blank = await org.close(client, deal, outcome="won", reason="other", notes="   ")
    assert blank.status_code == 422
    unknown = await org.close(client, deal, outcome="won", reason="luck")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "reason"
    assert (await org.get(client, deal))["outcome"] is None
    ok = await org.close(
        client, deal, outcome="won", reason="other", notes="Their CFO is an old friend"
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["deal"]["win_reason"] == "other"
    assert ok.json()["deal"]["close_notes"] == "Their CFO is an old friend"


async def test_a_close_without_its_reason_is_422_and_changes_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    deal_id = uuid.UUID(deal["id"])

    async def footprint() -> tuple[Any, ...]:
        return tuple(
            await owner_conn.fetchrow(
                "SELECT d.version, d.step_id, d.outcome,"
                " (SELECT count(*) FROM workflow_history h WHERE h.record_id = d.id),"
                " (SELECT count(*) FROM activities a WHERE a.deal_id = d.id),"
                " (SELECT count(*) FROM audit_log l WHERE l.row_id = d.id)"
                " FROM deals d WHERE d.id = $1",
                deal_id,
            )
        )

    before = await footprint()
    for outcome in ("won", "lost"):
        refused = await org.close(client, deal, outcome=outcome)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "reason"
    assert await footprint() == before


async def test_close_logs_the_activity_audits_and_cancels_planned_work(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    deal_id = uuid.UUID(deal["id"])
    planned = uuid.uuid4()
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id, deal_id,"
        " account_id, due_at) VALUES ($1, $2, 'call', 'planned', 'Follow up', $3, $4, $5,"
        " now() + interval '1 day')",
        org.admin.tenant_id,
        planned,
        org.sales.user_id,
        deal_id,
        org.account_id,
    )
    closed = await org.close(client, deal, outcome="lost", reason="no_budget", notes="Q3 freeze")
    assert closed.status_code == 200, closed.text
    assert closed.json()["cancelled_activities"] == 1
    assert (await owner_conn.fetchval("SELECT status FROM activities WHERE id = $1", planned)) == (
        "cancelled"
    )
    entry = await owner_conn.fetchrow(
        "SELECT type, status, subject, description, account_id, created_by FROM activities"
        " WHERE deal_id = $1 AND subject LIKE 'Stage changed: Negotiation%'",
        deal_id,
    )
    assert entry["subject"] == "Stage changed: Negotiation → Lost"
    assert (entry["type"], entry["status"]) == ("system", "done")
    assert entry["account_id"] == org.account_id
    assert entry["created_by"] == org.sales.user_id
    # Read by people on the timeline: the reason in words, the notes after it.
    assert entry["description"] == "Closed lost: no budget — Q3 freeze"
    audit = await owner_conn.fetchrow(
        "SELECT changed_columns, before, after, actor_user_id FROM audit_log"
        " WHERE table_name = 'deals' AND row_id = $1 ORDER BY id DESC LIMIT 1",
        deal_id,
    )
    assert {"outcome", "loss_reason", "closed_at", "step_id"} <= set(audit["changed_columns"])
    assert audit["actor_user_id"] == org.sales.user_id
    history = await owner_conn.fetchrow(
        "SELECT reason, notes FROM workflow_history WHERE record_id = $1 ORDER BY at DESC, id DESC"
        " LIMIT 1",
        deal_id,
    )
    assert (history["reason"], history["notes"]) == ("no_budget", "Q3 freeze")
    again = await org.close(client, closed.json()["deal"], outcome="won", reason="price")
    assert again.status_code == 422


async def test_a_move_logs_stage_changed_on_the_deal_and_its_account(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.walk(client, await org.create(client), "discovery")
    rows = await owner_conn.fetch(
        "SELECT subject, account_id FROM activities WHERE deal_id = $1", uuid.UUID(deal["id"])
    )
    assert [(r["subject"], r["account_id"]) for r in rows] == [
        ("Stage changed: Prospecting → Discovery", org.account_id)
    ]


async def test_history_gives_the_time_in_each_stage(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    # An hour in Prospecting, as if the deal had been opened earlier.
    await owner_conn.execute(
        "UPDATE workflow_history SET at = at - interval '1 hour' WHERE record_id = $1",
        uuid.UUID(deal["id"]),
    )
    deal = await org.walk(client, deal, "discovery")
    history = (
        await client.get(f"/api/v1/deals/{deal['id']}/history", headers=org.sales.headers)
    ).json()
    assert [h["to_step"]["key"] for h in history] == ["prospecting", "discovery"]
    assert history[0]["seconds_in_step"] >= 3600
    assert history[0]["current"] is False
    assert history[1]["from_step"]["key"] == "prospecting"
    assert history[1]["seconds_in_previous_step"] >= 0
    assert history[1]["current"] is True
    assert 0 <= history[1]["seconds_in_step"] < 60


async def test_stale_versions_are_409_and_dry_runs_write_nothing(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    deal_id = uuid.UUID(deal["id"])
    counts = (
        "SELECT (SELECT version FROM deals WHERE id = $1),"
        " (SELECT count(*) FROM workflow_history WHERE record_id = $1),"
        " (SELECT count(*) FROM activities WHERE deal_id = $1),"
        " (SELECT count(*) FROM audit_log WHERE row_id = $1)"
    )
    before = tuple(await owner_conn.fetchrow(counts, deal_id))
    dry = await org.move(client, deal, "discovery", dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert dry.json()["to_step"]["key"] == "discovery"
    assert dry.json()["deal"]["step"]["key"] == "prospecting"
    assert tuple(await owner_conn.fetchrow(counts, deal_id)) == before
    moved = (await org.move(client, deal, "discovery")).json()["deal"]
    assert moved["version"] == 2
    assert (await org.move(client, deal, "prospecting")).status_code == 409
    assert (await org.close(client, deal, outcome="lost", reason="timing")).status_code == 409
    stale_patch = await client.patch(
        f"/api/v1/deals/{deal['id']}", headers=org.sales.headers, json={"name": "x", "version": 1}
    )
    assert stale_patch.status_code == 409
    no_version = await client.patch(
        f"/api/v1/deals/{deal['id']}", headers=org.sales.headers, json={"name": "x"}
    )
    assert no_version.status_code == 422
    stale_delete = await client.delete(
        f"/api/v1/deals/{deal['id']}", headers={**org.sales.headers, "If-Match": '"1"'}
    )
    assert stale_delete.status_code == 409


async def test_patch_keeps_an_open_deal_with_a_next_step(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client, amount="5.00")
    url = f"/api/v1/deals/{deal['id']}"
    for removal in ({"next_step": None}, {"next_step_due_date": None}, {"name": None}):
        refused = await client.patch(url, headers=org.sales.headers, json={**removal, "version": 1})
        assert refused.status_code == 422, removal
    contact = await insert_contact(owner_conn, org.admin, org.account_id)
    edited = await client.patch(
        url,
        headers={**org.sales.headers, "If-Match": '"1"'},
        json={"amount": None, "probability": 60, "contact_id": str(contact), "next_step": "Demo"},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["amount"], body["probability"], body["next_step"], body["version"]) == (
        None,
        60,
        "Demo",
        2,
    )
    assert body["contact_id"] == str(contact)


async def test_delete_is_soft_and_takes_the_planned_activities(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client)
    deal_id = uuid.UUID(deal["id"])
    await owner_conn.execute(
        "INSERT INTO activities (tenant_id, id, type, status, subject, owner_id, deal_id)"
        " VALUES ($1, $2, 'task', 'planned', 'Send deck', $3, $4)",
        org.admin.tenant_id,
        uuid.uuid4(),
        org.sales.user_id,
        deal_id,
    )
    deleted = await client.delete(
        f"/api/v1/deals/{deal['id']}", headers=org.sales.headers, params={"version": 1}
    )
    assert deleted.status_code == 204
    row = await owner_conn.fetchrow(
        "SELECT deleted_at, deleted_by, deletion_id FROM deals WHERE id = $1", deal_id
    )
    assert row["deleted_by"] == org.sales.user_id
    activity = await owner_conn.fetchrow(
        "SELECT deleted_at, deletion_id FROM activities WHERE deal_id = $1", deal_id
    )
    assert activity["deletion_id"] == row["deletion_id"]
    gone = await client.get(f"/api/v1/deals/{deal['id']}", headers=org.sales.headers)
    assert gone.status_code == 404
    listed = (await client.get("/api/v1/deals", headers=org.sales.headers)).json()["items"]
    assert deal["id"] not in [d["id"] for d in listed]


async def test_views_pipeline_mine_overdue_closed(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    mine = await org.create(client)
    theirs = await org.create(client, owner_id=str(org.admin.user_id))
    overdue = await org.create(client, next_step_due_date=yesterday)
    closed = await org.close(client, await org.create(client), outcome="lost", reason="price")
    assert closed.status_code == 200

    async def view(name: str | None, member: Any = None) -> set[str]:
        params = {"view": name} if name else {}
        response = await client.get(
            "/api/v1/deals", headers=(member or org.sales).headers, params=params
        )
        assert response.status_code == 200, response.text
        return {d["id"] for d in response.json()["items"]}

    lost_id = closed.json()["deal"]["id"]
    assert await view("pipeline") == {mine["id"], theirs["id"], overdue["id"]}
    assert await view("mine") == {mine["id"], overdue["id"]}
    assert await view("mine", org.admin) == {theirs["id"]}
    assert await view("overdue") == {overdue["id"]}
    assert await view("closed") == {lost_id}
    assert await view(None) == {mine["id"], theirs["id"], overdue["id"], lost_id}
    by_account = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"account_id": str(await insert_account(owner_conn, org.admin))},
    )
    assert by_account.json()["items"] == []
    first = await client.get("/api/v1/deals", headers=org.sales.headers, params={"limit": 3})
    assert len(first.json()["items"]) == 3
    rest = await client.get(
        "/api/v1/deals",
        headers=org.sales.headers,
        params={"limit": 3, "cursor": first.json()["next_cursor"]},
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    assert (
        await client.get("/api/v1/deals", params={"view": "nope"}, headers=org.sales.headers)
    ).status_code == 422


async def test_viewers_read_and_cannot_write(client: httpx.AsyncClient, org: Org) -> None:
    deal = await org.walk(client, await org.create(client), "discovery", "proposal", "negotiation")
    viewer = await add_member(client, org.admin, "viewer")
    url = f"/api/v1/deals/{deal['id']}"
    for path in (url, f"{url}/history", "/api/v1/deals", "/api/v1/pipeline"):
        assert (await client.get(path, headers=viewer.headers)).status_code == 200, path
    writes = (
        await client.post(
            "/api/v1/deals",
            headers=viewer.headers,
            json={
                "name": "x",
                "account_id": str(org.account_id),
                "next_step": "x",
                "next_step_due_date": NEXT_WEEK,
            },
        ),
        await client.patch(
            url, headers=viewer.headers, json={"name": "x", "version": deal["version"]}
        ),
        await client.delete(url, headers=viewer.headers, params={"version": deal["version"]}),
        await org.move(client, deal, "proposal", member=viewer),
        await org.close(client, deal, member=viewer, outcome="won", reason="price"),
    )
    assert [w.status_code for w in writes] == [403] * 5
    assert (await org.get(client, deal))["version"] == deal["version"]


async def test_another_tenants_ids_are_404_on_every_endpoint(
    client: httpx.AsyncClient, org: Org
) -> None:
    deal = await org.create(client)
    other = await org.create(client)
    stranger = await register_tenant(client)
    url = f"/api/v1/deals/{deal['id']}"
    version = {"version": deal["version"]}
    responses = (
        await client.get(url, headers=stranger.headers),
        await client.patch(url, headers=stranger.headers, json={"name": "x", **version}),
        await client.delete(url, headers=stranger.headers, params=version),
        await client.post(
            f"{url}/move",
            headers=stranger.headers,
            json={"to_step_id": deal["step"]["id"], "after_id": other["id"], **version},
        ),
        await client.post(
            f"{url}/close",
            headers=stranger.headers,
            json={"outcome": "lost", "reason": "price", **version},
        ),
        await client.get(f"{url}/history", headers=stranger.headers),
        await client.get(
            "/api/v1/pipeline",
            headers=stranger.headers,
            params={"workflow_id": deal["workflow_id"]},
        ),
        await client.post(
            "/api/v1/deals",
            headers=stranger.headers,
            json={
                "name": "x",
                "account_id": str(org.account_id),
                "next_step": "x",
                "next_step_due_date": NEXT_WEEK,
            },
        ),
    )
    assert [r.status_code for r in responses] == [404] * len(responses)
    listed = await client.get("/api/v1/deals", headers=stranger.headers)
    assert listed.json()["items"] == []
    assert (await org.get(client, deal))["version"] == 1


async def test_as_of_rebuilds_the_deal_from_the_audit_log(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    deal = await org.create(client, amount="100.00")
    created_at = datetime.now(UTC)
    # Audit rows carry the transaction's time: keep the edits apart.
    await owner_conn.execute("SELECT pg_sleep(0.05)")
    renamed = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        headers=org.sales.headers,
        json={"name": "Renamed", "amount": "900.00", "version": deal["version"]},
    )
    assert renamed.status_code == 200, renamed.text
    moved = await org.move(client, renamed.json(), "discovery")
    assert moved.status_code == 200, moved.text
    url = f"/api/v1/deals/{deal['id']}"

    then = await client.get(
        url, headers=org.sales.headers, params={"as_of": created_at.isoformat()}
    )
    assert then.status_code == 200, then.text
    assert (then.json()["name"], then.json()["amount"]) == (deal["name"], "100.00")
    assert then.json()["step"]["key"] == "prospecting"
    assert then.json()["version"] == 1
    now = await client.get(
        url, headers=org.sales.headers, params={"as_of": datetime.now(UTC).isoformat()}
    )
    assert (now.json()["name"], now.json()["step"]["key"]) == ("Renamed", "discovery")

    before = (created_at - timedelta(days=1)).isoformat()
    assert (
        await client.get(url, headers=org.sales.headers, params={"as_of": before})
    ).status_code == 404
    naive = await client.get(
        url, headers=org.sales.headers, params={"as_of": "2026-01-01T00:00:00"}
    )
    assert naive.status_code == 422
    stranger = await register_tenant(client)
    foreign = await client.get(
        url, headers=stranger.headers, params={"as_of": datetime.now(UTC).isoformat()}
    )
    assert foreign.status_code == 404


async def test_a_deal_without_a_currency_takes_the_organizations(
    client: httpx.AsyncClient, org: Org, owner_conn: asyncpg.Connection
) -> None:
    await owner_conn.execute(
        "UPDATE tenant_settings SET default_currency = 'CHF' WHERE tenant_id = $1",
        org.admin.tenant_id,
    )
    assert (await org.create(client))["currency"] == "CHF"
    assert (await org.create(client, currency="USD"))["currency"] == "USD"
    bad = await client.post(
        "/api/v1/deals",
        headers=org.sales.headers,
        json={
            "name": "Deal",
            "account_id": str(org.account_id),
            "currency": "usd",
            "next_step": "Call",
            "next_step_due_date": NEXT_WEEK,
        },
    )
    assert bad.status_code == 422
