"""The expected version of an optimistic-concurrency edit: one pick for every handler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baton.core.errors import StaleVersion, ValidationFailed
from baton.core.versioning import check_version, expected_version

BATON = Path(__file__).resolve().parents[2] / "baton"


@pytest.mark.parametrize(
    ("if_match", "sent", "expected"),
    [
        (None, None, None),
        (None, 4, 4),
        (3, None, 3),
        # The header wins over the body's `version` (or `?version=`), even when they differ.
        (3, 4, 3),
        (3, 3, 3),
    ],
)
def test_the_if_match_header_wins_else_the_version_sent(
    if_match: int | None, sent: int | None, expected: int | None
) -> None:
    assert expected_version(if_match, sent) == expected


def test_check_version_is_422_without_a_version_and_409_when_stale() -> None:
    check_version(2, expected_version(None, 2), "deal")
    with pytest.raises(ValidationFailed) as missing:
        check_version(2, expected_version(None, None), "deal")
    assert [error.field for error in missing.value.errors] == ["version"]
    with pytest.raises(StaleVersion):
        check_version(2, expected_version(1, 2), "deal")


def test_no_handler_picks_the_version_by_hand() -> None:
    """Every API handler reads the expected version through `expected_version`."""
    by_hand = re.compile(r"if_match\s+if\s+if_match\s+is\s+not\s+None")
    offenders = [
        str(path.relative_to(BATON))
        for path in sorted(BATON.glob("*/api.py"))
        if by_hand.search(path.read_text())
    ]
    assert offenders == []
