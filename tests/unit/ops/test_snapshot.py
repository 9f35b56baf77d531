"""The board snapshot asks Prometheus exactly the dashboard's queries and draws every panel."""

import json
from pathlib import Path

from deploy.gen.dashboards import queries
from deploy.snapshot import BOARD, Series, draw, grafana_to_promql, legend


def test_grafana_variables_become_promql() -> None:
    expr = 'sum by (le) (increase(x_bucket{tier=~"$tier"}[$__rate_interval]))'
    assert grafana_to_promql(expr) == 'sum by (le) (increase(x_bucket{tier=~".*"}[1m]))'
    assert legend("p90 {{tier}}", {"tier": "county"}) == "p90 county"


def test_draws_every_panel_from_the_boards_own_queries(tmp_path: Path) -> None:
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    asked: list[str] = []

    def fetch(expr: str, start: float, end: float, step: float) -> list[Series]:
        asked.append(expr)
        points = [(start + i * step, 0.9) for i in range(int((end - start) / step))]
        if "_bucket" in expr and "histogram_quantile" not in expr and "platform" not in expr:
            return [({"le": le}, points) for le in ("60.0", "180.0", "+Inf")]
        return [({"tier": "key_location", "platform": "p01"}, points)]

    out = tmp_path / "board.png"
    sent = draw(board, fetch, out, 0.0, 1800.0, dpi=20)
    assert sent == asked == [grafana_to_promql(q) for _, q in queries(board)]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
