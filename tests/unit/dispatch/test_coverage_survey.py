"""The coverage survey reads the fleet as arrays (decision 0178): what it finds must be what the
unit objects say, whatever dispatch did to them, and the gaps must be the ones a plain
platform-by-platform, unit-by-unit judgement finds."""

import math
from datetime import timedelta
from uuid import uuid4

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kj_dispatch.domain import coverage
from kj_dispatch.domain.coverage import FleetArrays, PlatformArea, survey_gaps
from kj_dispatch.domain.eta import KIND_CODE, KINDS, StraightLineEta
from kj_dispatch.domain.model import Commitment
from kj_schemas.enums import UnitKind, UnitStatus

from .factories import NOW, east, make_fleet, north

UNITS = [f"U{n}" for n in range(8)]
PLATFORMS = ["SY-P01", "SY-P02", "SY-P03"]

operation = st.one_of(
    st.tuples(
        st.just("update"),
        st.sampled_from(UNITS),
        st.sampled_from(PLATFORMS),
        st.sampled_from(list(UnitKind)),
        st.sampled_from(list(UnitStatus)),
        st.integers(0, 400),  # the fix's age, seconds
    ),
    st.tuples(st.just("commit"), st.sampled_from(UNITS)),
    st.tuples(st.just("release"), st.sampled_from(UNITS)),
    st.tuples(st.just("hold"), st.sampled_from(UNITS)),
    st.tuples(st.just("stand_down"), st.sets(st.sampled_from(UNITS), max_size=3)),
    st.tuples(st.just("unresponsive"), st.sampled_from(UNITS), st.integers(-60, 60)),
    st.tuples(st.just("answered"), st.sampled_from(UNITS)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40))
def test_the_arrays_say_what_the_units_say_after_anything_dispatch_does(operations) -> None:  # type: ignore[no-untyped-def]
    fleet = make_fleet()
    for op, target, *rest in operations:
        if op == "update":
            platform, kind, status, age = rest
            fleet.update(
                unit_id=target,
                platform_id=platform,
                kind=kind,
                status=status,
                lat=north(100 * len(target))[0],
                lon=east(37 * age)[1],
                fix_at=NOW - timedelta(seconds=age),
                last_seen_at=NOW - timedelta(seconds=age),
            )
        elif op == "commit":
            fleet.commit(target, Commitment(uuid4(), uuid4(), 2, "primary", "en_route"))
        elif op == "release":
            fleet.release(target)
        elif op == "hold":
            fleet.hold_elsewhere(target)
        elif op == "stand_down":
            fleet.set_stood_down(set(target))
        elif op == "unresponsive":
            fleet.mark_unresponsive(target, NOW + timedelta(seconds=rest[0]))
        else:
            fleet.answered(target)
    arrays = fleet.arrays(NOW)
    units = list(fleet)
    assert arrays.unit_ids == [u.unit_id for u in units]
    assert arrays.free.tolist() == [u.dispatchable(NOW) for u in units]
    assert [arrays.platforms[c] for c in arrays.platform] == [u.platform_id for u in units]
    assert arrays.fix_ts.tolist() == [u.fix_ts for u in units]
    assert (arrays.lat.tolist(), arrays.lon.tolist()) == (
        [u.lat for u in units],
        [u.lon for u in units],
    )
    assert fleet.arrays(NOW).free_per_platform() == {
        p: n
        for p in PLATFORMS
        if (n := sum(u.dispatchable(NOW) and u.platform_id == p for u in units))
    }


def _plainly(
    areas: list[PlatformArea], fleet: FleetArrays, eta: StraightLineEta, spare_at_least: int = 2
):  # type: ignore[no-untyped-def]
    """The gaps judged one platform and one unit at a time, with `estimate`."""
    free = [i for i in range(len(fleet.unit_ids)) if fleet.free[i]]
    home = {p: sum(fleet.platform[i] == c for i in free) for c, p in enumerate(fleet.platforms)}
    out = []
    for area in areas:
        etas = {}
        for i in free:
            unit = _Unit(fleet, i)
            estimate = eta.estimate(unit, area.lat, area.lon, NOW)  # type: ignore[arg-type]
            etas[i] = estimate.seconds if estimate else math.inf
        best = min(etas.values(), default=math.inf)
        if best <= area.target_s:
            continue
        movable = [
            (etas[i], i)
            for i in free
            if home[fleet.platforms[fleet.platform[i]]] >= spare_at_least
            and fleet.platforms[fleet.platform[i]] != area.platform_id
            and etas[i] < math.inf
        ]
        unit_id = fleet.unit_ids[min(movable)[1]] if movable else None
        out.append((area.platform_id, None if best == math.inf else best, unit_id))
    return out


class _Unit:
    def __init__(self, fleet: FleetArrays, i: int) -> None:
        self.lat, self.lon = float(fleet.lat[i]), float(fleet.lon[i])
        self.kind, self.fix_ts = KINDS[fleet.kind[i]], float(fleet.fix_ts[i])


@pytest.mark.parametrize("cells", [1_000_000, 7])  # one matrix, or a row or two at a time
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    units=st.lists(
        st.tuples(
            st.integers(-8000, 8000),
            st.integers(-8000, 8000),
            st.sampled_from(PLATFORMS),
            st.sampled_from(list(UnitKind)),
            st.booleans(),  # free
            st.integers(0, 400),  # fix age
        ),
        max_size=12,
    ),
    targets=st.lists(st.integers(30, 600), min_size=3, max_size=3),
)
def test_the_survey_finds_the_gaps_and_move_ups_a_unit_by_unit_judgement_finds(  # type: ignore[no-untyped-def]
    units, targets, cells, monkeypatch
) -> None:
    monkeypatch.setattr(coverage, "_MATRIX_CELLS", cells)  # the same for every example
    codes = {p: c for c, p in enumerate(PLATFORMS)}
    fleet = FleetArrays(
        [f"U{n}" for n in range(len(units))],
        PLATFORMS,
        np.array([north(y)[0] for _, y, *_ in units]),
        np.array([east(x)[1] for x, *_ in units]),
        np.array([KIND_CODE[k] for *_, k, _, _ in units], dtype=np.int8),
        np.array([(NOW - timedelta(seconds=age)).timestamp() for *_, age in units]),
        np.array([codes[p] for _, _, p, *_ in units], dtype=np.int32),
        np.array([free for *_, free, _ in units], dtype=bool),
    )
    areas = [
        PlatformArea(p, *north(3000 * c), target_s=t)
        for c, (p, t) in enumerate(zip(PLATFORMS, targets, strict=True))
    ]
    eta = StraightLineEta()
    found = [
        (g.platform_id, g.best_eta_s, g.suggested_unit_id)
        for g in survey_gaps(areas, fleet, eta, NOW)
    ]
    expected = _plainly(areas, fleet, eta)
    assert [(p, u) for p, _, u in found] == [(p, u) for p, _, u in expected]
    for (_, best, _), (_, want, _) in zip(found, expected, strict=True):
        assert best == pytest.approx(want, rel=1e-9) if want is not None else best is None
