"""report covering indexes: the lead and cadence reports read their indexes alone

Each index now carries what its report reads and what the `lead_visibility` policy
tests (view, sales owner, rejected by), so PostgreSQL answers from the index without
visiting the table (an index-only scan; at 100 000 leads the lead funnel's 25 000
rows of a 90-day period were 25 000 heap visits):

- `ix_leads_created` (lead funnel, sources): the hand-over times, source and owners;
- `ix_leads_view` (nurture backlog, the lists by view): the owners;
- `ix_leads_sales_owner` (Home's "waiting for first contact"): claimed_at and id in
  the key, so Home's first five are the index's first entries, deal_id included;
- `ix_leads_rejected` (new, small: only leads sales sent back): rejected reasons by
  time, which read the whole table before;
- `ix_activities_cadence_due` (cadence adherence): status, completion and owner;
- `ix_deals_closed` (win rate, the forecast's won months): what they group and sum
  (at 100 000 deals the win rate's 6 171 closes of 90 days: 6 201 buffers → 102).

Revision ID: 8d3f2b6a1e74
Revises: 5d2b8e7f1c30
Create Date: 2026-12-08 01:15:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "8d3f2b6a1e74"
down_revision = "5d2b8e7f1c30"
branch_labels = None
depends_on = None

_LIVE = sa.text("deleted_at IS NULL")
_VISIBILITY = ["view", "sales_owner_id", "rejected_by", "marketing_owner_id"]
_CLOSED = sa.text("outcome IS NOT NULL AND deleted_at IS NULL")
_CLOSED_INCLUDED = [
    "workflow_id",
    "outcome",
    "owner_id",
    "currency",
    "amount",
    "win_reason",
    "loss_reason",
    "created_at",
]


def upgrade() -> None:
    op.drop_index("ix_deals_closed", table_name="deals")
    op.create_index(
        "ix_deals_closed",
        "deals",
        ["tenant_id", "closed_at"],
        postgresql_include=_CLOSED_INCLUDED,
        postgresql_where=_CLOSED,
    )
    op.drop_index("ix_leads_created", table_name="leads")
    op.create_index(
        "ix_leads_created",
        "leads",
        ["tenant_id", "created_at"],
        postgresql_include=[
            *_VISIBILITY,
            "source",
            "qualified_at",
            "handed_over_at",
            "claimed_at",
            "converted_at",
            "disqualified_at",
        ],
        postgresql_where=_LIVE,
    )
    op.drop_index("ix_leads_view", table_name="leads")
    op.create_index(
        "ix_leads_view",
        "leads",
        ["tenant_id", "view", "id"],
        postgresql_include=["sales_owner_id", "rejected_by", "marketing_owner_id"],
        postgresql_where=_LIVE,
    )
    op.drop_index("ix_leads_sales_owner", table_name="leads")
    op.create_index(
        "ix_leads_sales_owner",
        "leads",
        ["tenant_id", "sales_owner_id", "view", "claimed_at", "id"],
        postgresql_include=["deal_id", "rejected_by"],
        postgresql_where=sa.text("deleted_at IS NULL AND sales_owner_id IS NOT NULL"),
    )
    op.create_index(
        "ix_leads_rejected",
        "leads",
        ["tenant_id", "rejected_at"],
        postgresql_include=["reject_reason", *_VISIBILITY],
        postgresql_where=sa.text("deleted_at IS NULL AND reject_reason IS NOT NULL"),
    )
    op.drop_index("ix_activities_cadence_due", table_name="activities")
    op.create_index(
        "ix_activities_cadence_due",
        "activities",
        ["tenant_id", "due_at"],
        postgresql_include=["status", "completed_at", "owner_id"],
        postgresql_where=sa.text("enrollment_id IS NOT NULL AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_activities_cadence_due", table_name="activities")
    op.create_index(
        "ix_activities_cadence_due",
        "activities",
        ["tenant_id", "due_at"],
        postgresql_where=sa.text("enrollment_id IS NOT NULL AND deleted_at IS NULL"),
    )
    op.drop_index("ix_leads_rejected", table_name="leads")
    op.drop_index("ix_leads_sales_owner", table_name="leads")
    op.create_index(
        "ix_leads_sales_owner",
        "leads",
        ["tenant_id", "sales_owner_id", "view"],
        postgresql_where=sa.text("deleted_at IS NULL AND sales_owner_id IS NOT NULL"),
    )
    op.drop_index("ix_leads_view", table_name="leads")
    op.create_index("ix_leads_view", "leads", ["tenant_id", "view", "id"], postgresql_where=_LIVE)
    op.drop_index("ix_leads_created", table_name="leads")
    op.create_index(
        "ix_leads_created", "leads", ["tenant_id", "created_at"], postgresql_where=_LIVE
    )
    op.drop_index("ix_deals_closed", table_name="deals")
    op.create_index(
        "ix_deals_closed", "deals", ["tenant_id", "closed_at"], postgresql_where=_CLOSED
    )
