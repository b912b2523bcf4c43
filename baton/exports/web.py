"""The pages' downloads: `/exports/{entity}` — the API's export, for a signed-in page.

Every list page's "Export" links (CSV, Excel) point here with the filters on screen;
the file is the one `GET /api/v1/exports/{entity}` answers (same filters, same
service), authenticated by the page's session instead of a token.
"""

from __future__ import annotations

from fastapi import APIRouter

from baton.core.auth import CtxDep
from baton.core.request_transaction import StreamedResponse
from baton.exports import service
from baton.exports.api import ExportFiltersDep, streamed
from baton.exports.filters import ExportEntity
from baton.exports.formats import ExportFormat

router = APIRouter(include_in_schema=False)


@router.get("/exports/{entity}")
async def export_download(
    entity: ExportEntity,
    ctx: CtxDep,
    filters: ExportFiltersDep,
    format: ExportFormat = ExportFormat.CSV,
) -> StreamedResponse:
    return streamed(await service.open_export(ctx, entity, filters, format))
