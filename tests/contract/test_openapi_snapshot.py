"""docs/openapi.json is the document the app serves: a change to the API shows in the
diff of a commit, on purpose (issue 20 #11)."""

from __future__ import annotations

import json
from pathlib import Path

from baton.app import openapi_document

CHECKED_IN = Path(__file__).parents[2] / "docs" / "openapi.json"
REGENERATE = "make openapi  (or: .venv/bin/baton openapi > docs/openapi.json)"


def _changed(old: dict[str, object], new: dict[str, object]) -> list[str]:
    paths = sorted(set(old.get("paths", {})) ^ set(new.get("paths", {})))  # type: ignore[arg-type]
    old_schemas = old.get("components", {}).get("schemas", {})  # type: ignore[attr-defined]
    new_schemas = new.get("components", {}).get("schemas", {})  # type: ignore[attr-defined]
    schemas = sorted(
        name
        for name in set(old_schemas) | set(new_schemas)
        if old_schemas.get(name) != new_schemas.get(name)
    )
    return [f"paths added or removed: {paths}", f"schemas changed: {schemas[:20]}"]


def test_the_checked_in_document_is_the_served_one() -> None:
    served = openapi_document()
    checked_in = json.loads(CHECKED_IN.read_text())
    assert checked_in == served, (
        "docs/openapi.json differs from the document the app serves; if the API change is "
        f"deliberate, re-export it with `{REGENERATE}` and commit it. "
        + "; ".join(_changed(checked_in, served))
    )


def test_the_export_is_byte_for_byte_what_baton_openapi_prints() -> None:
    # The file is the command's output, so a re-export shows only real changes.
    printed = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    assert CHECKED_IN.read_text() == printed, f"re-export with `{REGENERATE}`"
