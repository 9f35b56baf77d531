"""What the gateway sends on the terminal socket is what schemas/asyncapi.yaml documents."""

from uuid import UUID

import pytest
from pydantic import BaseModel

from kj_notify.domain.frames import delivery_frame, error_frame, ok_frame
from kj_schemas.examples import FRAMES, WORK_ORDER_ID
from kj_schemas.terminal import (
    OUTBOUND,
    AckFrame,
    AnswerFrame,
    ErrorFrame,
    OkFrame,
    ReadFrame,
    WorkOrderFrame,
    parse_frame,
)
from kj_schemas.workorders import WorkOrder


@pytest.mark.parametrize("model", list(FRAMES), ids=lambda model: model.__name__)
def test_documented_frame_examples_are_valid(model: type[BaseModel]) -> None:
    for frame in FRAMES[model]:
        assert isinstance(model.model_validate(frame), model)


def test_inbound_examples_parse_as_the_gateway_parses_them() -> None:
    for model in (AckFrame, ReadFrame, AnswerFrame):
        for frame in FRAMES[model]:
            assert isinstance(parse_frame(model.model_validate(frame).model_dump_json()), model)


def test_gateways_frames_match_the_outbound_contract() -> None:
    order = WorkOrder.model_validate(FRAMES[WorkOrderFrame][0]["work_order"])
    sent = [
        delivery_frame(
            delivery_id=7,
            work_order_id=UUID(WORK_ORDER_ID),
            action="assign",
            withdrawn=False,
            work_order=order.model_dump(mode="json", exclude_none=True),
        ),
        ok_frame(WORK_ORDER_ID, "event"),
        error_frame("bad_frame", "type: Input tag 'x' does not match"),
        error_frame(
            "unavailable", "resend it", WORK_ORDER_ID, event_id=WORK_ORDER_ID, retry_after_s=1
        ),
        {"type": "error", "reason": "frame_not_utf8_json"},
    ]
    kinds = [type(OUTBOUND.validate_python(frame)) for frame in sent]
    assert kinds == [WorkOrderFrame, OkFrame, ErrorFrame, ErrorFrame, ErrorFrame]
