"""Two-factor enrolment required of admins: what a sign-in may reach until then.

When an organization requires two-factor sign-in of admins (`require_admin_totp`), an
admin who has not turned it on is `Principal.second_factor_due` (answered by
`baton_authenticate` in the request's one authentication round trip). Their sign-ins
— the web session and bearer tokens from `POST /auth/login` — reach only the
enrolment (My account and its two-factor forms; `POST /me/totp`, `/me/totp/confirm`,
`GET /me`) and sign-out; anything else is `403 totp-enrolment-required`, and a web
page is answered with a redirect to the enrolment page. It is checked in the request's
unit of work (`baton.core.request_transaction`), for every route at once, so a new
route cannot forget it.

API keys are not sign-ins: keys made before the organization required it keep working
(integrations do not stop), but an admin whose enrolment is due cannot make new ones
(`identity.service.create_api_key`), whatever credential asks.
"""

from __future__ import annotations

from baton.core.context import AuthMethod, Principal
from baton.core.errors import PermissionDenied

# (method, path) a due sign-in may still reach.
ENROLMENT_ROUTES = frozenset(
    {
        ("GET", "/account"),
        ("POST", "/account/totp/begin"),
        ("POST", "/account/totp/confirm"),
        ("POST", "/logout"),
        # Signing in again (as another login, or after enrolling elsewhere).
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/me/totp"),
        ("POST", "/api/v1/me/totp/confirm"),
        ("POST", "/api/v1/auth/logout"),
    }
)
# Where a web page sends a due admin.
ENROLMENT_PAGE = "/account?totp_setup=1"
_SIGN_INS = frozenset({AuthMethod.SESSION, AuthMethod.BEARER})


class EnrolmentRequired(PermissionDenied):
    """403 `totp-enrolment-required`: enrol in two-factor sign-in first."""

    slug = "totp-enrolment-required"
    title = "Two-factor sign-in required"

    def __init__(self) -> None:
        super().__init__(
            "Your organization requires two-factor sign-in for admins: turn it on first"
            " (My account, or POST /api/v1/me/totp then /api/v1/me/totp/confirm)"
        )


def refuses(principal: Principal | None, method: str, path: str) -> bool:
    """A sign-in of an admin whose enrolment is due, asking for anything but the
    enrolment or sign-out."""
    return (
        principal is not None
        and principal.second_factor_due
        and principal.method in _SIGN_INS
        and (method, path) not in ENROLMENT_ROUTES
    )


def require_enrolled(principal: Principal) -> None:
    """Refuse (403) what an admin whose enrolment is due may not do with any
    credential (making API keys)."""
    if principal.second_factor_due:
        raise EnrolmentRequired()
