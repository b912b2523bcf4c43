"""Tenants, users, memberships, credentials and per-tenant settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from baton.core.ids import uuid7
from baton.core.locales import DEFAULT_LOCALE, MAX_LOCALE_LENGTH
from baton.db.base import Base, TenantKeyed, Timestamped, Versioned, enum_check
from baton.notifications.models import EMAILED_KINDS

# CHECK body: only emailed kinds can be muted (the list is the enum's, in Python).
MUTED_EMAILS_VALID = "muted_emails <@ ARRAY[{}]::varchar[]".format(
    ", ".join(f"'{kind.value}'" for kind in sorted(EMAILED_KINDS))
)


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    MARKETING = "marketing"
    SALES = "sales"
    VIEWER = "viewer"


class CredentialKind(StrEnum):
    BEARER = "bearer"
    SESSION = "session"


SLUG_PATTERN = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"

# The claim SLA of the sales pool, in hours: a day unless the organization says
# otherwise, at most 30 days (beyond that a pooled lead is forgotten, not waiting).
DEFAULT_CLAIM_SLA_HOURS = 24
MAX_CLAIM_SLA_HOURS = 720
# After a pooled lead's first escalation, how long until the managers are told again.
DEFAULT_CLAIM_ESCALATION_HOURS = 24
# How long soft-deleted records are kept before the purge sweep removes them.
DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650
# How long the audit trail keeps a change (DESIGN §3.3: two years by default; deletes
# and user removals are kept for good whatever it says). At least 30 days: a shorter
# trail would not cover a month's review.
DEFAULT_AUDIT_RETENTION_DAYS = 730
MIN_AUDIT_RETENTION_DAYS = 30


class Tenant(Timestamped, Versioned, Base):
    __tablename__ = "tenants"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),
        {"info": {"tenancy": "global"}},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)


class User(Timestamped, Versioned, Base):
    """A login. It sees a tenant only through a membership in it."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="email_normalised"),
        CheckConstraint("length(btrim(full_name)) BETWEEN 1 AND 200", name="full_name_length"),
        {"info": {"tenancy": "global"}},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    password_changed_at: Mapped[datetime | None]
    # Two-factor sign-in (identity.totp): the base32 secret sealed with the app secret
    # (identity.sealing: AES-GCM, `v1.<key id>.…`), set when set-up begins and
    # in force once confirmed (`totp_enabled_at`); the last step a code was accepted
    # for (a code works once); the SHA-256 of each unused recovery code.
    totp_secret: Mapped[str | None] = mapped_column(String(128))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_recovery_hashes: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), server_default=text("'{}'")
    )


class Membership(TenantKeyed, Timestamped, Versioned, Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint(enum_check("role", Role), name="role_valid"),
        CheckConstraint(
            "timezone IS NULL OR length(timezone) BETWEEN 1 AND 64", name="timezone_length"
        ),
        CheckConstraint(MUTED_EMAILS_VALID, name="muted_emails_valid"),
        {"info": {"tenancy": "tenant"}},
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # The member's IANA time zone for what pages show and take; null: the organization's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The notification kinds the member does not want by email (in the app they stay).
    muted_emails: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default=text("'{}'"))
    # When the welcome email of this membership went out (null: not sent, or no SMTP).
    welcome_sent_at: Mapped[datetime | None]


