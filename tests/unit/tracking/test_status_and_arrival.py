"""Statuses from work orders, arrival on scene, silence, return to base, publication."""

import kj_tracking.domain.status as status
from kj_schemas.enums import UnitStatus
from kj_tracking.domain.arrival import detect
from kj_tracking.domain.publication import PublishRules, due, mark_published
from kj_tracking.domain.units import Fix, UnitTrack

SCENE = (27.2389, 111.4677)
WO = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"


def unit_far_away(ts: float = 1000.0) -> UnitTrack:
    unit = UnitTrack("SY-P01-C1", "SY-P01", "car")
    unit.move_to(Fix("SY-P01-C1", ts, 27.25, 111.48), ts)
    return unit


def drive_to(unit: UnitTrack, lat: float, lon: float, ts: float) -> UnitTrack:
    unit.move_to(Fix(unit.unit_id, ts, lat, lon), ts)
    return unit


def test_work_order_lifecycle_moves_the_status() -> None:
    unit = unit_far_away()
    assert status.assign(unit, WO, *SCENE)
    assert unit.status is UnitStatus.assigned
    status.work_order_event(unit, WO, "accepted", 1001)
    assert unit.status is UnitStatus.en_route
    status.work_order_event(unit, WO, "on_scene", 1002)
    assert unit.status is UnitStatus.on_scene
    status.work_order_event(unit, WO, "en_route", 1003)
    assert unit.status is UnitStatus.on_scene  # a late answer never leaves the scene
    status.work_order_event(unit, WO, "closed", 1004)
    assert unit.status is UnitStatus.returning and unit.work_order_id is None


def test_rejected_and_withdrawn_work_orders_free_the_unit() -> None:
    unit = unit_far_away()
    status.assign(unit, WO, *SCENE)
    status.work_order_event(unit, WO, "rejected", 1001)
    assert unit.status is UnitStatus.available
    status.assign(unit, WO, *SCENE)
    assert status.release(unit, WO)
    assert unit.status is UnitStatus.available and unit.work_order_id is None


def test_events_of_another_work_order_are_ignored() -> None:
    unit = unit_far_away()
    status.assign(unit, WO, *SCENE)
    assert not status.work_order_event(unit, "other", "closed", 1001)
    assert unit.status is UnitStatus.assigned


def test_the_first_fix_within_the_radius_is_the_arrival_and_only_once() -> None:
    unit = unit_far_away()
    status.assign(unit, WO, *SCENE)
    assert detect(drive_to(unit, 27.245, 111.475, 1010), 100) is None
    arrival = detect(drive_to(unit, 27.2393, 111.4679, 1020), 100)
    assert arrival is not None
    assert (arrival.work_order_id, arrival.at) == (WO, 1020)
    assert unit.status is UnitStatus.on_scene
    assert detect(drive_to(unit, 27.2390, 111.4678, 1030), 100) is None


def test_no_arrival_without_an_open_work_order() -> None:
    unit = unit_far_away()
    assert detect(drive_to(unit, *SCENE, 1010), 100) is None


def test_returning_unit_is_available_back_at_base_or_after_the_timeout() -> None:
    unit = unit_far_away()
    status.assign(unit, WO, *SCENE)
    status.work_order_event(unit, WO, "closed", 1000)
    assert not status.back_at_base(unit, 27.0, 111.0, 1010, radius_m=150, timeout_s=600)
    assert status.back_at_base(unit, 27.25, 111.48, 1020, radius_m=150, timeout_s=600)
    assert unit.status is UnitStatus.available
    status.assign(unit, WO, *SCENE)
    status.work_order_event(unit, WO, "closed", 2000)
    assert status.back_at_base(unit, 27.0, 111.0, 2600, radius_m=150, timeout_s=600)


def test_a_silent_unit_loses_contact_and_its_next_fix_restores_its_status() -> None:
    unit = unit_far_away(ts=1000)
    status.assign(unit, WO, *SCENE)
    assert not status.fall_silent(unit, 1059, 60)
    assert status.fall_silent(unit, 1061, 60)
    assert unit.status is UnitStatus.lost_contact
    assert not status.fall_silent(unit, 1200, 60)  # counted once
    status.work_order_event(unit, WO, "accepted", 1300)  # remembered, still excluded
    assert unit.status is UnitStatus.lost_contact
    assert status.regain_contact(unit)
    assert unit.status is UnitStatus.en_route


def test_a_unit_without_any_fix_never_loses_contact() -> None:
    assert not status.fall_silent(UnitTrack("X1", "P", "car"), 10_000, 60)


def test_state_is_published_on_move_status_change_or_heartbeat() -> None:
    rules = PublishRules(min_move_m=50, heartbeat_s=30)
    unit = unit_far_away(ts=1000)
    assert due(unit, 1000, rules)  # never published
    mark_published(unit, 1000)
    drive_to(unit, 27.2502, 111.48, 1001)  # ~22 m
    assert not due(unit, 1001, rules)
    drive_to(unit, 27.2510, 111.48, 1002)  # ~111 m
    assert due(unit, 1002, rules)
    mark_published(unit, 1002)
    assert due(unit, 1032, rules)  # heartbeat
    status.assign(unit, WO, *SCENE)
    assert due(unit, 1003, rules)
