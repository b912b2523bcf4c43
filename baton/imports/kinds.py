"""What each kind of import writes: its table, the columns its fields fill, the
owner column, the dedupe keys, the references a row resolves (its account, its
step) and the workflow step a new row starts at.

The commit's statements are built here from these constants (never from input):
one multi-row `INSERT … SELECT FROM unnest(…)` per chunk of new rows, one
`UPDATE … FROM unnest(…)` per chunk of matched rows (a blank cell keeps the
record's value). The tables' own triggers still run per row: the workflow
history row, the audit row, the search document, the lead's view.

Dedupe keys (`KindWriter.keys`, the preferred first): a row whose key an earlier
row of the file had is a duplicate in the file; one a live record has is an
existing duplicate (`KindWriter.existing` finds them):
- targets, leads: their `dedupe_key` (email, else phone, else company name);
- accounts: the normalised domain when the row has one, else the name's key
  (the accounts' `name_key`);
- contacts: the account and the email (a row without email is always new);
- transactions: the account and the reference (the invoice number: the ledger's
  unique key; a row without one is always new);
- deals: the account and the deal's name (lower case), among live deals.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, TextClause, func, select, text

from baton.accounts import matching
from baton.accounts.models import Account, AccountTransaction
from baton.accounts.schemas import normalise_domain
from baton.contacts.models import Contact
from baton.core.context import Ctx
from baton.deals import ranks
from baton.deals import service as deal_service
from baton.deals.models import Deal
from baton.identity.queries import default_currency
from baton.imports.models import ImportKind
from baton.leads import service as lead_service
from baton.leads.models import Lead
from baton.targets import service as target_service
from baton.targets.models import Target
from baton.workflow import service as workflow_service
from baton.workflow.engine import CompiledWorkflow

# A row's values by its number in the file, and what a resolution found wrong with
# some of them: row → [(field, message)].
Rows = Sequence[tuple[int, dict[str, Any]]]
RowErrors = dict[int, list[tuple[str, str]]]

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
TRANSACTIONS: Table = AccountTransaction.__table__  # type: ignore[assignment]
CONTACTS: Table = Contact.__table__  # type: ignore[assignment]
DEALS: Table = Deal.__table__  # type: ignore[assignment]

# A ledger line may be dated at most this far ahead (the accounts service's rule).
LEDGER_DAYS_AHEAD = 1
# What an imported open deal's next step says when the file has none: the
# database requires one on every open deal.
IMPORTED_NEXT_STEP = "Review the imported deal"


async def _target_start(ctx: Ctx) -> tuple[uuid.UUID, uuid.UUID]:
    flow = await target_service.target_workflow(ctx)
    return flow.workflow_id, flow.initial_step.id


async def _lead_start(ctx: Ctx) -> tuple[uuid.UUID, uuid.UUID]:
    workflow_id, version = await lead_service.lead_workflow(ctx)
    flow = await workflow_service.require_compiled(ctx, workflow_id, version)
    return workflow_id, flow.initial_step.id


async def _deal_flow(ctx: Ctx) -> CompiledWorkflow:
    workflow_id, version = await deal_service.deal_workflow(ctx)
    return await workflow_service.require_compiled(ctx, workflow_id, version)


async def _deal_start(ctx: Ctx) -> tuple[uuid.UUID, uuid.UUID]:
    flow = await _deal_flow(ctx)
    return flow.workflow_id, flow.initial_step.id


# ---------------------------------------------------------------- dedupe keys


def _prospect_keys(dedupe: Callable[[str | None, str | None, str], str]) -> Any:
    def keys(values: dict[str, Any]) -> tuple[str, ...]:
        return (dedupe(values.get("email"), values.get("phone"), values["company_name"]),)

    return keys


def _name_key(name: str) -> str:
    # A name of punctuation alone has an empty key: compare it whole instead.
    return matching.company_key(name) or name.strip().lower()


def _account_keys(values: dict[str, Any]) -> tuple[str, ...]:
    domain = values.get("domain")
    return (f"domain:{domain}",) if domain else (f"name:{_name_key(values['name'])}",)


def _contact_keys(values: dict[str, Any]) -> tuple[str, ...]:
    email = values.get("email")
    return (f"{values['account_id']}:{email}",) if email else ()


def _transaction_keys(values: dict[str, Any]) -> tuple[str, ...]:
    reference = values.get("reference")
    return (f"{values['account_id']}:{reference}",) if reference else ()


def _deal_keys(values: dict[str, Any]) -> tuple[str, ...]:
    return (f"{values['account_id']}:{values['name'].strip().lower()}",)


# ---------------------------------------------------------------- existing records


async def _first_by(ctx: Ctx, query: Any, params: dict[str, Any]) -> dict[str, uuid.UUID]:
    """key → the oldest live record with it (the query answers key, id oldest first)."""
    found: dict[str, uuid.UUID] = {}
    for key, record_id in await ctx.session.execute(query, params):
        found.setdefault(key, record_id)
    return found


def _by_dedupe_column(table: Table) -> Callable[[Ctx, list[str]], Awaitable[dict[str, uuid.UUID]]]:
    async def existing(ctx: Ctx, keys: list[str]) -> dict[str, uuid.UUID]:
        query = (
            select(table.c.dedupe_key, table.c.id)
            .where(
                table.c.deleted_at.is_(None),
                table.c.dedupe_key == func.any(text("CAST(:keys AS text[])")),
            )
            .order_by(table.c.dedupe_key, table.c.created_at, table.c.id)
        )
        return await _first_by(ctx, query, {"keys": keys})

    return existing


async def _existing_accounts(ctx: Ctx, keys: list[str]) -> dict[str, uuid.UUID]:
    domains = [k.removeprefix("domain:") for k in keys if k.startswith("domain:")]
    names = [k.removeprefix("name:") for k in keys if k.startswith("name:")]
    query = text(
        "SELECT k.key, a.id FROM accounts a"
        " CROSS JOIN LATERAL (VALUES ('domain:' || a.domain), ('name:' || a.name_key)) AS k(key)"
        " WHERE a.deleted_at IS NULL"
        " AND (a.domain = ANY(CAST(:domains AS text[]))"
        " OR a.name_key = ANY(CAST(:names AS text[])))"
        " AND k.key IS NOT NULL ORDER BY a.created_at, a.id"
    )
    return await _first_by(ctx, query, {"domains": domains, "names": names})


def _by_account_and(column_sql: str, table: str, live: str) -> Any:
    """Keys "account id:value" found by (account, value) pairs, which the tables'
    (tenant, account, …) indexes serve."""

    async def existing(ctx: Ctx, keys: list[str]) -> dict[str, uuid.UUID]:
        pairs = [key.split(":", 1) for key in keys]
        query = text(
            f"SELECT t.account_id || ':' || {column_sql} AS key, t.id FROM {table} t"
            " JOIN unnest(CAST(:accounts AS uuid[]), CAST(:values AS text[])) AS k(account_id,"
            f" value) ON t.account_id = k.account_id AND {column_sql} = k.value"
            f" WHERE {live} ORDER BY t.created_at, t.id"
        )
        params = {
            "accounts": [uuid.UUID(account) for account, _ in pairs],
            "values": [value for _, value in pairs],
        }
        return await _first_by(ctx, query, params)

    return existing


# ---------------------------------------------------------------- references


def _domain_or_none(value: str | None) -> str | None:
    if not value or " " in value.strip() or "." not in value:
        return None
    try:
        return normalise_domain(value)
    except ValueError:
        return None


async def _resolve_accounts(ctx: Ctx, rows: Rows) -> RowErrors:
    """Each row's `account` (a name or a domain) or `account_domain` → `account_id`
    of a live account: by domain first, then by the name's key. An account the
    organization does not have is the row's error, naming it. (A row whose account
    cell failed to read has no account to look up: that cell's error says so.)"""
    wanted: list[tuple[int, dict[str, Any], str | None, str]] = []
    for number, values in rows:
        if "account" not in values:
            continue
        domain = values.get("account_domain") or _domain_or_none(values.get("account"))
        wanted.append((number, values, domain, _name_key(values["account"])))
    domains = sorted({d for _, _, d, _ in wanted if d})
    names = sorted({n for _, _, _, n in wanted})
    by_domain: dict[str, uuid.UUID] = {}
    by_name: dict[str, uuid.UUID] = {}
    if wanted:
        found = await ctx.session.execute(
            text(
                "SELECT id, domain, name_key FROM accounts WHERE deleted_at IS NULL"
                " AND (domain = ANY(CAST(:domains AS text[]))"
                " OR name_key = ANY(CAST(:names AS text[]))) ORDER BY created_at, id"
            ),
            {"domains": domains, "names": names},
        )
        for account_id, domain, name_key in found:
            if domain:
                by_domain.setdefault(domain, account_id)
            by_name.setdefault(name_key, account_id)
    errors: RowErrors = {}
    for number, values, domain, name_key in wanted:
        account_id = (by_domain.get(domain) if domain else None) or by_name.get(name_key)
        if account_id is None:
            label = values.get("account") or domain or ""
            errors[number] = [("account", f"'{label}' is not an account of the organization")]
        values["account_id"] = account_id
        values.pop("account", None)
        values.pop("account_domain", None)
    return errors


