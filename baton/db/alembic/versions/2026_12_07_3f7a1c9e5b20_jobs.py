"""jobs: procrastinate's schema, job errors, the tenant's view of its jobs, retention

procrastinate (DESIGN §1: background jobs) keeps its queue in four tables and a set
of plpgsql functions; this revision applies the schema file the installed
procrastinate ships (`procrastinate.schema.SchemaManager.get_schema()`, version
pinned in pyproject.toml) instead of a copy of it. Its tables hold every tenant's
jobs and carry no RLS; tenants reach theirs only through `baton_tenant_jobs` and
`baton_retry_tenant_job` (SECURITY DEFINER, filtered by `baton.tenant_id`).
`job_errors` keeps why a job failed (procrastinate does not), under RLS.
`baton_retention_sweep` deletes one batch of expired rows of one kind; an index on
`access_tokens.expires_at` keeps its batches index scans.

Revision ID: 3f7a1c9e5b20
Revises: 5b8e2d41c9a7
Create Date: 2026-12-07 02:00:00.000000+00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import await_only

from baton.db import ddl
from baton.jobs import ddl as jobs_ddl

revision = "3f7a1c9e5b20"
down_revision = "5b8e2d41c9a7"
branch_labels = None
depends_on = None


def _execute_script(sql: str) -> None:
    """Run a file of several statements (procrastinate's schema) as one simple query
    on the migration's connection and transaction: SQLAlchemy would prepare it, and a
    prepared statement holds one command."""
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    await_only(driver.execute(sql))


def upgrade() -> None:
    _execute_script(jobs_ddl.procrastinate_schema())
    op.execute(jobs_ddl.TENANT_JOBS_INDEX)
    op.create_table(
        "job_errors",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("length(error) <= 2000", name=op.f("ck_job_errors_error_length")),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", name=op.f("pk_job_errors")),
    )
    for statement in ddl.enable_tenant_rls("job_errors"):
        op.execute(statement)
    op.create_index(
        op.f("ix_access_tokens_expires_at"), "access_tokens", ["expires_at"], unique=False
    )
    op.execute(jobs_ddl.TENANT_JOBS_FUNCTION)
    op.execute(jobs_ddl.RETRY_TENANT_JOB_FUNCTION)
    op.execute(jobs_ddl.RETENTION_FUNCTION_V1)


def downgrade() -> None:
    op.execute("DROP FUNCTION baton_retention_sweep(text, integer)")
    op.execute("DROP FUNCTION baton_retry_tenant_job(bigint)")
    op.execute("DROP FUNCTION baton_tenant_jobs(text, bigint, integer)")
    op.drop_index(op.f("ix_access_tokens_expires_at"), table_name="access_tokens")
    for statement in ddl.disable_tenant_rls("job_errors"):
        op.execute(statement)
    op.drop_table("job_errors")
    _execute_script(jobs_ddl.DROP_PROCRASTINATE)
