"""The consume step every service shares, without a broker: what does not decode goes to the
dead letters with its reason and the rest of the batch goes on; one message that fails for a
cause that will not heal is isolated and dead-lettered, the others are handled; a failure that
may heal (the database is down) is raised, so the loop retries the whole batch."""

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import pytest

from kj_runtime.consume import Delivery, Inbound, OnePass, Refusal, Route, placed
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


# ---- one pass: the handler reads messages as they are decoded (OnePass, decision 0189) -----


def one_pass(handle: Any, decode: Any = None) -> Route:
    route = Route.of("t", UnitState, handle)
    return replace(route, decode=decode or route.decode, one_pass=True)


def states(
    count: int, *, off_duty: frozenset[int] = frozenset(), bad: frozenset[int] = frozenset()
) -> list[Record]:
    """`count` unit states (SY-0 ...), those at `bad` not JSON, those at `off_duty` off duty."""
    values = [
        b"{not json"
        if n in bad
        else encode(
            unit_state(f"SY-{n}", UnitStatus.off_duty if n in off_duty else UnitStatus.available)
        )
        for n in range(count)
    ]
    return records(*values)


async def test_one_pass_dead_letters_what_does_not_decode_and_hands_over_the_rest_in_order() -> (
    None
):
    sink, seen = Sink(), []

    async def keep(messages: Iterable[UnitState]) -> None:
        seen.extend(m.unit_id for m in messages)

    batch = states(40, bad=frozenset({3, 17, 39}))
    batch[20].value = None  # a tombstone
    await Delivery(sink, "g").route(one_pass(keep), batch)
    assert sink.letters == [
        (3, "invalid_json"),
        (17, "invalid_json"),
        (20, "empty_record"),
        (39, "invalid_json"),
    ]
    assert seen == [f"SY-{n}" for n in range(40) if n not in {3, 17, 20, 39}]


async def test_one_pass_refusals_name_their_records_after_records_that_did_not_decode() -> None:
    sink = Sink()
    # an undecodable record in the first chunk shifts every later message's place by one
    batch = states(50, bad=frozenset({2}), off_duty=frozenset({1, 16, 33, 49}))
    await Delivery(sink, "g").route(one_pass(refuse_off_duty), batch)
    assert sink.letters == [
        (2, "invalid_json"),
        (1, "off_duty"),
        (16, "off_duty"),
        (33, "off_duty"),
        (49, "off_duty"),
    ]


async def test_one_pass_refusals_name_records_after_a_bad_record_in_a_later_chunk() -> None:
    sink = Sink()
    batch = states(40, bad=frozenset({20}), off_duty=frozenset({5, 30}))
    await Delivery(sink, "g").route(one_pass(refuse_off_duty), batch)
    assert sink.letters == [(20, "invalid_json"), (5, "off_duty"), (30, "off_duty")]


async def test_one_pass_refusals_name_their_records_when_every_record_decodes() -> None:
    sink = Sink()
    await Delivery(sink, "g").route(
        one_pass(refuse_off_duty), states(40, off_duty=frozenset({0, 31}))
    )
    assert sink.letters == [(0, "off_duty"), (31, "off_duty")]


async def test_one_pass_decodes_as_the_handler_reads_not_the_whole_batch_first() -> None:
    decoded: list[int] = []
    decode_state = Route.of("t", UnitState, refuse_off_duty).decode

    def counting(raw: bytes) -> Any:
        decoded.append(1)
        return decode_state(raw)

    decoded_before: list[int] = []

    async def watch(messages: Iterable[UnitState]) -> None:
        for _ in messages:
            decoded_before.append(len(decoded))

    await Delivery(Sink(), "g").route(one_pass(watch, counting), states(100))
    assert decoded_before[0] <= 16  # the first message was handed over with at most a chunk decoded
    assert decoded_before[-1] == 100 and len(decoded_before) == 100


async def test_one_pass_poison_message_is_isolated_and_undecodable_ones_dead_lettered_once() -> (
    None
):
    sink, handler = Sink(), Handler(poison={"SY-25"})
    await Delivery(sink, "g").route(one_pass(handler), states(30, bad=frozenset({4})))
    assert sorted(sink.letters) == [(4, "invalid_json"), (25, "unprocessable")]
    assert handler.seen[0] == [f"SY-{n}" for n in range(30) if n != 4]  # the whole batch first
    assert [units for units in handler.seen[1:] if units == ["SY-25"]] == [["SY-25"]]
    assert len(handler.seen) == 1 + 29  # then each message alone


async def test_one_pass_failure_that_may_heal_is_raised_and_nothing_is_dead_lettered() -> None:
    sink, handler = Sink(), Handler(poison={"SY-25"}, error=ConnectionRefusedError("database down"))
    with pytest.raises(ConnectionRefusedError):
        await Delivery(sink, "g").route(one_pass(handler), states(30, bad=frozenset({4})))
    # the batch is retried whole: its undecodable record is dead-lettered then, once
    assert sink.letters == []


async def test_one_pass_records_the_handler_did_not_read_are_still_judged() -> None:
    sink = Sink()

    async def first_only(messages: Iterable[UnitState]) -> None:
        next(iter(messages))

    await Delivery(sink, "g").route(one_pass(first_only), states(40, bad=frozenset({35})))
    assert sink.letters == [(35, "invalid_json")]


async def test_one_pass_lets_go_of_the_messages_the_handler_has_read() -> None:
    gone_by: list[int] = []

    async def watch(messages: Iterable[UnitState]) -> None:
        first = None
        for n, message in enumerate(messages):
            if first is None:
                first = weakref.ref(message)
            elif first() is None and not gone_by:
                gone_by.append(n)
            del message

    await Delivery(Sink(), "g").route(one_pass(watch), states(100))
    assert gone_by and gone_by[0] <= 16  # freed with its chunk, not kept for the whole batch


async def test_one_pass_read_again_gives_equal_messages_for_placing_refusals() -> None:
    batch = OnePass(one_pass(refuse_off_duty), states(40, bad=frozenset({5})))  # type: ignore[arg-type]
    first = [s.unit_id for s in batch]
    assert first == [s.unit_id for s in batch] == [f"SY-{n}" for n in range(40) if n != 5]
    assert [letter[0].offset for letter in batch.refused] == [5]  # judged once
    again = list(batch)
    refused = [(again[10], "off_duty", "x"), (again[30], "off_duty", "y")]
    assert [(r.index, batch.origin(r.index).offset) for r in placed(batch, refused)] == [
        (10, 11),
        (30, 31),
    ]


def test_one_pass_hands_over_plain_messages_only() -> None:
    with pytest.raises(ValueError, match="one-pass"):
        Route.of("t", UnitState, refuse_off_duty, key_field="unit_id", one_pass=True)
