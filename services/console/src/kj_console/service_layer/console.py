"""The console as its entrypoints see it: the live view and the browsers' hub, the feed from the
topics, people's accounts and actions, and the city to draw."""

from dataclasses import dataclass
from typing import Any

import asyncpg

from kj_console.domain.live import LiveView
from kj_console.service_layer.actions import Actions
from kj_console.service_layer.auth import Accounts
from kj_console.service_layer.feed import Feed
from kj_console.service_layer.hub import Hub
from kj_console.settings import ConsoleSettings


@dataclass
class Console:
    settings: ConsoleSettings
    pool: asyncpg.Pool
    view: LiveView
    hub: Hub
    feed: Feed
    accounts: Accounts
    actions: Actions
    city: dict[str, Any]
    city_json: bytes  # encoded once: every browser loads it
