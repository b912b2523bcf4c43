"""How pages write values for people: one way for money, one for the codes the API
keeps (reasons, outcomes) — every template gets these as Jinja globals and filters."""

from __future__ import annotations

from decimal import Decimal


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
