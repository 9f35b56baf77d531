"""The chaos verifier's rules (docs/decisions/0070): each judges what a person would call lost,
duplicated, double-assigned, stranded, wrongly withdrawn, blocked, or slow to recover."""

import pytest

from kj_sim.chaos.profiles import PROFILES
from kj_sim.chaos.rules import (
    ACCEPT_GRACE_S,
    AnswerSeen,
    OrderSpan,
    Poison,
    accept_timeout_cause,
    blocking_poison,
    double_assignments,
    duplicate_orders,
    expired_late,
    recovery_s,
    silent_wait_s,
    stranded_gap,
    waiting_gaps,
)


def order(
    wid: str,
    *,
    alarm: str = "A",
    unit: str = "U1",
    role: str = "primary",
    issued: float = 0.0,
    ended: float | None = None,
    engaged: bool = True,
    served: float | None = None,
    closed: float | None = None,
    reason: str | None = None,
) -> OrderSpan:
    return OrderSpan(
        wid, alarm, unit, role, issued, issued + 30, engaged, served, closed, ended, reason
    )


def test_a_unit_holding_two_orders_at_once_is_double_assigned_and_one_after_another_is_not() -> (
    None
):
    assert double_assignments([order("w1", ended=50), order("w2", issued=40)]) == {
        "U1": [("w1", "w2")]
    }
    assert double_assignments([order("w1", ended=50), order("w2", issued=50)]) == {}
    assert double_assignments([order("w1"), order("w2", issued=10, unit="U2")]) == {}


def test_an_order_still_open_overlaps_every_later_one_of_its_unit() -> None:
    assert double_assignments([order("w1"), order("w2", issued=600, ended=700)]) == {
        "U1": [("w1", "w2")]
    }


def test_duplicates_are_a_second_primary_an_order_after_the_close_and_an_unrecorded_delivery() -> (
    None
):
    orders = [
        order("w1", ended=100, closed=100),
        order("w2", unit="U2", issued=20, ended=30),  # a second primary while w1 stood
        order("w3", unit="U3", issued=120),  # after w1 closed the incident
        order("b1", unit="U4", role="backup", issued=1, ended=100),
    ]
    assert sorted(duplicate_orders(orders, delivered=["w1", "ghost"])) == [
        ("ghost", "not_recorded"),
        ("w2", "second_primary"),
        ("w3", "after_close"),
    ]


def test_a_reassignment_after_a_withdrawal_is_no_duplicate() -> None:
    orders = [order("w1", ended=30, reason="accept_timeout"), order("w2", unit="U2", issued=31)]
    assert duplicate_orders(orders) == []


def test_an_alarm_waits_until_its_first_order_and_again_between_a_withdrawal_and_the_next() -> None:
    primaries = [order("w1", issued=5, ended=40), order("w2", issued=70, served=200)]
    assert waiting_gaps(0.0, primaries, until=1000) == [(0.0, 5.0), (40.0, 70.0)]


def test_an_order_nobody_accepted_stops_standing_for_its_alarm_after_its_deadline() -> None:
    """The timer of a dead dispatcher never withdraws it: the alarm is waiting all the same."""
    primaries = [order("w1", issued=5, engaged=False)]
    assert waiting_gaps(0.0, primaries, until=300) == [(0.0, 5.0), (35.0 + ACCEPT_GRACE_S, 300.0)]


def test_an_alarm_with_a_unit_on_scene_waits_no_more() -> None:
    assert waiting_gaps(0.0, [order("w1", issued=2, served=50, ended=80)], until=900) == [
        (0.0, 2.0)
    ]


def test_a_wait_past_the_target_is_stranded_unless_the_command_centre_was_told_in_time() -> None:
    gaps = [(0.0, 3.0), (40.0, 200.0)]
    assert stranded_gap(gaps, 60, notices=[]) == (40.0, 200.0)
    assert stranded_gap(gaps, 60, notices=[40.2]) is None
    assert stranded_gap(gaps, 60, notices=[150.0]) == (40.0, 200.0)  # told after the target
    assert stranded_gap([(0.0, 59.0)], 60, notices=[]) is None


def test_an_unanswered_order_withdrawn_long_after_its_deadline_or_never_expired_late() -> None:
    on_time = order("w1", ended=30.6, engaged=False, reason="accept_timeout")  # accept by 30
    late = order("w2", ended=98.0, engaged=False, reason="accept_timeout")
    never = order("w3", engaged=False)
    accepted = order("w4", engaged=True)
    assert [expired_late(o, until=200) for o in (on_time, late, never, accepted)] == [
        False,
        True,
        True,
        False,
    ]
    assert not expired_late(never, until=33)  # its timer still has time


