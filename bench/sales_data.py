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
    that many rows per deal (`pad_history`).
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
        await step(
            f"{BIG_TENANT}: {deals} deals",
            load_tenant(conn, BIG_TENANT, deals, seed=1),
        )
        await step(
            f"{GROWTH_TENANT}: {deals // 10} deals",
            load_tenant(conn, GROWTH_TENANT, deals // 10, seed=2),
        )
        if history_per_deal:
            for name, count in ((BIG_TENANT, deals), (GROWTH_TENANT, deals // 10)):
                await step(
                    f"{name}: stage history to {history_per_deal * count} rows (COPY)",
                    pad_history(conn, name, history_per_deal, seed=3),
                )
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


HISTORY_BATCH = 200_000


async def pad_history(conn: Any, name: str, per_deal: int, *, seed: int) -> None:
    """Earlier moves, by COPY, until the tenant's deals have `per_deal` history rows each.

    The rows are a past back-and-forth between Prospecting and Discovery (each deal's
    extra moves dated a week apart before it entered its current step), with the
    columns the move trigger writes. Nothing reads them back as the deal's state: they
    are the volume a tenant with years of history has in `workflow_history`, its indexes
    and the planner's statistics. The history table has no triggers (it is the trail
    itself), so COPY adds exactly these rows.
    """
    from baton.core.ids import uuid7

    shape = await tenant_shape(conn, name)
    deals = await conn.fetch(
        "SELECT id, owner_id, entered_step_at FROM deals WHERE tenant_id = $1 ORDER BY id",
        shape.tenant_id,
    )
    have = await conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE tenant_id = $1 AND entity_type = 'deal'",
        shape.tenant_id,
    )
    missing = per_deal * len(deals) - have
    if missing <= 0 or not deals:
        return
    each, extra = divmod(missing, len(deals))
    rng = random.Random(seed)
    forward = (shape.steps["prospecting"], shape.steps["discovery"])
    columns = (
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
    week = datetime.timedelta(days=7)
    batch: list[tuple[Any, ...]] = []
    async with conn.transaction():
        for index, deal in enumerate(deals):
            count = each + (1 if index < extra else 0)
            began = (
                deal["entered_step_at"]
                - week * (count + 1)
                - datetime.timedelta(minutes=rng.randrange(10_000))
            )
            for k in range(count):
                back = k % 2 == 1
                source, target = (forward[1], forward[0]) if back else forward
                batch.append(
                    (
                        shape.tenant_id,
                        uuid7(),
                        "deal",
                        deal["id"],
                        shape.workflow_id,
                        source,
                        target,
                        deal["owner_id"],
                        None,
                        None,
                        "{}",
                        began + week * k,
                        604_800.0 if k else None,
                        back,
                    )
                )
            if len(batch) >= HISTORY_BATCH:
                await conn.copy_records_to_table("workflow_history", records=batch, columns=columns)
                batch = []
        if batch:
            await conn.copy_records_to_table("workflow_history", records=batch, columns=columns)
