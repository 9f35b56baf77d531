"""Building the outgoing messages: work orders to units and notices to the command centre."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.enums import NoticeKind, WorkOrderAction, WorkOrderRole
from kj_schemas.workorders import CommandNotice, WorkOrder


@dataclass(slots=True)
class OpenOrder:
    """One of our open work orders, as much as dispatch needs to keep it in mind."""

    work_order_id: UUID
    alarm_id: UUID
    unit_id: str
    platform_id: str
    role: str
    status: str
    priority: int
    issued_at: datetime
    accept_by: datetime
    eta_s: float
    reason: str
    at_risk: bool
    runner_up_unit_id: str | None = None
    runner_up_eta_s: float | None = None


def work_order(
    order: OpenOrder,
    alarm: AlarmAccepted,
    *,
    accept_within_s: int,
    action: WorkOrderAction = WorkOrderAction.assign,
    withdraw_reason: str | None = None,
) -> WorkOrder:
    return WorkOrder(
        work_order_id=order.work_order_id,
        action=action,
        alarm_id=alarm.alarm_id,
        unit_id=order.unit_id,
        platform_id=order.platform_id,
        role=WorkOrderRole(order.role),
        category=alarm.category,
        priority=alarm.priority,
        tier=alarm.tier,
        target_seconds=alarm.target_seconds,
        scene=GeoPoint(lat=alarm.location.lat, lon=alarm.location.lon),
        address=alarm.address,
        description=alarm.description,
        reported_at=alarm.reported_at,
        issued_at=order.issued_at,
        eta_seconds=round(order.eta_s, 1),
        accept_within_seconds=accept_within_s,
        reason=order.reason,
        runner_up_unit_id=order.runner_up_unit_id,
        runner_up_eta_seconds=(
            round(order.runner_up_eta_s, 1) if order.runner_up_eta_s is not None else None
        ),
        at_risk=order.at_risk,
        withdraw_reason=withdraw_reason,
    )


def notice(
    kind: NoticeKind,
    *,
    region: str,
    at: datetime,
    reason: str,
    alarm: AlarmAccepted | None = None,
    unit_id: str | None = None,
    platform_id: str | None = None,
    suggested_unit_id: str | None = None,
    suggested_platform_id: str | None = None,
    eta_s: float | None = None,
    target_s: int | None = None,
) -> CommandNotice:
    return CommandNotice(
        kind=kind,
        region=region,
        at=at,
        reason=reason,
        alarm_id=alarm.alarm_id if alarm else None,
        unit_id=unit_id,
        platform_id=platform_id,
        suggested_unit_id=suggested_unit_id,
        suggested_platform_id=suggested_platform_id,
        eta_seconds=round(eta_s, 1) if eta_s is not None else None,
        target_seconds=target_s
        if target_s is not None
        else (alarm.target_seconds if alarm else None),
    )
