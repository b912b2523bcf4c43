"""The fields each kind of import fills, the headers that suggest them, and a row's
validation into those fields.

A header suggests a field when, lower-cased with everything but letters and digits
removed, it is the field's name or one of its synonyms: the column names of
spreadsheets and of other CRMs' exports (Pipedrive, HubSpot, Salesforce: "Company
Name", "Organization", "Account Name", "E-mail", "Email Address", "Mobile" …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from baton.contacts.schemas import Phone
from baton.core.schemas import Email, Name
from baton.imports.models import ImportKind
from baton.leads.schemas import Need, Source
from baton.targets.schemas import Notes


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    required: bool
    synonyms: tuple[str, ...]
    adapter: TypeAdapter[Any] | None = None


_NAME: TypeAdapter[Any] = TypeAdapter(Name)
_EMAIL: TypeAdapter[Any] = TypeAdapter(Email)
_PHONE: TypeAdapter[Any] = TypeAdapter(Phone)
_NOTES: TypeAdapter[Any] = TypeAdapter(Notes)
_SHORT: TypeAdapter[Any] = TypeAdapter(Source)
_NEED_TEXT: TypeAdapter[Any] = TypeAdapter(Need)

_COMPANY = (
    "company",
    "companyname",
    "organization",
    "organisation",
    "organizationname",
    "organisationname",
    "accountname",
    "account",
    "business",
    "businessname",
    "firm",
    "firma",
    "employer",
)
_CONTACT = (
    "contact",
    "contactname",
    "contactperson",
    "name",
    "fullname",
    "person",
    "personname",
    "leadname",
)
_EMAIL_NAMES = (
    "email",
    "emailaddress",
    "mail",
    "workemail",
    "primaryemail",
    "businessemail",
    "personemail",
    "contactemail",
)
_PHONE_NAMES = (
    "phone",
    "phonenumber",
    "telephone",
    "tel",
    "mobile",
    "mobilephone",
    "mobilenumber",
    "workphone",
    "businessphone",
    "personphone",
    "contactphone",
)
_NOTES_NAMES = ("notes", "note", "description", "comments", "comment", "remarks")
_OWNER = (
    "owner",
    "owneremail",
    "assignedto",
    "salesrep",
    "accountowner",
    "leadowner",
    "contactowner",
    "dealowner",
    "user",
)

_SOURCE = ("source", "leadsource", "channel", "origin", "campaign", "utmsource")
_NEED = ("need", "needs", "interest", "requirement", "requirements", "request", "inquiry")

OWNER_FIELD = "owner"

FIELDS: dict[ImportKind, tuple[FieldSpec, ...]] = {
    ImportKind.TARGETS: (
        FieldSpec("company_name", "Company", True, _COMPANY, _NAME),
        FieldSpec("contact_name", "Contact name", False, _CONTACT, _NAME),
        FieldSpec("email", "Email", False, _EMAIL_NAMES, _EMAIL),
        FieldSpec("phone", "Phone", False, _PHONE_NAMES, _PHONE),
        FieldSpec("notes", "Notes", False, _NOTES_NAMES, _NOTES),
        FieldSpec(OWNER_FIELD, "Owner (member email)", False, _OWNER, _EMAIL),
    ),
    ImportKind.LEADS: (
        FieldSpec("company_name", "Company", True, _COMPANY, _NAME),
        FieldSpec("contact_name", "Contact name", False, _CONTACT, _NAME),
        FieldSpec("email", "Email", False, _EMAIL_NAMES, _EMAIL),
        FieldSpec("phone", "Phone", False, _PHONE_NAMES, _PHONE),
        FieldSpec("source", "Source", False, _SOURCE, _SHORT),
        FieldSpec("need", "Need", False, _NEED, _NEED_TEXT),
        FieldSpec("notes", "Notes", False, _NOTES_NAMES, _NOTES),
        FieldSpec(OWNER_FIELD, "Owner (member email)", False, _OWNER, _EMAIL),
    ),
}

# The kinds this build imports (the others are declared for the schema only).
SUPPORTED = tuple(FIELDS)


def fields_of(kind: ImportKind) -> tuple[FieldSpec, ...]:
    return FIELDS[kind]


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def suggest_mapping(kind: ImportKind, headers: list[str]) -> dict[str, str | None]:
    """header → field, each field at most once (the first header that names it)."""
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    specs = fields_of(kind)
    for header in headers:
        key = header_key(header)
        chosen = None
        for spec in specs:
            if spec.name in taken:
                continue
            if key == header_key(spec.name) or key in spec.synonyms:
                chosen = spec.name
                break
        if chosen is not None:
            taken.add(chosen)
        mapping[header] = chosen
    return mapping


def _message(error: ValidationError) -> str:
    first = error.errors()[0]
    message = str(first.get("msg", "is not valid"))
    if first.get("type") == "string_too_long":
        return "is too long"
    if first.get("type") == "string_pattern_mismatch":
        return "is not a phone number (digits, spaces and + ( ) . / - only)"
    if message.startswith("value is not a valid email address"):
        return "is not a valid email address"
    return message.removeprefix("Value error, ")


# An ASCII dot-atom local part: the common case, read without the full validator.
_LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    """Whether the email validator accepts this domain (once per domain: a file has
    few, and the validator costs ~0.3 ms an address, most of it on the domain)."""
    try:
        _EMAIL.validate_python(f"a@{domain}")
    except ValidationError:
        return False
    return True


def _fast_email(value: str) -> str | None:
    """The address lower-cased when it has the common shape and a domain the validator
    accepts; None to leave the decision to the validator itself."""
    local, at, domain = value.rpartition("@")
    if not at or len(value) > 254 or len(local) > 64 or not _LOCAL_PART.match(local):
        return None
    if not domain.isascii() or not _domain_ok(domain.lower()):
        return None
    return value.lower()


_PHONE_SHAPE = re.compile(r"^[0-9+()./\- ]+(?:x\d+)?$")


def _plainly_valid(adapter: TypeAdapter[Any], value: str) -> bool:
    """The common case of the string types, checked without pydantic (cells arrive
    stripped): a value this answers False for goes to the adapter for its message."""
    if value != value.strip():
        return False
    if adapter is _NAME:
        return 1 <= len(value) <= 200
    if adapter is _NOTES:
        return len(value) <= 10_000
    if adapter is _SHORT:
        return 1 <= len(value) <= 100
    if adapter is _NEED_TEXT:
        return 1 <= len(value) <= 2000
    if adapter is _PHONE:
        return 3 <= len(value) <= 40 and _PHONE_SHAPE.match(value) is not None
    return False


def validate_cell(spec: FieldSpec, value: str) -> tuple[Any, str | None]:
    """The field's value from a cell's text (None when blank), or an error message."""
    if not value:
        return None, ("is required" if spec.required else None)
    if spec.adapter is None:
        return value, None
    if spec.adapter is _EMAIL:
        fast = _fast_email(value)
        if fast is not None:
            return fast, None
    elif _plainly_valid(spec.adapter, value):
        return value, None
    try:
        return spec.adapter.validate_python(value), None
    except ValidationError as error:
        return None, _message(error)
