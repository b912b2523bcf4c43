"""Search fixtures: an organization with every role, and a second one (the leads')."""

from __future__ import annotations

import httpx
import pytest

from tests.leads.conftest import Org, make_org


@pytest.fixture
async def org(client: httpx.AsyncClient) -> Org:
    return await make_org(client)


@pytest.fixture
async def other_org(client: httpx.AsyncClient) -> Org:
    return await make_org(client)
