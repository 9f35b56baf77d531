"""Alarm intake's HTTP API, for the one thing the console asks of it: undo a merge."""

from typing import Any
from uuid import UUID

import httpx


class AlarmIntake:
    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str | None) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def unmerge(self, alarm_id: UUID, actor: str) -> tuple[int, dict[str, Any]]:
        try:
            response = await self.client.post(
                f"{self.base_url}/v1/alarms/{alarm_id}/unmerge",
                json={"actor": actor},
                headers=self.headers,
                timeout=5.0,
            )
        except httpx.HTTPError as error:
            return 503, {"detail": f"alarm intake unreachable: {type(error).__name__}"}
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        return response.status_code, body if isinstance(body, dict) else {"detail": str(body)}
