"""The benchmark summary the README quotes says plainly which targets hold."""

from bench.summary import FIGURES, render


def _row(text: str, key: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| `{key}`"))


def test_a_target_missed_is_reported_as_not_met_and_a_target_reached_as_met() -> None:
    text = render({"alarm.intake_per_s": 640.5, "alarm.p99_ms": 12.0, "machine.cores": 2})
    assert "| not met |" in _row(text, "alarm.intake_per_s")
    assert "| met |" in _row(text, "alarm.p99_ms")
    assert "on 2 cores" in text


def test_every_key_the_issues_name_has_a_row_even_before_it_is_measured() -> None:
    text = render({})
    for figure in FIGURES:
        assert "not measured" in _row(text, figure.key)


def test_figures_the_summary_does_not_describe_are_still_listed() -> None:
    assert "`tracking.faust_pings_per_s`: 6583" in render({"tracking.faust_pings_per_s": 6583})
