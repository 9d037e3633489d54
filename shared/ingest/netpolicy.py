"""Which remote addresses an ingest download may reach.

Clients choose the URLs an ingest job downloads, so a server that must not be
used to probe its own network refuses loopback, private, link-local (cloud
metadata endpoints live there), multicast, unspecified and other non-global
addresses. The check runs on the addresses a host name resolves to, for every
redirect hop, because a public name can point at a private address and a
public server can redirect to one. Schemes other than http(s) are always
refused: nothing else is a download.

Known gap: the check resolves the name itself and httpx resolves it again to
connect, so a DNS answer that changes in between (DNS rebinding) is not
caught. Closing it needs the connection pinned to the checked address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for host (raises OSError if none)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # The scope id ("fe80::1%eth0") is not part of the address ipaddress parses.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def parse_networks(networks: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings ("10.1.2.0/24", "127.0.0.1") as networks; ValueError if one is malformed."""
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


def address_kind(ip: IPAddress) -> str | None:
    """Why ip is not a public address ("loopback", "private", ...), or None if it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    for kind in ("loopback", "link_local", "multicast", "unspecified", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    # Shared address space (100.64.0.0/10) and the like are neither private nor global.
    if not ip.is_global:
        return "non-global"
    return None


async def refusal(
    url: httpx.URL,
    *,
    allow_private_networks: bool,
    allowed_networks: tuple[Network, ...] = (),
    resolve: Resolver = resolve_host,
) -> str | None:
    """A sentence saying why url may not be fetched, or None if it may.

    Raises OSError when the host name cannot be resolved; that is a network
    failure, not a policy decision.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        return f"scheme {url.scheme or '(none)'!r} is not allowed; use http or https"
    if allow_private_networks:
        return None
    host = url.host
    if not host:
        return "the URL has no host"
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await resolve(host, url.port or _DEFAULT_PORTS[url.scheme])
    for ip in addresses:
        if any(ip in network for network in allowed_networks):
            continue
        kind = address_kind(ip)
        if kind is not None:
            if host == str(ip):
                return f"{host} is a {kind} address"
            return f"{host} resolves to {ip}, a {kind} address"
    return None
