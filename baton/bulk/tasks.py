"""The bulk job (`bulk.run`): the next chunk of a bulk run's rows, one transaction.

Queued by `bulk.service.run_bulk` for a request above `SYNC_ROWS` rows, and by each
chunk for the next until the run is done; runs `bulk.service.run_chunk` in the
tenant's unit of work with the requesting member's id and role (RLS, audit).
Idempotent: a chunk reads where the run stands under the run's lock.
"""

from __future__ import annotations

import uuid

from baton.core.context import Ctx
from baton.jobs.runtime import tenant_task


@tenant_task(name="bulk.run")
async def run_bulk_chunk(ctx: Ctx, *, run_id: str) -> None:
    from baton.bulk.service import run_chunk

    await run_chunk(ctx, uuid.UUID(run_id))
