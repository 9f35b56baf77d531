"""The base of every contract: strict, frozen, versioned, timezone-aware, and storable.

Whatever a contract accepts, PostgreSQL keeps and every read gives back (issue 14: a report of
year 1 was stored, then every read of it answered 500; a NUL character was a 500 instead of a
422). So every text refuses what PostgreSQL refuses, every time is one the record can hold and
Python can read back in UTC, and every integer fits the column it goes to (decision 0076)."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

# PostgreSQL's integer columns: a larger number is refused by the driver (a 500, or a whole
# batch of receipts lost, as one ack with a huge delivery_id once did)
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

# NUL (text and jsonb refuse it) and lone UTF-16 surrogates (not UTF-8: the driver cannot send
# them); JSON parsers accept both as escapes ("\u0000", "\ud800")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    found = _UNSTORABLE.search(text)
    if found is not None:
        raise ValueError(
            f"character U+{ord(found.group()):04X} at position {found.start()} cannot be stored"
        )
    return text


# Every free text of a contract: what PostgreSQL can store.
Text = Annotated[str, AfterValidator(_storable)]

# The times the record holds: from the epoch to 2200, so that any offset still converts to a
# UTC time Python can read back (year 1 at +08:00 is year 0 in UTC, which it cannot).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_record_range(at: datetime) -> datetime:
    if not EARLIEST <= at < LATEST:
        raise ValueError("a time between 1970 and 2200 is required")
    return at


# What an outside party may tell us is "now-ish": a report, an answer, a query's bounds. A
# clock a day fast or a report a year old is a mistake to refuse, not a fact to record.
RECENT_PAST = timedelta(days=365)
RECENT_FUTURE = timedelta(days=1)


def _recent(at: datetime) -> datetime:
    now = datetime.now(UTC)
    if at > now + RECENT_FUTURE:
        raise ValueError("a time more than a day in the future is refused")
    if at < now - RECENT_PAST:
        raise ValueError("a time more than a year in the past is refused")
    return at


# Numbers are strict (a string "27.2" is not a latitude); NaN and infinity are refused.
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False)]
# Ids that travel as Kafka keys and in URLs: letters, digits and a few separators.
UnitId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
PlatformId = UnitId
RegionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
SourceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
SourceAlarmId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")]
# Mainland mobile and landline numbers, optionally with +86; spaces and dashes are not kept.
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")]
ShortText = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[Text, StringConstraints(min_length=1, max_length=2000)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_record_range)]
# a time given by an outside party: within a year before and a day after now (wall clock)
RecentTimestamp = Annotated[Timestamp, AfterValidator(_recent)]
Seconds = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[int, Field(strict=True, gt=0, le=86_400)]


class Contract(BaseModel):
    """A value on the wire: unknown fields are an error, and nothing mutates it after parsing."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class GeoPoint(Contract):
    lat: Latitude
    lon: Longitude


class Message(Contract):
    """A message between services. `message_id` lets every consumer be idempotent:
    processing the same id twice has the effect of once."""

    schema_version: Literal[1] = 1
    message_id: UUID = Field(default_factory=uuid4)


def utcnow() -> datetime:
    return datetime.now(UTC)
