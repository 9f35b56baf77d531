"""The rows of `tracking_work_orders` a batch of work orders and events leaves, worked out in
memory and written once (the statements one per message let the event loop run a ping batch
between each: a burst of orders took minutes to follow at province scale)."""

from kj_tracking.adapters.records import Followed
from kj_tracking.service_layer.work_orders import Ledger

POST, CALL, OLD = "post-1", "call-1", "old-1"


def test_a_call_closes_the_post_its_unit_held_and_is_followed_as_new() -> None:
    ledger = Ledger([Followed(POST, "SY-P01-M1", "open", "SY-Z-KEY-01")])
    assert ledger.open(CALL, "SY-P01-M1", 27.2, 111.4) == "open"
    ledger.close_posts_of("SY-P01-M1")
    touched = {r.work_order_id: (r.status, r.new) for r in ledger.touched()}
    assert touched == {POST: ("closed", False), CALL: ("open", True)}


def test_a_replayed_order_that_is_over_is_not_reopened_and_nothing_is_written() -> None:
    ledger = Ledger([Followed(OLD, "SY-P01-M1", "closed", None)])
    assert ledger.open(OLD, "SY-P01-M1", 27.2, 111.4) == "closed"
    ledger.set_status(OLD, "on_scene")  # a late event of it
    assert ledger.touched() == []


def test_an_order_opened_and_closed_in_one_batch_is_written_once_closed() -> None:
    ledger = Ledger([])
    ledger.open(CALL, "SY-P01-M1", 27.2, 111.4)
    ledger.set_status(CALL, "on_scene")
    ledger.set_status(CALL, "closed")
    ledger.set_status(CALL, "on_scene")  # nothing leaves closed
    (row,) = ledger.touched()
    assert (row.work_order_id, row.status, row.new) == (CALL, "closed", True)


def test_an_event_of_an_order_never_followed_changes_nothing() -> None:
    ledger = Ledger([])
    ledger.set_status("unknown", "closed")
    ledger.close_posts_of("SY-P01-M1")
    assert ledger.touched() == []
