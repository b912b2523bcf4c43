"""Importing targets through the API: upload and preview, mapping, dedupe, commit as
a job, undo, roles and tenancy."""

from __future__ import annotations

import asyncpg
import httpx

from baton.config import Settings
from baton.db.engine import Database
from tests.factories import add_member, register_tenant
from tests.imports.support import commit, committed, get, upload, uploaded
from tests.targets.support import create_target

CSV = (
    "Company Name,Contact,E-mail,Phone Number,Favourite colour\n"
    "Acme GmbH,Ada Lovelace,ada@acme.example,+49 30 1234,blue\n"
    "Globex,Hank Scorpio,hank@globex.example,,green\n"
    '"Initech, Inc.","Bill\nLumbergh",bill@initech.example,555-0100,red\n'
)


async def test_upload_previews_with_a_suggested_mapping_and_writes_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    batch = await uploaded(client, admin, CSV)
    assert batch["status"] == "previewed"
    assert batch["kind"] == "targets"
    assert batch["rows_total"] == 3
    assert batch["encoding"] == "utf-8"
    assert batch["delimiter"] == ","
    assert batch["mapping"] == {
        "Company Name": "company_name",
        "Contact": "contact_name",
        "E-mail": "email",
        "Phone Number": "phone",
        "Favourite colour": None,
    }
    assert batch["unknown_columns"] == ["Favourite colour"]
    assert batch["columns"][0] == {
        "header": "Company Name",
        "field": "company_name",
        "sample": ["Acme GmbH", "Globex", "Initech, Inc."],
    }
    assert batch["columns"][1]["sample"][2] == "Bill\nLumbergh"
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (3, 0, 0)
    assert batch["error_count"] == 0
    count = await owner_conn.fetchval(
        "SELECT count(*) FROM targets WHERE tenant_id = $1", admin.tenant_id
    )
    assert count == 0
    listed = await client.get("/api/v1/imports", headers=admin.headers)
    assert [b["id"] for b in listed.json()["items"]] == [batch["id"]]


