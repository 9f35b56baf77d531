"""Series exported at zero from the start, so the first event of a label set is an increase
(issue 16: the first missed target of a tier was invisible to rate() and to the alert)."""

import pytest

from kj_dispatch import metrics as dispatch_metrics
from kj_runtime.series import start_at_zero


def test_a_label_without_values_is_an_error_not_a_silent_gap() -> None:
    with pytest.raises(ValueError, match="outcome"):
        start_at_zero(dispatch_metrics.TARGET_TOTAL, tier=["key_location"])
