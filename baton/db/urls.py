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


# The app role's URL says so when it goes through a transaction-mode pooler
# (PgBouncer's `pool_mode = transaction`): `?pooler=transaction`. `Database` then
# keeps no prepared statement across transactions (`baton.db.engine`); the flag
# itself never reaches a server.
POOLER_FLAG = "pooler"
TRANSACTION_POOLER = "transaction"


def through_pooler(url: URL) -> bool:
    """Whether `url` goes through a transaction-mode pooler (`?pooler=transaction`)."""
    flag = url.query.get(POOLER_FLAG)
    if flag is None:
        return False
    if flag != TRANSACTION_POOLER:
        raise ValueError(f"?{POOLER_FLAG}= takes {TRANSACTION_POOLER!r} only, not {flag!r}")
    return True


def without_pooler_flag(url: URL) -> URL:
    return url.difference_update_query([POOLER_FLAG])


def worker_url(settings: Settings) -> URL:
    """The job queue's connection (`BATON_WORKER_DATABASE_URL`, else the app's): it
    LISTENs and holds locks between statements, so never through a pooler."""
    if settings.worker_database_url:
        return _asyncpg(make_url(settings.worker_database_url))
    url = app_url(settings)
    if through_pooler(url):
        raise ValueError(
            "BATON_APP_DATABASE_URL goes through a pooler (?pooler=transaction): set "
            "BATON_WORKER_DATABASE_URL to a direct connection as the app role for the worker"
        )
    return url


def _asyncpg(url: URL) -> URL:
    if url.drivername in ("postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        return url.set(drivername="postgresql+asyncpg")
    return url


def libpq_dsn(url: URL) -> str:
    """The same URL as plain libpq/asyncpg DSN (for pg_dump, psql and raw asyncpg)."""
    plain = without_pooler_flag(url).set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)
