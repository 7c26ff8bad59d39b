"""What the dialects' hypothesis fuzz tests share: strategies for ids, JSON, header values and
methods, how a generated request goes on the wire, and the run against a real server.

Each dialect's test_fuzz.py keeps its own endpoints, seed requests and the check that an
answer is in its dialect's shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

METHODS = ["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` seven times in ten: most requests get past authentication to the parsing."""
    return st.integers(0, 9).flatmap(lambda n: usual if n < 7 else other)


def path_segments(max_size: int) -> st.SearchStrategy[str]:
    """One path segment of any text, percent-encoded."""
    return st.text(max_size=max_size).map(lambda s: quote(s, safe=""))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
other_methods = mostly(st.none(), st.sampled_from(METHODS))  # None: the route's own


def nested(depth: int, opening: bytes, closing: bytes) -> bytes:
    """`depth` levels of `opening`, a 1, and as many `closing`."""
    return opening * depth + b"1" + closing * depth


def send(client: httpx.Client, method: str, path: str, r: Mapping[str, Any]) -> httpx.Response:
    """A generated request (its query, body and headers) on the wire; never a 5xx back."""
    # Surrounding blanks are not part of a header value on the wire (and h11 refuses them).
    headers = {k: v.strip() for k, v in r["headers"].items() if v.strip()}
    answer = client.request(method, path, params=r["query"], content=r["body"], headers=headers)
    assert answer.status_code < 500, (answer.status_code, answer.text[:200], r)
    return answer


async def run(
    url: str,
    requests: st.SearchStrategy[Any],
    check: Callable[[httpx.Client, Any], None],
    **overrides: Any,
) -> None:
    """`check` each generated request against the server at `url` (150 of them by default)."""
    options: dict[str, Any] = {
        "max_examples": 150,
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        **overrides,
    }

    with httpx.Client(base_url=url, timeout=10.0) as client:

        @settings(**options)
        @given(requests)
        def fuzz(generated: Any) -> None:
            check(client, generated)

        # The server runs on this loop: the client waits for it in a thread of its own.
        await asyncio.to_thread(fuzz)
