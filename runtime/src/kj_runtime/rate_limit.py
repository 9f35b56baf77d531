"""A token bucket: `rate` requests a second on average, `burst` at once. Plain arithmetic over
the times it is given (monotonic seconds), so it is tested without a clock."""

import math


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at: float | None = None

    def take(self, now: float) -> float | None:
        """None when a request at `now` may go ahead (it spends a token); otherwise the seconds
        until one will have refilled."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self.rate


def retry_after(wait_s: float) -> int:
    """A Retry-After header's whole seconds for a wait: at least 1."""
    return max(1, math.ceil(wait_s))
