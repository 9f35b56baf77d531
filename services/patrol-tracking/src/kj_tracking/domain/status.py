"""How work orders and their events move a unit's status, and when silence or a return to
base changes it. Each function returns True when the status changed."""

from kj_schemas.enums import UnitStatus
from kj_schemas.geo import haversine_m
from kj_tracking.domain.units import UnitTrack

EVENT_STATUS = {
    "accepted": UnitStatus.en_route,
    "en_route": UnitStatus.en_route,
    "on_scene": UnitStatus.on_scene,
}


def _set(unit: UnitTrack, status: UnitStatus) -> bool:
    if unit.status is UnitStatus.lost_contact:
        # keep it excluded from dispatch; restore this status on its next trusted fix
        changed = unit.status_before_lost is not status
        unit.status_before_lost = status
        return changed
    if unit.status is status:
        return False
    unit.status = status
    return True


def assign(unit: UnitTrack, work_order_id: str, scene_lat: float, scene_lon: float) -> bool:
    unit.work_order_id = work_order_id
    unit.scene_lat, unit.scene_lon = scene_lat, scene_lon
    unit.returning_since = None
    return _set(unit, UnitStatus.assigned)


def release(unit: UnitTrack, work_order_id: str) -> bool:
    """Withdrawn or rejected: the unit is free again (if this was its work order)."""
    if unit.work_order_id != work_order_id:
        return False
    unit.work_order_id = None
    unit.scene_lat = unit.scene_lon = None
    return _set(unit, UnitStatus.available)


def work_order_event(unit: UnitTrack, work_order_id: str, kind: str, now: float) -> bool:
    if unit.work_order_id != work_order_id:
        return False  # an answer to a work order the unit no longer holds
    if kind == "rejected":
        return release(unit, work_order_id)
    if kind == "closed":
        unit.work_order_id = None
        unit.scene_lat = unit.scene_lon = None
        unit.returning_since = now
        return _set(unit, UnitStatus.returning)
    status = EVENT_STATUS.get(kind)
    if status is None:
        return False
    if status is UnitStatus.en_route and unit.status is UnitStatus.on_scene:
        return False  # a late "accepted" never takes a unit back from the scene
    return _set(unit, status)


def back_at_base(
    unit: UnitTrack,
    platform_lat: float,
    platform_lon: float,
    now: float,
    *,
    radius_m: float,
    timeout_s: float,
) -> bool:
    """A returning unit becomes available near its platform, or after `timeout_s`."""
    if unit.status is not UnitStatus.returning or unit.returning_since is None:
        return False
    near = haversine_m(unit.lat, unit.lon, platform_lat, platform_lon) <= radius_m
    if near or now - unit.returning_since >= timeout_s:
        unit.returning_since = None
        return _set(unit, UnitStatus.available)
    return False


def fall_silent(unit: UnitTrack, now: float, silence_s: float) -> bool:
    """No trusted fix for `silence_s`: lost contact (excluded from dispatch)."""
    if not unit.has_fix or unit.status is UnitStatus.lost_contact:
        return False
    if now - unit.seen_at < silence_s:
        return False
    unit.status_before_lost = unit.status
    unit.status = UnitStatus.lost_contact
    return True


def regain_contact(unit: UnitTrack) -> bool:
    if unit.status is not UnitStatus.lost_contact:
        return False
    unit.status = unit.status_before_lost or UnitStatus.available
    unit.status_before_lost = None
    return True
