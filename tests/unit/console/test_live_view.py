"""The console's live view and its browsers (no servers): positions batched per tick, an
incident's life from the messages, a closed one never coming back, a slow browser resynced."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import orjson

from kj_console.domain.live import Incident, LiveView
from kj_console.domain.sessions import LoginGuard, expires_at, sign, verify
from kj_console.service_layer.hub import Hub
from kj_schemas.alarms import AlarmAccepted, AlarmMerged, AlarmStatusChanged, Amendment
from kj_schemas.base import GeoPoint
from kj_schemas.commands import CommandHandled
from kj_schemas.enums import AlarmStatus, CommandKind, CommandOutcome, UnitStatus
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrder

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def state(unit_id: str, lon: float, at: datetime = NOW) -> UnitState:
    return UnitState(
        unit_id=unit_id,
        platform_id="SY-P01",
        kind="motorcycle",
        status=UnitStatus.available,
        lat=27.24,
        lon=lon,
        fix_at=at,
        last_seen_at=at,
    )


def accepted() -> AlarmAccepted:
    return AlarmAccepted(
        alarm_id=uuid4(),
        region="hunan-shaoyang",
        source="sy110",
        source_alarm_id=uuid4().hex,
        reported_at=NOW,
        received_at=NOW,
        location=GeoPoint(lat=27.24, lon=111.47),
        category="theft",
        priority=2,
        tier="central_city",
        target_seconds=180,
    )


def test_many_moves_of_a_unit_between_two_ticks_are_one_row_with_the_last_position() -> None:
    view = LiveView()
    for i in range(10):
        view.unit_state(state("M1", 111.47 + i * 0.001, NOW + timedelta(seconds=i)))
    view.unit_state(state("M2", 111.5))
    rows = {row[0]: row for row in view.take_positions()}
    assert set(rows) == {"M1", "M2"} and rows["M1"][2] == round(111.479, 5)
    assert view.take_positions() == []  # nothing moved since
    view.unit_state(state("M1", 111.0, NOW))  # older than what is held: ignored
    assert view.take_positions() == []


def test_an_update_moves_the_incident_to_its_new_scene_and_keeps_what_happened_to_it() -> None:
    view = LiveView()
    alarm = accepted()
    view.open_incident(Incident.of(alarm, phone="138****1234"))
    view.status(
        AlarmStatusChanged(
            alarm_id=alarm.alarm_id,
            source=alarm.source,
            source_alarm_id=alarm.source_alarm_id,
            status=AlarmStatus.assigned,
            at=NOW,
        )
    )
    moved = alarm.model_copy(
        update={
            "message_id": uuid4(),
            "location": GeoPoint(lat=27.26, lon=111.49),
            "priority": 1,
            "amendment": Amendment(update_id="U-1", at=NOW, moved_m=2900.0, replan=True),
        }
    )
    patch = view.amended(moved)
    assert patch is not None
    shown = patch["incident"]
    assert (shown["lat"], shown["lon"], shown["priority"]) == (27.26, 111.49, 1)
    assert (shown["status"], shown["phone"]) == ("assigned", "138****1234")
    assert view.amended(moved) is None  # nothing new to show
    assert view.amended(accepted()) is None  # not an incident of this view


def test_an_incident_lives_from_accepted_to_closed_and_never_comes_back() -> None:
    view = LiveView()
    alarm = accepted()
    opened = view.open_incident(Incident.of(alarm, phone="138****1234"))
    assert opened is not None and opened["incident"]["phone"] == "138****1234"
    facts = alarm.model_dump(
        exclude={
            "message_id",
            "tier",
            "target_seconds",
            "caller_phone",
            "address",
            "description",
            "amendment",
        }
    )
    merged = AlarmMerged(**(facts | {"alarm_id": uuid4()}), merged_into=alarm.alarm_id, callers=3)
    assert view.merged(merged)["incident"]["callers"] == 3
    order = WorkOrder(
        work_order_id=uuid4(),
        action="assign",
        alarm_id=alarm.alarm_id,
        unit_id="M1",
        platform_id="SY-P01",
        category="theft",
        priority=2,
        tier="central_city",
        target_seconds=180,
        scene=GeoPoint(lat=27.24, lon=111.47),
        reported_at=NOW,
        issued_at=NOW,
        eta_seconds=40.0,
        accept_within_seconds=30,
        reason="closest_eta",
        runner_up_unit_id="M2",
        runner_up_eta_seconds=70.0,
    )
    shown = view.work_order(order)["incident"]["orders"][0]
    assert (shown["unit"], shown["runner_up"], shown["reason"]) == ("M1", "M2", "closest_eta")
    closed = AlarmStatusChanged(
        alarm_id=alarm.alarm_id,
        source="sy110",
        source_alarm_id=alarm.source_alarm_id,
        status=AlarmStatus.closed,
        at=NOW,
    )
    assert view.status(closed) == {"t": "gone", "id": str(alarm.alarm_id)}
    assert view.open_incident(Incident.of(alarm, phone=None)) is None  # a late copy


def test_an_answer_holds_the_incident_and_a_duty_change_reaches_every_screen() -> None:
    view = LiveView()
    alarm = accepted()
    view.open_incident(Incident.of(alarm, phone=None))
    base = {
        "command_id": uuid4(),
        "region": "hunan-shaoyang",
        "actor": "li_na",
        "outcome": CommandOutcome.done,
        "handled_at": NOW,
    }
    held = view.answered(
        CommandHandled(kind=CommandKind.hold_alarm, alarm_id=alarm.alarm_id, hold=True, **base)
    )
    assert held[0]["answer"]["actor"] == "li_na" and held[1]["incident"]["held"] is True
    duty = view.answered(
        CommandHandled(kind=CommandKind.set_unit_duty, unit_id="M1", duty="off_duty", **base)
    )
    assert duty[1] == {"t": "duty", "unit": "M1", "duty": "off_duty"}
    assert view.snapshot(NOW)["duty"] == {"M1": "off_duty"}


async def test_a_browser_too_slow_to_keep_up_gets_one_fresh_snapshot_instead() -> None:
    view = LiveView()
    hub = Hub(view, queue_size=8, clock=lambda: NOW)
    browser = hub.join("wang_fang")
    first = orjson.loads(await hub.next_message(browser))
    assert first["t"] == "snapshot"
    for i in range(50):  # it does not read while these arrive
        view.unit_state(state(f"U{i}", 111.47))
        hub.tick()
    async with asyncio.timeout(1):
        again = orjson.loads(await hub.next_message(browser))
    assert again["t"] == "snapshot" and len(again["units"]) == 50
    assert browser.queue.qsize() <= 8


def test_a_session_cookie_is_refused_unless_this_console_signed_it() -> None:
    cookie = sign("token-1", b"key")
    assert verify(cookie, b"key") == "token-1"
    assert verify(cookie, b"another key") is None
    assert verify("token-1.forged", b"key") is None and verify(None, b"key") is None


def test_a_session_ends_idle_or_at_its_longest() -> None:
    start = NOW
    assert expires_at(now=start, created=start, idle_s=1800, max_s=43200) == start + timedelta(
        seconds=1800
    )
    late = start + timedelta(hours=11, minutes=50)
    assert expires_at(now=late, created=start, idle_s=1800, max_s=43200) == start + timedelta(
        hours=12
    )


def test_wrong_passwords_lock_a_name_for_a_while_and_only_that_name() -> None:
    guard = LoginGuard(max_failures=3, lock_s=300)
    for t in (0, 1, 2):
        guard.failed("li_na", t)
    assert guard.locked("li_na", 3) and not guard.locked("zhang_wei", 3)
    assert not guard.locked("li_na", 301)  # the first failure is older than the lock
