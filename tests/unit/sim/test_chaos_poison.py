"""The chaos run's poison records are what their names say: a consumer cannot take them as the
topic's message, except the NUL one where the contract has free text (valid by the contract,
refused by PostgreSQL), which is the hardest case."""

import orjson
import pytest
from pydantic import ValidationError

from kj_schemas.codec import decode
from kj_sim.chaos.poison import CONSUMED, KINDS, ONE_MB, TEXT_FIELDS, poison_value, valid_message

BROKER_MAX_MESSAGE_BYTES = 1_048_588  # Kafka's default message.max.bytes


@pytest.mark.parametrize("spec", CONSUMED, ids=lambda s: s.name)
def test_only_the_nul_record_with_free_text_passes_the_contract(spec) -> None:
    for kind in KINDS:
        _, value = poison_value(kind, spec)
        free_text = any(name in spec.value.model_fields for name in TEXT_FIELDS)
        if kind == "nul" and free_text:
            fields = decode(spec.value, value).model_dump().values()  # type: ignore[arg-type]
            assert any("\x00" in str(field) for field in fields)
            continue
        with pytest.raises((ValidationError, ValueError)):
            decode(spec.value, value)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", CONSUMED, ids=lambda s: s.name)
def test_the_one_megabyte_record_is_a_megabyte_and_still_fits_the_broker(spec) -> None:
    _, value = poison_value("one_mb", spec)
    assert value is not None and ONE_MB <= len(value) < BROKER_MAX_MESSAGE_BYTES - 1024


@pytest.mark.parametrize("spec", CONSUMED, ids=lambda s: s.name)
def test_the_valid_record_that_follows_a_poison_one_is_a_new_valid_message(spec) -> None:
    first, second = valid_message(spec), valid_message(spec)
    decode(spec.value, orjson.dumps(first))
    assert first != second  # fresh ids: never a repeat a consumer would drop
