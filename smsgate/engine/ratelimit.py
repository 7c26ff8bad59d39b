"""Token buckets for per-account and per-connector throughput limits."""

from __future__ import annotations


class TokenBucket:
    """`rate` tokens per second, bursting to `rate` (one second's worth); rate 0 = unlimited."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.rate), self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, wanted: int, now: float) -> int:
        """Take up to `wanted` tokens; return how many were granted."""
        if self.rate <= 0:
            return wanted
        self._refill(now)
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available."""
        if self.rate <= 0:
            return 0.0
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
