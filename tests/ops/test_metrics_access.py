"""/metrics answers a scraper with the token, or, without one set, this machine only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.core.problems import PROBLEM_JSON
from baton.db.engine import Database
from tests.conftest import make_settings

TOKEN = "metrics-token-" + "s" * 24


def _client(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture(scope="module")
def app_with_token(settings: Settings, database: Database) -> Any:
    return create_app(make_settings(settings, metrics_token=TOKEN), database)


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert "baton_http_requests" not in response.text
    return body


async def test_with_a_token_only_the_right_bearer_scrapes(app_with_token: Any) -> None:
    # Loopback or not: once a token is set, every scraper sends it.
    for address in ("10.20.30.40", "127.0.0.1"):
        async with _client(app_with_token, address) as client:
            right = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert right.status_code == 200
            assert "baton_http_request_duration_seconds" in right.text

            missing = _assert_problem(await client.get("/metrics"), 401)
            assert "Bearer" in missing["detail"]
            for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN):
                refused = await client.get("/metrics", headers={"Authorization": wrong})
                _assert_problem(refused, 401)
                assert refused.headers["www-authenticate"] == "Bearer"


async def test_without_a_token_only_loopback_scrapes(app: Any) -> None:
    for address in ("127.0.0.1", "::1", "127.3.4.5"):
        async with _client(app, address) as client:
            assert (await client.get("/metrics")).status_code == 200, address
    for address in ("10.20.30.40", "192.168.1.7", "2001:db8::1", "::ffff:10.0.0.1"):
        async with _client(app, address) as client:
            refused = _assert_problem(await client.get("/metrics"), 403)
            assert "BATON_METRICS_TOKEN" in refused["detail"]
            # A header anyone can send changes nothing.
            forged = await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
            _assert_problem(forged, 403)
            # Nor does a token when none is configured.
            guessed = await client.get("/metrics", headers={"Authorization": "Bearer x"})
            _assert_problem(guessed, 403)
