"""Non-police diversion, and an alarm's status and response time from unit events."""

from datetime import UTC, datetime, timedelta

from kj_alarm.domain.diversion import is_diverted
from kj_alarm.domain.response import (
    response_seconds,
    status_after_assign,
    status_after_event,
    target_met,
)
from kj_schemas.enums import AlarmCategory
from kj_schemas.enums import AlarmStatus as S
from kj_schemas.enums import WorkOrderEventKind as K


def test_non_police_categories_go_to_12345_and_police_ones_do_not() -> None:
    assert is_diverted(AlarmCategory.noise) and is_diverted(AlarmCategory.utilities)
    assert not is_diverted(AlarmCategory.suicide_attempt)


def test_status_follows_the_units_answers_and_never_moves_back() -> None:
    assert status_after_assign(S.accepted) is S.assigned
    assert status_after_event(S.assigned, K.on_scene, open_orders_left=1) is S.on_scene
    assert status_after_event(S.on_scene, K.en_route, open_orders_left=1) is S.on_scene
    assert status_after_event(S.on_scene, K.closed, open_orders_left=0) is S.closed
    assert status_after_event(S.closed, K.on_scene, open_orders_left=0) is S.closed


def test_a_rejected_order_with_no_other_open_returns_the_alarm_to_accepted() -> None:
    assert status_after_event(S.assigned, K.rejected, open_orders_left=0) is S.accepted
    assert status_after_event(S.assigned, K.rejected, open_orders_left=1) is S.assigned


def test_merged_and_diverted_alarms_are_not_moved_by_unit_events() -> None:
    assert status_after_event(S.merged, K.on_scene, open_orders_left=0) is S.merged


def test_response_time_and_target() -> None:
    t0 = datetime(2026, 11, 23, tzinfo=UTC)
    assert response_seconds(t0, t0 + timedelta(seconds=55)) == 55
    assert target_met(55, 60) is True and target_met(61, 60) is False
    assert response_seconds(t0, None) is None and target_met(None, 60) is None
