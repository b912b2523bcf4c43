"""The one search box (issue 17, part 4): ≤ 30 ms server time at 100 000 records of
each type, in process.

    .venv/bin/python -m bench.one_box_search [--rounds 3] [-n 100] [--json out.json]

The demo organization gets 100 000 accounts and 100 000 targets (`bench.search.load`:
inserted as the owner with every trigger on), then 100 000 contacts, deals, leads and
work items (inserted as the owner with triggers off, as `bench.reports` loads leads:
the search columns are generated, not triggered, so they are whole either way). Names
are made as in `bench.search` ("Nordhafen Feinkost GmbH"): a deal is a company's name
and a kind of contract, a work item a kind of fault and the company it is for, a lead
a company with its contact, email and phone; leads are spread over four queues.

Each search is `baton.search.service.search` as the API calls it (the session, the
authentication, the one statement; `bench.sales.request_ctx`), every type, 5 of each
(the API's default), timed in this process: p50 and p99 per round, the median of the
rounds reported, with the unsearched first page of accounts beside them (the machine
is shared: read the ratio). Then EXPLAIN ANALYZE of each search's statement as the
app role (RLS on): the database's share.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
import uuid
from typing import Any

import asyncpg

from bench.claims import Capture, Plan, explain
from bench.claims_data import login
from bench.harness import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    CpuWatch,
    QuietWaiter,
    Result,
    Stats,
    common_args,
    deployment,
    finish,
    median,
    new_loop_runner,
    print_machine,
    serving,
)
from bench.sales import request_ctx
from bench.sales_data import BIG_TENANT, owner_kwargs, tenant_shape
from bench.search import FAMILIES, FIRST, ROWS, DataSet, company, load, phone, slug
from bench.work_item_move import InProcessApp

TAG = "one-box search"
PER_TYPE = 5
BUDGET_MS = 30.0
SALES_EMAIL = "sales1@acme.example"
SEARCH_SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/search"}
ACCOUNTS_SCOPE = {"type": "http", "method": "GET", "path": "/api/v1/accounts"}
DEAL_KINDS = ("Rahmenvertrag", "Erweiterung", "Pilot", "Lizenz", "Wartung", "Neubau")
FAULTS = ("Drucker defekt", "Rechnung fehlt", "Lieferung verspätet", "Zugang gesperrt")
TITLES = ("Einkauf", "Geschäftsführung", "Logistik", "Buchhaltung", None)
# The queues a lead can rest in without a deal or a reason (the others need them).
VIEWS = ("inbox", "pool", "mine", "nurture")


async def load_more(deployed: Any) -> dict[str, float]:
    """100 000 contacts, deals, leads and work items in the demo organization."""
    from baton.core.ids import uuid7
    from baton.deals import ranks

    rng = random.Random(17_4)
    conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=3600)
    seconds: dict[str, float] = {}
    try:
        shape = await tenant_shape(conn, BIG_TENANT)
        tenant = shape.tenant_id
        accounts = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM accounts WHERE tenant_id = $1", tenant)
        ]
        lead_flow, ticket_type, ticket_flow = await conn.fetchrow(
            "SELECT (SELECT default_workflow_id FROM project_types WHERE tenant_id = $1"
            "        AND entity_type = 'lead' ORDER BY created_at, id LIMIT 1),"
            "       p.id, p.default_workflow_id"
            " FROM project_types p WHERE p.tenant_id = $1 AND p.name = 'Support Ticket'",
            tenant,
        )
        lead_steps = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2"
                " ORDER BY position",
                tenant,
                lead_flow,
            )
        ]
        ticket_step = await conn.fetchval(
            "SELECT id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2"
            " AND is_initial",
            tenant,
            ticket_flow,
        )

        c_first, c_last, c_email, c_phone, c_title, c_account = [], [], [], [], [], []
        for n in range(ROWS):
            first, last = rng.choice(FIRST), rng.choice(FAMILIES)
            _, words = company(rng)
            c_first.append(first)
            c_last.append(last)
            c_email.append(f"{slug(first)}.{slug(last)}.{n}@{slug(words)}.de")
            c_phone.append(phone(rng)[0])
            c_title.append(rng.choice(TITLES))
            c_account.append(rng.choice(accounts))
        deal_ids = [uuid7() for _ in range(ROWS)]
        deal_names = [f"{company(rng)[0]} {rng.choice(DEAL_KINDS)}" for _ in range(ROWS)]
        deal_ranks = [
            ranks.rank_of(position, deal_id)
            for deal_id, position in zip(deal_ids, ranks.evenly_spaced(ROWS), strict=True)
        ]
        l_company, l_contact, l_email, l_phone = [], [], [], []
        for n in range(ROWS):
            name, words = company(rng)
            first, last = rng.choice(FIRST), rng.choice(FAMILIES)
            l_company.append(name)
            l_contact.append(f"{first} {last}")
            l_email.append(f"{slug(first)}.{slug(last)}@{slug(words)}-l{n}.de")
            l_phone.append(phone(rng)[0])
        w_names = [f"{rng.choice(FAULTS)} {company(rng)[0]}" for _ in range(ROWS)]

        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for label, statement, args in (
                (
                    "contacts",
                    """
                    INSERT INTO contacts (tenant_id, id, account_id, first_name, last_name,
                                          email, phone, title)
                    SELECT $1, baton_uuid7(), c.account, c.first, c.last, c.email, c.phone,
                           c.title
                    FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::text[]) AS c(account, first, last, email, phone, title)
                    """,
                    (tenant, c_account, c_first, c_last, c_email, c_phone, c_title),
                ),
                (
                    "deals",
                    """
                    INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount,
                                       currency, next_step, next_step_due_date, workflow_id,
                                       step_id, entered_step_at, rank)
                    SELECT $1, d.id, d.name, d.account,
                           ($5::uuid[])[1 + d.g % cardinality($5::uuid[])],
                           (1000 + (d.g * 7919) % 200000)::numeric(14, 2), 'EUR', 'Call back',
                           current_date + (d.g % 60)::integer, $6, $7, now(), d.rank
                    FROM unnest($2::uuid[], $3::text[], $4::uuid[], $8::text[])
                         WITH ORDINALITY AS d(id, name, account, rank, g)
                    """,
                    (
                        tenant,
                        deal_ids,
                        deal_names,
                        [rng.choice(accounts) for _ in range(ROWS)],
                        shape.writers,
                        shape.workflow_id,
                        shape.steps["prospecting"],
                        deal_ranks,
                    ),
                ),
                (
                    "leads",
                    """
                    INSERT INTO leads (tenant_id, id, company_name, contact_name, email, phone,
                                       need, marketing_owner_id, sales_owner_id, workflow_id,
                                       step_id, entered_step_at, view, dedupe_key)
                    SELECT $1, baton_uuid7(), l.company, l.contact, l.email, l.phone, 'Trucks',
                           $6, CASE WHEN ($9::text[])[1 + l.g % 4] = 'mine'
                                    THEN ($7::uuid[])[1 + l.g % cardinality($7::uuid[])] END,
                           $8, ($10::uuid[])[1 + l.g % cardinality($10::uuid[])], now(),
                           ($9::text[])[1 + l.g % 4], l.email
                    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
                         WITH ORDINALITY AS l(company, contact, email, phone, g)
                    """,
                    (
                        tenant,
                        l_company,
                        l_contact,
                        l_email,
                        l_phone,
                        shape.admin_id,
                        shape.writers,
                        lead_flow,
                        list(VIEWS),
                        lead_steps,
                    ),
                ),
                (
                    "work items",
                    """
                    INSERT INTO work_items (tenant_id, id, project_type_id, name, owner_id,
                                            workflow_id, step_id, entered_step_at, metadata)
                    SELECT $1, baton_uuid7(), $3, w.name,
                           ($4::uuid[])[1 + w.g % cardinality($4::uuid[])], $5, $6, now(), '{}'
                    FROM unnest($2::text[]) WITH ORDINALITY AS w(name, g)
                    """,
                    (tenant, w_names, ticket_type, shape.writers, ticket_flow, ticket_step),
                ),
            ):
                began = time.perf_counter()
                await conn.execute(statement, *args)
                seconds[f"100 000 {label}"] = time.perf_counter() - began
        began = time.perf_counter()
        for table in ("contacts", "deals", "leads", "work_items"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        seconds["vacuum analyze"] = time.perf_counter() - began
    finally:
        await conn.close()
    return seconds


def searches(data: DataSet) -> dict[str, tuple[str, str | None]]:
    """Name → (who, q); q None is the unsearched first page of accounts."""
    return {
        "accounts list, no q (baseline)": ("admin", None),
        "a company as typed 'nordhafen feinkost'": ("admin", "nordhafen feinkost"),
        "a word in the middle 'feinkost'": ("admin", "feinkost"),
        "a prefix 'nordh'": ("admin", "nordh"),
        "a person 'jörg krüger'": ("admin", "jörg krüger"),
        f"a domain '{data.domain_fragment}'": ("admin", data.domain_fragment),
        f"an email '{data.email_fragment}'": ("admin", data.email_fragment),
        f"a phone as dialled '{data.phone_national}'": ("admin", data.phone_national),
        "a miss 'zyxwv'": ("admin", "zyxwv"),
        "as sales (leads under RLS) 'nordhafen feinkost'": ("sales", "nordhafen feinkost"),
        "worst case 'gmbh' (most rows)": ("admin", "gmbh"),
    }


async def one_search(runtime: Any, headers: dict[bytes, bytes], q: str | None) -> int:
    """One search as the API runs it (or the accounts' first page); nanoseconds."""
    from baton.accounts import queries as account_queries
    from baton.core.pagination import PageRequest
    from baton.search import service

    started = time.perf_counter_ns()
    if q is None:
        async with request_ctx(runtime, headers, ACCOUNTS_SCOPE) as ctx:
            await account_queries.list_accounts(ctx.session, PageRequest(limit=50, after=None))
    else:
        async with request_ctx(runtime, headers, SEARCH_SCOPE) as ctx:
            await service.search(ctx, q, None, PER_TYPE)
    return time.perf_counter_ns() - started


def run(rounds: int, requests: int, *, quiet_wait: float) -> list[Result]:
    results: list[Result] = []
    plans: list[Plan] = []
    with deployment("embedded") as deployed, serving(deployed) as server:
        token = login(server.port, DEMO_EMAIL, DEMO_PASSWORD)
        sales_token = login(server.port, SALES_EMAIL, DEMO_PASSWORD)
        began = time.perf_counter()
        data = asyncio.run(load(deployed, token))
        more = asyncio.run(load_more(deployed))
        print(
            f"[one-box] data set in {time.perf_counter() - began:.1f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in {**data.seconds, **more}.items()),
            flush=True,
        )
        app = InProcessApp(deployed)
        runner = new_loop_runner()
        capture = Capture()
        capture.listen(app.runtime.db.engine)
        headers = {
            "admin": {b"authorization": f"Bearer {token}".encode()},
            "sales": {b"authorization": f"Bearer {sales_token}".encode()},
        }
        chosen = searches(data)

        def our_pids() -> list[int]:
            return [server.pid, *deployed.postgres_pids()]

        try:
            for who, q in chosen.values():
                runner.run(one_search(app.runtime, headers[who], q))  # warm the caches
            per_round: dict[str, list[Stats]] = {name: [] for name in chosen}
            loads: list[float] = []
            quiet = QuietWaiter(quiet_wait)
            for number in range(1, rounds + 1):
                quiet.wait()
                watch = CpuWatch(our_pids)
                watch.start()
                for name, (who, q) in chosen.items():
                    stats = Stats()
                    calls = max(10, requests // 10) if "worst case" in name else requests
                    for _ in range(calls):
                        stats.add_ns(runner.run(one_search(app.runtime, headers[who], q)))
                    per_round[name].append(stats)
                loads.append(watch.stop())
                print(
                    f"[one-box] round {number}: other load {loads[-1]:.0%}; "
                    + "; ".join(f"{n} p50 {s[-1].p50:.2f}" for n, s in per_round.items()),
                    flush=True,
                )
            load_note = "other load " + ", ".join(f"{load:.0%}" for load in loads)
            baseline = median([s.p50 for s in per_round["accounts list, no q (baseline)"]])
            for name, (_, q) in chosen.items():
                p50 = median([stats.p50 for stats in per_round[name]])
                p99 = median([stats.p99 for stats in per_round[name]])
                typical = q is not None and "worst case" not in name
                results.append(
                    Result(
                        TAG,
                        f"{name}: p50 (in process, {PER_TYPE} of each type)",
                        p50,
                        "ms",
                        f"≤ {BUDGET_MS:g} ms" if typical else "",
                        p50 <= BUDGET_MS if typical else None,
                        f"{p50 / baseline:.1f} times the accounts page; {load_note}",
                    )
                )
                results.append(Result(TAG, f"{name}: p99", p99, "ms"))

            # ---- EXPLAIN ANALYZE of each search's statement, as the app role
            shape = runner.run(_shape(deployed))
            for name, (who, q) in chosen.items():
                capture.sent.clear()
                capture.on = True
                runner.run(one_search(app.runtime, headers[who], q))
                capture.on = False
                marker = "baton_search_" if q is not None else "FROM accounts"
                sent = [s for s in capture.sent if marker in s.sql][-1]
                user, role = shape[who]
                ms, scans = runner.run(explain(deployed, sent, data.tenant_id, user, role))
                plans.append(Plan(name, ms, scans))
                print(f"[one-box] EXPLAIN {name}: {ms:.2f} ms; {scans}", flush=True)
        finally:
            with contextlib.suppress(Exception):
                runner.run(app.dispose())
            runner.close()
    for plan in plans:
        results.append(Result(TAG, f"EXPLAIN ANALYZE {plan.label}", plan.ms, "ms", note=plan.scans))
    for r in results:
        if r.met is not None:
            print(f"{'PASS' if r.met else 'MISS'}  {r.metric}: {r.value:g} {r.unit} ({r.budget})")
    return results


async def _shape(deployed: Any) -> dict[str, tuple[uuid.UUID, str]]:
    """The demo admin's and salesperson's ids and roles (for EXPLAIN's settings)."""
    conn = await asyncpg.connect(**owner_kwargs(deployed))
    try:
        rows = await conn.fetch(
            "SELECT u.email, u.id, m.role FROM users u JOIN memberships m ON m.user_id = u.id"
            " WHERE u.email = ANY($1::text[])",
            [DEMO_EMAIL, SALES_EMAIL],
        )
    finally:
        await conn.close()
    by_email = {r["email"]: (r["id"], r["role"]) for r in rows}
    return {"admin": by_email[DEMO_EMAIL], "sales": by_email[SALES_EMAIL]}


def main() -> None:
    parser = common_args(__doc__.splitlines()[0], rounds=3, requests=100)
    args = parser.parse_args()
    print_machine()
    results = run(args.rounds, args.requests, quiet_wait=args.quiet_wait)
    finish(results, "One-box search (embedded PostgreSQL)", args.json)
    sys.exit(0)


if __name__ == "__main__":
    main()
