"""Strict input (issue 20 point 9): numbers are numbers, money is a plain decimal with at
most two decimals, booleans are booleans — on every field of every body, by the one
rule of `Schema`, and over HTTP where a deal's money and a cadence's days are sent."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from baton.accounts.schemas import TransactionIn
from baton.core.errors import ValidationFailed
from baton.core.routing import RouteIndex
from baton.core.schemas import InputKinds, Schema, parse_input
from baton.deals.schemas import DealPatch
from tests.cadences.support import CADENCES, STEPS
from tests.deals.conftest import NEXT_WEEK, insert_account
from tests.factories import register_tenant

NOT_NUMBERS: list[Any] = [False, True, "1_000", " 12 ", "١٢٣", "1e3", "NaN", "Infinity", ""]
NOT_BOOLEANS: list[Any] = [0, 1, "true", "false", "on", "yes"]
# A JSON body's number is a JSON number; digits as text only for money (documented as
# a decimal string) and in web forms.
TEXT_NUMBERS: list[Any] = ["12", "0", "-3"]


def _body_schemas(app: Any) -> Iterator[type[Schema]]:
    """Every Schema a route takes as its body, and the Schemas nested in them."""
    seen: set[type[Schema]] = set()
    pending: list[Any] = []
    index = next(route for route in app.router.routes if isinstance(route, RouteIndex))
    for route in index.routes:
        if isinstance(route, APIRoute):
            pending += [field.field_info.annotation for field in route.dependant.body_params]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, Schema):
            if annotation in seen:
                continue
            seen.add(annotation)
            pending += [field.annotation for field in annotation.model_fields.values()]
            yield annotation
        else:
            pending += list(getattr(annotation, "__args__", ()))


def _refuses(schema: type[BaseModel], field: str, value: Any) -> bool:
    try:
        schema.model_validate({field: value})
    except ValidationError as error:
        return any(tuple(e["loc"])[:1] == (field,) for e in error.errors())
    return False


def test_every_number_and_boolean_field_of_every_body_is_strict(app: Any) -> None:
    checked = 0
    lax: list[str] = []
    for schema in _body_schemas(app):
        for name, field in schema.model_fields.items():
            kinds = InputKinds(field.annotation, field.metadata)
            if kinds.other:
                continue
            if kinds.number:
                wrong = NOT_NUMBERS if not kinds.boolean else NOT_NUMBERS[2:]
                if not kinds.money:
                    wrong = [*wrong, *TEXT_NUMBERS]
            elif kinds.boolean:
                wrong = NOT_BOOLEANS
            else:
                continue
            checked += 1
            lax += [
                f"{schema.__name__}.{name}={v!r}" for v in wrong if not _refuses(schema, name, v)
            ]
    assert checked > 30
    assert lax == []


def test_money_declared_without_optional_takes_decimal_text() -> None:
    # `amount: Amount` (no `| None`): pydantic keeps the MoneyText marker in the
    # field's metadata, not its annotation; the ledger refused "120.50".
    assert TransactionIn.model_validate(
        {"amount": "120.50", "occurred_on": "2026-01-02"}
    ).amount == Decimal("120.50")


def test_a_form_sends_numbers_as_plain_text_and_only_as_that() -> None:
    # The same schema a JSON body refuses "3" in takes it from a web form.
    assert _refuses(DealPatch, "version", "3")
    assert _refuses(DealPatch, "probability", "40")
    assert parse_input(DealPatch, {"version": "3", "probability": "40"}).version == 3
    for wrong in ("1_000", " 3 ", "١٢٣", "1e3", "true"):
        with pytest.raises(ValidationFailed):
            parse_input(DealPatch, {"version": wrong})


@pytest.mark.parametrize("amount", ["1200.50", 1200.5, 1200, "0", "-0"])
def test_money_takes_plain_decimals(amount: Any) -> None:
    assert DealPatch.model_validate({"amount": amount}).amount is not None


@pytest.mark.parametrize("amount", ["12.345", 12.345, "1,000", "+12", "12.", ".5", 1e400])
def test_money_refuses_more_than_two_decimals_and_other_forms(amount: Any) -> None:
    assert _refuses(DealPatch, "amount", amount)


async def test_a_deal_refuses_a_boolean_probability_and_odd_money(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register_tenant(client)
    account_id = await insert_account(owner_conn, admin)
    base = {
        "name": "Strict",
        "account_id": str(account_id),
        "next_step": "Call",
        "next_step_due_date": NEXT_WEEK,
    }
    for field, value in [
        ("probability", False),
        ("probability", True),
        ("probability", "40"),
        ("amount", "1_000"),
        ("amount", " 12 "),
        ("amount", "١٢٣"),
        ("amount", False),
        ("amount", "12.345"),
    ]:
        refused = await client.post(
            "/api/v1/deals", json={**base, field: value}, headers=admin.headers
        )
        assert refused.status_code == 422, (field, value, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in refused.json()["errors"]] == [field]
    created = await client.post(
        "/api/v1/deals",
        json={**base, "amount": "1200.50", "probability": 40},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["amount"] == "1200.50"
    assert created.json()["probability_override"] == 40
    deal = created.json()
    patched = await client.patch(
        f"/api/v1/deals/{deal['id']}",
        json={"amount": 99.5, "version": deal["version"]},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["amount"] == "99.50"


async def test_a_cadence_refuses_boolean_days(client: httpx.AsyncClient) -> None:
    admin = await register_tenant(client)
    steps = [dict(step) for step in STEPS]
    for value in (False, "1_000", " 2 ", "2"):
        steps[0] = {**STEPS[0], "delay_days": value}
        refused = await client.post(
            CADENCES, json={"name": f"Strict {uuid.uuid4()}", "steps": steps}, headers=admin.headers
        )
        assert refused.status_code == 422, (value, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["steps.0.delay_days"]
    steps[0] = {**STEPS[0], "delay_days": 0}
    created = await client.post(
        CADENCES, json={"name": f"Strict {uuid.uuid4()}", "steps": steps}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
