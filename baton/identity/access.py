"""Role checks shared by every domain's services."""

from __future__ import annotations

from baton.core.context import Ctx, Principal
from baton.core.errors import PermissionDenied
from baton.identity.models import Role

# Roles that may change data; viewers read only.
WRITERS = (Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES)


def require_role(ctx: Ctx, *roles: Role) -> Principal:
    """The principal, if its role is one of `roles`; otherwise 403 (and audited)."""
    principal = ctx.require_principal()
    if principal.role not in roles:
        raise PermissionDenied(f"Role '{principal.role}' may not do this")
    return principal
