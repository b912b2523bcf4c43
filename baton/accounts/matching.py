"""How a prospect's company (a lead's, a target's) is matched to an account.

By the web domain its email reveals, unless that is a free-mail provider, else by
the normalised company name — the same normalisation as the accounts' generated
`name_key` column (NAME_KEY_SQL), computed by the database for matching.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, literal

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


def name_key_of(company_name: str | ColumnElement[str]) -> Any:
    """`NAME_KEY_SQL` applied to a value (bound here) or an SQL expression (a bind
    parameter of a prepared statement), so a match compares exactly what the
    generated `accounts.name_key` column holds."""
    value = company_name if isinstance(company_name, ColumnElement) else literal(company_name)
    return func.btrim(
        func.regexp_replace(
            func.regexp_replace(func.lower(value), "[^[:alnum:][:space:]]", "", "g"),
            "[[:space:]]+",
            " ",
            "g",
        )
    )


def account_locks(tenant_id: uuid.UUID, company_name: str, email: str | None) -> list[str]:
    """The names of the transaction-scoped advisory locks a find-or-create of this
    company's account takes, in the one order every caller takes them (no deadlock):
    its name key, and its email's domain when that names a company."""
    domain = company_domain(email)
    key = company_key(company_name)
    return sorted(
        {f"account-name:{tenant_id}:{key or company_name.strip().lower()}"}
        | ({f"account-domain:{tenant_id}:{domain}"} if domain else set())
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
