"""The last error of each failed job attempt, kept where RLS can scope it.

procrastinate keeps a job's status and attempt count but not why it failed; the
task wrapper (`baton.jobs.runtime`) writes the error here, in a short transaction of
the job's tenant, after the job's own unit of work rolled back. One row per job (the
latest attempt wins); the retention sweep removes rows whose job is gone.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base

MAX_ERROR_LENGTH = 2000


class JobError(Base):
    """Why a tenant's job failed last: shown on the Jobs page and `GET /api/v1/jobs`."""

    __tablename__ = "job_errors"
    __table_args__ = (
        CheckConstraint(f"length(error) <= {MAX_ERROR_LENGTH}", name="error_length"),
        {"info": {"tenancy": "tenant_operational"}},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # procrastinate_jobs.id; no foreign key: procrastinate owns that table and deletes
    # its rows on its own terms (successful jobs at once).
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
