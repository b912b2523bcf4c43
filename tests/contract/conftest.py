"""The API as an integrator meets it: the ASGI app served in-process to Schemathesis
and to a client generated from the document."""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from schemathesis.python.asgi import get_client

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url
from tests.factories import PASSWORD, unique

# One seed per run: random unless BATON_FUZZ_SEED pins it (printed with every failure).
SEED = int(os.environ.get("BATON_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
BASE = "http://testserver"


@dataclass(frozen=True)
class Callers:
    """Who the fuzz sends requests as: two roles of one organization, an admin of
    another, and nobody."""

    admin: dict[str, str]
    sales: dict[str, str]
    other_admin: dict[str, str]
    anonymous: dict[str, str]

    def of(self, role: str) -> dict[str, str]:
        return dict(getattr(self, role))


def _register(http: requests.Session) -> dict[str, str]:
    answer = http.post(
        f"{BASE}/api/v1/auth/register",
        json={
            "organization_name": unique("Fuzz"),
            "full_name": "Fuzz Admin",
            "email": f"{unique('fuzz')}@example.com",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _member(http: requests.Session, admin: dict[str, str], role: str) -> dict[str, str]:
    email = f"{unique(role)}@example.com"
    invited = http.post(
        f"{BASE}/api/v1/users",
        json={"email": email, "full_name": "Fuzz Sales", "role": role, "password": PASSWORD},
        headers=admin,
    )
    assert invited.status_code == 201, invited.text
    signed_in = http.post(
        f"{BASE}/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
    )
    assert signed_in.status_code == 200, signed_in.text
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


class DeferredApp:
    """The ASGI app Schemathesis calls, bound when the database exists: the operations
    are collected from the document at import, before any fixture ran."""

    def __init__(self) -> None:
        self.app: Any = None
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the contract_app fixture binds the app"
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


DEFERRED = DeferredApp()


@pytest.fixture(scope="session")
def contract_app(settings: Settings) -> Any:
    """The app with its own pool: the requests run on Schemathesis's event loop thread,
    and asyncpg connections belong to the loop that opened them."""
    if DEFERRED.app is None:
        db = Database(app_url(settings), pool_size=4, max_overflow=4)
        DEFERRED.app = create_app(settings, db)
    return DEFERRED


@pytest.fixture(scope="session")
def callers(contract_app: Any) -> Callers:
    http = get_client(contract_app)
    admin = _register(http)
    return Callers(
        admin=admin,
        sales=_member(http, admin, "sales"),
        other_admin=_register(http),
        anonymous={},
    )


def fresh_id() -> str:
    return str(uuid.uuid4())
