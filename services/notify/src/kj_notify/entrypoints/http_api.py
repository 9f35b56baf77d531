"""The gateway's HTTP and WebSocket surface: `/v1/terminals/ws` for terminals, the answer
endpoint for terminals that cannot hold a socket, and callback registration for 110
integrations. Handlers parse, check who is speaking and hand off."""

import time
from datetime import datetime
from typing import Annotated, Any, Protocol
from uuid import UUID, uuid4

import asyncpg
import structlog
from fastapi import FastAPI, Header, HTTPException, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import AnyHttpUrl, BaseModel, StringConstraints, ValidationError

from kj_notify.domain.answers import Refused
from kj_notify.domain.frames import (
    AckFrame,
    Answer,
    AnswerFrame,
    error_frame,
    ok_frame,
    parse_frame,
)
from kj_notify.domain.rate import FrameBudget
from kj_notify.domain.tokens import TokenBook, bearer
from kj_notify.entrypoints.hub import Hub, ReceiptBatcher, TerminalSession
from kj_notify.entrypoints.tickets import ticket_subprotocol
from kj_notify.service_layer import callbacks, terminals
from kj_notify.settings import NotifySettings
from kj_runtime.errors import UNAVAILABLE
from kj_runtime.http_errors import answer_bad_requests
from kj_runtime.integrations import IntegrationRegistry
from kj_runtime.outbox import Outbox
from kj_runtime.problems import Problem, kind_of, problem
from kj_runtime.rate_limit import retry_after
from kj_schemas.base import Contract, SourceId, Text, UnitId, utcnow
from kj_schemas.enums import ReceiptStatus

log = structlog.get_logger(__name__)


class Gateway(Protocol):
    settings: NotifySettings
    pool: asyncpg.Pool
    outbox: Outbox
    hub: Hub
    receipts: ReceiptBatcher
    devices: TokenBook
    integrations: IntegrationRegistry


class AnswerTaken(BaseModel):
    event_id: UUID  # the same again when the same answer is sent again


class CallbackRegistered(BaseModel):
    source: str
    url: str


ANSWER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no device token for the unit in X-KJ-Unit"},
    403: {"model": Problem, "description": "this unit holds no such work order"},
    409: {"model": Problem, "description": "the work order was withdrawn: stand down"},
    422: {"model": Problem, "description": "a bad answer, or one that lacks what its kind needs"},
    503: {"model": Problem, "description": "the database does not answer; retry later"},
}
CALLBACK_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no API token for this integration"},
    422: {"model": Problem, "description": "a bad registration"},
    429: {"model": Problem, "description": "over the integration's rate limit; see Retry-After"},
    503: {"model": Problem, "description": "the database does not answer; retry later"},
}


class CallbackRegistration(Contract):
    url: AnyHttpUrl
    # Standard Webhooks' `whsec_<base64>` (decision 0127); any other string signs as its bytes
    signing_secret: Annotated[Text, StringConstraints(min_length=16, max_length=256)]


