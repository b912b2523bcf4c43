"""hypothesis-graphql against /graphql: generated queries and mutations (bounded, for
CI) never get a 5xx, and every error carries a code."""

from __future__ import annotations

import httpx
from graphql import StringValueNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from baton.graphql.schema import schema
from tests.deals.conftest import Org

SCALARS = {
    "UUID": st.uuids().map(lambda u: StringValueNode(value=str(u))),
    "Date": st.dates().map(lambda d: StringValueNode(value=d.isoformat())),
    "DateTime": st.just(StringValueNode(value="2026-01-01T00:00:00+00:00")),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: StringValueNode(value=str(d))
    ),
    "JSON": st.just(StringValueNode(value="{}")),
}
EXAMPLES = 40


def _documents() -> list[str]:
    sdl = schema.as_str()
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(sdl, custom_scalars=SCALARS) | mutations(sdl, custom_scalars=SCALARS))
    def collect(document: str) -> None:
        found.append(document)

    collect()
    return found


async def test_generated_operations_never_fail_on_our_side(
    client: httpx.AsyncClient, org: Org
) -> None:
    await org.create(client)
    documents = _documents()
    assert len(documents) >= EXAMPLES // 2
    for document in documents:
        response = await client.post(
            "/graphql", headers=org.admin.headers, json={"query": document}
        )
        assert response.status_code < 500, (document, response.text)
        body = response.json()
        for error in body.get("errors", []):
            assert error["extensions"]["code"] != "INTERNAL", (document, body)
