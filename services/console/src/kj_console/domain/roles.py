"""Who may do what on the console: viewers watch; dispatchers act on alarms and units and call
taxi drivers and volunteers; supervisors also read everyone's audit."""

from enum import StrEnum


class Role(StrEnum):
    viewer = "viewer"
    dispatcher = "dispatcher"
    supervisor = "supervisor"


class Action(StrEnum):
    command = "command"  # a dispatch command: assign, backup, withdraw, close, hold, duty
    broadcast = "broadcast"
    unmerge = "unmerge"
    read_audit = "read_audit"


_MAY: dict[Role, frozenset[Action]] = {
    Role.viewer: frozenset(),
    Role.dispatcher: frozenset({Action.command, Action.broadcast, Action.unmerge}),
    Role.supervisor: frozenset(Action),
}


def may(role: Role, action: Action) -> bool:
    return action in _MAY[role]
