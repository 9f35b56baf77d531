"""Restart without a gap: read the compacted `units.state` topic from the beginning to its
end (the offsets at startup) and put every unit's last published state back."""

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from kj_runtime.kafka import partitions_of
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import UNITS_STATE
from kj_tracking.adapters.state_codec import restore
from kj_tracking.domain.units import UnitTrack

log = structlog.get_logger(__name__)


async def rebuild_units(
    settings: KafkaSettings, units: dict[str, UnitTrack], *, deadline_s: float = 120
) -> int:
    topic = settings.topic(UNITS_STATE.name)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    restored = 0
    try:
        partitions = await partitions_of(settings, topic)
        if not partitions:
            return 0
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        async with asyncio.timeout(deadline_s):
            while remaining:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for batch in batches.values():
                    for record in batch:
                        unit = units.get(record.key.decode() if record.key else "")
                        if unit is None or record.value is None:
                            continue
                        try:
                            restore(unit, record.value)
                            restored += 1
                        except (ValidationError, ValueError) as error:
                            log.warning("unit_state_unreadable", error=str(error)[:200])
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    log.info("unit_states_restored", records=restored)
    return restored
