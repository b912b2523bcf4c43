"""Request and response shapes for auth, users and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints

from baton.core import locales
from baton.core.schemas import Email, Name, PresentedPassword, Schema, ShortText
from baton.identity.common_passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    refuse_common,
)
from baton.identity.models import (
    MAX_CLAIM_SLA_HOURS,
    MAX_RETENTION_DAYS,
    MIN_AUDIT_RETENTION_DAYS,
    InvitationStatus,
    Role,
)

TenantSlug = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=63)
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A password being set (registration, a new member, a change): at least 12 characters
# and not a common one (`baton.identity.common_passwords`). Sign-in takes any length.
Password = Annotated[
    str,
    StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    AfterValidator(refuse_common),
]


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_timezone(name: str) -> str:
    if name not in _timezones():
        raise ValueError("is not a known IANA time zone (e.g. Europe/Berlin)")
    return name


Timezone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_timezone),
    Field(
        description="An IANA time zone name, as in the tz database (`Europe/Berlin`,"
        " `America/New_York`, `UTC`); an offset such as `+01:00` is not a time zone.",
        examples=["Europe/Berlin"],
    ),
]


_LOCALES = " (e.g. de-DE, en-US, fr-FR)"


def _known_locale(tag: str) -> str:
    found = locales.canonical(tag)
    if found is None:
        raise ValueError("is not a language and region money can be written in here" + _LOCALES)
    return found


Locale = Annotated[
    str,
    StringConstraints(min_length=2, max_length=locales.MAX_LOCALE_LENGTH),
    AfterValidator(_known_locale),
    Field(
        description="A BCP 47 language tag with a region (`de-DE`, `en-US`, `fr-FR`) that"
        " the server has CLDR data for: how pages, emails and charts write money"
        " (`1.250,00 €` in `de-DE`, `€1,250.00` in `en-US`) and how forms read a typed"
        " amount. Stored in canonical case (`DE-de` → `de-DE`). Exports and the API keep"
        " plain decimal numbers whatever it is.",
        examples=["de-DE"],
    ),
]


ClaimSlaHours = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_CLAIM_SLA_HOURS,
        description="Hours a lead may wait in the sales pool before its claim is overdue",
    ),
]
ClaimEscalationHours = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_CLAIM_SLA_HOURS,
        description="Hours between the notices to managers and admins about a pooled lead "
        "that stays unclaimed past its claim due time",
    ),
]
RetentionDays = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Days a soft-deleted record stays restorable before it is purged",
    ),
]
AuditRetentionDays = Annotated[
    int,
    Field(
        ge=MIN_AUDIT_RETENTION_DAYS,
        le=MAX_RETENTION_DAYS,
        description="Days the audit trail keeps a change before the retention sweep removes "
        "it (deletes and user removals are kept for good)",
    ),
]
RowVersion = Annotated[int, Field(ge=1, le=2_147_483_647)]


class RegistrationIn(Schema):
    organization_name: Name
    full_name: Name
    email: Email
    password: Password
    default_currency: Currency = "USD"
    timezone: Timezone = "UTC"


class TenantOut(Schema):
    id: uuid.UUID
    name: str
    slug: str


class UserOut(Schema):
    id: uuid.UUID
    email: str
    full_name: str


class RegistrationOut(Schema):
    tenant: TenantOut
    user: UserOut
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class LoginIn(Schema):
    email: Email
    password: PresentedPassword
    tenant: TenantSlug | None = None
    totp_code: str | None = Field(
        default=None,
        max_length=32,
        description="The 6-digit code of the login's authenticator app, or one of its "
        "recovery codes: required once two-factor sign-in is on (else 401 "
        "`totp-required`)",
    )


class TokenOut(Schema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    tenant: TenantOut
    totp_setup_required: bool = Field(
        default=False,
        description="The organization requires two-factor sign-in of admins and this "
        "admin has none yet: set it up (POST /me/totp)",
    )


class TotpSetupOut(Schema):
    """A new authenticator secret, not yet in force: confirm it with a code."""

    secret: str
    otpauth_uri: str


class TotpCodeIn(Schema):
    code: str = Field(min_length=1, max_length=32)


class RecoveryCodesOut(Schema):
    """Shown once: each signs in once in place of a code."""

    recovery_codes: list[str]


class TotpDisableIn(Schema):
    password: PresentedPassword


class MeOut(Schema):
    user: UserOut
    tenant: TenantOut
    role: Role
    auth_method: str
    # The zone the member's pages show and read times in: their own, else the
    # organization's (`PATCH /me`). The API's own times are always UTC.
    timezone: str
    email_notifications: EmailNotifications


class EmailNotifications(Schema):
    """Which notifications the member gets by email too (when the server sends
    email); in the app they get every one."""

    assignment: bool = Field(description="A lead, deal or work item given to them")
    escalation: bool = Field(
        description="A pooled lead past its claim due time (managers and admins)"
    )
    digest: bool = Field(description="The daily digest of their deals with an overdue next step")


class EmailNotificationsPatch(Schema):
    """Only the kinds sent change."""

    assignment: bool | None = None
    escalation: bool | None = None
    digest: bool | None = None


class MePatch(Schema):
    """A member's own settings; only the fields sent change. `timezone` null: the
    organization's."""

    timezone: Timezone | None = None
    email_notifications: EmailNotificationsPatch | None = None


