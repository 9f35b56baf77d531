"""An integration's updates and cancels of the alarms it reported, over HTTP and `alarms.intake`
alike (issue 19, decision 0115). One transaction each: the alarm's row locked, the update's id
checked (a repeat answers the first answer again; the same id with another body is a
conflict), the change decided by the domain, the alarm changed, its timeline entry, the
update recorded with its answer, and the messages through the outbox: the alarm again on
`alarms.accepted` with its amendment when dispatch is concerned (a moved scene, a new tier or
priority, a cancel), and a step on `alarms.status` for the integration's status callbacks."""

from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from kj_alarm.adapters import alarm_store as store
from kj_alarm.adapters import update_store
from kj_alarm.domain.updates import AlarmNow, plan_cancel, plan_update, update_digest
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.unmerge import UnknownAlarm
from kj_schemas.alarms import AlarmChanges, Amendment, CancelRequest
from kj_schemas.enums import AlarmStatus, ResponseTier
from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_STATUS


class ConflictingUpdate(Exception):
    """The update id was used before for another update (another body or another alarm)."""

    def __init__(self, update_id: str) -> None:
        super().__init__(f"update {update_id} was sent before with a different body")


# which alarm an update names: its id (HTTP), or its source's id (Kafka)
AlarmRef = UUID | tuple[str, str]


def _now_of(row: Any) -> AlarmNow:
    return AlarmNow(
        status=AlarmStatus(row["status"]),
        lat=row["lat"],
        lon=row["lon"],
        address=row["address"],
        priority=row["priority"],
        description=row["description"],
        callers=row["callers"],
        tier=ResponseTier(row["tier"]),
        target_seconds=row["target_seconds"],
    )


async def _lock(
    connection: asyncpg.Connection, ref: AlarmRef, may_act: Callable[[str], bool]
) -> Any:
    alarm_id: UUID | None = ref if isinstance(ref, UUID) else None
    if not isinstance(ref, UUID):
        found = await store.find_by_source(connection, *ref)
        alarm_id = found["alarm_id"] if found is not None else None
    row = await store.find(connection, alarm_id, for_update=True) if alarm_id else None
    if row is None or not may_act(row["source"]):
        raise UnknownAlarm(str(ref))  # another's alarm is answered as an unknown one (0072)
    return row


async def _first_answer(
    connection: asyncpg.Connection, row: Any, update_id: str, kind: str, digest: bytes
) -> dict[str, Any] | None:
    before = await update_store.find_update(connection, row["source"], update_id)
    if before is None:
        return None
    same = (before["alarm_id"], before["kind"], bytes(before["body_sha256"]))
    if same != (row["alarm_id"], kind, digest):
        raise ConflictingUpdate(update_id)
    return {**orjson.loads(before["answer"]), "repeat": True}


def _answer(row: Any, after: AlarmNow, update_id: str, *, replan: bool) -> dict[str, Any]:
    return {
        "alarm_id": str(row["alarm_id"]),
        "update_id": update_id,
        "status": str(after.status),
        "tier": str(after.tier),
        "target_seconds": after.target_seconds,
        "replan": replan,
        "repeat": False,
    }


async def update_alarm(
    ref: AlarmRef, change: AlarmChanges, deps: Deps, *, may_act: Callable[[str], bool]
) -> dict[str, Any]:
    """Apply `change` to the alarm `ref` names; raises UnknownAlarm (none the caller `may_act`
    on), ConflictingUpdate, or the domain's UpdateRefused."""
    digest = update_digest(change)
    async with deps.pool.acquire() as connection, connection.transaction():
        row = await _lock(connection, ref, may_act)
        repeat = await _first_answer(connection, row, change.update_id, "update", digest)
        if repeat is not None:
            return repeat
        plan = plan_update(
            _now_of(row),
            change,
            classify=deps.classifier.classify,
            replan_beyond_m=deps.replan_beyond_m,
        )
        at = deps.clock()
        after = plan.after
        await update_store.change_alarm(connection, row["alarm_id"], after)
        detail = {"update_id": change.update_id, "changes": plan.changes, "replan": plan.replan}
        entry = (row["alarm_id"], "updated", at, None, None, detail)
        await store.add_timeline(connection, [entry])
        changed = {**dict(row), **after.__dict__, "status": str(after.status)}
        amendment = (
            Amendment(
                update_id=change.update_id,
                at=at,
                moved_m=round(plan.moved_m, 1) if plan.moved_m is not None else None,
                replan=plan.replan,
            )
            if plan.dispatch_concerned
            else None
        )
        await _publish(
            deps, connection, changed, after.status, at, "updated", change.update_id, amendment
        )
        answer = _answer(row, after, change.update_id, replan=plan.replan)
        await _record(connection, row, change.update_id, "update", digest, answer, at)
        return answer


async def cancel_alarm(
    ref: AlarmRef, cancel: CancelRequest, deps: Deps, *, may_act: Callable[[str], bool]
) -> dict[str, Any]:
    """Close the alarm with the cancel's reason; dispatch withdraws every open work order and
    tells the units. Raises like `update_alarm`."""
    digest = update_digest(cancel)
    async with deps.pool.acquire() as connection, connection.transaction():
        row = await _lock(connection, ref, may_act)
        repeat = await _first_answer(connection, row, cancel.update_id, "cancel", digest)
        if repeat is not None:
            return repeat
        after = plan_cancel(_now_of(row), cancel)
        at = deps.clock()
        await update_store.change_alarm(connection, row["alarm_id"], after)
        detail: dict[str, Any] = {"update_id": cancel.update_id, "reason": str(cancel.reason)}
        if cancel.note is not None:
            detail["note"] = cancel.note
        await store.add_timeline(
            connection, [(row["alarm_id"], "cancelled", at, None, None, detail)]
        )
        changed = {**dict(row), "status": str(after.status)}
        amendment = Amendment(update_id=cancel.update_id, at=at, cancelled=cancel.reason)
        await _publish(
            deps,
            connection,
            changed,
            after.status,
            at,
            str(cancel.reason),
            cancel.update_id,
            amendment,
        )
        answer = _answer(row, after, cancel.update_id, replan=False)
        await _record(connection, row, cancel.update_id, "cancel", digest, answer, at)
        return answer


async def _record(
    connection: asyncpg.Connection,
    row: Any,
    update_id: str,
    kind: str,
    digest: bytes,
    answer: dict[str, Any],
    at: Any,
) -> None:
    try:
        async with connection.transaction():
            await update_store.record_update(
                connection,
                source=row["source"],
                update_id=update_id,
                alarm_id=row["alarm_id"],
                kind=kind,
                digest=digest,
                answer=answer,
                at=at,
            )
    except asyncpg.UniqueViolationError:  # the same id, for another alarm, at the same moment
        raise ConflictingUpdate(update_id) from None


async def _publish(
    deps: Deps,
    connection: Any,
    changed: dict[str, Any],
    status: Any,
    at: Any,
    reason: str,
    update_id: str,
    amendment: Amendment | None,
) -> None:
    """The change, through the outbox in the change's transaction: to dispatch (the alarm again
    with its amendment, on the alarm's partition) when it concerns dispatch, and to the
    integration's status callbacks always."""
    if amendment is not None:
        await deps.outbox.put(
            connection,
            ALARMS_ACCEPTED.name,
            changed["region"],
            messages.accepted(changed, amendment=amendment),
        )
    step = messages.status_changed(changed, status, at, reason=reason, update_id=update_id)
    await deps.outbox.put(connection, ALARMS_STATUS.name, str(changed["alarm_id"]), step)
