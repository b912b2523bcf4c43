"""The writers alone: neutralised text, typed values, the BOM."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from baton.exports.formats import CsvWriter, as_text, neutralise


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-x", "'-x"),
        ("@here", "'@here"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("plain = fine", "plain = fine"),
        ("", ""),
    ],
)
def test_formula_starts_get_a_quote(text: str, written: str) -> None:
    assert neutralise(text) == written
    assert as_text(text) == written


def test_values_are_written_typed_and_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    assert as_text(datetime(2026, 12, 7, 10, 30, tzinfo=berlin)) == "2026-12-07T09:30:00Z"
    assert as_text(date(2026, 1, 2)) == "2026-01-02"
    assert as_text(Decimal("-1234.50")) == "-1234.50"
    assert as_text(None) == ""
    assert as_text(True) == "true"
    some = uuid.uuid4()
    assert as_text(some) == str(some)


def test_csv_starts_with_a_bom_and_ends_rows_with_a_line_feed() -> None:
    writer = CsvWriter()
    head = writer.header(["Name", "Amount"])
    assert head == "\ufeffName,Amount\n".encode()
    assert writer.rows([["Ölwerke, AG", Decimal("5.00")]]) == '"Ölwerke, AG",5.00\n'.encode()