class PasswordChangeIn(Schema):
    current_password: PresentedPassword
    new_password: Password


class MemberIn(Schema):
    """A member added at once, for scripts that provision logins (people are invited
    with `InvitationIn`). An email that already has a login joins with it; a new
    login needs `password`."""

    email: Email
    full_name: Name
    role: Role
    password: Password | None = Field(
        default=None,
        description="The new login's first password (≥ 12 characters, not a common one);"
        " required only when the email has no login yet",
    )


class InvitationIn(Schema):
    email: Email
    full_name: Name = Field(description="The name the invitation greets; the invitee confirms it")
    role: Role


class InvitationOut(Schema):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    status: InvitationStatus = Field(
        description="pending (the link works), accepted, revoked, or expired"
    )
    invited_by: uuid.UUID
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class InvitationLinkOut(InvitationOut):
    """An invitation with its link, answered once (only a digest is stored)."""

    accept_url: str = Field(
        description="The one-time link to hand the invitee: valid 7 days, once; a resend voids it"
    )
    token: str = Field(description="The link's token, for `POST /api/v1/invitations/accept`")


class NewPasswordIn(Schema):
    """The password a new login chooses: the sign-up rules."""

    password: Password


class InvitationAcceptIn(Schema):
    token: str = Field(min_length=1, max_length=200, description="The token of the link")
    password: PresentedPassword = Field(
        description="A new login chooses its password (≥ 12 characters, not a common one);"
        " an email that already has a login gives that login's password"
    )
    full_name: Name | None = Field(
        default=None, description="The new login's name (default: the invitation's)"
    )
    totp_code: str | None = Field(
        default=None,
        max_length=32,
        description="An existing login with two-factor sign-in: its code",
    )


class MemberPatch(Schema):
    role: Role
    version: int | None = Field(default=None, ge=1, le=2_147_483_647)


class MemberOut(Schema):
    id: uuid.UUID = Field(description="The user's id")
    membership_id: uuid.UUID
    email: str
    full_name: str
    role: Role
    created_at: datetime
    updated_at: datetime
    version: int


class ApiKeyIn(Schema):
    name: ShortText


class ApiKeyOut(Schema):
    id: uuid.UUID
    name: str
    prefix: str
    user_id: uuid.UUID
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="Shown once; only its hash is stored")


class SettingsOut(Schema):
    """The organization's settings: the defaults its new records take."""

    default_currency: str
    timezone: str
    locale: str = Field(
        description="How pages, emails and charts write money and forms read typed amounts"
        " (BCP 47, e.g. `de-DE`: `1.250,00 €`); the API and exports keep plain decimals",
        examples=["de-DE"],
    )
    claim_sla_hours: int = Field(
        description="Applies to leads entering the sales pool from now on; pooled leads "
        "keep the claim due time they got"
    )
    claim_escalation_hours: int = Field(
        description="A pooled lead past its claim due time is escalated to managers and "
        "admins (one notification each), then again every this many hours while unclaimed"
    )
    winback_cadence_id: uuid.UUID | None = Field(
        description="The cadence an account is enrolled in when its status turns inactive "
        "or winback target (once per lapse); null: no winback enrolment"
    )
    retention_days: int = Field(
        description="A record soft-deleted this many days ago is purged with its dependants "
        "(no restore after that); each purged row leaves its delete in the audit log"
    )
    audit_retention_days: int = Field(
        description="Audit rows older than this many days are removed by the retention "
        "sweep, except deletes and user removals (kept for good)"
    )
    require_admin_totp: bool = Field(
        description="Admins without two-factor sign-in are sent to set it up once signed in"
    )
    updated_at: datetime
    version: int


class SettingsPatch(Schema):
    """Only the fields sent change (none may be cleared); send the version you edited."""

    default_currency: Currency | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    claim_sla_hours: ClaimSlaHours | None = None
    claim_escalation_hours: ClaimEscalationHours | None = None
    # The one setting that may be cleared (null: no winback cadence).
    winback_cadence_id: uuid.UUID | None = None
    retention_days: RetentionDays | None = None
    audit_retention_days: AuditRetentionDays | None = None
    require_admin_totp: bool | None = None
    version: RowVersion | None = None
