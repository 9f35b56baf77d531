"""Response tier classification over the sample city's zones."""

import pytest
from shapely.geometry import box

from kj_alarm.domain.tiers import TierClassifier
from kj_schemas.city import Zone, load_city
from kj_schemas.enums import ResponseTier
from tests.stack import SAMPLE_CITY

TARGETS = {
    ResponseTier.key_location: 60,
    ResponseTier.central_city: 180,
    ResponseTier.other_city: 300,
    ResponseTier.county: 900,
}


def zone(zid: str, tier: ResponseTier, *bounds: float) -> Zone:
    return Zone(id=zid, name=zid, tier=tier, geometry=box(*bounds))


@pytest.fixture(scope="module")
def nested() -> TierClassifier:
    # other city ⊃ central ⊃ a key location (bounds are lon/lat)
    return TierClassifier(
        [
            zone("OTHER", ResponseTier.other_city, 111.0, 27.0, 112.0, 28.0),
            zone("CENTRAL", ResponseTier.central_city, 111.4, 27.2, 111.6, 27.4),
            zone("KEY", ResponseTier.key_location, 111.45, 27.25, 111.46, 27.26),
        ],
        TARGETS,
    )


def test_smallest_target_wins_where_zones_overlap(nested: TierClassifier) -> None:
    hit = nested.classify(27.255, 111.455)
    assert (hit.tier, hit.target_seconds, hit.zone_id) == (ResponseTier.key_location, 60, "KEY")
    assert nested.classify(27.3, 111.5).tier is ResponseTier.central_city
    assert nested.classify(27.9, 111.1).tier is ResponseTier.other_city


def test_outside_every_zone_is_the_county_target(nested: TierClassifier) -> None:
    hit = nested.classify(30.0, 115.0)
    assert (hit.tier, hit.target_seconds, hit.zone_id) == (ResponseTier.county, 900, None)


def test_a_point_on_a_zone_border_belongs_to_the_zone(nested: TierClassifier) -> None:
    assert nested.classify(27.25, 111.455).tier is ResponseTier.key_location


def test_targets_without_a_county_target_are_refused() -> None:
    with pytest.raises(ValueError, match="county"):
        TierClassifier([], {ResponseTier.key_location: 60})


def test_the_sample_city_s_west_lake_bridge_is_a_key_location() -> None:
    city = load_city(SAMPLE_CITY)
    classifier = TierClassifier(city.zones, city.targets)
    assert classifier.classify(27.2389, 111.4677).tier is ResponseTier.key_location
    assert classifier.classify(26.5, 110.5).tier is ResponseTier.county


def test_a_batch_is_classified_as_each_of_its_points_alone(nested: TierClassifier) -> None:
    points = [(27.255, 111.455), (30.0, 115.0), (27.3, 111.5), (27.25, 111.455), (27.9, 111.1)]
    assert nested.classify_many(points) == [nested.classify(*p) for p in points]
    assert [c.zone_id for c in nested.classify_many(points)] == [
        "KEY",
        None,
        "CENTRAL",
        "KEY",
        "OTHER",
    ]
    assert nested.classify_many([]) == []
