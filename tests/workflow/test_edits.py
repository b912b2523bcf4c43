"""Editing workflow configuration: statuses, steps, transitions and workflow names.

Every edit names the version it was made against (body `version`/`row_version` or
If-Match) and is 409 when that version is stale. Edits of a published workflow land
in a draft copy; drafts are edited in place; the next request sees the edit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from tests.factories import Member, add_member, register_tenant, unique

API = "/api/v1/workflow"


# ------------------------------------------------------------------ helpers


def _error_fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors", [])]


async def _statuses(client: httpx.AsyncClient, member: Member) -> dict[str, dict[str, Any]]:
    response = await client.get(f"{API}/statuses", headers=member.headers)
    assert response.status_code == 200, response.text
    return {status["name"]: status for status in response.json()}


async def _status_by_id(
    client: httpx.AsyncClient, member: Member, status_id: str
) -> dict[str, Any] | None:
    return next(
        (s for s in (await _statuses(client, member)).values() if s["id"] == status_id), None
    )


async def _new_status(
    client: httpx.AsyncClient, admin: Member, category: str = "open"
) -> dict[str, Any]:
    created = await client.post(
        f"{API}/statuses",
        headers=admin.headers,
        json={"name": unique("Status"), "category": category},
    )
    assert created.status_code == 201, created.text
    status: dict[str, Any] = created.json()
    return status


async def _workflow(client: httpx.AsyncClient, member: Member, workflow_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/workflows/{workflow_id}", headers=member.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _workflow_summaries(client: httpx.AsyncClient, member: Member) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/workflows", headers=member.headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def _support(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    """The seeded, published "Support ticket" workflow (version 1)."""
    listed = await _workflow_summaries(client, admin)
    summary = next(w for w in listed if w["name"] == "Support ticket")
    return await _workflow(client, admin, summary["id"])


def _step(workflow: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in workflow["steps"] if s["key"] == key)


def _edge(workflow: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    source_id, target_id = _step(workflow, source)["id"], _step(workflow, target)["id"]
    return next(
        t
        for t in workflow["transitions"]
        if (t["from_step_id"], t["to_step_id"]) == (source_id, target_id)
    )


async def _draft(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    """A new draft workflow: todo (initial) → done, joined by "Finish"."""
    statuses = await _statuses(client, admin)
    created = await client.post(
        f"{API}/workflows",
        headers=admin.headers,
        json={"name": unique("Onboarding"), "entity_type": "work_item"},
    )
    assert created.status_code == 201, created.text
    draft_id = created.json()["id"]
    for key, status_name, initial in (("todo", "New", True), ("done", "Won", False)):
        added = await client.post(
            f"{API}/workflows/{draft_id}/steps",
            headers=admin.headers,
            json={
                "key": key,
                "name": key.title(),
                "status_id": statuses[status_name]["id"],
                "is_initial": initial,
            },
        )
        assert added.status_code == 201, added.text
    shown = added.json()
    connected = await client.post(
        f"{API}/workflows/{draft_id}/transitions",
        headers=admin.headers,
        json={
            "from_step_id": _step(shown, "todo")["id"],
            "to_step_id": _step(shown, "done")["id"],
            "label": "Finish",
        },
    )
    assert connected.status_code == 201, connected.text
    body: dict[str, Any] = connected.json()
    assert (body["id"], body["published"]) == (draft_id, False)
    return body


async def _patch(
    client: httpx.AsyncClient, member: Member, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"{API}{path}", headers=member.headers, json=body)


async def _delete(
    client: httpx.AsyncClient, member: Member, path: str, if_match: int | str | None = None
) -> httpx.Response:
    headers = dict(member.headers)
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    return await client.delete(f"{API}{path}", headers=headers)


async def _new_ticket(client: httpx.AsyncClient, admin: Member) -> dict[str, Any]:
    types = (await client.get(f"{API}/project-types", headers=admin.headers)).json()
    ticket_type = next(t for t in types if t["name"] == "Support Ticket")
    created = await client.post(
        "/api/v1/work-items",
        headers=admin.headers,
        json={"project_type_id": ticket_type["id"], "name": "Ticket"},
    )
    assert created.status_code == 201, created.text
    item: dict[str, Any] = created.json()
    return item


async def _move(
    client: httpx.AsyncClient, member: Member, item: dict[str, Any], to_step_id: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/work-items/{item['id']}/move",
        headers=member.headers,
        json={"to_step_id": to_step_id, "version": item["version"], **extra},
    )


async def _publish(client: httpx.AsyncClient, admin: Member, workflow_id: str) -> dict[str, Any]:
    published = await client.post(f"{API}/workflows/{workflow_id}/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    body: dict[str, Any] = published.json()
    return body


# ------------------------------------------------------------------ statuses


async def test_a_status_is_renamed_and_recoloured_with_its_current_version(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    new_name = unique("Waiting")
    renamed = await _patch(
        client,
        admin,
        f"/statuses/{status['id']}",
        {"name": new_name, "colour": "#123abc", "version": status["version"]},
    )
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert (body["id"], body["name"], body["colour"]) == (status["id"], new_name, "#123abc")
    assert body["category"] == status["category"]
    assert body["version"] == status["version"] + 1
    assert await _status_by_id(client, admin, status["id"]) == body
    # The version may come as If-Match instead of in the body.
    recoloured = await client.patch(
        f"{API}/statuses/{status['id']}",
        headers={**admin.headers, "If-Match": f'"{body["version"]}"'},
        json={"colour": "#abcdef"},
    )
    assert recoloured.status_code == 200, recoloured.text
    assert (recoloured.json()["colour"], recoloured.json()["name"]) == ("#abcdef", new_name)
    assert recoloured.json()["version"] == body["version"] + 1
    # Names stay unique in the organization.
    taken = await _patch(client, admin, f"/statuses/{status['id']}", {"name": "Open", "version": 3})
    assert taken.status_code == 409, taken.text
    assert _error_fields(taken) == ["name"]
    assert await _status_by_id(client, admin, status["id"]) == recoloured.json()


async def test_a_stale_status_version_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    first = await _patch(
        client, admin, f"/statuses/{status['id']}", {"colour": "#111111", "version": 1}
    )
    assert first.status_code == 200, first.text
    before = await _status_by_id(client, admin, status["id"])
    stale = await _patch(
        client,
        admin,
        f"/statuses/{status['id']}",
        {"name": unique("Late"), "colour": "#222222", "archived": True, "version": 1},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"].endswith("/stale-version")
    assert await _status_by_id(client, admin, status["id"]) == before


async def test_a_status_edit_without_a_version_is_422(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    missing = await _patch(client, admin, f"/statuses/{status['id']}", {"colour": "#333333"})
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    assert await _status_by_id(client, admin, status["id"]) == status


async def test_the_category_of_a_status_steps_use_cannot_change(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    resolved = (await _statuses(client, admin))["Resolved"]  # a step of "Support ticket"
    assert resolved["category"] == "won"
    refused = await _patch(
        client,
        admin,
        f"/statuses/{resolved['id']}",
        {"category": "lost", "colour": "#000000", "version": resolved["version"]},
    )
    assert refused.status_code == 409, refused.text
    assert _error_fields(refused) == ["category"]
    assert (await _statuses(client, admin))["Resolved"] == resolved
    # The rest of a used status may change, and an unused status may be re-categorised.
    recoloured = await _patch(
        client,
        admin,
        f"/statuses/{resolved['id']}",
        {"colour": "#000000", "category": "won", "version": resolved["version"]},
    )
    assert recoloured.status_code == 200, recoloured.text
    unused = await _new_status(client, admin, "open")
    moved = await _patch(
        client, admin, f"/statuses/{unused['id']}", {"category": "lost", "version": 1}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["category"] == "lost"


async def test_an_archived_status_cannot_be_given_to_a_step(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    archived = await _patch(
        client, admin, f"/statuses/{status['id']}", {"archived": True, "version": 1}
    )
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived"] is True
    draft = await _draft(client, admin)
    added = await client.post(
        f"{API}/workflows/{draft['id']}/steps",
        headers=admin.headers,
        json={"key": "later", "name": "Later", "status_id": status["id"]},
    )
    assert added.status_code == 422, added.text
    assert _error_fields(added) == ["status_id"]
    done = _step(draft, "done")
    switched = await _patch(
        client,
        admin,
        f"/steps/{done['id']}",
        {"status_id": status["id"], "version": done["version"]},
    )
    assert switched.status_code == 422, switched.text
    assert _error_fields(switched) == ["status_id"]
    assert await _workflow(client, admin, draft["id"]) == draft
    # On a published workflow the refused edit leaves no draft copy behind.
    v1 = await _support(client, admin)
    closed = _step(v1, "closed")
    refused = await _patch(
        client, admin, f"/steps/{closed['id']}", {"status_id": status["id"], "version": 1}
    )
    assert refused.status_code == 422, refused.text
    summaries = await _workflow_summaries(client, admin)
    assert [w["id"] for w in summaries if w["name"] == "Support ticket"] == [v1["id"]]


async def test_an_unused_status_is_deleted_and_then_gone(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    stale = await _delete(client, admin, f"/statuses/{status['id']}", if_match=2)
    assert stale.status_code == 409, stale.text
    assert await _status_by_id(client, admin, status["id"]) == status
    deleted = await _delete(client, admin, f"/statuses/{status['id']}", if_match=1)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert await _status_by_id(client, admin, status["id"]) is None
    again = await _delete(client, admin, f"/statuses/{status['id']}")
    assert again.status_code == 404
    edited = await _patch(client, admin, f"/statuses/{status['id']}", {"name": "X", "version": 1})
    assert edited.status_code == 404


async def test_a_status_in_use_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    open_status = (await _statuses(client, admin))["Open"]
    refused = await _delete(client, admin, f"/statuses/{open_status['id']}")
    assert refused.status_code == 409, refused.text
    assert (await _statuses(client, admin))["Open"] == open_status
    # Used only by a step of a draft counts as well.
    status = await _new_status(client, admin)
    draft = await _draft(client, admin)
    added = await client.post(
        f"{API}/workflows/{draft['id']}/steps",
        headers=admin.headers,
        json={"key": "extra", "name": "Extra", "status_id": status["id"]},
    )
    assert added.status_code == 201, added.text
    refused_draft = await _delete(client, admin, f"/statuses/{status['id']}", if_match=1)
    assert refused_draft.status_code == 409, refused_draft.text
    assert await _status_by_id(client, admin, status["id"]) == status


# ------------------------------------------------------------------ steps


async def test_editing_a_step_of_a_published_workflow_edits_a_draft_copy(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    open_step = _step(v1, "open")
    edited = await _patch(
        client,
        admin,
        f"/steps/{open_step['id']}",
        {"name": "Triage", "sla_days": 2, "version": open_step["version"]},
    )
    assert edited.status_code == 200, edited.text
    v2 = edited.json()
    assert v2["id"] != v1["id"]
    assert (v2["name"], v2["version"], v2["published"]) == (v1["name"], 2, False)
    copied = _step(v2, "open")
    assert copied["id"] != open_step["id"]
    assert (copied["name"], copied["metadata"]) == ("Triage", {"sla_days": 2})
    assert [s["key"] for s in v2["steps"]] == [s["key"] for s in v1["steps"]]
    assert len(v2["transitions"]) == len(v1["transitions"])
    # The published version, which records run on, is exactly as it was.
    assert await _workflow(client, admin, v1["id"]) == v1
    listed = {w["id"]: w for w in await _workflow_summaries(client, admin)}
    assert (listed[v1["id"]]["published"], listed[v2["id"]]["published"]) == (True, False)
    # Editing the published step again is refused: the draft is where edits go.
    again = await _patch(
        client, admin, f"/steps/{open_step['id']}", {"name": "Twice", "version": 1}
    )
    assert again.status_code == 409, again.text


async def test_editing_a_step_of_a_draft_edits_it_in_place(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    todo = _step(draft, "todo")
    edited = await _patch(
        client,
        admin,
        f"/steps/{todo['id']}",
        {"name": "To do", "probability": 40, "version": todo["version"]},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["id"], body["version"], body["published"]) == (draft["id"], 1, False)
    assert body["row_version"] > draft["row_version"]
    changed = _step(body, "todo")
    assert changed["id"] == todo["id"]
    assert (changed["name"], changed["probability"]) == ("To do", 40)
    assert changed["version"] == todo["version"] + 1
    assert _step(body, "done") == _step(draft, "done")
    assert await _workflow(client, admin, draft["id"]) == body
    # A status another step of the workflow already has is refused.
    taken = await _patch(
        client,
        admin,
        f"/steps/{todo['id']}",
        {"status_id": _step(draft, "done")["status_id"], "version": changed["version"]},
    )
    assert taken.status_code == 409, taken.text
    assert _error_fields(taken) == ["status_id"]


async def test_sla_days_and_required_fields_round_trip(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    done = _step(draft, "done")
    edited = await _patch(
        client,
        admin,
        f"/steps/{done['id']}",
        {"sla_days": 5, "required_fields": ["summary", "owner", "summary"], "version": 1},
    )
    assert edited.status_code == 200, edited.text
    expected = {"sla_days": 5, "required_fields": ["summary", "owner"]}
    assert _step(edited.json(), "done")["metadata"] == expected
    shown = await _workflow(client, admin, draft["id"])
    assert _step(shown, "done")["metadata"] == expected
    # Fields not sent stay as they are.
    renamed = await _patch(
        client, admin, f"/steps/{done['id']}", {"name": "Finished", "version": 2}
    )
    assert renamed.status_code == 200, renamed.text
    assert _step(renamed.json(), "done")["metadata"] == expected
    # sla_days null removes the SLA; an empty list removes the required fields.
    cleared = await _patch(
        client,
        admin,
        f"/steps/{done['id']}",
        {"sla_days": None, "required_fields": [], "version": 3},
    )
    assert cleared.status_code == 200, cleared.text
    assert _step(await _workflow(client, admin, draft["id"]), "done")["metadata"] == {}
    out_of_range = await _patch(
        client, admin, f"/steps/{done['id']}", {"sla_days": 0, "version": 4}
    )
    assert out_of_range.status_code == 422
    assert _error_fields(out_of_range) == ["sla_days"]


async def test_a_stale_or_missing_step_version_is_refused(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    open_step = _step(v1, "open")
    stale = await _patch(
        client,
        admin,
        f"/steps/{open_step['id']}",
        {"name": "Triage", "version": open_step["version"] + 1},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"].endswith("/stale-version")
    missing = await _patch(client, admin, f"/steps/{open_step['id']}", {"name": "Triage"})
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    # Neither made a draft.
    summaries = await _workflow_summaries(client, admin)
    assert [w["id"] for w in summaries if w["name"] == "Support ticket"] == [v1["id"]]
    assert await _workflow(client, admin, v1["id"]) == v1
    # On a draft too: a version from before the last edit is stale.
    draft = await _draft(client, admin)
    todo = _step(draft, "todo")
    first = await _patch(client, admin, f"/steps/{todo['id']}", {"name": "A", "version": 1})
    assert first.status_code == 200, first.text
    second = await _patch(client, admin, f"/steps/{todo['id']}", {"name": "B", "version": 1})
    assert second.status_code == 409, second.text
    assert _step(await _workflow(client, admin, draft["id"]), "todo")["name"] == "A"


async def test_deleting_a_step_of_a_draft_removes_it_and_its_transitions(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    done = _step(draft, "done")
    removed = await _delete(client, admin, f"/steps/{done['id']}", if_match=done["version"])
    assert removed.status_code == 200, removed.text
    body = removed.json()
    assert body["id"] == draft["id"]
    assert [s["key"] for s in body["steps"]] == ["todo"]
    assert body["transitions"] == []
    assert await _workflow(client, admin, draft["id"]) == body
    gone = await _patch(client, admin, f"/steps/{done['id']}", {"name": "X", "version": 1})
    assert gone.status_code == 404
    again = await _delete(client, admin, f"/steps/{done['id']}")
    assert again.status_code == 404


async def test_deleting_a_step_checks_the_version_only_when_sent(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    done = _step(draft, "done")
    stale = await _delete(client, admin, f"/steps/{done['id']}", if_match=done["version"] + 1)
    assert stale.status_code == 409, stale.text
    malformed = await _delete(client, admin, f"/steps/{done['id']}", if_match="soon")
    assert malformed.status_code == 422, malformed.text
    assert _error_fields(malformed) == ["If-Match"]
    assert await _workflow(client, admin, draft["id"]) == draft
    # No If-Match at all: the deletion goes ahead.
    removed = await _delete(client, admin, f"/steps/{done['id']}")
    assert removed.status_code == 200, removed.text
    assert [s["key"] for s in removed.json()["steps"]] == ["todo"]


# ------------------------------------------------------------------ transitions


async def test_a_transitions_label_and_conditions_change_in_a_draft(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    edge = _edge(draft, "todo", "done")
    url = f"{API}/workflows/{draft['id']}/allowed-transitions"
    params = {"from_step_id": _step(draft, "todo")["id"]}
    # Compile (and cache) the draft as it is now.
    before = (await client.get(url, params=params, headers=admin.headers)).json()
    assert [(o["label"], o["reasons"], o["reason_required"]) for o in before] == [
        ("Finish", [], False)
    ]
    edited = await _patch(
        client,
        admin,
        f"/transitions/{edge['id']}",
        {
            "label": "Complete",
            "conditions": {"reasons": ["shipped", "cancelled"], "required_fields": ["summary"]},
            "version": edge["version"],
        },
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["id"] == draft["id"]
    changed = _edge(body, "todo", "done")
    assert changed["id"] == edge["id"]
    assert changed["label"] == "Complete"
    assert changed["conditions"] == {
        "reasons": ["shipped", "cancelled"],
        "required_fields": ["summary"],
    }
    assert changed["version"] == edge["version"] + 1
    # The very next request sees the edit, not the cached graph.
    after = (await client.get(url, params=params, headers=admin.headers)).json()
    assert [(o["label"], o["reasons"], o["reason_required"]) for o in after] == [
        ("Complete", ["shipped", "cancelled"], True)
    ]
    assert after[0]["required_fields"] == ["summary"]
    # Only the label changes when only the label is sent.
    relabelled = await _patch(
        client, admin, f"/transitions/{edge['id']}", {"label": "Ship", "version": 2}
    )
    assert relabelled.status_code == 200, relabelled.text
    assert _edge(relabelled.json(), "todo", "done")["conditions"] == changed["conditions"]


async def test_reason_labels_are_what_people_read_and_name_only_offered_codes(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    edge = _edge(draft, "todo", "done")
    conditions = {
        "reasons": ["shipped", "other"],
        "reason_labels": {"shipped": "Shipped to the customer"},
    }
    edited = await _patch(
        client,
        admin,
        f"/transitions/{edge['id']}",
        {"conditions": conditions, "version": edge["version"]},
    )
    assert edited.status_code == 200, edited.text
    assert _edge(edited.json(), "todo", "done")["conditions"] == conditions
    options = await client.get(
        f"{API}/workflows/{draft['id']}/allowed-transitions",
        params={"from_step_id": _step(draft, "todo")["id"]},
        headers=admin.headers,
    )
    assert [(o["reasons"], o["reason_labels"]) for o in options.json()] == [
        (["shipped", "other"], {"shipped": "Shipped to the customer"})
    ]
    # A label for a code the transition does not offer is a mistake, named.
    refused = await _patch(
        client,
        admin,
        f"/transitions/{edge['id']}",
        {
            "conditions": {"reasons": ["shipped"], "reason_labels": {"lost_in_post": "Lost"}},
            "version": edge["version"] + 1,
        },
    )
    assert refused.status_code == 422, refused.text
    assert _error_fields(refused) == ["conditions.reason_labels"]
    assert "lost_in_post" in refused.json()["errors"][0]["message"]
    unchanged = _edge(await _workflow(client, admin, draft["id"]), "todo", "done")
    assert unchanged["conditions"] == conditions


async def test_a_reason_added_to_a_transition_binds_the_next_move(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    old_item = await _new_ticket(client, admin)
    start = _edge(v1, "open", "in_progress")
    # A first edit copies v1 into a draft; warm the draft's compiled graph.
    first = await _patch(
        client, admin, f"/transitions/{start['id']}", {"label": "Pick up", "version": 1}
    )
    assert first.status_code == 200, first.text
    v2 = first.json()
    options_url = f"{API}/workflows/{v2['id']}/allowed-transitions"
    warmed = await client.get(
        options_url, params={"from_step_id": _step(v2, "open")["id"]}, headers=admin.headers
    )
    assert [o["reason_required"] for o in warmed.json()] == [False]
    # Then require a reason on the draft (edited in place) and publish it.
    v2_start = _edge(v2, "open", "in_progress")
    second = await _patch(
        client,
        admin,
        f"/transitions/{v2_start['id']}",
        {"conditions": {"reasons": ["triaged", "escalated"]}, "version": v2_start["version"]},
    )
    assert second.status_code == 200, second.text
    assert second.json()["id"] == v2["id"]
    await _publish(client, admin, v2["id"])
    new_item = await _new_ticket(client, admin)
    assert new_item["workflow_id"] == v2["id"]
    target = _step(v2, "in_progress")["id"]
    refused = await _move(client, admin, new_item, target)
    assert refused.status_code == 422, refused.text
    assert _error_fields(refused) == ["reason"]
    wrong = await _move(client, admin, new_item, target, reason="bored")
    assert wrong.status_code == 422, wrong.text
    assert _error_fields(wrong) == ["reason"]
    moved = await _move(client, admin, new_item, target, reason="triaged")
    assert moved.status_code == 200, moved.text
    # Records on v1 keep v1's rule.
    old_moved = await _move(client, admin, old_item, _step(v1, "in_progress")["id"])
    assert old_moved.status_code == 200, old_moved.text


async def test_a_stale_transition_version_is_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    start = _edge(v1, "open", "in_progress")
    stale = await _patch(
        client,
        admin,
        f"/transitions/{start['id']}",
        {"label": "Late", "version": start["version"] + 1},
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"].endswith("/stale-version")
    missing = await _patch(client, admin, f"/transitions/{start['id']}", {"label": "Late"})
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    stale_delete = await _delete(
        client, admin, f"/transitions/{start['id']}", if_match=start["version"] + 1
    )
    assert stale_delete.status_code == 409, stale_delete.text
    summaries = await _workflow_summaries(client, admin)
    assert [w["id"] for w in summaries if w["name"] == "Support ticket"] == [v1["id"]]
    assert await _workflow(client, admin, v1["id"]) == v1
    # In a draft: the version from before the last edit is stale for PATCH and DELETE.
    draft = await _draft(client, admin)
    edge = _edge(draft, "todo", "done")
    edited = await _patch(client, admin, f"/transitions/{edge['id']}", {"label": "A", "version": 1})
    assert edited.status_code == 200, edited.text
    for response in (
        await _patch(client, admin, f"/transitions/{edge['id']}", {"label": "B", "version": 1}),
        await _delete(client, admin, f"/transitions/{edge['id']}", if_match=1),
    ):
        assert response.status_code == 409, response.text
    assert await _workflow(client, admin, draft["id"]) == edited.json()


async def test_a_deleted_transition_can_no_longer_be_taken(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    old_item = await _new_ticket(client, admin)
    # "Back to queue": without it every step is still reachable and can still end,
    # so the draft publishes (removing "Start" would strand In Progress and after).
    back = _edge(v1, "in_progress", "open")
    removed = await _delete(client, admin, f"/transitions/{back['id']}", if_match=1)
    assert removed.status_code == 200, removed.text
    v2 = removed.json()
    assert (v2["version"], v2["published"]) == (2, False)
    assert len(v2["transitions"]) == len(v1["transitions"]) - 1
    with pytest.raises(StopIteration):
        _edge(v2, "in_progress", "open")
    await _publish(client, admin, v2["id"])
    new_item = await _new_ticket(client, admin)
    started = await _move(client, admin, new_item, _step(v2, "in_progress")["id"])
    assert started.status_code == 200, started.text
    refused = await _move(client, admin, started.json()["item"], _step(v2, "open")["id"])
    assert refused.status_code == 422, refused.text
    assert _error_fields(refused) == ["to_step_id"]
    # A record on v1 still has the transition.
    old_started = await _move(client, admin, old_item, _step(v1, "in_progress")["id"])
    assert old_started.status_code == 200, old_started.text
    old_moved = await _move(client, admin, old_started.json()["item"], _step(v1, "open")["id"])
    assert old_moved.status_code == 200, old_moved.text
    # v1 is retired now: its ids are read-only.
    draft_edge = await _delete(client, admin, f"/transitions/{back['id']}")
    assert draft_edge.status_code == 409


async def test_unknown_effects_and_foreign_statuses_are_422_and_leave_no_draft(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    stranger = await register_tenant(client)
    foreign_status = (await _statuses(client, stranger))["Lost"]
    v1 = await _support(client, admin)
    start = _edge(v1, "open", "in_progress")
    unknown_effect = await _patch(
        client,
        admin,
        f"/transitions/{start['id']}",
        {"effects": [{"name": "launch_rockets"}], "version": 1},
    )
    assert unknown_effect.status_code == 422, unknown_effect.text
    assert _error_fields(unknown_effect) == ["effects[0].name"]
    foreign = await _patch(
        client,
        admin,
        f"/steps/{_step(v1, 'closed')['id']}",
        {"status_id": foreign_status["id"], "version": 1},
    )
    assert foreign.status_code == 422, foreign.text
    assert _error_fields(foreign) == ["status_id"]
    summaries = await _workflow_summaries(client, admin)
    assert [w["id"] for w in summaries if w["name"] == "Support ticket"] == [v1["id"]]
    assert await _workflow(client, admin, v1["id"]) == v1


# ------------------------------------------------------------------ workflow names


async def _rename_step(
    client: httpx.AsyncClient, admin: Member, step: dict[str, Any], name: str
) -> dict[str, Any]:
    """Rename a step with its current version; answers the edited draft."""
    edited = await _patch(
        client, admin, f"/steps/{step['id']}", {"name": name, "version": step["version"]}
    )
    assert edited.status_code == 200, edited.text
    body: dict[str, Any] = edited.json()
    return body


async def test_renaming_a_workflow_renames_every_version(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    # v1 retired, v2 published, v3 a draft.
    v2 = await _rename_step(client, admin, _step(v1, "open"), "Queue")
    await _publish(client, admin, v2["id"])
    v2 = await _workflow(client, admin, v2["id"])
    v3 = await _rename_step(client, admin, _step(v2, "open"), "Inbox")
    assert (v3["version"], v3["published"]) == (3, False)
    new_name = unique("Helpdesk")
    renamed = await _patch(
        client, admin, f"/workflows/{v2['id']}", {"name": new_name, "version": v2["row_version"]}
    )
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert (body["id"], body["name"]) == (v2["id"], new_name)
    assert body["row_version"] == v2["row_version"] + 1
    assert body["steps"] == v2["steps"]
    assert body["transitions"] == v2["transitions"]
    for version in (v1, v3):
        assert (await _workflow(client, admin, version["id"]))["name"] == new_name
    names = await owner_conn.fetch(
        "SELECT revision, name FROM workflows WHERE tenant_id = $1 AND family_id = $2"
        " ORDER BY revision",
        admin.tenant_id,
        uuid.UUID(v1["id"]),
    )
    assert [(r["revision"], r["name"]) for r in names] == [
        (1, new_name),
        (2, new_name),
        (3, new_name),
    ]
    # A rename makes no new version.
    summaries = await _workflow_summaries(client, admin)
    assert sorted(w["version"] for w in summaries if w["name"] == new_name) == [2, 3]


async def test_a_stale_or_missing_workflow_row_version_is_refused(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    v1 = await _support(client, admin)
    stale = await _patch(
        client, admin, f"/workflows/{v1['id']}", {"name": "Late", "version": v1["row_version"] + 1}
    )
    assert stale.status_code == 409, stale.text
    assert stale.json()["type"].endswith("/stale-version")
    missing = await _patch(client, admin, f"/workflows/{v1['id']}", {"name": "Late"})
    assert missing.status_code == 422, missing.text
    assert _error_fields(missing) == ["version"]
    assert await _workflow(client, admin, v1["id"]) == v1
    # If-Match works as well as the body.
    renamed = await client.patch(
        f"{API}/workflows/{v1['id']}",
        headers={**admin.headers, "If-Match": f'W/"{v1["row_version"]}"'},
        json={"name": "Helpdesk"},
    )
    assert renamed.status_code == 200, renamed.text
    again = await _patch(
        client, admin, f"/workflows/{v1['id']}", {"name": "Again", "version": v1["row_version"]}
    )
    assert again.status_code == 409, again.text
    assert (await _workflow(client, admin, v1["id"]))["name"] == "Helpdesk"


# ------------------------------------------------------------------ refusals


@dataclass(frozen=True)
class Configured:
    admin: Member
    workflow: dict[str, Any]
    status: dict[str, Any]


@pytest.fixture
async def configured(client: httpx.AsyncClient) -> Configured:
    admin = await register_tenant(client)
    return Configured(admin, await _support(client, admin), await _new_status(client, admin))


def _edits(
    status_id: str, workflow_id: str, step_id: str, transition_id: str
) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every edit endpoint, with a body that would succeed for the owning admin."""
    return [
        ("PATCH", f"{API}/statuses/{status_id}", {"name": "Renamed", "version": 1}),
        ("DELETE", f"{API}/statuses/{status_id}", None),
        ("PATCH", f"{API}/workflows/{workflow_id}", {"name": "Renamed", "version": 1}),
        ("PATCH", f"{API}/steps/{step_id}", {"name": "Renamed", "version": 1}),
        ("DELETE", f"{API}/steps/{step_id}", None),
        ("PATCH", f"{API}/transitions/{transition_id}", {"label": "Renamed", "version": 1}),
        ("DELETE", f"{API}/transitions/{transition_id}", None),
    ]


