"""Email notifications: queued with the notification, sent by the worker.

`queue_emails` runs inside the transaction that writes the notifications
(`service.notify_each`): when `BATON_SMTP_URL` is set, every notification of an
emailed kind (`EMAILED_KINDS`) whose member has not muted that kind gets one
`notifications.send_email` job, all in one statement — so a rolled-back action
emails no one, and a committed one is never forgotten.

The job (`send_email`) locks its notification, and sends only while `email_sent_at`
is null and the member still wants that kind; it records `email_sent_at` in the same
transaction. Run twice, or by two workers at once, it sends once (the second waits
on the row lock, then finds it sent). Should the commit after a successful send fail,
the retry sends again: at least once, never silently lost. An unreachable or
refusing server raises, and procrastinate retries with backoff (the Jobs page shows
the error); the notification stays in the app whatever becomes of its email.

Each email is multipart: a plain-text part and an HTML part, with the time in the
member's zone (their own, else the organization's) and a link to the record on
`BATON_BASE_URL`.

Two emails stand alone, each sent once the same way: an invitation's link
(`queue_invitation`, `send_invitation`; once per link, `invitations.link_emailed_serial`)
and the welcome of a member an admin added at once (`queue_welcome`, `send_welcome`;
once per membership, `memberships.welcome_sent_at`).
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import urlsplit

from sqlalchemy import text

from baton.core.context import Ctx
from baton.core.zones import zone_named
from baton.identity.credentials import invitation_token, invitation_url
from baton.jobs.defer import defer
from baton.jobs.runtime import tenant_task
from baton.notifications import smtp
from baton.notifications.links import record_path
from baton.notifications.models import EMAILED_KINDS, NotificationKind

TASK_NAME = "notifications.send_email"

# Why a member gets each kind, said at the foot of the email.
REASONS = {
    NotificationKind.ASSIGNMENT.value: "something was assigned to you",
    NotificationKind.ESCALATION.value: "you oversee the Sales Inbox as a manager or admin",
    NotificationKind.DIGEST.value: "you own deals whose next step is overdue",
}
SUBJECTS = {
    NotificationKind.ASSIGNMENT.value: "Assigned to you",
    NotificationKind.ESCALATION.value: "Unclaimed lead",
    NotificationKind.DIGEST.value: "Overdue next steps",
}
SUBJECT_LENGTH = 150

# Members of the current tenant (RLS) who want these notifications' emails: the
# notifications whose kind their `muted_emails` does not name.
_WANTED = text(
    "SELECT n.id FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[]),"
    " CAST(:kinds AS text[])) AS n(id, user_id, kind)"
    " JOIN memberships m ON m.user_id = n.user_id"
    " WHERE NOT (n.kind = ANY (m.muted_emails))"
)

# One job per notification, in one statement: the rows `baton.jobs.defer.defer` would
# write, the tenant and actor of the unit of work in each.
_DEFER_EACH = text(
    "SELECT cardinality(procrastinate_defer_jobs_v1(ARRAY("
    "SELECT ROW(CAST(:queue_name AS varchar), CAST(:task_name AS varchar),"
    " CAST(:priority AS integer), NULL::text, NULL::text,"
    " jsonb_build_object('notification_id', n.id::text) || CAST(:context AS jsonb),"
    " NULL::timestamptz)::procrastinate_job_to_defer_v1"
    " FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS n(id, position)"
    " ORDER BY n.position)))"
)

# The notification to send, locked, with who gets it and in which zone; nothing once
# sent (or when the member has left).
_CLAIM = text(
    """
SELECT n.id, n.kind, n.message, n.entity_type, n.record_id, n.created_at,
       u.email, u.full_name, m.muted_emails,
       coalesce(m.timezone, s.timezone) AS timezone, t.name AS tenant_name
