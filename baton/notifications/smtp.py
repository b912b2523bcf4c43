"""Sending one email through the SMTP server `BATON_SMTP_URL` names (aiosmtplib).

`smtp://user:password@host:port` talks plain SMTP and upgrades with STARTTLS when the
server offers it; `smtps://…` uses TLS from the first byte (port 465 by default).
User and password are optional and percent-decoded. Every call opens its own
connection and gives up after `TIMEOUT_SECONDS`: the email job runs rarely, and a
failure raises for the job to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

TIMEOUT_SECONDS = 10.0
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    # TLS from the first byte (smtps); otherwise STARTTLS if offered.
    use_tls: bool


def parse_smtp_url(url: str) -> SmtpServer:
    """The server `url` names; ValueError (with the reason, never the password) when
    it is not an `smtp://` or `smtps://` URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("BATON_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("BATON_SMTP_URL must name a host, e.g. smtp://mail.example.com:587")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ValueError("BATON_SMTP_URL has an invalid port") from exc
    return SmtpServer(
        hostname=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
    )


async def send(server: SmtpServer, message: EmailMessage) -> None:
    """Deliver `message` to the server, or raise (refused, unreachable, timed out)."""
    await aiosmtplib.send(
        message,
        hostname=server.hostname,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.use_tls,
        timeout=TIMEOUT_SECONDS,
    )
