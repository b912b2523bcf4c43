"""Cadence templates: the default one, create/list/patch with steps, refusals, roles."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.cadences.support import CADENCES, STEPS, cadence, org
from tests.factories import register_tenant


async def test_registration_seeds_the_default_cadence(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    response = await client.get(CADENCES, headers=admin.headers)
    assert response.status_code == 200, response.text
    [default] = response.json()["items"]
    assert default["name"] == "Lead follow-up"
    assert default["is_default"]
    assert default["active"]
    assert default["created_by"] == str(admin.user_id)
    steps = default["steps"]
    assert [s["type"] for s in steps] == ["call", "email", "call", "email", "meeting"]
    cumulative = [sum(s["delay_days"] for s in steps[: i + 1]) for i in range(len(steps))]
    assert cumulative == [0, 2, 5, 9, 14]
    assert [s["position"] for s in steps] == [1, 2, 3, 4, 5]


async def test_create_list_get_and_patch(client: httpx.AsyncClient) -> None:
    members = await org(client)
    created = await cadence(
        client, members.manager, description="Winback", steps=list(reversed(STEPS))
    )
    assert created["version"] == 1
    assert not created["is_default"]
    assert created["active"]
    assert [s["subject_template"] for s in created["steps"]] == [
        s["subject_template"] for s in reversed(STEPS)
    ]

    # Every member reads, steps in position order.
    listed = await client.get(CADENCES, headers=members.viewer.headers)
    assert [c["name"] for c in listed.json()["items"]] == ["Lead follow-up", created["name"]]
    one = await client.get(f"{CADENCES}/{created['id']}", headers=members.viewer.headers)
    assert one.json() == created

    # Explicit positions order the steps, whatever the list's order.
    patched = await client.patch(
        f"{CADENCES}/{created['id']}",
        headers=members.admin.headers,
        json={
            "name": "Winback 2",
            "active": False,
            "version": 1,
            "steps": [
                {"position": 20, "type": "task", "subject_template": "Later", "delay_days": 7},
                {"position": 10, "type": "call", "subject_template": "First", "delay_days": 0},
            ],
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Winback 2"
    assert body["active"] is False
    assert body["version"] == 2
    assert body["description"] == "Winback"
    assert [(s["position"], s["subject_template"]) for s in body["steps"]] == [
        (10, "First"),
        (20, "Later"),
    ]

    # A step-only edit still bumps the version (the steps are part of the cadence).
    steps_only = await client.patch(
        f"{CADENCES}/{created['id']}",
        headers={**members.admin.headers, "If-Match": '"2"'},
        json={"steps": STEPS[:1]},
    )
    assert steps_only.status_code == 200, steps_only.text
    assert steps_only.json()["version"] == 3
    assert len(steps_only.json()["steps"]) == 1


async def test_stale_and_missing_versions(client: httpx.AsyncClient) -> None:
    members = await org(client)
    created = await cadence(client, members.admin)
    path = f"{CADENCES}/{created['id']}"
    first = await client.patch(
        path, headers=members.admin.headers, json={"name": "A", "version": 1}
    )
    assert first.status_code == 200, first.text
    stale = await client.patch(
        path, headers=members.admin.headers, json={"name": "B", "version": 1}
    )
    assert stale.status_code == 409, stale.text
    missing = await client.patch(path, headers=members.admin.headers, json={"name": "B"})
    assert missing.status_code == 422, missing.text
    assert (await client.get(path, headers=members.admin.headers)).json()["name"] == "A"


def _step(**overrides: Any) -> dict[str, Any]:
    return {"type": "call", "subject_template": "Call {company}", "delay_days": 1, **overrides}


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([_step(type="fax")], id="unknown type"),
        pytest.param([_step(type="system")], id="system type"),
        pytest.param([_step(type="note")], id="note type"),
        pytest.param([_step(delay_days=366)], id="delay too long"),
        pytest.param([_step(delay_days=-1)], id="negative delay"),
        pytest.param([_step()] * 51, id="more than 50 steps"),
        pytest.param([], id="no steps"),
        pytest.param([_step(position=1), _step(position=1)], id="duplicate position"),
        pytest.param([_step(position=1), _step()], id="some positions"),
        pytest.param([_step(subject_template="Call {compnay}")], id="unknown placeholder"),
        pytest.param([_step(subject_template="  ")], id="blank subject"),
        pytest.param([_step(subject_template="x" * 201)], id="subject too long"),
    ],
)
async def test_bad_steps_are_refused(
    client: httpx.AsyncClient, steps: list[dict[str, Any]]
) -> None:
    admin = await register_tenant(client)
    created = await client.post(
        CADENCES, headers=admin.headers, json={"name": "Bad", "steps": steps}
    )
    assert created.status_code == 422, created.text
    good = await cadence(client, admin)
    patched = await client.patch(
        f"{CADENCES}/{good['id']}", headers=admin.headers, json={"steps": steps, "version": 1}
    )
    assert patched.status_code == 422, patched.text
    listed = await client.get(CADENCES, headers=admin.headers)
    assert len(listed.json()["items"]) == 2


async def test_fifty_steps_are_fine(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    created = await cadence(client, admin, steps=[_step()] * 50)
    assert [s["position"] for s in created["steps"]] == list(range(1, 51))


async def test_only_admins_and_managers_write_cadences(client: httpx.AsyncClient) -> None:
    members = await org(client)
    created = await cadence(client, members.admin)
    for member in (members.sales, members.viewer):
        post = await client.post(
            CADENCES, headers=member.headers, json={"name": "Mine", "steps": STEPS}
        )
        assert post.status_code == 403, post.text
        patch = await client.patch(
            f"{CADENCES}/{created['id']}",
            headers=member.headers,
            json={"name": "Mine", "version": 1},
        )
        assert patch.status_code == 403, patch.text
        assert (await client.get(CADENCES, headers=member.headers)).status_code == 200
    manager_patch = await client.patch(
        f"{CADENCES}/{created['id']}",
        headers=members.manager.headers,
        json={"name": "Managed", "version": 1},
    )
    assert manager_patch.status_code == 200, manager_patch.text


async def test_the_default_cadence_stays_active_and_single(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    [default] = (await client.get(CADENCES, headers=admin.headers)).json()["items"]
    path = f"{CADENCES}/{default['id']}"
    off = await client.patch(path, headers=admin.headers, json={"active": False, "version": 1})
    assert off.status_code == 422, off.text
    unset = await client.patch(
        path, headers=admin.headers, json={"is_default": False, "version": 1}
    )
    assert unset.status_code == 422, unset.text

    inactive = await cadence(client, admin, active=False)
    refused = await client.patch(
        f"{CADENCES}/{inactive['id']}",
        headers=admin.headers,
        json={"is_default": True, "version": 1},
    )
    assert refused.status_code == 422, refused.text

    other = await cadence(client, admin)
    moved = await client.patch(
        f"{CADENCES}/{other['id']}", headers=admin.headers, json={"is_default": True, "version": 1}
    )
    assert moved.status_code == 200, moved.text
    defaults = [c for c in (await client.get(CADENCES, headers=admin.headers)).json()["items"]]
    assert [c["id"] for c in defaults if c["is_default"]] == [other["id"]]
    # The old default changed: its version moved on, and now it may be deactivated.
    old = (await client.get(path, headers=admin.headers)).json()
    assert old["version"] == 2
    off = await client.patch(path, headers=admin.headers, json={"active": False, "version": 2})
    assert off.status_code == 200, off.text


async def test_another_tenants_cadence_is_not_found(client: httpx.AsyncClient) -> None:
    mine = await register_tenant(client)
    theirs = await register_tenant(client)
    created = await cadence(client, theirs)
    path = f"{CADENCES}/{created['id']}"
    assert (await client.get(path, headers=mine.headers)).status_code == 404
    patch = await client.patch(path, headers=mine.headers, json={"name": "X", "version": 1})
    assert patch.status_code == 404
    listed = await client.get(CADENCES, headers=mine.headers)
    assert created["id"] not in {c["id"] for c in listed.json()["items"]}
    assert (await client.get(f"{CADENCES}/{uuid.uuid4()}", headers=mine.headers)).status_code == 404


async def test_list_pages(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    for _ in range(2):
        await cadence(client, admin)
    first = (await client.get(CADENCES, headers=admin.headers, params={"limit": 2})).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = (
        await client.get(
            CADENCES, headers=admin.headers, params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    assert all(item["steps"] for item in first["items"] + second["items"])
