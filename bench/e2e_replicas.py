"""Issue 20, item 2: what the run with two processes of every service that scales proves, read
back from the run's PostgreSQL before the stack removes it, and how the work was split.

Each replica is safe by design, and this is the run that shows it under load: alarm intake's
merges and repeats are decided under PostgreSQL locks and constraints, and one outbox relay
per stream publishes at a time (an advisory lock; decision 0011); tracking's state processes
own the units of their `patrol.pings` partitions (decision 0020); dispatch decides a region in
the replica its partition is assigned to, fenced by the region's lease (decision 0032: one
region, so one replica decides and the other stands by); notify's gateways share one consumer
group that stores each work order, and the gateway holding the unit's socket hears of it by
PostgreSQL NOTIFY (decision 0040).

- lost: a call intake answered 201 as a new incident with no `alarms` row, no `dispatch_alarms`
  row or, after up to `settle_s` for the last calls' plans, no primary work order;
- assigned twice: a unit holding two work orders whose lives overlap, a second primary for an
  alarm while one stood, an order issued after its alarm was closed, an order delivered to a
  terminal but absent from the record (the chaos verifier's rules, `kj_sim.chaos.rules`), an
  assignment on an alarm's timeline twice, an arrival detected from GPS twice for one order.
  `processed_messages` cannot show a message applied twice (its primary key is the consumer
  and the message id): these are the effects a second application would leave;
- published twice (not a fault: consumers deduplicate by message id, but two relays of one
  stream publishing together would show here): a message id twice on `alarms.accepted` or
  `dispatch.workorders`;
- the split: per process, from its own `/metrics`."""

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from bench.e2e_stack import E2EStack, Posted
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import ALARMS_ACCEPTED, DISPATCH_WORKORDERS, PATROL_PINGS
from kj_sim.chaos.readback import Record, read_record, read_topic
from kj_sim.chaos.rules import double_assignments, duplicate_orders

# per service: (figure, metric sample, labels it must have) summed over each process's samples;
# a topic label matches the topic under the run's prefix
SPLIT: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "alarm": (
        ("alarms_accepted", "kj_alarm_received_total", {"outcome": "accepted"}),
        ("outbox_published", "kj_outbox_published_total", {"stream": "alarm"}),
    ),
    "patrol-tracking": (
        ("pings_handled", "kj_tracking_pings_total", {}),
        ("states_published", "kj_tracking_states_published_total", {}),
    ),
    "patrol-tracking-tracks": (
        ("pings_handled", "kj_consumed_records_total", {"topic": PATROL_PINGS.name}),
    ),
    "dispatch": (
        ("region_held", "kj_dispatch_regions_held", {}),
        ("work_orders_issued", "kj_dispatch_assignments_total", {}),
    ),
    "notify": (
        ("terminals", "kj_notify_terminals_connected", {}),
        ("work_orders_stored", "kj_consumed_records_total", {"topic": DISPATCH_WORKORDERS.name}),
    ),
}


class ReplicasViolated(Exception):
    """The two-replica run lost a call, assigned something twice, or a process died."""


@dataclass
class ReplicaCheck:
    calls_accepted: int
    unanswered: int  # POSTs with no answer or a 5xx (the integration would send them again)
    lost: list[dict[str, str]] = field(default_factory=list)
    assigned_twice: list[dict[str, str]] = field(default_factory=list)
    published_twice: int = 0
    died: list[str] = field(default_factory=list)

    def figures(self, prefix: str) -> dict[str, float]:
        return {
            f"{prefix}_lost": len(self.lost),
            f"{prefix}_assigned_twice": len(self.assigned_twice),
            f"{prefix}_calls_accepted": self.calls_accepted,
            f"{prefix}_unanswered": self.unanswered,
            f"{prefix}_published_twice": self.published_twice,
            f"{prefix}_processes_died": len(self.died),
        }

    def violations(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} lost, first: {self.lost[:5]}")
        if self.assigned_twice:
            found.append(f"{len(self.assigned_twice)} assigned twice: {self.assigned_twice[:5]}")
        if self.died:
            found.append(f"processes died: {', '.join(self.died)}")
        return found


