"""Call rates per place and hour: the prior a new city starts from, and what history teaches."""

import numpy as np
import pytest
import shapely

from kj_dispatch.domain.demand import CallRecord, demand_cells, learn_rates, prior_by_zone
from kj_schemas.enums import ResponseTier

from .planning_world import PROJECTION, TARGETS, ZONES, at

KEY, CENTRAL = ResponseTier.key_location, ResponseTier.central_city


def cells():  # type: ignore[no-untyped-def]
    return demand_cells(ZONES, TARGETS, PROJECTION)


def test_the_prior_spreads_a_days_calls_by_tier_density_and_cell_area() -> None:
    prior = prior_by_zone(cells(), calls_per_day=300)
    assert prior.calls_per_day() == pytest.approx(300)
    per_cell = prior.rate.sum(axis=1)
    key, central = per_cell[prior.in_tier(KEY)], per_cell[prior.in_tier(CENTRAL)]
    # 40 calls/km² at 75 m cells against 4 calls/km² at 300 m cells
    assert key[0] / central[0] == pytest.approx(40 * 75**2 / (4 * 300**2))
    assert np.allclose(prior.rate[:, 3], prior.rate[:, 20])  # a new city assumes a flat day


def test_a_key_location_inside_the_central_city_is_counted_once_by_its_own_cells() -> None:
    model = cells()
    k1 = next(z for z in ZONES if z.id == "K1").geometry
    lat = PROJECTION.lat0 + model.y / 111_195.0
    lon = PROJECTION.lon0 + model.x / (111_195.0 * np.cos(np.radians(PROJECTION.lat0)))
    inside = shapely.contains_xy(k1, lon, lat)
    assert inside.any()
    assert all(model.zone_id[i] == "K1" for i in np.flatnonzero(inside))


def test_history_raises_the_rate_where_the_calls_came_and_when() -> None:
    prior = prior_by_zone(cells(), calls_per_day=100)
    station = at(1000, 0)
    records = [CallRecord(*station, KEY, 20) for _ in range(70)]
    learned = learn_rates(prior, records, days=7, projection=PROJECTION)
    k1 = np.array([z == "K1" for z in learned.zone_id])
    k2 = np.array([z == "K2" for z in learned.zone_id])
    assert learned.rate[k1].sum() > 2 * prior.rate[k1].sum()
    assert learned.rate[k2].sum() < prior.rate[k2].sum()
    assert learned.at_hour(20).sum() > 5 * learned.at_hour(4).sum()


def test_with_no_calls_the_prior_counts_for_its_days() -> None:
    prior = prior_by_zone(cells(), calls_per_day=100)
    learned = learn_rates(prior, [], days=2, prior_days=2, projection=PROJECTION)
    assert learned.calls_per_day() == pytest.approx(50)


def test_learning_needs_some_history() -> None:
    with pytest.raises(ValueError, match="history"):
        learn_rates(prior_by_zone(cells(), calls_per_day=1), [], days=0, projection=PROJECTION)
