"""Settings from the environment (`BATON_` prefix) with safe laptop defaults."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_FILE = "secret_key"


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"
    TEST = "test"


class WorkerMode(StrEnum):
    """Whether `baton serve` runs a job worker in its own process."""

    # One worker inside the server: a laptop's `make run` does everything.
    INLINE = "inline"
    # No worker in the server: a deployment runs `baton worker` processes instead.
    OFF = "off"


class Settings(BaseSettings):
    # A refused value is not echoed: it may hold a password (BATON_SMTP_URL, the
    # database URLs) and the error lands in logs.
    model_config = SettingsConfigDict(
        env_prefix="BATON_", extra="ignore", hide_input_in_errors=True
    )

    env: Environment = Environment.DEV
    # Unset: an embedded PostgreSQL is started under `data_dir`.
    database_url: str | None = None
    data_dir: Path = Path(".baton")
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    # Secrets this deployment used before `secret_key`, as a JSON list: values sealed
    # with them (two-factor seeds, baton.identity.sealing) still open and are sealed
    # again with `secret_key` when read. Drop one once nothing sealed with it is left.
    previous_secret_keys: tuple[str, ...] = ()
    # The login role the service connects as; it never owns tables or bypasses RLS.
    app_db_role: str = "baton_app"
    # Explicit URL for the app role; derived from database_url when unset. Through a
    # transaction-mode pooler (PgBouncer), add `?pooler=transaction` (docs/operations.md).
    app_database_url: str | None = None
    # A streaming replica: lists, reports and search read there (baton.core.replica),
    # as the app role (the user and password Baton uses on the primary).
    database_replica_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # Connections `baton serve` leaves to other clients beyond PostgreSQL's reserved
    # slots: migrations, `baton doctor`, psql, backups, separate `baton worker`s
    # (baton.ops.connection_budget).
    db_connection_reserve: int = Field(default=5, ge=0)
    # `GET /metrics` wants `Authorization: Bearer <this>`; unset, it answers only
    # clients on the loopback address (baton.ops.api).
    metrics_token: str | None = None
    # The job worker's queue connection (procrastinate: LISTEN/NOTIFY, locks held
    # across statements), as the app role: a direct one, never through a transaction
    # pooler. Unset: the app's URL (without a pooler, the same thing).
    worker_database_url: str | None = None
    access_token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    session_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # An uploaded import file (CSV or XLSX): bytes (413 past it) and data rows (422).
    import_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    import_max_rows: int = Field(default=200_000, ge=1)
    # Per-token API budget: requests per minute.
    api_rate_per_minute: int = Field(default=600, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)
    # New organizations per client address per minute (each costs an argon2 hash).
    registrations_per_minute: int = Field(default=10, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    log_level: str = "INFO"
    worker: WorkerMode = WorkerMode.INLINE
    # Jobs one worker runs at once (`baton worker --concurrency` overrides it).
    worker_concurrency: int = Field(default=1, ge=1, le=100)
    # Webhooks may go to private, loopback and link-local addresses (tests, laptops);
    # off in a deployment, where such a URL would reach the inside of the network.
    webhook_allow_private: bool = False
    # How long one webhook POST may take, connecting included.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Email notifications: `smtp://user:pass@host:port` (STARTTLS when the server
    # offers it) or `smtps://…` (TLS from the first byte); unset, no email is sent.
    smtp_url: str | None = None
    # The sender of every email Baton sends.
    smtp_from: str = "Baton <baton@localhost>"
    # Where the app is reached from outside (links in emails); unset: http://host:port.
    base_url: str | None = None
    # argon2id cost; the defaults follow OWASP's minimum (19 MiB, t=2). Tests lower them.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19_456, ge=8)

    @model_validator(mode="after")
    def _prod_needs_real_secret_and_database(self) -> Settings:
        if self.env is Environment.PROD and (
            not self.secret_key or len(self.secret_key) < 32 or self.secret_key.startswith("dev-")
        ):
            raise ValueError(
                "BATON_SECRET_KEY must be set to at least 32 random characters in prod "
                "(dev secrets are refused)"
            )
        if self.env is Environment.PROD and not self.database_url:
            raise ValueError(
                "BATON_DATABASE_URL must point at a managed PostgreSQL in prod "
                "(the embedded server is for laptops)"
            )
        return self

    @model_validator(mode="after")
    def _smtp_url_is_usable(self) -> Settings:
        if self.smtp_url:
            from baton.notifications.smtp import parse_smtp_url

            parse_smtp_url(self.smtp_url)
        return self

    @property
    def public_base_url(self) -> str:
        """The app's address for links sent out, without a trailing slash."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.env is Environment.PROD

    def resolved_secret_key(self) -> str:
        """The configured secret, or in dev/test one generated once into the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / DEV_SECRET_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = "dev-" + secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
