"""The tracker over a batch, with fake publishers: duplicates and out-of-order pings never move
a unit back; rejects are dead-lettered with their reason; state goes out only when it changed."""

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from kj_runtime.consume import Delivery
from kj_runtime.outbox import Outbox
from kj_schemas.enums import UnitStatus
from kj_tracking.adapters.ping_codec import encode_fix, ping_route
from kj_tracking.domain.checkins import Checkpoint
from kj_tracking.domain.status import assign
from kj_tracking.domain.units import Fix, registry
from kj_tracking.service_layer.tracker import Policy, Tracker

NOW = 1_800_000_000.0
WORK_ORDER = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


@dataclass
class Record:
    value: bytes | None
    topic: str = "patrol.pings"
    partition: int = 0
    offset: int = 0
    key: bytes | None = None


@dataclass
class DeadLetters:
    """Stands in for the broker's dead-letter topic: the reasons, in order."""

    reasons: list[str]

    async def send(self, record: object, *, reason: str, detail: str) -> None:
        self.reasons.append(reason)

    async def send_many(self, refused: Iterable[tuple[object, str, str]]) -> None:
        self.reasons.extend(reason for _, reason, _ in refused)


_dead: dict[int, list[str]] = {}


async def feed(tracker: Tracker, records: list[Record]) -> None:
    """A batch through the runtime's consume step and the ping route, as the service runs it."""
    delivery = Delivery(DeadLetters(_dead.setdefault(id(tracker), [])), "test")
    await delivery.route(ping_route(tracker.handle_pings), records)  # type: ignore[arg-type]


def make_tracker() -> tuple[Tracker, list[str], list[str]]:
    published: list[str] = []
    dead: list[str] = []

    async def publish(states: list[tuple[str, bytes]]) -> None:
        published.extend(unit_id for unit_id, _ in states)

    tracker = Tracker(
        units=registry([("SY-P01-C1", "SY-P01", "car"), ("SY-P01-C2", "SY-P01", "car")]),
        platforms={"SY-P01": (27.0, 111.0)},
        checkpoints={},
        policy=Policy(),
        publish_states=publish,
        tracks=None,
        pool=None,
        outbox=Outbox("tracking"),
        clock=lambda: NOW,
    )
    _dead[id(tracker)] = dead
    return tracker, published, dead


def ping(ts: float, lat: float = 27.24, unit: str = "SY-P01-C1") -> Record:
    return Record(encode_fix(Fix(unit, ts, lat, 111.47)))


async def test_duplicates_and_late_pings_never_move_a_unit_back() -> None:
    tracker, _, dead = make_tracker()
    await feed(tracker, [ping(NOW - 10, 27.2400), ping(NOW - 5, 27.2410), ping(NOW - 5, 27.2410)])
    await feed(tracker, [ping(NOW - 8, 27.2405), ping(NOW - 10, 27.2400)])
    unit = tracker.units["SY-P01-C1"]
    assert (unit.fix_ts, unit.lat) == (NOW - 5, 27.2410)
    assert dead == []


async def test_rejects_are_dead_lettered_by_reason_and_the_batch_goes_on() -> None:
    tracker, published, dead = make_tracker()
    await feed(
        tracker,
        [
            Record(b"not json"),
            Record(None),  # a tombstone
            ping(NOW - 5, unit="NOBODY"),
            ping(NOW + 3600),
            ping(NOW - 5, unit="SY-P01-C2"),
        ],
    )
    assert sorted(dead) == ["future_ts", "schema", "schema", "unknown_unit"]
    assert tracker.units["SY-P01-C2"].fix_ts == NOW - 5
    assert published == ["SY-P01-C2"]


@dataclass
class Offsets:
    """The dead-letter topic's records, by the offset of the ping each one names."""

    refused: list[tuple[int, str]]

    async def send_many(self, refused: Iterable[tuple[Record, str, str]]) -> None:
        self.refused.extend((record.offset, reason) for record, reason, _ in refused)


async def test_each_refused_ping_is_dead_lettered_with_its_own_record() -> None:
    tracker, _, _ = make_tracker()
    sent = [
        ping(NOW - 5),
        ping(NOW - 5, unit="NOBODY"),
        ping(NOW - 4, unit="SY-P01-C2"),
        ping(NOW + 3600, unit="SY-P01-C2"),
        ping(NOW - 4),
    ]
    for offset, record in enumerate(sent, start=40):
        record.offset = offset
    dead = Offsets([])
    await Delivery(dead, "test").route(ping_route(tracker.handle_pings), sent)  # type: ignore[arg-type]
    # an integration engineer replays or inspects exactly the records that were refused
    assert dead.refused == [(41, "unknown_unit"), (43, "future_ts")]


async def test_identical_pings_are_dead_lettered_each_with_its_own_record() -> None:
    """The refusals are found again by equality (kj_runtime.consume.placed): a copy of an
    accepted ping is a duplicate, never a refusal, and refused copies name their own records,
    across the consume step's chunks of 16."""
    tracker, _, _ = make_tracker()
    sent = [ping(NOW - 5), ping(NOW - 5)]  # accepted, then its copy: a duplicate
    sent += [ping(NOW - 30 + n, unit="SY-P01-C2") for n in range(20)]
    sent += [ping(NOW - 5, unit="NOBODY"), ping(NOW - 5), ping(NOW - 5, unit="NOBODY")]
    for offset, record in enumerate(sent, start=100):
        record.offset = offset
    dead = Offsets([])
    await Delivery(dead, "test").route(ping_route(tracker.handle_pings), sent)  # type: ignore[arg-type]
    assert dead.refused == [(122, "unknown_unit"), (124, "unknown_unit")]


async def test_state_is_published_once_per_batch_and_not_for_small_moves() -> None:
    tracker, published, _ = make_tracker()
    await feed(tracker, [ping(NOW - 3, 27.2400), ping(NOW - 2, 27.2401)])
    await feed(tracker, [ping(NOW - 1, 27.2402)])
    assert published == ["SY-P01-C1"]


def tracker_with_checkpoint() -> tuple[Tracker, list[str]]:
    tracker, published, _ = make_tracker()
    tracker = Tracker(
        units=tracker.units,
        platforms=tracker.platforms,
        checkpoints={"SY-P01": [CHECKPOINT]},
        policy=Policy(checkin_dwell_s=30),
        publish_states=tracker.publish_states,
        tracks=None,
        pool=None,
        outbox=tracker.outbox,
        clock=lambda: NOW,
    )
    return tracker, published


CHECKPOINT = Checkpoint("SY-P01-K1", "SY-P01", 27.25146, 111.456798, 40)


def at_checkpoint(ts: float, lat: float = CHECKPOINT.lat) -> Record:
    return Record(encode_fix(Fix("SY-P01-C1", ts, lat, CHECKPOINT.lon)))


async def test_a_unit_that_dwells_at_a_checkpoint_checks_in_once() -> None:
    tracker, _ = tracker_with_checkpoint()
    await feed(tracker, [at_checkpoint(NOW - 100 + i * 5) for i in range(10)])
    await feed(tracker, [at_checkpoint(NOW - 40 + i * 5) for i in range(5)])
    assert [(c.checkpoint_id, c.arrived_at, c.checked_in_at) for c in tracker.pending_checkins] == [
        ("SY-P01-K1", NOW - 100, NOW - 70)
    ]


async def test_passing_a_checkpoint_without_dwelling_is_no_check_in() -> None:
    tracker, _ = tracker_with_checkpoint()
    await feed(
        tracker,
        [
            at_checkpoint(NOW - 60),
            at_checkpoint(NOW - 50, lat=CHECKPOINT.lat + 0.001),  # 110 m away
            at_checkpoint(NOW - 25),
        ],
    )
    assert tracker.pending_checkins == []


async def test_the_first_fix_near_the_scene_is_one_arrival_published_at_once() -> None:
    tracker, published, _ = make_tracker()
    unit = tracker.units["SY-P01-C1"]
    await feed(tracker, [ping(NOW - 30, 27.2300)])
    assign(unit, WORK_ORDER, 27.2400, 111.47)
    await feed(tracker, [ping(NOW - 20, 27.2350), ping(NOW - 10, 27.2397), ping(NOW - 5, 27.2400)])
    assert [(a.work_order_id, a.at) for a in tracker.pending_arrivals] == [(WORK_ORDER, NOW - 10)]
    assert unit.status is UnitStatus.on_scene
    assert published == ["SY-P01-C1", "SY-P01-C1"]


async def test_a_lost_unit_is_restored_and_published_by_its_next_trusted_ping() -> None:
    tracker, published, _ = make_tracker()
    await feed(tracker, [ping(NOW - 30)])
    tracker.clock = lambda: NOW + 120  # two minutes of silence
    await tracker.sweep()
    unit = tracker.units["SY-P01-C1"]
    assert unit.status is UnitStatus.lost_contact
    await feed(tracker, [ping(NOW + 110)])
    assert unit.status is UnitStatus.available
    assert published == ["SY-P01-C1"] * 3


async def test_states_that_failed_to_go_out_are_sent_with_the_next_batch() -> None:
    tracker, published, _ = make_tracker()
    sent = tracker.publish_states

    async def broker_down(states: list[tuple[str, bytes]]) -> None:
        raise ConnectionError("broker down")

    tracker.publish_states = broker_down
    with pytest.raises(ConnectionError):
        await feed(tracker, [ping(NOW - 5)])
    tracker.publish_states = sent
    await feed(tracker, [ping(NOW - 5), ping(NOW - 4)])  # the retry, and one more
    assert published == ["SY-P01-C1"]


async def test_a_process_sweeps_and_publishes_only_the_units_whose_pings_it_consumes() -> None:
    tracker, published, _ = make_tracker()
    await feed(tracker, [ping(NOW - 30), ping(NOW - 30, unit="SY-P01-C2")])
    published.clear()
    tracker.take_ownership({"SY-P01-C1"})  # C2's partition went to another process
    tracker.clock = lambda: NOW + 120
    await tracker.sweep()
    assert tracker.units["SY-P01-C1"].status is UnitStatus.lost_contact
    assert tracker.units["SY-P01-C2"].status is UnitStatus.available
    assert published == ["SY-P01-C1"]


async def test_a_unit_taken_over_gets_a_silence_interval_before_it_can_be_lost() -> None:
    tracker, _, _ = make_tracker()
    await feed(tracker, [ping(NOW - 30, unit="SY-P01-C2")])
    tracker.take_ownership({"SY-P01-C1"})
    tracker.clock = lambda: NOW + 120
    tracker.take_ownership({"SY-P01-C1", "SY-P01-C2"})  # a rebalance hands C2 over
    await tracker.sweep()
    assert tracker.units["SY-P01-C2"].status is UnitStatus.available
    tracker.clock = lambda: NOW + 240
    await tracker.sweep()
    assert tracker.units["SY-P01-C2"].status is UnitStatus.lost_contact
