"""`alarms.intake`: the same reports, updates and cancels over Kafka, through the same handlers
as HTTP. What does not decode is dead-lettered by the consume loop (counted here as rejected);
a report that repeats an id with a different body, or an update that cannot apply (no such
alarm of its source, the alarm not open, its id used before for another update) is refused to
the dead letters with the reason.

An update names its alarm by (source, source_alarm_id): it reaches only the alarms of the
source it names, as a report does (the topic's writers are the integrations, decision 0115)."""

from collections.abc import Container, Sequence

from kj_alarm.domain.intake_decision import ConflictingRepeat
from kj_alarm.domain.updates import UpdateRefused
from kj_alarm.entrypoints.metrics import RECEIVED, REJECTED
from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.intake import IntakeWriter
from kj_alarm.service_layer.unmerge import UnknownAlarm
from kj_alarm.service_layer.updates import ConflictingUpdate, cancel_alarm, update_alarm
from kj_runtime.consume import Refusal, invalid_reason
from kj_schemas.alarms import AlarmCancel, AlarmReport, AlarmUpdate


def rejected(error: BaseException) -> str:
    """The dead letter's reason for a record that is no report, counted like HTTP's refusals."""
    reason = invalid_reason(error)
    REJECTED.labels("kafka", reason).inc()
    return reason


def _any_source(_: str) -> bool:
    return True  # the record names its source; the alarm is looked up under it


class KafkaIntake:
    def __init__(self, writer: IntakeWriter, sources: Container[str], deps: Deps) -> None:
        self.writer = writer
        self.sources = sources
        self.deps = deps

    async def handle(
        self, records: Sequence[AlarmReport | AlarmUpdate | AlarmCancel]
    ) -> list[Refusal]:
        refused: list[Refusal] = []
        for index, record in enumerate(records):  # in order: a report before its updates
            if isinstance(record, AlarmReport):
                refusal = await self._report(index, record)
            else:
                refusal = await self._change(index, record)
            if refusal is not None:
                refused.append(refusal)
        return refused

    async def _report(self, index: int, report: AlarmReport) -> Refusal | None:
        source = report.source if report.source in self.sources else "other"
        try:
            result = await self.writer.take_in(report)
        except ConflictingRepeat as conflict:
            RECEIVED.labels(source, str(report.category), "none", "conflict").inc()
            return Refusal(index, "conflict", str(conflict))
        outcome = str(result.status) if result.created else "repeat"
        RECEIVED.labels(source, result.category, str(result.tier), outcome).inc()
        return None

    async def _change(self, index: int, record: AlarmUpdate | AlarmCancel) -> Refusal | None:
        ref = (record.source, record.source_alarm_id)
        try:
            if isinstance(record, AlarmCancel):
                await cancel_alarm(ref, record, self.deps, may_act=_any_source)
            else:
                await update_alarm(ref, record, self.deps, may_act=_any_source)
        except UnknownAlarm:
            REJECTED.labels("kafka", "unknown_alarm").inc()
            detail = f"{record.source} reported no alarm {record.source_alarm_id}"
            return Refusal(index, "unknown_alarm", detail)
        except ConflictingUpdate as conflict:
            REJECTED.labels("kafka", "conflict").inc()
            return Refusal(index, "conflict", str(conflict))
        except UpdateRefused as refusal:
            REJECTED.labels("kafka", refusal.reason).inc()
            return Refusal(index, refusal.reason, refusal.detail)
        return None
