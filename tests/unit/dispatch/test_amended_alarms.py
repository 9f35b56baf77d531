"""An alarm changed after it was accepted (decision 0115), in the book: its facts replaced, a
unit withdrawn for a moved scene free and not held against the alarm, a cancelled alarm gone;
a corrected scene's work order is the same unit's job again, to be accepted anew."""

from datetime import timedelta
from typing import Any

from kj_dispatch.domain.book import Book
from kj_schemas.alarms import AlarmAccepted, Amendment
from kj_schemas.base import GeoPoint
from kj_schemas.enums import WorkOrderRole, WorkOrderStatus

from .factories import NOW, alarm, east, make_fleet, open_order, put


def book_with(*unit_ids: str) -> Book:
    fleet = make_fleet()
    for i, unit_id in enumerate(unit_ids):
        put(fleet, unit_id, east(100 * (i + 1)))
    return Book(fleet)


def moved(original: AlarmAccepted, metres: float, **amendment: Any) -> AlarmAccepted:
    lat, lon = east(metres)
    return original.model_copy(
        update={
            "location": GeoPoint(lat=lat, lon=lon),
            "amendment": Amendment(update_id="U1", at=NOW, **amendment),
        }
    )


def test_a_moved_scene_frees_the_withdrawn_primary_without_excluding_it() -> None:
    book = book_with("M1", "M2")
    a = alarm()
    primary, backup = open_order(a, "M1"), open_order(a, "M2", role=WorkOrderRole.backup)
    book.receive(a)
    book.assigned(a.alarm_id, [primary, backup])
    after = moved(a, 2000, replan=True, moved_m=2000.0)
    assert book.amend(after, [primary])
    assert book.waiting == {a.alarm_id}
    assert book.alarm(a.alarm_id) == after  # planned from the new place
    assert book.order(primary.work_order_id) is None
    assert book.fleet.units["M1"].dispatchable(NOW)
    assert "M1" not in book.excluded.get(a.alarm_id, set())  # it may be sent again
    assert book.order(backup.work_order_id) is not None


def test_new_facts_without_a_withdrawal_keep_the_alarm_assigned() -> None:
    book = book_with("M1")
    a = alarm()
    order = open_order(a, "M1")
    book.receive(a)
    book.assigned(a.alarm_id, [order])
    after = a.model_copy(update={"priority": 3, "amendment": Amendment(update_id="U", at=NOW)})
    assert not book.amend(after, [])
    assert book.alarm(a.alarm_id) == after and not book.waiting


def test_an_amendment_for_an_alarm_not_in_the_book_changes_nothing() -> None:
    book = book_with("M1")
    a = alarm()
    assert not book.amend(moved(a, 500, moved_m=500.0), [])
    assert book.alarm(a.alarm_id) is None


def test_a_cancelled_alarm_leaves_the_book_and_frees_its_units() -> None:
    book = book_with("M1")
    a = alarm()
    order = open_order(a, "M1")
    book.receive(a)
    book.assigned(a.alarm_id, [order])
    book.cancelled(a.alarm_id, [order])
    assert book.alarm(a.alarm_id) is None and not book.waiting
    assert book.fleet.units["M1"].dispatchable(NOW)


def test_a_corrected_scene_is_the_same_units_job_again_to_be_accepted_anew() -> None:
    a = alarm()
    order = open_order(a, "M1", status=WorkOrderStatus.en_route)
    later = NOW + timedelta(seconds=20)
    again = order.corrected(
        at=later, accept_by=later + timedelta(seconds=30), eta_s=75.0, priority=1, late=True
    )
    assert (again.unit_id, again.role, again.alarm_id) == (order.unit_id, order.role, a.alarm_id)
    assert again.work_order_id != order.work_order_id
    assert (again.status, again.reason, again.eta_s, again.at_risk) == (
        WorkOrderStatus.assigned,
        "scene_corrected",
        75.0,
        True,
    )
    assert again.unaccepted_at(later + timedelta(seconds=31))
