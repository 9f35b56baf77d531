"""An integration's updates and cancels of its own alarms over HTTP (issue 19, decision 0115):
thin routes beside the intake's, scoped by the same `Caller.owns` check as every read (another
integration's alarm is answered as an unknown one, decision 0072)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI
from fastapi.responses import Response

from kj_alarm.domain.updates import UpdateRefused
from kj_alarm.entrypoints.auth import Caller
from kj_alarm.entrypoints.http_models import UpdateAnswer
from kj_alarm.service_layer.deps import Deps
from kj_alarm.service_layer.unmerge import UnknownAlarm
from kj_alarm.service_layer.updates import ConflictingUpdate, cancel_alarm, update_alarm
from kj_runtime.problems import Problem
from kj_schemas.alarms import AlarmChanges, CancelRequest

Problems = Callable[..., Response]


def add_update_routes(
    app: FastAPI,
    deps: Deps,
    *,
    authenticate: Callable[..., Awaitable[Caller]],  # the intake's bearer-token check
    problem: Problems,
    errors: dict[int | str, dict[str, Any]],
) -> None:
    responses: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "no such alarm of this integration"},
        409: {
            "model": Problem,
            "description": "the alarm is not open (merged, diverted, closed), or this update "
            "id was sent before with a different body",
        },
        **errors,
    }

    async def answer(work: Any) -> Any:
        try:
            return await work
        except UnknownAlarm:
            return problem(404, "no such alarm")
        except ConflictingUpdate as conflict:
            return problem(409, str(conflict), "update-id-reused")
        except UpdateRefused as refused:
            return problem(409, f"{refused.reason}: {refused.detail}", str(refused.reason))

    Integration = Annotated[Caller, Depends(authenticate)]

    @app.post(
        "/v1/alarms/{alarm_id}/updates",
        response_model=UpdateAnswer,
        responses=responses,
        summary="update an alarm: a supplementary description, a new priority, a corrected "
        "location (its tier is classified again; dispatch plans again beyond a set distance), "
        "more callers. A repeated update_id answers the first answer again",
    )
    async def update(alarm_id: UUID, change: AlarmChanges, caller: Integration) -> Any:
        return await answer(update_alarm(alarm_id, change, deps, may_act=_owns(caller)))

    @app.post(
        "/v1/alarms/{alarm_id}/cancel",
        response_model=UpdateAnswer,
        responses=responses,
        summary="cancel an alarm with the reason: it is closed, every open work order is "
        "withdrawn and the units are told. A repeated update_id answers the first answer again",
    )
    async def cancel(alarm_id: UUID, request: CancelRequest, caller: Integration) -> Any:
        return await answer(cancel_alarm(alarm_id, request, deps, may_act=_owns(caller)))


def _owns(caller: Caller) -> Callable[[str], bool]:
    return caller.owns
