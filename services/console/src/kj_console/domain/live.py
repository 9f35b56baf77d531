"""The console's live view: every unit's latest state, the open incidents with their work orders,
the duty dispatchers set, and what changed since the last time browsers were told. Messages come
in decoded; what goes out are plain JSON-ready patches. No I/O.

Positions are kept apart from everything else: a unit's move marks it dirty, and
`take_positions` hands over the dirty ones as compact rows once per tick (decision 0081), so a
province's fleet moving at 1 Hz costs each browser one message a second. Incidents, orders,
notices and answers are patches sent at once."""

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from math import asin, cos, radians, sin, sqrt
from typing import Any
from uuid import UUID

from kj_schemas.alarms import AlarmAccepted, AlarmMerged, AlarmStatusChanged
from kj_schemas.commands import CommandHandled
from kj_schemas.enums import (
    AlarmStatus,
    CommandKind,
    CommandOutcome,
    UnitStatus,
    WorkOrderAction,
    WorkOrderEventKind,
)
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

Patch = dict[str, Any]
# a unit's status on the wire: its index in this list (the browser has the same list)
STATUSES: tuple[str, ...] = tuple(s.value for s in UnitStatus)
_STATUS_INDEX = {name: i for i, name in enumerate(STATUSES)}
OPEN = frozenset({AlarmStatus.accepted, AlarmStatus.assigned, AlarmStatus.on_scene})
_ORDER_AFTER = {
    WorkOrderEventKind.accepted: "accepted",
    WorkOrderEventKind.en_route: "en_route",
    WorkOrderEventKind.on_scene: "on_scene",
}
_ENDING = frozenset({WorkOrderEventKind.closed, WorkOrderEventKind.rejected})


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(slots=True)
class UnitView:
    unit_id: str
    platform_id: str
    kind: str
    status: str
    lat: float
    lon: float
    heading: float | None
    speed: float | None
    fix_ts: float
    seen_ts: float

    def row(self) -> list[Any]:
        """[id, lat, lon, heading, speed, status, last seen (epoch s), position age (s)]."""
        return [
            self.unit_id,
            round(self.lat, 5),
            round(self.lon, 5),
            None if self.heading is None else round(self.heading),
            None if self.speed is None else round(self.speed),
            _STATUS_INDEX.get(self.status, 0),
            int(self.seen_ts),
            max(int(self.seen_ts - self.fix_ts), 0),
        ]


@dataclass(slots=True)
class OrderView:
    work_order_id: UUID
    unit_id: str
    platform_id: str
    role: str
    status: str
    eta_s: float
    reason: str
    issued_at: datetime
    at_risk: bool = False
    runner_up: str | None = None
    runner_up_eta_s: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.work_order_id),
            "unit": self.unit_id,
            "platform": self.platform_id,
            "role": self.role,
            "status": self.status,
            "eta": round(self.eta_s, 1),
            "reason": self.reason,
            "issued": ms(self.issued_at),
            "at_risk": self.at_risk,
            "runner_up": self.runner_up,
            "runner_up_eta": None if self.runner_up_eta_s is None else round(self.runner_up_eta_s),
        }


@dataclass(slots=True)
class Incident:
    """An open alarm as the command centre sees it. `phone` is already masked."""

    alarm_id: UUID
    region: str
    category: str
    priority: int
    tier: str
    target_s: int
    reported_at: datetime
    received_at: datetime
    lat: float
    lon: float
    address: str | None
    description: str | None
    phone: str | None
    status: str = AlarmStatus.accepted.value
    callers: int = 1
    queued: str | None = None  # why it waits (dispatch's shortfall reason)
    at_risk: bool = False
    held: bool = False
    orders: dict[UUID, OrderView] = field(default_factory=dict)

    @classmethod
    def of(cls, alarm: AlarmAccepted, *, phone: str | None) -> "Incident":
        return cls(
            alarm_id=alarm.alarm_id,
            region=alarm.region,
            category=str(alarm.category),
            priority=alarm.priority,
            tier=str(alarm.tier),
            target_s=alarm.target_seconds,
            reported_at=alarm.reported_at,
            received_at=alarm.received_at,
            lat=alarm.location.lat,
            lon=alarm.location.lon,
            address=alarm.address,
            description=alarm.description,
            phone=phone,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.alarm_id),
            "category": self.category,
            "priority": self.priority,
            "tier": self.tier,
            "target": self.target_s,
            "reported": ms(self.reported_at),
            "received": ms(self.received_at),
            "lat": self.lat,
            "lon": self.lon,
            "address": self.address,
            "description": self.description,
            "phone": self.phone,
            "status": self.status,
            "callers": self.callers,
            "queued": self.queued,
            "at_risk": self.at_risk or any(o.at_risk for o in self.orders.values()),
            "held": self.held,
            "orders": [o.as_json() for o in self.orders.values()],
        }


