"""Email notifications through a real SMTP server (aiosmtpd on 127.0.0.1): one email
per kind — invitation, assignment, SLA escalation, next-step digest — multipart with
a plain-text and an HTML part, the time in the member's zone and a link to the record;
preferences honoured; sent once however often the job runs; a server that is down
makes the job retry while the notification stays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.deals.tasks import send_next_step_digests
from baton.jobs.defer import defer
from baton.leads.tasks import escalate_overdue_claims
from baton.notifications.email import send_email, send_invitation
from tests.conftest import make_settings, random_address
from tests.factories import Member, add_member, register_tenant
from tests.jobs.support import run_due_jobs, sweep_unit, unit_of_work
from tests.leads.conftest import Org, make_org
from tests.notifications.mail import free_port, parts, smtp_server

BASE = "https://crm.example.test"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mail_settings(settings: Settings, port: int) -> Settings:
    return make_settings(
        settings, smtp_url=f"smtp://127.0.0.1:{port}", base_url=BASE, smtp_from="Baton <b@x.test>"
    )


@pytest.fixture
async def mail_client(
    mail_settings: Settings, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that sends email (its jobs run on `mail_settings`)."""
    app = create_app(mail_settings, database)
    transport = httpx.ASGITransport(
        app=app, client=(random_address(), 40000), raise_app_exceptions=False
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _drain(settings: Settings, database: Database) -> None:
    await run_due_jobs(settings, database)


async def _assign(client: httpx.AsyncClient, org: Org, lead: dict[str, object]) -> None:
    assigned = await client.post(
        f"/api/v1/leads/{lead['id']}/assign",
        headers=org.manager.headers,
        json={"user_id": str(org.sales.user_id)},
    )
    assert assigned.status_code == 200, assigned.text


async def _notifications(client: httpx.AsyncClient, member: Member) -> list[dict[str, object]]:
    listed = await client.get("/api/v1/me/notifications", headers=member.headers)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, object]] = listed.json()["items"]
    return items


async def test_each_kind_is_emailed_once_as_text_and_html_in_the_members_zone(
    mail_client: httpx.AsyncClient,
    mail_settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    port: int,
) -> None:
    with smtp_server(port) as inbox:
        org = await make_org(mail_client)
        tenant_id = org.admin.tenant_id
        await owner_conn.execute(
            "UPDATE tenant_settings SET timezone = 'Asia/Tokyo' WHERE tenant_id = $1", tenant_id
        )
        await _drain(mail_settings, database)

        # Invitations: every member added got a welcome, once.
        welcome = inbox.to(org.sales.email)
        assert len(welcome) == 1
        plain, rich = parts(welcome[0])
        assert "added you to" in plain
        assert f"{BASE}/login" in plain
        assert f'href="{BASE}/login"' in rich
        assert "Welcome" in welcome[0]["Subject"]
        # Never the password.
        assert "baton-test" not in plain.lower() + rich.lower()

        # Assignment: the manager gives a pooled lead to the salesperson.
        lead = await org.pooled(mail_client)
        await _assign(mail_client, org, lead)
        await _drain(mail_settings, database)
        assigned = [m for m in inbox.to(org.sales.email) if "Assigned to you" in m["Subject"]]
        assert len(assigned) == 1
        plain, rich = parts(assigned[0])
        assert str(lead["company_name"]) in plain
        assert f"{BASE}/leads/{lead['id']}" in plain
        assert f'href="{BASE}/leads/{lead["id"]}"' in rich
        note = next(
            n for n in await _notifications(mail_client, org.sales) if n["kind"] == "assignment"
        )
        created = datetime.fromisoformat(str(note["created_at"]))
        local = created.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M")
        assert f"{local} (Asia/Tokyo)" in plain
        assert note["email_sent_at"] is not None

        # A job run again for the same notification sends nothing more.
        async with unit_of_work(database, mail_settings, org.admin) as ctx:
            await defer(ctx, send_email, {"notification_id": str(note["id"])})
        await _drain(mail_settings, database)
        assert len([m for m in inbox.to(org.sales.email) if "Assigned" in m["Subject"]]) == 1

        # SLA escalation: the manager muted it, the admin did not.
        muted = await mail_client.patch(
            "/api/v1/me",
            headers=org.manager.headers,
            json={"email_notifications": {"escalation": False}},
        )
        assert muted.status_code == 200, muted.text
        assert muted.json()["email_notifications"] == {
            "assignment": True,
            "escalation": False,
            "digest": True,
        }
        late = await org.pooled(mail_client)
        await owner_conn.execute(
            "UPDATE lead_pool SET claim_due_at = now() - interval '1 hour' WHERE lead_id = $1",
            uuid.UUID(str(late["id"])),
        )
        async with sweep_unit(database, mail_settings, tenant_id) as ctx:
            assert await escalate_overdue_claims(ctx)
        await _drain(mail_settings, database)
        # Other tests on this database may leave mail jobs of their own orgs queued: count
        # only this org's members.
        members = {org.admin.email, org.manager.email, org.sales.email}
        escalations = [
            m for m in inbox.messages if "Unclaimed lead" in m["Subject"] and m["To"] in members
        ]
        assert [m["To"] for m in escalations] == [org.admin.email]
        assert f"{BASE}/leads/{late['id']}" in parts(escalations[0])[0]
        # In the app the manager is told all the same.
        assert any(
            n["kind"] == "escalation" for n in await _notifications(mail_client, org.manager)
        )

        # Digest: the salesperson's new deal has an overdue next step.
        await owner_conn.execute(
            "UPDATE deals SET next_step_due_date = current_date - 3"
            " WHERE tenant_id = $1 AND owner_id = $2",
            tenant_id,
            org.sales.user_id,
        )
        async with sweep_unit(database, mail_settings, tenant_id) as ctx:
            assert await send_next_step_digests(ctx, hour=0)
        await _drain(mail_settings, database)
        digests = [m for m in inbox.to(org.sales.email) if "Overdue next steps" in m["Subject"]]
        assert len(digests) == 1
        plain, rich = parts(digests[0])
        assert f"{BASE}/pipeline?view=overdue" in plain
        assert "overdue next step" in plain
        assert "<p>" in rich
        assert "My account" in rich


