"""The organization's locale: how its pages write money and read typed amounts.

A locale is a BCP 47 tag (`en-US`, `de-DE`, `fr-FR`) that Babel has CLDR data for
(carried offline with the package); it is stored as the organization writes it in
canonical case. `CHOICES` are the ones the settings page offers, named as people
who speak them read them ("Deutsch (Deutschland)"); the API takes any tag Babel knows.
"""

from __future__ import annotations

import re
from functools import lru_cache

from babel import Locale, UnknownLocaleError

DEFAULT_LOCALE = "en-US"
MAX_LOCALE_LENGTH = 35
# language, optional script, optional region: `en`, `de-DE`, `zh-Hant-TW`, `es-419`.
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")

# What the Organization settings page offers, in this order.
_OFFERED = (
    "en-US",
    "en-GB",
    "en-IE",
    "de-DE",
    "de-AT",
    "de-CH",
    "fr-FR",
    "fr-BE",
    "fr-CH",
    "nl-NL",
    "nl-BE",
    "es-ES",
    "it-IT",
    "pt-PT",
    "pt-BR",
    "pl-PL",
    "cs-CZ",
    "da-DK",
    "sv-SE",
    "nb-NO",
    "fi-FI",
)


def canonical(tag: str) -> str | None:
    """The tag in canonical case (`DE-de` → `de-DE`) when Babel knows the locale; else
    None."""
    matched = _TAG.match(tag.strip())
    if matched is None:
        return None
    language, script, region = matched.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    try:
        Locale.parse("_".join(parts))
    except (UnknownLocaleError, ValueError):
        return None
    return "-".join(parts)


@lru_cache(maxsize=64)
def babel_locale(tag: str) -> Locale:
    """Babel's locale for a stored tag (the default's for one it no longer knows)."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE.replace("-", "_"))


def display_name(tag: str) -> str:
    """The locale named in its own language: `de-DE` → "Deutsch (Deutschland)"."""
    name = babel_locale(tag).get_display_name() or tag
    return name[:1].upper() + name[1:]


CHOICES: tuple[tuple[str, str], ...] = tuple((tag, display_name(tag)) for tag in _OFFERED)
