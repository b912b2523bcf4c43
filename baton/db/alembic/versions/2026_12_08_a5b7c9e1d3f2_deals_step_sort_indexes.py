"""deals list by stage: step-led indexes in each sort's order

The deals list filtered by stage (`stage=proposal`) pages each step holding the
stage's key on its own (`baton.deals.queries._stage_keys`), in the list's order. These
indexes give creation order and the sorts by expected close, days in stage and amount
(descending) that order within a step, so the page is one index range per step and
stops at the page whatever the step holds (it read and sorted the whole step: 190 ms
at 1 000 000 deals, 11.9 times the 100 000-deal tenant's).

Revision ID: a5b7c9e1d3f2
Revises: 8d3f2b6a1e74
Create Date: 2026-12-08 01:30:00.000000+00:00
"""

from __future__ import annotations

from alembic import op

revision = "a5b7c9e1d3f2"
down_revision = "8d3f2b6a1e74"
branch_labels = None
depends_on = None

# (index name, its columns after tenant_id and step_id): as `ix_deals_list_*`, per step,
# for the orders a stage is most often read in — creation order (the default), closing
# soonest, longest (or shortest) in the stage, biggest first. Not for name, amount
# ascending or next step due: a move changes indexed columns (no HOT update), so every
# index on deals costs each move an insert (~0.13 ms an index at 1 000 000 deals on a
# loaded host, docs/benchmarks.md); those sorts read and sort the step's deals.
STEP_SORT_INDEXES = (
    ("ix_deals_step_id", "id"),
    ("ix_deals_step_expected_close", "expected_close_date, id"),
    ("ix_deals_step_entered_step", "entered_step_at, id"),
    ("ix_deals_step_amount_desc", "amount DESC NULLS LAST, id DESC"),
)


def upgrade() -> None:
    for name, columns in STEP_SORT_INDEXES:
        op.execute(
            f"CREATE INDEX {name} ON deals (tenant_id, step_id, {columns}) WHERE deleted_at IS NULL"
        )


def downgrade() -> None:
    for name, _columns in STEP_SORT_INDEXES:
        op.drop_index(name, table_name="deals")