FROM notifications n
JOIN memberships m ON m.tenant_id = n.tenant_id AND m.user_id = n.user_id
JOIN users u ON u.id = n.user_id
JOIN tenant_settings s ON s.tenant_id = n.tenant_id
JOIN tenants t ON t.id = n.tenant_id
WHERE n.id = :id AND n.email_sent_at IS NULL
FOR UPDATE OF n
"""
)
_MARK_SENT = text("UPDATE notifications SET email_sent_at = now() WHERE id = :id")


@dataclass(frozen=True)
class QueuedNotice:
    """A notification just written: its id, whom it is for, its kind."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: str


async def queue_emails(ctx: Ctx, notices: Sequence[QueuedNotice]) -> int:
    """Queue the emails of `notices` in the caller's transaction (module docstring);
    answers how many. Nothing without `BATON_SMTP_URL`."""
    if not ctx.settings.smtp_url:
        return 0
    emailed = [n for n in notices if n.kind in EMAILED_KINDS]
    if not emailed:
        return 0
    wanted = (
        await ctx.session.scalars(
            _WANTED,
            {
                "ids": [n.id for n in emailed],
                "users": [n.user_id for n in emailed],
                "kinds": [n.kind for n in emailed],
            },
        )
    ).all()
    if not wanted:
        return 0
    principal = ctx.principal
    context = {
        "tenant_id": str(ctx.current_tenant_id),
        "actor_id": str(principal.user_id) if principal else None,
        "actor_role": principal.role if principal else None,
    }
    queued = await ctx.session.scalar(
        _DEFER_EACH,
        {
            "queue_name": send_email.queue,
            "task_name": send_email.name,
            "priority": send_email.priority,
            "context": json.dumps(context),
            "ids": list(wanted),
        },
    )
    return int(queued or 0)


@dataclass(frozen=True)
class Email:
    """One notification as an email: whom to, subject, and both bodies."""

    to: str
    subject: str
    text: str
    html: str


def compose(row: dict[str, object], base_url: str) -> Email:
    """The email of a claimed notification row (`_CLAIM`)."""
    kind = str(row["kind"])
    message = str(row["message"])
    zone_name = str(row["timezone"])
    created = row["created_at"]
    assert isinstance(created, datetime)
    when = created.astimezone(zone_named(zone_name)).strftime("%Y-%m-%d %H:%M")
    record_id = row["record_id"]
    entity_type = row["entity_type"]
    path = record_path(
        kind,
        str(entity_type) if entity_type else None,
        record_id if isinstance(record_id, uuid.UUID) else None,
    )
    link = base_url + (path or "/notifications")
    preferences = base_url + "/account#email-notifications"
    tenant = str(row["tenant_name"])
    name = str(row["full_name"])
    reason = REASONS.get(kind, "you are a member")
    subject = f"[{tenant}] {SUBJECTS.get(kind, 'Notification')}: {message}"
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    plain = (
        f"Hello {name},\n\n"
        f"{message}\n\n"
        f"Open it in Baton: {link}\n\n"
        f"{when} ({zone_name}) · {tenant}\n\n"
        f"-- \nYou get this email because {reason}.\n"
        f"Choose which emails you get on My account: {preferences}\n"
    )
    e = html.escape
    rich = (
        '<!doctype html><html lang="en"><body style="font-family: sans-serif;'
        ' line-height: 1.5; color: #1d2330">'
        f"<p>Hello {e(name)},</p>"
        f"<p>{e(message)}</p>"
        f'<p><a href="{e(link)}">Open it in Baton</a></p>'
        f'<p style="color: #5b6477">{e(when)} ({e(zone_name)}) · {e(tenant)}</p>'
        f'<hr><p style="color: #5b6477; font-size: 0.9em">You get this email because'
        f' {e(reason)}. <a href="{e(preferences)}">Choose which emails you get</a>'
        " on My account.</p></body></html>"
    )
    return Email(to=str(row["email"]), subject=subject, text=plain, html=rich)


def as_message(email: Email, sender: str, message_key: str, base_url: str) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML preferred by readers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr(("", email.to))
    message["Subject"] = email.subject
    # The same id on a resend, so a mail client can fold a duplicate away.
    host = urlsplit(base_url).hostname or "localhost"
    message["Message-ID"] = f"<{message_key}@{host}>"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


