"""The pooled deployment's settings: `?pooler=transaction` on the app role's URL and
the job queue's direct URL (docs/operations.md §3)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url, libpq_dsn, through_pooler, worker_url

POOLED = "postgresql://baton_app:secret@pgbouncer:6432/baton?pooler=transaction"
DIRECT = "postgresql://baton_app:secret@db:5432/baton"


def _settings(**values: str) -> Settings:
    # Explicitly: the environment sets both URLs in the suite's run through a pooler.
    given = {"app_database_url": None, "worker_database_url": None, **values}
    return Settings(secret_key="pooler-settings-" + "x" * 32, **given)  # type: ignore[arg-type]


def test_the_flag_marks_a_pooled_url_and_never_reaches_a_server() -> None:
    url = app_url(_settings(app_database_url=POOLED))
    assert through_pooler(url)
    assert not through_pooler(make_url(DIRECT))
    assert "pooler" not in libpq_dsn(url)
    database = Database(url)
    assert database.pooled
    assert "pooler" not in database.url.query
    assert not Database(make_url(DIRECT)).pooled


def test_a_flag_other_than_transaction_is_refused() -> None:
    with pytest.raises(ValueError, match="transaction"):
        through_pooler(make_url(DIRECT + "?pooler=session"))


def test_the_job_queue_connects_directly() -> None:
    pooled_only = _settings(app_database_url=POOLED)
    with pytest.raises(ValueError, match="BATON_WORKER_DATABASE_URL"):
        worker_url(pooled_only)
    both = _settings(app_database_url=POOLED, worker_database_url=DIRECT)
    assert worker_url(both).host == "db"
    # Without a pooler the queue shares the app role's URL.
    direct = _settings(app_database_url=DIRECT)
    assert worker_url(direct) == app_url(direct)
