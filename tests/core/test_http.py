"""Errors as problem+json, body limits, request ids, security headers."""

from __future__ import annotations

import json
import uuid

import httpx
from sqlalchemy.pool import QueuePool

from baton.config import Settings
from baton.db.engine import Database
from tests.factories import register_tenant


async def test_oversized_body_is_413_before_anything_runs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    big = "x" * (settings.max_body_bytes + 1)
    response = await client.post(
        "/api/v1/auth/register", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413


async def test_validation_errors_name_their_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json={"email": "x", "extra": 1})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/validation-failed")
    assert problem["title"] == "Validation failed"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"email", "password", "extra"}


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_unknown_api_route_is_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    response = await client.get("/api/v1/nothing-here", headers=admin.headers)
    assert response.status_code == 404


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    bogus = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bogus.headers["x-request-id"] != "bad id\twith spaces"
    assert len(bogus.headers["x-request-id"]) == 32


async def test_security_headers_on_every_answer(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/healthz", "/api/v1/me"):
        response = await client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    await client.get("/api/v1/me")
    metrics = (await client.get("/metrics")).text
    assert 'baton_http_requests_total{method="GET",route="/api/v1/me",status="401"}' in metrics
    assert "baton_http_request_duration_seconds_bucket" in metrics
    assert "baton_db_pool_checked_out" in metrics


async def test_text_the_database_cannot_store_is_422_not_500(client: httpx.AsyncClient) -> None:
    for name in ("nul\u0000byte", "lone \udbc0 surrogate"):
        body = {
            "organization_name": name,
            "full_name": "X",
            "email": "x@example.com",
            "password": "long-enough-password",
        }
        # json.dumps escapes both as \u sequences, as a client in any language could.
        response = await client.post(
            "/api/v1/auth/register",
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, name
        assert response.json()["errors"][0]["field"] == "organization_name"


async def test_every_request_returns_its_connection_to_the_pool(
    client: httpx.AsyncClient, database: Database
) -> None:
    """The request's session is not closed after a commit or rollback (that would be
    one more greenlet hop); the commit or rollback must release the connection."""
    member = await register_tenant(client)
    pool = database.engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    answers = [
        await client.get("/api/v1/me", headers=member.headers),  # read, committed
        await client.post(  # write, committed
            "/api/v1/accounts", headers=member.headers, json={"name": "Pooled GmbH"}
        ),
        await client.post("/api/v1/accounts", headers=member.headers, json={}),  # 422
        await client.get(f"/api/v1/accounts/{uuid.uuid4()}", headers=member.headers),  # 404
        await client.get("/api/v1/me", headers={"Authorization": "Bearer bat_nope"}),  # 401
    ]
    assert [answer.status_code for answer in answers] == [200, 201, 422, 404, 401]
    assert pool.checkedout() == 0