@tenant_task(name=TASK_NAME)
async def send_email(ctx: Ctx, *, notification_id: str) -> None:
    """Send one notification's email, once (module docstring)."""
    server_url = ctx.settings.smtp_url
    if not server_url:
        return
    row = (await ctx.session.execute(_CLAIM, {"id": uuid.UUID(notification_id)})).first()
    if row is None:
        return
    values = dict(row._mapping)
    if values["kind"] in values["muted_emails"]:
        return
    email = compose(values, ctx.settings.public_base_url)
    message = as_message(
        email,
        ctx.settings.smtp_from,
        f"notification-{notification_id}",
        ctx.settings.public_base_url,
    )
    await smtp.send(smtp.parse_smtp_url(server_url), message)
    await ctx.session.execute(_MARK_SENT, {"id": uuid.UUID(notification_id)})


_CLAIM_WELCOME = text(
    """
SELECT m.id, m.role, m.created_at, u.email, u.full_name,
       coalesce(m.timezone, s.timezone) AS timezone, t.name AS tenant_name, t.slug
FROM memberships m
JOIN users u ON u.id = m.user_id
JOIN tenant_settings s ON s.tenant_id = m.tenant_id
JOIN tenants t ON t.id = m.tenant_id
WHERE m.id = :id AND m.welcome_sent_at IS NULL
FOR UPDATE OF m
"""
)
_MARK_WELCOMED = text("UPDATE memberships SET welcome_sent_at = now() WHERE id = :id")


async def queue_welcome(ctx: Ctx, membership_id: uuid.UUID) -> None:
    """Queue the welcome email of a member added at once, in the caller's transaction;
    nothing without `BATON_SMTP_URL`."""
    if ctx.settings.smtp_url:
        await defer(ctx, send_welcome, {"membership_id": str(membership_id)})


def _letter(name: str, paragraphs: list[str], link: str, action: str, foot: str) -> tuple[str, str]:
    """The plain and HTML bodies of a letter to one person with one link."""
    plain = f"Hello {name},\n\n" + "".join(f"{p}\n\n" for p in paragraphs)
    plain += f"{action}: {link}\n\n{foot}\n"
    e = html.escape
    rich = (
        '<!doctype html><html lang="en"><body style="font-family: sans-serif;'
        ' line-height: 1.5; color: #1d2330">'
        f"<p>Hello {e(name)},</p>"
        + "".join(f"<p>{e(p)}</p>" for p in paragraphs)
        + f'<p><a href="{e(link)}">{e(action)}</a></p>'
        f'<p style="color: #5b6477">{e(foot)}</p>'
        "</body></html>"
    )
    return plain, rich


def _local(moment: object, zone_name: str) -> str:
    assert isinstance(moment, datetime)
    return moment.astimezone(zone_named(zone_name)).strftime("%Y-%m-%d %H:%M")


def compose_welcome(row: dict[str, object], inviter: str | None, base_url: str) -> Email:
    """The welcome email of a claimed membership row (`_CLAIM_WELCOME`)."""
    tenant = str(row["tenant_name"])
    zone_name = str(row["timezone"])
    who = inviter or "An administrator"
    plain, rich = _letter(
        str(row["full_name"]),
        [
            f"{who} added you to {tenant} as {row['role']}.",
            "Sign in with this email address. If you are new to Baton, the administrator "
            "who added you gives you your first password; change it on My account.",
        ],
        f"{base_url}/login",
        "Sign in to Baton",
        f"{_local(row['created_at'], zone_name)} ({zone_name}) · {tenant}",
    )
    return Email(
        to=str(row["email"]), subject=f"[{tenant}] Welcome to {tenant}", text=plain, html=rich
    )


_INVITER = text("SELECT full_name FROM users WHERE id = :id")


