"""Generic work items: records of an admin-defined project type, governed by its workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db import search
from baton.db.base import Base, TenantKeyed, Timestamped, Versioned


class WorkItem(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "work_items"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "project_type_id"], ["project_types.tenant_id", "project_types.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "workflow_id"], ["workflows.tenant_id", "workflows.id"]),
        # The step must belong to the record's own workflow.
        ForeignKeyConstraint(
            ["tenant_id", "workflow_id", "step_id"],
            ["workflow_steps.tenant_id", "workflow_steps.workflow_id", "workflow_steps.id"],
        ),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(
            "description IS NULL OR length(description) <= 10000", name="description_length"
        ),
        CheckConstraint("jsonb_typeof(metadata) = 'object'", name="metadata_object"),
        Index(
            "ix_work_items_board",
            "tenant_id",
            "workflow_id",
            "step_id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Words anywhere in the name: the one-box search (`baton.db.search`).
        *search.indexes("work_items", phone=False),
        {"info": {"tenancy": "tenant", "governed": "work_item"}},
    )

    project_type_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    search_doc: Mapped[str] = search.document_column(search.WORK_ITEMS)
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # No server defaults: the service sets workflow and step from the project type.
    workflow_id: Mapped[uuid.UUID]
    step_id: Mapped[uuid.UUID]
    # Set by the govern_step trigger on every step change; fetched back by RETURNING.
    entered_step_at: Mapped[datetime] = mapped_column(server_onupdate=FetchedValue())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    # Soft delete: history and activities keep pointing at a row that still exists.
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
