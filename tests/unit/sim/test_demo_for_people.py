"""What a person reads at the end of `make demo`: a report without dict reprs or raw floats,
linking its pictures and saying what was still open; and a live dashboard that fits a 100×30
terminal with every platform's units by status."""

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from rich.console import Console

from kj_runtime.settings import ServiceSettings
from kj_schemas.city import load_city
from kj_sim.dashboard import HEIGHT, WIDTH, render
from kj_sim.figures import Dispatch, Figures, TierFigures
from kj_sim.report import BOARD, OpenAlarm, Posts, report_markdown

START = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
RAW_FLOAT = re.compile(r"\d+\.\d{3,}")
DICT_REPR = re.compile(r"\{'|\{\"|': ")


def _figures() -> Figures:
    return Figures(
        calls_last_minute=4,
        calls_total=42,
        open_alarms=2,
        by_status={"closed": 25, "merged": 12, "diverted": 3, "assigned": 2},
        tiers=[
            TierFigures("key_location", 9, 8, 23.123456, 48.98765),
            TierFigures("central_city", 6, 6, 41.5, 61.25),
            TierFigures("other_city", 3, 3, 56.0, 83.3333),
            TierFigures("county", 0, 0, None, None),
        ],
        latest=[
            Dispatch(
                START + timedelta(seconds=i),
                f"SY-P0{i}-M1",
                "theft",
                "central_city",
                95.4321,
                "smallest ETA among 12 candidates",
                i == 1,
            )
            for i in range(1, 9)
        ],
    )


def _sim() -> dict[str, object]:
    return {
        "alarms_posted": {"accepted": 27, "merged": 12, "diverted": 3},
        "post_errors": 0,
        "pings_sent": 69300,
        "ping_lag": {"ticks": 300.0, "p50_ms": 0.81234, "p99_ms": 2.712345, "max_ms": 9.87654},
    }


def test_the_report_reads_as_prose_and_tables_links_its_pictures_and_names_what_is_open() -> None:
    still_open = [
        OpenAlarm(
            "a1",
            START + timedelta(minutes=4),
            "key_location",
            "robbery",
            "assigned",
            "SY-P03-C1",
            "en_route",
        ),
        OpenAlarm(
            "a2",
            START + timedelta(minutes=4, seconds=50),
            "other_city",
            "fight",
            "accepted",
            None,
            None,
        ),
    ]
    text = report_markdown(
        _figures(),
        since=START,
        ended=START + timedelta(minutes=5),
        still_open=still_open,
        sim=_sim(),
        histogram="response-histogram.png",
        posts=Posts({"freed": 7, "shift_plan": 30, "move_up": 3}, 32, 41.5, 28, 25),
    )
    assert not RAW_FLOAT.search(text), RAW_FLOAT.search(text)
    assert not DICT_REPR.search(text), DICT_REPR.search(text)
    assert "](response-histogram.png)" in text and f"]({BOARD})" in text
    assert "## Still open at the end (2)" in text
    assert "SY-P03-C1" in text and "none yet" in text and "1 min 00 s" in text
    assert "89% (8 of 9)" in text and "23 s" in text
    assert "合并 repeat call, merged: 12" in text
    assert "已派 unit on its way (en route)" in text
    assert "merged into an open incident 12" in text
    assert "posts 40 times: back from a call 7, moved up 3, at the shift's start 30" in text
    assert "80% (32 of 40), in 42 s at the median" in text and "89% (25 of 28) occupied" in text


def test_the_report_says_when_nothing_was_open() -> None:
    text = report_markdown(
        _figures(),
        since=START,
        ended=START + timedelta(minutes=5),
        still_open=[],
        sim=_sim(),
        histogram=None,
    )
    assert "## Still open at the end (0)" in text and "Nothing:" in text
    assert "response-histogram.png" not in text


def test_the_dashboard_fits_a_100_by_30_terminal_with_every_platform() -> None:
    city = load_city(ServiceSettings().city_dir)
    names = {p.id: p.name for p in city.platforms}
    by_platform: dict[str, Counter[str]] = {p: Counter() for p in names}
    for i, unit in enumerate(city.units):
        status = ("available", "en_route", "on_scene", "returning", "lost_contact")[i % 5]
        by_platform[unit.platform][status] += 1
    console = Console(width=WIDTH, height=HEIGHT, record=True, color_system=None)
    console.print(
        render(
            _figures(),
            units_by_platform=by_platform,
            platform_names=names,
            sim=_sim(),
            endpoints=[
                "API docs http://127.0.0.1:8010/docs",
                "Prometheus http://127.0.0.1:19090",
                "logs /work/main/.local/demo/20261130-200000/logs",
            ],
            elapsed_s=185.4,
        )
    )
    screen = console.export_text()
    lines = screen.rstrip("\n").split("\n")
    assert len(lines) <= HEIGHT, f"{len(lines)} lines:\n{screen}"
    assert max(console.measure(line).maximum for line in lines) <= WIDTH  # CJK: two cells
    for platform in names.values():
        assert platform.removesuffix("平台") in screen, platform
    assert "空闲 free" in screen and "失联 lost" in screen
    assert "重点部位 1 min" in screen and "3 min 05 s" in screen
    assert "/demo/20261130-200000/logs" in screen
    assert not RAW_FLOAT.search(screen) and not DICT_REPR.search(screen)
