"""Status callbacks are signed as Standard Webhooks (standardwebhooks.com, decision 0127), so a
receiver verifies them with that project's library in its own language:

    webhook-id:        the status change's message id, the same on every retry (deduplicate on it)
    webhook-timestamp: seconds since the epoch when this attempt was signed
    webhook-signature: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per secret
                       in force, space-separated (a rotated secret signs beside the new one)

A secret of the form `whsec_<base64>` (what `kj-admin integrations` makes) is the standard's; any
other registered secret signs with its UTF-8 bytes (the library's raw form,
`Webhook(secret.encode())`). The library refuses a timestamp more than 5 minutes from its
clock, which is the replay window; each retry is signed afresh."""

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
REPLAY_WINDOW_S = 300  # the library's tolerance either side of the receiver's clock
STANDARD_PREFIX = "whsec_"


def webhook(secret: str) -> Webhook:
    return Webhook(secret) if secret.startswith(STANDARD_PREFIX) else Webhook(secret.encode())


def signed_headers(
    secrets: Sequence[str], message_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The headers of one attempt: `body` signed at `at` with every secret in force."""
    at = at.astimezone(UTC)
    text = body.decode("utf-8")
    signatures = " ".join(webhook(secret).sign(message_id, at, text) for secret in secrets)
    return {
        "Content-Type": "application/json",
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(at.timestamp())),
        SIGNATURE_HEADER: signatures,
    }
