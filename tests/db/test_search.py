"""`baton.db.search`: Python folds a query exactly as SQL folds the document, and the
migration's copy of the column SQL is the module's."""

from __future__ import annotations

import importlib

import asyncpg
import pytest

from baton.db import search

MIGRATION = importlib.import_module("baton.db.alembic.versions.2026_12_07_4c2e8b7d1f35_list_search")
ONE_BOX = importlib.import_module(
    "baton.db.alembic.versions.2026_12_07_f3b9d6c1a8e2_one_box_search"
)
PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_07_a6400433877f_list_search_pages"
)
MORE_PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_08_7c1e4a9d2b50_deal_and_work_item_search_pages"
)
BITMAP_PAGES = importlib.import_module(
    "baton.db.alembic.versions.2026_12_08_b3d5f7a9c1e2_search_pages_bounded_walk"
)


def test_the_migration_holds_the_modules_sql() -> None:
    assert search.ACCOUNTS.document == PAGES.ACCOUNTS_DOCUMENT
    assert search.CONTACTS.document == PAGES.CONTACTS_DOCUMENT
    assert search.TARGETS.document == PAGES.TARGETS_DOCUMENT
    assert search.LEADS.document == PAGES.LEADS_DOCUMENT
    assert search.DEALS.document == PAGES.NAME_DOCUMENT
    assert search.WORK_ITEMS.document == PAGES.NAME_DOCUMENT
    # The page functions as the latest revision that made them (b3d5f7a9c1e2) has them.
    for table, phone in BITMAP_PAGES.PHONES.items():
        shape = BITMAP_PAGES.PAGE_FUNCTION_WITH_PHONE if phone else BITMAP_PAGES.PAGE_FUNCTION
        expected = search.page_function_sql(table, phone=phone)
        assert shape.strip().replace("{table}", table) == expected
    assert set(BITMAP_PAGES.PHONES) == set(search.PAGED)
    assert {*PAGES.PAGED, *MORE_PAGES.TABLES} == set(search.PAGED)
    assert BITMAP_PAGES.LEADS_PAGE.strip() == search.page_function_sql(
        "leads", phone=True, filtered=True
    )
    assert ONE_BOX.FUNCTION.strip().replace("{table}", "deals") == search.function_sql(
        "deals", phone=False
    )
    for table, shape in ONE_BOX.CAPPED.items():
        phone = table in ("contacts", "targets", "leads")
        assert shape.strip().replace("{table}", table) == search.capped_function_sql(
            table, phone=phone
        )
    assert search.phone_tail_sql("phone") == MIGRATION.PHONE_TAIL
    for table in ("accounts", "contacts", "targets", "leads"):
        shape = (
            MIGRATION.FUNCTION_WITH_PHONE if table in MIGRATION.WITH_PHONE else MIGRATION.FUNCTION
        )
        expected = search.function_sql(table, phone=table in MIGRATION.WITH_PHONE)
        assert shape.strip().replace("{table}", table) == expected


@pytest.mark.parametrize(
    ("q", "words", "tail"),
    [
        ("Nordhafen Feinkost", ("nordhafen", "feinkost"), None),
        ("https://www.Nordhafen-Feinkost.de/", ("nordhafen", "feinkost", "de"), None),
        ("anna.schmidt@feinkost.de", ("anna", "schmidt", "feinkost", "de"), None),
        ("Müller & Söhne", ("muller", "sohne"), None),
        ("Weiß Œuvre", ("weiss", "oeuvre"), None),
        ("+49 (040) 123-456", ("49", "040", "123", "456"), "65432104094"),
        ("040 1234", ("040", "1234"), "432104"),
        ("123", ("123",), None),
        ("  -- %_ ", (), None),
        ("a:* | !b & c", ("a", "b", "c"), None),
        (" ".join("w" * 100 for _ in range(12)), ("w" * 64,) * 8, None),
    ],
)
def test_a_query_is_its_folded_words(q: str, words: tuple[str, ...], tail: str | None) -> None:
    parsed = search.parse(q)
    assert parsed.words == words
    assert parsed.phone_tail == tail


@pytest.mark.parametrize(
    "text",
    [
        "Nordhafen Feinkost GmbH",
        "Müller & Söhne KG",
        "ÀÉÎÕÜ çñ ŁÓDŹ Øresund Škoda",
        "O'Brien-Hall Ltd.",
        "anna.schmidt@nordhafen-feinkost.de",
        "Straße 12b, 3.OG",
        "Œuvre Æsir Weiß",
    ],
)
async def test_python_folds_as_the_document_does(owner_conn: asyncpg.Connection, text: str) -> None:
    """Every word of the query side is a lexeme of the document side, in order."""
    lexemes = await owner_conn.fetchval(
        f"SELECT tsvector_to_array(to_tsvector('simple', {search.fold_sql('$1::text')}))", text
    )
    assert set(search.parse(text).words) <= set(lexemes)
    assert set(lexemes) <= set(search.parse(text).words)
