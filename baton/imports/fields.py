"""The fields each kind of import fills, the headers that suggest them, and a row's
validation into those fields.

A header suggests a field when, lower-cased with everything but letters and digits
removed, it is the field's name or one of its synonyms: the column names of
spreadsheets and of other CRMs' exports (Pipedrive, HubSpot, Salesforce: "Company
Name", "Organization", "Account Name", "E-mail", "Email Address", "Mobile" …).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from baton.accounts.schemas import Address, Domain, Industry, Reference, TaxId
from baton.accounts.schemas import Amount as LedgerAmount
from baton.accounts.schemas import Currency as CurrencyCode
from baton.contacts.schemas import Phone, Title
from baton.core.schemas import Day, Email, Name
from baton.deals.schemas import Amount as DealAmount
from baton.deals.schemas import NextStep
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
    # What the cell's text becomes before the adapter reads it (amounts, dates).
    clean: Callable[[str], str] | None = None


_NAME: TypeAdapter[Any] = TypeAdapter(Name)
_EMAIL: TypeAdapter[Any] = TypeAdapter(Email)
_PHONE: TypeAdapter[Any] = TypeAdapter(Phone)
_NOTES: TypeAdapter[Any] = TypeAdapter(Notes)
_SHORT: TypeAdapter[Any] = TypeAdapter(Source)
_NEED_TEXT: TypeAdapter[Any] = TypeAdapter(Need)
_DOMAIN: TypeAdapter[Any] = TypeAdapter(Domain)
_TAX_ID: TypeAdapter[Any] = TypeAdapter(TaxId)
_ADDRESS: TypeAdapter[Any] = TypeAdapter(Address)
_INDUSTRY: TypeAdapter[Any] = TypeAdapter(Industry)
_TITLE: TypeAdapter[Any] = TypeAdapter(Title)
_DAY: TypeAdapter[Any] = TypeAdapter(Day)
_LEDGER_AMOUNT: TypeAdapter[Any] = TypeAdapter(LedgerAmount)
_DEAL_AMOUNT: TypeAdapter[Any] = TypeAdapter(DealAmount)
_CURRENCY: TypeAdapter[Any] = TypeAdapter(CurrencyCode)
_REFERENCE: TypeAdapter[Any] = TypeAdapter(Reference)
_NEXT_STEP: TypeAdapter[Any] = TypeAdapter(NextStep)

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
    "companyowner",
    "organizationowner",
    "opportunityowner",
    "personowner",
    "recordowner",
    "user",
)

_SOURCE = ("source", "leadsource", "channel", "origin", "campaign", "utmsource")
_NEED = ("need", "needs", "interest", "requirement", "requirements", "request", "inquiry")

_ACCOUNT = (
    *_COMPANY,
    "associatedcompany",
    "personorganization",
    "dealorganization",
    "customer",
    "customername",
)
_DOMAIN_NAMES = (
    "domain",
    "website",
    "web",
    "url",
    "companydomain",
    "companydomainname",
    "websiteurl",
    "homepage",
    "organizationwebsite",
)
_ACCOUNT_DOMAIN = (
    "accountdomain",
    "companydomain",
    "companydomainname",
    "associatedcompanydomain",
    "organizationdomain",
    "accountwebsite",
    "companywebsite",
)
_TAX_ID_NAMES = (
    "taxid",
    "vatid",
    "vatnumber",
    "vat",
    "taxnumber",
    "ein",
    "ustid",
    "companyregistration",
)
_ADDRESS_NAMES = (
    "address",
    "billingaddress",
    "streetaddress",
    "mailingaddress",
    "organizationaddress",
    "fulladdress",
)
_INDUSTRY_NAMES = ("industry", "sector", "vertical", "businesstype")
_FIRST_NAME = (
    "firstname",
    "givenname",
    "forename",
    "name",
    "fullname",
    "contact",
    "contactname",
    "person",
    "personname",
)
_LAST_NAME = ("lastname", "surname", "familyname")
_TITLE_NAMES = ("title", "jobtitle", "position", "role", "persontitle")
_CONTACT_FIRST = (
    "contact",
    "contactname",
    "contactperson",
    "primarycontact",
    "person",
    "personname",
)
_CONTACT_EMAIL = ("contactemail", "personemail", "email", "emailaddress", "primaryemail")
_CONTACT_PHONE = ("contactphone", "personphone", "phone", "phonenumber", "mobile", "telephone")
_DATE_NAMES = (
    "date",
    "invoicedate",
    "transactiondate",
    "orderdate",
    "issuedate",
    "issuedon",
    "occurredon",
    "paiddate",
    "closedate",
)
_AMOUNT_NAMES = (
    "amount",
    "total",
    "totalamount",
    "invoicetotal",
    "invoiceamount",
    "value",
    "net",
    "netamount",
    "grandtotal",
    "dealvalue",
    "dealamount",
    "opportunityamount",
    "annualcontractvalue",
)
_CURRENCY_NAMES = ("currency", "currencycode", "dealcurrency", "isocurrencycode", "valuecurrency")
_REFERENCE_NAMES = (
    "reference",
    "invoicenumber",
    "invoiceno",
    "invoice",
    "invoiceid",
    "ordernumber",
    "orderid",
    "number",
    "documentnumber",
    "ref",
)
_DEAL_NAME = ("dealname", "title", "dealtitle", "opportunityname", "opportunity", "name", "deal")
_STEP_NAMES = ("step", "stage", "dealstage", "pipelinestage", "stagename", "status")
_CLOSE_NAMES = (
    "expectedclosedate",
    "dealexpectedclosedate",
    "expectedclose",
    "closedate",
    "expectedclosingdate",
    "targetclosedate",
)
_NEXT_STEP_NAMES = ("nextstep", "nextaction", "nextactivity")
_NEXT_DUE_NAMES = ("nextstepdue", "nextstepduedate", "nextactivitydate", "nextactiondate")

OWNER_FIELD = "owner"


def plain_amount(value: str) -> str:
    """An amount as exports write it, as a decimal: currency signs and spaces dropped,
    thousands commas dropped ("$1,234.50" → "1234.50")."""
    compact = re.sub(r"[\s$€£¥]", "", value)
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", compact):
        compact = compact.replace(",", "")
    return compact


def plain_date(value: str) -> str:
    """A date, or the date of a date-time ("2026-03-01 10:00:00" → "2026-03-01")."""
    if len(value) > 10 and value[10] in "T " and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value[:10]):
        return value[:10]
    return value


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
    ImportKind.ACCOUNTS: (
        FieldSpec("name", "Account name", True, _COMPANY, _NAME),
        FieldSpec("domain", "Domain", False, _DOMAIN_NAMES, _DOMAIN),
        FieldSpec("tax_id", "Tax id", False, _TAX_ID_NAMES, _TAX_ID),
        FieldSpec("industry", "Industry", False, _INDUSTRY_NAMES, _INDUSTRY),
        FieldSpec("address", "Address", False, _ADDRESS_NAMES, _ADDRESS),
        FieldSpec("contact_name", "Contact name", False, _CONTACT_FIRST, _NAME),
        FieldSpec("contact_email", "Contact email", False, _CONTACT_EMAIL, _EMAIL),
        FieldSpec("contact_phone", "Contact phone", False, _CONTACT_PHONE, _PHONE),
        FieldSpec(OWNER_FIELD, "Owner (member email)", False, _OWNER, _EMAIL),
    ),
    ImportKind.CONTACTS: (
        FieldSpec("account", "Account (name or domain)", True, _ACCOUNT, _NAME),
        FieldSpec("account_domain", "Account domain", False, _ACCOUNT_DOMAIN, _DOMAIN),
        FieldSpec("first_name", "First name (or whole name)", True, _FIRST_NAME, _NAME),
        FieldSpec("last_name", "Last name", False, _LAST_NAME, _NAME),
        FieldSpec("email", "Email", False, _EMAIL_NAMES, _EMAIL),
        FieldSpec("phone", "Phone", False, _PHONE_NAMES, _PHONE),
        FieldSpec("title", "Job title", False, _TITLE_NAMES, _TITLE),
    ),
    ImportKind.TRANSACTIONS: (
        FieldSpec("account", "Account (name or domain)", True, _ACCOUNT, _NAME),
        FieldSpec("account_domain", "Account domain", False, _ACCOUNT_DOMAIN, _DOMAIN),
        FieldSpec("occurred_on", "Date", True, _DATE_NAMES, _DAY, plain_date),
        FieldSpec("amount", "Amount", True, _AMOUNT_NAMES, _LEDGER_AMOUNT, plain_amount),
        FieldSpec("currency", "Currency", False, _CURRENCY_NAMES, _CURRENCY),
        FieldSpec("reference", "Invoice number", False, _REFERENCE_NAMES, _REFERENCE),
    ),
    ImportKind.DEALS: (
        FieldSpec("name", "Deal name", True, _DEAL_NAME, _NAME),
        FieldSpec("account", "Account (name or domain)", True, _ACCOUNT, _NAME),
        FieldSpec("account_domain", "Account domain", False, _ACCOUNT_DOMAIN, _DOMAIN),
        FieldSpec("step", "Stage (step key or name)", False, _STEP_NAMES, _NAME),
        FieldSpec("amount", "Amount", False, _AMOUNT_NAMES, _DEAL_AMOUNT, plain_amount),
        FieldSpec("currency", "Currency", False, _CURRENCY_NAMES, _CURRENCY),
        FieldSpec("expected_close_date", "Expected close", False, _CLOSE_NAMES, _DAY, plain_date),
        FieldSpec("next_step", "Next step", False, _NEXT_STEP_NAMES, _NEXT_STEP),
        FieldSpec("next_step_due_date", "Next step due", False, _NEXT_DUE_NAMES, _DAY, plain_date),
        FieldSpec("source", "Source", False, _SOURCE, _SHORT),
        FieldSpec("notes", "Notes", False, _NOTES_NAMES, _NOTES),
        FieldSpec(OWNER_FIELD, "Owner (member email)", False, _OWNER, _EMAIL),
    ),
}

# The kinds this build imports.
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
    kind = str(first.get("type", ""))
    if kind.startswith("date_") or kind == "date_type":
        return "is not a date (YYYY-MM-DD)"
    if kind in ("decimal_parsing", "decimal_type"):
        return "is not an amount (digits and a decimal point)"
    if kind == "decimal_max_places":
        return "has more than two decimal places"
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
    if spec.clean is not None:
        value = spec.clean(value)
    if spec.adapter is None:
        return value, None
    if spec.adapter is _EMAIL:
        fast = _fast_email(value)
        if fast is not None:
            return fast, None
    elif _plainly_valid(spec.adapter, value):
        return value, None
    return _validated(spec.adapter, value)


# A file repeats its values (the same account domain, currency, date or status on
# many rows): each distinct value of a field is validated once. The adapters are
# pure and answer immutable values (text, dates, decimals), so an answer is shared.
# The pydantic path costs 5 to 25 µs a cell (an account domain 18, an amount 25):
# most of a ledger file's preview before this cache.
@lru_cache(maxsize=16_384)
def _validated(adapter: TypeAdapter[Any], value: str) -> tuple[Any, str | None]:
    try:
        return adapter.validate_python(value), None
    except ValidationError as error:
        return None, _message(error)
