"""The services' collector settings: what start-up built is left out of every collection,
young collections run less often, and each collection's pause is on /metrics."""

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY, generate_latest

from kj_runtime import heap


@pytest.fixture
def settled() -> Iterator[None]:
    threshold = gc.get_threshold()
    heap.settle()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def pauses(generation: int) -> float:
    value = REGISTRY.get_sample_value("kj_gc_pause_seconds_count", {"generation": str(generation)})
    return value or 0.0


@pytest.mark.usefixtures("settled")
def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    assert gc.get_freeze_count() > 1000  # this test process's modules, as a service's would be
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD > 700


@pytest.mark.usefixtures("settled")
def test_each_collection_s_pause_is_on_the_metrics_page() -> None:
    before = pauses(2)
    gc.collect()
    assert pauses(2) == before + 1
    assert b'kj_gc_pause_seconds_bucket{generation="2",le="0.001"}' in generate_latest(REGISTRY)
    heap.settle()  # a second call does not time every collection twice
    gc.collect()
    assert pauses(2) == before + 3  # settle's own collection, then this one