async def _resolve_account_rows(ctx: Ctx, rows: Rows) -> RowErrors:
    """An account row: its contact columns need a name; its tax id may be no other
    account's (the live accounts' unique index), nor another row's of the file."""
    errors: RowErrors = {}
    for number, values in rows:
        has_contact = any(
            values.get(name) for name in ("contact_name", "contact_email", "contact_phone")
        )
        if has_contact and not values.get("contact_name"):
            errors[number] = [("contact_name", "is required for the account's contact")]
        _split_name(values, "contact_name", "contact_last_name")
        values.setdefault("contact_last_name", None)
    tax_ids = sorted({values["tax_id"] for _, values in rows if values.get("tax_id")})
    holders: dict[str, set[str]] = {}
    if tax_ids:
        found = await ctx.session.execute(
            text(
                "SELECT tax_id, domain, name_key FROM accounts WHERE deleted_at IS NULL"
                " AND tax_id = ANY(CAST(:tax_ids AS text[]))"
            ),
            {"tax_ids": tax_ids},
        )
        for tax_id, domain, name_key in found:
            holders[tax_id] = {f"name:{name_key}", *((f"domain:{domain}",) if domain else ())}
    for number, values in rows:
        tax_id = values.get("tax_id")
        if not tax_id or "name" not in values:
            continue
        keys = set(_account_keys(values))
        holder = holders.get(tax_id)
        if holder is not None and not keys & holder:
            errors.setdefault(number, []).append(("tax_id", "is already another account's"))
        elif holder is None:
            # The first row with it holds it in the file.
            holders[tax_id] = keys
    return errors


