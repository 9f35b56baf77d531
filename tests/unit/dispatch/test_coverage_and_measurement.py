from datetime import timedelta

import pytest

from kj_dispatch.domain.coverage import PlatformArea, survey_gaps
from kj_dispatch.domain.eta import StraightLineEta
from kj_dispatch.domain.measurement import measure
from kj_dispatch.domain.plans import load_plans
from kj_schemas.enums import AlarmCategory

from .factories import NOW, busy, east, make_fleet, north, put


def test_a_platform_left_without_a_unit_in_reach_is_a_gap_with_a_suggested_move_up() -> None:
    fleet = make_fleet()
    put(fleet, "P1-M1", east(0), platform="SY-P01")
    busy(fleet, "P1-M1", priority=1)
    put(fleet, "P2-M1", east(5000), platform="SY-P02")
    put(fleet, "P2-M2", east(5100), platform="SY-P02")
    areas = [
        PlatformArea("SY-P01", *east(0), target_s=180),
        PlatformArea("SY-P02", *east(5000), target_s=180),
    ]
    (gap,) = survey_gaps(areas, fleet.arrays(NOW), StraightLineEta(), NOW)
    assert gap.platform_id == "SY-P01"
    assert gap.suggested_unit_id == "P2-M1" and gap.suggested_from_platform_id == "SY-P02"


def test_no_move_up_is_suggested_from_a_platform_with_one_unit_left() -> None:
    fleet = make_fleet()
    put(fleet, "P2-M1", east(5000), platform="SY-P02")
    (gap,) = survey_gaps(
        [PlatformArea("SY-P01", *east(0), target_s=60)], fleet.arrays(NOW), StraightLineEta(), NOW
    )
    assert gap.suggested_unit_id is None


def test_within_dispatch_range_the_gaps_are_the_same_and_a_unit_beyond_it_is_never_suggested() -> (
    None
):
    """Issue 20: the report looks only at units within dispatch's range of each platform (a
    province's whole fleet against every platform held dispatch's loop); inside the range it
    finds what the whole-fleet report found, and a unit 40 km away, which dispatch would never
    send, is no one's move-up."""
    fleet = make_fleet()
    put(fleet, "P1-M1", east(0), platform="SY-P01")
    busy(fleet, "P1-M1", priority=1)
    for n in range(2):
        put(fleet, f"P2-M{n}", east(5000 + 100 * n), platform="SY-P02")
        put(fleet, f"P9-M{n}", north(40_000 + 100 * n), platform="HN-P09")
    areas = [
        PlatformArea("SY-P01", *east(0), target_s=180),
        PlatformArea("SY-P02", *east(5000), target_s=180),
        PlatformArea("HN-P09", *north(40_000), target_s=180),
        PlatformArea("HN-P10", *north(80_000), target_s=180),
    ]
    whole = survey_gaps(areas, fleet.arrays(NOW), StraightLineEta(), NOW)
    ranged = survey_gaps(
        areas,
        fleet.arrays(NOW),
        StraightLineEta(),
        NOW,
        projection=fleet.index.projection,
        max_range_m=30_000,
    )
    assert (
        [g.platform_id for g in ranged]
        == [g.platform_id for g in whole]
        == [
            "SY-P01",
            "HN-P10",
        ]
    )
    assert ranged[0] == whole[0]  # the same ETA and the same move-up, from SY-P02
    assert ranged[0].suggested_unit_id == "P2-M0"
    # 40 km from HN-P09's units: the whole-fleet report suggests one, the ranged one nobody
    assert whole[1].suggested_unit_id == "P9-M1"
    assert ranged[1].suggested_unit_id is None and ranged[1].best_eta_s is None


def test_the_target_is_judged_from_the_platforms_receipt_with_the_citizens_wait_beside() -> None:
    """Issue 16: an alarm reported 290 s before the 110 centre posted it read 5.9 s in the API
    and 296.6 s on the board. One definition: receipt -> on scene for the target."""
    m = measure(
        reported_at=NOW,
        received_at=NOW + timedelta(seconds=290),
        issued_at=NOW + timedelta(seconds=290.5),
        on_scene_at=NOW + timedelta(seconds=340),
        target_s=60,
    )
    assert (m.response_s, m.citizen_s, m.platform_s) == (50, 340, 0.5)
    assert m.target_met
    late = measure(
        reported_at=NOW,
        received_at=NOW,
        issued_at=NOW,
        on_scene_at=NOW + timedelta(seconds=61),
        target_s=60,
    )
    assert not late.target_met and late.citizen_s == late.response_s == 61


def test_plans_fall_back_to_the_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plans = load_plans()
    assert plans.for_alarm(AlarmCategory.noise, 3) == plans.default
    broken = tmp_path / "plans.yaml"
    broken.write_text("plans: {violent_crime: {1: {units: 0}}}")
    with pytest.raises(ValueError, match=r"plans\.yaml"):
        load_plans(broken)
