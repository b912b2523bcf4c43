"""The advisory locks a company's find-or-create takes: a claim and a conversion of
one company take the same ones, in one order (baton/accounts/matching.py)."""

from __future__ import annotations

import uuid

import pytest

from baton.accounts.matching import account_locks

TENANT = uuid.UUID("00000000-0000-0000-0000-000000000001")


@pytest.mark.parametrize(
    ("company", "email", "expected"),
    [
        (
            "Acme, Inc.",
            "ceo@acme.example",
            [f"account-domain:{TENANT}:acme.example", f"account-name:{TENANT}:acme inc"],
        ),
        # Free mail names no company: the name alone.
        ("Hopper Logistics", "boss@gmail.com", [f"account-name:{TENANT}:hopper logistics"]),
        # A name of punctuation alone has an empty key: the name itself, lower-cased.
        ("!!!", None, [f"account-name:{TENANT}:!!!"]),
        (
            "  Müller & Söhne GmbH ",
            "info@SUB.Mueller-Soehne.example",
            [
                f"account-domain:{TENANT}:sub.mueller-soehne.example",
                f"account-name:{TENANT}:müller söhne gmbh",
            ],
        ),
    ],
)
def test_the_locks_of_a_company_are_its_domain_and_name_key_in_order(
    company: str, email: str | None, expected: list[str]
) -> None:
    assert account_locks(TENANT, company, email) == expected


def test_the_same_company_written_differently_takes_the_same_locks() -> None:
    assert account_locks(TENANT, "ACME inc", "a@acme.example") == account_locks(
        TENANT, " Acme, Inc. ", "b@ACME.example"
    )
