"""What one running app holds: settings, the database, metrics, the secret."""

from __future__ import annotations

from dataclasses import dataclass

from baton.config import Settings
from baton.core.metrics import Metrics
from baton.db.engine import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    metrics: Metrics
    secret_key: str
