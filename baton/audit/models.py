"""The audit log: one row per data change (written by trigger) or security event."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from baton.db.base import Base, enum_check


class AuditAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    SECURITY = "security"


class SecurityEvent(StrEnum):
    LOGIN_OK = "login.ok"
    LOGIN_FAILED = "login.failed"
    # A bearer token or web session ends; details.method says which.
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password.changed"
    # LOGIN_OK issues a bearer token; SESSION_CREATED a web session.
    SESSION_CREATED = "session.created"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    # A member added, or someone invited (details say which: `user_id` or `invitation_id`).
    USER_INVITED = "user.invited"
    # An invitation's link issued again (the old one void), withdrawn, or used to join.
    INVITATION_RESENT = "invitation.resent"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_REMOVED = "user.removed"
    PERMISSION_DENIED = "permission.denied"
    RATE_LIMITED = "rate_limit.hit"
    TENANT_REGISTERED = "tenant.registered"
    # Two-factor sign-in turned on or off, a recovery code spent signing in.
    TOTP_ENABLED = "totp.enabled"
    TOTP_DISABLED = "totp.disabled"
    RECOVERY_CODE_USED = "totp.recovery_code_used"
    # A list downloaded (`baton.exports`): details say which, with which filters.
    EXPORTED = "export"


# The rows the audit retention may remove once old enough (DESIGN §3.3 keeps deletes
# and user removals for good): the predicate of `ix_audit_log_at_expirable`, and of
# `baton_retention_sweep('audit_log', …)`.
EXPIRABLE_AUDIT = "action <> 'delete' AND event IS DISTINCT FROM 'user.removed'"


class AuditEntry(Base):
    """Append-only. The app role may INSERT here and nothing else.

    `tenant_id` is NULL only for security events that belong to no tenant (a failed
    login for an unknown email).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(enum_check("action", AuditAction), name="action_valid"),
        CheckConstraint("(action = 'security') = (event IS NOT NULL)", name="event_iff_security"),
        Index(
            "ix_audit_log_tenant_id_table_name_row_id_at", "tenant_id", "table_name", "row_id", "at"
        ),
        Index("ix_audit_log_tenant_id_at", "tenant_id", "at"),
        Index("ix_audit_log_tenant_id_id", "tenant_id", "id"),
        Index("ix_audit_log_at_expirable", "at", postgresql_where=text(EXPIRABLE_AUDIT)),
        {"info": {"tenancy": "global", "app_privileges": ("INSERT",)}},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tenant_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    action: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(64))
    table_name: Mapped[str | None] = mapped_column(String(63))
    row_id: Mapped[uuid.UUID | None]
    changed_columns: Mapped[list[str] | None] = mapped_column(ARRAY(String(63)))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actor_user_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
