"""Request limits: body size, and token buckets per client address and per signing key.

Buckets live in memory only: they are operational state, never part of the record.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.requests import Request

from saksi.api.errors import ApiError

__all__ = ["BODY_SECONDS", "HEADER_SECONDS", "RateLimiter", "read_body"]

HEADER_SECONDS = 10  # a client must send its request line and headers within this
BODY_SECONDS = 30  # and its body (a photo of up to 8 MiB) within this


async def read_body(request: Request, limit: int, what: str = "the request body") -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"{what} is at most {limit:,} bytes; this one is {int(declared):,}")
    chunks, size = [], 0
    seconds = float(getattr(request.app.state, "body_seconds", BODY_SECONDS))
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"{what} is at most {limit:,} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, f"{what} did not arrive within {seconds:g} s") from None
    return b"".join(chunks)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """``rate`` requests a second per name, with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float, what: str, max_names: int = 1_000_000) -> None:
        self.rate, self.burst, self.what = rate, burst, what
        self.max_names = max_names
        self._buckets: dict[str, _Bucket] = {}

    def take(self, name: str) -> None:
        now = time.monotonic()
        bucket = self._buckets.get(name)
        if bucket is None:
            if len(self._buckets) >= self.max_names:
                self._forget_full(now)
            bucket = self._buckets[name] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1:
            raise ApiError(
                429,
                f"too many requests from {self.what} {name}: at most {self.rate:g} a second "
                f"(bursts of {self.burst:g}); try again shortly",
            )
        bucket.tokens -= 1

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they carry no state worth keeping."""
        self._buckets = {
            n: b
            for n, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate < self.burst
        }
