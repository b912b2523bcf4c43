"""Money in the organization's locale (issue 14, defect 6): one helper writes every
amount as the organization's people read it (`1.250,00 €` in de-DE, `€1,250.00` in
en-US); the locale is an organization setting (API and settings page); forms read an
amount as that locale types it; the API and exports keep plain decimals."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import httpx
import pytest

from baton.core import locales
from baton.web.formatting import amount_example, amount_input, money, typed_amount, whole_number
from tests.factories import Member
from tests.web.test_deal_pages import Pipeline
from tests.web.test_deal_pages import pipe as deal_pipeline
from tests.web.test_workflow_pages import HTMX, _sign_in

# The deal pages' organization: an admin, a seller, a viewer, an account, its pipeline.
pipe = deal_pipeline

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("locale", "currency", "written"),
    [
        ("en-US", "EUR", "€1,250.00"),
        ("en-US", "USD", "$1,250.00"),
        ("en-GB", "EUR", "€1,250.00"),
        ("en-GB", "USD", "US$1,250.00"),
        ("de-DE", "EUR", f"1.250,00{NBSP}€"),
        ("de-DE", "USD", f"1.250,00{NBSP}$"),
        ("fr-FR", "EUR", f"1{NNBSP}250,00{NBSP}€"),
        ("fr-FR", "USD", f"1{NNBSP}250,00{NBSP}$US"),
        ("nl-NL", "EUR", f"€{NBSP}1.250,00"),
        ("es-ES", "EUR", f"1.250,00{NBSP}€"),
        ("de-CH", "CHF", f"CHF{NBSP}1'250.00"),
    ],
)
def test_money_is_written_as_the_locale_writes_it(locale: str, currency: str, written: str) -> None:
    assert money(Decimal("1250"), currency, locale) == written


def test_none_is_a_dash_and_bar_labels_group_as_the_locale_does() -> None:
    assert money(None, "EUR", "de-DE") == "—"
    assert whole_number(8000.4, "en-US") == "8,000"
    assert whole_number(8000.4, "de-DE") == "8.000"
    assert amount_example("de-DE") == "1.250,50"
    assert amount_example("en-US") == "1,250.50"
    assert amount_input(Decimal("1250.50"), "de-DE") == "1250,50"
    assert amount_input(None, "de-DE") == ""


@pytest.mark.parametrize(
    ("locale", "typed", "plain"),
    [
        ("de-DE", "1.250,50", "1250.50"),
        ("de-DE", "1250,50", "1250.50"),
        ("de-DE", "1.250", "1250"),  # a thousand and a quarter apart: the locale wins
        ("de-DE", "1250.50", "1250.50"),  # a plain decimal, as a number input sends
        ("de-DE", "1,250.50", "1,250.50"),  # unreadable here: on unchanged, refused later
        ("en-US", "1,250.50", "1250.50"),
        ("en-US", "1250.5", "1250.5"),
        ("en-US", "1.250,50", "1.250,50"),
        ("fr-FR", "1 250,50", "1250.50"),  # a plain space where fr-FR groups with U+202F
        ("de-DE", "", None),
        ("de-DE", "zwölf", "zwölf"),
    ],
)
def test_a_typed_amount_is_read_as_the_locale_types_it(
    locale: str, typed: str, plain: str | None
) -> None:
    assert typed_amount(typed, locale) == plain


def test_the_offered_locales_are_named_in_their_own_language() -> None:
    offered = dict(locales.CHOICES)
    assert offered["de-DE"] == "Deutsch (Deutschland)"
    assert offered["fr-FR"] == "Français (France)"
    assert offered["en-US"] == "English (United States)"
    assert locales.canonical("DE-de") == "de-DE"
    assert locales.canonical("xx-YY") is None
    assert locales.canonical("de-DE; DROP") is None


async def _set_locale(client: httpx.AsyncClient, admin: Member, locale: str) -> httpx.Response:
    current = (await client.get("/api/v1/settings", headers=admin.headers)).json()
    return await client.patch(
        "/api/v1/settings",
        headers=admin.headers,
        json={"locale": locale, "version": current["version"]},
    )


async def test_the_locale_is_an_organization_setting(
    pipe: Pipeline, client: httpx.AsyncClient
) -> None:
    settings = (await client.get("/api/v1/settings", headers=pipe.sales.headers)).json()
    assert settings["locale"] == "en-US"  # a new organization's

    changed = await _set_locale(client, pipe.admin, "de-de")
    assert changed.status_code == 200, changed.text
    assert changed.json()["locale"] == "de-DE"  # canonical case
    assert (await client.get("/api/v1/settings", headers=pipe.sales.headers)).json()[
        "locale"
    ] == "de-DE"

    for wrong in ("klingon", "xx-YY", "de_DE_x_y_z", ""):
        refused = await _set_locale(client, pipe.admin, wrong)
        assert refused.status_code == 422, (wrong, refused.text)
        (error,) = refused.json()["errors"]
        assert error["field"] == "locale"
    refused = await _set_locale(client, pipe.admin, "xx-YY")
    assert "e.g. de-DE" in refused.json()["errors"][0]["message"]
    assert "pattern" not in refused.text

    # A seller may read it, not change it.
    by_sales = await _set_locale(client, pipe.sales, "fr-FR")
    assert by_sales.status_code == 403
    assert (await client.get("/api/v1/settings", headers=pipe.admin.headers)).json()[
        "locale"
    ] == "de-DE"


async def test_pages_write_money_and_read_amounts_in_the_organizations_locale(
    pipe: Pipeline, client: httpx.AsyncClient
) -> None:
    deal = await pipe.create(client, amount="1250.00", currency="EUR")
    other = await pipe.create(client, amount="300.00", currency="USD")
    assert (await _set_locale(client, pipe.admin, "de-DE")).status_code == 200

    # The API keeps the documented decimal string whatever the locale.
    answered = await client.get(f"/api/v1/deals/{deal['id']}", headers=pipe.sales.headers)
    assert answered.json()["amount"] == "1250.00"

    token = await _sign_in(client, pipe.sales)
    board = (await client.get("/pipeline")).text
    assert f"1.250,00{NBSP}€" in board  # the card and the column's total
    assert f"300,00{NBSP}$" in board  # another currency keeps its own symbol
    assert "1,250.00" not in board
    assert 'placeholder="1.250,50"' in board  # Add deal's amount hint
    account = (await client.get(f"/accounts/{pipe.account_id}")).text
    assert f"1.250,00{NBSP}€" in account
    page = (await client.get(f"/deals/{deal['id']}")).text
    assert f"1.250,00{NBSP}€" in page
    assert 'value="1250,00"' in page  # the edit form's box, as the locale types it

    # A typed amount as de-DE writes it is stored as the decimal it means.
    edit = await client.post(
        f"/deals/{deal['id']}/edit",
        data={
            "csrf_token": token,
            "version": str(deal["version"]),
            "name": deal["name"],
            "amount": "2.345,60",
            "currency": "EUR",
            "next_step": deal["next_step"],
            "next_step_due_date": deal["next_step_due_date"],
        },
        headers=HTMX,
    )
    assert edit.status_code in (200, 303), edit.text
    stored = await client.get(f"/api/v1/deals/{deal['id']}", headers=pipe.sales.headers)
    assert stored.json()["amount"] == "2345.60"

    # Exports keep machine numbers.
    export = await client.get("/exports/deals?format=csv")
    assert export.status_code == 200, export.text
    rows = list(csv.reader(io.StringIO(export.text)))
    amounts = {row[rows[0].index("Amount")] for row in rows[1:]}
    assert {"2345.60", "300.00"} <= amounts
    assert other["amount"] == "300.00"


async def test_an_amount_the_locale_cannot_read_is_refused_beside_its_field(
    pipe: Pipeline, client: httpx.AsyncClient
) -> None:
    assert (await _set_locale(client, pipe.admin, "de-DE")).status_code == 200
    token = await _sign_in(client, pipe.sales)
    refused = await client.post(
        f"/accounts/{pipe.account_id}/deals",
        data={"csrf_token": token, "name": "Typo deal", "amount": "12,3,4"},
        headers=HTMX,
    )
    assert refused.status_code == 422, refused.text
    assert re.search(r"[Aa]mount", refused.text)
    listed = await client.get(
        "/api/v1/deals", headers=pipe.sales.headers, params={"account_id": str(pipe.account_id)}
    )
    assert "Typo deal" not in listed.text


async def test_the_settings_page_offers_locales_by_name(
    pipe: Pipeline, client: httpx.AsyncClient
) -> None:
    token = await _sign_in(client, pipe.admin)
    page = (await client.get("/settings/organization")).text
    assert '<option value="en-US" lang="en-US" selected>' in page
    assert f"Deutsch (Deutschland) — 1.250,50{NBSP}$" in page  # USD, the organization's
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    saved = await client.post(
        "/settings/organization",
        data={"csrf_token": token, "version": version.group(1), "locale": "de-DE"},
        headers=HTMX,
    )
    assert saved.status_code == 200, saved.text
    assert '<option value="de-DE" lang="de-DE" selected>' in saved.text
    settings = (await client.get("/api/v1/settings", headers=pipe.admin.headers)).json()
    assert settings["locale"] == "de-DE"