class LiveView:
    def __init__(self, *, notices_kept: int = 200) -> None:
        self.units: dict[str, UnitView] = {}
        self.incidents: dict[UUID, Incident] = {}
        self.duty: dict[str, str] = {}  # units a dispatcher took off duty -> their duty
        self.notices: deque[Patch] = deque(maxlen=notices_kept)
        self._dirty: set[str] = set()
        self._closed: deque[UUID] = deque(maxlen=5000)  # recently ended: a late message is old

    # ---- positions ------------------------------------------------------------------------

    def unit_state(self, state: UnitState) -> None:
        unit = self.units.get(state.unit_id)
        fix_ts, seen_ts = state.fix_at.timestamp(), state.last_seen_at.timestamp()
        if unit is not None and seen_ts < unit.seen_ts:
            return  # older than what we hold
        if unit is None:
            unit = UnitView(
                state.unit_id,
                state.platform_id,
                str(state.kind),
                str(state.status),
                state.lat,
                state.lon,
                state.heading_deg,
                state.speed_kmh,
                fix_ts,
                seen_ts,
            )
            self.units[state.unit_id] = unit
        else:
            unit.platform_id, unit.kind, unit.status = state.platform_id, state.kind, state.status
            unit.lat, unit.lon = state.lat, state.lon
            unit.heading, unit.speed = state.heading_deg, state.speed_kmh
            unit.fix_ts, unit.seen_ts = fix_ts, seen_ts
        self._dirty.add(state.unit_id)

    def take_positions(self) -> list[list[Any]]:
        """The units that changed since the last call, as rows; none changed: []."""
        if not self._dirty:
            return []
        rows = [self.units[u].row() for u in self._dirty if u in self.units]
        self._dirty.clear()
        return rows

    # ---- incidents ------------------------------------------------------------------------

    def open_incident(self, incident: Incident) -> Patch | None:
        """A new incident (from alarms.accepted, or read back from PostgreSQL)."""
        if incident.alarm_id in self.incidents or incident.alarm_id in self._closed:
            return None
        self.incidents[incident.alarm_id] = incident
        return self._incident(incident)

    def amended(self, alarm: AlarmAccepted) -> Patch | None:
        """An open incident the integration updated (decision 0115: the alarm again, with its
        amendment): its facts are the alarm's now (a moved scene, a new priority, tier or
        description), what happened to it (status, callers, units) stays. None when unknown or
        nothing shown changed."""
        incident = self.incidents.get(alarm.alarm_id)
        if incident is None:
            return None
        before = incident.as_json()
        incident.category, incident.priority = str(alarm.category), alarm.priority
        incident.tier, incident.target_s = str(alarm.tier), alarm.target_seconds
        incident.lat, incident.lon = alarm.location.lat, alarm.location.lon
        incident.address, incident.description = alarm.address, alarm.description
        patch = self._incident(incident)
        return None if patch["incident"] == before else patch

    def replace_incident(self, incident: Incident) -> Patch:
        """An incident as PostgreSQL holds it now (the reconcile)."""
        self.incidents[incident.alarm_id] = incident
        return self._incident(incident)

    def merged(self, merged: AlarmMerged) -> Patch | None:
        incident = self.incidents.get(merged.merged_into)
        if incident is None or merged.callers <= incident.callers:
            return None
        incident.callers = merged.callers
        return self._incident(incident)

    def status(self, change: AlarmStatusChanged) -> Patch | None:
        incident = self.incidents.get(change.alarm_id)
        if incident is None:
            return None
        if change.status not in OPEN:
            return self.close(change.alarm_id)
        if incident.status == change.status:
            return None
        incident.status = change.status.value
        if change.status is not AlarmStatus.accepted:
            incident.queued = None
        return self._incident(incident)

    def close(self, alarm_id: UUID) -> Patch | None:
        if self.incidents.pop(alarm_id, None) is None:
            return None
        self._closed.append(alarm_id)
        return {"t": "gone", "id": str(alarm_id)}

    def work_order(self, order: WorkOrder) -> Patch | None:
        if order.alarm_id is None:  # a post's order (decision 0063): no incident of its own
            return None
        incident = self.incidents.get(order.alarm_id)
        if incident is None:
            return None
        if order.action is WorkOrderAction.withdraw:
            if incident.orders.pop(order.work_order_id, None) is None:
                return None
            return self._incident(incident)
        incident.orders[order.work_order_id] = OrderView(
            order.work_order_id,
            order.unit_id,
            order.platform_id,
            str(order.role),
            "assigned",
            order.eta_seconds,
            order.reason,
            order.issued_at,
            order.at_risk,
            order.runner_up_unit_id,
            order.runner_up_eta_seconds,
        )
        incident.queued = None
        incident.held = False
        return self._incident(incident)

    def event(self, event: WorkOrderEvent) -> Patch | None:
        for incident in self.incidents.values():
            order = incident.orders.get(event.work_order_id)
            if order is None:
                continue
            if event.kind in _ENDING:
                del incident.orders[event.work_order_id]
            else:
                order.status = _ORDER_AFTER[event.kind]
            return self._incident(incident)
        return None

    def notice(self, notice: CommandNotice) -> Patch:
        """Every notice goes to the notices list; a shortfall or an at-risk one also marks its
        incident."""
        patch: Patch = {"t": "notice", "notice": notice_json(notice)}
        self.notices.appendleft(patch["notice"])
        incident = self.incidents.get(notice.alarm_id) if notice.alarm_id else None
        if incident is not None:
            if notice.kind == "shortfall":
                incident.queued = notice.reason
            elif notice.kind == "at_risk":
                incident.at_risk = True
            patch["incident"] = incident.as_json()
        return patch

    def dead_letter(self, entry: dict[str, Any]) -> Patch:
        self.notices.appendleft(entry)
        return {"t": "notice", "notice": entry}

    def answered(self, result: CommandHandled) -> list[Patch]:
        """Dispatch's answer to a command: to the browsers (the one that asked shows it), and
        what it changed that no other message says (duty, hold)."""
        patches: list[Patch] = [{"t": "answer", "answer": answer_json(result)}]
        if result.outcome is not CommandOutcome.done:
            return patches
        if result.kind is CommandKind.set_unit_duty and result.unit_id and result.duty:
            patches.append(self.set_duty(result.unit_id, str(result.duty)))
        incident = self.incidents.get(result.alarm_id) if result.alarm_id else None
        if incident is not None and result.kind is CommandKind.hold_alarm:
            incident.held = bool(result.hold)
            patches.append(self._incident(incident))
        return patches

    def set_duty(self, unit_id: str, duty: str) -> Patch:
        if duty == "on_duty":
            self.duty.pop(unit_id, None)
        else:
            self.duty[unit_id] = duty
        return {"t": "duty", "unit": unit_id, "duty": duty}

    # ---- for a browser that connects --------------------------------------------------------

    def snapshot(self, now: datetime) -> Patch:
        return {
            "t": "snapshot",
            "now": ms(now),
            "statuses": STATUSES,
            "units": [unit.row() for unit in self.units.values()],
            "incidents": [i.as_json() for i in self.incidents.values()],
            "duty": dict(self.duty),
            "notices": list(self.notices),
        }

    def _incident(self, incident: Incident) -> Patch:
        return {"t": "incident", "incident": incident.as_json()}


