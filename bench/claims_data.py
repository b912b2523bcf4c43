"""The lead-journey data set of DESIGN §7: 100 000 leads in one tenant, 32 claimers.

Generated fresh on every run (about 30 s on the 2-core machine: the claim bench
drains the pool, so a cached copy would have to be copied anyway — and copying the
data dir costs about what generating it does).

The demo organization (Acme Logistics) gets 32 salespeople (`claimer01@…`, invited
over HTTP by the demo admin, as an admin would) and 100 000 leads spread over the
views, per 20 leads: 4 New and 4 In Review (inbox), 3 Nurture, 3 Disqualified,
2 pooled, 2 claimed (mine) and 2 converted. Of the In Review leads, 10 000 are the
reserve: qualified and handed over in bulk after the service run, so the raw
baseline claims from a pool of the same size (and 10 000 more for the HTTP run).

Nothing is bypassed: the load runs as the database owner (superuser: RLS does not
filter it, it stays enabled and forced) with every trigger on. Leads are inserted at
New (the `govern_step` trigger insists) and moved along the lead-triage transitions
by bulk `UPDATE`s with the request's settings (`baton.transition_reason` …) set, so
each step change writes its history row and the `lead_view` trigger derives the
view; pool rows are inserted for the handed-over leads in the same transaction (the
deferred `lead_pool_consistent` trigger checks every lead and pool row at commit).
Claimed and converted leads get an account and a deal each (the deal at the
pipeline's first step), as a claim would have made them — without the cadence
enrolment and planned activities a claim now adds: the claims measured here write
their own, and the leads' volume is what the pages and the pool scan feel.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.harness import DEMO_EMAIL, DEMO_PASSWORD, Deployment, Http
from bench.sales_data import BIG_TENANT, _settings, owner_kwargs, tenant_shape

LEADS = 100_000
POOL = 10_000
CLAIMERS = 32
CLAIMER_PASSWORD = "bench-claimer-password-0123"
MARKETING_EMAIL = "marketing@acme.example"
# Per 20 leads: where they end up.
MIX = (
    ["new"] * 4
    + ["in_review"] * 4
    + ["nurture"] * 3
    + ["disqualified"] * 3
    + ["pool"] * 2
    + ["mine"] * 2
    + ["converted"] * 2
)
RESERVES = 2  # pools of POOL leads kept In Review: the raw baseline's, the HTTP run's


def claimer_email(n: int) -> str:
    return f"claimer{n:02d}@acme.example"


@dataclass
class LeadShape:
    tenant_id: uuid.UUID
    admin_id: uuid.UUID
    workflow_id: uuid.UUID
    steps: dict[str, uuid.UUID]


@dataclass
class DataSet:
    tenant_id: uuid.UUID
    claimer_ids: list[uuid.UUID]
    admin_token: str
    marketing_token: str
    claimer_tokens: list[str]
    pool: list[uuid.UUID]  # the initial pool, in creation order
    reserves: list[list[uuid.UUID]]  # In Review leads, each a future pool of POOL
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def login(port: int, email: str, password: str) -> str:
    client = Http(port)
    try:
        body = json.dumps({"email": email, "password": password}).encode()
        status, raw = client.call(
            "POST", "/api/v1/auth/login", body, {"content-type": "application/json"}
        )
        if status != 200:
            raise RuntimeError(f"login {email}: {status} {raw[:200]!r}")
        token: str = json.loads(raw)["access_token"]
        return token
    finally:
        client.close()


def invite_claimers(port: int, admin_token: str) -> list[str]:
    """32 salespeople, invited by the admin over the API; their bearer tokens."""
    client = Http(port)
    headers = {"authorization": f"Bearer {admin_token}", "content-type": "application/json"}
    try:
        for n in range(1, CLAIMERS + 1):
            body = json.dumps(
                {
                    "email": claimer_email(n),
                    "full_name": f"Claimer {n:02d}",
                    "role": "sales",
                    "password": CLAIMER_PASSWORD,
                }
            ).encode()
            status, raw = client.call("POST", "/api/v1/users", body, headers)
            if status != 201:
                raise RuntimeError(f"invite claimer {n}: {status} {raw[:300]!r}")
    finally:
        client.close()
    return [login(port, claimer_email(n), CLAIMER_PASSWORD) for n in range(1, CLAIMERS + 1)]


def build(deployed: Deployment, port: int) -> DataSet:
    """Users over HTTP (the server at `port`), then the leads in bulk as the owner."""
    import asyncio

    seconds: dict[str, float] = {}
    began = time.perf_counter()
    admin_token = login(port, DEMO_EMAIL, DEMO_PASSWORD)
    marketing_token = login(port, MARKETING_EMAIL, DEMO_PASSWORD)
    tokens = invite_claimers(port, admin_token)
    seconds["32 claimers invited and logged in"] = time.perf_counter() - began
    data = asyncio.run(_load(deployed, seconds))
    data.admin_token, data.marketing_token, data.claimer_tokens = (
        admin_token,
        marketing_token,
        tokens,
    )
    return data


async def lead_shape(conn: Any) -> LeadShape:
    shape = await tenant_shape(conn, BIG_TENANT)
    workflow_id = await conn.fetchval(
        "SELECT default_workflow_id FROM project_types"
        " WHERE tenant_id = $1 AND entity_type = 'lead' ORDER BY created_at, id LIMIT 1",
        shape.tenant_id,
    )
    steps = await conn.fetch(
        "SELECT key, id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2",
        shape.tenant_id,
        workflow_id,
    )
    return LeadShape(
        shape.tenant_id, shape.admin_id, workflow_id, {s["key"]: s["id"] for s in steps}
    )


async def _load(deployed: Deployment, seconds: dict[str, float]) -> DataSet:
    from baton.core.ids import uuid7
    from baton.deals import ranks

    conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=3600)
    try:
        deal_shape = await tenant_shape(conn, BIG_TENANT)
        shape = await lead_shape(conn)
        tenant_id = shape.tenant_id
        claimer_ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM users WHERE email LIKE 'claimer%@acme.example' ORDER BY email"
            )
        ]
        marketing_id = await conn.fetchval("SELECT id FROM users WHERE email = $1", MARKETING_EMAIL)
        ids = [uuid7() for _ in range(LEADS)]
        finals = [MIX[i % len(MIX)] for i in range(LEADS)]
        by_final: dict[str, list[uuid.UUID]] = {}
        for lead_id, final in zip(ids, finals, strict=True):
            by_final.setdefault(final, []).append(lead_id)
        reserves = [by_final["in_review"][k * POOL : (k + 1) * POOL] for k in range(RESERVES)]
        with_deal = by_final["mine"] + by_final["converted"]
        account_ids = [uuid7() for _ in with_deal]
        deal_ids = [uuid7() for _ in with_deal]
        deal_ranks = [
            ranks.rank_of(position, deal_id)
            for position, deal_id in zip(ranks.evenly_spaced(len(deal_ids)), deal_ids, strict=True)
        ]
        owners = [claimer_ids[i % len(claimer_ids)] for i in range(len(with_deal))]

        async def step(name: str, coro: Any) -> Any:
            started = time.perf_counter()
            out = await coro
            seconds[name] = time.perf_counter() - started
            print(f"[claims]   {name}: {seconds[name]:.1f} s", flush=True)
            return out

        async def move(
            chosen: list[uuid.UUID], source: str, target: str, reason: str = "", extra: str = ""
        ) -> None:
            await conn.execute(
                "SELECT set_config('baton.transition_reason', $1, true),"
                " set_config('baton.transition_notes', '', true),"
                " set_config('baton.transition_fields', '', true)",
                reason,
            )
            status = await conn.execute(
                "UPDATE leads SET step_id = $3, version = version + 1, updated_at = now()"
                f"{extra} WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND step_id = $4",
                tenant_id,
                chosen,
                shape.steps[target],
                shape.steps[source],
            )
            if int(status.split()[-1]) != len(chosen):
                raise RuntimeError(f"moved {status} of {len(chosen)} leads {source} → {target}")

        async def load() -> None:
            async with conn.transaction():
                await _settings(conn, tenant_id, shape.admin_id)
                await conn.execute(
                    """
                    INSERT INTO leads (tenant_id, id, company_name, contact_name, email, phone,
                                       source, need, marketing_owner_id, workflow_id, step_id,
                                       entered_step_at, dedupe_key)
                    SELECT $1, l.id, 'Lead company ' || lpad(l.g::text, 6, '0'),
                           'Contact ' || l.g,
                           'contact' || l.g || '@lead' || l.g || '.example',
                           '+49 30 ' || (1000000 + l.g), 'web',
                           'Freight ' || (1 + l.g % 40) || ' pallets a week', $3, $4, $5, now(),
                           'contact' || l.g || '@lead' || l.g || '.example'
                    FROM unnest($2::uuid[]) WITH ORDINALITY AS l(id, g)
                    """,
                    tenant_id,
                    ids,
                    marketing_id,
                    shape.workflow_id,
                    shape.steps["new"],
                )
                not_new = [i for i, f in zip(ids, finals, strict=True) if f != "new"]
                await move(not_new, "new", "in_review")
                await move(by_final["nurture"], "in_review", "nurture")
                await move(
                    by_final["disqualified"],
                    "in_review",
                    "disqualified",
                    "no_fit",
                    ", disqualified_at = now(), disqualify_reason = 'no_fit'",
                )
                handed = by_final["pool"] + with_deal
                await move(handed, "in_review", "qualified", extra=", qualified_at = now()")
                await move(handed, "qualified", "handed_over", extra=", handed_over_at = now()")
                await conn.execute(
                    """
                    INSERT INTO lead_pool (tenant_id, id, lead_id, entered_at, claim_due_at,
                                           handed_over_by)
                    SELECT $1, baton_uuid7(), l.id, now(), now() + interval '24 hours', $3
                    FROM unnest($2::uuid[]) AS l(id)
                    """,
                    tenant_id,
                    handed,
                    marketing_id,
                )
                # The claims' work: accounts and deals (first step), then the leads.
                await conn.execute(
                    """
                    INSERT INTO accounts (tenant_id, id, name, domain, owner_id)
                    SELECT $1, a.id, l.company_name, split_part(l.email, '@', 2), a.owner
                    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[]) AS a(id, lead_id, owner)
                    JOIN leads l ON l.tenant_id = $1 AND l.id = a.lead_id
                    """,
                    tenant_id,
                    account_ids,
                    with_deal,
                    owners,
                )
                await conn.execute(
                    """
                    INSERT INTO deals (tenant_id, id, name, account_id, owner_id, currency,
                                       next_step, next_step_due_date, workflow_id, step_id,
                                       entered_step_at, rank)
                    SELECT $1, d.id, l.company_name, d.account_id, d.owner, 'EUR',
                           'First contact', current_date, $7, $8, now(), d.rank
                    FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[])
                         AS d(id, account_id, lead_id, owner, rank)
                    JOIN leads l ON l.tenant_id = $1 AND l.id = d.lead_id
                    """,
                    tenant_id,
                    deal_ids,
                    account_ids,
                    with_deal,
                    owners,
                    deal_ranks,
                    deal_shape.workflow_id,
                    deal_shape.steps["prospecting"],
                )
                await conn.execute(
                    "DELETE FROM lead_pool WHERE tenant_id = $1 AND lead_id = ANY($2::uuid[])",
                    tenant_id,
                    with_deal,
                )
                await conn.execute(
                    "SELECT set_config('baton.transition_reason', '', true)",
                )
                status = await conn.execute(
                    """
                    UPDATE leads l SET step_id = $3, version = version + 1, updated_at = now(),
                           sales_owner_id = c.owner, claimed_at = now(),
                           account_id = c.account_id, deal_id = c.deal_id
                    FROM unnest($2::uuid[], $4::uuid[], $5::uuid[], $6::uuid[])
                         AS c(lead_id, owner, account_id, deal_id)
                    WHERE l.tenant_id = $1 AND l.id = c.lead_id AND l.step_id = $7
                    """,
                    tenant_id,
                    with_deal,
                    shape.steps["claimed"],
                    owners,
                    account_ids,
                    deal_ids,
                    shape.steps["handed_over"],
                )
                if int(status.split()[-1]) != len(with_deal):
                    raise RuntimeError(f"claimed {status} of {len(with_deal)}")
                await move(
                    by_final["converted"],
                    "claimed",
                    "converted",
                    extra=", converted_at = now()",
                )

        await step(f"{LEADS} leads along the lead triage", load())
        await step("VACUUM ANALYZE", conn.execute("VACUUM (ANALYZE)"))
        await step("CHECKPOINT", conn.execute("CHECKPOINT"))
        counts = {
            r["view"]: r["n"]
            for r in await conn.fetch(
                "SELECT view, count(*) AS n FROM leads WHERE tenant_id = $1 GROUP BY view",
                tenant_id,
            )
        }
        counts["lead_pool"] = await conn.fetchval(
            "SELECT count(*) FROM lead_pool WHERE tenant_id = $1", tenant_id
        )
        print("[claims]   leads by view: " + json.dumps(counts), flush=True)
        return DataSet(
            tenant_id=tenant_id,
            claimer_ids=claimer_ids,
            admin_token="",
            marketing_token="",
            claimer_tokens=[],
            pool=by_final["pool"],
            reserves=reserves,
            counts=counts,
            seconds=seconds,
        )
    finally:
        await conn.close()


async def refill_pool(deployed: Deployment, leads: list[uuid.UUID]) -> float:
    """Qualify and hand over `leads` (In Review) in bulk, as the owner, triggers on."""
    conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=600)
    started = time.perf_counter()
    try:
        shape = await lead_shape(conn)
        async with conn.transaction():
            await _settings(conn, shape.tenant_id, shape.admin_id)
            await conn.execute(
                "SELECT set_config('baton.transition_reason', '', true),"
                " set_config('baton.transition_notes', '', true),"
                " set_config('baton.transition_fields', '', true)"
            )
            for source, target, extra in (
                ("in_review", "qualified", ", qualified_at = now()"),
                ("qualified", "handed_over", ", handed_over_at = now()"),
            ):
                status = await conn.execute(
                    "UPDATE leads SET step_id = $3, version = version + 1, updated_at = now()"
                    f"{extra} WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND step_id = $4",
                    shape.tenant_id,
                    leads,
                    shape.steps[target],
                    shape.steps[source],
                )
                if int(status.split()[-1]) != len(leads):
                    raise RuntimeError(f"refill moved {status} of {len(leads)}")
            await conn.execute(
                """
                INSERT INTO lead_pool (tenant_id, id, lead_id, entered_at, claim_due_at)
                SELECT $1, baton_uuid7(), l.id, now(), now() + interval '24 hours'
                FROM unnest($2::uuid[]) AS l(id)
                """,
                shape.tenant_id,
                leads,
            )
        await conn.execute("ANALYZE leads, lead_pool")
    finally:
        await conn.close()
    return time.perf_counter() - started
