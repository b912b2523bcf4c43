"""A real uvicorn server for tests that need one (browser, API fuzzing).

It runs in a thread with its own event loop (the suite's pytest-asyncio loop belongs
to the main thread), so callers use it from plain `def` tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from baton.app import create_app
from baton.config import Settings
from baton.db.engine import Database
from baton.db.urls import app_url
from baton.demo import ensure_demo_tenant
from baton.demo_sales import ensure_demo_sales

SERVER_START_TIMEOUT_SECONDS = 30.0


class LiveServer:
    """Uvicorn serving `create_app` on 127.0.0.1 (free port) in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets
        # whose proto says TCP, and with Nagle on every answer waits ~40 ms for an ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        # The address links sent out name (an invitation's), as BATON_BASE_URL does.
        self._settings = settings.model_copy(update={"base_url": self.base_url})
        self._server: uvicorn.Server | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="baton-live-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not (self._server is not None and self._server.started):
            if not self._thread.is_alive():
                raise RuntimeError("the live server failed to start") from self._failure
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the live server did not start in time")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=SERVER_START_TIMEOUT_SECONDS)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the live server did not stop")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported by start()
            self._failure = error

    async def _serve(self) -> None:
        # Its own pool: asyncpg connections belong to the loop that opened them.
        db = Database(app_url(self._settings), pool_size=5, max_overflow=5)
        try:
            await ensure_demo_tenant(db)
            await ensure_demo_sales(db)
        except BaseException:
            await db.dispose()
            raise
        config = uvicorn.Config(
            create_app(self._settings, db),
            lifespan="on",
            log_level="warning",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        await self._server.serve(sockets=[self._socket])
