"""How pages name what a refusal is about: field paths as a form labels them."""

from __future__ import annotations

import pytest

from baton.web.formatting import change_value, field_name


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("company_name", "Company name"),
        ("fields.expected_close_date", "Expected close date"),
        ("next.subject", "Subject"),
        ("owner_id", "Owner"),
        ("to_step_id", "Stage"),
        ("conditions.reason_labels", "Reason labels"),
        ("probability", "Probability (%)"),
        ("If-Match", "Version"),
    ],
)
def test_a_field_path_reads_as_a_label(path: str, shown: str) -> None:
    assert field_name(path) == shown


def test_a_json_value_of_the_trail_reads_as_json() -> None:
    """A transition's conditions changed: shown as JSON, not as Python's repr."""
    assert change_value({"reasons": ["no_budget"]}) == '{"reasons": ["no_budget"]}'
    assert change_value(["a", "b"]) == '["a", "b"]'
    assert change_value(None) == "—"
    assert change_value(True) == "yes"
