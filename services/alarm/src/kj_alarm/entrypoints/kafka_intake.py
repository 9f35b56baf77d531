"""`alarms.intake`: the same reports over Kafka, through the same handler. A record that is not
a valid report, or repeats an id with a different body, goes to `deadletters` with the reason;
a database failure raises, so the batch is retried and nothing is skipped."""

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from kj_alarm.domain.intake_decision import ConflictingRepeat
from kj_alarm.entrypoints.metrics import RECEIVED, REJECTED
from kj_alarm.service_layer.intake import IntakeWriter
from kj_runtime.deadletters import DeadLetterSink
from kj_schemas import codec
from kj_schemas.alarms import AlarmReport


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors()
    )


class KafkaIntake:
    def __init__(
        self, writer: IntakeWriter, dead_letters: DeadLetterSink, sources: set[str]
    ) -> None:
        self.writer = writer
        self.dead_letters = dead_letters
        self.sources = sources

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        for record in records:
            try:
                report = codec.decode(AlarmReport, record.value or b"")
            except ValidationError as error:
                reason = "invalid_json" if error.errors()[0]["type"] == "json_invalid" else "schema"
                REJECTED.labels("kafka", reason).inc()
                await self.dead_letters.send(record, reason=reason, detail=_describe(error))
                continue
            except ValueError as error:
                REJECTED.labels("kafka", "invalid_json").inc()
                await self.dead_letters.send(record, reason="invalid_json", detail=str(error))
                continue
            source = report.source if report.source in self.sources else "other"
            try:
                result = await self.writer.take_in(report)
            except ConflictingRepeat as conflict:
                RECEIVED.labels(source, str(report.category), "none", "conflict").inc()
                await self.dead_letters.send(record, reason="conflict", detail=str(conflict))
                continue
            outcome = str(result.status) if result.created else "repeat"
            RECEIVED.labels(source, result.category, str(result.tier), outcome).inc()