def create_app(gateway: Gateway) -> FastAPI:
    """The terminals' gateway and the integrations' routes; the ops routes (/healthz, /readyz,
    /metrics, /docs) are added by the service host."""
    app = FastAPI(title="kj-notify", version="1")
    answer_bad_requests(app)

    @app.exception_handler(Refused)
    async def refused(_request: Any, error: Refused) -> Response:
        return problem(error.status, error.detail, kind=kind_of(error.reason), reason=error.reason)

    settings = gateway.settings

    @app.websocket("/v1/terminals/ws")
    async def terminal_socket(websocket: WebSocket, unit_id: Annotated[UnitId, Query()]) -> None:
        token = bearer(websocket.headers.get("authorization"))
        subprotocol = ticket_subprotocol(gateway, websocket, unit_id)  # the officer app
        if subprotocol is None and not gateway.devices.speaks_for(unit_id, token):
            await websocket.close(code=1008, reason="device token does not speak for this unit")
            return
        await websocket.accept(subprotocol=subprotocol)
        session = TerminalSession(unit_id, websocket, gateway.pool)
        await session.send({"type": "hello", "unit_id": unit_id})
        await gateway.hub.join(session)
        budget = FrameBudget(
            rate=settings.terminal_frames_per_s,
            burst=settings.terminal_frame_burst,
            patience=settings.terminal_frame_burst,
        )
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if not budget.take(time.monotonic()):
                    if budget.exhausted:  # it keeps flooding: policy violation
                        await websocket.close(code=1008, reason="too many frames")
                        break
                    retry = round(1 / settings.terminal_frames_per_s, 3)
                    await session.send(
                        error_frame(
                            "rate_limited", "too many frames; resend later", retry_after_s=retry
                        )
                    )
                    continue
                # terminals send JSON in text frames, some libraries in binary ones: take both
                raw = message.get("text")
                if raw is None:
                    try:
                        raw = (message.get("bytes") or b"").decode("utf-8")
                    except UnicodeDecodeError:
                        await session.send({"type": "error", "reason": "frame_not_utf8_json"})
                        continue
                await _handle_frame(gateway, session, raw, received_at=utcnow())
        except WebSocketDisconnect:
            pass
        except RuntimeError:  # closed by a newer connection of the same unit
            pass
        finally:
            await gateway.hub.leave(session)

    @app.post(
        "/v1/workorders/{work_order_id}/events",
        status_code=202,
        response_model=AnswerTaken,
        responses=ANSWER_ERRORS,
        summary="a unit's answer to its work order, for terminals that hold no socket",
    )
    async def post_answer(
        work_order_id: UUID,
        answer: Answer,
        authorization: Annotated[str | None, Header()] = None,
        x_kj_unit: Annotated[str | None, Header()] = None,
    ) -> dict[str, str]:
        received_at = utcnow()
        unit_id = x_kj_unit or ""
        if not gateway.devices.speaks_for(unit_id, bearer(authorization)):
            raise HTTPException(401, "a device token for the unit named in X-KJ-Unit is required")
        await gateway.hub.settled(work_order_id=work_order_id)
        # the database not answering past the window: 503 with Retry-After (the host's handler)
        event_id = await terminals.answer(
            gateway.pool,
            gateway.outbox,
            unit_id=unit_id,
            work_order_id=work_order_id,
            answer=answer,
            received_at=received_at,
            keep_for_s=settings.answer_keep_s,
        )
        return {"event_id": str(event_id)}

    @app.put(
        "/v1/integrations/{source}/callback",
        response_model=CallbackRegistered,
        responses=CALLBACK_ERRORS,
        summary="where an integration's alarms' status changes are posted, and their secret",
    )
    async def register_callback(
        source: SourceId,
        registration: CallbackRegistration,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Any:
        found = await gateway.integrations.authenticate(bearer(authorization), name=source)
        if found is None:
            raise HTTPException(401, "an API token for this integration is required")
        wait = gateway.integrations.admit(found)
        if wait is not None:
            seconds = retry_after(wait)
            detail = "over this integration's rate limit; retry later"
            return problem(429, detail, retry_after_s=seconds)
        await callbacks.register(
            gateway.pool, source, str(registration.url), registration.signing_secret
        )
        log.info("callback_registered", source=source)
        return {"source": source, "url": str(registration.url)}

    return app


async def _handle_frame(
    gateway: Gateway, session: TerminalSession, raw: str, *, received_at: datetime
) -> None:
    """One frame from a terminal, received at `received_at`; bad frames get an error frame and
    the socket stays up."""
    try:
        frame = parse_frame(raw)
    except ValidationError as error:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        await session.send(error_frame("bad_frame", detail[:500]))
        return
    if isinstance(frame, AnswerFrame):
        answer = Answer.model_validate(frame.model_dump(exclude={"type", "work_order_id"}))
        if answer.event_id is None:  # one id for every try, and for the terminal's resend
            answer = answer.model_copy(update={"event_id": uuid4()})
        await gateway.hub.settled(work_order_id=frame.work_order_id)
        try:
            event_id = await terminals.answer(
                gateway.pool,
                gateway.outbox,
                unit_id=session.unit_id,
                work_order_id=frame.work_order_id,
                answer=answer,
                received_at=received_at,
                keep_for_s=gateway.settings.answer_keep_s,
            )
        except Refused as refused:
            await session.send(
                error_frame(refused.reason, refused.detail, str(frame.work_order_id))
            )
            return
        except UNAVAILABLE as error:
            # kept for `answer_keep_s` and still not recorded: the terminal resends it (same
            # event id, so it counts once), and the socket stays up (issue 14: it closed 1011)
            log.warning("answer_not_recorded", unit_id=session.unit_id, error=type(error).__name__)
            await session.send(
                error_frame(
                    "unavailable",
                    "the answer could not be recorded now; resend it",
                    str(frame.work_order_id),
                    event_id=str(answer.event_id),
                    retry_after_s=gateway.settings.retry_after_s,
                )
            )
            return
        reply = ok_frame(str(frame.work_order_id), "event")
        reply["event_id"] = str(event_id)
        await session.send(reply)
        return
    status = ReceiptStatus.delivered if isinstance(frame, AckFrame) else ReceiptStatus.read
    await gateway.hub.settled(delivery_id=frame.delivery_id)
    gateway.receipts.put(terminals.Receipt(session.unit_id, frame.delivery_id, status))
