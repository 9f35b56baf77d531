"""What a dispatcher's commands change in dispatch's domain (issue 17): a held alarm leaves the
planning passes, a unit taken off duty is never offered, whatever its terminal reports."""

from kj_dispatch.domain.book import Book, DispatchState
from kj_dispatch.domain.plans import load_plans
from kj_dispatch.domain.policy import decide
from kj_schemas.enums import UnitStatus

from .factories import NOW, alarm, call, east, make_fleet, put


def test_a_held_alarm_is_planned_by_no_pass_until_it_is_released() -> None:
    book = Book(make_fleet())
    a, b = alarm(east(0)), alarm(east(50))
    book.receive(a)
    book.receive(b)
    book.queue(a.alarm_id, "all_busy")
    book.hold(a.alarm_id)
    assert [c.alarm_id for c in book.waiting_calls()] == [b.alarm_id]
    assert a.alarm_id not in book.queued and book.alarm(a.alarm_id) == a
    book.receive(a)  # released
    assert {c.alarm_id for c in book.waiting_calls()} == {a.alarm_id, b.alarm_id}


def test_a_held_alarm_restored_after_a_restart_does_not_wait() -> None:
    book = Book(make_fleet())
    a = alarm()
    book.restore(a, DispatchState.held, None)
    assert book.waiting == set() and book.alarm(a.alarm_id) == a


def test_a_unit_off_duty_is_never_offered_even_when_its_terminal_says_available() -> None:
    fleet = make_fleet()
    put(fleet, "M1", east(100))
    put(fleet, "M2", east(900))
    assert not fleet.set_stood_down({"M1"})
    put(fleet, "M1", east(120), status=UnitStatus.available)  # a fresh ping keeps it down
    fleet.refresh_index(0.0)
    decision = decide([call(east(0))], index=fleet.index, plans=load_plans(), now=NOW)
    assert [a.option.unit_id for a in decision.assignments] == ["M2"]
    assert fleet.set_stood_down(set()) is True  # back on duty: it may take a waiting call
    assert fleet.units["M1"].dispatchable(NOW)


def test_a_unit_off_duty_that_was_never_seen_is_down_when_its_first_state_arrives() -> None:
    fleet = make_fleet()
    fleet.set_stood_down({"M7"})
    put(fleet, "M7", east(10))
    assert not fleet.units["M7"].dispatchable(NOW)
    assert not fleet.units["M7"].on_patrol_or_busy()
