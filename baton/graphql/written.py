"""Deal nodes written by PostgreSQL: a page's cards as JSON for the selection asked.

A board asks 200 deals with a dozen fields each, their step, account and owner:
completing those ~3 600 fields one by one in Python took twice as long as REST's
whole board, which splices the JSON PostgreSQL wrote (`GET /api/v1/pipeline`). When
every field a `deals` node selects is one the list's statement can write — the
deal's own columns, its step, its account's id and name, its owner's id and name
(the statement joins them all) — the statement writes each node's JSON, keyed by
the response names in the selection's order, and the executor splices it in
(`executor.Written`), `__typename` too. Any other selection (a contact, an
account's status, a field with arguments, a fragment deferred) goes the usual way.

The values are written as the GraphQL scalars serialize them: ids as text, dates
as ISO dates, timestamps as `isoformat` writes them, a `Decimal` as its text, a
`Float` as Python writes one; `tests/graphql` compares written nodes with nodes
completed the usual way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, cast, func, literal_column

from baton.deals.queries import (
    ACCOUNTS,
    DEALS,
    STATUSES,
    STEPS,
    USERS,
    Json,
    float_json,
    iso_datetime_json,
    json_text,
)
from baton.graphql.executor import Shape

_D = DEALS.c

_Member = tuple[Json, Any]

# A `Deal`'s leaves by GraphQL field name.
_DEAL: dict[str, _Member] = {
    "id": (Json.QUOTED, _D.id),
    "name": (Json.TEXT, _D.name),
    "accountId": (Json.QUOTED, _D.account_id),
    "contactId": (Json.QUOTED, _D.contact_id),
    "ownerId": (Json.QUOTED, _D.owner_id),
    "amount": (Json.QUOTED, _D.amount),
    "currency": (Json.TEXT, _D.currency),
    # As `types.listed_deal`: the deal's own probability, else its step's.
    "probability": (
        Json.BARE,
        float_json(func.coalesce(cast(_D.probability, Float), STEPS.c.probability)),
    ),
    "expectedCloseDate": (Json.QUOTED, _D.expected_close_date),
    "nextStep": (Json.TEXT, _D.next_step),
    "nextStepDueDate": (Json.QUOTED, _D.next_step_due_date),
    "outcome": (Json.TEXT, _D.outcome),
    "winReason": (Json.TEXT, _D.win_reason),
    "lossReason": (Json.TEXT, _D.loss_reason),
    "closeNotes": (Json.TEXT, _D.close_notes),
    "closedAt": (Json.QUOTED, iso_datetime_json(_D.closed_at)),
    "source": (Json.TEXT, _D.source),
    "need": (Json.TEXT, _D.need),
    "notes": (Json.TEXT, _D.notes),
    "workflowId": (Json.QUOTED, _D.workflow_id),
    "enteredStepAt": (Json.QUOTED, iso_datetime_json(_D.entered_step_at)),
    "createdAt": (Json.QUOTED, iso_datetime_json(_D.created_at)),
    "updatedAt": (Json.QUOTED, iso_datetime_json(_D.updated_at)),
    "version": (Json.BARE, _D.version),
}

# The objects a `Deal` links to, each a row the list's statement joins (inner joins:
# the step, the account — deleted ones too, as the accounts loader — and the owner).
_OBJECTS: dict[str, dict[str, _Member]] = {
    "step": {
        "id": (Json.QUOTED, STEPS.c.id),
        "key": (Json.TEXT, STEPS.c.key),
        "name": (Json.TEXT, STEPS.c.name),
        "category": (Json.TEXT, STATUSES.c.category),
        "order": (Json.BARE, STEPS.c.position),
    },
    "account": {"id": (Json.QUOTED, ACCOUNTS.c.id), "name": (Json.TEXT, ACCOUNTS.c.name)},
    "owner": {"id": (Json.QUOTED, _D.owner_id), "fullName": (Json.TEXT, USERS.c.full_name)},
}

# Written expressions by shape: a client sends the same few documents.
_WRITTEN: dict[Shape, Any] = {}
_MAX_WRITTEN = 128


# The GraphQL types' names, for `__typename` (clients such as Apollo ask it of every
# object).
_TYPE_NAMES = {"deal": "Deal", "step": "StepRef", "account": "Account", "owner": "Member"}


def _members(shape: Shape, leaves: dict[str, _Member], of: str) -> Any:
    members: dict[str, _Member] = {}
    for response, field_name, sub in shape:
        if field_name == "__typename":
            members[response] = (Json.BARE, literal_column(f"'\"{_TYPE_NAMES[of]}\"'"))
        elif sub is None and field_name in leaves:
            members[response] = leaves[field_name]
        elif of == "deal" and sub is not None and field_name in _OBJECTS:
            written = _members(sub, _OBJECTS[field_name], field_name)
            if written is None:
                return None
            members[response] = (Json.BARE, written)
        else:
            return None
    return json_text(**members)


def deal_json(shape: Shape) -> Any:
    """The expression writing a deal's node for a selection of `shape` over the deals
    list's statement (`deals.queries.list_statement`), or None when it selects a
    field the statement cannot write."""
    if shape in _WRITTEN:
        return _WRITTEN[shape]
    written = _members(shape, _DEAL, "deal")
    if len(_WRITTEN) < _MAX_WRITTEN:
        _WRITTEN[shape] = written
    return written
