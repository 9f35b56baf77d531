"""Dispatchers' commands to dispatch (`dispatch.commands`, keyed by region) and dispatch's answer
to each (`dispatch.command_results`). The console never writes a work order: it asks, and the
dispatch process that holds the region applies the command under the same rules as its own
decisions (a unit never holds two open work orders), or refuses it with the reason.

A command is named in the imperative (`AssignUnit`); the message that carries it names the person
who asked (`actor`) and its `command_id`, which makes it idempotent: the same command_id is
applied once, however often it is delivered."""

from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from kj_schemas.base import (
    Code,
    Contract,
    Message,
    RegionId,
    ShortText,
    Timestamp,
    UnitId,
)
from kj_schemas.enums import CommandKind, CommandOutcome, UnitDuty

# the `withdraw_reason` of the work orders a `CloseAlarm` ends: the unit stands down because the
# incident is over, which moves its alarm to closed, never back to waiting
CLOSED_BY_COMMAND_CENTRE = "closed_by_command_centre"
# a console user's name: also what `BroadcastRequested.requested_by` and the timeline carry
Actor = Code


class AssignUnit(Contract):
    """Make `unit_id` the alarm's primary unit. A waiting (or held) alarm is assigned; an alarm
    with an open primary is reassigned: that unit is withdrawn and told so."""

    kind: Literal[CommandKind.assign_unit] = CommandKind.assign_unit
    alarm_id: UUID
    unit_id: UnitId


class AddBackup(Contract):
    """Send `unit_id` to the alarm as a backup unit."""

    kind: Literal[CommandKind.add_backup] = CommandKind.add_backup
    alarm_id: UUID
    unit_id: UnitId


class WithdrawWorkOrder(Contract):
    """Take a work order back from its unit; a primary's alarm waits for the next unit."""

    kind: Literal[CommandKind.withdraw_work_order] = CommandKind.withdraw_work_order
    alarm_id: UUID
    work_order_id: UUID


class CloseAlarm(Contract):
    """The incident is over: every open work order of it is closed with this disposition and
    its units are told to stand down; a waiting alarm is closed without one."""

    kind: Literal[CommandKind.close_alarm] = CommandKind.close_alarm
    alarm_id: UUID
    disposition_code: Code


class SetUnitDuty(Contract):
    """Put a unit on or off duty, or out of service. A unit not on duty is kept out of every
    assignment (an open work order it holds stays with it)."""

    kind: Literal[CommandKind.set_unit_duty] = CommandKind.set_unit_duty
    unit_id: UnitId
    duty: UnitDuty


class HoldAlarm(Contract):
    """Keep a waiting alarm from automatic assignment (`hold`), or give it back (`not hold`).
    A held alarm is assigned by a dispatcher's `AssignUnit`."""

    kind: Literal[CommandKind.hold_alarm] = CommandKind.hold_alarm
    alarm_id: UUID
    hold: bool = True


AnyCommand = Annotated[
    AssignUnit | AddBackup | WithdrawWorkOrder | CloseAlarm | SetUnitDuty | HoldAlarm,
    Field(discriminator="kind"),
]


class DispatchCommand(Message):
    """One dispatcher's command, on `dispatch.commands` (key = region)."""

    command_id: UUID  # the same command sent again (a retry) is applied once
    region: RegionId
    actor: Actor  # the person who asked: a console user name
    issued_at: Timestamp
    command: AnyCommand

    @property
    def alarm_id(self) -> UUID | None:
        return getattr(self.command, "alarm_id", None)

    @property
    def unit_id(self) -> str | None:
        return getattr(self.command, "unit_id", None)


class CommandHandled(Message):
    """Dispatch's answer to a command, on `dispatch.command_results` (key = region): `done`, or
    `refused` with `reason` (a code the console translates) and `detail` (the same for a
    person, in English, with the ids). `work_order_id` is the work order the command made or
    ended; `replaced_work_order_id` the one a reassignment withdrew."""

    command_id: UUID
    kind: CommandKind
    region: RegionId
    actor: Actor
    outcome: CommandOutcome
    reason: Code | None = None
    detail: ShortText | None = None
    alarm_id: UUID | None = None
    unit_id: UnitId | None = None
    work_order_id: UUID | None = None
    replaced_work_order_id: UUID | None = None
    disposition_code: Code | None = None
    duty: UnitDuty | None = None
    hold: bool | None = None  # a hold_alarm's: held, or released
    handled_at: Timestamp

    @model_validator(mode="after")
    def _refusal_says_why(self) -> Self:
        if self.outcome is CommandOutcome.refused and self.reason is None:
            raise ValueError("a refused command needs a reason")
        return self
