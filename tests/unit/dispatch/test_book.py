"""Dispatch's book: which alarms wait, which work orders are ours, which units are committed,
excluded or free again, as answers and withdrawals come in."""

from datetime import timedelta
from uuid import uuid4

from kj_dispatch.domain.book import Book, DispatchState
from kj_dispatch.domain.workorder import OpenOrder
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import WorkOrderEventKind, WorkOrderRole, WorkOrderStatus

from .factories import NOW, alarm, east, make_fleet, open_order, put

Kind = WorkOrderEventKind


def book_with_units(*unit_ids: str) -> Book:
    fleet = make_fleet()
    for i, unit_id in enumerate(unit_ids):
        put(fleet, unit_id, east(100 * (i + 1)))
    return Book(fleet)


def free(book: Book, unit_id: str) -> bool:
    return book.fleet.units[unit_id].dispatchable(NOW)


def assigned(book: Book, a: AlarmAccepted, *orders: OpenOrder) -> None:
    book.receive(a)
    book.assigned(a.alarm_id, list(orders))


def test_a_received_alarm_waits_as_a_call_for_the_policy() -> None:
    book = Book(make_fleet())
    a = alarm(east(50), priority=2)
    book.receive(a)
    assert book.waiting == {a.alarm_id}
    (waiting,) = book.waiting_calls()
    assert (waiting.alarm_id, waiting.priority, waiting.lon) == (a.alarm_id, 2, a.location.lon)
    assert waiting.target_s == 60.0 and waiting.reported_at == a.reported_at


def test_an_assigned_alarm_waits_no_more_and_its_unit_is_committed() -> None:
    book = book_with_units("M1")
    a = alarm()
    book.receive(a)
    book.queue(a.alarm_id, "all_busy")
    order = open_order(a, "M1")
    book.assigned(a.alarm_id, [order])
    assert not book.waiting and not book.queued
    assert book.order(order.work_order_id) is order
    commitment = book.fleet.commitment_of("M1")
    assert commitment is not None and commitment.work_order_id == order.work_order_id
    assert not free(book, "M1")


def test_the_command_centre_is_told_once_per_reason() -> None:
    book = Book(make_fleet())
    a = alarm()
    book.receive(a)
    assert not book.told(a.alarm_id, "all_busy")
    book.queue(a.alarm_id, "all_busy")
    assert book.told(a.alarm_id, "all_busy")
    assert not book.told(a.alarm_id, "none_in_range")


def test_a_restart_restores_waiting_queued_and_assigned_alarms_as_recorded() -> None:
    book = Book(make_fleet())
    pending, queued, busy = alarm(), alarm(), alarm()
    book.restore(pending, DispatchState.pending, None)
    book.restore(queued, DispatchState.queued, "none_in_range")
    book.restore(busy, DispatchState.assigned, None)
    assert book.waiting == {pending.alarm_id, queued.alarm_id}
    assert book.told(queued.alarm_id, "none_in_range")
    assert not book.queued.get(pending.alarm_id)
    assert book.alarm(busy.alarm_id) is busy


def test_losing_its_primary_requeues_the_alarm_frees_the_unit_and_excludes_it() -> None:
    book = book_with_units("M1")
    a = alarm()
    order = open_order(a, "M1")
    assigned(book, a, order)
    book.queue(a.alarm_id, "all_busy")  # a reason told before: the next shortfall is told anew
    assert book.requeue_after_losing(order)
    assert book.waiting == {a.alarm_id} and not book.told(a.alarm_id, "all_busy")
    assert book.order(order.work_order_id) is None
    assert free(book, "M1")
    assert book.excluded[a.alarm_id] == {"M1"}


def test_losing_a_backup_excludes_its_unit_but_the_alarm_keeps_its_primary() -> None:
    book = book_with_units("M1", "C1")
    a = alarm()
    primary = open_order(a, "M1")
    backup = open_order(a, "C1", role=WorkOrderRole.backup)
    assigned(book, a, primary, backup)
    assert not book.requeue_after_losing(backup)
    assert not book.waiting
    assert book.excluded[a.alarm_id] == {"C1"}
    assert free(book, "C1") and not free(book, "M1")


