"""The terminals' GPS stream: one ping per unit per second to `patrol.pings`, keyed by unit id,
exactly as a vehicle terminal sends it. Reports its own schedule lag."""

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import orjson
from aiokafka import AIOKafkaProducer
from numpy.typing import NDArray


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
    stamp = ts.isoformat()
    out = []
    for i, unit_id in enumerate(unit_ids):
        out.append(
            (
                unit_id.encode(),
                orjson.dumps(
                    {
                        "unit_id": unit_id,
                        "ts": stamp,
                        "lat": round(float(lat[i]), 6),
                        "lon": round(float(lon[i]), 6),
                        "speed_kmh": round(float(speed_m_s[i]) * 3.6, 1),
                        "heading_deg": round(float(heading_deg[i]) % 360.0, 1),
                        "accuracy_m": 5.0,
                    }
                ),
            )
        )
    return out


class PingPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0

    async def publish(self, records: list[tuple[bytes, bytes]]) -> float:
        """Send one second's pings; returns the seconds it took to hand them to the broker."""
        started = time.perf_counter()
        futures = [
            await self.producer.send(self.topic, value=value, key=key) for key, value in records
        ]
        for future in futures:
            await future
        self.sent += len(records)
        return time.perf_counter() - started
