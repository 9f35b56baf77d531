"""structlog set up once: JSON lines in containers, console in a terminal, phone numbers masked."""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Mainland mobile numbers (1[3-9]x, 11 digits) and landlines with area code, +86 optional.
_PHONE = re.compile(
    r"(?<!\d)(\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)"  # mobile: keep the first 3 and last 4
    r"|(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)"  # landline: keep only the area code
)


def mask_phone_numbers_in(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        if match.group(2):
            return f"{match.group(1) or ''}{match.group(2)}****{match.group(4)}"
        return f"{match.group(5)}****"

    return _PHONE.sub(_mask, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone_numbers_in(value)
    if isinstance(value, dict):
        return {key: _mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(item) for item in value]
    return value


def mask_phone_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: callers' phone numbers never reach a log line whole."""
    return {key: _mask_value(value) for key, value in event_dict.items()}


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