async def _resolve_contacts(ctx: Ctx, rows: Rows) -> RowErrors:
    errors = await _resolve_accounts(ctx, rows)
    for _, values in rows:
        _split_name(values, "first_name", "last_name")
    return errors


def _split_name(values: dict[str, Any], first: str, last: str) -> None:
    """A whole name in the first-name column, with no last name: split at the last
    space ("Ada King Lovelace" → "Ada King", "Lovelace")."""
    whole = values.get(first)
    if whole and not values.get(last) and " " in whole.strip():
        given, _, family = whole.strip().rpartition(" ")
        values[first], values[last] = given.strip(), family.strip()


async def _resolve_transactions(ctx: Ctx, rows: Rows) -> RowErrors:
    errors = await _resolve_accounts(ctx, rows)
    currency = await default_currency(ctx.session)
    latest = datetime.now(UTC).date() + timedelta(days=LEDGER_DAYS_AHEAD)
    for number, values in rows:
        values["currency"] = values.get("currency") or currency
        if values.get("occurred_on") is not None and values["occurred_on"] > latest:
            errors.setdefault(number, []).append(
                ("occurred_on", f"is in the future: a ledger line is dated by {latest}")
            )
    return errors


async def _resolve_deals(ctx: Ctx, rows: Rows) -> RowErrors:
    """The account, the step (its key or name, any open step; blank: the first), the
    currency (blank: the organization's) and the next step (blank: a review today)."""
    errors = await _resolve_accounts(ctx, rows)
    flow = await _deal_flow(ctx)
    steps = {step.key.lower(): step for step in flow.steps.values()}
    steps.update({step.name.strip().lower(): step for step in flow.steps.values()})
    currency = await default_currency(ctx.session)
    today = datetime.now(UTC).date()
    for number, values in rows:
        wanted = values.pop("step", None)
        step = flow.initial_step if not wanted else steps.get(wanted.strip().lower())
        if step is None:
            errors.setdefault(number, []).append(
                ("step", f"'{wanted}' is not a step of the sales pipeline")
            )
        elif step.outcome is not None or step.is_final:
            errors.setdefault(number, []).append(
                ("step", f"'{step.name}' closes a deal: an import opens deals at an open step")
            )
        else:
            values["step_id"] = step.id
        values["currency"] = values.get("currency") or currency
        if not values.get("next_step"):
            values["next_step"] = IMPORTED_NEXT_STEP
        values["next_step_due_date"] = values.get("next_step_due_date") or today
    return errors