def _edits_of(configured: Configured) -> list[tuple[str, str, dict[str, Any] | None]]:
    workflow = configured.workflow
    return _edits(
        configured.status["id"],
        workflow["id"],
        _step(workflow, "closed")["id"],
        _edge(workflow, "open", "in_progress")["id"],
    )


async def _assert_unchanged(client: httpx.AsyncClient, configured: Configured) -> None:
    admin = configured.admin
    assert await _status_by_id(client, admin, configured.status["id"]) == configured.status
    assert await _workflow(client, admin, configured.workflow["id"]) == configured.workflow
    summaries = await _workflow_summaries(client, admin)
    assert [w["id"] for w in summaries if w["name"] == "Support ticket"] == [
        configured.workflow["id"]
    ]


@pytest.mark.parametrize("role", ["viewer", "sales"])
async def test_only_admins_may_edit(
    client: httpx.AsyncClient, configured: Configured, role: str
) -> None:
    member = await add_member(client, configured.admin, role)
    for method, url, body in _edits_of(configured):
        response = await client.request(method, url, headers=member.headers, json=body)
        assert response.status_code == 403, (method, url, response.text)
    await _assert_unchanged(client, configured)


async def test_another_tenants_ids_are_404(
    client: httpx.AsyncClient, configured: Configured
) -> None:
    stranger = await register_tenant(client)
    for method, url, body in _edits_of(configured):
        response = await client.request(method, url, headers=stranger.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
    await _assert_unchanged(client, configured)


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, configured: Configured) -> None:
    admin = configured.admin
    unknown = str(uuid.uuid4())
    for method, url, body in _edits(unknown, unknown, unknown, unknown):
        response = await client.request(method, url, headers=admin.headers, json=body)
        assert response.status_code == 404, (method, url, response.text)
    for method, url, body in _edits("not-a-uuid", "1", "x" * 40, "%20"):
        response = await client.request(method, url, headers=admin.headers, json=body)
        assert response.status_code == 422, (method, url, response.text)
    await _assert_unchanged(client, configured)


