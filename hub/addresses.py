"""Who is calling, by network address: the key for per-address limits (connections, joins,
publishes, logins, replays).

Behind a reverse proxy the TCP peer is the proxy, so the client's address is read from a header
(`HUB_CLIENT_ADDRESS_HEADER`, `X-Forwarded-For` by default), but only when the peer is one of
`HUB_TRUSTED_PROXIES`; the header is read from the right, skipping trusted proxies, so a client
cannot choose its own address by sending the header itself. IPv6 addresses count per /64, the
block one subscriber usually holds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, variable: str = "HUB_TRUSTED_PROXIES") -> tuple[Network, ...]:
    """`"10.0.0.1, 192.168.0.0/16, ::1"` as networks; raises ValueError naming `variable` and a bad entry."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{variable}: {item!r} is not an IP address or network") from exc
    return tuple(networks)


@dataclass(frozen=True)
class AddressPolicy:
    """How the hub tells a client's address from a request."""

    trusted_proxies: tuple[Network, ...] = ()
    header: str = "X-Forwarded-For"

    def client(self, peer: str | None, forwarded: str | None) -> str:
        """The client's address key for a TCP `peer` and the forwarding header's value."""
        address = self.address(peer, forwarded)
        return "unknown" if address is None else key_of(address)

    def address(
        self, peer: str | None, forwarded: str | None
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The client's own address (not its /64): the peer, or what trusted proxies forwarded."""
        address = _ip(peer)
        if address is None:
            return None
        if forwarded and self._trusted(address):
            for hop in reversed([part.strip() for part in forwarded.split(",")]):
                hop_address = _ip(hop)
                if hop_address is None:
                    break  # garbage in a trusted header: stop at the last good hop
                address = hop_address
                if not self._trusted(hop_address):
                    break
        return address

    def of_request(self, request: web.BaseRequest) -> str:
        """The client's address key for a request (see `client`)."""
        return self.client(_peer(request), request.headers.get(self.header))

    def address_of_request(self, request: web.BaseRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The client's own address for a request (see `address`)."""
        return self.address(_peer(request), request.headers.get(self.header))

    def _trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self.trusted_proxies)


def _peer(request: web.BaseRequest) -> str | None:
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    return peer[0] if isinstance(peer, (tuple, list)) and peer else None


def key_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """An IPv4 address as itself; an IPv6 address as its /64 (IPv4-mapped ones as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
