"""Dispatch's series at zero from the start (issue 16): the first response of a tier or a
platform is an increase that the board and the attainment alert see."""

from prometheus_client import REGISTRY

from kj_dispatch import metrics as dispatch_metrics


def test_dispatch_exports_every_tier_outcome_and_platform_before_the_first_response() -> None:
    dispatch_metrics.start_at_zero(platforms=["SY-P07", "SY-P33"], regions=["hunan-shaoyang"])
    for tier in ("key_location", "central_city", "other_city", "county"):
        for outcome in ("met", "missed"):
            labels = {"tier": tier, "outcome": outcome}
            assert REGISTRY.get_sample_value("kj_dispatch_target_total", labels) == 0.0
        for platform in ("SY-P07", "SY-P33"):
            count = REGISTRY.get_sample_value(
                "kj_dispatch_response_seconds_count", {"tier": tier, "platform": platform}
            )
            assert count == 0.0
    assert REGISTRY.get_sample_value("kj_dispatch_units_available", {"platform": "SY-P33"}) == 0
