"""The jobs API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path

from baton.core.schemas import Schema
from baton.jobs.queries import JobState

# A job id in a path: procrastinate's bigint (an id past it is 422, not a 500).
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class JobOut(Schema):
    id: int
    # The task's registered name, e.g. `baton.retention_sweep`.
    task: str
    state: JobState
    # Attempts made so far (a failed attempt counts; a running one does not yet).
    attempts: int
    queued_at: datetime | None
    # When a queued job becomes due (a retry's backoff); null: due at once.
    scheduled_at: datetime | None
    started_at: datetime | None
    # The last failed attempt's error (type and message), also while a retry waits.
    error: str | None
    failed_at: datetime | None