def test_units_that_let_an_alarm_down_add_up_and_go_with_the_alarm() -> None:
    book = book_with_units("M1", "M2")
    a = alarm()
    first, second = open_order(a, "M1"), open_order(a, "M2")
    assigned(book, a, first)
    book.requeue_after_losing(first)
    book.assigned(a.alarm_id, [second])
    book.requeue_after_losing(second)
    assert book.excluded[a.alarm_id] == {"M1", "M2"}
    book.forget_alarm(a.alarm_id)
    assert a.alarm_id not in book.excluded
    assert book.alarm(a.alarm_id) is None and not book.waiting


def test_a_preempted_primary_waits_again_while_its_unit_goes_to_the_urgent_call() -> None:
    book = book_with_units("M1")
    minor, urgent = alarm(priority=4), alarm(priority=1)
    old = open_order(minor, "M1")
    assigned(book, minor, old)
    book.receive(urgent)
    new = open_order(urgent, "M1")
    # as the dispatcher applies a committed batch: the preempted order first, then the new one
    assert book.requeue_after_losing(old)
    book.assigned(urgent.alarm_id, [new])
    assert book.waiting == {minor.alarm_id}
    assert book.excluded[minor.alarm_id] == {"M1"}
    commitment = book.fleet.commitment_of("M1")
    assert commitment is not None and commitment.alarm_id == urgent.alarm_id


def test_forgetting_an_old_work_order_leaves_its_unit_committed_to_a_newer_one() -> None:
    book = book_with_units("M1")
    a, b = alarm(), alarm()
    old, new = open_order(a, "M1"), open_order(b, "M1")
    assigned(book, a, old)
    assigned(book, b, new)
    book.forget_order(old)
    commitment = book.fleet.commitment_of("M1")
    assert commitment is not None and commitment.work_order_id == new.work_order_id


def test_a_preempted_primary_whose_alarm_was_forgotten_does_not_wait_again() -> None:
    book = book_with_units("M1")
    a = alarm()
    order = open_order(a, "M1")
    assigned(book, a, order)
    book.forget_alarm(a.alarm_id)
    assert not book.requeue_after_losing(order)
    assert not book.waiting


def test_closing_the_primary_forgets_the_order_and_the_alarm_and_frees_the_unit() -> None:
    book = book_with_units("M1", "C1")
    a = alarm()
    primary = open_order(a, "M1")
    backup = open_order(a, "C1", role=WorkOrderRole.backup)
    assigned(book, a, primary, backup)
    book.coverage_dirty = False
    lost = book.answered(primary.work_order_id, "M1", Kind.closed, WorkOrderStatus.closed)
    assert lost is None
    assert book.order(primary.work_order_id) is None and book.alarm(a.alarm_id) is None
    assert free(book, "M1") and book.coverage_dirty
    assert book.order(backup.work_order_id) is backup  # the backup closes on its own


def test_closing_a_backup_keeps_the_alarm() -> None:
    book = book_with_units("M1", "C1")
    a = alarm()
    backup = open_order(a, "C1", role=WorkOrderRole.backup)
    assigned(book, a, open_order(a, "M1"), backup)
    book.answered(backup.work_order_id, "C1", Kind.closed, WorkOrderStatus.closed)
    assert book.alarm(a.alarm_id) is a and free(book, "C1")


def test_a_rejection_hands_back_the_order_and_the_alarm_waits_for_another_unit() -> None:
    book = book_with_units("M1")
    a = alarm()
    order = open_order(a, "M1")
    assigned(book, a, order)
    lost = book.answered(order.work_order_id, "M1", Kind.rejected, WorkOrderStatus.rejected)
    assert lost is order
    assert book.waiting == {a.alarm_id} and book.excluded[a.alarm_id] == {"M1"}
    assert free(book, "M1")


