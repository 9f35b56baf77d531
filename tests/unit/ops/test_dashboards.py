"""The dashboards import cleanly into Grafana: unique uids and panel ids, panels inside the
24-column grid and not on top of each other, every target on the templated data source."""

import json
from itertools import combinations
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BOARDS = sorted((REPO / "deploy/grafana").glob("*.json"))


def test_two_dashboards_with_distinct_uids() -> None:
    uids = [json.loads(p.read_text(encoding="utf-8"))["uid"] for p in BOARDS]
    assert len(uids) == 2 and len(set(uids)) == 2


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.name)
def test_panels_tile_the_grid(path: Path) -> None:
    panels = json.loads(path.read_text(encoding="utf-8"))["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    boxes = []
    for p in panels:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        boxes.append((p["title"], g["x"], g["y"], g["x"] + g["w"], g["y"] + g["h"]))
    for a, b in combinations(boxes, 2):
        overlap = a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
        assert not overlap, f"{a[0]!r} overlaps {b[0]!r}"


@pytest.mark.parametrize("path", BOARDS, ids=lambda p: p.name)
def test_every_target_uses_the_datasource_variable(path: Path) -> None:
    board = json.loads(path.read_text(encoding="utf-8"))
    names = {v["name"] for v in board["templating"]["list"]}
    assert "datasource" in names
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == "${datasource}" and target["expr"]
