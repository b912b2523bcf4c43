"""Declarative base, naming convention and the column shapes every table shares.

Table kinds are declared in `__table_args__["info"]["tenancy"]`:
- ``tenant``: business data. PK ``(tenant_id, id)``, composite FKs, RLS forced,
  audited by the generic trigger.
- ``tenant_operational``: per-tenant bookkeeping (idempotency keys): RLS forced,
  keys include ``tenant_id``, not audited.
- ``global``: tenants, users and operational tables shared by every tenant.
The catalog tests walk the database and hold every table to the rules of its kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from sqlalchemy import (
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Update,
    func,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from baton.core.ids import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {uuid.UUID: UUID(as_uuid=True), datetime: DateTime(timezone=True)}

    @classmethod
    def detached(cls, values: Mapping[str, Any]) -> Self:
        """An instance outside any session holding `values` (attribute names) as if
        loaded: for answers built from a Core or driver row. The constructor's
        attribute events cost ~30 times as much (~50 µs a deal), twice per move."""
        instance: Self = cls.__mapper__.class_manager.new_instance()
        instance.__dict__.update(values)
        return instance


def enum_check(column: str, enum: type[StrEnum]) -> str:
    """CHECK body listing an enum's values: the enum in Python is the only source."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


def tenancy(kind: str, **extra: Any) -> dict[str, Any]:
    return {"info": {"tenancy": kind, **extra}}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Versioned:
    """Optimistic locking: every UPDATE checks and bumps `version` (stale → 409)."""

    version: Mapped[int] = mapped_column(Integer, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # eager_defaults: INSERT/UPDATE … RETURNING the server-set columns, instead of
        # a refresh SELECT when they are read afterwards.
        return {
            "version_id_col": cls.__table__.c.version,  # type: ignore[attr-defined]
            "eager_defaults": True,
        }


class TenantKeyed:
    """PK ``(tenant_id, id)`` with a UUIDv7 id; `tenant_id` references the tenant."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("tenants.id"), primary_key=True, sort_order=-20)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7, sort_order=-10)


def restore_deleted(table: Table, deletion_id: uuid.UUID) -> Update:
    """The UPDATE bringing back the rows of a soft-deleting `table` that one deletion
    took (those carrying its `deletion_id`), bumping their versions; rows deleted under
    any other id stay deleted."""
    return (
        update(table)
        .where(table.c.deletion_id == deletion_id)
        .values(
            version=table.c.version + 1,
            deleted_at=None,
            deleted_by=None,
            deletion_id=None,
            updated_at=func.now(),
        )
    )


def import_batch_refs(table: str) -> tuple[Any, Any]:
    """The foreign key and partial index a table that imports write carries: each row
    an import batch created or updated names it (`import_batch_id`), so the batch's
    undo finds exactly its rows (`baton.imports`)."""
    return (
        ForeignKeyConstraint(
            ["tenant_id", "import_batch_id"], ["import_batches.tenant_id", "import_batches.id"]
        ),
        Index(
            f"ix_{table}_import_batch",
            "tenant_id",
            "import_batch_id",
            postgresql_where=text("import_batch_id IS NOT NULL"),
        ),
    )