def test_an_answer_moves_our_order_on_and_the_policy_sees_the_new_status() -> None:
    book = book_with_units("M1")
    a = alarm()
    order = open_order(a, "M1")
    assigned(book, a, order)
    book.answered(order.work_order_id, "M1", Kind.en_route, WorkOrderStatus.en_route)
    assert order.status is WorkOrderStatus.en_route
    commitment = book.fleet.commitment_of("M1")
    assert commitment is not None and commitment.status == WorkOrderStatus.en_route


def test_an_answer_that_did_not_apply_changes_nothing() -> None:
    book = book_with_units("M1")
    a = alarm()
    order = open_order(a, "M1")
    assigned(book, a, order)
    book.answered(order.work_order_id, "M1", Kind.accepted, None)
    assert order.status is WorkOrderStatus.assigned


def test_the_end_of_another_dispatchers_work_order_frees_the_unit_it_held() -> None:
    book = book_with_units("M1")
    book.fleet.hold_elsewhere("M1")
    assert not free(book, "M1")
    assert book.answered(uuid4(), "M1", Kind.closed, None) is None
    assert free(book, "M1")


def test_any_answer_shows_a_silent_unit_is_back() -> None:
    book = book_with_units("M1")
    book.fleet.mark_unresponsive("M1", NOW + timedelta(minutes=5))
    assert not free(book, "M1")
    book.answered(uuid4(), "M1", Kind.accepted, None)
    assert free(book, "M1")


def test_an_order_not_accepted_in_time_is_found_once_then_left_to_the_events() -> None:
    book = book_with_units("M1", "M2")
    a, b = alarm(), alarm()
    late = open_order(a, "M1", accept_within_s=10)
    accepted = open_order(b, "M2", status=WorkOrderStatus.accepted, accept_within_s=10)
    assigned(book, a, late)
    assigned(book, b, accepted)
    now = NOW + timedelta(seconds=10)
    assert book.unaccepted(now) == [late]
    book.leave_to_events(late)
    assert book.unaccepted(now) == []


def test_a_pass_over_a_backlog_plans_the_most_urgent_first_and_rotates_the_rest() -> None:
    book = Book(make_fleet())
    backlog = [alarm(priority=3) for _ in range(10)]
    for a in backlog:
        book.receive(a)
    first = {c.alarm_id for c in book.waiting_calls(limit=4)}
    urgent = alarm(priority=1)
    book.receive(urgent)
    second = [c.alarm_id for c in book.waiting_calls(limit=4)]
    assert second[0] == urgent.alarm_id  # a new priority-1 call waits for no backlog
    assert not first & set(second[1:])  # the others take turns: longest unplanned first
    assert book.unplanned == 10 - 4 - 3
    book.waiting_calls(limit=4)
    assert book.unplanned == 0


def test_a_region_another_process_took_leaves_the_book_and_its_units_stay_busy() -> None:
    book = book_with_units("M1", "M2")
    ours, theirs = alarm(), alarm().model_copy(update={"region": "elsewhere"})
    order = open_order(theirs, "M2")
    order.region = "elsewhere"
    assigned(book, ours, open_order(ours, "M1"))
    assigned(book, theirs, order)
    assert book.drop_region("elsewhere") == 1
    assert book.alarm(theirs.alarm_id) is None and book.order(order.work_order_id) is None
    assert book.alarm(ours.alarm_id) is not None
    assert "M2" in book.fleet.held_elsewhere and not free(book, "M2")


def test_a_region_taken_over_brings_its_waiting_calls_and_open_orders() -> None:
    book = book_with_units("M1")
    waiting, busy = alarm(), alarm()
    order = open_order(busy, "M1")
    book.take_region(
        [(waiting, DispatchState.queued, "all_busy"), (busy, DispatchState.assigned, None)],
        [order],
    )
    assert book.waiting == {waiting.alarm_id} and book.told(waiting.alarm_id, "all_busy")
    assert book.order(order.work_order_id) is order and not free(book, "M1")
