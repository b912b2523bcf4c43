"""How pages write values for people: one way for money, one for the codes the API
keeps (reasons, outcomes), times in the viewer's time zone (the member's, else the
organization's) — every template gets these as Jinja globals and filters — and how
page forms read a typed time back (in that zone; stored as UTC)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo


def money(amount: Decimal | None, currency: str) -> str:
    """An amount with its currency, grouped and with two decimals: `1,250.00 EUR`;
    a dash for none."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}"


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
    written = str(value)
    return written if len(written) <= 120 else written[:119] + "…"
