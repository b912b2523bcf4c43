"""Reading an uploaded file into headers and rows of text: CSV or XLSX.

Called by the imports service on upload and again by every preview and the commit
job (the bytes are stored, the parse is not). CSV: the encoding is UTF-8 (with or
without BOM) or whatever `charset-normalizer` finds (Windows-1252, Latin-1 …); the
delimiter `,` `;` tab or `|` is sniffed; quoted fields may hold newlines. XLSX:
openpyxl in read-only mode with cached values (a formula gives the value Excel last
computed, never its text), the first sheet or the one chosen. Headers are made
unique ("Email", "Email (2)"); short rows are padded, cells past the header's end
are kept apart so the row can be refused. Every refusal is a clear 422 (413 for
size) and nothing is stored.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from charset_normalizer import from_bytes

from baton.core.errors import PayloadTooLarge, RuleViolation

XLSX_MAGIC = b"PK\x03\x04"
# How much of a CSV the delimiter sniffer and the encoding detector look at.
SAMPLE_BYTES = 64 * 1024
SNIFF_BYTES = 8 * 1024
DELIMITERS = ",;\t|"
# The encodings the detector may answer that we trust for a spreadsheet's export;
# anything else it guesses for non-UTF-8 text is read as Windows-1252 (Excel's).
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "utf_8", "ascii", "mac_roman", "cp850"}


class ImportRejected(RuleViolation):
    title = "The file cannot be imported"
    slug = "import-rejected"


@dataclass
class Parsed:
    headers: list[str]
    rows: list[list[str]]
    encoding: str
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    # Row number (1 = the first data row) → how many cells lay past the last header.
    overflow: dict[int, int] = field(default_factory=dict)


def is_xlsx(filename: str, content: bytes) -> bool:
    return content.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm"))


def parse(
    filename: str,
    content: bytes,
    *,
    max_bytes: int,
    max_rows: int,
    sheet: str | None = None,
) -> Parsed:
    """Headers and rows of `content` (413 past `max_bytes`, 422 past `max_rows` or
    for anything that is not a table with a header and at least one row)."""
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"The file is {len(content)} bytes; the limit is {max_bytes} bytes")
    if not content.strip():
        raise ImportRejected("The file is empty")
    if is_xlsx(filename, content):
        parsed = _parse_xlsx(content, sheet, max_rows)
    else:
        parsed = _parse_csv(content, max_rows)
    if not parsed.rows:
        raise ImportRejected("The file has a header row but no data rows")
    return parsed


# ---------------------------------------------------------------- CSV


def decode(content: bytes) -> tuple[str, str]:
    """The text and the name of its encoding; binary content is refused."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    if b"\x00" in content[:SAMPLE_BYTES]:
        raise ImportRejected("The file is not text: upload a CSV or an XLSX workbook")
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(content[:SAMPLE_BYTES]).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding not in _WESTERN:
        encoding = "cp1252"
    try:
        return content.decode(encoding), encoding
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin_1"


def _looks_binary(text: str) -> bool:
    sample = text[:SAMPLE_BYTES]
    controls = sum(
        1 for char in sample if unicodedata.category(char) == "Cc" and char not in "\t\r\n"
    )
    return controls > max(2, len(sample) // 100)


def _delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _parse_csv(content: bytes, max_rows: int) -> Parsed:
    text, encoding = decode(content)
    if _looks_binary(text):
        raise ImportRejected("The file is not text: upload a CSV or an XLSX workbook")
    # Sniff on whole lines only (a cut line would look like a different dialect), and
    # on a few KB: the sniffer's regular expressions cost seconds on 64 KB.
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    delimiter = _delimiter(sample)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    parsed = _table(reader, max_rows)
    parsed.encoding = encoding
    parsed.delimiter = delimiter
    return parsed


# ---------------------------------------------------------------- XLSX


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


def _parse_xlsx(content: bytes, sheet: str | None, max_rows: int) -> Parsed:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ImportRejected("The file is not a readable XLSX workbook") from error
    try:
        names = list(book.sheetnames)
        if not names:
            raise ImportRejected("The workbook has no sheets")
        chosen = sheet if sheet is not None else names[0]
        if chosen not in names:
            raise ImportRejected(
                f"The workbook has no sheet {chosen!r}; its sheets: {', '.join(names)}"
            )
        rows = ([_cell_text(v) for v in row] for row in book[chosen].iter_rows(values_only=True))
        parsed = _table(rows, max_rows)
    finally:
        book.close()
    parsed.encoding = "xlsx"
    parsed.sheet = chosen
    parsed.sheets = names
    return parsed


# ---------------------------------------------------------------- both


def unique_headers(raw: Iterable[str]) -> list[str]:
    """Trimmed headers, blanks named by position, repeats numbered."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for position, header in enumerate(raw, start=1):
        name = " ".join(header.replace("\ufeff", "").split()) or f"Column {position}"
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        headers.append(name)
    return headers


def _table(rows: Iterator[list[str]] | Any, max_rows: int) -> Parsed:
    header: list[str] | None = None
    data: list[list[str]] = []
    overflow: dict[int, int] = {}
    for cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            # Trailing blank header cells (a sheet's used range) are not columns.
            while cells and not cells[-1].strip():
                cells = cells[:-1]
            header = unique_headers(cells)
            continue
        if len(data) >= max_rows:
            raise ImportRejected(f"The file has more than {max_rows} rows; split it")
        width = len(header)
        if len(cells) > width:
            extra = [cell for cell in cells[width:] if cell.strip()]
            if extra:
                overflow[len(data) + 1] = len(extra)
            cells = cells[:width]
        elif len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        data.append([cell.strip() for cell in cells])
    if header is None:
        raise ImportRejected("The file is empty")
    return Parsed(headers=header, rows=data, encoding="", overflow=overflow)
