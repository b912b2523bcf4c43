"""The "Stage changed" entry every governed record's step change writes on its timeline.

Deals, work items, leads and targets each move in one statement: an UPDATE of the
record in a CTE, and this INSERT of the system activity reading from it. The
statement builder lives here, apart from the activities service, so the services
that build their move statements at import time can use it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table, func, insert, literal, select

from baton.activities.models import Activity, ActivityStatus, ActivityType
from baton.workflow.engine import Move

ACTIVITIES: Table = Activity.__table__  # type: ignore[assignment]


def stage_change_subject(move: Move) -> str:
    return f"Stage changed: {move.from_step.name} → {move.to_step.name}"


def stage_change_entry(
    moved: Any,
    links: Mapping[str, ColumnElement[Any]],
    *,
    activity_id: ColumnElement[Any],
    subject: ColumnElement[Any],
    actor: ColumnElement[Any],
    description: ColumnElement[Any] | None = None,
    only_if: ColumnElement[bool] | None = None,
) -> Insert:
    """The INSERT … SELECT of the system activity for the record in the CTE `moved`:
    done now, written and owned by `actor`, pointing at the record through `links`
    (activity column → a column of `moved`). The bind parameters are the caller's, so
    each move statement keeps its own names; `only_if` skips the entry (a reorder)."""
    values: dict[str, Any] = {
        "tenant_id": moved.c.tenant_id,
        "id": activity_id,
        "type": literal(ActivityType.SYSTEM.value),
        "status": literal(ActivityStatus.DONE.value),
        "subject": subject,
        **({"description": description} if description is not None else {}),
        "completed_at": func.now(),
        "owner_id": actor,
        "created_by": actor,
        **links,
    }
    rows = select(*values.values())
    if only_if is not None:
        rows = rows.where(only_if)
    return insert(ACTIVITIES).from_select(list(values), rows)
