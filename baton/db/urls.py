"""Owner and app-role connection URLs."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.engine import URL, make_url

from baton.config import Settings
from baton.db.embedded import embedded_owner_url


def owner_url(settings: Settings) -> URL:
    """The URL migrations run with: `BATON_DATABASE_URL`, or the embedded server."""
    raw = settings.database_url or embedded_owner_url(settings.data_dir)
    return _asyncpg(make_url(raw))


def app_role_password(settings: Settings) -> str:
    digest = hmac.new(
        settings.resolved_secret_key().encode(), b"baton app role password", hashlib.sha256
    )
    return digest.hexdigest()


def app_url(settings: Settings, owner: URL | None = None) -> URL:
    """The URL the service connects with: the non-owner, non-BYPASSRLS app role."""
    if settings.app_database_url:
        return _asyncpg(make_url(settings.app_database_url))
    base = owner if owner is not None else owner_url(settings)
    return base.set(username=settings.app_db_role, password=app_role_password(settings))


def replica_app_url(settings: Settings) -> URL | None:
    """The replica's URL as the app role (a physical replica has the primary's roles
    and passwords): its host, port and database with the app URL's user and password."""
    if not settings.database_replica_url:
        return None
    replica = _asyncpg(make_url(settings.database_replica_url))
    app = app_url(settings)
    return replica.set(username=app.username, password=app.password)


def _asyncpg(url: URL) -> URL:
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        return url.set(drivername="postgresql+asyncpg")
    return url


def libpq_dsn(url: URL) -> str:
    """The same URL as plain libpq/asyncpg DSN (for pg_dump, psql and raw asyncpg)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
