"""Prometheus metrics: requests by route, latency, the DB connection pool, the job queue.

Under `baton serve --workers N` every process writes its counters and histograms to
files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess mode, set up by
the supervisor), and a scrape, whichever process answers it, adds up all of them:
requests of processes that died or restarted included. The job-queue gauges are the
most recent value any process read; the pool gauges are the answering process's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from baton.db.engine import Database

# prometheus_client's multiprocess directory, read when it is imported.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """One registry per app, so tests can build several apps in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "baton_http_requests",
            "HTTP requests by route template, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "baton_http_request_duration_seconds",
            "Server time per request by route template",
            ["method", "route"],
            buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        # The job queue, all tenants together; set at each scrape (baton.jobs.metrics).
        self.jobs_queued = Gauge(
            "baton_jobs_queued",
            "Jobs waiting in the queue (due or scheduled)",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.jobs_running = Gauge(
            "baton_jobs_running",
            "Jobs a worker is running",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.jobs_failed = Gauge(
            "baton_jobs_failed",
            "Jobs that failed for good and wait for a retry",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.jobs_oldest_queued = Gauge(
            "baton_jobs_oldest_queued_age_seconds",
            "How long the oldest due job has waited for a worker",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self._pool: PoolCollector | None = None

    def watch_pool(self, db: Database) -> None:
        self._pool = PoolCollector(db)
        self.registry.register(self._pool)

    def exposition(self) -> bytes:
        """The text a scrape gets: this registry, or with several server processes
        (`PROMETHEUS_MULTIPROC_DIR`) all of their figures added up."""
        directory = os.environ.get(MULTIPROCESS_DIR)
        if not directory:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=directory)  # type: ignore[no-untyped-call]
        if self._pool is not None:
            combined.register(self._pool)
        return generate_latest(combined)


class PoolCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.db.engine.pool
        if not isinstance(pool, QueuePool):
            return
        for name, value, doc in (
            ("baton_db_pool_size", pool.size(), "Configured pool size"),
            ("baton_db_pool_checked_out", pool.checkedout(), "Connections in use"),
            ("baton_db_pool_checked_in", pool.checkedin(), "Idle connections"),
            ("baton_db_pool_overflow", pool.overflow(), "Connections beyond the pool size"),
        ):
            yield GaugeMetricFamily(name, doc, value=value)
