"""schemathesis hooks for the HTTP fuzz tests (`tests/integration/fuzz.py` sets
`SCHEMATHESIS_HOOKS=tests.integration.fuzz_boundaries`).

- Every third request gets one of the boundary values of issue 14 in one of its fields (the
  body's, else the query's, else the path's): times of year 1 and 9999, a day ahead, a year
  back; NUL and very long text; integers at and past the 32- and 64-bit columns; floats at and
  past their ranges. The answer must be a 4xx, never a 5xx.
- The others carry times inside the window, and every other request names something that
  exists (`KJ_FUZZ_KNOWN`: path parameter or field -> values, e.g. the integration's own
  `source`), so the fuzzing reaches past "no such alarm" and "not yours" into the handlers that
  read and write.
- Four requests in five carry the credentials of `KJ_FUZZ_HEADERS` (path template or "*" ->
  headers); the fifth keeps what schemathesis made up (no or bad credentials).
- What was sent and answered is tallied into `KJ_FUZZ_TALLY` (a JSON file written at exit):
  requests, boundary requests, and answers by status, so a test can tell that the boundary
  values were sent and how they were answered."""

import atexit
import collections
import itertools
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

_now = datetime.now(UTC)
TIMES = [
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59-08:00",
    "1969-12-31T23:59:59Z",
    (_now + timedelta(days=1, hours=1)).isoformat(),
    (_now - timedelta(days=366)).isoformat(),
    (_now + timedelta(hours=23)).isoformat(),  # inside the window: taken
    (_now - timedelta(days=364)).isoformat(),
]
# (a lone surrogate breaks schemathesis itself: tests/integration/alarm/test_extremes_read_back.py
# and tests/integration/notify/test_http_bad_input.py send one)
TEXTS = ["\x00", "有人\x00要跳河", "\x00\x00", "x" * 5000, "𝄞" * 2000, " "]
INTEGERS = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
FLOATS = [1e308, -1e308, 90.0, -90.0, 180.0, -180.0, 5e-324, 90.000001]

TIME_FIELDS = ("reported_at", "occurred_at", "since", "start", "end", "timestamp")
_requests = itertools.count()
KNOWN: dict[str, list[str]] = json.loads(os.environ.get("KJ_FUZZ_KNOWN", "{}"))
HEADERS: dict[str, dict[str, str]] = json.loads(os.environ.get("KJ_FUZZ_HEADERS", "{}"))

_tally: collections.Counter[str] = collections.Counter()
_sent_boundary: dict[int, bool] = {}  # thread -> whether its request in flight has one


def _boundary(n: int, key: str, value: Any) -> Any:
    if key.endswith("_at") or key in ("since", "start", "end", "ts", "timestamp"):
        return TIMES[n % len(TIMES)]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return INTEGERS[n % len(INTEGERS)]
    if isinstance(value, float):
        return FLOATS[n % len(FLOATS)]
    if isinstance(value, str):
        return TEXTS[n % len(TEXTS)]
    if isinstance(value, dict) and value:
        inner = sorted(value)[n % len(value)]
        return {**value, inner: _boundary(n // len(value), inner, value[inner])}
    return value


def _recent(n: int) -> str:
    """A time inside the window, different for each request (a minute to 300 days ago)."""
    return (datetime.now(UTC) - timedelta(minutes=1 + (n * 7919) % 432_000)).isoformat()


def _sane(n: int, values: Any) -> Any:
    """`values` with in-window times and the known names of things."""
    if not isinstance(values, dict):
        return values
    fixed = {k: _recent(n) for k in TIME_FIELDS if isinstance(values.get(k), str)}
    if "end" in fixed and "start" in fixed:
        fixed["start"] = (datetime.fromisoformat(fixed["end"]) - timedelta(hours=1)).isoformat()
    if n % 2 == 0:
        fixed |= {k: KNOWN[k][(n // 2) % len(KNOWN[k])] for k in values if KNOWN.get(k)}
    return {**values, **fixed}


def _with_boundary(n: int, values: Any) -> Any:
    if not isinstance(values, dict) or not values:
        return values
    key = sorted(values)[n % len(values)]
    return {**values, key: _boundary(n // len(values), key, values[key])}


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    n = next(_requests)
    credentials = HEADERS.get(case.operation.path, HEADERS.get("*"))
    if credentials and n % 5 != 4:
        case.headers = {**(case.headers or {}), **credentials}
    if n % 2 == 0 and case.path_parameters:
        for name in case.path_parameters:
            if KNOWN.get(name):
                case.path_parameters[name] = KNOWN[name][(n // 2) % len(KNOWN[name])]
    boundary = n % 3 == 0
    if boundary:
        if isinstance(case.body, dict) and case.body:
            case.body = _with_boundary(n // 3, case.body)
        elif case.query:
            case.query = _with_boundary(n // 3, case.query)
        elif case.path_parameters:
            case.path_parameters = _with_boundary(n // 3, case.path_parameters)
        else:
            boundary = False
    else:
        case.body = _sane(n, case.body)
        case.query = _sane(n, case.query)
    _sent_boundary[threading.get_ident()] = boundary


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    boundary = _sent_boundary.pop(threading.get_ident(), False)
    status = f"{response.status_code // 100}xx"
    _tally.update(["requests", status])
    if boundary:
        _tally.update(["boundary", f"boundary_{status}"])


def _write_tally() -> None:
    path = os.environ.get("KJ_FUZZ_TALLY")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(_tally), out)


atexit.register(_write_tally)
