"""What the fuzz found, each fixed where its cause was (issue 20 #10)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from baton.app import openapi_document
from tests.factories import register_tenant

DOCUMENT = openapi_document()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # A literal path was offered to its sibling with a parameter: PATCH
        # /targets/summary was a 422 naming target_id, and the 405 of OPTIONS listed
        # the methods of /targets/{target_id}.
        ("PATCH", "/api/v1/targets/summary", "GET"),
        ("OPTIONS", "/api/v1/targets/summary", "GET"),
        ("DELETE", "/api/v1/work-items/board", "GET"),
    ],
)
async def test_a_literal_path_answers_a_wrong_method_with_its_own_methods(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    admin = await register_tenant(client)
    answer = await client.request(method, path, headers=admin.headers)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allow
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "value", [b"\xb2", b"\xb9", b"00000000000000000000000000000000", b"0", b"W/x", b" "]
)
async def test_if_match_takes_ascii_versions_only(client: httpx.AsyncClient, value: bytes) -> None:
    # "²" (latin-1 0xb2) passed str.isdigit() and int() refused it: a 500.
    admin = await register_tenant(client)
    answer = await client.request(
        "DELETE",
        f"/api/v1/deals/{uuid.uuid4()}",
        headers=[*admin.headers.items(), ("If-Match", value)],
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


def test_if_match_and_cursors_are_documented_in_the_form_the_server_takes() -> None:
    deletion = DOCUMENT["paths"]["/api/v1/deals/{deal_id}"]["delete"]
    if_match = next(p for p in deletion["parameters"] if p["name"].lower() == "if-match")
    assert "pattern" in str(if_match["schema"])
    listing = DOCUMENT["paths"]["/api/v1/deals"]["get"]
    cursor = next(p for p in listing["parameters"] if p["name"] == "cursor")
    assert "pattern" in str(cursor["schema"])


@pytest.mark.parametrize(
    ("path", "method"), [("/api/v1/audit", "get"), ("/api/v1/contacts", "post")]
)
def test_a_404_is_documented_where_an_input_names_a_record(path: str, method: str) -> None:
    # ?entity_id= of the audit trail and a contact's account_id answer 404 when the
    # record is not the caller's; the document said 200/422 only.
    assert "404" in DOCUMENT["paths"][path][method]["responses"]


async def test_an_unknown_record_in_a_query_is_a_documented_404(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    answer = await client.get(
        "/api/v1/audit",
        params={"entity_type": "deal", "entity_id": str(uuid.uuid4())},
        headers=admin.headers,
    )
    assert answer.status_code == 404


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_an_export_answers_a_content_type_its_operation_documents(
    client: httpx.AsyncClient, fmt: str
) -> None:
    # The Excel export answered its workbook type while the document promised
    # application/octet-stream (a content-type conformance failure, seen as sales).
    documented = DOCUMENT["paths"]["/api/v1/exports/{entity}"]["get"]["responses"]["200"]
    admin = await register_tenant(client)
    answer = await client.get(
        "/api/v1/exports/accounts", headers=admin.headers, params={"format": fmt}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].split(";")[0] in {
        media.split(";")[0] for media in documented["content"]
    }


async def test_a_download_not_ready_yet_is_a_documented_409(client: httpx.AsyncClient) -> None:
    # The stateful fuzz downloaded an organization export right after asking for it.
    admin = await register_tenant(client)
    queued = await client.post("/api/v1/exports/tenant", headers=admin.headers)
    assert queued.status_code == 202, queued.text
    download = await client.get(
        f"/api/v1/exports/{queued.json()['id']}/download", headers=admin.headers
    )
    assert download.status_code == 409, download.text
    assert download.headers["content-type"] == "application/problem+json"
    documented = DOCUMENT["paths"]["/api/v1/exports/{export_id}/download"]["get"]["responses"]
    assert "409" in documented
