"""Writing rows as CSV or XLSX, a batch at a time, in constant memory.

- Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
  tab or carriage return) is written with a leading `'`, so it shows as typed and
  never executes (OWASP "CSV injection"). Numbers, dates and times are not text and
  are written as they are (a negative amount stays a number).
- Times are ISO 8601 in UTC to the second with a `Z`; dates ISO 8601; amounts
  decimals with their scale (`1234.50`); ids their canonical text.
- CSV starts with a UTF-8 byte order mark so Excel reads the accents right; lines
  end with `\n`.
- XLSX (`XlsxStream`) is zipped as it is written: the workbook's fixed parts, then
  the worksheet's rows (the `<row>` elements PostgreSQL writes: `statements`)
  deflated chunk by chunk into the response, each entry's sizes in a data
  descriptor after it, the zip's directory at the end. Memory holds one chunk; the
  first bytes leave with the first rows, as a CSV's do. Text cells are inline
  strings (no shared-string table to hold), so nothing is kept across rows.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

BOM = "\ufeff".encode()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_SET = frozenset(FORMULA_STARTS)


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


# The cell formats of the workbook (`_STYLES`), by what `statements` writes.
XLSX_STYLES = {"header": 1, "date": 2, "time": 3, "amount": 4}

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""

_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"""

_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""

# Cell formats: 0 plain, 1 bold (the header), 2 a date, 3 a date and time, 4 an
# amount with two decimals (`XLSX_STYLES`).
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>\
<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""

_SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0">\
<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>\
</sheetView></sheetViews><sheetData>"""

_SHEET_END = "</sheetData></worksheet>"


# COPY's text format writes these characters as a backslash and a letter (and never
# an octal or hex escape): what each becomes in the worksheet's XML.
_COPY_ESCAPES = {
    b"\\": b"&#92;",
    b"t": b"&#9;",
    b"n": b"&#10;",
    b"r": b"&#13;",
    # Backspace, vertical tab, form feed: not allowed in XML 1.0.
    b"b": b"",
    b"v": b"",
    b"f": b"",
}
_COPY_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)
# The other C0 controls (COPY writes them as they are), not allowed in XML 1.0; tab,
# line feed and carriage return are escaped above (the line feed between rows stays).
_NOT_XML = bytes(code for code in range(32) if code not in (9, 10, 13))


def _unescaped(escape: re.Match[bytes]) -> bytes:
    return _COPY_ESCAPES.get(escape.group(1), escape.group(1))


class _Drained(io.RawIOBase):
    """Where the zip is written: what it holds is taken after each write (it cannot
    seek, so `zipfile` writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken = b"".join(self._parts)
        self._parts.clear()
        return taken


class XlsxStream:
    """One worksheet as an XLSX file, written as its rows come: `start` with the
    header, `rows` with each chunk of `<row>` elements, `finish`; each returns the
    file's next bytes (possibly none: deflate holds some back)."""

    def __init__(self, sheet: str) -> None:
        self._out = _Drained()
        # Level 1: a third of the default's time for a file a few percent larger.
        self._zip = zipfile.ZipFile(
            self._out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1
        )
        self._sheet_name = escape(sheet[:31], {'"': "&quot;"})
        self._sheet: Any = None

    def start(self, names: Sequence[str]) -> bytes:
        for name, content in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/workbook.xml", _WORKBOOK.format(name=self._sheet_name)),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
        ):
            self._zip.writestr(name, content)
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        bold = XLSX_STYLES["header"]
        header = "".join(
            f'<c t="inlineStr" s="{bold}"><is><t>{escape(name)}</t></is></c>' for name in names
        )
        self._sheet.write(f"{_SHEET_START}<row>{header}</row>".encode())
        return self._out.take()

    def rows(self, copied: bytes) -> bytes:
        """`copied`: whole rows of `COPY … TO STDOUT` (text format), each a `<row>`
        element and a line feed (asyncpg hands on whole messages, a row each)."""
        if b"\\" in copied:
            copied = _COPY_ESCAPE.sub(_unescaped, copied)
        self._sheet.write(copied.translate(None, _NOT_XML))
        return self._out.take()

    def finish(self) -> bytes:
        self._sheet.write(_SHEET_END.encode())
        self._sheet.close()
        self._zip.close()
        return self._out.take()
