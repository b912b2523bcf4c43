"""How pages write values for people: one way for money (in the organization's
locale), one for the codes the API keeps (reasons, outcomes), times in the viewer's
time zone (the member's, else the organization's) — every template gets these as
Jinja globals and filters — and how page forms read a typed time or amount back (in
that zone, stored as UTC; in that locale, sent on as a plain decimal)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal

from baton.core.locales import DEFAULT_LOCALE, babel_locale

# What the API takes and every browser's number input sends: `1250.50`.
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
# The spaces CLDR groups digits with (no-break, narrow no-break), besides the plain one.
SPACES = "\u00a0\u202f"


def money(amount: Decimal | None, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An amount with its currency as the locale writes it (CLDR, through Babel): in
    `en-US` `€1,250.00`, in `de-DE` `1.250,00 €`; an amount of another currency shows
    that currency's own symbol (`US$1,250.00` in `en-GB`). A dash for none."""
    if amount is None:
        return "—"
    return format_currency(amount, currency, locale=babel_locale(locale))


def whole_number(value: float, locale: str = DEFAULT_LOCALE) -> str:
    """A number in whole units with the locale's grouping: `8,000` / `8.000` (a chart's
    bar label, where the title names the currency)."""
    return format_decimal(round(value), format="#,##0", locale=babel_locale(locale))


def month_label(month: date, locale: str = DEFAULT_LOCALE) -> str:
    """A calendar month as the locale names it: `March 2027`, `März 2027`."""
    return format_skeleton("yMMMM", month, locale=babel_locale(locale))


def amount_example(locale: str = DEFAULT_LOCALE) -> str:
    """How an amount is typed in the locale, for a form's hint: `1,250.50`, `1.250,50`."""
    return format_decimal(Decimal("1250.50"), format="#,##0.00", locale=babel_locale(locale))


def amount_input(amount: Decimal | None, locale: str = DEFAULT_LOCALE) -> str:
    """An amount as a form's box shows it for editing, in the locale and without
    grouping (`1250,50` in `de-DE`): `typed_amount` reads it back. Empty for none."""
    if amount is None:
        return ""
    return format_decimal(amount, format="0.00", locale=babel_locale(locale))


def typed_amount(raw: str, locale: str = DEFAULT_LOCALE) -> str | None:
    """An amount as typed in the locale (`1.250,50` in `de-DE`, `1,250.50` in `en-US`,
    without grouping too) as the plain decimal the API takes (`1250.50`). A plain
    decimal such as a number input sends is taken as it is; anything else goes on
    unchanged so the schema names the problem. Empty: None."""
    raw = raw.strip()
    if not raw:
        return None
    if _PLAIN_DECIMAL.match(raw) and not _ambiguous(raw, locale):
        return raw
    group = _group_symbol(locale)
    if group.isspace() or group in SPACES:
        # A space groups here (`1 250,50` in fr-FR): whichever space was typed.
        raw = re.sub(f"[ {SPACES}]", group, raw)
    try:
        return str(parse_decimal(raw, locale=babel_locale(locale), strict=True))
    except NumberFormatError:
        return raw


def plain_amount(raw: str, locale: str = DEFAULT_LOCALE) -> str | None:
    """An amount typed in the locale (`1.250,50` in `de-DE`) or a plain decimal from a
    link, as the plain decimal a link carries (`1250.5`: no trailing zeros, so it never
    reads as the locale's grouping); None when it is no number at all."""
    plain = typed_amount(raw, locale)
    if plain is None or not _PLAIN_DECIMAL.match(plain):
        return None
    return format(Decimal(plain).normalize(), "f")


def amount_text(amount: Decimal | str | None, locale: str = DEFAULT_LOCALE) -> str:
    """An amount without currency, grouped as the locale writes it (`1.250,50`), for
    a filter's box: `typed_amount` reads it back. Empty for none."""
    if amount is None or amount == "":
        return ""
    return format_decimal(Decimal(amount), format="#,##0.00", locale=babel_locale(locale))


def _group_symbol(locale: str) -> str:
    symbols = babel_locale(locale).number_symbols.get("latn", {})
    return str(symbols.get("group", ","))


def _ambiguous(raw: str, locale: str) -> bool:
    """`1.250` in a locale that groups with a dot is a thousand and a quarter apart:
    the locale's reading wins."""
    fraction = raw.lstrip("-").partition(".")[2]
    return _group_symbol(locale) == "." and len(fraction) == 3


def code_label(code: str | None) -> str:
    """A code as a person reads it: `no_budget` → "No budget" (the API keeps the code)."""
    if not code:
        return ""
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


# Field names that read better than their code made into words.
FIELD_NAMES = {
    "probability": "Probability (%)",
    "next_step_due_date": "Next step due",
    "to_step_id": "Stage",
    "from_step_id": "Stage",
    "If-Match": "Version",
    "due_at": "Due",
    "user_id": "Member",
}


def field_name(path: str) -> str:
    """The field a refusal names, as a form labels it: `fields.expected_close_date` →
    "Expected close date", `owner_id` → "Owner", `conditions.reason_labels` → "Reason
    labels" (the API keeps the path)."""
    name = path.removeprefix("fields.").rsplit(".", 1)[-1]
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    return code_label(name.removesuffix("_id"))


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored (UTC) time as the viewer reads it, in their zone: `2026-12-07 15:52`."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    """The viewer's calendar day of a stored time."""
    if moment is None:
        return ""
    return moment.astimezone(zone).date().isoformat()


def typed_time(raw: str, zone: tzinfo) -> str | None:
    """A `datetime-local` value ("2026-12-01T09:00") read in the viewer's zone, as ISO
    8601 with its offset (stored as UTC from there); anything unreadable goes on
    unchanged so the schema names the problem."""
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()


def change_value(value: object, names: Mapping[str, str] | None = None) -> str:
    """A value from the change trail as a person reads it: a dash for none, an id by
    the name of what it points at (`names`, from `audit.trail.referenced_names`),
    codes as words, long text cut."""
    if value is None or value == "":
        return "—"
    if names and str(value) in names:
        return names[str(value)]
    if isinstance(value, bool):
        return "yes" if value else "no"
    # A JSON column (a transition's conditions) as JSON, not as Python writes it.
    if isinstance(value, dict | list):
        written = json.dumps(value, ensure_ascii=False)
    else:
        written = str(value)
    return written if len(written) <= 120 else written[:119] + "…"
