"""What the consume loop hands over, to the dispatcher: alarms to record, unit states for the
fleet view."""

from collections.abc import Sequence

from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.tracking import UnitState


async def on_alarms(dispatcher: Dispatcher, alarms: Sequence[AlarmAccepted]) -> None:
    await dispatcher.receive_alarms(alarms)


async def on_unit_states(dispatcher: Dispatcher, states: Sequence[UnitState]) -> None:
    for state in states:
        dispatcher.on_unit_state(state)
