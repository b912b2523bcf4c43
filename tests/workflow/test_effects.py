"""Transition effects: what a move does besides changing the step, all or nothing.

Every accepted move leaves a "Stage changed" entry on the item's timeline; a
transition may also plan an activity (`log_activity`), notify the owner
(`notify_owner`) or hand the item to a named member (`hand_over`). Effects are
validated when the admin saves the transition, reported by dry runs, and run in
the move's own transaction, so a failing effect undoes the move.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.factories import Member, add_member, register_tenant, unique

Effects = list[dict[str, Any]]

# The steps every flow here has: (key, name, status category, initial).
STEPS = (
    ("open", "Open", "open", True),
    ("review", "Review", "open", False),
    ("done", "Done", "won", False),
)


@dataclass(frozen=True)
class Flow:
    """A published work-item workflow and the project type that runs on it."""

    workflow: dict[str, Any]
    project_type_id: str

    def step(self, key: str) -> str:
        return str(next(s["id"] for s in self.workflow["steps"] if s["key"] == key))

    def transition(self, source: str, target: str) -> dict[str, Any]:
        return dict(
            next(
                t
                for t in self.workflow["transitions"]
                if t["from_step_id"] == self.step(source) and t["to_step_id"] == self.step(target)
            )
        )


async def _post(client: httpx.AsyncClient, admin: Member, path: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1{path}", headers=admin.headers, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def _step_id(workflow: dict[str, Any], key: str) -> str:
    return str(next(s["id"] for s in workflow["steps"] if s["key"] == key))


async def _draft(
    client: httpx.AsyncClient, admin: Member, entity_type: str = "work_item"
) -> dict[str, Any]:
    """A draft workflow with the steps Open, Review and Done, and no transitions."""
    flow = await _post(
        client, admin, "/workflow/workflows", {"name": unique("Flow"), "entity_type": entity_type}
    )
    for key, name, category, initial in STEPS:
        status = await _post(
            client, admin, "/workflow/statuses", {"name": unique(name), "category": category}
        )
        flow = await _post(
            client,
            admin,
            f"/workflow/workflows/{flow['id']}/steps",
            {"key": key, "name": name, "status_id": status["id"], "is_initial": initial},
        )
    return dict(flow)


def _transition_body(
    workflow: dict[str, Any], source: str, target: str, effects: Effects
) -> dict[str, Any]:
    return {
        "from_step_id": _step_id(workflow, source),
        "to_step_id": _step_id(workflow, target),
        "label": f"{source} to {target}",
        "effects": effects,
    }


async def _flow(
    client: httpx.AsyncClient,
    admin: Member,
    transitions: Sequence[tuple[str, str, Effects]],
) -> Flow:
    """Build, publish and attach a project type to a workflow with these transitions,
    plus a plain Review → Done if they lack one (publishing needs a way to the end)."""
    workflow = await _draft(client, admin)
    closing = (
        [] if any(t[:2] == ("review", "done") for t in transitions) else [("review", "done", [])]
    )
    for source, target, effects in [*transitions, *closing]:
        workflow = await _post(
            client,
            admin,
            f"/workflow/workflows/{workflow['id']}/transitions",
            _transition_body(workflow, source, target, effects),
        )
    workflow = await _post(client, admin, f"/workflow/workflows/{workflow['id']}/publish", {})
    kind = await _post(
        client,
        admin,
        "/workflow/project-types",
        {"name": unique("Kind"), "default_workflow_id": workflow["id"]},
    )
    return Flow(workflow=workflow, project_type_id=kind["id"])


async def _item(
    client: httpx.AsyncClient, member: Member, flow: Flow, name: str = "Printer on fire"
) -> dict[str, Any]:
    item: dict[str, Any] = await _post(
        client, member, "/work-items", {"project_type_id": flow.project_type_id, "name": name}
    )
    return item


async def _move(
    client: httpx.AsyncClient, member: Member, item: dict[str, Any], to: str, **extra: Any
) -> httpx.Response:
    body = {"to_step_id": to, "version": item["version"], **extra}
    return await client.post(
        f"/api/v1/work-items/{item['id']}/move", headers=member.headers, json=body
    )


async def _timeline(
    client: httpx.AsyncClient, member: Member, item: dict[str, Any]
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/work-items/{item['id']}/activities", headers=member.headers
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def _notifications(client: httpx.AsyncClient, member: Member) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/me/notifications", headers=member.headers, params={"unread": "true"}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _counts(owner_conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows the tenant has in the tables a move writes to."""
    counts: dict[str, int] = {}
    for table in ("activities", "workflow_history", "notifications"):
        counts[table] = await owner_conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = $1", tenant_id
        )
    return counts


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


