"""Channel adapters: how a message reaches a taxi driver or volunteer. Only the HTTP push
adapter is implemented (it posts the Notification to a configured push gateway); an SMS
gateway would be another class with the same `send`."""

from typing import Protocol

import httpx

from kj_schemas.codec import encode
from kj_schemas.notify import Notification


class DeliveryFailed(Exception):
    """The channel did not take the message; the text is the cause for the receipt."""


class ChannelAdapter(Protocol):
    async def send(self, notification: Notification) -> None: ...


class HttpPushAdapter:
    def __init__(self, client: httpx.AsyncClient, url: str | None, timeout_s: float) -> None:
        self.client = client
        self.url = url
        self.timeout_s = timeout_s

    async def send(self, notification: Notification) -> None:
        if self.url is None:
            raise DeliveryFailed("no push gateway configured (KJ_NOTIFY_PUSH_URL)")
        try:
            response = await self.client.post(
                self.url,
                content=encode(notification),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout_s,
            )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"push gateway unreachable: {type(error).__name__}") from error
        if not response.is_success:
            raise DeliveryFailed(f"push gateway answered HTTP {response.status_code}")
