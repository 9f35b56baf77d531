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


def put_quiet(fleet: Fleet, unit_id: str, at: tuple[float, float]) -> None:
    """Add a unit without rebuilding the index (the test rebuilds once)."""
    fleet.update(
        unit_id=unit_id,
        platform_id="SY-P01",
        kind=UnitKind.motorcycle,
        status=UnitStatus.available,
        lat=at[0],
        lon=at[1],
        fix_at=NOW,
        last_seen_at=NOW,
    )


def test_an_index_built_elsewhere_serves_the_next_plan_unless_a_unit_joined_meanwhile() -> None:
    """Dispatch builds the index in a worker thread (decision 0167): a plan uses that build as
    long as no unit joined after its snapshot; a unit that joined is never missed."""
    fleet = Fleet(CandidateIndex(LocalProjection(*north(0)), make_fleet().index.eta))
    put_quiet(fleet, "A", north(0))
    fleet.refresh_index(0.0)
    put_quiet(fleet, "A", north(2000))  # A drove off
    units, joined = fleet.index_snapshot()
    built = fleet.index.build(units)
    fleet.install_index(built, joined=joined, at=1.0)
    builds = fleet.index.builds
    fleet.ready_index(1.1)  # a plan: the build from elsewhere is fresh enough
    assert fleet.index.builds == builds
    near = fleet.index.nearest(*north(2000), NOW, accept=lambda u: True, want=1)
    assert [o.unit_id for o in near.options] == ["A"]

    units, joined = fleet.index_snapshot()
    built = fleet.index.build(units)
    put_quiet(fleet, "B", north(10))  # joined while the build ran: not in it
    fleet.install_index(built, joined=joined, at=2.0)
    fleet.ready_index(2.1)
    assert fleet.index.builds == builds + 2  # the plan built it again, with B
    found = fleet.index.nearest(*north(0), NOW, accept=lambda u: True, want=1)
    assert found.options[0].unit_id == "B"
    assert not fleet.index.install(built, at=1.5)  # an older build never replaces a newer one
