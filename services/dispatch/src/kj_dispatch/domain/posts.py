"""Posts: the points a unit may be told to patrol around (有警出警、无警巡逻). Candidates are the
platforms' bases, the patrol checkpoints (reaching one counts as a check-in, 打卡), a fine grid
in and around every key location, and a coarser grid over the rest of the city."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from kj_schemas.city import Checkpoint, Platform, Zone
from kj_schemas.enums import ResponseTier
from kj_schemas.geo import M_PER_DEG

DEFAULT_POST_SPACING_M: Mapping[ResponseTier, float] = {
    ResponseTier.key_location: 100.0,
    ResponseTier.central_city: 400.0,
    ResponseTier.other_city: 800.0,
}


@dataclass(frozen=True, slots=True)
class Post:
    post_id: str
    lat: float
    lon: float
    key_location: str | None = None  # the key-location zone the post stands in
    near_key_location: str | None = None  # ...or stands in or within the ring around
    platform_id: str | None = None  # set when the post is a platform's base
    checkpoint_id: str | None = None  # set when the post is a patrol checkpoint


def candidate_posts(
    *,
    zones: Sequence[Zone],
    platforms: Sequence[Platform],
    checkpoints: Sequence[Checkpoint],
    spacing_m: Mapping[ResponseTier, float] = DEFAULT_POST_SPACING_M,
    ring_m: float = 150.0,
) -> list[Post]:
    """Every candidate post, platforms first. The fine grid around a key location reaches
    `ring_m` beyond its edge (a unit at the edge covers it too); a post inside or in that ring
    is `near_key_location` and counts against the limit of units near it."""
    keys = [z for z in zones if z.tier is ResponseTier.key_location]
    lat0 = float(np.mean([p.lat for p in platforms])) if platforms else 0.0
    ring_deg = ring_m / M_PER_DEG
    rings = [(z.id, z.geometry.buffer(ring_deg)) for z in keys]

    def post(post_id: str, lat: float, lon: float, **extra: str) -> Post:
        inside = next((z.id for z in keys if shapely.contains_xy(z.geometry, lon, lat)), None)
        near = inside or next((k for k, r in rings if shapely.contains_xy(r, lon, lat)), None)
        return Post(post_id, lat, lon, inside, near, **extra)

    posts = [post(p.id, p.lat, p.lon, platform_id=p.id) for p in platforms]
    posts += [post(c.id, c.lat, c.lon, checkpoint_id=c.id) for c in checkpoints]
    for zone_id, ring in rings:
        for i, (lon, lat) in enumerate(_grid(ring, spacing_m[ResponseTier.key_location], lat0)):
            posts.append(post(f"{zone_id}-{i}", lat, lon))
    for zone in zones:
        if zone.tier is ResponseTier.key_location or zone.tier not in spacing_m:
            continue
        for i, (lon, lat) in enumerate(_grid(zone.geometry, spacing_m[zone.tier], lat0)):
            if not any(shapely.contains_xy(r, lon, lat) for _, r in rings):
                posts.append(post(f"{zone.id}-{i}", lat, lon))  # rings have their own grid
    return posts


def _grid(area: shapely.Geometry, spacing: float, lat0: float) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = area.bounds
    dlat = spacing / M_PER_DEG
    dlon = spacing / (M_PER_DEG * np.cos(np.radians(lat0)))
    lons = np.arange(minx + dlon / 2, maxx, dlon)
    lats = np.arange(miny + dlat / 2, maxy, dlat)
    grid_lon, grid_lat = (a.ravel() for a in np.meshgrid(lons, lats))
    inside = shapely.contains_xy(area, grid_lon, grid_lat)
    return [
        (round(float(a), 6), round(float(b), 6))
        for a, b in zip(grid_lon[inside], grid_lat[inside], strict=True)
    ]
