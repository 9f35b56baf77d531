"""One error shape for every service's HTTP API: RFC 9457 problem details
(`application/problem+json`), decision 0125.

Every refusal is an object with a stable `type` per kind of error (`tag:kuaijing,2026:<kind>`,
never reworded: a client branches on it), the HTTP status's `title`, the `status`, a `detail` a
person reads, and where it helps:
- `errors`: each invalid field (`loc`, `msg`, `type`), for a 422;
- `reason`: the short code a terminal or the console page already branches on
  (`not_your_work_order`, `signed_out`...), kept as an extension member;
- `retry_after_s`: with 429 and 503, beside the `Retry-After` header.
"""

from http import HTTPStatus
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
# the detail of a bug's 500: the traceback goes to the log, never to the caller
INTERNAL_ERROR = "an error on our side; it is logged"
TYPE_PREFIX = "tag:kuaijing,2026:"

# the kind of a refusal that names none of its own, by status
KIND_OF_STATUS: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    408: "request-timeout",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
    500: "internal-error",
    502: "bad-gateway",
    503: "unavailable",
}


class InvalidField(BaseModel):
    """One invalid field: where it is (`["body", "location", "lat"]`), why, and a code."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details: why a request was not taken."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "tag:kuaijing,2026:invalid-request",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "1 invalid field",
                    "errors": [
                        {
                            "loc": ["body", "location", "lat"],
                            "msg": "Input should be less than or equal to 90",
                            "type": "less_than_equal",
                        }
                    ],
                }
            ]
        },
    )

    type: str = Field(description="stable per kind of error: `tag:kuaijing,2026:<kind>`")
    title: str = Field(description="the HTTP status's phrase")
    status: int
    detail: str = Field(description="what went wrong, for a person")
    errors: list[InvalidField] | None = Field(default=None, description="each invalid field (422)")
    reason: str | None = Field(
        default=None, description="a short code terminals and the console page branch on"
    )
    retry_after_s: int | None = Field(default=None, description="with 429 and 503")


def problem_type(kind: str) -> str:
    return TYPE_PREFIX + kind


def kind_of(reason: str) -> str:
    """A refusal's reason code (`not_your_work_order`) as a problem kind (`not-your-work-order`)."""
    return reason.replace("_", "-").lower()


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    retry_after_s: int | None = None,
) -> dict[str, Any]:
    """The problem object: `kind` names the error (default: by status)."""
    body: dict[str, Any] = {
        "type": problem_type(kind or KIND_OF_STATUS.get(status, "error")),
        "title": _title(status),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    if reason is not None:
        body["reason"] = reason
    if retry_after_s is not None:
        body["retry_after_s"] = retry_after_s
    return body


def problem_bytes(status: int, detail: str, **fields: Any) -> bytes:
    return orjson.dumps(problem_body(status, detail, **fields))


class ProblemResponse(Response):
    media_type = PROBLEM_JSON


def problem(
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Response:
    """An `application/problem+json` answer; with 429/503 `retry_after_s` is also the
    `Retry-After` header."""
    headers = dict(headers or {})
    retry = fields.get("retry_after_s")
    if retry is not None:
        headers.setdefault("Retry-After", str(retry))
    return ProblemResponse(problem_bytes(status, detail, **fields), status, headers or None)


def raw_problem_messages(
    status: int,
    detail: str,
    *,
    close: bool = False,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """The two ASGI messages of a problem answer, for middleware below FastAPI."""
    body = problem_bytes(status, detail, **fields)
    head = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    retry = fields.get("retry_after_s")
    if retry is not None:
        head.append((b"retry-after", str(retry).encode()))
    head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if close:
        head.append((b"connection", b"close"))
    return [
        {"type": "http.response.start", "status": status, "headers": head},
        {"type": "http.response.body", "body": body},
    ]
