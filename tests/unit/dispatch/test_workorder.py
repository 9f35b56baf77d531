"""A work order's life: which answers of its unit move it where, the arrival rule, and the open
work order dispatch issues and keeps in mind."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from kj_dispatch.domain.model import Assignment, Option
from kj_dispatch.domain.workorder import (
    OPEN,
    OpenOrder,
    after,
    arrival_counts,
    arrival_source,
    restored_role,
    timely_after_timeout,
)
from kj_schemas.enums import (
    EventSource,
    UnitKind,
    WorkOrderEventKind,
    WorkOrderRole,
    WorkOrderStatus,
)

from .factories import NOW, alarm, call, east, open_order

Kind = WorkOrderEventKind
Status = WorkOrderStatus
MIGRATIONS = Path(__file__).parents[3] / "migrations"


def test_the_status_vocabulary_is_the_one_the_database_accepts() -> None:
    sql = (MIGRATIONS / "0004.work_orders.sql").read_text()
    checked = re.search(r"status in \(([^)]*)\)\s*\)", sql)
    assert checked is not None
    assert set(re.findall(r"'(\w+)'", checked.group(1))) == {str(s) for s in Status}


def test_a_unit_accepts_only_a_work_order_still_waiting_for_its_answer() -> None:
    assert after(Status.assigned, Kind.accepted) is Status.accepted
    for later in (Status.accepted, Status.en_route, Status.on_scene):
        assert after(later, Kind.accepted) is None


def test_en_route_counts_before_the_arrival_and_not_after_it() -> None:
    assert after(Status.assigned, Kind.en_route) is Status.en_route  # accept skipped
    assert after(Status.accepted, Kind.en_route) is Status.en_route
    assert after(Status.on_scene, Kind.en_route) is None


def test_an_arrival_may_come_again_so_gps_can_replace_the_button() -> None:
    assert after(Status.on_scene, Kind.on_scene) is Status.on_scene
    assert after(Status.assigned, Kind.on_scene) is Status.on_scene


def test_a_unit_cannot_reject_once_it_is_on_scene_but_can_close_from_any_open_status() -> None:
    assert after(Status.en_route, Kind.rejected) is Status.rejected
    assert after(Status.on_scene, Kind.rejected) is None
    for status in OPEN:
        assert after(status, Kind.closed) is Status.closed


@pytest.mark.parametrize("ended", [Status.closed, Status.withdrawn, Status.rejected])
def test_no_answer_reopens_an_ended_work_order(ended: WorkOrderStatus) -> None:
    assert ended not in OPEN
    assert all(after(ended, kind) is None for kind in Kind)


def test_the_first_arrival_counts_and_gps_replaces_the_button_never_the_reverse() -> None:
    gps, button = EventSource.gps, EventSource.terminal
    assert arrival_counts(first=True, recorded=None, source=button)
    assert arrival_counts(first=False, recorded="terminal", source=gps)
    assert not arrival_counts(first=False, recorded="gps", source=button)
    assert not arrival_counts(first=False, recorded="gps", source=gps)
    assert not arrival_counts(first=False, recorded="terminal", source=button)


def test_an_arrival_decided_by_dispatch_is_recorded_as_the_button() -> None:
    assert arrival_source(EventSource.dispatch) is EventSource.terminal
    assert arrival_source(EventSource.gps) is EventSource.gps


def test_an_issued_work_order_carries_the_assignment_and_waits_for_acceptance() -> None:
    the_call = call(east(0), priority=2)
    option = Option("SY-P01-M1", "SY-P01", UnitKind.motorcycle, 48.0)
    runner_up = Option("SY-P01-C1", "SY-P01", UnitKind.car, 70.0)
    order = OpenOrder.issue(
        Assignment(the_call, option, "primary", "closest_eta", runner_up, False),
        at=NOW,
        accept_by=NOW + timedelta(seconds=30),
    )
    assert (order.alarm_id, order.unit_id, order.priority) == (the_call.alarm_id, "SY-P01-M1", 2)
    assert order.role is WorkOrderRole.primary and order.primary
    assert order.status is Status.assigned
    assert (order.runner_up_unit_id, order.runner_up_eta_s) == ("SY-P01-C1", 70.0)
    commitment = order.commitment()
    assert (commitment.work_order_id, commitment.priority) == (order.work_order_id, 2)


def test_a_work_order_is_unaccepted_once_its_deadline_passes_while_still_assigned() -> None:
    order = open_order(alarm(), "SY-P01-M1", accept_within_s=30)
    assert not order.unaccepted_at(NOW + timedelta(seconds=29))
    assert order.unaccepted_at(NOW + timedelta(seconds=30))
    order.status = Status.accepted
    assert not order.unaccepted_at(NOW + timedelta(seconds=60))


def test_an_acceptance_received_by_the_deadline_brings_a_timed_out_job_back() -> None:
    deadline = NOW + timedelta(seconds=30)
    timed_out = {"status": WorkOrderStatus.withdrawn, "withdraw_reason": "accept_timeout"}
    in_time = deadline - timedelta(seconds=8)
    assert timely_after_timeout(**timed_out, accept_by=deadline, received_at=in_time)
    late = deadline + timedelta(seconds=1)
    assert not timely_after_timeout(**timed_out, accept_by=deadline, received_at=late)
    preempted = {"status": WorkOrderStatus.withdrawn, "withdraw_reason": "preempted"}
    assert not timely_after_timeout(**preempted, accept_by=deadline, received_at=in_time)


def test_the_unit_that_said_yes_first_is_primary_unless_another_already_accepted() -> None:
    assert restored_role(None) == (WorkOrderRole.primary, False)
    assert restored_role(WorkOrderStatus.assigned) == (WorkOrderRole.primary, True)
    assert restored_role(WorkOrderStatus.en_route) == (WorkOrderRole.backup, False)
