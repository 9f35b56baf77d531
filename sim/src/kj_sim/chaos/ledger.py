"""What the chaos run did and was told, kept by the load itself: every alarm it posted and the
answer it got, every answer a terminal gave and whether the gateway confirmed it, every fault
and every poison record. The verifier judges PostgreSQL and the topics against this ledger.
Times are epoch seconds (wall clock of this machine, the clock the services stamp with)."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PostedAlarm:
    """One alarm the 110 integration sent, retried until it had an answer or gave up."""

    source_alarm_id: str
    first_attempt_at: float
    probe: bool = False  # posted to measure a recovery, not part of the steady stream
    attempts: int = 0
    http_status: int | None = None  # the last answer's status (None: never answered)
    answered_at: float | None = None
    alarm_id: str | None = None
    status: str | None = None  # accepted | merged | diverted, from the answer
    tier: str | None = None
    target_seconds: int | None = None
    last_error: str | None = None

    @property
    def promised(self) -> bool:
        """The platform took it: 201 (new) or 200 (a repeat of one it already has)."""
        return self.http_status in (200, 201) and self.alarm_id is not None


@dataclass
class GivenAnswer:
    """An officer's answer to a work order, sent over the terminal's WebSocket and re-sent
    with the same event id until the gateway confirms it (`ok`) or refuses it (`error`)."""

    unit_id: str
    work_order_id: str
    kind: str
    event_id: str
    given_at: float  # when the officer pressed (the frame's occurred_at)
    sends: list[float] = field(default_factory=list)  # each write to an open socket
    # the write the gateway replied to (`ok` or `error`): it had the answer from then on
    replied_send_at: float | None = None
    confirmed_at: float | None = None  # the gateway's `ok` arrived
    refused: str | None = None  # the gateway's error reason, when it refused


@dataclass
class Fault:
    kind: str  # kill | pause
    target: str  # broker | postgres | alarm | patrol-tracking | notify | dispatch-a | ...
    at: float  # the signal
    restarted_at: float | None = None  # the restart was asked for (kills) / SIGCONT (pause)
    ready_at: float | None = None  # the restarted process answered ready again
    detail: str = ""


@dataclass
class Exit:
    """A service process that ended by itself (no fault asked for it); the supervisor starts
    it again, as Kubernetes would."""

    service: str
    at: float
    code: int | None
    restarted_at: float | None = None


@dataclass
class PoisonRecord:
    topic: str  # the catalogue name
    partition: int
    offset: int
    kind: str  # one_mb | nul | invalid_json | wrong_schema | tombstone
    at: float


@dataclass
class Ledger:
    alarms: list[PostedAlarm] = field(default_factory=list)
    answers: list[GivenAnswer] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    poison: list[PoisonRecord] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)  # phase boundaries: load_started...
    received: dict[str, float] = field(default_factory=dict)  # work order -> on its terminal

    def dump(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for name in ("alarms", "answers", "faults", "poison", "exits"):
            with (directory / f"{name}.jsonl").open("w", encoding="utf-8") as out:
                for item in getattr(self, name):
                    out.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
        for name in ("marks", "received"):
            (directory / f"{name}.json").write_text(
                json.dumps(getattr(self, name), indent=1), encoding="utf-8"
            )

    @classmethod
    def load(cls, directory: Path) -> "Ledger":
        def rows(name: str) -> list[dict[str, Any]]:
            path = directory / f"{name}.jsonl"
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            return [json.loads(line) for line in lines if line.strip()]

        return cls(
            alarms=[PostedAlarm(**row) for row in rows("alarms")],
            answers=[GivenAnswer(**row) for row in rows("answers")],
            faults=[Fault(**row) for row in rows("faults")],
            poison=[PoisonRecord(**row) for row in rows("poison")],
            exits=[Exit(**row) for row in rows("exits")],
            marks=json.loads((directory / "marks.json").read_text(encoding="utf-8")),
            received=json.loads((directory / "received.json").read_text(encoding="utf-8")),
        )
