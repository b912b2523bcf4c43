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
    Numeric,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    Uuid,
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
