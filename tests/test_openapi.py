"""Schemathesis fuzzes the API from its own OpenAPI document: no 5xx, no answer
that breaks the documented schema (DESIGN §8)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baton.config import Settings
from tests.factories import PASSWORD, unique
from tests.live_server import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.mark.xdist_group("fuzz")
def test_the_api_answers_every_generated_request_within_its_schema(server: LiveServer) -> None:
    # Its own organization: the fuzzer invites, demotes and removes members freely.
    token = httpx.post(
        f"{server.base_url}/api/v1/auth/register",
        json={
            "organization_name": unique("Fuzz"),
            "full_name": "Fuzz Admin",
            "email": f"{unique('fuzz')}@example.com",
            "password": PASSWORD,
        },
    ).json()["access_token"]
    result = subprocess.run(  # noqa: S603  (our own venv script, fixed arguments)
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20261122",
            # Both would end the session the rest of the run authenticates with.
            "--exclude-path",
            "/api/v1/auth/logout",
            "--exclude-path",
            "/api/v1/auth/password",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
