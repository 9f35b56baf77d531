"""How the chaos verifier judges what it read back: plain functions over plain data (epoch
seconds, ids as strings), so each rule is tested in microseconds. The definitions are the
ones of docs/decisions/0070-chaos-suite-and-its-measures.md."""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

INF = math.inf
# an order nobody accepted covers its alarm until its deadline and this much more (the
# dispatcher's timer runs every 0.5 s): past that, the alarm is waiting on a dead order
ACCEPT_GRACE_S = 5.0


@dataclass(frozen=True)
class OrderSpan:
    """A work order's life, from the work_orders table."""

    work_order_id: str
    alarm_id: str
    unit_id: str
    role: str  # primary | backup
    issued_at: float
    accept_by: float
    engaged: bool  # accepted, en route or on scene at some point
    served_at: float | None  # the unit on scene (or the order closed): the alarm is answered
    closed_at: float | None
    ended_at: float | None  # closed, withdrawn or rejected; None while open
    withdraw_reason: str | None = None

    @property
    def end(self) -> float:
        return INF if self.ended_at is None else self.ended_at

    def covers_until(self) -> float:
        """Until when the order stands for its alarm: its end, but an order nobody accepted
        stops counting shortly after its deadline (a timer that does not run strands it)."""
        if self.engaged:
            return self.end
        return min(self.end, self.accept_by + ACCEPT_GRACE_S)


def _overlap(a: OrderSpan, b: OrderSpan) -> bool:
    return a.issued_at < b.end and b.issued_at < a.end


def double_assignments(orders: Iterable[OrderSpan]) -> dict[str, list[tuple[str, str]]]:
    """Units that held two work orders at once: unit -> the overlapping pairs."""
    by_unit: dict[str, list[OrderSpan]] = defaultdict(list)
    for order in orders:
        by_unit[order.unit_id].append(order)
    found: dict[str, list[tuple[str, str]]] = {}
    for unit, held in by_unit.items():
        held.sort(key=lambda o: o.issued_at)
        pairs = [
            (a.work_order_id, b.work_order_id)
            for i, a in enumerate(held)
            for b in held[i + 1 :]
            if _overlap(a, b)
        ]
        if pairs:
            found[unit] = pairs
    return found


