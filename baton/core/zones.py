"""Time zones by name: what a member or an organization chose (an IANA name)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_named(name: str | None) -> ZoneInfo:
    """The zone of a stored IANA name; UTC for none, or for a name this machine's tz
    database does not know (the name was valid where it was chosen)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
