"""Client-side pacing at AWS's published per-API request rates.

AWS Organizations throttles most of its APIs to a few requests per second (a token bucket per
API, with a small burst). Sending faster only earns TooManyRequestsException and a jittered
backoff that can wait seconds while the bucket refills in a fraction of one, and every retry
spends botocore's retry quota. So orgkit paces the calls it makes to the rate AWS publishes
and lets botocore's retries handle what pacing cannot foresee (another tool calling at the same
time). Paced APIs run concurrently with each other: each has its own bucket.

The rates are data (:data:`orgkit.quotas.ORGANIZATIONS_RATES`), AWS's "Throttling limits"
table of the AWS Organizations quotas page; APIs it does not list are not paced.
``ORGKIT_PACING=off`` turns pacing off, for endpoints that are not AWS and have no such limits
(the sandbox sets it: an emulator answers at once, and pacing it would only make a demo or a
test wait).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from orgkit.quotas import ORGANIZATIONS_RATES

# Tokens held back from the published burst: calls leave here evenly spaced but reach AWS a
# few tens of milliseconds apart or together (latency varies), and AWS's bucket needs that much
# slack to take an early arrival without a throttle.
SLACK = 2
SWITCH = "ORGKIT_PACING"  # "off": no pacing (an endpoint without AWS's limits)


class _Bucket:
    """A token bucket that makes the caller wait for its token instead of refusing it."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.capacity = float(max(1, burst - SLACK))
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()
        self.lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token (possibly one not yet there); return how long to wait for it."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Pacer:
    """One bucket per paced operation, shared by every client it is attached to."""

    def __init__(
        self,
        rates: Mapping[str, tuple[float, int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rates is None:
            rates = {} if os.environ.get(SWITCH, "").lower() == "off" else ORGANIZATIONS_RATES
        self.buckets = {op: _Bucket(rate, burst, clock) for op, (rate, burst) in rates.items()}
        self.sleep = sleep

    def wait(self, operation: str) -> float:
        """Block until ``operation`` may be sent; return the seconds waited."""
        bucket = self.buckets.get(operation)
        if bucket is None:
            return 0.0
        delay = bucket.reserve()
        if delay > 0:
            self.sleep(delay)
        return delay

    def attach(self, client: Any) -> None:
        """Pace every attempt (retries included) of ``client``'s paced operations."""
        service = client.meta.service_model.service_id.hyphenize()

        def before_send(event_name: str = "", **_: Any) -> None:
            self.wait(event_name.rsplit(".", 1)[-1])

        client.meta.events.register(f"before-send.{service}", before_send)
