"""The shared outbox relay, with a short linger before each pass: under load every intake
commit wakes the relay, and a pass per commit (a read, a produce request, a delete) cost more
CPU than the alarms it carried. Waiting a few milliseconds lets one pass carry many commits;
the price is that much relay lag (decision 0011)."""

import asyncio
from typing import Any

from kj_runtime.outbox import OutboxRelay


class LingeringRelay(OutboxRelay):
    def __init__(self, *args: Any, linger_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger_s = linger_s

    async def relay_once(self) -> int:
        if self.linger_s > 0:
            await asyncio.sleep(self.linger_s)
        return await super().relay_once()