async def test_a_muted_kind_is_not_emailed_but_stays_in_the_app(
    mail_client: httpx.AsyncClient,
    mail_settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    port: int,
) -> None:
    with smtp_server(port) as inbox:
        org = await make_org(mail_client)
        muted = await mail_client.patch(
            "/api/v1/me",
            headers=org.sales.headers,
            json={"email_notifications": {"assignment": False}},
        )
        assert muted.status_code == 200
        me = await mail_client.get("/api/v1/me", headers=org.sales.headers)
        assert me.json()["email_notifications"]["assignment"] is False
        # Timezone untouched by a patch that does not name it.
        assert me.json()["timezone"] == "UTC"
        bad = await mail_client.patch(
            "/api/v1/me",
            headers=org.sales.headers,
            json={"email_notifications": {"assignment": "maybe"}},
        )
        assert bad.status_code == 422
        unknown = await mail_client.patch(
            "/api/v1/me", headers=org.sales.headers, json={"email_notifications": {"spam": True}}
        )
        assert unknown.status_code == 422
        lead = await org.pooled(mail_client)
        await _assign(mail_client, org, lead)
        await _drain(mail_settings, database)
        assert not [m for m in inbox.to(org.sales.email) if "Assigned" in m["Subject"]]
        kinds = [n["kind"] for n in await _notifications(mail_client, org.sales)]
        assert "assignment" in kinds
        # Nothing was even queued for it.
        assert not await owner_conn.fetchval(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'notifications.send_email'"
            " AND args ->> 'tenant_id' = $1",
            str(org.admin.tenant_id),
        )


async def test_smtp_down_the_job_retries_and_the_notification_stays(
    mail_client: httpx.AsyncClient,
    mail_settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    port: int,
) -> None:
    org = await make_org(mail_client)  # invitations fail too: nobody listens yet
    lead = await org.pooled(mail_client)
    await _assign(mail_client, org, lead)
    await _drain(mail_settings, database)
    note = next(
        n for n in await _notifications(mail_client, org.sales) if n["kind"] == "assignment"
    )
    assert note["email_sent_at"] is None
    job = await owner_conn.fetchrow(
        "SELECT id, status, attempts, scheduled_at FROM procrastinate_jobs"
        " WHERE task_name = 'notifications.send_email' AND args ->> 'notification_id' = $1",
        str(note["id"]),
    )
    assert job is not None
    # Failed and waiting for its retry (a slow machine may have seen the first, 4 s
    # wait elapse within the same worker run: then it failed twice).
    assert job["status"] == "todo"
    assert job["attempts"] >= 1
    assert job["scheduled_at"] > datetime.now(UTC)
    error = await owner_conn.fetchval("SELECT error FROM job_errors WHERE job_id = $1", job["id"])
    assert error
    # The admins see it on the Jobs page's API, with its error.
    jobs = await mail_client.get("/api/v1/jobs", headers=org.admin.headers)
    listed = {item["id"]: item for item in jobs.json()["items"]}
    assert listed[job["id"]]["error"] == error

    # The server comes up; the retry's wait elapses: the email goes, once.
    with smtp_server(port) as inbox:
        await owner_conn.execute(
            "UPDATE procrastinate_jobs SET scheduled_at = now() - interval '1 second'"
            " WHERE args ->> 'tenant_id' = $1 AND status = 'todo'",
            str(org.admin.tenant_id),
        )
        await _drain(mail_settings, database)
        assert len([m for m in inbox.to(org.sales.email) if "Assigned" in m["Subject"]]) == 1
    sent = await owner_conn.fetchval(
        "SELECT email_sent_at FROM notifications WHERE id = $1", uuid.UUID(str(note["id"]))
    )
    assert sent is not None
    assert sent < datetime.now(UTC) + timedelta(seconds=1)