def notice_json(notice: CommandNotice) -> dict[str, Any]:
    return {
        "id": str(notice.message_id),
        "kind": str(notice.kind),
        "at": ms(notice.at),
        "reason": notice.reason,
        "alarm": str(notice.alarm_id) if notice.alarm_id else None,
        "unit": notice.unit_id,
        "platform": notice.platform_id,
        "suggested_unit": notice.suggested_unit_id,
        "suggested_platform": notice.suggested_platform_id,
        "eta": notice.eta_seconds,
        "target": notice.target_seconds,
    }


def answer_json(result: CommandHandled) -> dict[str, Any]:
    return {
        "command_id": str(result.command_id),
        "kind": str(result.kind),
        "actor": result.actor,
        "outcome": str(result.outcome),
        "reason": result.reason,
        "detail": result.detail,
        "alarm": str(result.alarm_id) if result.alarm_id else None,
        "unit": result.unit_id,
        "work_order": str(result.work_order_id) if result.work_order_id else None,
        "at": ms(result.handled_at),
    }


def nearest_units(
    units: Iterable[UnitView],
    lat: float,
    lon: float,
    *,
    busy: Mapping[str, str],
    duty: Mapping[str, str],
    limit: int = 12,
) -> list[dict[str, Any]]:
    """Units by straight-line distance to a scene, for a dispatcher choosing one by hand (the
    ETA is dispatch's to estimate; the distance is what a person checks on the map)."""
    found = []
    for unit in units:
        p1, p2 = radians(lat), radians(unit.lat)
        a = sin((p2 - p1) / 2) ** 2 + cos(p1) * cos(p2) * sin(radians(unit.lon - lon) / 2) ** 2
        metres = 12_742_000 * asin(min(1.0, sqrt(a)))
        found.append((metres, unit))
    found.sort(key=lambda pair: pair[0])
    return [
        {
            "unit": unit.unit_id,
            "platform": unit.platform_id,
            "kind": unit.kind,
            "status": unit.status,
            "metres": round(metres),
            "busy_with": busy.get(unit.unit_id),
            "duty": duty.get(unit.unit_id),
        }
        for metres, unit in found[:limit]
    ]
