"""The import commit job (`imports.commit`): one batch's rows in one transaction.

Queued by `imports.service.commit_batch` in the request that marked the batch
running; runs `imports.service.run_commit` in the tenant's unit of work with the
committing member's id and role (RLS, audit). Idempotent: a batch that is no
longer running is left alone.
"""

from __future__ import annotations

import uuid

from baton.core.context import Ctx
from baton.jobs.runtime import tenant_task


@tenant_task(name="imports.commit")
async def commit_import(ctx: Ctx, *, batch_id: str) -> None:
    from baton.imports.service import run_commit

    await run_commit(ctx, uuid.UUID(batch_id))
