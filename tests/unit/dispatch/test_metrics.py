"""Dispatch's series at zero from the start (issue 16): the first response of a tier or a
platform is an increase that the board and the attainment alert see."""

from prometheus_client import REGISTRY

from kj_dispatch import metrics as dispatch_metrics


def test_dispatch_exports_every_tier_outcome_and_platform_before_the_first_response() -> None:
    # platforms no other test of this process measures: their series can only be the primed
    # zeros (the tiers' counters may hold other in-process tests' responses by now)
    dispatch_metrics.start_at_zero(platforms=["T-P07", "T-P33"], regions=["t-region"])
    for tier in ("key_location", "central_city", "other_city", "county"):
        for outcome in ("met", "missed"):
            labels = {"tier": tier, "outcome": outcome}
            assert REGISTRY.get_sample_value("kj_dispatch_target_total", labels) is not None
        for platform in ("T-P07", "T-P33"):
            count = REGISTRY.get_sample_value(
                "kj_dispatch_response_seconds_count", {"tier": tier, "platform": platform}
            )
            assert count == 0.0
    assert REGISTRY.get_sample_value("kj_dispatch_units_available", {"platform": "T-P33"}) == 0
