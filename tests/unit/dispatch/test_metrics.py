"""Dispatch's series at zero from the start (issue 16): the first response of a tier or a
platform is an increase that the board and the attainment alert see. Attainment per platform is
counted, met or missed, by tier and platform; the response-time histogram is by tier only
(decision 0184), so a province's platforms do not multiply its buckets on every scrape."""

import httpx
from fastapi import FastAPI
from prometheus_client import REGISTRY

from kj_dispatch import metrics as dispatch_metrics
from kj_dispatch.domain.measurement import Measurement
from kj_dispatch.service_layer import telemetry
from kj_runtime.http_ops import add_ops_routes
from kj_schemas.enums import EventSource, ResponseTier
from tests.unit.dispatch.factories import alarm

TIERS = ("key_location", "central_city", "other_city", "county")


def _target(tier: str, platform: str, outcome: str) -> float | None:
    labels = {"tier": tier, "platform": platform, "outcome": outcome}
    return REGISTRY.get_sample_value("kj_dispatch_target_total", labels)


def test_dispatch_exports_every_tier_outcome_and_platform_before_the_first_response() -> None:
    # platforms no other test of this process measures: their series can only be the primed
    # zeros (the tiers' histograms may hold other in-process tests' responses by now)
    dispatch_metrics.start_at_zero(platforms=["T-P07", "T-P33"], regions=["t-region"])
    for tier in TIERS:
        assert (
            REGISTRY.get_sample_value("kj_dispatch_response_seconds_count", {"tier": tier})
            is not None
        )
        for platform in ("T-P07", "T-P33"):
            for outcome in ("met", "missed"):
                assert _target(tier, platform, outcome) == 0.0
    assert REGISTRY.get_sample_value("kj_dispatch_units_available", {"platform": "T-P33"}) == 0


def test_an_arrival_counts_for_its_platform_and_its_tier() -> None:
    dispatch_metrics.start_at_zero(platforms=["M-P01", "M-P02"], regions=["t-region"])
    key = alarm(tier=ResponseTier.key_location, target_seconds=60)
    before = REGISTRY.get_sample_value(
        "kj_dispatch_response_seconds_count", {"tier": "key_location"}
    )
    telemetry.arrived(key, "M-P01", Measurement(52.0, 70.0, 0.2, True), EventSource.gps)
    telemetry.arrived(key, "M-P01", Measurement(75.0, 95.0, 0.2, False), EventSource.gps)
    telemetry.arrived(key, "M-P02", Measurement(40.0, 60.0, 0.2, True), EventSource.terminal)
    assert _target("key_location", "M-P01", "met") == 1.0
    assert _target("key_location", "M-P01", "missed") == 1.0
    assert _target("key_location", "M-P02", "met") == 1.0
    assert _target("key_location", "M-P02", "missed") == 0.0
    after = REGISTRY.get_sample_value(
        "kj_dispatch_response_seconds_count", {"tier": "key_location"}
    )
    assert before is not None and after == before + 3


async def test_a_provinces_platforms_add_a_few_lines_each_to_the_page() -> None:
    # Hunan's 293 platforms: by tier and platform, the response histogram alone was 18,752
    # lines of dispatch's 19,367 (1.7 MB written at every scrape)
    platforms = [f"H-P{i:03d}" for i in range(293)]
    dispatch_metrics.start_at_zero(platforms=platforms, regions=["t-region"])
    app = FastAPI()
    add_ops_routes(app, {})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as client:
        page = await client.get("/metrics")
    assert page.status_code == 200
    lines = [line for line in page.text.splitlines() if 'platform="H-P' in line]
    # 4 tiers × met and missed, and the units available: 9 lines a platform (no `_created`)
    assert len(lines) == 9 * len(platforms)
