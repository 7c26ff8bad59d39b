"""Callback URLs: their form (absolute http(s), a host, sane length, no embedded credentials)
and their target (no loopback, private, link-local, unique-local or multicast address unless
the operator allows its network). Pure: no DNS here. A name is resolved where the connection
is made (net/http_client.py), which checks every address it resolves to with
`refused_address` before connecting; what can be told without DNS is refused at accept time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from .errors import ErrorCode, GatewayError

MAX_URL = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Networks = Sequence[Network]

# IPv6 forms that carry an IPv4 address the traffic ends up at: NAT64 (RFC 6052) and the
# deprecated IPv4-compatible form (the mapped form and 6to4 have properties of their own).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated, still routed inside sites


def check_callback_url(url: str, *, field: str = "callback_url", max_length: int = MAX_URL) -> str:
    url = url.strip()
    if len(url) > max_length:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} is longer than {max_length}", field=field
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} is not a valid URL", field=field
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{field} must be an http(s) URL", field=field)
    if parts.username or parts.password:
        raise GatewayError(
            ErrorCode.INVALID_FIELD, f"{field} must not embed credentials", field=field
        )
    if port == 0 or any(c in url for c in " \r\n\t"):
        raise GatewayError(ErrorCode.INVALID_FIELD, f"{field} is not a valid URL", field=field)
    return url


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The operator's allowed networks ("10.1.0.0/16", "::1", ...); ValueError names a bad one."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not a network (CIDR, e.g. 10.0.0.0/8)") from None
    return tuple(out)


def refused_address(address: Address, allowed: Networks = ()) -> str | None:
    """Why callbacks may not go to `address` ("loopback", "private", ...), or None.

    An IPv6 address that carries an IPv4 one (mapped ::ffff:a.b.c.d, 6to4, NAT64, the old
    compatible form) is judged by the IPv4 address the traffic ends up at. An address inside
    one of the operator's `allowed` networks is never refused (in either form).
    """
    inner = _carried_ipv4(address)
    if _inside(address, allowed) or (inner is not None and _inside(inner, allowed)):
        return None
    return _refusal(inner if inner is not None else address)


def refused_target(url: str, allowed: Networks = ()) -> str | None:
    """Why callbacks may not go to `url`, as far as can be told without DNS (a literal address,
    a legacy numeric IPv4 form, a localhost name), or None. Not http(s): not ours to judge
    (smpp: URLs go to this node's own binds)."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    name = host.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        address: Address | None = ipaddress.IPv4Address("127.0.0.1")
    else:
        address = literal_address(host)
    if address is None:
        return None  # a name: judged where it is resolved, at connect time
    reason = refused_address(address, allowed)
    return None if reason is None else f"{host} is {described(reason)}"


def origin_of(url: str) -> str:
    """The scheme and authority of `url` ("https://example.com:8443"): all `refused_target`
    reads, and what URLs that differ only in path or query share (a cache key)."""
    start = url.find("//")
    if start < 0:
        return url
    end = len(url)
    for separator in "/?#":
        found = url.find(separator, start + 2)
        if 0 <= found < end:
            end = found
    return url[:end]


def check_callback_target(url: str, allowed: Networks = (), *, field: str = "callback_url") -> str:
    """`url`, or INVALID_FIELD when its host is an address callbacks may not go to."""
    reason = refused_target(url, allowed)
    if reason is not None:
        raise target_refusal(reason, field)
    return url


def target_refusal(reason: str, field: str = "callback_url") -> GatewayError:
    """The refusal of a callback URL for its target (`reason`: refused_target's)."""
    return GatewayError(
        ErrorCode.INVALID_FIELD,
        f"{field}: {reason}; callbacks go to public addresses only"
        " (an operator may allow networks: callbacks.allow_networks)",
        field=field,
    )


def literal_address(host: str) -> Address | None:
    """The address a URL host spells out: an IP literal (IPv6 with or without brackets and
    zone), or a legacy IPv4 form every resolver also accepts ("127.1", "0x7f.0.0.1",
    "2130706433"). None for a name."""
    name = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        pass
    if not name or not all(c in "0123456789abcdefx." for c in name):
        return None  # inet_aton would stop at the first space and accept what precedes it
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name))  # parsing only: no lookup
    except OSError:
        return None


def described(reason: str) -> str:
    """ "a loopback address", "an unspecified address"."""
    return f"{'an' if reason[0] in 'aeiou' else 'a'} {reason} address"


def _inside(address: Address, networks: Networks) -> bool:
    return any(address in network for network in networks)


def _carried_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def _refusal(address: Address) -> str | None:
    """The class of a non-public address, most telling first; None for a public one."""
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _UNIQUE_LOCAL:
        return "unique-local"
    if address in _SITE_LOCAL:
        return "site-local"
    if address in _SHARED:
        return "shared (carrier-grade NAT)"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None