async def test_every_accepted_move_adds_one_stage_change_and_a_refused_one_none(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    flow = await _flow(client, admin, [("open", "review", []), ("review", "open", [])])
    item = await _item(client, admin, flow)
    assert await _timeline(client, admin, item) == []

    started = await _move(client, admin, item, flow.step("review"))
    assert started.status_code == 200, started.text
    assert started.json()["effects"] == []
    item = started.json()["item"]
    timeline = await _timeline(client, admin, item)
    assert len(timeline) == 1
    entry = timeline[0]
    assert entry["subject"] == "Stage changed: Open → Review"
    assert (entry["type"], entry["status"]) == ("system", "done")
    assert entry["completed_at"] is not None
    assert entry["owner_id"] == str(admin.user_id)
    assert entry["work_item_id"] == item["id"]

    back = await _move(client, admin, item, flow.step("open"))
    assert back.status_code == 200, back.text
    item = back.json()["item"]
    timeline = await _timeline(client, admin, item)
    assert [e["subject"] for e in timeline] == [
        "Stage changed: Review → Open",
        "Stage changed: Open → Review",
    ]

    no_transition = await _move(client, admin, item, flow.step("done"))
    assert no_transition.status_code == 422
    stale = await _move(client, admin, {**item, "version": 1}, flow.step("review"))
    assert stale.status_code == 409
    assert len(await _timeline(client, admin, item)) == 2
    stored = await owner_conn.fetchval(
        "SELECT count(*) FROM activities WHERE work_item_id = $1", uuid.UUID(item["id"])
    )
    assert stored == 2


async def test_a_dry_run_writes_nothing_and_lists_the_planned_effects(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    manager = await add_member(client, admin, "manager")
    effects: Effects = [
        {
            "name": "log_activity",
            "config": {"type": "call", "subject": "Call about {title}", "due_in_days": 2},
        },
        {"name": "notify_owner", "config": {"message": "{title} is in {to_step}"}},
    ]
    flow = await _flow(client, admin, [("open", "review", effects)])
    item = await _item(client, seller, flow)
    planned = [
        {
            "name": "log_activity",
            "description": "plan a call 'Call about {title}' for the owner, due in 2 day(s)",
        },
        {
            "name": "notify_owner",
            "description": "notify the record's owner: '{title} is in {to_step}'",
        },
    ]
    before = await _counts(owner_conn, admin.tenant_id)

    dry = await _move(client, manager, item, flow.step("review"), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert dry.json()["effects"] == planned
    assert await _counts(owner_conn, admin.tenant_id) == before
    current = (await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)).json()
    assert (current["step"]["key"], current["version"]) == ("open", 1)
    assert await _notifications(client, seller) == []

    done = await _move(client, manager, item, flow.step("review"))
    assert done.status_code == 200, done.text
    assert done.json()["dry_run"] is False
    assert done.json()["effects"] == planned
    # The real move writes what the dry run did not: stage change + planned call,
    # one history row, one notification.
    assert await _counts(owner_conn, admin.tenant_id) == {
        "activities": before["activities"] + 2,
        "workflow_history": before["workflow_history"] + 1,
        "notifications": before["notifications"] + 1,
    }


async def test_log_activity_plans_a_follow_up_for_the_owner_or_the_actor(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    manager = await add_member(client, admin, "manager")
    effects: Effects = [
        {
            "name": "log_activity",
            "config": {
                "type": "call",
                "subject": "Call {title}: {from_step} → {to_step} {unknown}",
                "due_in_days": 3,
                "assign_to": "owner",
            },
        },
        {
            "name": "log_activity",
            "config": {
                "type": "meeting",
                "subject": "Debrief {title}",
                "due_in_days": None,
                "assign_to": "actor",
            },
        },
        {"name": "log_activity", "config": {"subject": "Follow up"}},
    ]
    flow = await _flow(client, admin, [("open", "review", effects)])
    item = await _item(client, seller, flow, name="Acme renewal")
    assert item["owner_id"] == str(seller.user_id)

    before = datetime.now(UTC)
    moved = await _move(client, manager, item, flow.step("review"))
    after = datetime.now(UTC)
    assert moved.status_code == 200, moved.text

    timeline = await _timeline(client, admin, item)
    assert sorted(e["type"] for e in timeline) == ["call", "meeting", "system", "task"]
    planned = {e["type"]: e for e in timeline if e["type"] != "system"}
    assert all(e["status"] == "planned" and e["completed_at"] is None for e in planned.values())
    assert all(e["work_item_id"] == item["id"] for e in planned.values())

    call = planned["call"]
    assert call["subject"] == "Call Acme renewal: Open → Review {unknown}"
    assert call["owner_id"] == str(seller.user_id)
    assert before <= _at(call["due_at"]) - timedelta(days=3) <= after

    meeting = planned["meeting"]
    assert meeting["subject"] == "Debrief Acme renewal"
    assert meeting["owner_id"] == str(manager.user_id)
    assert meeting["due_at"] is None

    task = planned["task"]  # the defaults: a task for the owner, due today
    assert task["subject"] == "Follow up"
    assert task["owner_id"] == str(seller.user_id)
    assert before <= _at(task["due_at"]) <= after


async def test_notify_owner_tells_the_owner_but_not_whoever_moved_it(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    manager = await add_member(client, admin, "manager")
    flow = await _flow(
        client,
        admin,
        [
            (
                "open",
                "review",
                [
                    {
                        "name": "notify_owner",
                        "config": {"message": "{title} went from {from_step} to {to_step}"},
                    }
                ],
            ),
            ("review", "open", [{"name": "notify_owner", "config": {}}]),
        ],
    )
    item = await _item(client, seller, flow, name="Broken pump")

    item = (await _move(client, manager, item, flow.step("review"))).json()["item"]
    item = (await _move(client, manager, item, flow.step("open"))).json()["item"]
    # The owner's own move tells no one.
    own = await _move(client, seller, item, flow.step("review"))
    assert own.status_code == 200, own.text

    inbox = await _notifications(client, seller)
    assert [n["message"] for n in inbox] == [
        "Broken pump moved from Review to Open",  # the standard message, newest first
        "Broken pump went from Open to Review",
    ]
    assert all(
        (n["entity_type"], n["record_id"], n["read_at"]) == ("work_item", item["id"], None)
        for n in inbox
    )
    assert await _notifications(client, manager) == []
    stored = await owner_conn.fetch(
        "SELECT user_id FROM notifications WHERE tenant_id = $1", admin.tenant_id
    )
    assert [row["user_id"] for row in stored] == [seller.user_id, seller.user_id]


async def test_hand_over_makes_the_member_owner_and_tells_them(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    flow = await _flow(
        client,
        admin,
        [
            (
                "open",
                "review",
                [{"name": "hand_over", "config": {"to_user_id": str(seller.user_id)}}],
            )
        ],
    )
    item = await _item(client, admin, flow, name="Laptop swap")
    assert item["owner_id"] == str(admin.user_id)

    moved = await _move(client, admin, item, flow.step("review"))
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["item"]["owner_id"] == str(seller.user_id)
    assert body["item"]["version"] == 2  # part of the move: one version bump
    assert body["effects"] == [
        {"name": "hand_over", "description": f"hand the item over to member {seller.user_id}"}
    ]
    stored = (await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)).json()
    assert (stored["owner_id"], stored["version"]) == (str(seller.user_id), 2)

    timeline = await _timeline(client, admin, item)
    assert sorted(e["subject"] for e in timeline) == [
        "Handed over to Sales Person at Review",
        "Stage changed: Open → Review",
    ]
    assert all((e["type"], e["status"]) == ("system", "done") for e in timeline)

    assert [n["message"] for n in await _notifications(client, seller)] == [
        "Laptop swap was handed over to you at Review"
    ]
    assert await _notifications(client, admin) == []


async def test_unknown_effects_and_bad_configs_are_refused_when_saved(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    workflow = await _draft(client, admin)
    cases: list[tuple[Effects, list[str]]] = [
        ([{"name": "teleport"}], ["effects[0].name"]),
        (
            [{"name": "notify_owner", "config": {}}, {"name": "teleport", "config": {}}],
            ["effects[1].name"],
        ),
        (
            [{"name": "log_activity", "config": {"type": "dance", "subject": "Dance"}}],
            ["effects[0].config.type"],
        ),
        ([{"name": "log_activity", "config": {"type": "call"}}], ["effects[0].config.subject"]),
        ([{"name": "log_activity", "config": {"subject": "   "}}], ["effects[0].config.subject"]),
        (
            [{"name": "log_activity", "config": {"subject": "x", "due_in_days": -1}}],
            ["effects[0].config.due_in_days"],
        ),
        (
            [{"name": "log_activity", "config": {"subject": "x", "due_in_days": 366}}],
            ["effects[0].config.due_in_days"],
        ),
        (
            [{"name": "log_activity", "config": {"subject": "x", "due_in_days": 10**12}}],
            ["effects[0].config.due_in_days"],
        ),
        (
            [{"name": "log_activity", "config": {"subject": "x", "assign_to": "boss"}}],
            ["effects[0].config.assign_to"],
        ),
        (
            [{"name": "log_activity", "config": {"subject": "x", "colour": "red"}}],
            ["effects[0].config.colour"],
        ),
        (
            [{"name": "notify_owner", "config": {"message": "x" * 301}}],
            ["effects[0].config.message"],
        ),
        ([{"name": "hand_over", "config": {}}], ["effects[0].config.to_user_id"]),
        (
            [{"name": "hand_over", "config": {"to_user_id": "not-a-uuid"}}],
            ["effects[0].config.to_user_id"],
        ),
        # Every problem at once, each under its own index.
        (
            [{"name": "teleport"}, {"name": "log_activity", "config": {"type": "dance"}}],
            ["effects[0].name", "effects[1].config.type", "effects[1].config.subject"],
        ),
    ]
    for effects, fields in cases:
        refused = await client.post(
            f"/api/v1/workflow/workflows/{workflow['id']}/transitions",
            headers=admin.headers,
            json=_transition_body(workflow, "open", "review", effects),
        )
        assert refused.status_code == 422, (effects, refused.text)
        assert _fields(refused) == fields, (effects, refused.text)

    unknown = await client.post(
        f"/api/v1/workflow/workflows/{workflow['id']}/transitions",
        headers=admin.headers,
        json=_transition_body(workflow, "open", "review", [{"name": "teleport"}]),
    )
    message = unknown.json()["errors"][0]["message"]
    assert "'teleport'" in message
    assert "hand_over, log_activity, notify_owner" in message

    saved = (
        await client.get(f"/api/v1/workflow/workflows/{workflow['id']}", headers=admin.headers)
    ).json()
    assert saved["transitions"] == []
    stored = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_transitions WHERE workflow_id = $1",
        uuid.UUID(workflow["id"]),
    )
    assert stored == 0


async def test_hand_over_must_name_a_member_who_can_own_records(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    seller = await add_member(client, admin, "sales")
    stranger = await register_tenant(client)
    workflow = await _draft(client, admin)

    for to_user_id in (viewer.user_id, stranger.user_id, uuid.uuid4()):
        refused = await client.post(
            f"/api/v1/workflow/workflows/{workflow['id']}/transitions",
            headers=admin.headers,
            json=_transition_body(
                workflow,
                "open",
                "review",
                [{"name": "hand_over", "config": {"to_user_id": str(to_user_id)}}],
            ),
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"] == [
            {
                "field": "effects[0].config",
                "message": "to_user_id is not a member who can own records",
            }
        ]

    accepted = await _post(
        client,
        admin,
        f"/workflow/workflows/{workflow['id']}/transitions",
        _transition_body(
            workflow,
            "open",
            "review",
            [{"name": "hand_over", "config": {"to_user_id": str(seller.user_id)}}],
        ),
    )
    assert accepted["transitions"][0]["effects"] == [
        {"name": "hand_over", "config": {"to_user_id": str(seller.user_id)}}
    ]

    # hand_over exists for work items only.
    deals = await _draft(client, admin, entity_type="deal")
    for_a_deal = await client.post(
        f"/api/v1/workflow/workflows/{deals['id']}/transitions",
        headers=admin.headers,
        json=_transition_body(
            deals,
            "open",
            "review",
            [{"name": "hand_over", "config": {"to_user_id": str(seller.user_id)}}],
        ),
    )
    assert for_a_deal.status_code == 422
    assert _fields(for_a_deal) == ["effects[0].name"]


async def test_editing_a_transition_validates_its_effects_too(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    original: Effects = [{"name": "notify_owner", "config": {"message": "Moved"}}]
    flow = await _flow(client, admin, [("open", "review", original)])
    transition = flow.transition("open", "review")
    url = f"/api/v1/workflow/transitions/{transition['id']}"
    if_match = {**admin.headers, "If-Match": f'"{transition["version"]}"'}

    unversioned = await client.patch(url, headers=admin.headers, json={"effects": []})
    assert unversioned.status_code == 422
    assert _fields(unversioned) == ["version"]
    for effects, fields in (
        ([{"name": "teleport"}], ["effects[0].name"]),
        (
            [{"name": "log_activity", "config": {"type": "dance", "subject": "x"}}],
            ["effects[0].config.type"],
        ),
        (
            [{"name": "hand_over", "config": {"to_user_id": str(viewer.user_id)}}],
            ["effects[0].config"],
        ),
    ):
        refused = await client.patch(url, headers=if_match, json={"effects": effects})
        assert refused.status_code == 422, refused.text
        assert _fields(refused) == fields

    # Nothing saved: no draft copy was left behind, the published transition is as it was.
    family = await owner_conn.fetchval(
        "SELECT count(*) FROM workflows WHERE family_id = $1", uuid.UUID(flow.workflow["id"])
    )
    assert family == 1
    current = await client.get(
        f"/api/v1/workflow/workflows/{flow.workflow['id']}", headers=admin.headers
    )
    assert current.json()["transitions"][0]["effects"] == original

    # A valid edit is stored with its defaults filled in (on a new draft).
    edited = await client.patch(
        url,
        headers=if_match,
        json={"effects": [{"name": "log_activity", "config": {"subject": "Check"}}]},
    )
    assert edited.status_code == 200, edited.text
    draft = edited.json()
    assert draft["published"] is False
    assert draft["transitions"][0]["effects"] == [
        {
            "name": "log_activity",
            "config": {"type": "task", "subject": "Check", "due_in_days": 0, "assign_to": "owner"},
        }
    ]


async def test_an_effect_failing_at_run_time_undoes_the_whole_move(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    flow = await _flow(
        client,
        admin,
        [
            (
                "open",
                "review",
                [
                    {"name": "log_activity", "config": {"subject": "Check {title}"}},
                    {"name": "hand_over", "config": {"to_user_id": str(seller.user_id)}},
                ],
            )
        ],
    )
    item = await _item(client, admin, flow)
    removed = await client.delete(f"/api/v1/users/{seller.user_id}", headers=admin.headers)
    assert removed.status_code == 204, removed.text
    before = await _counts(owner_conn, admin.tenant_id)

    failed = await _move(client, admin, item, flow.step("review"))
    assert failed.status_code == 422, failed.text
    assert failed.json()["type"].endswith("/rule-violation")
    assert "no longer a member" in failed.json()["detail"]

    current = (await client.get(f"/api/v1/work-items/{item['id']}", headers=admin.headers)).json()
    assert current["step"]["key"] == "open"
    assert current["version"] == 1
    assert current["owner_id"] == str(admin.user_id)
    assert await _counts(owner_conn, admin.tenant_id) == before
    history = (
        await client.get(f"/api/v1/work-items/{item['id']}/history", headers=admin.headers)
    ).json()
    assert len(history) == 1  # the creation only
    assert await _timeline(client, admin, item) == []


async def test_the_effect_catalogue_depends_on_the_kind_of_record(
    client: httpx.AsyncClient,
) -> None:
    admin = await register_tenant(client)
    listed = await client.get(
        "/api/v1/workflow/effects", headers=admin.headers, params={"entity_type": "work_item"}
    )
    assert listed.status_code == 200, listed.text
    catalogue = {e["name"]: e for e in listed.json()}
    assert list(catalogue) == ["hand_over", "log_activity", "notify_owner"]
    assert all(e["summary"] for e in catalogue.values())

    hand_over = catalogue["hand_over"]["config_schema"]
    assert hand_over["required"] == ["to_user_id"]
    assert hand_over["properties"]["to_user_id"]["format"] == "uuid"
    log_activity = catalogue["log_activity"]["config_schema"]
    assert log_activity["required"] == ["subject"]
    assert set(log_activity["properties"]) == {"type", "subject", "due_in_days", "assign_to"}
    assert log_activity["properties"]["assign_to"]["enum"] == ["owner", "actor"]
    assert "message" in catalogue["notify_owner"]["config_schema"]["properties"]

    deals = await client.get(
        "/api/v1/workflow/effects", headers=admin.headers, params={"entity_type": "deal"}
    )
    assert deals.status_code == 200
    assert [e["name"] for e in deals.json()] == ["log_activity", "notify_owner", "start_cadence"]

    bad = await client.get(
        "/api/v1/workflow/effects", headers=admin.headers, params={"entity_type": "spaceship"}
    )
    assert bad.status_code == 422
    assert _fields(bad) == ["entity_type"]
    anonymous = await client.get("/api/v1/workflow/effects", params={"entity_type": "work_item"})
    assert anonymous.status_code == 401


async def test_braces_in_a_record_title_are_kept_as_written(client: httpx.AsyncClient) -> None:
    """Placeholders are filled once: a title that itself reads `{to_step}` is not expanded."""
    admin = await register_tenant(client)
    seller = await add_member(client, admin, "sales")
    flow = await _flow(
        client,
        admin,
        [
            (
                "open",
                "review",
                [
                    {"name": "log_activity", "config": {"subject": "Check {title}"}},
                    {"name": "notify_owner", "config": {"message": "{title} moved"}},
                ],
            )
        ],
    )
    title = "Rename the {to_step} button"
    item = await _item(client, seller, flow, name=title)
    moved = await _move(client, admin, item, flow.step("review"))
    assert moved.status_code == 200, moved.text
    planned = [e for e in await _timeline(client, admin, item) if e["type"] == "task"]
    assert [e["subject"] for e in planned] == [f"Check {title}"]
    assert [n["message"] for n in await _notifications(client, seller)] == [f"{title} moved"]
