"""One valid and one invalid example of every contract model, as JSON a peer would send.

The tests round-trip the valid ones through the real broker and check the invalid ones are
refused; docs/contracts.md shows them."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

from kj_schemas.alarms import (
    AlarmAccepted,
    AlarmCancel,
    AlarmDiverted,
    AlarmMerged,
    AlarmReport,
    AlarmStatusChanged,
    AlarmUpdate,
)
from kj_schemas.commands import CommandHandled, DispatchCommand
from kj_schemas.deadletter import DeadLetter
from kj_schemas.notify import BroadcastRequested, DeliveryReceipt, Notification
from kj_schemas.terminal import (
    AckFrame,
    AnswerFrame,
    ErrorFrame,
    HelloFrame,
    OkFrame,
    ReadFrame,
    WorkOrderFrame,
)
from kj_schemas.tracking import GpsPing, UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

ALARM_ID = "0b6f3c1e-8a54-4f7e-9a51-2f6d3c9b7a10"
WORK_ORDER_ID = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
SCENE = {"lat": 27.2389, "lon": 111.4677}


@dataclass(frozen=True)
class Example:
    model: type[BaseModel]
    valid: dict[str, Any]
    invalid: dict[str, Any]
    why_invalid: str
    # what the JSON Schema shows when `valid` holds a time relative to now (a generated file
    # must not change from one run to the next)
    shown: dict[str, Any] | None = None

    @property
    def documented(self) -> dict[str, Any]:
        return self.valid if self.shown is None else self.shown


# a report's time must be recent (within a year before and a day after now): minutes ago, in
# Beijing time as a 110 centre writes it
_REPORTED_AT = (datetime.now(timezone(timedelta(hours=8))) - timedelta(minutes=3)).isoformat(
    timespec="seconds"
)
_REPORT = {
    "source": "sy110",
    "source_alarm_id": "SY20261123-000123",
    "reported_at": _REPORTED_AT,
    "caller_phone": "13807391234",
    "location": SCENE,
    "address": "邵阳市大祥区西湖桥",
    "category": "suicide_attempt",
    "priority": 1,
    "description": "有人要跳河",
}
_FACTS = {
    "alarm_id": ALARM_ID,
    "region": "hunan-shaoyang",
    "source": "sy110",
    "source_alarm_id": "SY20261123-000123",
    "reported_at": "2026-11-23T18:02:11+08:00",
    "received_at": "2026-11-23T10:02:11.250000Z",
    "location": SCENE,
    "category": "suicide_attempt",
    "priority": 1,
}
_WORK_ORDER = {
    "work_order_id": WORK_ORDER_ID,
    "action": "assign",
    "alarm_id": ALARM_ID,
    "unit_id": "SY-P01-M1",
    "platform_id": "SY-P01",
    "role": "primary",
    "category": "suicide_attempt",
    "priority": 1,
    "tier": "key_location",
    "target_seconds": 60,
    "scene": SCENE,
    "address": "邵阳市大祥区西湖桥",
    "reported_at": "2026-11-23T18:02:11+08:00",
    "issued_at": "2026-11-23T10:02:11.310000Z",
    "eta_seconds": 48.5,
    "accept_within_seconds": 20,
    "reason": "closest_eta",
    "runner_up_unit_id": "SY-P01-C1",
    "runner_up_eta_seconds": 71.0,
}

_COMMAND = {
    "command_id": "c0ffee00-1b2c-4d3e-8f40-5a6b7c8d9e0f",
    "region": "hunan-shaoyang",
    "actor": "zhang_wei",
    "issued_at": "2026-11-23T10:03:00Z",
    "command": {"kind": "assign_unit", "alarm_id": ALARM_ID, "unit_id": "SY-P01-C1"},
}
_HANDLED = {
    "command_id": "c0ffee00-1b2c-4d3e-8f40-5a6b7c8d9e0f",
    "kind": "assign_unit",
    "region": "hunan-shaoyang",
    "actor": "zhang_wei",
    "outcome": "refused",
    "reason": "unit_busy",
    "detail": "SY-P01-C1 already holds an open work order",
    "alarm_id": ALARM_ID,
    "unit_id": "SY-P01-C1",
    "handled_at": "2026-11-23T10:03:00.120000Z",
}

EXAMPLES: tuple[Example, ...] = (
    Example(
        AlarmReport,
        _REPORT,
        {**_REPORT, "priority": 7},
        "priority is 1 to 4",
        shown={**_REPORT, "reported_at": "2026-11-23T18:02:11+08:00"},
    ),
    Example(
        AlarmUpdate,
        {
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "update_id": "SY20261123-000123-U1",
            "location": {"lat": 27.2412, "lon": 111.4702},
            "address": "邵阳市大祥区西湖桥东头",
            "description": "报警人回电: 在桥东头, 不是西头",
        },
        {
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "update_id": "SY20261123-000123-U1",
        },
        "an update changes something",
    ),
    Example(
        AlarmCancel,
        {
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "update_id": "SY20261123-000123-C",
            "reason": "false_alarm",
            "note": "报警人承认谎报",
        },
        {
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "update_id": "SY20261123-000123-C",
            "reason": "bored",
        },
        "reason is not in the code list",
    ),
    Example(
        AlarmAccepted,
        {**_FACTS, "tier": "key_location", "target_seconds": 60, "address": "邵阳市大祥区西湖桥"},
        {**_FACTS, "tier": "downtown", "target_seconds": 60},
        "tier is not in the code list",
    ),
    Example(
        AlarmMerged,
        {**_FACTS, "merged_into": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "callers": 3},
        {**_FACTS, "merged_into": "not-a-uuid", "callers": 3},
        "merged_into is not a UUID",
    ),
    Example(
        AlarmDiverted,
        {**_FACTS, "category": "noise", "priority": 4},
        {**_FACTS, "category": "noise", "priority": 4, "hotline": "12346"},
        "diverted calls go to 12345",
    ),
    Example(
        AlarmStatusChanged,
        {
            "alarm_id": ALARM_ID,
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "status": "assigned",
            "at": "2026-11-23T10:02:11.310000Z",
            "unit_id": "SY-P01-M1",
            "work_order_id": WORK_ORDER_ID,
        },
        {
            "alarm_id": ALARM_ID,
            "source": "sy110",
            "source_alarm_id": "SY20261123-000123",
            "status": "assigned",
            "at": "2026-11-23T10:02:11.310000",
        },
        "a timestamp without an offset",
    ),
    Example(
        GpsPing,
        {
            "unit_id": "SY-P01-M1",
            "ts": "2026-11-23T18:02:30+08:00",
            "lat": 27.2391,
            "lon": 111.4680,
            "speed_kmh": 32.5,
            "heading_deg": 270.0,
            "accuracy_m": 6.0,
        },
        {"unit_id": "SY-P01-M1", "ts": "2026-11-23T18:02:30+08:00", "lat": 127.0, "lon": 111.4},
        "latitude out of range",
    ),
    Example(
        UnitState,
        {
            "unit_id": "SY-P01-M1",
            "platform_id": "SY-P01",
            "kind": "motorcycle",
            "status": "available",
            "lat": 27.2391,
            "lon": 111.4680,
            "speed_kmh": 0.0,
            "fix_at": "2026-11-23T10:02:30Z",
            "last_seen_at": "2026-11-23T10:02:30.400000Z",
        },
        {
            "unit_id": "SY-P01-M1",
            "platform_id": "SY-P01",
            "kind": "bicycle",
            "status": "available",
            "lat": 27.2391,
            "lon": 111.4680,
            "fix_at": "2026-11-23T10:02:30Z",
            "last_seen_at": "2026-11-23T10:02:30.400000Z",
        },
        "kind is not in the code list",
    ),
    Example(
        WorkOrder,
        _WORK_ORDER,
        {**_WORK_ORDER, "action": "withdraw"},
        "a withdrawal without a withdraw_reason",
    ),
    Example(
        WorkOrderEvent,
        {
            "work_order_id": WORK_ORDER_ID,
            "unit_id": "SY-P01-M1",
            "kind": "on_scene",
            "source": "gps",
            "occurred_at": "2026-11-23T10:02:59Z",
            "location": SCENE,
        },
        {
            "work_order_id": WORK_ORDER_ID,
            "unit_id": "SY-P01-M1",
            "kind": "closed",
            "source": "terminal",
            "occurred_at": "2026-11-23T10:20:00Z",
        },
        "a closed event without a disposition_code",
    ),
    Example(
        CommandNotice,
        {
            "kind": "at_risk",
            "region": "hunan-shaoyang",
            "at": "2026-11-23T10:02:11.310000Z",
            "reason": "best_eta_over_target",
            "alarm_id": ALARM_ID,
            "unit_id": "SY-P01-M1",
            "eta_seconds": 75.0,
            "target_seconds": 60,
        },
        {
            "kind": "panic",
            "region": "hunan-shaoyang",
            "at": "2026-11-23T10:02:11Z",
            "reason": "x",
        },
        "kind is not in the code list",
    ),
    Example(
        Notification,
        {
            "notification_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "channel": "terminal",
            "recipient": "SY-P01-M1",
            "subject": "work_order",
            "ref_id": WORK_ORDER_ID,
            "text": "西湖桥有人要跳河，请迅速处置",
            "created_at": "2026-11-23T10:02:11.320000Z",
        },
        {
            "notification_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "channel": "pager",
            "recipient": "SY-P01-M1",
            "subject": "work_order",
            "ref_id": WORK_ORDER_ID,
            "text": "x",
            "created_at": "2026-11-23T10:02:11Z",
        },
        "channel is not in the code list",
    ),
    Example(
        DeliveryReceipt,
        {
            "notification_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "channel": "terminal",
            "recipient": "SY-P01-M1",
            "ref_id": WORK_ORDER_ID,
            "status": "delivered",
            "at": "2026-11-23T10:02:11.340000Z",
            "alarm_id": ALARM_ID,
            "action": "assign",
            "delivery_id": 1042,
        },
        {
            "notification_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "channel": "terminal",
            "recipient": "SY-P01-M1",
            "ref_id": WORK_ORDER_ID,
            "status": "failed",
            "at": "2026-11-23T10:02:11Z",
        },
        "a failed receipt without a detail",
    ),
    Example(
        BroadcastRequested,
        {
            "broadcast_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
            "audience": ["taxi", "volunteer"],
            "center": SCENE,
            "radius_m": 2000.0,
            "text": "协查：白色面包车，车牌湘E·12345，向西逃逸",
            "alarm_id": ALARM_ID,
            "requested_by": "command_centre",
            "requested_at": "2026-11-23T10:05:00Z",
        },
        {
            "broadcast_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
            "audience": ["terminal"],
            "center": SCENE,
            "radius_m": 2000.0,
            "text": "x",
            "requested_by": "command_centre",
            "requested_at": "2026-11-23T10:05:00Z",
        },
        "broadcasts go to taxi drivers and volunteers only",
    ),
    Example(
        DispatchCommand,
        _COMMAND,
        {**_COMMAND, "command": {"kind": "assign_unit", "alarm_id": ALARM_ID}},
        "an assignment names its unit",
    ),
    Example(
        CommandHandled,
        _HANDLED,
        {**_HANDLED, "reason": None},
        "a refusal without its reason",
    ),
    Example(
        DeadLetter,
        {
            "source_topic": "patrol.pings",
            "partition": 3,
            "offset": 18_220,
            "key": "SY-P01-M1",
            "value": '{"unit_id": "SY-P01-M1", "lat": "north"}',
            "reason": "schema",
            "detail": "lat: Input should be a valid number",
            "service": "patrol_tracking",
            "failed_at": "2026-11-23T10:02:31Z",
        },
        {
            "source_topic": "patrol.pings",
            "partition": -1,
            "offset": 0,
            "value": "x",
            "reason": "schema",
            "detail": "x",
            "service": "patrol_tracking",
            "failed_at": "2026-11-23T10:02:31Z",
        },
        "partition below zero",
    ),
)

# the terminal WebSocket's frames, each way (kj_schemas.terminal); shown in schemas/asyncapi.yaml
FRAMES: dict[type[BaseModel], list[dict[str, Any]]] = {
    HelloFrame: [{"type": "hello", "unit_id": "SY-P01-M1"}],
    WorkOrderFrame: [
        {
            "type": "work_order",
            "delivery_id": 1042,
            "work_order_id": WORK_ORDER_ID,
            "action": "assign",
            "withdrawn": False,
            "work_order": {**_WORK_ORDER, "schema_version": 2},
        }
    ],
    AckFrame: [{"type": "ack", "delivery_id": 1042}],
    ReadFrame: [{"type": "read", "delivery_id": 1042}],
    AnswerFrame: [
        {
            "type": "event",
            "work_order_id": WORK_ORDER_ID,
            "kind": "accepted",
            "event_id": "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706",
        },
        {
            "type": "event",
            "work_order_id": WORK_ORDER_ID,
            "kind": "closed",
            "disposition_code": "resolved_on_scene",
            "location": SCENE,
        },
    ],
    OkFrame: [
        {
            "type": "ok",
            "ref": WORK_ORDER_ID,
            "what": "event",
            "event_id": "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706",
        }
    ],
    ErrorFrame: [
        {
            "type": "error",
            "reason": "withdrawn",
            "detail": "this work order was withdrawn; stand down",
            "ref": WORK_ORDER_ID,
        },
        {
            "type": "error",
            "reason": "bad_frame",
            "detail": "delivery_id: Input should be greater than 0",
        },
    ],
}
