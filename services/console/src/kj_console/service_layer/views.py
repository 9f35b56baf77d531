"""What the console's pages read: the city to draw, an incident's page, a unit's track. Views
only: nothing here changes anything."""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from shapely.geometry import mapping

from kj_console.adapters import audit, history
from kj_console.domain.live import LiveView, nearest_units
from kj_console.service_layer.feed import mask
from kj_schemas.city import City

MAX_TRACK_POINTS = 20_000
MAX_TRACK_WINDOW = timedelta(hours=24)


def city_payload(city: City, *, tile_url: str | None, attribution: str) -> dict[str, Any]:
    """Everything to draw the city with no base map: the 1/3/5 zones, the platforms, the
    checkpoints, the units with their callsigns; and the base map's tile URL when there is one."""
    return {
        "name": city.name,
        "region": city.region,
        "timezone": city.timezone,
        "targets": {str(tier): seconds for tier, seconds in city.targets.items()},
        "tile_url": tile_url,
        "tile_attribution": attribution,
        "zones": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"id": z.id, "name": z.name, "tier": str(z.tier)},
                    "geometry": mapping(z.geometry),
                }
                for z in city.zones
            ],
        },
        "platforms": [
            {"id": p.id, "name": p.name, "lat": p.lat, "lon": p.lon, "district": p.district}
            for p in city.platforms
        ],
        "checkpoints": [
            {"id": c.id, "name": c.name, "platform": c.platform, "lat": c.lat, "lon": c.lon}
            for c in city.checkpoints
        ],
        "units": [
            {"id": u.id, "platform": u.platform, "kind": str(u.kind), "callsign": u.callsign}
            for u in city.units
        ],
    }


async def incident_page(
    pool: asyncpg.Pool, view: LiveView, alarm_id: UUID
) -> dict[str, Any] | None:
    """The incident's story (the alarm service's timeline with the actors of dispatchers'
    commands), the console's own audit of it, its broadcasts with their deliveries, and the
    units nearest to it for a dispatcher choosing one."""
    story = await history.story(pool, alarm_id, mask)
    if story is None:
        return None
    actions = await audit.for_alarm(pool, alarm_id)
    broadcasts = [a for a in actions if a["action"] == "broadcast" and a["command_id"]]
    counts = await history.broadcast_deliveries(pool, [UUID(b["command_id"]) for b in broadcasts])
    busy = {
        order.unit_id: str(incident.alarm_id)
        for incident in view.incidents.values()
        for order in incident.orders.values()
    }
    incident = story["incident"]
    return {
        **story,
        "audit": actions,
        "broadcasts": [
            {
                "id": b["command_id"],
                "at": b["at"],
                "actor": b["actor"],
                "radius_m": b["request"].get("radius_m"),
                "audience": b["request"].get("audience"),
                "text": b["request"].get("text"),
                "delivered": counts.get(b["command_id"], {}).get("delivered", 0),
                "failed": counts.get(b["command_id"], {}).get("failed", 0),
                "pending": counts.get(b["command_id"], {}).get("pending", 0),
            }
            for b in broadcasts
        ],
        "nearby": nearest_units(
            view.units.values(), incident["lat"], incident["lon"], busy=busy, duty=view.duty
        ),
    }


async def unit_track(
    pool: asyncpg.Pool, unit_id: str, since: datetime, until: datetime
) -> dict[str, Any]:
    until = min(until, since + MAX_TRACK_WINDOW)
    points = await history.track(pool, unit_id, since, until, limit=MAX_TRACK_POINTS)
    return {
        "unit": unit_id,
        "since": int(since.timestamp() * 1000),
        "until": int(until.timestamp() * 1000),
        "points": points,
        "truncated": len(points) >= MAX_TRACK_POINTS,
    }


async def audit_page(
    pool: asyncpg.Pool, *, limit: int, before: datetime | None
) -> list[dict[str, Any]]:
    return await audit.recent(pool, limit=limit, before=before)


async def command_outcome(pool: asyncpg.Pool, command_id: UUID) -> dict[str, Any] | None:
    return await audit.outcome_of(pool, command_id)
