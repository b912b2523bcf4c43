"""Uploading files and running the import job in the test process."""

from __future__ import annotations

from typing import Any

import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.factories import Member
from tests.jobs.support import run_due_jobs


async def upload(
    client: httpx.AsyncClient,
    member: Member,
    content: bytes | str,
    *,
    filename: str = "targets.csv",
    kind: str = "targets",
    **form: str,
) -> httpx.Response:
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return await client.post(
        "/api/v1/imports",
        headers=member.headers,
        files={"file": (filename, raw, "application/octet-stream")},
        data={"kind": kind, **form},
    )


async def uploaded(
    client: httpx.AsyncClient, member: Member, content: bytes | str, **kw: Any
) -> dict[str, Any]:
    response = await upload(client, member, content, **kw)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def commit(
    client: httpx.AsyncClient, member: Member, batch: dict[str, Any], **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/imports/{batch['id']}/commit",
        headers=member.headers,
        json={"version": batch["version"], **extra},
    )


async def committed(
    client: httpx.AsyncClient,
    member: Member,
    batch: dict[str, Any],
    settings: Settings,
    database: Database,
    **extra: Any,
) -> dict[str, Any]:
    """Commit, run the job, answer the batch as it ended."""
    response = await commit(client, member, batch, **extra)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "running"
    await run_due_jobs(settings, database)
    return await get(client, member, batch["id"])


async def get(client: httpx.AsyncClient, member: Member, batch_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/imports/{batch_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
