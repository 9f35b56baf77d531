"""What the consume loop hands over, to the dispatcher: alarms to record (and their changes),
unit states for the fleet view."""

from collections.abc import Sequence

from kj_dispatch.service_layer.amendments import amend_alarms
from kj_dispatch.service_layer.dispatcher import Dispatcher
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.tracking import UnitState


async def on_alarms(dispatcher: Dispatcher, alarms: Sequence[AlarmAccepted]) -> None:
    """New alarms first, then the changes to alarms (an amendment follows its alarm on the
    partition, so one in the same batch finds it recorded)."""
    await dispatcher.receive_alarms([a for a in alarms if a.amendment is None])
    if amended := [a for a in alarms if a.amendment is not None]:
        await amend_alarms(dispatcher, amended)


async def on_unit_states(dispatcher: Dispatcher, states: Sequence[UnitState]) -> None:
    for state in states:
        dispatcher.on_unit_state(state)