def duplicate_orders(
    orders: Iterable[OrderSpan], delivered: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """Work orders that should not exist, as (work order id, why):
    - `second_primary`: a primary issued while another primary of the same alarm stood;
    - `after_close`: issued for an alarm whose primary had already closed it;
    - `not_recorded`: delivered to a terminal but absent from the record."""
    by_alarm: dict[str, list[OrderSpan]] = defaultdict(list)
    known: set[str] = set()
    for order in orders:
        by_alarm[order.alarm_id].append(order)
        known.add(order.work_order_id)
    found: list[tuple[str, str]] = []
    for held in by_alarm.values():
        held.sort(key=lambda o: o.issued_at)
        primaries = [o for o in held if o.role == "primary"]
        for i, order in enumerate(primaries):
            if any(_overlap(order, earlier) for earlier in primaries[:i]):
                found.append((order.work_order_id, "second_primary"))
        closed = [o.closed_at for o in primaries if o.closed_at is not None]
        if closed:
            first_close = min(closed)
            found += [(o.work_order_id, "after_close") for o in held if o.issued_at > first_close]
    found += [(wid, "not_recorded") for wid in sorted(set(delivered) - known)]
    return found


def waiting_gaps(
    received_at: float, primaries: Sequence[OrderSpan], until: float
) -> list[tuple[float, float]]:
    """When the alarm had no primary unit standing for it, from its receipt until it was
    answered (a unit on scene) or `until`."""
    served = [o.served_at for o in primaries if o.served_at is not None]
    end = min([until, *served])
    covers = sorted((o.issued_at, o.covers_until()) for o in primaries)
    gaps: list[tuple[float, float]] = []
    cursor = received_at
    for start, stop in covers:
        if cursor >= end:
            break
        if start > cursor:
            gaps.append((cursor, min(start, end)))
        cursor = max(cursor, stop)
    if cursor < end:
        gaps.append((cursor, end))
    return [(a, b) for a, b in gaps if b > a]


def expired_late(order: OrderSpan, *, until: float) -> bool:
    """An order nobody accepted that was not withdrawn within ACCEPT_GRACE_S of its deadline
    (or is still open past it at `until`): no dispatcher's timer was looking after it."""
    if order.engaged or order.accept_by + ACCEPT_GRACE_S >= until:
        return False
    if order.ended_at is None:
        return True
    return order.withdraw_reason == "accept_timeout" and (
        order.ended_at > order.accept_by + ACCEPT_GRACE_S
    )


def silent_wait_s(gaps: Sequence[tuple[float, float]], notices: Sequence[float]) -> float:
    """The longest wait during which no notice named the alarm (0 when every wait had one)."""
    return max(
        (b - a for a, b in gaps if not any(a - 1.0 <= at <= b for at in notices)), default=0.0
    )


def stranded_gap(
    gaps: Sequence[tuple[float, float]], target_s: float, notices: Sequence[float]
) -> tuple[float, float] | None:
    """The first wait longer than the target during which the command centre was told
    nothing about the alarm: no notice naming it from a second before the wait began until
    its target ran out."""
    for start, stop in gaps:
        if stop - start <= target_s:
            continue
        if not any(start - 1.0 <= at <= start + target_s for at in notices):
            return (start, stop)
    return None


def recovery_s(
    fault_at: float, alarms: Iterable[tuple[float, float | None]], *, until: float
) -> float | None:
    """Seconds from the fault until the stack served again: the earliest primary work order
    of an alarm first sent at or after the fault, as (first attempt, first primary issued).
    None when none was served before `until`."""
    served = [
        issued - fault_at
        for sent, issued in alarms
        if sent >= fault_at and issued is not None and issued <= until
    ]
    return min(served) if served else None


@dataclass(frozen=True)
class AnswerSeen:
    kind: str
    sends: tuple[float, ...]
    replied_send_at: float | None  # the write the gateway answered (ok or a refusal)


# an order that reaches its terminal less than this before its deadline cannot be answered
# in time by an officer who reads it first (the simulated officers take about 6 s)
LATE_DELIVERY_S = 10.0


def accept_timeout_cause(
    order: OrderSpan, answers: Sequence[AnswerSeen], received_at: float | None
) -> str | None:
    """Why an order was withdrawn for accept timeout (None for any other order):
    - `false_timeout`: the gateway had an acceptance before the deadline (it replied to a
      write made before it: `ok`, or a refusal such as `not_your_work_order`);
    - `answer_unconfirmed`: one was written before the deadline, the gateway never replied;
    - `never_reached_terminal` / `reached_terminal_late`: the order was not on the terminal,
      or got there less than LATE_DELIVERY_S before its deadline;
    - `not_answered_in_time`: on the terminal in time, the officer did not accept in time."""
    if order.withdraw_reason != "accept_timeout":
        return None
    accepts = [a for a in answers if a.kind == "accepted"]
    if any(a.replied_send_at is not None and a.replied_send_at < order.accept_by for a in accepts):
        return "false_timeout"
    if any(any(sent < order.accept_by for sent in a.sends) for a in accepts):
        return "answer_unconfirmed"
    if received_at is None:
        return "never_reached_terminal"
    if received_at > order.accept_by - LATE_DELIVERY_S:
        return "reached_terminal_late"
    return "not_answered_in_time"


@dataclass(frozen=True)
class Poison:
    topic: str
    partition: int
    offset: int
    kind: str


def blocking_poison(
    poison: Iterable[Poison],
    readers: Mapping[str, Sequence[str]],
    committed: Mapping[tuple[str, str, int], int],
    ends: Mapping[tuple[str, int], int],
    passed: Mapping[str, set[tuple[str, int, int]]] | None = None,
) -> tuple[list[tuple[Poison, str]], list[Poison]]:
    """Poison records that stopped a reader: for each consumer group that reads the topic,
    the first poison record of a partition that the group has not committed past while a later
    record stands in that partition, unless the group dead-lettered it (`passed`: group ->
    (topic, partition, offset) it sent to the dead letters; it went past that record and stands
    still for another one, counted where that one is). `committed` is (group, topic,
    partition) -> the next offset the group reads (absent: it never committed there); `ends`
    the end offsets. Returns the blocking (record, group) pairs, and the records that no later
    record follows (they cannot be judged)."""
    by_partition: dict[tuple[str, int], list[Poison]] = defaultdict(list)
    for record in poison:
        by_partition[(record.topic, record.partition)].append(record)
    blocking: list[tuple[Poison, str]] = []
    unjudged: list[Poison] = []
    for (topic, partition), records in by_partition.items():
        records.sort(key=lambda r: r.offset)
        end = ends.get((topic, partition), 0)
        unjudged += [r for r in records if end <= r.offset + 1]
        for group in readers.get(topic, ()):
            position = committed.get((group, topic, partition), -1)
            let_through = (passed or {}).get(group, set())
            for record in records:
                if end <= record.offset + 1:
                    break
                if position > record.offset or (topic, partition, record.offset) in let_through:
                    continue
                blocking.append((record, group))
                break
    return blocking, unjudged
