"""The console's reconcile against PostgreSQL, without a database: an incident that comes in
from alarms.accepted while the reconcile's queries run is newer than their answer and stays on
the screen (it was closed, and never shown again, when it arrived during a reconcile: the
console test of an amended alarm failed so on a loaded machine)."""

from typing import Any
from uuid import UUID

import pytest

from kj_console.adapters import history
from kj_console.domain.live import LiveView
from kj_console.service_layer.feed import Feed
from kj_console.service_layer.hub import Hub

from .test_live_view import accepted


async def test_an_incident_accepted_while_reconciling_stays_on_the_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = LiveView()
    feed = Feed(view, Hub(view, queue_size=10), pool=None, region="hunan-shaoyang")  # type: ignore[arg-type]
    gone, arriving = accepted(), accepted()

    async def open_alarm_ids(pool: Any, region: str) -> set[UUID]:
        await feed.on_accepted([arriving])  # committed and published after this answer
        return set()  # `gone` was closed meanwhile

    async def caller_phones(pool: Any, alarm_ids: Any, mask: Any) -> dict[UUID, str]:
        return {}

    async def unit_duty(pool: Any) -> dict[str, str]:
        return {}

    monkeypatch.setattr(history, "open_alarm_ids", open_alarm_ids)
    monkeypatch.setattr(history, "caller_phones", caller_phones)
    monkeypatch.setattr(history, "unit_duty", unit_duty)
    await feed.on_accepted([gone])
    assert set(view.incidents) == {gone.alarm_id}
    await feed.reconcile()
    assert set(view.incidents) == {arriving.alarm_id}
