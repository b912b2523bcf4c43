"""`baton serve` refuses process counts whose pools could exceed max_connections."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from baton.config import Settings, WorkerMode
from baton.ops.connection_budget import (
    ConnectionBudgetExceeded,
    ServerLimits,
    most_processes,
    require_fit,
)
from tests.conftest import make_settings


def _settings(base: Settings, **overrides: object) -> Settings:
    defaults: dict[str, object] = {
        "db_pool_size": 5,
        "db_max_overflow": 5,
        "db_connection_reserve": 5,
        "worker": WorkerMode.OFF,
    }
    return make_settings(base, **{**defaults, **overrides})


def test_processes_that_fit_are_allowed(settings: Settings) -> None:
    small = _settings(settings)
    # 100 - 3 superuser - 5 reserve = 92; 3 pools x 10 = 30 a process: 3 fit (90).
    limits = ServerLimits(max_connections=100, superuser_reserved=3)
    assert most_processes(small, limits) == 3
    planned = require_fit(small, limits, 3)
    assert (planned.needed, planned.available) == (90, 92)


def test_too_many_processes_are_refused_saying_how_to_fix_it(settings: Settings) -> None:
    small = _settings(settings)
    limits = ServerLimits(max_connections=100, superuser_reserved=3)
    with pytest.raises(ConnectionBudgetExceeded) as refused:
        require_fit(small, limits, 4)
    message = str(refused.value)
    assert "4 server process(es) could open 120 database connections" in message
    assert "the database allows 92" in message
    assert "max_connections=100" in message
    assert "--workers 3 or less" in message
    assert "BATON_DB_POOL_SIZE" in message
    assert "BATON_DB_MAX_OVERFLOW" in message
    assert "raise max_connections" in message


def test_the_inline_worker_and_the_reserved_slots_count(settings: Settings) -> None:
    # 3 processes fit exactly in 92 without the worker; its 1 + 2 connections do not.
    inline = _settings(settings, worker=WorkerMode.INLINE, worker_concurrency=1)
    limits = ServerLimits(max_connections=100, superuser_reserved=3)
    assert most_processes(inline, limits) == 2
    with pytest.raises(ConnectionBudgetExceeded, match=r"\+ 3 for the inline job worker"):
        require_fit(inline, limits, 3)
    # PostgreSQL 16's reserved_connections are taken off too.
    with pytest.raises(ConnectionBudgetExceeded, match="3 reserved_connections"):
        require_fit(_settings(settings), ServerLimits(100, 3, reserved=3), 3)


def test_when_not_even_one_process_fits_fewer_cannot_help(settings: Settings) -> None:
    with pytest.raises(ConnectionBudgetExceeded) as refused:
        require_fit(_settings(settings), ServerLimits(max_connections=20, superuser_reserved=3), 1)
    assert "not even one fits" in str(refused.value)


def test_a_real_start_with_too_many_workers_exits_with_the_message(settings: Settings) -> None:
    # The suite's database URL is in the environment (the owner_url fixture).
    started = subprocess.run(
        [sys.executable, "-m", "baton", "serve", "--port", "1", "--workers", "100000"],
        env={**os.environ, "BATON_WORKER": "off"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 1, started.stderr
    assert "100000 server process(es) could open" in started.stderr
    assert "max_connections=" in started.stderr
    assert "--workers" in started.stderr
    assert "Baton" not in started.stdout  # nothing was served
