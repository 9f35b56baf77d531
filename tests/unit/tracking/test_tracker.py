"""The tracker over a batch, with fake publishers: duplicates and out-of-order pings never move
a unit back; rejects are dead-lettered with their reason; state goes out only when it changed."""

from dataclasses import dataclass

from kj_runtime.outbox import Outbox
from kj_tracking.adapters.ping_codec import encode_fix
from kj_tracking.domain.units import Fix, registry
from kj_tracking.service_layer.tracker import Policy, Tracker

NOW = 1_800_000_000.0


@dataclass
class Record:
    value: bytes
    topic: str = "patrol.pings"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


def make_tracker() -> tuple[Tracker, list[str], list[str]]:
    published: list[str] = []
    dead: list[str] = []

    async def publish(states: list[tuple[str, bytes]]) -> None:
        published.extend(unit_id for unit_id, _ in states)

    async def dead_letter(record: object, reason: str, detail: str) -> None:
        dead.append(reason)

    tracker = Tracker(
        units=registry([("SY-P01-C1", "SY-P01", "car"), ("SY-P01-C2", "SY-P01", "car")]),
        platforms={"SY-P01": (27.0, 111.0)},
        checkpoints={},
        policy=Policy(),
        publish_states=publish,
        dead_letter=dead_letter,
        tracks=None,
        pool=None,
        outbox=Outbox("tracking"),
        clock=lambda: NOW,
    )
    return tracker, published, dead


def ping(ts: float, lat: float = 27.24, unit: str = "SY-P01-C1") -> Record:
    return Record(encode_fix(Fix(unit, ts, lat, 111.47)))


async def test_duplicates_and_late_pings_never_move_a_unit_back() -> None:
    tracker, _, dead = make_tracker()
    await tracker.handle_pings(
        [ping(NOW - 10, 27.2400), ping(NOW - 5, 27.2410), ping(NOW - 5, 27.2410)]
    )
    await tracker.handle_pings([ping(NOW - 8, 27.2405), ping(NOW - 10, 27.2400)])
    unit = tracker.units["SY-P01-C1"]
    assert (unit.fix_ts, unit.lat) == (NOW - 5, 27.2410)
    assert dead == []


async def test_rejects_are_dead_lettered_by_reason_and_the_batch_goes_on() -> None:
    tracker, published, dead = make_tracker()
    await tracker.handle_pings(
        [
            Record(b"not json"),
            ping(NOW - 5, unit="NOBODY"),
            ping(NOW + 3600),
            ping(NOW - 5, unit="SY-P01-C2"),
        ]
    )
    assert sorted(dead) == ["future_ts", "schema", "unknown_unit"]
    assert tracker.units["SY-P01-C2"].fix_ts == NOW - 5
    assert published == ["SY-P01-C2"]


async def test_state_is_published_once_per_batch_and_not_for_small_moves() -> None:
    tracker, published, _ = make_tracker()
    await tracker.handle_pings([ping(NOW - 3, 27.2400), ping(NOW - 2, 27.2401)])
    await tracker.handle_pings([ping(NOW - 1, 27.2402)])
    assert published == ["SY-P01-C1"]
