"""How a prospect's company (a lead's, a target's) is matched to an account.

By the web domain its email reveals, unless that is a free-mail provider, else by
the normalised company name — the same normalisation as the accounts' generated
`name_key` column (NAME_KEY_SQL), computed by the database for matching.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, literal

from baton.accounts.schemas import normalise_domain

# Mail providers anyone can sign up with: their domain says nothing about the company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "126.com",
        "163.com",
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.at",
        "gmx.ch",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "outlook.de",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "t-online.de",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "ymail.com",
        "zoho.com",
    }
)


def company_key(company_name: str) -> str:
    """A company name as compared: lower case, punctuation dropped, spaces collapsed
    (the Python twin of `name_key`, for keys kept outside the database)."""
    kept = re.sub(r"[^\w\s]|_", "", company_name.lower())
    return re.sub(r"\s+", " ", kept).strip()


def name_key_of(company_name: str) -> Any:
    """`NAME_KEY_SQL` applied to a bound value, so a match compares exactly what the
    generated `accounts.name_key` column holds."""
    return func.btrim(
        func.regexp_replace(
            func.regexp_replace(
                func.lower(literal(company_name)), "[^[:alnum:][:space:]]", "", "g"
            ),
            "[[:space:]]+",
            " ",
            "g",
        )
    )


def company_domain(email: str | None) -> str | None:
    """The company web domain an email reveals; None for no email, free mail, or a host
    that is not a valid domain."""
    if not email or "@" not in email:
        return None
    try:
        domain = normalise_domain(email.rsplit("@", 1)[1])
    except ValueError:
        return None
    return None if domain in FREE_MAIL_DOMAINS else domain
