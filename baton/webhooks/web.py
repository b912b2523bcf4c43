"""The Webhooks pages (admins only), over `baton.webhooks.service`.

`/webhooks`: the endpoints, the event types, a form to add one (its signing secret is
shown once, on the page that answers the form). `/webhooks/{id}`: one endpoint, its
delivery log (status, attempts, HTTP status, latency, response excerpt), Ping,
Redeliver, Enable/Disable and Delete.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from baton.core.auth import CtxDep
from baton.core.context import Ctx
from baton.core.schemas import parse_input
from baton.web.rendering import render
from baton.webhooks import service
from baton.webhooks.schemas import EndpointIn, EndpointPatch

router = APIRouter(include_in_schema=False)

PATH = "/webhooks"
# The page shows the newest deliveries; older ones are in the API, page by page.
LOG_SIZE = 100

FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]


async def _list(
    request: Request, ctx: Ctx, *, secret: str | None = None, created: object = None
) -> Response:
    endpoints = await service.list_endpoints(ctx)
    return render(
        request,
        "webhooks/list.html",
        endpoints=endpoints,
        event_types=service.event_types(),
        secret=secret,
        created=created,
    )


@router.get(PATH)
async def webhooks_page(request: Request, ctx: CtxDep) -> Response:
    return await _list(request, ctx)


@router.post(PATH)
async def webhooks_create(
    request: Request,
    ctx: CtxDep,
    url: FormText = "",
    description: FormText = "",
    events: FormList = [],  # noqa: B006 - FastAPI copies form defaults
) -> Response:
    data = parse_input(EndpointIn, {"url": url, "events": events, "description": description})
    row, secret = await service.create_endpoint(ctx, data)
    return await _list(request, ctx, secret=secret, created=row)


async def _detail(
    request: Request, ctx: Ctx, endpoint_id: uuid.UUID, notice: str | None
) -> Response:
    endpoint = await service.get_endpoint(ctx, endpoint_id)
    deliveries = await service.list_deliveries(ctx, endpoint_id, before=None, limit=LOG_SIZE)
    return render(
        request,
        "webhooks/detail.html",
        endpoint=endpoint,
        deliveries=deliveries[:LOG_SIZE],
        more=len(deliveries) > LOG_SIZE,
        notice=notice,
    )


@router.get(PATH + "/{endpoint_id}")
async def webhook_page(request: Request, ctx: CtxDep, endpoint_id: uuid.UUID) -> Response:
    notice = request.query_params.get("notice")
    return await _detail(request, ctx, endpoint_id, notice[:200] if notice else None)


def _back(endpoint_id: uuid.UUID, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{PATH}/{endpoint_id}?notice={quote(notice)}", status_code=303)


@router.post(PATH + "/{endpoint_id}/ping")
async def webhook_ping(request: Request, ctx: CtxDep, endpoint_id: uuid.UUID) -> Response:
    await service.ping(ctx, endpoint_id)
    return _back(endpoint_id, "Ping queued: it appears below once the worker sent it")


@router.post(PATH + "/{endpoint_id}/enabled")
async def webhook_enable(
    request: Request,
    ctx: CtxDep,
    endpoint_id: uuid.UUID,
    enabled: FormText = "",
    version: FormText = "",
) -> Response:
    data = parse_input(
        EndpointPatch, {"enabled": enabled == "true", "version": int(version or 0) or None}
    )
    await service.update_endpoint(ctx, endpoint_id, data, data.version)
    return _back(endpoint_id, "Endpoint enabled" if data.enabled else "Endpoint disabled")


@router.post(PATH + "/{endpoint_id}/delete")
async def webhook_delete(
    request: Request, ctx: CtxDep, endpoint_id: uuid.UUID, version: FormText = ""
) -> Response:
    await service.delete_endpoint(ctx, endpoint_id, int(version) if version.isdigit() else None)
    return RedirectResponse(PATH, status_code=303)


@router.post("/webhook-deliveries/{delivery_id}/redeliver")
async def webhook_redeliver(request: Request, ctx: CtxDep, delivery_id: uuid.UUID) -> Response:
    delivery = await service.redeliver(ctx, delivery_id)
    return _back(delivery.endpoint_id, "Redelivery queued")
