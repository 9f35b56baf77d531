"""The shared outbox relay, with a short linger before each pass: under load every intake
commit wakes the relay, and a pass per commit (a read, a produce request, a delete) cost more
CPU than the alarms it carried. Waiting a few milliseconds lets one pass carry many commits;
the price is that much relay lag (decision 0011). It lingers only after a pass that carried
company (more than one row): a call that comes alone, as calls do outside a burst, is sent at
once, and a burst's second pass on waits for company again (decision 0167)."""

import asyncio
from typing import Any

from kj_runtime.outbox import OutboxRelay


class LingeringRelay(OutboxRelay):
    def __init__(self, *args: Any, linger_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger_s = linger_s
        self.busy = False  # the last pass carried more than one row

    async def relay_once(self) -> int:
        if self.linger_s > 0 and self.busy:
            await asyncio.sleep(self.linger_s)
        published = await super().relay_once()
        self.busy = published > 1
        return published
