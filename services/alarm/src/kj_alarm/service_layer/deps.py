"""What the handlers need, built once by bootstrap (tests build it the same way)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from kj_alarm.domain.duplicates import MergeRule
from kj_alarm.domain.tiers import TierClassifier
from kj_runtime.outbox import Outbox
from kj_schemas.base import utcnow


@dataclass
class Deps:
    pool: asyncpg.Pool
    classifier: TierClassifier
    region: str
    outbox: Outbox
    merge_rule: MergeRule = field(default_factory=MergeRule)
    clock: Callable[[], datetime] = utcnow
