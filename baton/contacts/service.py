"""Contacts: the people at an account.

Rules (DESIGN §3.2, issue 4 part 2): a contact belongs to a live account of the
organization; its email is stored lower-cased and is unique among the live contacts
of its account (409 naming `email`; the partial unique index is the backstop);
writers create, edit, delete and restore, viewers read only; deleting a contact
soft-deletes it, its live cadence enrolments and their planned activities under its
own deletion id (its account's restore leaves them deleted; its own restore brings
back exactly that set, unless its account is deleted or its email was taken meanwhile).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Table, Update, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from baton.accounts.models import Account
from baton.accounts.restoring import lock_account_of, refuse_while_account_deleted
from baton.activities.deletion import delete_planned_activities, restore_activities
from baton.activities.models import Activity
from baton.cadences.deletion import ENROLLMENTS, delete_live_enrollments, restore_enrollments
from baton.contacts import queries
from baton.contacts.models import Contact
from baton.contacts.schemas import ContactIn, ContactPatch
from baton.core.context import Ctx
from baton.core.errors import Conflict, FieldError, NotFound, StaleVersion, ValidationFailed
from baton.core.ids import uuid7
from baton.core.pagination import PageRequest
from baton.core.versioning import check_sent_version, check_version
from baton.db.base import restore_deleted
from baton.identity.access import WRITERS, require_role

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]

_EMAIL_TAKEN = "The account already has a contact with this email"


def _email_conflict() -> Conflict:
    return Conflict(_EMAIL_TAKEN, errors=[FieldError("email", "is already another contact's")])


async def _require_account(ctx: Ctx, account_id: uuid.UUID) -> None:
    """The account must be the organization's (404 naming `account_id`: another
    organization's is as unknown as a made-up id) and live (422), as for deals and
    activities."""
    live = await ctx.session.scalar(
        select(Account.deleted_at.is_(None)).where(Account.id == account_id)
    )
    if live is None:
        raise NotFound(
            "No such account", errors=[FieldError("account_id", "is not a live account")]
        )
    if not live:
        raise ValidationFailed(errors=[FieldError("account_id", "is a deleted account")])


async def _check_email(
    ctx: Ctx, account_id: uuid.UUID, email: str | None, except_id: uuid.UUID | None = None
) -> None:
    if email is None:
        return
    query = select(literal(True)).where(
        Contact.account_id == account_id, Contact.email == email, Contact.deleted_at.is_(None)
    )
    if except_id is not None:
        query = query.where(Contact.id != except_id)
    if await ctx.session.scalar(query):
        raise _email_conflict()


def _email_taken(exc: IntegrityError) -> bool:
    """Whether the unique index on live emails refused the write (a race the service's
    check could not see)."""
    cause = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(cause, "constraint_name", None) == "uq_contacts_email"


async def _flush(ctx: Ctx) -> None:
    try:
        await ctx.session.flush()
    except StaleDataError as exc:
        raise StaleVersion("The contact changed while you edited it") from exc
    except IntegrityError as exc:
        if _email_taken(exc):
            raise _email_conflict() from exc
        raise


async def _live(ctx: Ctx, contact_id: uuid.UUID) -> Contact:
    contact = await queries.live_contact(ctx.session, contact_id)
    if contact is None:
        raise NotFound("No such contact")
    return contact


async def get_contact(ctx: Ctx, contact_id: uuid.UUID) -> Contact:
    """Any member reads a live contact; deleted and foreign ids are 404."""
    ctx.require_principal()
    return await _live(ctx, contact_id)


async def list_contacts(
    ctx: Ctx, page: PageRequest, account_id: uuid.UUID | None, q: str | None = None
) -> list[tuple[Contact, int | None]]:
    """Any member lists live contacts, optionally of one account (a deleted or unknown
    account simply has none), in creation order or, with `q`, best matches first
    (`queries.list_contacts`)."""
    ctx.require_principal()
    return await queries.list_contacts(ctx.session, page, account_id, q)


async def create_contact(ctx: Ctx, data: ContactIn) -> Contact:
    """Writers add a person to a live account; the email must be new to that account."""
    principal = require_role(ctx, *WRITERS)
    await _require_account(ctx, data.account_id)
    await _check_email(ctx, data.account_id, data.email)
    contact = Contact(
        tenant_id=principal.tenant_id,
        account_id=data.account_id,
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        phone=data.phone,
        title=data.title,
    )
    ctx.session.add(contact)
    await _flush(ctx)
    return contact


async def update_contact(
    ctx: Ctx, contact_id: uuid.UUID, data: ContactPatch, expected_version: int | None
) -> Contact:
    """Writers edit a live contact at its current version (409 if stale, 422 if none).

    Only the fields sent change; the first name and the account cannot be cleared; a
    new account must be live, and the email must stay unique in the (new) account.
    """
    require_role(ctx, *WRITERS)
    contact = await _live(ctx, contact_id)
    check_version(contact.version, expected_version, "contact")
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    for required in ("first_name", "account_id"):
        if required in changes and changes[required] is None:
            raise ValidationFailed(errors=[FieldError(required, "cannot be removed")])
    account_id = changes.get("account_id", contact.account_id)
    if account_id != contact.account_id:
        await _require_account(ctx, account_id)
    email = changes.get("email", contact.email)
    if account_id != contact.account_id or email != contact.email:
        await _check_email(ctx, account_id, email, except_id=contact.id)
    for name, value in changes.items():
        setattr(contact, name, value)
    if changes:
        await _flush(ctx)
        await ctx.session.refresh(contact)
    return contact


async def delete_contact(ctx: Ctx, contact_id: uuid.UUID, expected_version: int | None) -> None:
    """Writers soft-delete one contact at its current version, under its own deletion id,
    and with it its live (active or paused) cadence enrolments (their status kept, as
    every record's delete keeps it) and the activities those still had planned: no
    cadence goes on asking for a deleted contact. Two statements, however many rows.

    Its deals and other activities keep pointing at it and show it as "deleted contact".
    """
    principal = require_role(ctx, *WRITERS)
    contact = await _live(ctx, contact_id)
    check_version(contact.version, expected_version, "contact")
    marks = {
        "deleted_at": func.now(),
        "deleted_by": principal.user_id,
        "deletion_id": uuid7(),
        "updated_at": func.now(),
    }
    deleted = await ctx.session.execute(
        update(CONTACTS)
        .where(
            CONTACTS.c.id == contact_id,
            CONTACTS.c.version == expected_version,
            CONTACTS.c.deleted_at.is_(None),
        )
        .values(version=CONTACTS.c.version + 1, **marks)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise StaleVersion("The contact changed while you deleted it")
    # A statement of its own, after the contact's lock: an enrolment of the contact
    # (which holds it FOR SHARE) that committed while this waited is seen, where the
    # snapshot of one statement deleting both would miss it.
    enrolled = (
        delete_live_enrollments(ENROLLMENTS.c.contact_id == contact_id, marks)
        .returning(ENROLLMENTS.c.tenant_id, ENROLLMENTS.c.id)
        .cte("enrolled")
    )
    await ctx.session.execute(
        delete_planned_activities(
            (ACTIVITIES.c.tenant_id == enrolled.c.tenant_id)
            & (ACTIVITIES.c.enrollment_id == enrolled.c.id),
            marks,
        )
    )
    ctx.session.expire(contact)


def restore_contacts(deletion_id: uuid.UUID) -> Update:
    """The UPDATE bringing back the contacts one deletion took (an account's live
    contacts, or one contact deleted on its own), bumping their versions; contacts
    deleted under any other id stay deleted. Their emails must be free among their
    accounts' live contacts: the unique index refuses a twin."""
    return restore_deleted(CONTACTS, deletion_id)


async def restore_contact(ctx: Ctx, contact_id: uuid.UUID, expected_version: int | None) -> Contact:
    """Writers bring back a contact deleted on its own, and exactly the rows its deletion
    took (same deletion id): its cadence enrolments, in the status they had, and the
    activities they had planned. Anything deleted under another id stays deleted.

    404 for an unknown contact or another organization's. 409 if the contact is not
    deleted, if its account is deleted (a contact deleted with its account comes back
    with the account's restore; one deleted before it, after that restore), if the
    version given (optional) is stale, or if its email now belongs to a live contact of
    the account (naming `email`; the unique index is the backstop for a race).

    Locks: the contact's account first (`accounts.restoring`), then the contact, its
    enrolments, their activities.
    """
    require_role(ctx, *WRITERS)
    account = await lock_account_of(
        ctx, select(Contact.account_id).where(Contact.id == contact_id).scalar_subquery()
    )
    if account is None:
        raise NotFound("No such contact")
    contact = await ctx.session.scalar(
        select(Contact)
        .where(Contact.id == contact_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if contact is None:
        raise NotFound("No such contact")
    deletion_id = contact.deletion_id
    if deletion_id is None:
        raise Conflict("The contact is not deleted")
    refuse_while_account_deleted("contact", account, deletion_id)
    check_sent_version(contact.version, expected_version, "contact")
    await _check_email(ctx, contact.account_id, contact.email, except_id=contact.id)
    try:
        await ctx.session.execute(restore_contacts(deletion_id))
    except IntegrityError as exc:
        # A live twin committed after the check above: the unique index says so.
        if _email_taken(exc):
            raise _email_conflict() from exc
        raise
    # Its enrolments, then their activities (the lock order, as in the delete).
    await ctx.session.execute(restore_enrollments(deletion_id))
    await ctx.session.execute(restore_activities(deletion_id))
    ctx.session.expire(contact)
    return await _live(ctx, contact_id)
