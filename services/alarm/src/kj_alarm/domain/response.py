"""An alarm's story from its timeline: status after each work-order event, response time."""

from datetime import datetime

from kj_schemas.enums import AlarmStatus, WorkOrderEventKind

OPEN_STATUSES = frozenset({AlarmStatus.accepted, AlarmStatus.assigned, AlarmStatus.on_scene})
_RANK = {
    AlarmStatus.accepted: 0,
    AlarmStatus.assigned: 1,
    AlarmStatus.on_scene: 2,
    AlarmStatus.closed: 3,
}


def status_after_assign(current: AlarmStatus) -> AlarmStatus:
    return AlarmStatus.assigned if current is AlarmStatus.accepted else current


def status_after_event(
    current: AlarmStatus, kind: WorkOrderEventKind, *, open_orders_left: int
) -> AlarmStatus:
    """The alarm's status after a unit's event. Never moves back from on scene or closed,
    except that a rejected or withdrawn order with no other open order returns to accepted."""
    if current not in _RANK:  # merged or diverted alarms are not dispatched
        return current
    wanted: AlarmStatus | None = {
        WorkOrderEventKind.on_scene: AlarmStatus.on_scene,
        WorkOrderEventKind.closed: AlarmStatus.closed,
    }.get(kind)
    if kind is WorkOrderEventKind.rejected and current is AlarmStatus.assigned:
        return AlarmStatus.accepted if open_orders_left == 0 else current
    if wanted is not None and _RANK[wanted] > _RANK[current]:
        return wanted
    return current


def status_after_withdraw(current: AlarmStatus, *, open_orders_left: int) -> AlarmStatus:
    if current is AlarmStatus.assigned and open_orders_left == 0:
        return AlarmStatus.accepted
    return current


def response_seconds(received_at: datetime, on_scene_at: datetime | None) -> float | None:
    if on_scene_at is None:
        return None
    return max((on_scene_at - received_at).total_seconds(), 0.0)


def target_met(seconds: float | None, target_seconds: int) -> bool | None:
    return None if seconds is None else seconds <= target_seconds