# ---------------------------------------------------------------- ranks


async def _deal_ranks(ctx: Ctx, values: list[dict[str, Any]], ids: list[uuid.UUID]) -> list[str]:
    """Each new deal at the end of its column, in file order."""
    workflow_id, _ = await _deal_start(ctx)
    last: dict[uuid.UUID, str | None] = {
        step_id: rank
        for step_id, rank in await ctx.session.execute(
            select(DEALS.c.step_id, func.max(DEALS.c.rank))
            .where(DEALS.c.workflow_id == workflow_id, DEALS.c.deleted_at.is_(None))
            .group_by(DEALS.c.step_id)
        )
    }
    result: list[str] = []
    for row, deal_id in zip(values, ids, strict=True):
        position = ranks.position_between(last.get(row["step_id"]), None)
        if position is None:  # pragma: no cover - a column of ~10⁹ appended cards
            raise RuntimeError("the column has no room left at its end")
        rank = ranks.rank_of(position, deal_id)
        last[row["step_id"]] = rank
        result.append(rank)
    return result


# ---------------------------------------------------------------- the writer


@dataclass(frozen=True)
class Companion:
    """A second table a row may also write: an account's first contact. `columns`:
    the companion's column → the row's value it takes."""

    table: Table
    columns: Mapping[str, str]
    # The companion's column naming the main row.
    parent_column: str
    # The value whose presence makes a companion row.
    when: str

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True)
class KindWriter:
    kind: ImportKind
    table: Table
    # Columns the row's values fill, in this order in the statements' arrays.
    columns: tuple[str, ...]
    owner_column: str | None
    keys: Callable[[dict[str, Any]], tuple[str, ...]]
    existing: Callable[[Ctx, list[str]], Awaitable[dict[str, uuid.UUID]]]
    # Whether two live records may share a dedupe key (`on_duplicate: create`).
    duplicates_allowed: bool
    # The workflow and initial step of a governed table's new rows.
    start: Callable[[Ctx], Awaitable[tuple[uuid.UUID, uuid.UUID]]] | None = None
    # A column the first dedupe key is stored in.
    dedupe_column: str | None = None
    # Looks up what rows refer to (an account, a step) in one read for all rows.
    resolve: Callable[[Ctx, Rows], Awaitable[RowErrors]] | None = None
    # SQL types of the columns that are not text.
    types: Mapping[str, str] = field(default_factory=dict)
    # Columns an update leaves as they are (the record's place: its account, step).
    kept_on_update: tuple[str, ...] = ()
    # False: the table has no soft delete (the ledger); undo deletes the rows.
    soft_deleted: bool = True
    # Board ranks for new rows (deals), computed at write time.
    ranked: bool = False
    companion: Companion | None = None
    # Values the statements carry that the table has no column for (the companion's).
    carried: tuple[str, ...] = ()
    # Why `on_duplicate: create` is refused, when it is.
    unique_because: str = ""
    # Which of the rows a batch created (`:ids`) others have since attached records to
    # (`:batch_id`: the batch's own do not count): undo refuses to take those away.
    attached: str | None = None

    @property
    def name(self) -> str:
        return self.table.name

    def _type(self, column: str) -> str:
        return self.types.get(column, "text")

    def _written(self) -> tuple[str, ...]:
        return (*self.columns, "rank") if self.ranked else self.columns

    @property
    def arrays(self) -> tuple[str, ...]:
        """The row values the statements take as arrays, in this order."""
        return (*self._written(), *self.carried)

    def _unnest(self) -> str:
        columns = self.arrays
        arrays = ", ".join(f"CAST(:{c} AS {self._type(c)}[])" for c in columns)
        names = ", ".join(columns)
        return (
            f"unnest(CAST(:ids AS uuid[]), {arrays}, CAST(:owner_ids AS uuid[]),"
            f" CAST(:dedupe_keys AS text[])) AS r(id, {names}, owner_id, dedupe_key)"
        )

    def insert(self) -> TextClause:
        columns = self._written()
        names = ["tenant_id", "id", *columns]
        values = ["CAST(:tenant_id AS uuid)", "r.id", *(f"r.{c}" for c in columns)]
        if self.owner_column:
            names.append(self.owner_column)
            values.append("r.owner_id")
        if self.dedupe_column:
            names.append(self.dedupe_column)
            values.append("r.dedupe_key")
        if self.start is not None:
            names += ["workflow_id", "entered_step_at"]
            values += ["CAST(:workflow_id AS uuid)", "now()"]
            if "step_id" not in columns:
                names.append("step_id")
                values.append("CAST(:initial_step_id AS uuid)")
        names.append("import_batch_id")
        values.append("CAST(:batch_id AS uuid)")
        return text(
            f"INSERT INTO {self.name} ({', '.join(names)}) SELECT {', '.join(values)}"
            f" FROM {self._unnest()}"
        )

    def update(self) -> TextClause:
        changed = [c for c in self.columns if c not in self.kept_on_update]
        sets = [f"{c} = coalesce(r.{c}, t.{c})" for c in changed]
        if self.owner_column:
            sets.append(f"{self.owner_column} = coalesce(r.owner_id, t.{self.owner_column})")
        if self.dedupe_column:
            sets.append(f"{self.dedupe_column} = r.dedupe_key")
        live = " AND t.deleted_at IS NULL" if self.soft_deleted else ""
        return text(
            f"UPDATE {self.name} t SET {', '.join(sets)},"
            " import_batch_id = CAST(:batch_id AS uuid),"
            " version = t.version + 1, updated_at = now()"
            f" FROM {self._unnest()} WHERE t.id = r.id{live}"
        )

    def companion_insert(self) -> TextClause | None:
        """The companion rows of the chunk's new rows that have its value."""
        companion = self.companion
        if companion is None:
            return None
        names = ", ".join(companion.columns)
        values = ", ".join(f"r.{source}" for source in companion.columns.values())
        return text(
            f"INSERT INTO {companion.name} (tenant_id, id, {companion.parent_column}, {names},"
            " import_batch_id)"
            f" SELECT CAST(:tenant_id AS uuid), baton_uuid7(), r.id, {values},"
            f" CAST(:batch_id AS uuid) FROM {self._unnest()}"
            f" WHERE r.{companion.when} IS NOT NULL"
        )

    async def ranks(self, ctx: Ctx, values: list[dict[str, Any]], ids: list[uuid.UUID]) -> Any:
        return await _deal_ranks(ctx, values, ids)

    @property
    def restored(self) -> tuple[str, ...]:
        """What undo puts back from an updated row's before-image."""
        owner = (self.owner_column,) if self.owner_column else ()
        dedupe = (self.dedupe_column,) if self.dedupe_column else ()
        changed = tuple(c for c in self.columns if c not in self.kept_on_update)
        return (*changed, *owner, *dedupe, "import_batch_id")

    @property
    def tables(self) -> tuple[Table, ...]:
        """Every table the kind writes: undo looks in each."""
        return (self.table, self.companion.table) if self.companion else (self.table,)


