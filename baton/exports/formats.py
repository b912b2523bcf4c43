"""Writing rows as CSV or XLSX, a batch at a time, in constant memory.

- Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
  tab or carriage return) is written with a leading `'`, so it shows as typed and
  never executes (OWASP "CSV injection"). Numbers, dates and times are not text and
  are written as they are (a negative amount stays a number).
- Times are ISO 8601 in UTC to the second with a `Z`; dates ISO 8601; amounts
  decimals with their scale (`1234.50`); ids their canonical text.
- CSV starts with a UTF-8 byte order mark so Excel reads the accents right; lines
  end with `\n`.
- XLSX goes through XlsxWriter's `constant_memory` mode: each row is flushed to a
  temporary file as it is written, and the workbook is zipped into another
  temporary file at the end, which is then sent in chunks. Memory stays flat; the
  first byte of an XLSX leaves only once every row is written (the zip's directory
  needs them all), unlike CSV's, which leaves with the first batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]

BOM = "\ufeff".encode()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_SET = frozenset(FORMULA_STARTS)
CHUNK = 64 * 1024


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula it would run."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def utc_text(moment: datetime) -> str:
    """UTC to the second, as `statements` writes times in SQL."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_text(value: Any) -> str:
    """One CSV cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | Decimal | int | float | uuid.UUID):
        return str(value)
    return neutralise(str(value))


class CsvWriter:
    """Rows to UTF-8 CSV bytes, one batch at a time."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        # Lines end as PostgreSQL's COPY ends them (`statements`): every export alike.
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def header(self, names: Sequence[str]) -> bytes:
        return BOM + self.rows([names])

    def rows(self, rows: Iterable[Sequence[Any]]) -> bytes:
        # The hot loop of every CSV export: text and times are the only values the
        # csv module would not write as wanted (it writes None as "", numbers, dates
        # and ids by `str`); `as_text` gives the same answer cell by cell.
        starts, moment = _FORMULA_SET, datetime
        self._writer.writerows(
            [
                ("'" + value if value[:1] in starts else value)
                if type(value) is str
                else utc_text(value)
                if isinstance(value, moment)
                else ("true" if value else "false")
                if type(value) is bool
                else value
                for value in row
            ]
            for row in rows
        )
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode()


class XlsxWriter:
    """Rows to one worksheet of an XLSX file on disk (XlsxWriter, constant memory)."""

    def __init__(self, sheet: str) -> None:
        handle, self.path = tempfile.mkstemp(prefix="baton-export-", suffix=".xlsx")
        os.close(handle)
        self._book = xlsxwriter.Workbook(
            self.path,
            {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False},
        )
        self._sheet = self._book.add_worksheet(sheet[:31])
        self._bold = self._book.add_format({"bold": True})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._day = self._book.add_format({"num_format": "yyyy-mm-dd"})
        self._money = self._book.add_format({"num_format": "0.00"})
        self._row = 0

    def header(self, names: Sequence[str]) -> None:
        self._sheet.write_row(0, 0, list(names), self._bold)
        self._sheet.freeze_panes(1, 0)
        self._row = 1

    def rows(self, rows: Iterable[Sequence[Any]]) -> None:
        sheet = self._sheet
        for row in rows:
            for col, value in enumerate(row):
                self._cell(sheet, self._row, col, value)
            self._row += 1

    def _cell(self, sheet: Any, row: int, col: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            sheet.write_string(row, col, neutralise(value))
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, datetime):
            # Excel has no time zones: the UTC wall time (the header says UTC).
            sheet.write_datetime(row, col, value.astimezone(UTC).replace(tzinfo=None), self._time)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), self._day)  # noqa: DTZ001
        elif isinstance(value, Decimal):
            sheet.write_number(row, col, float(value), self._money)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, neutralise(str(value)))

    async def finish(self) -> AsyncIterator[bytes]:
        """Zip the workbook (in a thread: it is CPU work), send it in chunks, delete it."""
        try:
            await asyncio.to_thread(self._book.close)
            with open(self.path, "rb") as finished:  # noqa: ASYNC230 (local temp file)
                while chunk := finished.read(CHUNK):
                    yield chunk
        finally:
            self.discard()

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
