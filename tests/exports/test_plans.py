"""The XLSX statement's row order is the list's by SQL, not by how PostgreSQL happens
to read a subquery: the outer query orders by the keys the list's read carries out,
and the plan has no Sort above that read (the XML is built row by row as the ordered
rows come out: the first byte does not wait for a sort of every row's XML)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from baton.activities.schemas import ActivityView
from baton.config import Settings
from baton.db.engine import Database
from baton.exports import service, statements
from baton.exports.filters import ExportEntity, ExportFilters
from baton.leads.schemas import LeadList
from tests.accounts.support import create_account, create_contact, insert_activity, insert_deal
from tests.exports.support import above, member_ctx, nodes, plan_of
from tests.exports.test_every_list import both
from tests.factories import add_member, register_tenant
from tests.targets.support import create_target

SORTS = ("Sort", "Incremental Sort")

# Every list, with the filters and sorts that change its order (the role that reads it).
LISTS: list[tuple[ExportEntity, ExportFilters, str]] = [
    (ExportEntity.ACCOUNTS, ExportFilters(), "admin"),
    (ExportEntity.ACCOUNTS, ExportFilters(q="acme"), "admin"),
    (ExportEntity.CONTACTS, ExportFilters(), "admin"),
    (ExportEntity.CONTACTS, ExportFilters(q="ada"), "admin"),
    (ExportEntity.DEALS, ExportFilters(), "admin"),
    *(
        (ExportEntity.DEALS, ExportFilters(sort=sort), "admin")
        for sort in ("amount", "-amount", "owner", "-account", "days_in_stage", "stage")
    ),
    *((ExportEntity.LEADS, ExportFilters(lead_view=view), "manager") for view in LeadList),
    (ExportEntity.LEADS, ExportFilters(lead_view=LeadList.INBOX, q="initech"), "marketing"),
    (ExportEntity.LEADS, ExportFilters(lead_view=LeadList.TEAM, q="initech"), "manager"),
    (ExportEntity.TARGETS, ExportFilters(), "admin"),
    (ExportEntity.TARGETS, ExportFilters(q="initech"), "admin"),
    *(
        (ExportEntity.ACTIVITIES, ExportFilters(activity_view=view), "admin")
        for view in ActivityView
    ),
]


def _label(case: tuple[ExportEntity, ExportFilters, str]) -> str:
    entity, filters, role = case
    defaults = vars(ExportFilters())
    chosen = [f"{k}={v}" for k, v in vars(filters).items() if v != defaults[k]]
    return "-".join([entity.value, role, *chosen])


@pytest.mark.parametrize("case", LISTS, ids=[_label(case) for case in LISTS])
async def test_the_xlsx_rows_are_ordered_by_the_lists_keys_without_a_sort(
    client: httpx.AsyncClient,
    database: Database,
    settings: Settings,
    case: tuple[ExportEntity, ExportFilters, str],
) -> None:
    """The outer query's ORDER BY is the list's, over the keys its read carries out;
    PostgreSQL sees the read's rows come out in that order and sorts nothing above it."""
    entity, filters, role = case
    admin = await register_tenant(client)
    member = admin if role == "admin" else await add_member(client, admin, role)
    async with member_ctx(database, settings, member) as ctx:
        chosen = await statements.STATEMENTS[entity](ctx, filters)
        listed_order = list(chosen.listed._order_by_clauses)
        assert listed_order, "every list has an order"
        query = chosen.xlsx()
        assert len(list(query._order_by_clauses)) == len(listed_order)
        plan = await plan_of(ctx, chosen, query)
    path = above(plan, "listed")
    assert path is not None, plan
    assert [node["Node Type"] for node in path if node["Node Type"] in SORTS] == [], plan


