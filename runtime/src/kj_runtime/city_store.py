"""`make seed`: the city's files, validated, stored in PostgreSQL in one transaction.
Running it again updates what the bureau changed; zones and checkpoints that left the files
leave the database."""

import hashlib
from pathlib import Path

import asyncpg
from shapely.geometry import mapping

from kj_runtime.db import connect
from kj_runtime.settings import PostgresSettings
from kj_schemas.city import City, load_city


async def store_city(settings: PostgresSettings, directory: Path) -> str:
    city = load_city(directory)  # raises CityDataError naming every problem
    fingerprint = _fingerprint(Path(directory))
    connection = await connect(settings)
    try:
        async with connection.transaction():
            loaded = await connection.fetchval(
                "select sha256 from city_versions where region = $1 for update", city.region
            )
            if loaded != fingerprint:
                await _store(connection, city)
                await connection.execute(
                    """insert into city_versions (region, sha256) values ($1, $2)
                       on conflict (region) do update set sha256 = excluded.sha256,
                         loaded_at = now()""",
                    city.region,
                    fingerprint,
                )
    finally:
        await connection.close()
    what = (
        f"{city.name} ({city.region}): {len(city.platforms)} platforms, {len(city.units)} units, "
        f"{len(city.zones)} zones, {len(city.checkpoints)} checkpoints"
    )
    return f"{what} already loaded, unchanged" if loaded == fingerprint else f"loaded {what}"


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.suffix in {".yaml", ".yml", ".geojson", ".json"}:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


async def _store(connection: asyncpg.Connection, city: City) -> None:
    await connection.execute("delete from tier_targets where region = $1", city.region)
    await connection.executemany(
        "insert into tier_targets (region, tier, target_seconds) values ($1, $2, $3)",
        [(city.region, str(tier), seconds) for tier, seconds in city.targets.items()],
    )
    await connection.executemany(
        """insert into platforms (platform_id, region, name, district, lat, lon)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (platform_id) do update set region = excluded.region,
             name = excluded.name, district = excluded.district,
             lat = excluded.lat, lon = excluded.lon""",
        [(p.id, city.region, p.name, p.district, p.lat, p.lon) for p in city.platforms],
    )
    await connection.executemany(
        """insert into units (unit_id, platform_id, kind, callsign) values ($1, $2, $3, $4)
           on conflict (unit_id) do update set platform_id = excluded.platform_id,
             kind = excluded.kind, callsign = excluded.callsign""",
        [(u.id, u.platform, str(u.kind), u.callsign) for u in city.units],
    )
    await connection.execute(
        "delete from zones where region = $1 and not (zone_id = any($2::text[]))",
        city.region,
        [z.id for z in city.zones],
    )
    await connection.executemany(
        """insert into zones (zone_id, region, name, tier, geometry) values ($1, $2, $3, $4, $5)
           on conflict (zone_id) do update set region = excluded.region, name = excluded.name,
             tier = excluded.tier, geometry = excluded.geometry""",
        [(z.id, city.region, z.name, str(z.tier), mapping(z.geometry)) for z in city.zones],
    )
    platform_ids = [p.id for p in city.platforms]
    await connection.execute(
        "delete from checkpoints where platform_id = any($1::text[]) "
        "and not (checkpoint_id = any($2::text[]))",
        platform_ids,
        [c.id for c in city.checkpoints],
    )
    await connection.executemany(
        """insert into checkpoints (checkpoint_id, platform_id, name, lat, lon, radius_m)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (checkpoint_id) do update set platform_id = excluded.platform_id,
             name = excluded.name, lat = excluded.lat, lon = excluded.lon,
             radius_m = excluded.radius_m""",
        [(c.id, c.platform, c.name, c.lat, c.lon, c.radius_m) for c in city.checkpoints],
    )
