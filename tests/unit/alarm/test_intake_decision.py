"""What becomes of each report of an intake batch: accepted, merged into an open incident,
diverted to 12345, or answered as a repeat (the first answer again, or a conflict)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shapely.geometry import box

from kj_alarm.domain.duplicates import MergeRule, OpenAlarm
from kj_alarm.domain.intake_decision import (
    ConflictingRepeat,
    Incoming,
    IntakeResult,
    NewAlarm,
    body_digest,
    decide,
    result_of,
)
from kj_alarm.domain.tiers import TierClassifier
from kj_schemas.alarms import AlarmReport
from kj_schemas.city import Zone
from kj_schemas.enums import AlarmCategory, AlarmStatus, ResponseTier

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(seconds=3)
RULE = MergeRule(distance_m=200, window_s=1800)
REGION = "hunan-shaoyang"
CLASSIFIER = TierClassifier(
    [
        Zone(
            id="CENTRAL",
            name="central",
            tier=ResponseTier.central_city,
            geometry=box(111.4, 27.2, 111.6, 27.4),
        )
    ],
    {
        ResponseTier.key_location: 60,
        ResponseTier.central_city: 180,
        ResponseTier.other_city: 300,
        ResponseTier.county: 900,
    },
)
INSIDE = (27.3, 111.5)  # in the central zone
OUTSIDE = (27.9, 111.9)  # in no zone: the county target


def incoming(
    at: tuple[float, float] = INSIDE,
    category: AlarmCategory = AlarmCategory.fight,
    **fields: Any,
) -> Incoming:
    report = AlarmReport(
        source=fields.pop("source", "sy110"),
        source_alarm_id=fields.pop("source_alarm_id", f"T-{uuid.uuid4().hex[:8]}"),
        reported_at=fields.pop("reported_at", T0),
        location={"lat": at[0], "lon": at[1]},
        category=category,
        priority=fields.pop("priority", 2),
        **fields,
    )
    return Incoming(report, body_digest(report), RECEIVED)


def recorded_row(report: Incoming, **fields: Any) -> dict[str, Any]:
    """The row the alarm service keeps for a report it took in earlier."""
    row: dict[str, Any] = {
        "alarm_id": uuid.uuid4(),
        "body_sha256": report.digest,
        "status": "accepted",
        "tier": "central_city",
        "target_seconds": 180,
        "merged_into": None,
        "category": str(report.report.category),
    }
    row.update(fields)
    return row


def key(report: Incoming) -> tuple[str, str]:
    return report.report.source, report.report.source_alarm_id


def decide_batch(
    batch: list[Incoming],
    recorded: dict[tuple[str, str], dict[str, Any]] | None = None,
    open_nearby: list[OpenAlarm] | None = None,
) -> list[Any]:
    decision = decide(
        batch, recorded or {}, open_nearby or [], CLASSIFIER, rule=RULE, region=REGION
    )
    assert decision.fresh == [o for o in decision.outcomes if isinstance(o, NewAlarm)]
    return decision.outcomes


def test_a_new_police_report_is_accepted_with_its_tier_and_when_it_was_received() -> None:
    report = incoming(caller_phone="13807391234", address="西湖桥")
    [new] = decide_batch([report])
    assert isinstance(new, NewAlarm)
    row = new.row
    assert (row["status"], row["merged_into"], row["callers"]) == ("accepted", None, 1)
    assert (row["tier"], row["target_seconds"], new.tier.zone_id) == (
        "central_city",
        180,
        "CENTRAL",
    )
    assert (row["received_at"], row["reported_at"]) == (RECEIVED, T0)
    assert (row["region"], row["body_sha256"]) == (REGION, report.digest)
    assert (row["caller_phone"], row["address"]) == ("13807391234", "西湖桥")
    answer = result_of(row, created=True)
    assert (answer.status, answer.created, answer.alarm_id) == (
        AlarmStatus.accepted,
        True,
        row["alarm_id"],
    )


def test_a_report_outside_every_zone_gets_the_county_target() -> None:
    [new] = decide_batch([incoming(at=OUTSIDE)])
    assert isinstance(new, NewAlarm)
    assert (new.row["tier"], new.row["target_seconds"]) == ("county", 900)


def test_a_repeat_call_near_an_open_incident_is_merged_into_it() -> None:
    incident = OpenAlarm(
        uuid.uuid4(), 27.3005, 111.5, T0 - timedelta(minutes=5), AlarmCategory.fight
    )
    [new] = decide_batch([incoming(category=AlarmCategory.violent_crime)], open_nearby=[incident])
    assert isinstance(new, NewAlarm)
    assert (new.row["status"], new.row["merged_into"]) == ("merged", incident.alarm_id)
    assert new.callers_seen == 0  # counted on the recorded incident by the transaction
    answer = result_of(new.row, created=True)
    assert (answer.status, answer.merged_into) == (AlarmStatus.merged, incident.alarm_id)


def test_an_open_incident_too_far_or_of_another_kind_is_not_merged_into() -> None:
    far = OpenAlarm(uuid.uuid4(), 27.31, 111.5, T0, AlarmCategory.fight)  # about 1.1 km
    other_kind = OpenAlarm(uuid.uuid4(), 27.3, 111.5, T0, AlarmCategory.fire)
    [new] = decide_batch([incoming()], open_nearby=[far, other_kind])
    assert isinstance(new, NewAlarm)
    assert new.row["status"] == "accepted"


def test_callers_about_one_incident_in_one_batch_merge_into_the_first_and_are_counted() -> None:
    first, second, third = (incoming(at=(27.3 + i * 0.0002, 111.5)) for i in range(3))
    outcomes = decide_batch([first, second, third])
    assert all(isinstance(o, NewAlarm) for o in outcomes)
    head, *repeats = outcomes
    assert head.row["status"] == "accepted" and head.row["callers"] == 3
    assert [(r.row["status"], r.row["merged_into"]) for r in repeats] == [
        ("merged", head.row["alarm_id"])
    ] * 2
    assert [r.callers_seen for r in repeats] == [2, 3]


def test_a_non_police_call_is_diverted_and_never_merged() -> None:
    incident = OpenAlarm(uuid.uuid4(), 27.3, 111.5, T0, AlarmCategory.noise)
    calls = [incoming(category=AlarmCategory.noise) for _ in range(2)]  # the same place
    outcomes = decide_batch(calls, open_nearby=[incident])
    assert [(o.row["status"], o.row["merged_into"]) for o in outcomes] == [("diverted", None)] * 2
    assert result_of(outcomes[0].row, created=True).status is AlarmStatus.diverted


def test_the_same_report_again_answers_the_first_result_and_makes_no_alarm() -> None:
    report = incoming()
    first = recorded_row(report, status="assigned")  # taken in, since dispatched
    merged = incoming()
    parent = uuid.uuid4()
    first_merged = recorded_row(merged, status="merged", merged_into=parent)
    outcomes = decide_batch(
        [report, merged], recorded={key(report): first, key(merged): first_merged}
    )
    assert outcomes == [
        IntakeResult(
            first["alarm_id"],
            AlarmStatus.accepted,
            ResponseTier.central_city,
            180,
            None,
            False,
            "fight",
        ),
        IntakeResult(
            first_merged["alarm_id"],
            AlarmStatus.merged,
            ResponseTier.central_city,
            180,
            parent,
            False,
            "fight",
        ),
    ]


def test_the_same_id_with_another_body_is_a_conflicting_repeat() -> None:
    report = incoming()
    changed = incoming(source_alarm_id=report.report.source_alarm_id, priority=1)
    earlier = recorded_row(report)
    [outcome] = decide_batch([changed], recorded={key(report): earlier})
    assert isinstance(outcome, ConflictingRepeat)
    assert outcome.alarm_id == earlier["alarm_id"]


def test_only_new_reports_are_classified_each_with_its_own_tier() -> None:
    repeat, outside, inside = incoming(), incoming(at=OUTSIDE), incoming(at=(27.25, 111.45))
    outcomes = decide_batch([repeat, outside, inside], recorded={key(repeat): recorded_row(repeat)})
    assert isinstance(outcomes[0], IntakeResult)
    assert [o.row["tier"] for o in outcomes[1:]] == ["county", "central_city"]


def test_the_body_digest_ignores_field_order_and_sees_every_value() -> None:
    body = {
        "source": "sy110",
        "source_alarm_id": "A-1",
        "reported_at": "2026-11-23T10:00:00+08:00",
        "location": {"lat": 27.3, "lon": 111.5},
        "category": "theft",
        "priority": 2,
    }
    reordered = dict(reversed(list(body.items())))
    assert body_digest(AlarmReport.model_validate(body)) == body_digest(
        AlarmReport.model_validate(reordered)
    )
    assert body_digest(AlarmReport.model_validate(body)) != body_digest(
        AlarmReport.model_validate({**body, "priority": 1})
    )


@pytest.mark.parametrize("status", ["on_scene", "closed"])
def test_a_repeat_of_an_alarm_already_handled_still_answers_accepted(status: str) -> None:
    report = incoming()
    [outcome] = decide_batch([report], recorded={key(report): recorded_row(report, status=status)})
    assert isinstance(outcome, IntakeResult)
    assert (outcome.status, outcome.created) == (AlarmStatus.accepted, False)