async def test_the_audit_trail_keeps_the_order_it_is_read_in(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    """The audit trail has no ORDER BY of its own (its pages are read newest first
    through the trail function): its workbook adds none, and sorts nothing."""
    admin = await register_tenant(client)
    async with member_ctx(database, settings, admin) as ctx:
        chosen = await statements.STATEMENTS[ExportEntity.AUDIT](ctx, ExportFilters())
        query = chosen.xlsx()
        assert list(query._order_by_clauses) == []
        plan = await plan_of(ctx, chosen, query)
    assert plan["Node Type"] not in SORTS


async def test_rows_in_the_same_order_as_csv_whatever_the_sort(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The workbook's rows are the CSV's, in the CSV's order, for sorts that read
    descending, nulls last, and joined names."""
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    accounts = [await create_account(client, admin, name=name) for name in ("Bravo", "Alpha")]
    amounts = [Decimal("10.00"), None, Decimal("30.00"), Decimal("20.00")]
    for index, amount in enumerate(amounts):
        owner = admin if index % 2 else sales
        deal_id = await insert_deal(
            owner_conn, owner, accounts[index % 2]["id"], name=f"Deal {index}"
        )
        await owner_conn.execute("UPDATE deals SET amount = $2 WHERE id = $1", deal_id, amount)
    for sort in ("amount", "-amount", "account", "-account", "owner", "name", "-name"):
        csv_rows, xlsx_rows = await both(client, admin, "deals", sort=sort)
        assert len(csv_rows) == 4
        assert [row["ID"] for row in csv_rows] == [row["ID"] for row in xlsx_rows]
    by_amount, _ = await both(client, admin, "deals", sort="-amount")
    assert [row["Amount"] for row in by_amount] == ["30.00", "20.00", "10.00", ""]
    await create_contact(client, admin, accounts[0]["id"], first_name="Zoe")
    await create_target(client, admin, company_name="Initech")
    await insert_activity(owner_conn, admin, subject="Call")
    for entity in ("contacts", "targets", "activities"):
        csv_rows, xlsx_rows = await both(client, admin, entity)
        assert len(csv_rows) == 1


async def _inbox_leads(conn: asyncpg.Connection, tenant_id: Any, user_id: Any, count: int) -> None:
    """`count` inbox leads in one statement, with random ids (the worst case for the id
    index: its order is not the table's), triggers off as the exports bench loads them;
    then fresh statistics."""
    step = await conn.fetchrow(
        "SELECT s.id, s.workflow_id FROM workflow_steps s JOIN workflows w"
        " ON w.tenant_id = s.tenant_id AND w.id = s.workflow_id"
        " WHERE s.tenant_id = $1 AND w.entity_type = 'lead' AND w.published"
        " ORDER BY s.position LIMIT 1",
        tenant_id,
    )
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "INSERT INTO leads (tenant_id, id, company_name, email, need, marketing_owner_id,"
            " workflow_id, step_id, entered_step_at, view, dedupe_key)"
            " SELECT $1, gen_random_uuid(), 'Lead ' || i, 'l' || i || '@example.com', 'A CRM',"
            " $2, $3, $4, now(), 'inbox', 'lead-' || i FROM generate_series(1, $5) i",
            tenant_id,
            user_id,
            step["workflow_id"],
            step["id"],
            count,
        )
    await conn.execute("ANALYZE leads")


async def test_a_lead_queue_streams_along_its_index(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    database: Database,
    settings: Settings,
) -> None:
    """A lead queue's export reads the leads along an index in id order, with no Sort
    anywhere in the plan (CSV and XLSX, each queue, as a role that works it): RLS's role
    test makes PostgreSQL expect ~2% of the leads, and a COPY is planned for its whole
    run, so it sorted the whole queue before the first row. The team's list and a
    search are ordered by name and rank: those are sorted."""
    admin = await register_tenant(client)
    await _inbox_leads(owner_conn, admin.tenant_id, admin.user_id, 5000)
    members = {role: await add_member(client, admin, role) for role in ("marketing", "sales")}
    members["admin"] = admin
    queues = [
        (LeadList.INBOX, "marketing"),
        (LeadList.INBOX, "admin"),
        (LeadList.POOL, "sales"),
        (LeadList.MINE, "sales"),
        (LeadList.NURTURE, "marketing"),
        (LeadList.DISQUALIFIED, "marketing"),
        (LeadList.CONVERTED, "admin"),
    ]
    for view, role in queues:
        async with member_ctx(database, settings, members[role]) as ctx:
            chosen = await statements.STATEMENTS[ExportEntity.LEADS](
                ctx, ExportFilters(lead_view=view)
            )
            assert chosen.index_ordered
            for query in (chosen.csv(), chosen.xlsx()):
                plan = await plan_of(ctx, chosen, query)
                kinds = [node["Node Type"] for node in nodes(plan)]
                assert not set(kinds) & set(SORTS), (view, role, plan)
                scans = [
                    node["Node Type"]
                    for node in nodes(plan)
                    if node.get("Relation Name") == "leads"
                ]
                assert scans == ["Index Scan"], (view, role, scans)
    async with member_ctx(database, settings, admin) as ctx:
        for filters in (
            ExportFilters(lead_view=LeadList.TEAM),
            ExportFilters(lead_view=LeadList.INBOX, q="lead"),
        ):
            chosen = await statements.STATEMENTS[ExportEntity.LEADS](ctx, filters)
            assert not chosen.index_ordered
            assert service.planner_settings(chosen) == {"jit": "off"}


async def test_the_inbox_export_is_the_inbox_in_id_order(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Planned along the index, the file is still the whole queue in the list's order."""
    admin = await register_tenant(client)
    await _inbox_leads(owner_conn, admin.tenant_id, admin.user_id, 300)
    csv_rows, xlsx_rows = await both(client, admin, "leads", view="inbox")
    ids = [row["ID"] for row in csv_rows]
    assert len(ids) == 300
    assert ids == sorted(ids, key=uuid.UUID)
    assert ids == [row["ID"] for row in xlsx_rows]