async def test_oversized_and_unknown_input_is_422(
    client: httpx.AsyncClient, configured: Configured
) -> None:
    admin, workflow = configured.admin, configured.workflow
    huge = "x" * 10_000
    step_id = _step(workflow, "open")["id"]
    edge_id = _edge(workflow, "open", "in_progress")["id"]
    cases: list[tuple[str, dict[str, Any], str]] = [
        (f"/statuses/{configured.status['id']}", {"name": huge, "version": 1}, "name"),
        (f"/statuses/{configured.status['id']}", {"colour": "red", "version": 1}, "colour"),
        (f"/statuses/{configured.status['id']}", {"category": "maybe", "version": 1}, "category"),
        (f"/workflows/{workflow['id']}", {"name": huge, "version": 1}, "name"),
        (f"/workflows/{workflow['id']}", {"name": "   ", "version": 1}, "name"),
        (f"/steps/{step_id}", {"name": huge, "version": 1}, "name"),
        (f"/steps/{step_id}", {"required_fields": ["f"] * 51, "version": 1}, "required_fields"),
        (f"/transitions/{edge_id}", {"label": huge, "version": 1}, "label"),
        (
            f"/transitions/{edge_id}",
            {"conditions": {"reasons": [huge]}, "version": 1},
            "conditions.reasons.0",
        ),
        (f"/transitions/{edge_id}", {"label": "Go", "version": 2**40}, "version"),
        (f"/transitions/{edge_id}", {"label": "Go", "version": 1, "colour": "x"}, "colour"),
    ]
    for path, body, field in cases:
        response = await _patch(client, admin, path, body)
        assert response.status_code == 422, (path, body, response.text)
        assert field in _error_fields(response), (path, response.json())
    created = await client.post(
        f"{API}/statuses", headers=admin.headers, json={"name": huge, "category": "open"}
    )
    assert created.status_code == 422
    await _assert_unchanged(client, configured)