async def test_without_smtp_nothing_is_queued(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    await add_member(client, admin, "sales")
    assert not await owner_conn.fetchval(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE 'notifications.%'"
        " AND args ->> 'tenant_id' = $1",
        str(admin.tenant_id),
    )


async def test_an_invitation_emails_its_link_once_and_a_new_link_replaces_it(
    mail_client: httpx.AsyncClient,
    mail_settings: Settings,
    database: Database,
    owner_conn: asyncpg.Connection,
    port: int,
) -> None:
    with smtp_server(port) as inbox:
        admin = await register_tenant(mail_client)
        await owner_conn.execute(
            "UPDATE tenant_settings SET timezone = 'Asia/Tokyo' WHERE tenant_id = $1",
            admin.tenant_id,
        )
        email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
        invited = await mail_client.post(
            "/api/v1/invitations",
            headers=admin.headers,
            json={"email": email, "full_name": "Ines Invitee", "role": "sales"},
        )
        assert invited.status_code == 201, invited.text
        first = invited.json()
        await _drain(mail_settings, database)
        sent = inbox.to(email)
        assert len(sent) == 1
        assert "invited to join" in sent[0]["Subject"]
        plain, rich = parts(sent[0])
        assert first["accept_url"] == f"{BASE}/invitations/{first['token']}"
        assert f"Accept the invitation: {first['accept_url']}" in plain
        assert f'href="{first["accept_url"]}"' in rich
        assert "Ada Admin invited you to join" in plain
        assert "as sales" in plain
        assert "choose your password" in plain
        expires = datetime.fromisoformat(first["expires_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
        assert f"until {expires.strftime('%Y-%m-%d %H:%M')} (Asia/Tokyo)" in plain
        # The job run again for the same link sends nothing more.
        async with unit_of_work(database, mail_settings, admin) as ctx:
            await defer(ctx, send_invitation, {"invitation_id": first["id"], "serial": 1})
        await _drain(mail_settings, database)
        assert len(inbox.to(email)) == 1

        # A new link: a second email with it, under another Message-ID.
        resent = await mail_client.post(
            f"/api/v1/invitations/{first['id']}/resend", headers=admin.headers
        )
        second = resent.json()
        await _drain(mail_settings, database)
        sent = inbox.to(email)
        assert len(sent) == 2
        plain, _ = parts(sent[1])
        assert second["accept_url"] in plain
        assert first["accept_url"] not in plain
        assert sent[0]["Message-ID"] != sent[1]["Message-ID"]

        # Someone with a login is told to sign in with it.
        elsewhere = await register_tenant(mail_client)
        await mail_client.post(
            "/api/v1/invitations",
            headers=admin.headers,
            json={"email": elsewhere.email, "full_name": "Ada", "role": "viewer"},
        )
        await _drain(mail_settings, database)
        plain, _ = parts(inbox.to(elsewhere.email)[-1])
        assert "You already have a Baton login" in plain
        # Never a password; a revoked invitation's queued email never goes.
        assert "correct-horse" not in plain
        third = await mail_client.post(
            "/api/v1/invitations",
            headers=admin.headers,
            json={
                "email": f"late-{uuid.uuid4().hex[:8]}@example.com",
                "full_name": "L",
                "role": "sales",
            },
        )
        withdrawn = await mail_client.delete(
            f"/api/v1/invitations/{third.json()['id']}", headers=admin.headers
        )
        assert withdrawn.status_code == 204
        await _drain(mail_settings, database)
        assert inbox.to(third.json()["email"]) == []
