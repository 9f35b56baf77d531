"""The terminals' GPS stream: one ping per unit per second to `patrol.pings`, keyed by unit id,
exactly as a vehicle terminal sends it. Reports its own schedule lag."""

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import orjson
from aiokafka import AIOKafkaProducer
from numpy.typing import NDArray

from kj_runtime.batch_publisher import BatchSender


@dataclass
class ScheduleLag:
    """How late each second's pings left, against the 1 ping/s schedule."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)
        if len(self.samples) > 3600:
            del self.samples[: len(self.samples) - 3600]

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {"ticks": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
        values = np.array(self.samples) * 1000
        return {
            "ticks": float(len(values)),
            "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)),
            "max_ms": float(values.max()),
        }


def encode_pings(
    unit_ids: list[str],
    ts: datetime,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    speed_m_s: NDArray[np.float64],
    heading_deg: NDArray[np.float64],
) -> list[tuple[bytes, bytes]]:
    """One second's pings as (key, JSON) records. The rounding is done on the arrays and the
    rows read as Python floats: indexing numpy arrays and rounding one value at a time was
    over half of the load generator's CPU at 20,000 units (py-spy, the soak). Headings are
    rounded before they are wrapped into [0, 360): 359.96 rounded after wrapping is 360.0,
    which the ping contract refuses (2 pings a second of a province's, dead-lettered)."""
    stamp = ts.isoformat()
    rows = zip(
        unit_ids,
        np.round(lat, 6).tolist(),
        np.round(lon, 6).tolist(),
        np.round(speed_m_s * 3.6, 1).tolist(),
        np.mod(np.round(heading_deg, 1), 360.0).tolist(),
        strict=True,
    )
    dumps = orjson.dumps
    return [
        (
            unit_id.encode(),
            dumps(
                {
                    "unit_id": unit_id,
                    "ts": stamp,
                    "lat": la,
                    "lon": lo,
                    "speed_kmh": speed,
                    "heading_deg": heading,
                    "accuracy_m": 5.0,
                }
            ),
        )
        for unit_id, la, lo, speed, heading in rows
    ]


class PingPublisher:
    """One second's pings go as one batch per partition, each to the partition a keyed send
    would pick (Kafka's default partitioner): a send per ping cost 0.48 s of CPU a second for
    a province's 20,000 units, the load generator's CPU taken from the services it drives."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0
        self._sender = BatchSender(producer)

    async def publish(self, records: list[tuple[bytes, bytes]]) -> float:
        """Send one second's pings; returns the seconds it took to hand them to the broker."""
        started = time.perf_counter()
        topic = self.topic
        await self._sender.send((topic, key, value) for key, value in records)
        self.sent += len(records)
        return time.perf_counter() - started
