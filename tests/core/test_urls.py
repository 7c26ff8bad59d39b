"""core.urls: which callback targets are refused without DNS. The classes are the RFCs':
loopback 127/8 and ::1 (RFC 1122, 4291), private 10/8, 172.16/12, 192.168/16 (RFC 1918),
link-local 169.254/16 and fe80::/10 (RFC 3927, 4291), unique-local fc00::/7 (RFC 4193),
multicast 224/4 and ff00::/8, shared 100.64/10 (RFC 6598), the IPv4-mapped ::ffff:0:0/96."""

from __future__ import annotations

import ipaddress
import re

import pytest

from smsgate.core.errors import ErrorCode, GatewayError
from smsgate.core.urls import (
    check_callback_target,
    literal_address,
    parse_networks,
    refused_address,
    refused_target,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:10.1.2.3", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_classes(address: str, reason: str | None) -> None:
    assert refused_address(ipaddress.ip_address(address)) == reason


def test_allowed_networks_open_their_addresses_in_either_form() -> None:
    allowed = parse_networks(["127.0.0.0/8", "::1", "10.20.0.0/16"])
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "10.20.3.4"):
        assert refused_address(ipaddress.ip_address(address), allowed) is None
    assert refused_address(ipaddress.ip_address("10.21.0.1"), allowed) == "private"
    assert refused_address(ipaddress.ip_address("169.254.169.254"), allowed) == "link-local"


def test_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("10.0.0.0/33")):
        parse_networks(["127.0.0.0/8", "10.0.0.0/33"])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        # What resolvers accept as IPv4 too (inet_aton): a URL may spell loopback this way.
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("example.com", None),
        ("1e100.net", None),
        ("1.2.3.4.5", None),
    ],
)
def test_literal_addresses(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found is not None else None) == address


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/",
        "http://[::1]/",
        "https://localhost/dr",
        "http://api.localhost:8080/",
        "http://LOCALHOST./",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0:8080/",
        "https://[2001:db8:1::1]/",  # documentation range: never a real target
    ],
)
def test_refused_targets(url: str) -> None:
    assert refused_target(url) is not None
    with pytest.raises(GatewayError) as caught:
        check_callback_target(url)
    assert caught.value.code is ErrorCode.INVALID_FIELD and caught.value.field == "callback_url"
    assert "callbacks.allow_networks" in caught.value.detail


@pytest.mark.parametrize("url", ["https://example.com/dr", "http://8.8.8.8/", "smpp://"])
def test_targets_not_refused_without_dns(url: str) -> None:
    assert refused_target(url) is None  # a name is judged where it is resolved