def test_the_longest_silent_wait_is_the_longest_one_no_notice_named() -> None:
    assert silent_wait_s([(0.0, 4.0), (40.0, 95.0)], notices=[]) == 55.0
    assert silent_wait_s([(0.0, 4.0), (40.0, 95.0)], notices=[60.0]) == 4.0


def test_recovery_is_the_first_work_order_of_an_alarm_sent_after_the_fault() -> None:
    alarms = [(90.0, 91.0), (101.0, 130.0), (104.0, 112.5), (106.0, None)]
    assert recovery_s(100.0, alarms, until=500) == 12.5
    assert recovery_s(100.0, [(101.0, None)], until=500) is None
    assert recovery_s(100.0, [(101.0, 600.0)], until=500) is None


def test_a_withdrawal_is_false_when_the_gateway_had_an_acceptance_before_the_deadline() -> None:
    withdrawn = order("w1", reason="accept_timeout")  # accept by 30
    in_time = AnswerSeen("accepted", (25.0, 33.0), replied_send_at=25.0)
    late = AnswerSeen("accepted", (31.0,), replied_send_at=31.0)
    lost = AnswerSeen("accepted", (29.0,), replied_send_at=None)
    assert accept_timeout_cause(withdrawn, [in_time], received_at=20) == "false_timeout"
    assert accept_timeout_cause(withdrawn, [late], received_at=20) == "not_answered_in_time"
    assert accept_timeout_cause(withdrawn, [lost], received_at=20) == "answer_unconfirmed"
    assert accept_timeout_cause(withdrawn, [], received_at=None) == "never_reached_terminal"
    assert accept_timeout_cause(withdrawn, [], received_at=25) == "reached_terminal_late"
    assert accept_timeout_cause(order("w2", ended=30, reason="preempted"), [in_time], 5) is None


def test_a_poison_record_blocks_a_group_that_never_committed_past_it_while_later_records_wait() -> (
    None
):
    poison = [
        Poison("patrol.pings", 3, 100, "nul"),
        Poison("patrol.pings", 3, 101, "tombstone"),  # behind the first: not counted again
        Poison("patrol.pings", 4, 50, "one_mb"),
        Poison("patrol.pings", 5, 70, "invalid_json"),  # nothing after it: cannot be judged
    ]
    readers = {"patrol.pings": ["patrol-tracking"]}
    committed = {
        ("patrol-tracking", "patrol.pings", 3): 100,
        ("patrol-tracking", "patrol.pings", 4): 60,
    }
    ends = {("patrol.pings", 3): 500, ("patrol.pings", 4): 90, ("patrol.pings", 5): 71}
    blocking, unjudged = blocking_poison(poison, readers, committed, ends)
    assert blocking == [(poison[0], "patrol-tracking")]
    assert unjudged == [poison[3]]


def test_a_record_the_group_dead_lettered_is_not_what_blocks_it() -> None:
    """Its batch also held a record it could not pass: that one is counted, where it is."""
    poison = [Poison("alarms.intake", 0, 2, "wrong_schema"), Poison("alarms.intake", 1, 0, "nul")]
    readers = {"alarms.intake": ["alarm-intake"]}
    committed = {("alarm-intake", "alarms.intake", 0): 1, ("alarm-intake", "alarms.intake", 1): 0}
    ends = {("alarms.intake", 0): 6, ("alarms.intake", 1): 4}
    passed = {"alarm-intake": {("alarms.intake", 0, 2)}}
    blocking, _ = blocking_poison(poison, readers, committed, ends, passed)
    assert blocking == [(poison[1], "alarm-intake")]


def test_a_group_that_never_committed_on_a_poisoned_partition_is_blocked_by_it() -> None:
    poison = [Poison("alarms.accepted", 2, 0, "nul")]
    blocking, _ = blocking_poison(
        poison, {"alarms.accepted": ["dispatch"]}, {}, {("alarms.accepted", 2): 9}
    )
    assert blocking == [(poison[0], "dispatch")]


def test_a_profile_stretched_to_a_duration_spaces_its_faults_to_fit_and_refuses_too_little() -> (
    None
):
    ci = PROFILES["ci"]
    longer = ci.lasting(ci.load_s + 70)
    assert longer.spacing_s == pytest.approx(ci.spacing_s + 10)
    assert longer.load_s == pytest.approx(ci.load_s + 70)
    with pytest.raises(ValueError, match="between the"):
        ci.lasting(60)


def test_the_full_profile_kills_everything_twice_and_pauses_dispatch_once() -> None:
    faults = PROFILES["full"].faults
    for target in ("broker", "postgres", "alarm", "patrol-tracking", "notify", "dispatch"):
        assert faults.count(f"kill:{target}") == 2
    assert faults.count("pause:dispatch") == 1
