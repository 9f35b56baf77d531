from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from kj_notify.domain.signing import (
    ID_HEADER,
    REPLAY_WINDOW_S,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signed_headers,
)
from kj_runtime.integration_store import new_signing_secret

BODY = b'{"a":1}'


def test_a_signature_covers_the_id_the_timestamp_and_the_body_and_the_library_checks_it() -> None:
    secret = new_signing_secret()
    now = datetime.now(UTC)
    headers = signed_headers([secret], "msg-1", BODY, now)
    assert headers[ID_HEADER] == "msg-1"
    assert headers[TIMESTAMP_HEADER] == str(int(now.timestamp()))
    assert headers[SIGNATURE_HEADER].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == {"a": 1}
    for forged in (
        {**headers, ID_HEADER: "msg-2"},
        {**headers, TIMESTAMP_HEADER: str(int(now.timestamp()) + 1)},
    ):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(BODY, forged)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers)


def test_a_rotated_secret_signs_beside_the_new_one_and_either_verifies() -> None:
    old, new = new_signing_secret(), new_signing_secret()
    headers = signed_headers([new, old], "msg-1", BODY, datetime.now(UTC))
    assert len(headers[SIGNATURE_HEADER].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)


def test_an_older_plain_secret_signs_with_its_bytes_the_library_s_raw_form() -> None:
    headers = signed_headers(["shared-secret-of-at-least-16"], "m", BODY, datetime.now(UTC))
    Webhook(b"shared-secret-of-at-least-16").verify(BODY, headers)


def test_an_attempt_older_than_the_replay_window_is_refused_by_the_receiver() -> None:
    secret = new_signing_secret()
    late = datetime.now(UTC) - timedelta(seconds=REPLAY_WINDOW_S + 5)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, signed_headers([secret], "m", BODY, late))