# ------------------------------------------------------------------ races


async def race(
    owner_conn: asyncpg.Connection,
    table: str,
    row_id: str,
    requests: list[Coroutine[Any, Any, httpx.Response]],
) -> list[httpx.Response]:
    """Send `requests` together while a row of `table` is locked, and let them go at once.

    Each request reads what it edits and then queues behind the lock, so they all
    start from the same version: the first one through wins, the rest must see that
    they lost (409, or 404 for a deletion) — never a 500.
    """
    async with owner_conn.transaction():
        await owner_conn.execute(
            f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", uuid.UUID(row_id)
        )
        tasks = [asyncio.ensure_future(request) for request in requests]
        for _ in range(100):
            # Activity statistics are a snapshot per transaction: take a fresh one.
            await owner_conn.execute("SELECT pg_stat_clear_snapshot()")
            waiting = await owner_conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if waiting >= len(tasks) or all(task.done() for task in tasks):
                break
            await asyncio.sleep(0.02)
    return list(await asyncio.gather(*tasks))


async def test_concurrent_edits_of_one_draft_step_exactly_one_wins(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    todo = _step(draft, "todo")
    results = await race(
        owner_conn,
        "workflows",
        draft["id"],
        [
            _patch(client, admin, f"/steps/{todo['id']}", {"name": f"Name {n}", "version": 1})
            for n in range(4)
        ],
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 200)
    shown = await _workflow(client, admin, draft["id"])
    assert _step(shown, "todo") == _step(winner.json(), "todo")


async def test_concurrent_edits_of_one_draft_transition_exactly_one_wins(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    edge = _edge(draft, "todo", "done")
    results = await race(
        owner_conn,
        "workflows",
        draft["id"],
        [
            _patch(client, admin, f"/transitions/{edge['id']}", {"label": f"L{n}", "version": 1})
            for n in range(4)
        ],
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [r.text for r in results]


async def test_concurrent_deletes_of_one_draft_transition_exactly_one_wins(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    edge = _edge(draft, "todo", "done")
    results = await race(
        owner_conn,
        "workflows",
        draft["id"],
        [_delete(client, admin, f"/transitions/{edge['id']}", if_match=1) for _ in range(4)],
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200, [r.text for r in results]
    assert set(codes[1:]) <= {404, 409}, [r.text for r in results]
    assert (await _workflow(client, admin, draft["id"]))["transitions"] == []


async def test_concurrent_deletes_of_one_draft_step_exactly_one_wins(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    draft = await _draft(client, admin)
    done = _step(draft, "done")
    results = await race(
        owner_conn,
        "workflows",
        draft["id"],
        [_delete(client, admin, f"/steps/{done['id']}") for _ in range(4)],
    )
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200, [r.text for r in results]
    assert set(codes[1:]) <= {404, 409}, [r.text for r in results]
    assert [s["key"] for s in (await _workflow(client, admin, draft["id"]))["steps"]] == ["todo"]


async def test_concurrent_edits_of_one_status_exactly_one_wins(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    status = await _new_status(client, admin)
    results = await race(
        owner_conn,
        "statuses",
        status["id"],
        [
            _patch(
                client, admin, f"/statuses/{status['id']}", {"colour": f"#00000{n}", "version": 1}
            )
            for n in range(4)
        ],
    )
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409], [r.text for r in results]
