"""Every known label combination of a metric exported at zero from the start.

prometheus_client creates a labelled child on its first use, so the first event of a label set
is the series' first sample: `rate()` and `increase()` need two samples and never see it. The
first missed key-location target was invisible to the attainment alert, and the board showed
attainment as NaN for 12 of 14 platforms (issue 16). A service calls `start_at_zero` for the
label values it knows at start (tiers and outcomes, the city's platforms, reasons)."""

from collections.abc import Iterable
from itertools import product

from prometheus_client.metrics import MetricWrapperBase


def start_at_zero(metric: MetricWrapperBase, **values: Iterable[str]) -> int:
    """Creates the child for every combination of `values` (one iterable per label name, all
    of the metric's labels); returns how many."""
    names = metric._labelnames
    missing = set(names) - set(values)
    if missing:
        raise ValueError(f"{metric._name}: no values for labels {sorted(missing)}")
    combinations = list(product(*(list(values[name]) for name in names)))
    for combination in combinations:
        metric.labels(*combination)
    return len(combinations)
