"""`alarms.intake`: the same reports over Kafka, through the same writer as HTTP. What does not
decode is dead-lettered by the consume loop (counted here as rejected); a report that repeats an
id with a different body is refused to the dead letters with the reason."""

from collections.abc import Container, Sequence

from kj_alarm.domain.intake_decision import ConflictingRepeat
from kj_alarm.entrypoints.metrics import RECEIVED, REJECTED
from kj_alarm.service_layer.intake import IntakeWriter
from kj_runtime.consume import Refusal, invalid_reason
from kj_schemas.alarms import AlarmReport


def rejected(error: BaseException) -> str:
    """The dead letter's reason for a record that is no report, counted like HTTP's refusals."""
    reason = invalid_reason(error)
    REJECTED.labels("kafka", reason).inc()
    return reason


class KafkaIntake:
    def __init__(self, writer: IntakeWriter, sources: Container[str]) -> None:
        self.writer = writer
        self.sources = sources

    async def handle(self, reports: Sequence[AlarmReport]) -> list[Refusal]:
        refused: list[Refusal] = []
        for index, report in enumerate(reports):
            source = report.source if report.source in self.sources else "other"
            try:
                result = await self.writer.take_in(report)
            except ConflictingRepeat as conflict:
                RECEIVED.labels(source, str(report.category), "none", "conflict").inc()
                refused.append(Refusal(index, "conflict", str(conflict)))
                continue
            outcome = str(result.status) if result.created else "repeat"
            RECEIVED.labels(source, result.category, str(result.tier), outcome).inc()
        return refused
