"""Candidate posts over the sample city: bases, checkpoints, and grids in and around the key
locations, each post knowing which key location it counts against."""

from functools import cache

import shapely

from kj_dispatch.domain.posts import Post, candidate_posts
from kj_schemas.city import City, load_city
from kj_schemas.enums import ResponseTier

from ...stack import SAMPLE_CITY


@cache
def sample() -> tuple[City, list[Post]]:
    city = load_city(SAMPLE_CITY)
    posts = candidate_posts(
        zones=city.zones, platforms=city.platforms, checkpoints=city.checkpoints
    )
    return city, posts


def test_every_platform_base_and_checkpoint_is_a_post() -> None:
    city, posts = sample()
    bases = {p.platform_id for p in posts if p.platform_id}
    checkpoints = {p.checkpoint_id for p in posts if p.checkpoint_id}
    assert bases == {p.id for p in city.platforms}
    assert checkpoints == {c.id for c in city.checkpoints}
    assert len({p.post_id for p in posts}) == len(posts)


def test_a_post_inside_a_key_location_counts_against_it_and_so_does_one_at_its_edge() -> None:
    city, posts = sample()
    zone = {z.id: z.geometry for z in city.zones if z.tier is ResponseTier.key_location}
    inside = [p for p in posts if p.key_location]
    ring = [p for p in posts if p.near_key_location and not p.key_location]
    assert inside and ring
    for p in inside:
        assert shapely.contains_xy(zone[p.key_location], p.lon, p.lat)
        assert p.near_key_location == p.key_location
    for p in ring:
        assert not shapely.contains_xy(zone[p.near_key_location], p.lon, p.lat)
        assert shapely.distance(zone[p.near_key_location], shapely.Point(p.lon, p.lat)) < 0.002


def test_every_key_location_has_posts_inside_it() -> None:
    city, posts = sample()
    keys = {z.id for z in city.zones if z.tier is ResponseTier.key_location}
    assert keys == {p.key_location for p in posts if p.key_location}
