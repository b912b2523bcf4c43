"""Imports every domain's tables so metadata (Alembic, grants, catalog tests) sees them all."""

from baton.audit.models import AuditEntry
from baton.core.models import IdempotencyRecord, RateLimitBucket
from baton.identity.models import AccessToken, ApiKey, Membership, Tenant, TenantSettings, User

__all__ = [
    "AccessToken",
    "ApiKey",
    "AuditEntry",
    "IdempotencyRecord",
    "Membership",
    "RateLimitBucket",
    "Tenant",
    "TenantSettings",
    "User",
]
