"""A hand-over's person among the account's contacts: found, or added.

Claims, assignments and conversions (of leads and of targets) carry a person — a name,
an email, a phone — onto the account they land on, and the deal they open names that
person as its contact. The rule, one set of CTEs wherever it runs (inside the claim's
account statement, or alone for a target's conversion):

1. the account's live contact with the same email (emails are stored lower-cased);
2. else the one with the same phone digits, when one of the two has no email (two
   different emails are two people) — it gains the email or phone it lacked;
3. else, for a person with neither email nor phone, the one with the same name;
4. else a new contact.

Callers hold the account's advisory locks (`accounts.matching.account_locks`), so two
hand-overs of one person cannot both add them. The migration `5b8e2d41c9a7` applied
the same rule to the leads claimed before it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Select,
    String,
    Table,
    Uuid,
    bindparam,
    exists,
    false,
    func,
    insert,
    select,
    update,
)

from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.core.ids import uuid7

CONTACTS: Table = Contact.__table__  # type: ignore[assignment]

_NON_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class Person:
    """Who a lead or target names: the contact they become."""

    first_name: str
    last_name: str | None
    email: str | None
    phone: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass(frozen=True)
class MatchedContact:
    id: uuid.UUID
    full_name: str


def person_of(
    name: str | None, email: str | None, phone: str | None, company: str
) -> Person | None:
    """The person a record names: the name split at its first space, else the email's
    local part, else a stand-in naming the company; None when it names no one."""
    if not (name or email or phone):
        return None
    if name and name.strip():
        first, _, last = name.strip().partition(" ")
        return Person(first[:100], last.strip()[:100] or None, email, phone)
    if email:
        return Person(email.split("@", 1)[0][:100], None, email, phone)
    return Person(f"Contact at {company.strip()}"[:100].strip(), None, None, phone)


def phone_digits(phone: str | None) -> str | None:
    """What two spellings of one number share: its digits (None without any)."""
    return _NON_DIGITS.sub("", phone) or None if phone else None


def _digits_of(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.nullif(func.regexp_replace(column, r"\D", "", "g"), "")


def person_params(person: Person | None) -> dict[str, Any]:
    """The bound values of `contact_ctes` (named apart from every column)."""
    return {
        "person_wanted": person is not None,
        "person_new": uuid7(),
        "person_first": person.first_name if person else None,
        "person_last": person.last_name if person else None,
        "person_email": person.email if person else None,
        "person_phone": person.phone if person else None,
        "person_digits": phone_digits(person.phone) if person else None,
    }


def contact_ctes(account_id: ColumnElement[Any]) -> tuple[CTE, CTE]:
    """The person's contact on `account_id` (module docstring): a CTE `person` with
    `id`, `first_name`, `last_name` — one row, none when the record names no one — and
    the CTE that fills what a contact found by phone lacked, which the statement must
    carry (`add_cte`). Parameters: `tenant` and `person_params`."""
    email = bindparam("person_email", type_=String)
    phone = bindparam("person_phone", type_=String)
    digits = bindparam("person_digits", type_=String)
    first = bindparam("person_first", type_=String)
    last = bindparam("person_last", type_=String)
    by_email = func.coalesce(CONTACTS.c.email == email, false())
    by_phone = func.coalesce(
        (_digits_of(CONTACTS.c.phone) == digits) & (CONTACTS.c.email.is_(None) | email.is_(None)),
        false(),
    )
    by_name = (
        email.is_(None)
        & digits.is_(None)
        & (func.lower(CONTACTS.c.first_name) == func.lower(first))
        & (
            func.coalesce(func.lower(CONTACTS.c.last_name), "")
            == func.lower(func.coalesce(last, ""))
        )
    )
    matched = (
        select(CONTACTS.c.id, CONTACTS.c.first_name, CONTACTS.c.last_name)
        .where(
            bindparam("person_wanted", type_=Boolean),
            CONTACTS.c.account_id == account_id,
            CONTACTS.c.deleted_at.is_(None),
            by_email | by_phone | by_name,
        )
        .order_by(by_email.desc(), by_phone.desc(), CONTACTS.c.created_at, CONTACTS.c.id)
        .limit(1)
        .cte("person_matched")
    )
    filled = (
        update(CONTACTS)
        .where(
            CONTACTS.c.id == select(matched.c.id).scalar_subquery(),
            (CONTACTS.c.email.is_(None) & email.is_not(None))
            | (CONTACTS.c.phone.is_(None) & phone.is_not(None)),
        )
        .values(
            email=func.coalesce(CONTACTS.c.email, email),
            phone=func.coalesce(CONTACTS.c.phone, phone),
            version=CONTACTS.c.version + 1,
            updated_at=func.now(),
        )
        .returning(CONTACTS.c.id)
        .cte("person_filled")
    )
    added = (
        insert(CONTACTS)
        .from_select(
            ["tenant_id", "id", "account_id", "first_name", "last_name", "email", "phone"],
            select(
                bindparam("tenant", type_=Uuid),
                bindparam("person_new", type_=Uuid),
                account_id,
                first,
                last,
                email,
                phone,
            ).where(bindparam("person_wanted", type_=Boolean), ~exists(select(matched.c.id))),
        )
        .returning(CONTACTS.c.id, CONTACTS.c.first_name, CONTACTS.c.last_name)
        .cte("person_added")
    )
    person = select(matched).union_all(select(added)).cte("person")
    return person, filled


_account = bindparam("person_account", type_=Uuid)
_person, _filled = contact_ctes(_account)
_FIND_OR_ADD: Select[Any] = select(_person.c.id, _person.c.first_name, _person.c.last_name).add_cte(
    _filled
)


async def find_or_add_contact(
    ctx: Ctx, account_id: uuid.UUID, person: Person | None
) -> MatchedContact | None:
    """The account's contact for `person` (the module's rule), added when there is none;
    None for no person. One statement; the caller holds the account's locks."""
    if person is None:
        return None
    principal = ctx.require_principal()
    connection = await ctx.session.connection()
    row = (
        await connection.execute(
            _FIND_OR_ADD,
            {"tenant": principal.tenant_id, "person_account": account_id, **person_params(person)},
        )
    ).one()
    name = f"{row.first_name} {row.last_name}" if row.last_name else row.first_name
    return MatchedContact(row.id, name)
