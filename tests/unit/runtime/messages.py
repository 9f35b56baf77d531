"""Small valid messages for the runtime's tests."""

from datetime import UTC, datetime
from uuid import uuid4

from kj_schemas.enums import EventSource, UnitKind, UnitStatus, WorkOrderEventKind
from kj_schemas.tracking import UnitState
from kj_schemas.workorders import WorkOrderEvent

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def event(unit_id: str) -> WorkOrderEvent:
    return WorkOrderEvent(
        work_order_id=uuid4(),
        unit_id=unit_id,
        kind=WorkOrderEventKind.accepted,
        source=EventSource.terminal,
        occurred_at=AT,
    )


def unit_state(unit_id: str, status: UnitStatus) -> UnitState:
    return UnitState(
        unit_id=unit_id,
        platform_id="SY-P01",
        kind=UnitKind.car,
        status=status,
        lat=27.24,
        lon=111.47,
        fix_at=AT,
        last_seen_at=AT,
    )
