"""A record that could not be processed, kept with the cause, on `deadletters`."""

from typing import Annotated, Literal

from pydantic import Field

from kj_schemas.base import INT4_MAX, INT8_MAX, Code, Message, Timestamp


class DeadLetter(Message):
    """An excerpt of the original record (as UTF-8 text when it decodes, else base64) and why
    it was refused. `reason` is a short code for counting (`invalid_json`, `schema`,
    `unknown_unit`...); `detail` is the full explanation for a person. The excerpt is bounded
    (the first 4 KiB of the value): `value_bytes` is the record's whole size and `truncated`
    says the excerpt is not all of it; the record itself stays on its topic until retention,
    at `source_topic`/`partition`/`offset`, for a replay."""

    source_topic: Annotated[str, Field(min_length=1, max_length=249)]
    partition: Annotated[int, Field(strict=True, ge=0, le=INT4_MAX)]
    offset: Annotated[int, Field(strict=True, ge=0, le=INT8_MAX)]
    key: Annotated[str, Field(max_length=1024)] | None = None
    value: str
    value_encoding: Literal["utf-8", "base64"] = "utf-8"
    value_bytes: Annotated[int, Field(strict=True, ge=0, le=INT8_MAX)] | None = None
    truncated: bool = False
    reason: Code
    detail: Annotated[str, Field(min_length=1, max_length=4000)]
    service: Code
    failed_at: Timestamp
