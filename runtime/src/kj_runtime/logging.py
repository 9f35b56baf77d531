"""structlog set up once: JSON lines in containers, console in a terminal, phone numbers masked."""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Mainland mobile numbers (1[3-9]x, 11 digits) and landlines with area code, +86 optional, that
# stand alone: a number inside an id, a UUID, a path or a longer number is not a phone number
# (issue 14: the masker rewrote the digits inside alarm ids and UUIDs, so a log line no longer
# named the alarm it was about). Only ASCII letters, digits and id punctuation are "inside":
# in Chinese text (电话13807391234) the number is still found.
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_./+-])"
    r"(?:(\+?86)?(1[3-9]\d)(\d{4})(\d{4})"  # mobile: keep the first 3 and last 4
    r"|(0\d{2,3})-?(\d{7,8}))"  # landline: keep only the area code
    r"(?![A-Za-z0-9_/-])"
)
# a value under one of these keys is a phone number whatever it looks like
_PHONE_KEY = re.compile(r"phone|mobile|tel(?:ephone)?$", re.IGNORECASE)


def mask_phone_numbers_in(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        if match.group(2):
            return f"{match.group(1) or ''}{match.group(2)}****{match.group(4)}"
        return f"{match.group(5)}****"

    return _PHONE.sub(_mask, text)


def mask_phone_number(value: str) -> str:
    """A value known to be a phone number: masked even when it has no mainland shape (keep at
    most the first 3 and last 4 digits of a long one, nothing of a short one)."""
    masked = mask_phone_numbers_in(value)
    if masked != value:
        return masked
    digits = sum(ch.isdigit() for ch in value)
    if digits >= 10:
        return value[:3] + "****" + value[-4:]
    return "****"


def _mask_value(value: Any, *, phone: bool = False) -> Any:
    if isinstance(value, str):
        return mask_phone_number(value) if phone else mask_phone_numbers_in(value)
    if isinstance(value, dict):
        return {
            key: _mask_value(item, phone=isinstance(key, str) and bool(_PHONE_KEY.search(key)))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_value(item, phone=phone) for item in value]
    return value


def mask_phone_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: callers' phone numbers never reach a log line whole, and nothing
    else is touched."""
    masked: MutableMapping[str, Any] = _mask_value(dict(event_dict))
    return masked


def configure_logging(service: str, *, level: str = "info", json: bool | None = None) -> None:
    if json is None:
        json = not sys.stdout.isatty()
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper(), force=True)
    # libraries log through the stdlib; keep their chatter to warnings
    for noisy in ("aiokafka", "kafka", "faust", "mode", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_phone_numbers,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