class TenantSettings(Timestamped, Versioned, Base):
    """One row per tenant: the defaults every new record of the tenant takes.

    `claim_sla_hours` is how long a lead may wait in the sales pool before its claim
    is overdue; it is read when a lead enters the pool, so a change applies to leads
    pooled afterwards and existing entries keep their due time. Once overdue, the
    claim SLA sweep tells the managers and admins, and again every
    `claim_escalation_hours` while the lead stays unclaimed (read at each sweep).
    `winback_cadence_id` is the cadence the winback sweep enrols an account in when
    its status turns inactive or winback target (null: the sweep does nothing).
    `locale` is how the organization's pages write money and read typed amounts.
    `retention_days` is how long a soft-deleted record is kept (restorable) before the
    purge sweep deletes it for good with its dependants; `audit_retention_days` how
    long the retention sweep keeps the organization's audit rows (deletes and user
    removals excepted: kept for good).
    """

    __tablename__ = "tenant_settings"
    __table_args__ = (
        CheckConstraint("default_currency ~ '^[A-Z]{3}$'", name="currency_format"),
        CheckConstraint("length(timezone) BETWEEN 1 AND 64", name="timezone_length"),
        CheckConstraint(f"length(locale) BETWEEN 2 AND {MAX_LOCALE_LENGTH}", name="locale_length"),
        CheckConstraint(
            f"claim_sla_hours BETWEEN 1 AND {MAX_CLAIM_SLA_HOURS}", name="claim_sla_hours_range"
        ),
        CheckConstraint(
            f"claim_escalation_hours BETWEEN 1 AND {MAX_CLAIM_SLA_HOURS}",
            name="claim_escalation_hours_range",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "winback_cadence_id"], ["cadences.tenant_id", "cadences.id"]
        ),
        CheckConstraint(
            f"retention_days BETWEEN 1 AND {MAX_RETENTION_DAYS}", name="retention_days_range"
        ),
        CheckConstraint(
            f"audit_retention_days BETWEEN {MIN_AUDIT_RETENTION_DAYS} AND {MAX_RETENTION_DAYS}",
            name="audit_retention_days_range",
        ),
        {"info": {"tenancy": "tenant"}},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id"), primary_key=True, sort_order=-20
    )
    default_currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    # How pages write money and read typed amounts (`baton.core.locales`, a BCP 47 tag).
    locale: Mapped[str] = mapped_column(
        String(MAX_LOCALE_LENGTH), server_default=text(f"'{DEFAULT_LOCALE}'")
    )
    # The database default fills the rows that predate the setting and any raw INSERT
    # that omits it; registration sets it explicitly.
    claim_sla_hours: Mapped[int] = mapped_column(
        Integer, server_default=text(str(DEFAULT_CLAIM_SLA_HOURS))
    )
    claim_escalation_hours: Mapped[int] = mapped_column(
        Integer, server_default=text(str(DEFAULT_CLAIM_ESCALATION_HOURS))
    )
    winback_cadence_id: Mapped[uuid.UUID | None]
    retention_days: Mapped[int] = mapped_column(
        Integer, server_default=text(str(DEFAULT_RETENTION_DAYS))
    )
    audit_retention_days: Mapped[int] = mapped_column(
        Integer, server_default=text(str(DEFAULT_AUDIT_RETENTION_DAYS))
    )
    # Admins without two-factor sign-in are sent to set it up once signed in.
    require_admin_totp: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class AccessToken(TenantKeyed, Base):
    """An opaque bearer token or web session; only its SHA-256 is stored."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint(enum_check("kind", CredentialKind), name="kind_valid"),
        CheckConstraint("octet_length(token_hash) = 32", name="token_hash_length"),
        Index("ix_access_tokens_tenant_id_membership_id", "tenant_id", "membership_id"),
        {"info": {"tenancy": "tenant"}},
    )

    membership_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # Indexed for the retention sweep, which deletes expired rows in small batches.
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))


class ApiKey(TenantKeyed, Base):
    """A long-lived key acting as its user; shown once, stored as SHA-256."""

    __tablename__ = "api_keys"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "membership_id"],
            ["memberships.tenant_id", "memberships.id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("tenant_id", "key_hash"),
        CheckConstraint("length(btrim(name)) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("octet_length(key_hash) = 32", name="key_hash_length"),
        Index("ix_api_keys_tenant_id_membership_id", "tenant_id", "membership_id"),
        {"info": {"tenancy": "tenant"}},
    )

    membership_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(24))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    revoked_at: Mapped[datetime | None]


# How long an invitation's link may be used.
INVITATION_TTL_DAYS = 7


class InvitationStatus(StrEnum):
    """Derived, never stored: what the row's timestamps say at a moment."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Invitation(TenantKeyed, Timestamped, Versioned, Base):
    """A one-time link an admin gives someone to join the organization with `role`.

    Only the link token's SHA-256 is stored (`credentials.invitation_token`); a new
    link (resend) replaces the digest and counts `link_serial` up, so the old link is
    void. Used once (`accepted_at`), revocable (`revoked_at`), good until `expires_at`.
    At most one open (neither accepted nor revoked) invitation per email.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        CheckConstraint(enum_check("role", Role), name="role_valid"),
        CheckConstraint("octet_length(token_hash) = 32", name="token_hash_length"),
        CheckConstraint("link_serial >= 1", name="link_serial_positive"),
        CheckConstraint("accepted_at IS NULL OR revoked_at IS NULL", name="accepted_or_revoked"),
        CheckConstraint(
            "(accepted_at IS NULL) = (accepted_user_id IS NULL)", name="accepted_by_someone"
        ),
        Index(
            "uq_invitations_tenant_id_email_open",
            "tenant_id",
            "email",
            unique=True,
            postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
        ),
        {"info": {"tenancy": "tenant"}},
    )

    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    link_serial: Mapped[int] = mapped_column(Integer, server_default="1")
    # The serial whose link went out by email (null: none did, or no SMTP).
    link_emailed_serial: Mapped[int | None] = mapped_column(Integer)
    invited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    def status_at(self, now: datetime) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING
