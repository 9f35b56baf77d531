"""The consume step every service shares, without a broker: what does not decode goes to the
dead letters with its reason and the rest of the batch goes on; one message that fails for a
cause that will not heal is isolated and dead-lettered, the others are handled; a failure that
may heal (the database is down) is raised, so the loop retries the whole batch."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg
import pytest

from kj_runtime.consume import Delivery, Inbound, Refusal, Route
from kj_schemas.codec import encode
from kj_schemas.enums import UnitStatus
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrderEvent
from tests.unit.runtime.messages import event, unit_state


@dataclass
class Record:
    value: bytes | None
    key: bytes | None = None
    topic: str = "t"
    partition: int = 0
    offset: int = 0


@dataclass
class Sink:
    letters: list[tuple[int, str]] = field(default_factory=list)  # (offset, reason)

    async def send(self, record: Record, *, reason: str, detail: str) -> None:
        self.letters.append((record.offset, reason))

    async def send_many(self, refused: Iterable[tuple[Record, str, str]]) -> None:
        for record, reason, _ in refused:
            self.letters.append((record.offset, reason))


@dataclass
class Handler:
    """Records what it was handed; fails on messages it is told to."""

    poison: set[str] = field(default_factory=set)
    error: BaseException = field(default_factory=lambda: ValueError("refused value"))
    seen: list[list[str]] = field(default_factory=list)

    async def __call__(self, messages: Sequence[WorkOrderEvent]) -> None:
        units = [m.unit_id for m in messages]
        self.seen.append(units)
        if self.poison & set(units):
            raise self.error


def records(*values: bytes | None, key: bytes | None = None) -> list[Record]:
    return [Record(value, key=key, offset=i) for i, value in enumerate(values)]


async def test_undecodable_records_are_dead_lettered_by_reason_and_the_rest_handled() -> None:
    sink, handler = Sink(), Handler()
    batch = records(
        encode(event("SY-1")), b"{not json", b'{"kind": "nope"}', None, encode(event("SY-2"))
    )
    await Delivery(sink, "g").route(Route.of("t", WorkOrderEvent, handler), batch)
    assert sink.letters == [(1, "invalid_json"), (2, "schema"), (3, "empty_record")]
    assert handler.seen == [["SY-1", "SY-2"]]


async def test_a_message_whose_key_is_not_its_unit_is_dead_lettered() -> None:
    sink, handler = Sink(), Handler()
    batch = [
        Record(encode(event("SY-1")), key=b"SY-9"),
        Record(encode(event("SY-2")), b"SY-2", offset=1),
    ]
    route = Route.of("t", WorkOrderEvent, handler, key_field="unit_id")
    await Delivery(sink, "g").route(route, batch)
    assert sink.letters == [(0, "key_mismatch")]
    assert handler.seen == [["SY-2"]]


async def test_a_poison_message_is_isolated_and_the_others_are_handled() -> None:
    sink, handler = Sink(), Handler(poison={"SY-2"})
    batch = records(*(encode(event(f"SY-{n}")) for n in (1, 2, 3)))
    await Delivery(sink, "g").route(Route.of("t", WorkOrderEvent, handler), batch)
    assert sink.letters == [(1, "unprocessable")]
    assert handler.seen == [["SY-1", "SY-2", "SY-3"], ["SY-1"], ["SY-2"], ["SY-3"]]


async def test_a_data_error_from_postgresql_does_not_heal() -> None:
    sink = Sink()
    handler = Handler(poison={"SY-1"}, error=asyncpg.CharacterNotInRepertoireError("NUL"))
    batch = records(encode(event("SY-1")))
    await Delivery(sink, "g").route(Route.of("t", WorkOrderEvent, handler), batch)
    assert sink.letters == [(0, "unprocessable")]


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("database down"),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.DeadlockDetectedError("deadlock"),
        asyncpg.AdminShutdownError("terminating connection"),
    ],
)
async def test_a_failure_that_may_heal_is_raised_for_the_loop_to_retry(
    error: BaseException,
) -> None:
    sink, handler = Sink(), Handler(poison={"SY-2"}, error=error)
    batch = records(*(encode(event(f"SY-{n}")) for n in (1, 2, 3)))
    with pytest.raises(type(error)):
        await Delivery(sink, "g").route(Route.of("t", WorkOrderEvent, handler), batch)
    assert sink.letters == []


async def refuse_off_duty(states: Sequence[UnitState]) -> list[Refusal]:
    """A handler that will not take units off duty."""
    return [
        Refusal(i, "off_duty", s.unit_id)
        for i, s in enumerate(states)
        if s.status is UnitStatus.off_duty
    ]


async def test_refusals_name_the_records_they_came_from() -> None:
    sink = Sink()
    batch = records(
        b"garbage",
        encode(unit_state("SY-1", UnitStatus.available)),
        encode(unit_state("SY-2", UnitStatus.off_duty)),
    )
    await Delivery(sink, "g").route(Route.of("t", UnitState, refuse_off_duty), batch)
    assert sink.letters == [(0, "invalid_json"), (2, "off_duty")]


async def test_a_handler_may_ask_for_envelopes_with_key_and_place() -> None:
    got: list[Inbound[WorkOrderEvent]] = []

    async def keep(envelopes: Sequence[Inbound[WorkOrderEvent]]) -> None:
        got.extend(envelopes)

    message = event("SY-1")
    batch = [
        Record(encode(message), key=b"SY-1", topic="p.workorders.events", partition=3, offset=7)
    ]
    route = Route.of("workorders.events", WorkOrderEvent, keep, envelopes=True)
    await Delivery(Sink(), "g").route(route, batch)
    assert [(e.message, e.key, e.topic, e.partition, e.offset) for e in got] == [
        (message, "SY-1", "p.workorders.events", 3, 7)
    ]
    assert got[0].value == encode(message)


async def test_refusals_name_their_records_when_every_record_decodes() -> None:
    sink = Sink()
    batch = records(
        encode(unit_state("SY-1", UnitStatus.available)),
        encode(unit_state("SY-2", UnitStatus.available)),
        encode(unit_state("SY-3", UnitStatus.off_duty)),
    )
    for n, record in enumerate(batch):
        record.offset = 40 + n
    await Delivery(sink, "g").route(Route.of("t", UnitState, refuse_off_duty), batch)
    assert sink.letters == [(42, "off_duty")]


async def test_a_tombstone_is_no_message_even_for_a_decoder_that_takes_anything() -> None:
    sink, seen = Sink(), []

    async def keep(values: Sequence[bytes | None]) -> None:
        seen.extend(values)

    batch = records(b"a", None, b"b")
    await Delivery(sink, "g").route(Route("t", lambda raw: raw, keep), batch)
    assert sink.letters == [(1, "empty_record")]
    assert seen == [b"a", b"b"]
