"""Migrations, the city in PostgreSQL, and the invariants the schema itself guards."""

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import yaml

from kj_runtime.city_store import store_city
from kj_runtime.db import connect
from kj_runtime.migrations import MIGRATIONS_DIR, apply_migrations
from kj_runtime.settings import PostgresSettings
from kj_schemas.city import CityDataError

from ..stack import SAMPLE_CITY, admin_connection


async def test_migrations_apply_to_an_empty_database_and_a_second_run_changes_nothing(
    pg_settings: PostgresSettings,
) -> None:
    fresh = pg_settings.model_copy(update={"database": f"{pg_settings.database}_m"})
    admin = await admin_connection(fresh)
    try:
        await admin.execute(f'create database "{fresh.database}"')
        first = apply_migrations(fresh)
        second = apply_migrations(fresh)
        connection = await connect(fresh)
        tables = {
            row["tablename"]
            for row in await connection.fetch(
                "select tablename from pg_tables where schemaname='public'"
            )
        }
        await connection.close()
    finally:
        await admin.execute(f'drop database if exists "{fresh.database}" with (force)')
        await admin.close()
    files = sorted(p.name.removesuffix(".sql") for p in MIGRATIONS_DIR.glob("*.sql"))
    assert first == files
    assert second == []
    assert {"alarms", "work_orders", "outbox", "units", "platforms", "zones"} <= tables


async def test_sample_city_is_stored_and_seeding_again_changes_nothing(
    database: PostgresSettings, db: asyncpg.Connection
) -> None:
    async def counts() -> dict[str, int]:
        return {
            table: await db.fetchval(f"select count(*) from {table}")
            for table in ("platforms", "units", "zones", "checkpoints", "tier_targets")
        }

    before = await counts()
    await store_city(database, SAMPLE_CITY)
    assert await counts() == before
    assert before["platforms"] == 33 and before["units"] == 231 and before["tier_targets"] == 4
    kinds = dict(await db.fetch("select kind, count(*) from units group by kind"))
    assert kinds == {"command_vehicle": 33, "car": 66, "motorcycle": 132}


def _break_unit_platform(city: dict) -> str:
    city["units"][0]["platform"] = "SY-P99"
    return "SY-P99"


def _break_tier_target(city: dict) -> str:
    del city["targets"]["central_city"]
    return "central_city"


def _break_unknown_key(city: dict) -> str:
    city["platforms"][0]["radius"] = 5
    return "radius"


@pytest.mark.parametrize("breakage", [_break_unit_platform, _break_tier_target, _break_unknown_key])
async def test_broken_city_is_refused_naming_the_problem_and_nothing_is_stored(
    breakage, tmp_city, database: PostgresSettings, db: asyncpg.Connection
) -> None:
    city_file = tmp_city / "city.yaml"
    city = yaml.safe_load(city_file.read_text(encoding="utf-8"))
    city["platforms"][0]["name"] = "改名平台"
    named = breakage(city)
    city_file.write_text(yaml.safe_dump(city, allow_unicode=True), encoding="utf-8")

    with pytest.raises(CityDataError) as refused:
        await store_city(database, tmp_city)

    assert named in str(refused.value)
    assert await db.fetchval("select count(*) from platforms where name = '改名平台'") == 0


async def _insert_alarm(db: asyncpg.Connection, source_alarm_id: str) -> uuid.UUID:
    alarm_id = uuid.uuid4()
    now = datetime.now(UTC)
    await db.execute(
        """insert into alarms (alarm_id, region, source, source_alarm_id, body_sha256, reported_at,
             received_at, lat, lon, category, priority, tier, target_seconds, status)
           values ($1, 'hunan-shaoyang', 'sy110', $2, '\\x00', $3, $3, 27.24, 111.47, 'theft', 3,
             'central_city', 180, 'accepted')""",
        alarm_id,
        source_alarm_id,
        now,
    )
    return alarm_id


async def test_the_same_source_alarm_id_cannot_become_two_alarms(db: asyncpg.Connection) -> None:
    await _insert_alarm(db, "SY-DUP-1")
    with pytest.raises(asyncpg.UniqueViolationError, match="alarms_one_per_source_id"):
        await _insert_alarm(db, "SY-DUP-1")


async def _open_work_order(db: asyncpg.Connection, alarm_id: uuid.UUID, unit_id: str) -> uuid.UUID:
    work_order_id = uuid.uuid4()
    now = datetime.now(UTC)
    await db.execute(
        """insert into work_orders (work_order_id, alarm_id, unit_id, platform_id, role, status,
             eta_seconds, reason, issued_at, accept_by)
           values ($1, $2, $3, 'SY-P01', 'primary', 'assigned', 40, 'closest_eta', $4, $5)""",
        work_order_id,
        alarm_id,
        unit_id,
        now,
        now + timedelta(seconds=20),
    )
    return work_order_id


async def test_a_unit_never_holds_two_open_work_orders(db: asyncpg.Connection) -> None:
    first_alarm = await _insert_alarm(db, "SY-WO-1")
    second_alarm = await _insert_alarm(db, "SY-WO-2")
    first = await _open_work_order(db, first_alarm, "SY-P01-M1")

    with pytest.raises(asyncpg.UniqueViolationError, match="work_orders_one_open_per_unit"):
        await _open_work_order(db, second_alarm, "SY-P01-M1")

    await db.execute("update work_orders set status = 'closed' where work_order_id = $1", first)
    await _open_work_order(db, second_alarm, "SY-P01-M1")  # free again once closed


async def test_an_alarm_never_has_two_open_primary_work_orders(db: asyncpg.Connection) -> None:
    alarm = await _insert_alarm(db, "SY-WO-3")
    await _open_work_order(db, alarm, "SY-P02-M1")
    with pytest.raises(asyncpg.UniqueViolationError, match="one_open_primary_per_alarm"):
        await _open_work_order(db, alarm, "SY-P02-M2")
