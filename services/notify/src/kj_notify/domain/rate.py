"""How many frames a terminal may send: a token bucket per connection. A terminal sends a few
frames a minute (acks, reads, answers); one that floods the gateway is refused frame by frame,
and closed when it keeps on. Plain arithmetic over the times it is given."""

from dataclasses import dataclass, field


@dataclass
class FrameBudget:
    """`rate` frames a second on average, `burst` at once; `patience` refused frames in a row
    before the terminal is closed."""

    rate: float
    burst: float
    patience: int
    _tokens: float = field(init=False)
    _at: float | None = field(default=None, init=False)
    refused_in_a_row: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def take(self, now: float) -> bool:
        """True when a frame arriving at `now` (seconds, monotonic) may be handled."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    @property
    def exhausted(self) -> bool:
        """The terminal kept sending past its budget: close it."""
        return self.refused_in_a_row > self.patience