async def check_record(stack: E2EStack, *, settle_s: float = 60.0) -> ReplicaCheck:
    """Every call of the run (the warm-up's too) against what PostgreSQL holds, once every call
    accepted has a work order or `settle_s` has passed."""
    assert stack.calls is not None and stack.pg is not None
    posted: list[Posted] = stack.calls.posted
    accepted = sorted({p.alarm_id for p in posted if p.outcome == "accepted" and p.alarm_id})
    planned = """select count(distinct alarm_id) from work_orders
                 where alarm_id = any($1::uuid[]) and role = 'primary'"""
    give_up = time.monotonic() + settle_s
    while await stack.pg.fetchval(planned, accepted) < len(accepted):
        if time.monotonic() > give_up:
            break  # what has none by now is counted lost
        await asyncio.sleep(1.0)
    record = await read_record(stack.postgres)
    return ReplicaCheck(
        calls_accepted=len(accepted),
        unanswered=sum(1 for p in posted if p.status == 0 or p.status >= 500),
        lost=await lost(stack.pg, record, accepted),
        assigned_twice=await assigned_twice(stack.pg, record),
        published_twice=await published_twice(stack.kafka),
        died=[name for name in stack.services.processes if not stack.services.alive(name)],
    )


async def lost(
    pg: asyncpg.Connection, record: Record, accepted: Sequence[str]
) -> list[dict[str, str]]:
    """The calls answered 201 as new incidents that the record does not carry to a unit."""
    served = {o.alarm_id for o in record.orders if o.role == "primary"}
    states = {
        r["alarm_id"]: r["state"]
        for r in await pg.fetch("select alarm_id::text, state from dispatch_alarms")
    }
    found = []
    for alarm_id in accepted:
        if alarm_id not in record.alarms:
            found.append({"alarm_id": alarm_id, "why": "no_alarm_row"})
        elif alarm_id not in record.dispatched:
            found.append({"alarm_id": alarm_id, "why": "never_reached_dispatch"})
        elif alarm_id not in served:
            found.append({"alarm_id": alarm_id, "why": f"no_work_order ({states[alarm_id]})"})
    return found


TWICE_QUERIES = (
    (
        "assigned_twice_on_timeline",
        """select work_order_id::text from alarm_timeline where kind = 'assigned'
           group by work_order_id having count(*) > 1""",
    ),
    (
        "gps_arrival_twice",
        """select work_order_id::text from work_order_events
           where kind = 'on_scene' and source = 'gps'
           group by work_order_id having count(*) > 1""",
    ),
)


async def assigned_twice(pg: asyncpg.Connection, record: Record) -> list[dict[str, str]]:
    """Work done twice, or held twice at once, as the record shows it."""
    found = [
        {"unit_id": unit, "why": "unit_held_two", "work_orders": f"{a} {b}"}
        for unit, pairs in double_assignments(record.orders).items()
        for a, b in pairs
    ]
    found += [
        {"work_order_id": order, "why": why}
        for order, why in duplicate_orders(record.orders, record.delivered_orders)
    ]
    for why, query in TWICE_QUERIES:
        found += [{"work_order_id": row[0], "why": why} for row in await pg.fetch(query)]
    return found


async def published_twice(kafka: KafkaSettings) -> int:
    """Message ids that reached a topic more than once, on the topics of the replicated
    writers (alarm intake's and dispatch's outbox relays)."""
    twice = 0
    for topic in (ALARMS_ACCEPTED.name, DISPATCH_WORKORDERS.name):
        seen: Counter[str] = Counter()
        for record in await read_topic(kafka, topic):
            message = orjson.loads(record.value)
            seen[str(message.get("message_id"))] += 1
        twice += sum(1 for n in seen.values() if n > 1)
    return twice


def _total(text: str, sample: str, labels: dict[str, str]) -> float:
    def matches(have: dict[str, str]) -> bool:
        return all(
            have.get(k) == v or (k == "topic" and have.get(k, "").endswith(f".{v}"))
            for k, v in labels.items()
        )

    return float(
        sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == sample and matches(s.labels)
        )
    )


async def work_split(stack: E2EStack, prefix: str) -> dict[str, float]:
    """`<prefix>_<figure>.<process>` for every process of every replicated service."""
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for service, processes in stack.processes.items():
            for process in processes:
                text = (await client.get(f"{stack.url(process)}/metrics")).text
                for name, sample, labels in SPLIT.get(service, ()):
                    figures[f"{prefix}_{name}.{process}"] = _total(text, sample, labels)
    return figures


def split_line(figures: dict[str, Any], prefix: str) -> str:
    """The split as one line a person reads: `alarms_accepted alarm-1 40, alarm-2 41; ...`."""
    by_figure: dict[str, list[str]] = {}
    for key, value in figures.items():
        if key.startswith(f"{prefix}_") and "." in key.removeprefix(f"{prefix}_"):
            name, process = key.removeprefix(f"{prefix}_").split(".", 1)
            by_figure.setdefault(name, []).append(f"{process} {value:g}")
    return "; ".join(f"{name} {', '.join(values)}" for name, values in by_figure.items())
