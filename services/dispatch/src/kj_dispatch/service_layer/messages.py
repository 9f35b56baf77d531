"""The outgoing messages: work orders to units and notices to the command centre, built here and
put in the outbox in the caller's transaction."""

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from kj_dispatch.domain.repositions import OpenReposition
from kj_dispatch.domain.workorder import OpenOrder
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.base import GeoPoint
from kj_schemas.enums import NoticeKind, WorkOrderAction
from kj_schemas.topics import DISPATCH_NOTICES, DISPATCH_WORKORDERS
from kj_schemas.workorders import CommandNotice, WorkOrder


async def send_work_order(outbox: Outbox, connection: asyncpg.Connection, m: WorkOrder) -> None:
    """To the unit (keyed by unit, so a unit's work orders keep their order)."""
    await outbox.put(connection, DISPATCH_WORKORDERS.name, m.unit_id, m)


async def send_work_orders(
    outbox: Outbox, connection: asyncpg.Connection, orders: Sequence[WorkOrder]
) -> None:
    """Many, in order, in one statement; each keyed by its unit like `send_work_order`."""
    await outbox.put_many(connection, DISPATCH_WORKORDERS.name, [(m.unit_id, m) for m in orders])


async def send_notice(outbox: Outbox, connection: asyncpg.Connection, m: CommandNotice) -> None:
    """To the command centre of the notice's region."""
    await outbox.put(connection, DISPATCH_NOTICES.name, m.region, m)


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
        role=order.role,
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


def post_order(
    r: OpenReposition,
    *,
    patrol_radius_m: int,
    action: WorkOrderAction = WorkOrderAction.reposition,
    withdraw_reason: str | None = None,
    at: datetime | None = None,
) -> WorkOrder:
    """A post's order (decision 0063): go and patrol within `patrol_radius_m` of it, free for
    calls; or its withdrawal."""
    return WorkOrder(
        work_order_id=r.work_order_id,
        action=action,
        unit_id=r.unit_id,
        platform_id=r.platform_id,
        scene=GeoPoint(lat=r.lat, lon=r.lon),
        post_id=r.post_id,
        patrol_radius_m=patrol_radius_m,
        issued_at=at or r.issued_at,
        eta_seconds=0.0,
        accept_within_seconds=600,  # a post is not accepted: no acceptance timer runs on it
        reason=r.reason,
        withdraw_reason=withdraw_reason,
    )