@tenant_task(name="notifications.send_invitation")
async def send_welcome(ctx: Ctx, *, membership_id: str) -> None:
    """Send the welcome email of a member added at once, once (module docstring). The
    task keeps its first name: jobs queued under it may be in flight."""
    server_url = ctx.settings.smtp_url
    if not server_url:
        return
    row = (await ctx.session.execute(_CLAIM_WELCOME, {"id": uuid.UUID(membership_id)})).first()
    if row is None:
        return
    inviter = None
    if ctx.actor_id is not None:
        inviter = await ctx.session.scalar(_INVITER, {"id": ctx.actor_id})
    base_url = ctx.settings.public_base_url
    email = compose_welcome(dict(row._mapping), inviter, base_url)
    message = as_message(email, ctx.settings.smtp_from, f"welcome-{membership_id}", base_url)
    await smtp.send(smtp.parse_smtp_url(server_url), message)
    await ctx.session.execute(_MARK_WELCOMED, {"id": uuid.UUID(membership_id)})


# The invitation whose link `serial` is still the live one and not yet emailed, locked,
# with what its email says; nothing once accepted, revoked, or issued again since.
_CLAIM_INVITATION = text(
    """
SELECT i.id, i.tenant_id, i.email, i.full_name, i.role, i.expires_at, i.link_serial,
       s.timezone, t.name AS tenant_name, u.full_name AS inviter,
       baton_user_id_for_email(i.email) IS NOT NULL AS has_login
FROM invitations i
JOIN tenant_settings s ON s.tenant_id = i.tenant_id
JOIN tenants t ON t.id = i.tenant_id
LEFT JOIN users u ON u.id = i.invited_by
WHERE i.id = :id AND i.link_serial = :serial
  AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()
  AND i.link_emailed_serial IS DISTINCT FROM i.link_serial
FOR UPDATE OF i
"""
)
_MARK_INVITED = text("UPDATE invitations SET link_emailed_serial = :serial WHERE id = :id")


async def queue_invitation(ctx: Ctx, invitation_id: uuid.UUID, serial: int) -> None:
    """Queue the email of an invitation's `serial`-th link in the caller's transaction;
    nothing without `BATON_SMTP_URL`. The job carries no link: it writes it again
    from the app's secret (`credentials.invitation_token`)."""
    if ctx.settings.smtp_url:
        await defer(ctx, send_invitation, {"invitation_id": str(invitation_id), "serial": serial})


def compose_invitation(row: dict[str, object], link: str) -> Email:
    """The email of a claimed invitation row (`_CLAIM_INVITATION`) with its link."""
    tenant = str(row["tenant_name"])
    zone_name = str(row["timezone"])
    until = _local(row["expires_at"], zone_name)
    how = (
        "You already have a Baton login with this email address: open the link and"
        " sign in with your password to join."
        if row["has_login"]
        else "Open the link to choose your password and join."
    )
    plain, rich = _letter(
        str(row["full_name"]),
        [
            f"{row['inviter'] or 'An administrator'} invited you to join {tenant} on Baton"
            f" as {row['role']}.",
            f"{how} The link works once, until {until} ({zone_name}).",
        ],
        link,
        "Accept the invitation",
        f"If you did not expect this invitation, ignore this email. · {tenant}",
    )
    return Email(
        to=str(row["email"]),
        subject=f"[{tenant}] You are invited to join {tenant}",
        text=plain,
        html=rich,
    )


@tenant_task(name="notifications.send_invitation_link")
async def send_invitation(ctx: Ctx, *, invitation_id: str, serial: int) -> None:
    """Send an invitation's link, once per link (`link_emailed_serial`); a link issued
    again since is left to its own job."""
    server_url = ctx.settings.smtp_url
    if not server_url:
        return
    identifier = uuid.UUID(invitation_id)
    params = {"id": identifier, "serial": serial}
    row = (await ctx.session.execute(_CLAIM_INVITATION, params)).first()
    if row is None:
        return
    values = dict(row._mapping)
    token = invitation_token(
        ctx.settings.resolved_secret_key(), values["tenant_id"], identifier, serial
    )
    email = compose_invitation(values, invitation_url(ctx.settings.public_base_url, token))
    base_url = ctx.settings.public_base_url
    message = as_message(
        email, ctx.settings.smtp_from, f"invitation-{invitation_id}-{serial}", base_url
    )
    await smtp.send(smtp.parse_smtp_url(server_url), message)
    await ctx.session.execute(_MARK_INVITED, params)
