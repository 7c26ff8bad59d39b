"""Token buckets, pure: the login rate limit's arithmetic (the store keeps the buckets).

A bucket holds up to `burst` tokens and gains `rate` per second; each attempt takes one. An
empty bucket refuses, and says how long until a token is back.
"""

from __future__ import annotations

import msgspec


class Bucket(msgspec.Struct, frozen=True):
    tokens: float
    updated_at: float


class Limit(msgspec.Struct, frozen=True):
    burst: float  # attempts allowed at once
    rate: float  # attempts regained per second


def take(bucket: Bucket | None, limit: Limit, now: float) -> tuple[Bucket, float]:
    """The bucket after one attempt at `now`, and 0.0 if the attempt is allowed, else the
    seconds until it would be. A new key starts full; a refused attempt takes nothing."""
    if bucket is None:
        tokens = limit.burst
    else:
        elapsed = max(0.0, now - bucket.updated_at)
        tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now), 0.0
    wait = (1.0 - tokens) / limit.rate if limit.rate > 0 else float("inf")
    return Bucket(tokens, now), wait


def take_all(
    buckets: dict[str, Bucket | None], limit: Limit, now: float
) -> tuple[dict[str, Bucket], float]:
    """One attempt against every key's bucket (a user name's and a client address's): allowed
    only when each allows it, and then taken from each; else nothing is taken. The wait is the
    longest of the refusing buckets'."""
    taken = {key: take(bucket, limit, now) for key, bucket in buckets.items()}
    wait = max((w for _, w in taken.values()), default=0.0)
    if wait > 0:
        kept = {k: b if b is not None else Bucket(limit.burst, now) for k, b in buckets.items()}
        return kept, wait
    return {key: bucket for key, (bucket, _) in taken.items()}, 0.0
