"""Which device speaks for which unit: the registry's rows as the gateway holds them."""

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from kj_devices.domain.coords import Datum


class Protocol(StrEnum):
    jt808 = "jt808"  # a vehicle terminal over TCP; its secret is the 808 authentication code
    http = "http"  # a phone (OsmAnd/Traccar client, the officer app); its secret is a token


@dataclass(frozen=True, slots=True)
class Binding:
    device_id: str  # an 808 terminal number (without leading zeros) or an HTTP device id
    protocol: Protocol
    unit_id: str
    # jt808: the authentication code itself, which 0x8100 must repeat to a terminal that
    # registers again; http: sha256 of the token, hex (the token is shown once, at `add`)
    secret: str
    datum: Datum = Datum.wgs84
    text_dispatch: bool = False  # an 808-only vehicle: its work orders go to it as 0x8300 text

    def accepts(self, presented: str | None) -> bool:
        """Constant time, whether or not the secret matches."""
        if self.protocol is Protocol.jt808:
            return hmac.compare_digest((presented or "").encode(), self.secret.encode())
        return hmac.compare_digest(digest(presented or ""), self.secret) and bool(presented)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def terminal_number(raw: str) -> str:
    """The registry's key for an 808 terminal: the digits of its number, leading zeros dropped
    (a 2013 header pads it to 12 digits, a 2019 one to 20)."""
    return raw.strip().lower().lstrip("0") or "0"
