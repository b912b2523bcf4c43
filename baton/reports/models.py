"""The reports' rollups: bookkeeping tables kept exact by triggers on the base rows.

`open_deal_totals` holds, per (workflow, step, owner, currency, probability override,
month of the expected close), how many open, live deals there are and their amounts
summed. The `open_deal_totals_*` triggers on deals keep it in the transaction of every
write (the move's single statement, imports, bulk actions, hand-written SQL), so the
pipeline and the forecast read a few hundred rows instead of every open deal.
`baton doctor` compares it with a recomputation from the deals and `baton db
rebuild-rollups` writes the recomputation back (idempotent). Its NULLs are values: no
override (the step's probability applies) and no expected close date; the unique key
treats them as equal, so it is a table with a unique key and no primary key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    text,
)

from baton.accounts.models import CURRENCY_CHECK
from baton.db.base import Base

open_deal_totals = Table(
    "open_deal_totals",
    Base.metadata,
    Column("tenant_id", Uuid, ForeignKey("tenants.id"), nullable=False),
    Column("workflow_id", Uuid, nullable=False),
    Column("step_id", Uuid, nullable=False),
    Column("owner_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    # The deal's own probability; NULL: the step's, weighed when a report reads it.
    Column("probability", SmallInteger, nullable=True),
    # The first day of the expected close's month; NULL: no expected close date.
    Column("close_month", Date, nullable=True),
    Column("deal_count", BigInteger, nullable=False),
    # Wider than a deal's numeric(14,2), as the board's totals; deals without an
    # amount count 0, as the reports' sums did.
    Column("amount_total", Numeric(20, 2), nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "workflow_id", "step_id"],
        ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
    ),
    CheckConstraint(f"currency {CURRENCY_CHECK}", name="currency_code"),
    UniqueConstraint(
        "tenant_id",
        "workflow_id",
        "step_id",
        "owner_id",
        "currency",
        "probability",
        "close_month",
        name="uq_open_deal_totals_key",
        postgresql_nulls_not_distinct=True,
    ),
    # Written only by the triggers, as the app role (the rebuild runs as the owner).
    info={"tenancy": "tenant", "audited": False, "app_privileges": ("SELECT", "INSERT", "UPDATE")},
)


# The ledger's rollups for `stage-conversion`, per UTC day of the move (`at`), kept by
# the `workflow_moves_*` triggers on `workflow_history` in the writing transaction.
# UTC days, not the organization's: a zone change rewrites no row, and a period's
# whole UTC days plus its two partial days read from the ledger stay exact for any
# `from`/`to`. Counts only; the owner filter (the moved record's owner *today*) reads
# the ledger itself.
workflow_move_days = Table(
    "workflow_move_days",
    Base.metadata,
    Column("tenant_id", Uuid, ForeignKey("tenants.id"), nullable=False),
    Column("workflow_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    # NULL: the record's creation (it entered the workflow).
    Column("from_step_id", Uuid, nullable=True),
    Column("to_step_id", Uuid, nullable=False),
    Column("moves", BigInteger, nullable=False),
    Column("backwards", BigInteger, nullable=False),
    UniqueConstraint(
        "tenant_id",
        "workflow_id",
        "day",
        "from_step_id",
        "to_step_id",
        name="uq_workflow_move_days_key",
        postgresql_nulls_not_distinct=True,
    ),
    info={"tenancy": "tenant", "audited": False, "app_privileges": ("SELECT", "INSERT", "UPDATE")},
)

# Time in a step as a histogram at display precision (`baton_duration_bucket`: whole
# seconds below a minute, minutes below an hour, tenths of an hour below a day,
# tenths of a day beyond, with no upper end), per (workflow, step left, UTC day): the
# median and 90th percentile read from cumulative counts are the ledger's exact
# values truncated to what the pages show. `span` 0 rows are those display buckets;
# `span` 1 rows the same moves per coarse bucket (`baton_duration_coarse`: one per
# minute's, hour's or day's worth of display buckets), read first so only the coarse
# buckets holding a percentile are read in full.
step_duration_days = Table(
    "step_duration_days",
    Base.metadata,
    Column("tenant_id", Uuid, ForeignKey("tenants.id"), nullable=False),
    Column("workflow_id", Uuid, nullable=False),
    Column("step_id", Uuid, nullable=False),
    Column("span", SmallInteger, nullable=False),
    Column("day", Date, nullable=False),
    # The bucket's lower bound in seconds.
    Column("bucket", BigInteger, nullable=False),
    Column("moves", BigInteger, nullable=False),
    UniqueConstraint(
        "tenant_id",
        "workflow_id",
        "step_id",
        "span",
        "bucket",
        "day",
        name="uq_step_duration_days_key",
    ),
    CheckConstraint("span IN (0, 1)", name="span_known"),
    # The coarse rows of a period, every step at once.
    Index(
        "ix_step_duration_days_coarse",
        "tenant_id",
        "workflow_id",
        "day",
        postgresql_where=text("span = 1"),
    ),
    info={"tenancy": "tenant", "audited": False, "app_privileges": ("SELECT", "INSERT", "UPDATE")},
)


# The activity report's rollup, per (owner, UTC day), kept by the `activity_days_*`
# triggers on activities in the writing transaction: `done` counts activities done
# (system entries excluded) by the day they were completed, `planned` counts planned
# activities by the day they are due. A period's whole UTC days come from here, its
# partial first and last days (and today's overdue part) from the activities.
activity_days = Table(
    "activity_days",
    Base.metadata,
    Column("tenant_id", Uuid, ForeignKey("tenants.id"), nullable=False),
    Column("day", Date, nullable=False),
    # NULL: nobody's (as on the activity).
    Column("owner_id", Uuid, nullable=True),
    Column("done", BigInteger, nullable=False),
    Column("planned", BigInteger, nullable=False),
    UniqueConstraint(
        "tenant_id",
        "day",
        "owner_id",
        name="uq_activity_days_key",
        postgresql_nulls_not_distinct=True,
    ),
    info={"tenancy": "tenant", "audited": False, "app_privileges": ("SELECT", "INSERT", "UPDATE")},
)
