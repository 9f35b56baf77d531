from datetime import datetime, timedelta

from kj_dispatch.domain.candidates import CandidateIndex
from kj_dispatch.domain.fleet import Fleet
from kj_dispatch.domain.model import FleetUnit
from kj_schemas.enums import UnitKind, UnitStatus
from kj_schemas.geo import LocalProjection

from .factories import NOW, east, make_fleet, north, put


def test_nearest_units_are_reranked_by_eta() -> None:
    fleet = make_fleet()
    put(fleet, "CMD", east(300), kind=UnitKind.command_vehicle)  # nearer, slow to start
    put(fleet, "MOTO", east(400), kind=UnitKind.motorcycle)
    search = fleet.index.nearest(*east(0), NOW, accept=lambda u: True)
    assert [o.unit_id for o in search.options] == ["MOTO", "CMD"]


def test_search_looks_at_the_nearest_units_only() -> None:
    fleet = make_fleet()
    for i in range(5000):
        put_quiet(fleet, f"U{i}", north(10 * i))
    fleet.refresh_index(1.0)
    looked: list[str] = []

    def accept(unit: FleetUnit) -> bool:
        looked.append(unit.unit_id)
        return True

    search = fleet.index.nearest(*north(0), NOW, accept=accept, want=3)
    assert len(search.options) >= 3
    assert search.options[0].unit_id == "U0"
    assert len(looked) < 50


def test_search_widens_past_busy_neighbours() -> None:
    fleet = make_fleet()
    for i in range(40):
        put_quiet(fleet, f"B{i}", north(5 * i))
    put_quiet(fleet, "FREE", north(3000))
    fleet.refresh_index(1.0)
    search = fleet.index.nearest(*north(0), NOW, accept=lambda u: u.unit_id == "FREE", want=1)
    assert [o.unit_id for o in search.options] == ["FREE"]


def put_quiet(
    fleet: Fleet, unit_id: str, at: tuple[float, float], *, fix_at: datetime = NOW
) -> None:
    """Add or move a unit without rebuilding the index (the test rebuilds once)."""
    fleet.update(
        unit_id=unit_id,
        platform_id="SY-P01",
        kind=UnitKind.motorcycle,
        status=UnitStatus.available,
        lat=at[0],
        lon=at[1],
        fix_at=fix_at,
        last_seen_at=NOW,
    )


def test_an_index_built_elsewhere_serves_the_next_plan_unless_a_unit_joined_meanwhile() -> None:
    """Dispatch builds the index in a worker thread (decision 0167): a plan uses that build as
    long as no unit joined after its snapshot; a unit that joined is never missed."""
    fleet = Fleet(CandidateIndex(LocalProjection(*north(0)), make_fleet().index.eta))
    put_quiet(fleet, "A", north(0))
    fleet.refresh_index(0.0)
    put_quiet(fleet, "A", north(2000))  # A drove off
    snapshot = fleet.index_snapshot()
    built = fleet.index.build(snapshot.units, snapshot.lats, snapshot.lons)
    fleet.install_index(built, at=1.0)
    builds = fleet.index.builds
    fleet.ready_index(1.1)  # a plan: the build from elsewhere is fresh enough
    assert fleet.index.builds == builds
    near = fleet.index.nearest(*north(2000), NOW, accept=lambda u: True, want=1)
    assert [o.unit_id for o in near.options] == ["A"]

    snapshot = fleet.index_snapshot()
    built = fleet.index.build(snapshot.units, snapshot.lats, snapshot.lons)
    put_quiet(fleet, "B", north(10))  # joined while the build ran: not in it
    fleet.install_index(built, at=2.0)
    fleet.ready_index(2.1)
    assert fleet.index.builds == builds + 2  # the plan built it again, with B
    found = fleet.index.nearest(*north(0), NOW, accept=lambda u: True, want=1)
    assert found.options[0].unit_id == "B"
    assert not fleet.index.install(built, at=1.5)  # an older build never replaces a newer one


def test_a_build_from_the_fleet_s_positions_finds_every_unit_where_it_last_was() -> None:
    """The fleet keeps each unit's position as its states arrive, and a build elsewhere reads
    those (decision 0169): past the arrays' first growth, a unit that moved is found where it
    went, and a state older than the one held moves nothing."""
    fleet = Fleet(CandidateIndex(LocalProjection(*north(0)), make_fleet().index.eta))
    for n in range(2500):  # the arrays start at 1,024 units and grow
        put_quiet(fleet, f"U{n}", north(100_000 + n))
    put_quiet(fleet, "U7", north(0), fix_at=NOW + timedelta(seconds=1))
    put_quiet(fleet, "U7", north(50_000))  # older than U7's last state: ignored
    put_quiet(fleet, "U2100", north(5000))  # moved, past the first 1,024
    snapshot = fleet.index_snapshot()
    assert len(snapshot.units) == len(snapshot.lats) == 2500
    fleet.install_index(fleet.index.build(snapshot.units, snapshot.lats, snapshot.lons), at=1.0)
    near = fleet.index.nearest(*north(0), NOW, accept=lambda u: True, want=1)
    assert near.options[0].unit_id == "U7"
    near = fleet.index.nearest(*north(5000), NOW, accept=lambda u: True, want=1)
    assert near.options[0].unit_id == "U2100"
    far = fleet.index.nearest(*north(102_400), NOW, accept=lambda u: True, want=1)
    assert far.options[0].unit_id == "U2400"
