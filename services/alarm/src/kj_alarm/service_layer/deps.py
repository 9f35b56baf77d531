"""What the handlers need, built once by bootstrap (tests build it the same way)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from kj_alarm.domain.duplicates import MergeRule
from kj_alarm.domain.tiers import TierClassifier
from kj_runtime.outbox import Outbox
from kj_schemas.base import utcnow


@dataclass(frozen=True)
class GroupCommit:
    """How intake coalesces concurrent alarms into one transaction (decision 0011)."""

    writers: int = 2  # transactions in flight at once, each on its own connection
    max_batch: int = 200  # alarms per transaction at most
    linger_s: float = 0.0  # extra wait for company after the first alarm of a batch


@dataclass
class Deps:
    pool: asyncpg.Pool
    classifier: TierClassifier
    region: str
    outbox: Outbox
    merge_rule: MergeRule = field(default_factory=MergeRule)
    clock: Callable[[], datetime] = utcnow
    group_commit: GroupCommit = field(default_factory=GroupCommit)
    # a corrected location farther than this from the recorded one: dispatch plans again
    replan_beyond_m: float = 300.0
