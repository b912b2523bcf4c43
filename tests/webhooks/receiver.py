"""A real webhook receiver on 127.0.0.1: an asyncio HTTP/1.1 server, keep-alive, that
records every request and answers what the test tells it (status codes in turn, or
never). No mock: the worker's pump talks to it over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    # Statuses to answer, in turn; the last one repeats. None: never answer.
    statuses: list[int | None] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    # Set at every request (tests wait on it).
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0
    record: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _status(self) -> int | None:
        index = min(self.count, len(self.statuses) - 1)
        self.count += 1
        return self.statuses[index]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._status()
                if self.record:
                    self.received.append(Received(path, headers, body))
                self.arrived.set()
                if status is None:
                    await asyncio.sleep(3600)
                    return
                answer = b"ok" if status < 400 else b"receiver says no"
                writer.write(
                    b"HTTP/1.1 %d X\r\ncontent-length: %d\r\ncontent-type: text/plain\r\n\r\n%s"
                    % (status, len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def receiving(*statuses: int | None) -> AsyncIterator[Receiver]:
    """A receiver on a free port of 127.0.0.1 while in the block."""
    receiver = Receiver(statuses=list(statuses) or [200])
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
