"""The sales-core data set of DESIGN §7, generated once and cached under `.bench/`.

1 000 tenants: the demo organization (Acme Logistics) holds 100 000 accounts,
100 000 deals spread over the sales pipeline and 500 000 activities; a "Growth Org"
holds a tenth of that (10 000 deals: the other end of the growth budget); the other
998 are a registered "Template Org" and 997 clones of it (tenant, admin user and
membership, settings, statuses, the four seeded workflows with their steps and
transitions, the default cadence), each with 10 accounts, 10 deals and 30 activities.

Nothing is bypassed: the load runs as the database owner (as superuser, so RLS does
not filter it; it stays enabled and forced), with every trigger on. Deals are
inserted at the workflow's initial step (the `govern_step` trigger insists), then
moved along the pipeline's transitions by bulk `UPDATE`s with the request's settings
(`baton.transition_reason` …) set, so each step change writes its history row and
each insert and update its audit row, as the service would. Board ranks come from
`baton.deals.ranks` (evenly spaced positions plus the card's id, per final column).

The cache: `.bench/sales-<migration head>-<generator version>-<deals>/` holds the
stopped data dir (pgdata) and the secret key the app role's password derives from.
A run copies it to a temp dir and works on the copy, so every run starts from the
same data and the cache is never written to by a measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import json
import random
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import (
    Deployment,
    Http,
    serving,
)

ROOT = Path(__file__).resolve().parent.parent
CACHE_ROOT = ROOT / ".bench"
# Bump when the generated data changes shape: old caches are then ignored.
GENERATOR_VERSION = 3

BIG_TENANT = "Acme Logistics"  # the demo organization: its admin logs in as in the other benches
GROWTH_TENANT = "Growth Org"
TEMPLATE_TENANT = "Template Org"
GROWTH_EMAIL = "growth-admin@bench.example"
TEMPLATE_EMAIL = "template-admin@bench.example"
BENCH_PASSWORD = "bench-password-0123456789"
TENANTS = 1000
ACTIVITIES_PER_DEAL = 5
CLONE_DEALS = 10
CLONE_ACTIVITIES_PER_DEAL = 3

# Where the big tenant's deals end up (per 20 deals): the board's columns.
FINAL_MIX = (
    ["prospecting"] * 6
    + ["discovery"] * 4
    + ["proposal"] * 3
    + ["negotiation"] * 2
    + ["won"] * 3
    + ["lost"] * 2
)
PATH = ("prospecting", "discovery", "proposal", "negotiation")
WIN_REASONS = ("price", "product_fit", "relationship", "timing")
LOSS_REASONS = ("price", "competitor", "no_budget", "no_decision", "timing", "product_gap")


def migration_head() -> str:
    from baton.db.migrate import head_revision

    return head_revision()


def cache_dir(deals: int, history_per_deal: int = 0) -> Path:
    padded = f"-h{history_per_deal}" if history_per_deal else ""
    return CACHE_ROOT / f"sales-{migration_head()}-g{GENERATOR_VERSION}-{deals}{padded}"


def owner_kwargs(deployed: Deployment) -> dict[str, Any]:
    kwargs = deployed.app_connect_kwargs()
    kwargs.pop("password")
    return {**kwargs, "user": "postgres"}


class CachedDeployment(Deployment):
    """An embedded install on a copy of the cached data dir (same secret key).

    `copy=False` runs on the cached data dir itself (a data set too big to copy on the
    disk at hand): the run's writes then stay in the cache, and it is not deleted.
    """

    def __init__(self, source: Path, *, copy: bool = True) -> None:
        super().__init__("embedded")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.in_place = not copy
        if copy:
            # `cp -a` keeps the data dir's permissions (PostgreSQL wants 0700 on pgdata).
            subprocess.run(["cp", "-a", str(source / "data"), str(self.data_dir)], check=True)  # noqa: S603, S607
        else:
            self.data_dir = source / "data"
        self.secret_key = (source / "secret_key").read_text().strip()
        self.env.update(BATON_DATA_DIR=str(self.data_dir), BATON_SECRET_KEY=self.secret_key)

    def close(self) -> None:
        if self.in_place:
            self.wait_postgres_stopped(timeout=30)
            return
        super().close()


@contextlib.contextmanager
def cached_deployment(
    deals: int, *, regenerate: bool = False, history_per_deal: int = 0, copy: bool = True
) -> Any:
    """The cached data set (generated first if missing), as a throw-away copy."""
    target = cache_dir(deals, history_per_deal)
    if regenerate and target.exists():
        shutil.rmtree(target)
    if not target.exists():
        generate(target, deals, history_per_deal=history_per_deal)
    else:
        print(f"[sales] cached data set: {target}")
    started = time.perf_counter()
    deployed = CachedDeployment(target, copy=copy)
    if copy:
        print(f"[sales] copied the cached data dir in {time.perf_counter() - started:.1f} s")
    else:
        print("[sales] working on the cached data dir itself (no copy)")
    try:
        yield deployed
    finally:
        deployed.close()


# ---------------------------------------------------------------- generation


def register(port: int, organization: str, email: str) -> None:
    client = Http(port)
    try:
        body = json.dumps(
            {
                "organization_name": organization,
                "full_name": f"{organization} Admin",
                "email": email,
                "password": BENCH_PASSWORD,
            }
        ).encode()
        status, raw = client.call(
            "POST", "/api/v1/auth/register", body, {"content-type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"register {organization}: {status} {raw[:300]!r}")
    finally:
        client.close()


def generate(target: Path, deals: int, *, history_per_deal: int = 0) -> None:
    """Build the data set in a fresh install and keep its stopped data dir at `target`.

    With `history_per_deal`, the two big tenants' stage history is padded by COPY to
    that many rows per deal (`copy_tenant`: COPY, triggers off, rollups rebuilt).
    """
    started = time.perf_counter()
    deployed = Deployment("embedded")
    try:
        deployed.prepare()
        print(f"[sales] generating the data set into {target} (one-off; cached afterwards)")
        with serving(deployed) as server:
            register(server.port, TEMPLATE_TENANT, TEMPLATE_EMAIL)
            register(server.port, GROWTH_TENANT, GROWTH_EMAIL)
            timings = asyncio.run(_load(deployed, deals, history_per_deal))
        deployed.wait_postgres_stopped()
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        shutil.move(str(deployed.data_dir), str(partial / "data"))
        (partial / "secret_key").write_text(deployed.secret_key + "\n")
        timings["total"] = time.perf_counter() - started
        (partial / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        partial.rename(target)
        print(
            "[sales] generated in "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        )
    finally:
        deployed.close()


async def _load(deployed: Deployment, deals: int, history_per_deal: int) -> dict[str, float]:
    conn = await asyncpg.connect(**owner_kwargs(deployed), command_timeout=3600)
    timings: dict[str, float] = {}
    try:

        async def step(name: str, coro: Any) -> None:
            began = time.perf_counter()
            await coro
            timings[name] = time.perf_counter() - began
            print(f"[sales]   {name}: {timings[name]:.1f} s", flush=True)

        await step("clone tenants", clone_tenants(conn, TENANTS - 3))
        await step("clone tenants' records", clone_records(conn))
        for name, count, seed in ((BIG_TENANT, deals, 1), (GROWTH_TENANT, deals // 10, 2)):
            if history_per_deal:
                await step(
                    f"{name}: {count} deals, {history_per_deal * count} history rows (COPY)",
                    copy_tenant(conn, name, count, history_per_deal, seed=seed),
                )
            else:
                await step(f"{name}: {count} deals", load_tenant(conn, name, count, seed=seed))
        await step("VACUUM ANALYZE", conn.execute("VACUUM (ANALYZE)"))
        await step("CHECKPOINT", conn.execute("CHECKPOINT"))
        sizes = await conn.fetch(
            "SELECT relname, n_live_tup FROM pg_stat_user_tables"
            " WHERE relname IN ('tenants', 'accounts', 'deals', 'activities',"
            " 'workflow_history', 'audit_log') ORDER BY relname"
        )
        print("[sales]   rows: " + ", ".join(f"{r['relname']} {r['n_live_tup']}" for r in sizes))
    finally:
        await conn.close()
    return timings


async def _settings(conn: Any, tenant_id: uuid.UUID | None, user_id: uuid.UUID | None) -> None:
    """What a request sets: tenant, actor, role, request id (the audit rows name them)."""
    await conn.execute(
        "SELECT set_config('baton.tenant_id', $1, true), set_config('baton.user_id', $2, true),"
        " set_config('baton.role', 'admin', true),"
        " set_config('baton.request_id', 'bench-sales-load', true)",
        str(tenant_id) if tenant_id else "",
        str(user_id) if user_id else "",
    )


CLONED = (
    "tenants",
    "users",
    "memberships",
    "tenant_settings",
    "statuses",
    "workflows",
    "project_types",
    "workflow_steps",
    "workflow_transitions",
    "cadences",
    "cadence_steps",
)
USER_COLUMNS = ("user_id", "created_by", "owner_id")


async def clone_tenants(conn: Any, count: int) -> None:
    """`count` copies of the template tenant's configuration, one statement per table.

    Ids are derived (md5 of the clone number and the template id), so references
    between the copied rows stay consistent without a mapping table.
    """
    template = await conn.fetchrow(
        "SELECT t.id AS tenant_id, m.user_id FROM tenants t"
        " JOIN memberships m ON m.tenant_id = t.id WHERE t.name = $1",
        TEMPLATE_TENANT,
    )
    new_tenant = "md5('tenant' || n)::uuid"
    new_user = "md5('user' || n)::uuid"
    async with conn.transaction():
        await _settings(conn, None, None)
        for table in CLONED:
            columns = await conn.fetch(
                "SELECT column_name, udt_name, is_generated FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                table,
            )
            names, values = [], []
            for column in columns:
                name, kind = column["column_name"], column["udt_name"]
                if column["is_generated"] == "ALWAYS":
                    continue
                names.append(name)
                if table == "tenants" and name == "id":
                    values.append(new_tenant)
                elif table == "tenants" and name == "name":
                    values.append("'Bench Org ' || n")
                elif table == "tenants" and name == "slug":
                    values.append("'bench-org-' || n")
                elif table == "users" and name == "id":
                    values.append(new_user)
                elif table == "users" and name == "email":
                    values.append("'bench-admin-' || n || '@bench.example'")
                elif name == "tenant_id":
                    values.append(new_tenant)
                elif kind == "uuid" and name in USER_COLUMNS:
                    values.append(new_user)
                elif kind == "uuid":
                    values.append(f"md5(n || ':' || r.{name}::text)::uuid")
                else:
                    values.append(f"r.{name}")
            where = "r.tenant_id = $1"
            if table in ("tenants", "users"):
                where = "r.id = $1"
            await conn.execute(
                f"INSERT INTO {table} ({', '.join(names)})"
                f" SELECT {', '.join(values)} FROM {table} r"
                f" CROSS JOIN generate_series(1, {int(count)}) AS n WHERE {where}",
                template["user_id"] if table == "users" else template["tenant_id"],
            )


async def clone_records(conn: Any) -> None:
    """10 accounts, 10 deals (initial step) and 30 activities in every small tenant."""
    async with conn.transaction():
        await _settings(conn, None, None)
        small = """
            WITH small AS (
                SELECT t.id AS tenant_id, m.user_id, pt.default_workflow_id AS workflow_id,
                       s.id AS step_id
                FROM tenants t
                JOIN memberships m ON m.tenant_id = t.id
                JOIN project_types pt ON pt.tenant_id = t.id AND pt.entity_type = 'deal'
                JOIN workflow_steps s ON s.tenant_id = t.id
                     AND s.workflow_id = pt.default_workflow_id AND s.is_initial
                WHERE t.name NOT IN ($1, $2)
            )
        """
        await conn.execute(
            small
            + """
            INSERT INTO accounts (tenant_id, id, name, domain, industry, owner_id)
            SELECT tenant_id, md5(tenant_id::text || ':a' || g)::uuid, 'Customer ' || g,
                   'customer' || g || '.example', 'Logistics', user_id
            FROM small CROSS JOIN generate_series(1, $3::integer) AS g
            """,
            BIG_TENANT,
            GROWTH_TENANT,
            CLONE_DEALS,
        )
        await conn.execute(
            small
            + """
            INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,
                               expected_close_date, next_step, next_step_due_date,
                               workflow_id, step_id, entered_step_at, rank)
            SELECT tenant_id, md5(tenant_id::text || ':d' || g)::uuid, 'Deal ' || g,
                   md5(tenant_id::text || ':a' || g)::uuid, user_id, 1000 * g, 'EUR',
                   current_date + 30, 'Call back', current_date + g, workflow_id, step_id,
                   now(), lpad(g::text, 2, '0') || replace(tenant_id::text, '-', '')
            FROM small CROSS JOIN generate_series(1, $3::integer) AS g
            """,
            BIG_TENANT,
            GROWTH_TENANT,
            CLONE_DEALS,
        )
        await conn.execute(
            """
            INSERT INTO activities (tenant_id, id, type, status, subject, completed_at,
                                    owner_id, created_by, deal_id, account_id)
            SELECT d.tenant_id, baton_uuid7(), 'call', 'done', 'Call ' || k,
                   now() - k * interval '1 day', d.owner_id, d.owner_id, d.id, d.account_id
            FROM deals d JOIN tenants t ON t.id = d.tenant_id
            CROSS JOIN generate_series(1, $3::integer) AS k
            WHERE t.name NOT IN ($1, $2)
            """,
            BIG_TENANT,
            GROWTH_TENANT,
            CLONE_ACTIVITIES_PER_DEAL,
        )


@dataclass
class TenantShape:
    tenant_id: uuid.UUID
    admin_id: uuid.UUID
    writers: list[uuid.UUID]
    workflow_id: uuid.UUID
    steps: dict[str, uuid.UUID]


async def tenant_shape(conn: Any, name: str) -> TenantShape:
    tenant = await conn.fetchrow("SELECT id FROM tenants WHERE name = $1", name)
    members = await conn.fetch(
        "SELECT user_id, role FROM memberships WHERE tenant_id = $1 ORDER BY user_id", tenant["id"]
    )
    workflow_id = await conn.fetchval(
        "SELECT default_workflow_id FROM project_types"
        " WHERE tenant_id = $1 AND entity_type = 'deal' ORDER BY created_at, id LIMIT 1",
        tenant["id"],
    )
    steps = await conn.fetch(
        "SELECT key, id FROM workflow_steps WHERE tenant_id = $1 AND workflow_id = $2",
        tenant["id"],
        workflow_id,
    )
    admin = next(m["user_id"] for m in members if m["role"] == "admin")
    writers = [m["user_id"] for m in members if m["role"] in ("admin", "manager", "sales")]
    return TenantShape(
        tenant["id"], admin, writers, workflow_id, {s["key"]: s["id"] for s in steps}
    )


async def load_tenant(conn: Any, name: str, deals: int, *, seed: int) -> None:
    """`deals` accounts and deals, 5 activities per deal, in one tenant."""
    from baton.core.ids import uuid7
    from baton.deals import ranks

    shape = await tenant_shape(conn, name)
    rng = random.Random(seed)
    account_ids = [uuid7() for _ in range(deals)]
    deal_ids = [uuid7() for _ in range(deals)]
    finals = [FINAL_MIX[rng.randrange(len(FINAL_MIX))] for _ in range(deals)]
    # Lost deals leave from any open step; the others walk the path to their column.
    lost_from = [PATH[rng.randrange(len(PATH))] for _ in range(deals)]
    by_column: dict[str, list[int]] = {}
    for index, final in enumerate(finals):
        by_column.setdefault(final, []).append(index)
    rank_of: list[str] = [""] * deals
    for indexes in by_column.values():
        for index, position in zip(indexes, ranks.evenly_spaced(len(indexes)), strict=True):
            rank_of[index] = ranks.rank_of(position, deal_ids[index])
    tag = name.lower().replace(" ", "-")

    async with conn.transaction():
        await _settings(conn, shape.tenant_id, shape.admin_id)
        await conn.execute(
            """
            INSERT INTO accounts (tenant_id, id, name, domain, industry, owner_id, tags)
            SELECT $1, a.id, 'Bench account ' || a.g, 'acct' || a.g || '.' || $4 || '.example',
                   (ARRAY['Logistics', 'Retail', 'Software', 'Health', 'Food'])[1 + a.g % 5],
                   ($3::uuid[])[1 + a.g % cardinality($3::uuid[])], '{}'
            FROM unnest($2::uuid[]) WITH ORDINALITY AS a(id, g)
            """,
            shape.tenant_id,
            account_ids,
            shape.writers,
            tag,
        )
        await conn.execute(
            """
            INSERT INTO deals (tenant_id, id, name, account_id, owner_id, amount, currency,
                               expected_close_date, next_step, next_step_due_date,
                               workflow_id, step_id, entered_step_at, rank)
            SELECT $1, d.id, 'Bench deal ' || d.g, d.account_id,
                   ($5::uuid[])[1 + d.g % cardinality($5::uuid[])],
                   (1000 + (d.g * 7919) % 200000)::numeric(14, 2),
                   (ARRAY['EUR', 'EUR', 'EUR', 'USD', 'GBP'])[1 + d.g % 5],
                   current_date + (d.g % 120)::integer, 'Call back',
                   current_date + (d.g % 60)::integer - 20, $6, $7, now(), d.rank
            FROM unnest($2::uuid[], $3::uuid[], $4::text[]) WITH ORDINALITY
                 AS d(id, account_id, rank, g)
            """,
            shape.tenant_id,
            deal_ids,
            account_ids,
            rank_of,
            shape.writers,
            shape.workflow_id,
            shape.steps["prospecting"],
        )
        # Along the path, one bulk UPDATE per transition (history and audit by trigger).
        for number, (source, target) in enumerate(itertools.pairwise(PATH)):
            movers = [
                deal_ids[i]
                for i in range(deals)
                if (finals[i] in PATH[number + 1 :] or finals[i] == "won")
                or (finals[i] == "lost" and lost_from[i] in PATH[number + 1 :])
            ]
            await _move(conn, shape, movers, source, target, "", "")
        won = [deal_ids[i] for i in range(deals) if finals[i] == "won"]
        for n, reason in enumerate(WIN_REASONS):
            chosen = won[n :: len(WIN_REASONS)]
            await _move(conn, shape, chosen, "negotiation", "won", reason, "won")
        for source in PATH:
            lost = [
                deal_ids[i] for i in range(deals) if finals[i] == "lost" and lost_from[i] == source
            ]
            for n, reason in enumerate(LOSS_REASONS):
                chosen = lost[n :: len(LOSS_REASONS)]
                await _move(conn, shape, chosen, source, "lost", reason, "lost")
        await conn.execute(
            """
            INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at,
                                    outcome, owner_id, created_by, deal_id, account_id)
            SELECT d.tenant_id, baton_uuid7(),
                   (ARRAY['call', 'email', 'meeting', 'note', 'task'])[k],
                   CASE WHEN k = 5 AND d.outcome IS NULL THEN 'planned' ELSE 'done' END,
                   (ARRAY['Call', 'Email', 'Meeting', 'Note', 'Follow-up'])[k] || ': ' || d.name,
                   CASE WHEN k = 5 AND d.outcome IS NULL
                        THEN d.next_step_due_date::timestamptz + interval '10 hours' END,
                   CASE WHEN k = 5 AND d.outcome IS NULL THEN NULL
                        ELSE now() - ((k * 7 + (hashtext(d.id::text) & 63)) * interval '1 day') END,
                   CASE WHEN k = 1 THEN 'Reached them' END,
                   d.owner_id, d.owner_id, d.id, d.account_id
            FROM deals d CROSS JOIN generate_series(1, $2::integer) AS k
            WHERE d.tenant_id = $1
            """,
            shape.tenant_id,
            ACTIVITIES_PER_DEAL,
        )


async def _move(
    conn: Any,
    shape: TenantShape,
    ids: list[uuid.UUID],
    source: str,
    target: str,
    reason: str,
    outcome: str,
) -> None:
    if not ids:
        return
    await conn.execute(
        "SELECT set_config('baton.transition_reason', $1, true),"
        " set_config('baton.transition_notes', '', true),"
        " set_config('baton.transition_fields', '', true)",
        reason,
    )
    closing = ""
    if outcome:
        reason_column = "win_reason" if outcome == "won" else "loss_reason"
        closing = (
            f", outcome = '{outcome}', {reason_column} = $5,"
            " closed_at = now() - (hashtext(id::text) & 255) * interval '1 day'"
        )
    status = await conn.execute(
        f"UPDATE deals SET step_id = $3, version = version + 1, updated_at = now() {closing}"
        " WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND step_id = $4",
        shape.tenant_id,
        ids,
        shape.steps[target],
        shape.steps[source],
        *([reason] if outcome else []),
    )
    if int(status.split()[-1]) != len(ids):
        raise RuntimeError(f"moved {status} of {len(ids)} deals {source} → {target}")


COPY_BATCH = 200_000
HISTORY_COLUMNS = (
    "tenant_id",
    "id",
    "entity_type",
    "record_id",
    "workflow_id",
    "from_step_id",
    "to_step_id",
    "actor_id",
    "reason",
    "notes",
    "fields",
    "at",
    "seconds_in_previous_step",
    "backwards",
)
DEAL_COLUMNS = (
    "tenant_id",
    "id",
    "name",
    "account_id",
    "owner_id",
    "amount",
    "currency",
    "expected_close_date",
    "next_step",
    "next_step_due_date",
    "outcome",
    "win_reason",
    "loss_reason",
    "closed_at",
    "workflow_id",
    "step_id",
    "entered_step_at",
    "rank",
    "created_at",
    "updated_at",
    "version",
)
ACCOUNT_COLUMNS = ("tenant_id", "id", "name", "domain", "industry", "owner_id", "tags")


class Copier:
    """Rows of one table sent by COPY in batches (binary, `copy_records_to_table`)."""

    def __init__(self, conn: Any, table: str, columns: tuple[str, ...]) -> None:
        self.conn, self.table, self.columns = conn, table, columns
        self.rows: list[tuple[Any, ...]] = []
        self.sent = 0

    async def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= COPY_BATCH:
            await self.flush()

    async def flush(self) -> None:
        if self.rows:
            await self.conn.copy_records_to_table(
                self.table, records=self.rows, columns=self.columns
            )
            self.sent += len(self.rows)
            self.rows = []


def visits_of(final: str, lost_from: str) -> list[str]:
    """The steps a deal entered after Prospecting on its way to `final`."""
    if final == "won":
        return [*PATH[1:], "won"]
    if final == "lost":
        return [*PATH[1 : PATH.index(lost_from) + 1], "lost"]
    return list(PATH[1 : PATH.index(final) + 1])


async def copy_tenant(
    conn: Any, name: str, deals: int, history_per_deal: int, *, seed: int
) -> None:
    """`deals` accounts and deals and their stage history by COPY, 5 activities a deal
    by one INSERT … SELECT, with triggers off; then the deals' rollups rebuilt.

    The same shape as `load_tenant` (the board's column mix, owners, amounts, ranks,
    win and loss reasons), but the deals are written in their final state and their
    history directly: the trail the move trigger would have written (created in
    Prospecting, then each step on the way to the final column, a week apart), after
    a back-and-forth between Prospecting and Discovery as long as it takes for
    `history_per_deal` rows a deal (in pairs: the tenant's total is within one row of
    `history_per_deal` times `deals`). Days in the current step vary (0 to 59 days).

    Triggers off (`session_replication_role = replica`): no audit rows, no step or
    outcome checks (the rows are made to satisfy them), no foreign-key checks (the ids
    are consistent by construction), and no rollup maintenance: the board's
    `pipeline_column_totals` and the reports' `open_deal_totals` of the tenant are
    recomputed from its deals at the end, as `baton db rebuild-rollups` does.
    """
    from decimal import Decimal

    from baton.core.ids import uuid7
    from baton.db import ddl
    from baton.deals import ranks

    shape = await tenant_shape(conn, name)
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC)
    today = now.date()
    week = datetime.timedelta(days=7)
    account_ids = [uuid7() for _ in range(deals)]
    deal_ids = [uuid7() for _ in range(deals)]
    finals = [FINAL_MIX[rng.randrange(len(FINAL_MIX))] for _ in range(deals)]
    lost_from = [PATH[rng.randrange(len(PATH))] for _ in range(deals)]
    by_column: dict[str, list[int]] = {}
    for index, final in enumerate(finals):
        by_column.setdefault(final, []).append(index)
    rank_of: list[str] = [""] * deals
    for indexes in by_column.values():
        for index, position in zip(indexes, ranks.evenly_spaced(len(indexes)), strict=True):
            rank_of[index] = ranks.rank_of(position, deal_ids[index])
    paths = [visits_of(finals[i], lost_from[i]) for i in range(deals)]
    bounce_pairs = max(0, history_per_deal * deals - sum(1 + len(p) for p in paths)) // 2
    each_pairs, extra_pairs = divmod(bounce_pairs, deals)
    tag = name.lower().replace(" ", "-")
    industries = ("Logistics", "Retail", "Software", "Health", "Food")
    currencies = ("EUR", "EUR", "EUR", "USD", "GBP")
    writers = shape.writers
    steps = shape.steps

    async with conn.transaction():
        await _settings(conn, shape.tenant_id, shape.admin_id)
        await conn.execute("SET LOCAL session_replication_role = replica")
        accounts = Copier(conn, "accounts", ACCOUNT_COLUMNS)
        for g, account_id in enumerate(account_ids, 1):
            await accounts.add(
                (
                    shape.tenant_id,
                    account_id,
                    f"Bench account {g}",
                    f"acct{g}.{tag}.example",
                    industries[g % 5],
                    writers[g % len(writers)],
                    [],
                )
            )
        await accounts.flush()
        deal_rows = Copier(conn, "deals", DEAL_COLUMNS)
        history = Copier(conn, "workflow_history", HISTORY_COLUMNS)
        for i in range(deals):
            g = i + 1
            owner = writers[g % len(writers)]
            pairs = each_pairs + (1 if i < extra_pairs else 0)
            # Prospecting, the back-and-forth, then the way to the final column.
            visited = ["prospecting", *(["discovery", "prospecting"] * pairs), *paths[i]]
            entered = now - datetime.timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
            created = entered - week * (len(visited) - 1)
            final = finals[i]
            reason = ""
            if final == "won":
                reason = WIN_REASONS[i % len(WIN_REASONS)]
            elif final == "lost":
                reason = LOSS_REASONS[i % len(LOSS_REASONS)]
            for k, key in enumerate(visited):
                previous = visited[k - 1] if k else None
                await history.add(
                    (
                        shape.tenant_id,
                        uuid7(),
                        "deal",
                        deal_ids[i],
                        shape.workflow_id,
                        steps[previous] if previous else None,
                        steps[key],
                        owner,
                        reason if k == len(visited) - 1 and reason else None,
                        None,
                        "{}",
                        created + week * k,
                        604_800.0 if k else None,
                        previous == "discovery" and key == "prospecting",
                    )
                )
            await deal_rows.add(
                (
                    shape.tenant_id,
                    deal_ids[i],
                    f"Bench deal {g}",
                    account_ids[i],
                    owner,
                    Decimal(1000 + (g * 7919) % 200000),
                    currencies[g % 5],
                    today + datetime.timedelta(days=g % 120),
                    "Call back",
                    today + datetime.timedelta(days=g % 60 - 20),
                    final if final in ("won", "lost") else None,
                    reason if final == "won" else None,
                    reason if final == "lost" else None,
                    entered if final in ("won", "lost") else None,
                    shape.workflow_id,
                    steps[final],
                    entered,
                    rank_of[i],
                    created,
                    entered,
                    len(visited),
                )
            )
        await deal_rows.flush()
        await history.flush()
        await conn.execute(
            """
            INSERT INTO activities (tenant_id, id, type, status, subject, due_at, completed_at,
                                    outcome, owner_id, created_by, deal_id, account_id)
            SELECT d.tenant_id, baton_uuid7(),
                   (ARRAY['call', 'email', 'meeting', 'note', 'task'])[k],
                   CASE WHEN k = 5 AND d.outcome IS NULL THEN 'planned' ELSE 'done' END,
                   (ARRAY['Call', 'Email', 'Meeting', 'Note', 'Follow-up'])[k] || ': ' || d.name,
                   CASE WHEN k = 5 AND d.outcome IS NULL
                        THEN d.next_step_due_date::timestamptz + interval '10 hours' END,
                   CASE WHEN k = 5 AND d.outcome IS NULL THEN NULL
                        ELSE now() - ((k * 7 + (hashtext(d.id::text) & 63)) * interval '1 day') END,
                   CASE WHEN k = 1 THEN 'Reached them' END,
                   d.owner_id, d.owner_id, d.id, d.account_id
            FROM deals d CROSS JOIN generate_series(1, $2::integer) AS k
            WHERE d.tenant_id = $1
            """,
            shape.tenant_id,
            ACTIVITIES_PER_DEAL,
        )
        await conn.execute("SET LOCAL session_replication_role = origin")
        # The rollups the triggers would have kept: recomputed from the deals.
        await conn.execute(
            "DELETE FROM pipeline_column_totals WHERE tenant_id = $1", shape.tenant_id
        )
        await conn.execute(
            ddl.PIPELINE_TOTALS_BACKFILL.replace(
                "WHERE deleted_at IS NULL", "WHERE deleted_at IS NULL AND tenant_id = $1"
            ),
            shape.tenant_id,
        )
        await conn.execute("DELETE FROM open_deal_totals WHERE tenant_id = $1", shape.tenant_id)
        await conn.execute(ddl.OPEN_DEAL_TOTALS_REBUILD.replace(":tenant", "$1"), shape.tenant_id)
        wrong = await conn.fetchval(
            "SELECT count(*) FROM deals d JOIN workflow_steps s"
            " ON s.tenant_id = d.tenant_id AND s.id = d.step_id"
            " JOIN statuses st ON st.tenant_id = s.tenant_id AND st.id = s.status_id"
            " WHERE d.tenant_id = $1 AND d.outcome IS DISTINCT FROM"
            " (CASE WHEN st.category IN ('won', 'lost') THEN st.category END)",
            shape.tenant_id,
        )
        if wrong:
            raise RuntimeError(f"{wrong} deals' outcomes do not match their steps")
