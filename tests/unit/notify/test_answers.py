import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from kj_notify.domain.answers import HeldOrder, Refused, check_answer, event_for
from kj_notify.domain.frames import AckFrame, Answer, AnswerFrame, parse_frame
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
