"""An integration's updates and cancels decided over plain data (issue 19): which alarms may
change, the tier classified again when the scene moves, the distance beyond which dispatch
plans the call again, what a supplement does to the description, and the update's identity."""

import pytest
from pydantic import ValidationError
from shapely.geometry import box

from kj_alarm.domain.tiers import TierClassifier
from kj_alarm.domain.updates import (
    DESCRIPTION_MAX,
    AlarmNow,
    UpdatePlan,
    UpdateRefused,
    plan_cancel,
    plan_update,
    update_digest,
)
from kj_schemas.alarms import AlarmChanges, AlarmUpdate, CancelRequest, decode_intake
from kj_schemas.base import GeoPoint
from kj_schemas.city import Zone
from kj_schemas.enums import AlarmStatus, ResponseTier

CLASSIFIER = TierClassifier(
    [
        Zone(
            id="CENTRAL",
            name="central",
            tier=ResponseTier.central_city,
            geometry=box(111.4, 27.2, 111.6, 27.4),
        ),
        Zone(
            id="KEY",
            name="key",
            tier=ResponseTier.key_location,
            geometry=box(111.45, 27.25, 111.46, 27.26),
        ),
    ],
    {ResponseTier.key_location: 60, ResponseTier.central_city: 180, ResponseTier.county: 900},
)
NOW = AlarmNow(
    status=AlarmStatus.assigned,
    lat=27.30,
    lon=111.50,
    address="西湖桥",
    priority=3,
    description="有人打架",
    callers=1,
    tier=ResponseTier.central_city,
    target_seconds=180,
)


def plan(change: AlarmChanges, now: AlarmNow = NOW, beyond_m: float = 500.0) -> UpdatePlan:
    return plan_update(now, change, classify=CLASSIFIER.classify, replan_beyond_m=beyond_m)


def test_a_move_into_a_key_location_takes_its_tier_and_target() -> None:
    moved = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.255, lon=111.455)))
    assert (moved.after.tier, moved.after.target_seconds) == (ResponseTier.key_location, 60)
    assert moved.tier_changed
    assert moved.changes["tier"] == {
        "from": "central_city",
        "to": "key_location",
        "target_seconds": 60,
    }
    assert (moved.after.lat, moved.after.lon) == (27.255, 111.455)


def test_a_move_out_of_every_zone_takes_the_county_target() -> None:
    moved = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.9, lon=111.9)))
    assert (moved.after.tier, moved.after.target_seconds) == (ResponseTier.county, 900)


def test_a_move_within_the_zone_keeps_the_tier() -> None:
    moved = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.301, lon=111.50)))
    assert not moved.tier_changed and moved.after.tier is ResponseTier.central_city
    assert moved.dispatch_concerned


def test_dispatch_plans_again_only_beyond_the_set_distance() -> None:
    # 0.004 degrees of latitude is about 445 m
    near = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.304, lon=111.50)))
    assert near.moved_m is not None and 440 < near.moved_m < 450
    assert not near.replan
    assert plan(
        AlarmChanges(update_id="U1", location=GeoPoint(lat=27.304, lon=111.50)), beyond_m=400
    ).replan
    far = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.31, lon=111.50)))
    assert far.replan and far.moved_m is not None and far.moved_m > 1000


def test_the_same_place_again_changes_nothing() -> None:
    same = plan(AlarmChanges(update_id="U1", location=GeoPoint(lat=27.30, lon=111.50)))
    assert same.changes == {} and not same.replan and not same.dispatch_concerned


def test_a_supplement_adds_to_the_description_and_more_callers_add_up() -> None:
    done = plan(AlarmChanges(update_id="U1", description="持刀", more_callers=2, priority=1))
    assert done.after.description == "有人打架\n[补充] 持刀"
    assert done.after.callers == 3
    assert done.changes["priority"] == {"from": 3, "to": 1}
    assert done.dispatch_concerned and not done.replan


def test_a_supplement_that_would_overflow_the_description_is_refused() -> None:
    full = AlarmNow(**{**NOW.__dict__, "description": "x" * (DESCRIPTION_MAX - 5)})
    with pytest.raises(UpdateRefused) as refused:
        plan(AlarmChanges(update_id="U1", description="更多细节"), now=full)
    assert refused.value.reason == "description_full"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (AlarmStatus.merged, "alarm_merged"),
        (AlarmStatus.diverted, "alarm_not_open"),
        (AlarmStatus.closed, "alarm_not_open"),
    ],
)
def test_only_an_open_alarm_changes_or_is_cancelled(status: AlarmStatus, reason: str) -> None:
    closed = AlarmNow(**{**NOW.__dict__, "status": status})
    with pytest.raises(UpdateRefused) as refused:
        plan(AlarmChanges(update_id="U1", priority=1), now=closed)
    assert refused.value.reason == reason
    with pytest.raises(UpdateRefused):
        plan_cancel(closed, CancelRequest(update_id="C1", reason="false_alarm"))


def test_a_cancel_closes_an_open_alarm() -> None:
    after = plan_cancel(NOW, CancelRequest(update_id="C1", reason="resolved_by_phone"))
    assert after.status is AlarmStatus.closed


def test_an_update_must_change_something() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        AlarmChanges(update_id="U1")


def test_the_same_update_over_http_and_kafka_has_one_digest() -> None:
    http = AlarmChanges(update_id="U1", priority=1, description="持刀")
    kafka = AlarmUpdate(
        source="sy110", source_alarm_id="A1", update_id="U1", description="持刀", priority=1
    )
    assert update_digest(http) == update_digest(kafka)
    assert update_digest(http) != update_digest(AlarmChanges(update_id="U1", priority=2))


def test_the_intake_topic_tells_reports_updates_and_cancels_apart() -> None:
    update = decode_intake(
        b'{"source": "sy110", "source_alarm_id": "A1", "update_id": "U1", "priority": 1}'
    )
    cancel = decode_intake(
        b'{"source": "sy110", "source_alarm_id": "A1", "update_id": "C1", "reason": "false_alarm"}'
    )
    assert type(update).__name__ == "AlarmUpdate" and type(cancel).__name__ == "AlarmCancel"
    with pytest.raises(ValidationError):
        decode_intake(b'{"source": "sy110", "source_alarm_id": "A1", "update_id": "U1"}')
    with pytest.raises(ValueError, match="JSON object"):
        decode_intake(b"[1]")
