"""Where a webhook may be sent: public addresses only (SSRF), unless allowed.

`resolve(url)` parses the URL, resolves its host (every address it has) and refuses
it when any address is private, loopback, link-local, multicast, reserved or
unspecified — unless `BATON_WEBHOOK_ALLOW_PRIVATE=1`. The request is then sent to
the address that was checked (`Target.request_url`, with the `Host` header and the
TLS server name of the original host), so a second DNS answer cannot point the
connection elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class Refused(Exception):
    """The URL may not be called; the message says why (shown in the delivery log)."""


@dataclass(frozen=True)
class Target:
    url: str
    request_url: str
    host_header: str
    server_name: str | None


def check_url(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable webhook URL (Refused otherwise)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("the URL may not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise Refused("the URL's port is not valid") from error
    return parts.scheme, parts.hostname, port


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def resolve(url: str, *, allow_private: bool) -> Target:
    scheme, host, port = check_url(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as error:
            raise Refused(f"{host} does not resolve") from error
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} does not resolve")
    if not allow_private:
        for address in addresses:
            if _forbidden(address):
                raise Refused(f"{host} is a private, loopback or link-local address ({address})")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    parts = urlsplit(url)
    default_port = 443 if scheme == "https" else 80
    netloc = literal if port == default_port else f"{literal}:{port}"
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    request_url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    is_name = chosen != _literal(host)
    return Target(url, request_url, host_header, host if scheme == "https" and is_name else None)


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