_ACCOUNT_CONTACT = Companion(
    table=CONTACTS,
    columns={
        "first_name": "contact_name",
        "last_name": "contact_last_name",
        "email": "contact_email",
        "phone": "contact_phone",
    },
    parent_column="account_id",
    when="contact_name",
)

_ACCOUNT_COLUMNS = ("name", "domain", "tax_id", "industry", "address")

WRITERS: dict[ImportKind, KindWriter] = {
    ImportKind.TARGETS: KindWriter(
        kind=ImportKind.TARGETS,
        table=Target.__table__,  # type: ignore[arg-type]
        columns=("company_name", "contact_name", "email", "phone", "notes"),
        owner_column="owner_id",
        keys=_prospect_keys(target_service.dedupe_key),
        existing=_by_dedupe_column(Target.__table__),  # type: ignore[arg-type]
        dedupe_column="dedupe_key",
        start=_target_start,
        duplicates_allowed=False,
        unique_because="targets are unique by email, phone or company: skip or update",
    ),
    ImportKind.LEADS: KindWriter(
        kind=ImportKind.LEADS,
        table=Lead.__table__,  # type: ignore[arg-type]
        columns=("company_name", "contact_name", "email", "phone", "source", "need", "notes"),
        owner_column="marketing_owner_id",
        keys=_prospect_keys(lead_service.dedupe_key),
        existing=_by_dedupe_column(Lead.__table__),  # type: ignore[arg-type]
        dedupe_column="dedupe_key",
        start=_lead_start,
        duplicates_allowed=True,
    ),
    ImportKind.ACCOUNTS: KindWriter(
        kind=ImportKind.ACCOUNTS,
        table=ACCOUNTS,
        columns=_ACCOUNT_COLUMNS,
        owner_column="owner_id",
        keys=_account_keys,
        existing=_existing_accounts,
        resolve=_resolve_account_rows,
        duplicates_allowed=False,
        companion=_ACCOUNT_CONTACT,
        carried=("contact_name", "contact_last_name", "contact_email", "contact_phone"),
        attached=(
            "SELECT a.id FROM unnest(CAST(:ids AS uuid[])) AS a(id) WHERE EXISTS ("
            " SELECT 1 FROM contacts c WHERE c.account_id = a.id AND c.deleted_at IS NULL"
            " AND c.import_batch_id IS DISTINCT FROM CAST(:batch_id AS uuid))"
            " OR EXISTS (SELECT 1 FROM deals d WHERE d.account_id = a.id"
            " AND d.deleted_at IS NULL)"
            " OR EXISTS (SELECT 1 FROM account_transactions t WHERE t.account_id = a.id)"
            " ORDER BY a.id"
        ),
        unique_because="accounts are unique by domain: skip or update",
    ),
    ImportKind.CONTACTS: KindWriter(
        kind=ImportKind.CONTACTS,
        table=CONTACTS,
        columns=("account_id", "first_name", "last_name", "email", "phone", "title"),
        owner_column=None,
        keys=_contact_keys,
        existing=_by_account_and("t.email", "contacts", "t.deleted_at IS NULL"),
        resolve=_resolve_contacts,
        types={"account_id": "uuid"},
        kept_on_update=("account_id",),
        duplicates_allowed=False,
        unique_because="an account's contacts are unique by email: skip or update",
    ),
    ImportKind.TRANSACTIONS: KindWriter(
        kind=ImportKind.TRANSACTIONS,
        table=TRANSACTIONS,
        columns=("account_id", "occurred_on", "amount", "currency", "reference"),
        owner_column=None,
        keys=_transaction_keys,
        existing=_by_account_and("t.reference", "account_transactions", "true"),
        resolve=_resolve_transactions,
        types={"account_id": "uuid", "occurred_on": "date", "amount": "numeric"},
        kept_on_update=("account_id", "reference"),
        soft_deleted=False,
        duplicates_allowed=False,
        unique_because="an account's ledger lines are unique by reference: skip or update",
    ),
    ImportKind.DEALS: KindWriter(
        kind=ImportKind.DEALS,
        table=DEALS,
        columns=(
            "name",
            "account_id",
            "step_id",
            "amount",
            "currency",
            "expected_close_date",
            "next_step",
            "next_step_due_date",
            "source",
            "notes",
        ),
        owner_column="owner_id",
        keys=_deal_keys,
        existing=_by_account_and(
            "lower(btrim(t.name))", "deals", "t.deleted_at IS NULL AND t.outcome IS NULL"
        ),
        resolve=_resolve_deals,
        start=_deal_start,
        types={
            "account_id": "uuid",
            "step_id": "uuid",
            "amount": "numeric",
            "expected_close_date": "date",
            "next_step_due_date": "date",
        },
        kept_on_update=("account_id", "step_id"),
        ranked=True,
        duplicates_allowed=True,
    ),
}
