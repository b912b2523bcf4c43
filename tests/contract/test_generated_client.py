"""A Python client generated from the served document drives a journey through the
app's HTTP interface (issue 20 #11; httpx's ASGI transport under the generated client): if the document drifts from the server, the generated models refuse
the answers (`raise_on_unexpected_status`, strict `from_dict`) and this test fails."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from baton.app import openapi_document
from tests.conftest import random_address
from tests.factories import PASSWORD, unique

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "baton_generated_client"
BASE = "http://testserver"
# Operations whose 200 body is a file the generator does not model (a ZIP, an Excel
# workbook): the operation is generated, and a client reads that body raw.
FILE_DOWNLOADS = {
    "GET /api/v1/exports/{export_id}/download",
    "GET /api/v1/exports/{entity}",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client openapi-python-client writes from the app's document (offline: the
    generator reads the file it is given and formats with the venv's ruff)."""
    root = tmp_path_factory.mktemp("client")
    document = root / "openapi.json"
    document.write_text(json.dumps(openapi_document()))
    result = subprocess.run(  # noqa: S603  (the venv's generator, fixed arguments)
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Every operation generated: the generator skips what it cannot read, with a warning.
    # The exceptions are file downloads' bodies (FILE_DOWNLOADS).
    skipped = re.findall(r"WARNING parsing (\S+ \S+)", output)
    assert set(skipped) <= FILE_DOWNLOADS, output
    assert output.count("Unsupported content_type") == len(skipped), output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _api(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_generated_client_signs_in_sells_and_pages(generated: ModuleType, app: Any) -> None:
    models = _api(generated, "models")
    register = _api(generated, "api.auth.register")
    login = _api(generated, "api.auth.login")
    create_account = _api(generated, "api.accounts.create_account")
    create_deal = _api(generated, "api.deals.create_deal")
    pipeline = _api(generated, "api.deals.pipeline")
    move_deal = _api(generated, "api.deals.move_deal")
    close_deal = _api(generated, "api.deals.close_deal")
    deal_history = _api(generated, "api.deals.deal_history")
    list_deals = _api(generated, "api.deals.list_deals")

    transport = httpx.ASGITransport(app=app, client=(random_address(), 40000))

    def over_asgi(client: Any, headers: dict[str, str] | None = None) -> Any:
        client.set_async_httpx_client(
            httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers or {})
        )
        return client

    anonymous = over_asgi(generated.Client(base_url=BASE, raise_on_unexpected_status=True))
    email = f"{unique('client')}@example.com"
    registered = await register.asyncio(
        client=anonymous,
        body=models.RegistrationIn(
            organization_name=unique("Generated"),
            full_name="Gen Client",
            email=email,
            password=PASSWORD,
        ),
    )
    assert isinstance(registered, models.RegistrationOut), registered
    wrong = await login.asyncio(
        client=anonymous, body=models.LoginIn(email=email, password="x" * 12)
    )
    assert isinstance(wrong, models.Problem)
    assert wrong.status == 401
    token = await login.asyncio(
        client=anonymous, body=models.LoginIn(email=email, password=PASSWORD)
    )
    assert isinstance(token, models.TokenOut), token
    api = over_asgi(
        generated.AuthenticatedClient(
            base_url=BASE, token=token.access_token, raise_on_unexpected_status=True
        ),
        {"Authorization": f"Bearer {token.access_token}"},
    )

    account = await create_account.asyncio(
        client=api, body=models.AccountIn(name=unique("Account"))
    )
    assert isinstance(account, models.AccountOut), account
    next_week = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)
    deals = [
        await create_deal.asyncio(
            client=api,
            body=models.DealIn(
                name=f"Deal {n}",
                account_id=account.id,
                amount="1200.50",
                next_step="Call",
                next_step_due_date=next_week,
            ),
        )
        for n in range(3)
    ]
    assert all(isinstance(deal, models.DealOut) for deal in deals), deals
    deal = deals[0]
    assert deal.amount == "1200.50"

    columns = await pipeline.asyncio(client=api)
    assert isinstance(columns, models.PipelineOut), columns
    steps = {column.step.key: column.step.id for column in columns.columns}
    moved = await move_deal.asyncio(
        deal.id,
        client=api,
        body=models.DealMoveIn(to_step_id=steps["discovery"], version=deal.version),
    )
    assert isinstance(moved, models.DealMoveOut), moved
    assert moved.deal.step.key == "discovery"
    # The version the deal was created with is stale now: a 409 read as a Problem.
    stale = await move_deal.asyncio(
        deal.id,
        client=api,
        body=models.DealMoveIn(to_step_id=steps["prospecting"], version=deal.version),
    )
    assert isinstance(stale, models.Problem), stale
    assert (stale.status, stale.type_.rsplit("/", 1)[-1]) == (409, "stale-version")

    closed = await close_deal.asyncio(
        deal.id,
        client=api,
        body=models.CloseIn(
            outcome=models.DealOutcome.LOST, reason="competitor", version=moved.deal.version
        ),
    )
    assert isinstance(closed, models.CloseOut), closed
    assert closed.deal.outcome == models.DealOutcome.LOST
    history = await deal_history.asyncio(deal.id, client=api)
    assert isinstance(history, list), history
    assert all(isinstance(entry, models.DealHistoryEntryOut) for entry in history)
    assert len(history) >= 3  # created, moved, closed

    seen: list[Any] = []
    cursor: Any = generated.types.UNSET
    while True:
        page = await list_deals.asyncio(client=api, limit=1, cursor=cursor)
        assert isinstance(page, models.PageDealOut), page
        seen += [item.id for item in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    # One deal a page, in creation order, each once: the cursor walks the organization's.
    assert seen == [d.id for d in deals]
