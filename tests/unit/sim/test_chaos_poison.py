"""The chaos run's poison records are what their names say: a consumer cannot take them as the
topic's message. The NUL one was valid by the contracts with free text (refused by PostgreSQL
only, the hardest case); the contracts' text types refuse it now (decision 0076), so every
consumer dead-letters it at decoding."""

import orjson
import pytest
from pydantic import ValidationError

from kj_schemas.codec import decode
from kj_sim.chaos.poison import CONSUMED, KINDS, ONE_MB, poison_value, valid_message

BROKER_MAX_MESSAGE_BYTES = 1_048_588  # Kafka's default message.max.bytes


@pytest.mark.parametrize("spec", CONSUMED, ids=lambda s: s.name)
def test_no_poison_record_passes_the_contract_not_even_nul_in_free_text(spec) -> None:
    for kind in KINDS:
        _, value = poison_value(kind, spec)
        if kind == "nul":
            assert value is not None and b"\\u0000" in value  # the NUL is there, in JSON
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
