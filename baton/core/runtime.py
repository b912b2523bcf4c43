"""What one running app holds: settings, the database, metrics, the secret."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import Scope

from baton.config import Settings
from baton.core.context import Ctx
from baton.core.driver_transaction import BodyTest
from baton.core.errors import DomainError
from baton.core.metrics import Metrics
from baton.db.engine import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    metrics: Metrics
    secret_key: str
    # Routes that run in a transaction on the driver (`baton.core.driver_transaction`),
    # each with the test of the request bodies that do.
    driver_transaction_paths: tuple[tuple[re.Pattern[str], BodyTest], ...] = ()
    # GET routes served from the replica when there is one (`baton.core.replica`).
    replica_paths: tuple[re.Pattern[str], ...] = ()
    # How a page request's error is answered (`app._render`: an error page in the
    # layout, a toast fragment, a redirect to sign-in); set by `create_app`, so the
    # middleware's own refusals (CSRF, commit-time failures, a 500) are pages too.
    render_error: Callable[[Scope, DomainError], Response] | None = None
    # What every whole page shows besides its own content (the notification bell's
    # count): each loader runs in the request's transaction after sign-in, for a
    # signed-in page request that is not an htmx fragment, and its values join the
    # template context of `baton.web.rendering.render`.
    page_loaders: tuple[Callable[[Ctx], Awaitable[dict[str, Any]]], ...] = ()
