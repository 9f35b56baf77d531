"""The command centre undoes a merge: the call was a different incident after all. The alarm
becomes an accepted alarm of its own and goes to dispatch (AlarmAccepted)."""

from collections.abc import Callable
from uuid import UUID

from kj_alarm.adapters import alarm_store as store
from kj_alarm.domain.intake_decision import IntakeResult, result_of
from kj_alarm.service_layer import messages
from kj_alarm.service_layer.deps import Deps
from kj_schemas.enums import AlarmStatus
from kj_schemas.topics import ALARMS_ACCEPTED, ALARMS_STATUS


class UnknownAlarm(Exception):
    pass


class NotMerged(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(f"the alarm is {status}, not merged")
        self.status = status


async def unmerge(
    alarm_id: UUID, deps: Deps, *, may_act: Callable[[str], bool], actor: str | None = None
) -> IntakeResult:
    """Unmerge the alarm; an alarm the caller `may_act` not on (by its source) is unknown to
    it, like one that does not exist. `actor`: the person who asked (the console's user)."""
    async with deps.pool.acquire() as connection, connection.transaction():
        row = await store.find(connection, alarm_id, for_update=True)
        if row is None or not may_act(row["source"]):
            raise UnknownAlarm(str(alarm_id))
        if row["status"] != AlarmStatus.merged:
            raise NotMerged(row["status"])
        parent = row["merged_into"]
        now = deps.clock()
        by = {"actor": actor} if actor else {}
        await store.set_status(connection, alarm_id, AlarmStatus.accepted)
        callers = await store.add_callers(connection, parent, -1)
        await store.add_timeline(
            connection,
            [
                (alarm_id, "unmerged", now, None, None, {"was_merged_into": str(parent), **by}),
                (
                    parent,
                    "caller_removed",
                    now,
                    None,
                    None,
                    {"alarm_id": str(alarm_id), "callers": callers, **by},
                ),
            ],
        )
        updated = {**dict(row), "status": str(AlarmStatus.accepted), "merged_into": None}
        await deps.outbox.put(
            connection, ALARMS_ACCEPTED.name, row["region"], messages.accepted(updated)
        )
        update = messages.status_changed(updated, AlarmStatus.accepted, now, reason="unmerged")
        await deps.outbox.put(connection, ALARMS_STATUS.name, str(alarm_id), update)
        return result_of(updated, created=False)
