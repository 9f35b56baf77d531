"""The base of every contract: strict, frozen, versioned, timezone-aware."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

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
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]
Timestamp = AwareDatetime
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
    from datetime import UTC

    return datetime.now(UTC)