async def test_commit_runs_as_a_job_and_marks_every_row_with_its_batch(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    sales = await add_member(client, admin, "sales")
    batch = await uploaded(client, sales, CSV)
    done = await committed(client, sales, batch, settings, database)
    assert done["status"] == "completed", done
    assert (done["created"], done["updated"], done["skipped"], done["failed"]) == (3, 0, 0, 0)
    assert done["rows_done"] == 3
    rows = await owner_conn.fetch(
        "SELECT company_name, contact_name, email, owner_id, import_batch_id, dedupe_key"
        " FROM targets WHERE tenant_id = $1 ORDER BY company_name",
        admin.tenant_id,
    )
    assert [r["company_name"] for r in rows] == ["Acme GmbH", "Globex", "Initech, Inc."]
    assert {str(r["import_batch_id"]) for r in rows} == {batch["id"]}
    assert {r["owner_id"] for r in rows} == {sales.user_id}
    assert rows[0]["dedupe_key"] == "email:ada@acme.example"
    history = await owner_conn.fetchval(
        "SELECT count(*) FROM workflow_history WHERE tenant_id = $1 AND entity_type = 'target'",
        admin.tenant_id,
    )
    assert history == 3
    # Integrators hear of it: one `import.completed` event, about the batch.
    events = await owner_conn.fetch(
        "SELECT type, subject_id FROM outbox_events WHERE tenant_id = $1 AND type LIKE 'import.%'",
        admin.tenant_id,
    )
    assert [(e["type"], str(e["subject_id"])) for e in events] == [
        ("import.completed", batch["id"])
    ]
    # A second commit is refused: nothing twice.
    again = await commit(client, sales, done)
    assert again.status_code == 409
    stale = await commit(client, sales, batch)
    assert stale.status_code == 409


async def test_row_errors_block_the_commit_unless_valid_rows_only(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    content = (
        "Company,Email,Owner\n"
        "Acme,ada@acme.example,\n"
        ",nobody@x.example,\n"
        "Globex,not-an-email,\n"
        f"Initech,bill@initech.example,{admin.email}\n"
        "Umbrella,u@umbrella.example,stranger@else.example\n"
        "=HYPERLINK(1),x@y.example,nobody@else.example\n"
    )
    batch = await uploaded(client, admin, content)
    assert batch["error_count"] == 4
    assert {(e["row"], e["field"]) for e in batch["errors"]} == {
        (2, "company_name"),
        (3, "email"),
        (5, "owner"),
        (6, "owner"),
    }
    refused = await commit(client, admin, batch)
    assert refused.status_code == 422
    done = await committed(client, admin, batch, settings, database, valid_rows_only=True)
    assert done["status"] == "completed"
    assert (done["created"], done["failed"]) == (2, 4)
    names = await owner_conn.fetch(
        "SELECT company_name FROM targets WHERE tenant_id = $1 ORDER BY 1", admin.tenant_id
    )
    assert [r["company_name"] for r in names] == ["Acme", "Initech"]
    errors = await client.get(f"/api/v1/imports/{batch['id']}/errors.csv", headers=admin.headers)
    assert errors.status_code == 200
    lines = errors.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Company,Email,Owner,error"
    assert len(lines) == 5
    assert lines[2].startswith("Globex,not-an-email,,email:")
    # A cell a spreadsheet would run as a formula comes back as text.
    assert lines[4].startswith("'=HYPERLINK(1),x@y.example,")


async def test_duplicates_in_the_file_and_existing_skip_or_update(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    existing = await create_target(
        client, admin, company_name="Acme Old", email="ada@acme.example", contact_name="Ada"
    )
    content = (
        "Company,Email,Notes\n"
        "Acme New,ADA@acme.example,from the fair\n"
        "Globex,hank@globex.example,\n"
        "Globex again,hank@globex.example,\n"
    )
    batch = await uploaded(client, admin, content)
    assert batch["duplicates"]["in_file"] == 1
    assert batch["duplicates"]["existing"] == 1
    assert batch["duplicates"]["items"] == [
        {"row": 1, "key": "email:ada@acme.example", "record_id": existing["id"]},
        {"row": 3, "key": "email:hank@globex.example", "matches_row": 2},
    ]
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (1, 0, 2)
    refused = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"on_duplicate": "create", "version": batch["version"]},
    )
    assert refused.status_code == 422
    patched = await client.patch(
        f"/api/v1/imports/{batch['id']}",
        headers=admin.headers,
        json={"on_duplicate": "update", "version": batch["version"]},
    )
    assert patched.status_code == 200, patched.text
    batch = patched.json()
    assert (batch["would_create"], batch["would_update"], batch["would_skip"]) == (1, 1, 1)
    done = await committed(client, admin, batch, settings, database)
    assert (done["created"], done["updated"], done["skipped"]) == (1, 1, 1)
    row = await owner_conn.fetchrow(
        "SELECT company_name, contact_name, notes, version, import_batch_id FROM targets"
        " WHERE id = $1",
        __import__("uuid").UUID(existing["id"]),
    )
    assert row["company_name"] == "Acme New"
    assert row["contact_name"] == "Ada"  # not in the file: kept
    assert row["notes"] == "from the fair"
    assert str(row["import_batch_id"]) == batch["id"]

    # Undo: the created target goes, the updated one is back as it was.
    undone = await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=admin.headers,
        json={"version": done["version"]},
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone"
    live = await owner_conn.fetch(
        "SELECT company_name, notes, import_batch_id FROM targets"
        " WHERE tenant_id = $1 AND deleted_at IS NULL",
        admin.tenant_id,
    )
    assert [(r["company_name"], r["notes"], r["import_batch_id"]) for r in live] == [
        ("Acme Old", None, None)
    ]


async def test_undo_is_refused_after_an_edit_unless_forced(
    client: httpx.AsyncClient,
    settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register_tenant(client)
    batch = await uploaded(client, admin, "Company\nAcme\nGlobex\n")
    done = await committed(client, admin, batch, settings, database)
    targets = (await client.get("/api/v1/targets", headers=admin.headers)).json()["items"]
    acme = next(t for t in targets if t["company_name"] == "Acme")
    edited = await client.patch(
        f"/api/v1/targets/{acme['id']}",
        headers=admin.headers,
        json={"notes": "called", "version": acme["version"]},
    )
    assert edited.status_code == 200
    refused = await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=admin.headers,
        json={"version": done["version"]},
    )
    assert refused.status_code == 409
    assert acme["id"] in refused.json()["detail"]
    assert (await get(client, admin, batch["id"]))["status"] == "completed"
    forced = await client.post(
        f"/api/v1/imports/{batch['id']}/undo",
        headers=admin.headers,
        json={"version": done["version"], "force": True},
    )
    assert forced.status_code == 200, forced.text
    live = await owner_conn.fetchval(
        "SELECT count(*) FROM targets WHERE tenant_id = $1 AND deleted_at IS NULL",
        admin.tenant_id,
    )
    assert live == 0


async def test_roles_and_tenancy(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    viewer = await add_member(client, admin, "viewer")
    marketing = await add_member(client, admin, "marketing")
    assert (await upload(client, viewer, "Company\nAcme\n")).status_code == 403
    batch = await uploaded(client, marketing, "Company\nAcme\n")
    assert (await client.get("/api/v1/imports", headers=viewer.headers)).status_code == 403
    other = await register_tenant(client)
    foreign = await client.get(f"/api/v1/imports/{batch['id']}", headers=other.headers)
    assert foreign.status_code == 404
    assert (await commit(client, other, batch)).status_code == 404
    unknown = await upload(client, admin, "Company\nAcme\n", kind="planets")
    assert unknown.status_code == 422


async def test_the_sample_file_previews_fifty_clean_targets(client: httpx.AsyncClient) -> None:
    from pathlib import Path

    admin = await register_tenant(client)
    sample = Path(__file__).parents[2] / "docs" / "samples" / "targets.csv"
    batch = await uploaded(client, admin, sample.read_bytes(), filename="targets.csv")
    assert batch["rows_total"] == 50
    assert batch["error_count"] == 0
    assert batch["would_create"] == 50
    assert set(batch["mapping"].values()) == {
        "company_name",
        "contact_name",
        "email",
        "phone",
        "notes",
    }
