"""Status callbacks are signed: HMAC-SHA256 over `timestamp.body`, so a receiver can check both
who sent it and that it is fresh (the timestamp travels in `X-KJ-Timestamp`)."""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-KJ-Timestamp"
SIGNATURE_HEADER = "X-KJ-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def signed_headers(secret: str, timestamp: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
