"""The topic catalogue: every topic, its key, its value model, partitions and retention.
`make topics` creates them from here; the k8s KafkaTopic resources are generated from here."""

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from kj_schemas.alarms import (
    AlarmAccepted,
    AlarmDiverted,
    AlarmMerged,
    AlarmReport,
    AlarmStatusChanged,
)
from kj_schemas.commands import CommandHandled, DispatchCommand
from kj_schemas.deadletter import DeadLetter
from kj_schemas.notify import BroadcastRequested, DeliveryReceipt
from kj_schemas.tracking import GpsPing, UnitState
from kj_schemas.workorders import CommandNotice, WorkOrder, WorkOrderEvent

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    value: type[BaseModel]
    partitions: int
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int | None
    description: str

    def config(self) -> dict[str, str]:
        config: dict[str, str] = {"cleanup.policy": self.cleanup_policy}
        if self.retention_ms is not None:
            config["retention.ms"] = str(self.retention_ms)
        if self.cleanup_policy == "compact":
            # a unit's newest state is what matters; tombstones go after a day
            config["min.cleanable.dirty.ratio"] = "0.1"
            config["delete.retention.ms"] = str(DAY_MS)
        return config


ALARMS_INTAKE = TopicSpec(
    "alarms.intake",
    "source:source_alarm_id",
    AlarmReport,
    3,
    "delete",
    7 * DAY_MS,
    "alarms from 110 integrations that prefer Kafka to HTTP, and their updates and cancels "
    "(AlarmUpdate, AlarmCancel: decode with kj_schemas.alarms.decode_intake)",
)
ALARMS_ACCEPTED = TopicSpec(
    "alarms.accepted",
    "region",
    AlarmAccepted,
    6,
    "delete",
    30 * DAY_MS,
    "alarms taken in for dispatch (from the alarm service's outbox); repeated with an "
    "`amendment` when an update or cancel changes one (decision 0115)",
)
ALARMS_MERGED = TopicSpec(
    "alarms.merged",
    "region",
    AlarmMerged,
    6,
    "delete",
    30 * DAY_MS,
    "repeat calls merged into an open incident",
)
ALARMS_DIVERTED = TopicSpec(
    "alarms.diverted",
    "region",
    AlarmDiverted,
    3,
    "delete",
    30 * DAY_MS,
    "non-police calls handed to the 12345 hotline",
)
ALARMS_STATUS = TopicSpec(
    "alarms.status",
    "alarm_id",
    AlarmStatusChanged,
    6,
    "delete",
    30 * DAY_MS,
    "each step of an alarm's story, for status callbacks to the 110 centre",
)
PATROL_PINGS = TopicSpec(
    "patrol.pings",
    "unit_id",
    GpsPing,
    12,
    "delete",
    2 * DAY_MS,
    "GPS fixes from terminals, 1 every 1-5 s per unit (external contract)",
)
UNITS_STATE = TopicSpec(
    "units.state",
    "unit_id",
    UnitState,
    12,
    "compact",
    None,
    "every unit's latest trusted position and status",
)
DISPATCH_WORKORDERS = TopicSpec(
    "dispatch.workorders",
    "unit_id",
    WorkOrder,
    12,
    "delete",
    30 * DAY_MS,
    "work orders to units: assign and withdraw (external contract)",
)
WORKORDERS_EVENTS = TopicSpec(
    "workorders.events",
    "unit_id",
    WorkOrderEvent,
    12,
    "delete",
    30 * DAY_MS,
    "answers from terminals and arrivals detected from GPS",
)
DISPATCH_NOTICES = TopicSpec(
    "dispatch.notices",
    "region",
    CommandNotice,
    3,
    "delete",
    30 * DAY_MS,
    "at-risk alarms, shortfalls, coverage gaps, unresponsive units",
)
DISPATCH_COMMANDS = TopicSpec(
    "dispatch.commands",
    "region",
    DispatchCommand,
    6,
    "delete",
    7 * DAY_MS,
    "dispatchers' commands from the console, applied by the region's dispatch process",
)
DISPATCH_COMMAND_RESULTS = TopicSpec(
    "dispatch.command_results",
    "region",
    CommandHandled,
    3,
    "delete",
    30 * DAY_MS,
    "dispatch's answer to each command: done, or refused with the reason",
)
NOTIFY_BROADCASTS = TopicSpec(
    "notify.broadcasts",
    "broadcast_id",
    BroadcastRequested,
    3,
    "delete",
    30 * DAY_MS,
    "tasks for taxi drivers and volunteer patrols near an incident",
)
NOTIFY_RECEIPTS = TopicSpec(
    "notify.receipts",
    "ref_id",
    DeliveryReceipt,
    6,
    "delete",
    30 * DAY_MS,
    "delivered, read and failed receipts",
)
DEADLETTERS = TopicSpec(
    "deadletters",
    "source_topic",
    DeadLetter,
    3,
    "delete",
    30 * DAY_MS,
    "records no service could process, with the cause",
)

CATALOGUE: tuple[TopicSpec, ...] = (
    ALARMS_INTAKE,
    ALARMS_ACCEPTED,
    ALARMS_MERGED,
    ALARMS_DIVERTED,
    ALARMS_STATUS,
    PATROL_PINGS,
    UNITS_STATE,
    DISPATCH_WORKORDERS,
    WORKORDERS_EVENTS,
    DISPATCH_NOTICES,
    DISPATCH_COMMANDS,
    DISPATCH_COMMAND_RESULTS,
    NOTIFY_BROADCASTS,
    NOTIFY_RECEIPTS,
    DEADLETTERS,
)


def by_name(name: str) -> TopicSpec:
    for spec in CATALOGUE:
        if spec.name == name:
            return spec
    raise KeyError(f"no topic {name!r} in the catalogue")
