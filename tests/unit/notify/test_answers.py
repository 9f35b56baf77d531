import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from kj_notify.domain.answers import HeldOrder, Refused, check_answer, event_for
from kj_notify.domain.frames import AckFrame, Answer, AnswerFrame, parse_frame
from kj_notify.domain.rate import FrameBudget
from kj_schemas.enums import EventSource, WorkOrderEventKind

ORDER = uuid.uuid4()
HELD = HeldOrder(ORDER, "U1", withdrawn=False)


def test_a_unit_may_answer_its_own_work_order() -> None:
    answer = Answer(kind=WorkOrderEventKind.accepted)
    check_answer(HELD, "U1", answer)
    event = event_for(HELD, answer, datetime.now(UTC))
    assert (event.unit_id, event.kind, event.source) == (
        "U1",
        WorkOrderEventKind.accepted,
        EventSource.terminal,
    )


@pytest.mark.parametrize(
    ("held", "unit", "answer", "reason"),
    [
        (None, "U1", Answer(kind=WorkOrderEventKind.accepted), "not_your_work_order"),
        (HELD, "U2", Answer(kind=WorkOrderEventKind.accepted), "not_your_work_order"),
        (
            HeldOrder(ORDER, "U1", withdrawn=True),
            "U1",
            Answer(kind=WorkOrderEventKind.en_route),
            "withdrawn",
        ),
        (HELD, "U1", Answer(kind=WorkOrderEventKind.closed), "disposition_required"),
        (HELD, "U1", Answer(kind=WorkOrderEventKind.rejected), "reason_required"),
    ],
)
def test_answers_that_are_refused_say_why(held, unit, answer, reason) -> None:
    with pytest.raises(Refused) as refused:
        check_answer(held, unit, answer)
    assert refused.value.reason == reason


def test_a_resent_answer_keeps_its_event_id() -> None:
    event_id = uuid.uuid4()
    answer = Answer(kind=WorkOrderEventKind.on_scene, event_id=event_id)
    assert event_for(HELD, answer, datetime.now(UTC)).message_id == event_id


def test_frames_parse_by_type_and_refuse_anything_else() -> None:
    assert parse_frame('{"type": "ack", "delivery_id": 7}') == AckFrame(type="ack", delivery_id=7)
    frame = parse_frame(f'{{"type": "event", "work_order_id": "{ORDER}", "kind": "accepted"}}')
    assert isinstance(frame, AnswerFrame)
    for bad in ('{"type": "ack"}', '{"type": "ack", "delivery_id": "7"}', "[]", "not json"):
        with pytest.raises(ValidationError):
            parse_frame(bad)


def test_an_answer_carries_the_terminals_time_and_the_gateways_receipt() -> None:
    """Dispatch judges the acceptance deadline by the gateway's receipt, not by when the event
    reaches it (issue 14: after a broker outage, timely acceptances were withdrawn)."""
    received = datetime.now(UTC)
    given = received - timedelta(seconds=3)
    answer = Answer(kind=WorkOrderEventKind.accepted, occurred_at=given)
    event = event_for(HELD, answer, received)
    assert (event.occurred_at, event.received_at) == (given, received)
    without_clock = event_for(HELD, Answer(kind=WorkOrderEventKind.accepted), received)
    assert without_clock.occurred_at == without_clock.received_at == received


def test_an_answer_dated_outside_a_sane_window_is_refused() -> None:
    for at in (datetime.now(UTC) + timedelta(days=2), datetime(1, 1, 2, tzinfo=UTC)):
        with pytest.raises(ValidationError):
            Answer.model_validate({"kind": "accepted", "occurred_at": at.isoformat()})


def test_an_ack_beyond_the_bigint_column_is_refused_alone() -> None:
    """Issue 14: one ack with an out-of-range delivery_id failed the whole batch of receipts it
    was recorded with; the frame is refused before it reaches the batch."""
    assert parse_frame('{"type": "ack", "delivery_id": 9223372036854775807}')
    for frame in (
        '{"type": "ack", "delivery_id": 9223372036854775808}',
        '{"type": "read", "delivery_id": 99999999999999999999}',
    ):
        with pytest.raises(ValidationError):
            parse_frame(frame)


def test_a_terminal_gets_its_burst_then_its_rate_and_is_closed_when_it_keeps_flooding() -> None:
    budget = FrameBudget(rate=10.0, burst=5, patience=3)
    assert all(budget.take(0.0) for _ in range(5))
    assert not budget.take(0.0)  # the burst is spent
    assert budget.take(0.1)  # a tenth of a second buys one frame
    assert not budget.exhausted
    for _ in range(4):
        budget.take(0.1)
    assert budget.exhausted  # four refused in a row, past its patience of three
    assert budget.take(10.0) and not budget.exhausted  # it waited: trusted again
