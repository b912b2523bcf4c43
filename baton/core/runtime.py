"""What one running app holds: settings, the database, metrics, the secret."""

from __future__ import annotations

import re
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
    # Routes that run in autocommit mode (`baton.core.autocommit`).
    autocommit_paths: tuple[re.Pattern[str], ...] = ()
