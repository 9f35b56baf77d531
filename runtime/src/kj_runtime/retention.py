"""How long each table that grows with traffic keeps its rows, and the job that enforces it
(`kj-infra prune`, nightly as the `kj-prune` CronJob; decision 0055).

An alarm's record is evidence and is kept: alarms, their timeline, work orders and what units
answered, GPS arrivals, patrol check-ins and broadcasts. What only makes the machinery work is
pruned once no replay can need it: every consumer may re-read its topics from the beginning of
their retention (30 days at most, `kj_schemas.topics`), so deduplication and delivery rows are kept
longer than that. GPS tracks are dropped by day partition by the tracking service itself."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kj_schemas.topics import CATALOGUE

LONGEST_TOPIC_DAYS = max(s.retention_ms or 0 for s in CATALOGUE) / 86_400_000
BATCH = 5_000  # rows per DELETE: short transactions, no long lock on a busy table


class RetentionSettings(BaseSettings):
    """Days each kind of mechanics row is kept (env prefix `KJ_RETENTION_`)."""

    model_config = SettingsConfigDict(env_prefix="KJ_RETENTION_", extra="ignore")

    # consumers' record of handled message ids: must outlive any replay of a topic
    processed_messages_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # work orders' deliveries to terminals once delivered, failed or withdrawn
    terminal_deliveries_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # status callbacks to 110 centres once delivered or dead-lettered
    callback_deliveries_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # dispatch's copy of each accepted alarm once dispatched or given up (the record is `alarms`)
    dispatch_alarms_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # tracking's copy of each work order once closed
    tracking_work_orders_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # alarm intake's view of each work order once closed (by its alarm's receipt)
    alarm_work_orders_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # posts dispatch sent units to patrol at, once ended (the post occupancy report reads them)
    dispatch_repositions_days: int = Field(default=35, gt=LONGEST_TOPIC_DAYS)
    # the console's sessions once expired or signed out
    console_sessions_days: int = Field(default=35, gt=0)
    # the notices and dead letters the console showed (the alarm's record keeps its story)
    console_notices_days: int = Field(default=35, gt=0)


@dataclass(frozen=True)
class Rule:
    table: str
    setting: str  # the RetentionSettings field with its days
    # rows to delete: `$1` is the cutoff time; selects the ctid of at most BATCH rows
    select: str


RULES: tuple[Rule, ...] = (
    Rule(
        "processed_messages",
        "processed_messages_days",
        "select ctid from processed_messages where processed_at < $1 limit {batch}",
    ),
    Rule(
        "terminal_deliveries",
        "terminal_deliveries_days",
        "select ctid from terminal_deliveries where stored_at < $1 and (delivered_at is not null"
        " or failed_at is not null or withdrawn_at is not null) limit {batch}",
    ),
    Rule(
        "callback_deliveries",
        "callback_deliveries_days",
        "select ctid from callback_deliveries where status in ('delivered', 'dead')"
        " and created_at < $1 limit {batch}",
    ),
    Rule(
        "dispatch_alarms",
        "dispatch_alarms_days",
        "select ctid from dispatch_alarms where state = 'done' and updated_at < $1 limit {batch}",
    ),
    Rule(
        "tracking_work_orders",
        "tracking_work_orders_days",
        "select ctid from tracking_work_orders where status = 'closed' and updated_at < $1"
        " limit {batch}",
    ),
    Rule(
        "alarm_work_orders",
        "alarm_work_orders_days",
        "select w.ctid from alarm_work_orders w join alarms a using (alarm_id)"
        " where not w.open and a.received_at < $1 limit {batch}",
    ),
    Rule(
        "dispatch_repositions",
        "dispatch_repositions_days",
        "select ctid from dispatch_repositions where status <> 'open' and ended_at < $1"
        " limit {batch}",
    ),
    Rule(
        "console_sessions",
        "console_sessions_days",
        "select ctid from console_sessions where expires_at < $1 limit {batch}",
    ),
    Rule(
        "console_notices",
        "console_notices_days",
        "select ctid from console_notices where at < $1 limit {batch}",
    ),
)

# every other table, and why it is not pruned here
KEPT: dict[str, str] = {
    "alarms": "evidence: the alarm as reported and classified",
    "alarm_timeline": "evidence: everything that happened to an alarm, in order",
    "alarm_updates": "evidence: each update and cancel an integration sent, with its answer",
    "work_orders": "evidence: who was sent, when, and the response time",
    "work_order_events": "evidence: what the unit answered and when",
    "gps_arrivals": "evidence: the GPS fix that put the unit on scene",
    "checkins": "evidence: patrol check-ins at checkpoints (打卡)",
    "broadcast_deliveries": "evidence: which taxi drivers and volunteers were called",
    "tracks": "GPS tracks: day partitions dropped after KJ_TRACKING_TRACK_RETENTION_DAYS",
    "outbox": "rows are deleted as soon as the broker has them",
    "dispatch_leases": "one row per region: bounded",
    "integration_callbacks": "one row per 110 integration: bounded",
    "integrations": "the integration registry: one row per 110 integration, bounded",
    "integration_tokens": "evidence: which token an integration held when; a few per rotation",
    "field_recipients": "the registered taxi drivers and volunteers: reference data",
    "tier_targets": "the city: reference data",
    "platforms": "the city: reference data",
    "units": "the city: reference data",
    "zones": "the city: reference data",
    "checkpoints": "the city: reference data",
    "city_versions": "one row per city: bounded",
    "devices": "the device registry: one row per terminal or phone, revoked ones kept as record",
    "dispatch_commands": "evidence: what a dispatcher asked dispatch to do, and its answer",
    "dispatch_unit_duty": "one row per unit: bounded",
    "dispatch_pending_amendments": "deleted when the region's holder applies them; go with "
    "their alarm",
    "console_audit": "evidence: every action a person took on the console, with its answer",
    "console_users": "the console's users: bounded",
}


async def prune(
    connection: asyncpg.Connection, settings: RetentionSettings, *, now: datetime | None = None
) -> dict[str, int]:
    """Delete what each rule's retention has passed, in batches; returns rows deleted per table."""
    clock = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    for rule in RULES:
        cutoff = clock - timedelta(days=getattr(settings, rule.setting))
        total = 0
        while True:
            status = await connection.execute(
                f"delete from {rule.table} where ctid in ({rule.select.format(batch=BATCH)})",  # noqa: S608 - fixed SQL
                cutoff,
            )
            count = int(status.split()[-1])
            total += count
            if count < BATCH:
                break
        deleted[rule.table] = total
    return deleted


# every table of the platform (a partitioned one summed over its partitions): estimated rows and
# bytes with indexes and TOAST; also CloudNativePG's custom query for `cnpg_kj_tables_*`
SIZES_SQL = """select c.relname as table,
       coalesce(sum(greatest(p.reltuples, 0)), 0)::bigint as rows,
       coalesce(sum(pg_total_relation_size(p.oid)), 0)::bigint as bytes
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join lateral (
    select relid from pg_partition_tree(c.oid) where isleaf
    union all select c.oid  -- a plain table itself; a partitioned one adds nothing
) t
join pg_class p on p.oid = t.relid
where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
  and c.relname not like '%yoyo%'
group by c.relname"""


async def table_sizes(connection: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    rows = await connection.fetch(SIZES_SQL)
    return {row["table"]: (row["rows"], row["bytes"]) for row in rows}
