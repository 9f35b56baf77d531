"""Grafana dashboards as code (grafanalib): the 1/3/5 board and service health.

Panels read recorded series from `rules.py` where one exists, so the board and the alerts agree
on what "attainment" means. `$__rate_interval` and the `tier` variable are Grafana's; the
snapshot in docs/operations.md substitutes them (deploy/gen/snapshot.py)."""

import json
from collections.abc import Iterable
from typing import Any

from grafanalib._gen import DashboardEncoder
from grafanalib.core import (
    BarGauge,
    Dashboard,
    GridPos,
    Heatmap,
    Panel,
    Stat,
    Target,
    Template,
    Templating,
    Threshold,
    TimeSeries,
)

from deploy.gen import metrics as m
from deploy.gen import rules
from deploy.gen.objectives import OBJECTIVES, TIERS, Objectives

DATASOURCE = "${datasource}"
WIDTH = 24


def _targets(*queries: tuple[str, str]) -> list[Target]:
    return [
        Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + i), datasource=DATASOURCE)
        for i, (expr, legend) in enumerate(queries)
    ]


def _quantile(q: float, hist: str, by: str = "le") -> str:
    return f"histogram_quantile({q}, sum by ({by}) (rate({hist}_bucket[$__rate_interval])))"


def _layout(rows: Iterable[list[tuple[Panel, int, int]]]) -> list[Panel]:
    """Place panels left to right in rows of (panel, width, height); each panel rises to the
    lowest free line under its columns, so a tall panel beside short ones leaves no gap."""
    placed: list[Panel] = []
    skyline = [0] * WIDTH
    for row in rows:
        x = 0
        for panel, w, h in row:
            y = max(skyline[x : x + w])
            panel.gridPos = GridPos(h=h, w=w, x=x, y=y)
            skyline[x : x + w] = [y + h] * w
            x += w
            placed.append(panel)
    for i, panel in enumerate(placed, start=1):
        panel.id = i
    return placed


def _datasource_var() -> Template:
    return Template(
        name="datasource",
        query="prometheus",
        type="datasource",
        label="Prometheus",
        default="Prometheus",
    )


def _percent_thresholds(objective: float) -> list[Threshold]:
    return [
        Threshold("red", 0, 0.0),
        Threshold("orange", 1, round(objective - 0.05, 4)),
        Threshold("green", 2, objective),
    ]


def response_board(o: Objectives = OBJECTIVES) -> Dashboard:
    objective = min(o.attainment.values())
    hist = m.RESPONSE.name
    targets = ", ".join(f"{t} {o.targets[t]} s" for t in TIERS)
    attainment_stat = Stat(
        title="On time, last 15 min (per tier)",
        description=f"Share of alarms with police on scene within the tier's target ({targets}).",
        dataSource=DATASOURCE,
        targets=_targets((rules.ATTAINMENT, "{{tier}}")),
        format="percentunit",
        decimals=1,
        thresholds=_percent_thresholds(objective),
        reduceCalc="lastNotNull",
        graphMode="area",
    )
    attainment_trend = TimeSeries(
        title="Attainment per tier vs objective",
        dataSource=DATASOURCE,
        targets=_targets(
            (rules.ATTAINMENT, "{{tier}}"),
            (rules.ATTAINMENT_OBJECTIVE, "objective {{tier}}"),
        ),
        unit="percentunit",
        valueMin=0,
        valueMax=1,
    )
    by_platform = BarGauge(
        title="Attainment per platform, last 15 min",
        dataSource=DATASOURCE,
        targets=_targets((rules.ATTAINMENT_BY_PLATFORM, "{{platform}}")),
        format="percentunit",
        min=0,
        max=1,
        orientation="horizontal",
        displayMode="lcd",
        thresholds=_percent_thresholds(objective),
    )
    heatmap = Heatmap(
        # Grafana shows the chosen tiers in the variable's picker; a title holding `$tier`
        # read "tier $tier" wherever the variable was not expanded (issue 16)
        title="Response time, 110 instruction received → on scene (tiers chosen above)",
        dataSource=DATASOURCE,
        targets=[
            Target(
                expr=f'sum by (le) (increase({hist}_bucket{{tier=~"$tier"}}[$__rate_interval]))',
                format="heatmap",
                legendFormat="{{le}}",
                refId="A",
                datasource=DATASOURCE,
            )
        ],
        dataFormat="tsbuckets",
        hideZeroBuckets=True,
    )
    percentiles = TimeSeries(
        title="Response time percentiles per tier",
        dataSource=DATASOURCE,
        targets=_targets(
            *(
                (
                    f"histogram_quantile({q}, sum by (tier, le) "
                    f"(rate({hist}_bucket[$__rate_interval])))",
                    f"p{round(q * 100)} {{{{tier}}}}",
                )
                for q in (0.5, 0.9, 0.99)
            )
        ),
        unit="s",
    )
    by_category = TimeSeries(
        title="Alarms by category and outcome (per minute)",
        dataSource=DATASOURCE,
        targets=_targets(
            (
                "sum by (category, outcome) "
                f"(rate({m.ALARMS_RECEIVED.name}[$__rate_interval])) * 60",
                "{{category}} {{outcome}}",
            )
        ),
        unit="short",
        stacking={"mode": "normal", "group": "A"},
        drawStyle="bars",
        fillOpacity=80,
    )
    queued = Stat(
        title="Alarms waiting for a unit",
        dataSource=DATASOURCE,
        targets=_targets((f"sum({m.QUEUED.name})", "queued")),
        thresholds=[Threshold("green", 0, 0.0), Threshold("red", 1, 1.0)],
        reduceCalc="lastNotNull",
    )
    at_risk = Stat(
        title="Alarms at risk, last hour",
        dataSource=DATASOURCE,
        targets=_targets((f"sum(increase({m.AT_RISK.name}[1h]))", "at risk")),
        thresholds=[Threshold("green", 0, 0.0), Threshold("orange", 1, 1.0)],
        reduceCalc="lastNotNull",
        decimals=0,
    )
    available = BarGauge(
        title="Units available per platform",
        dataSource=DATASOURCE,
        targets=_targets((f"max by (platform) ({m.UNITS_AVAILABLE.name})", "{{platform}}")),
        min=0,
        max=5,
        orientation="horizontal",
        displayMode="basic",
        thresholds=[
            Threshold("red", 0, 0.0),
            Threshold("orange", 1, 1.0),
            Threshold("green", 2, 2.0),
        ],
    )
    coverage = TimeSeries(
        title="Live coverage: share of calls on target were one to come now (per tier)",
        description=(
            "Expected share of calls reached within the tier's target from where the idle units "
            "stand and patrol now (the positioning planner's model, decision 0060)."
        ),
        dataSource=DATASOURCE,
        targets=_targets(
            (f'max by (tier) ({m.COVERAGE.name}{{tier!="all"}})', "{{tier}}"),
            (f"vector({o.key_location_coverage})", "objective key_location"),
        ),
        unit="percentunit",
        valueMin=0,
        valueMax=1,
    )
    posts = TimeSeries(
        title="Posts: held (units sent) and occupied (units there)",
        dataSource=DATASOURCE,
        targets=_targets((f"max by (state) ({m.POSTS.name})", "{{state}}")),
        unit="short",
    )
    moves = Stat(
        title="Moves to posts per available unit and hour",
        description="Trips ordered off calls in the last hour (posts for freed units, move-ups).",
        dataSource=DATASOURCE,
        targets=_targets(
            (
                f'sum(increase({m.REPOSITIONS.name}{{reason!="shift_plan"}}[1h])) '
                f"/ clamp_min(sum({m.UNITS_AVAILABLE.name}), 1)",
                "moves",
            )
        ),
        decimals=2,
        reduceCalc="lastNotNull",
    )
    tier_var = Template(
        name="tier",
        query=f"label_values({hist}_bucket, tier)",
        dataSource=DATASOURCE,
        label="Tier",
        includeAll=True,
        multi=True,
        default="$__all",
        allValue=".*",
        refresh=2,
    )
    return Dashboard(
        title="快警 1/3/5 response",
        uid="kj-response-135",
        description="Is the 1/3/5-minute promise kept: attainment, response times, alarms, units.",
        tags=["kuaijing", "dispatch"],
        timezone="browser",
        refresh="30s",
        templating=Templating(list=[_datasource_var(), tier_var]),
        panels=_layout(
            [
                [(attainment_stat, 12, 6), (queued, 6, 6), (at_risk, 6, 6)],
                [(attainment_trend, 12, 8), (by_platform, 12, 16)],
                [(percentiles, 12, 8)],
                [(heatmap, 12, 9), (available, 12, 18)],
                [(by_category, 12, 9)],
                [(coverage, 12, 8), (posts, 8, 8), (moves, 4, 8)],
            ]
        ),
    ).auto_panel_ids()


def service_health() -> Dashboard:
    def ts(title: str, unit: str, *queries: tuple[str, str]) -> TimeSeries:
        return TimeSeries(title=title, dataSource=DATASOURCE, targets=_targets(*queries), unit=unit)

    ri = "$__rate_interval"
    panels = [
        [
            (ts("Targets up", "short", ('sum by (job) (up{job=~"kj-.*"})', "{{job}}")), 8, 7),
            (
                ts(
                    "Alarm intake requests",
                    "reqps",
                    (f"sum(rate({m.ALARM_REQUEST.name}_count[{ri}]))", "requests/s"),
                    (
                        _quantile(0.99, m.ALARM_REQUEST.name),
                        "p99 latency (s)",
                    ),
                ),
                8,
                7,
            ),
            (
                ts(
                    "Records consumed per group",
                    "rps",
                    (f"sum by (group) (rate({m.CONSUMED.name}[{ri}]))", "{{group}}"),
                    (_quantile(0.99, m.CONSUME_BATCH.name, "group, le"), "p99 batch s {{group}}"),
                ),
                8,
                7,
            ),
        ],
        [
            (
                ts(
                    "Errors",
                    "short",
                    (
                        f"sum by (group) (rate({m.HANDLER_FAILURES.name}[{ri}]))",
                        "handler {{group}}",
                    ),
                    (f"sum by (stream) (rate({m.OUTBOX_ERRORS.name}[{ri}]))", "relay {{stream}}"),
                    (
                        f'sum by (outcome) (rate({m.CALLBACKS.name}{{outcome!="ok"}}[{ri}]))',
                        "callback {{outcome}}",
                    ),
                    (
                        f'sum by (outcome) (rate({m.PINGS.name}{{outcome!="accepted"}}[{ri}]))',
                        "ping {{outcome}}",
                    ),
                ),
                12,
                8,
            ),
            (
                ts(
                    "Dead letters by reason",
                    "short",
                    (
                        f"sum by (service, reason) (increase({m.DEAD_LETTERS.name}[{ri}]))",
                        "{{service}} {{reason}}",
                    ),
                ),
                12,
                8,
            ),
        ],
        [
            (ts("Consumer lag", "short", (rules.LAG, "{{group}} {{topic}}")), 8, 8),
            (
                # every stage in flight waits as long as its service's loop is held
                ts(
                    "Event loop stalls (p99)",
                    "s",
                    (_quantile(0.99, m.LOOP_LAG.name, "job, le"), "{{job}}"),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Outbox",
                    "short",
                    (f"max by (stream) ({m.OUTBOX_DEPTH.name})", "depth {{stream}}"),
                    (f"max by (stream) ({m.OUTBOX_AGE.name})", "oldest age s {{stream}}"),
                    (
                        f"sum by (stream) (rate({m.OUTBOX_PUBLISHED.name}[{ri}]))",
                        "published/s {{stream}}",
                    ),
                ),
                8,
                8,
            ),
        ],
        [
            (
                ts(
                    "GPS ping delay",
                    "s",
                    *(
                        (
                            _quantile(q, m.PING_DELAY.name),
                            f"p{round(q * 100)}",
                        )
                        for q in (0.5, 0.99)
                    ),
                ),
                8,
                8,
            ),
            (
                ts(
                    "GPS pings by outcome",
                    "rps",
                    (f"sum by (outcome) (rate({m.PINGS.name}[{ri}]))", "{{outcome}}"),
                ),
                8,
                8,
            ),
            (
                ts("Units by status", "short", (f"sum by (status) ({m.UNITS.name})", "{{status}}")),
                8,
                8,
            ),
        ],
        [
            (
                ts(
                    "Terminal connections",
                    "short",
                    (f"sum({m.TERMINALS.name})", "connected"),
                    (f"sum({m.UNDELIVERED.name})", "undelivered"),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Delivery to terminals",
                    "s",
                    (
                        _quantile(0.99, m.DELIVERY.name),
                        "p99",
                    ),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Broadcasts and callbacks",
                    "short",
                    (f"sum(rate({m.BROADCASTS.name}[{ri}]))", "broadcasts/s"),
                    (f"sum by (outcome) (rate({m.CALLBACKS.name}[{ri}]))", "callbacks {{outcome}}"),
                ),
                8,
                8,
            ),
        ],
        [
            (
                ts(
                    "Device gateway: 808 connections",
                    "short",
                    (f"sum({m.JT808_CONNECTIONS.name})", "open"),
                    (f"sum({m.JT808_AUTHENTICATED.name})", "authenticated"),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Device gateway: positions in",
                    "rps",
                    (
                        f"sum by (path, outcome) (rate({m.DEVICE_FIXES.name}[{ri}]))",
                        "{{path}} {{outcome}}",
                    ),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Device gateway: dropped",
                    "short",
                    (
                        f"sum by (reason) (increase({m.JT808_CLOSED.name}[{ri}]))",
                        "closed: {{reason}}",
                    ),
                    (
                        f"sum by (cause) (increase({m.DEVICE_PINGS_DROPPED.name}[{ri}]))",
                        "positions: {{cause}}",
                    ),
                ),
                8,
                8,
            ),
        ],
        [
            (
                ts(
                    "Console: browsers",
                    "short",
                    (f"sum({m.CONSOLE_BROWSERS.name})", "connected"),
                    (f"sum(increase({m.CONSOLE_RESYNCS.name}[{ri}]))", "resent a snapshot"),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Console: bytes to browsers",
                    "Bps",
                    (f"sum(rate({m.CONSOLE_SENT_BYTES.name}[{ri}]))", "sent"),
                ),
                8,
                8,
            ),
            (
                ts(
                    "Console: dispatchers' actions and sign-ins",
                    "short",
                    (
                        f"sum by (action, outcome) (increase({m.CONSOLE_ACTIONS.name}[{ri}]))",
                        "{{action}} {{outcome}}",
                    ),
                    (
                        f"sum by (outcome) (increase({m.CONSOLE_LOGINS.name}[{ri}]))",
                        "sign-in {{outcome}}",
                    ),
                ),
                8,
                8,
            ),
        ],
    ]
    return Dashboard(
        title="快警 service health",
        uid="kj-service-health",
        description=(
            "Rates, errors, dead letters, lag, outbox, GPS, terminals, device connections and "
            "the console's browsers, across the services."
        ),
        tags=["kuaijing", "ops"],
        timezone="browser",
        refresh="30s",
        templating=Templating(list=[_datasource_var()]),
        panels=_layout(panels),
    ).auto_panel_ids()


def to_json(dashboard: Dashboard) -> str:
    data: dict[str, Any] = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboards() -> dict[str, Dashboard]:
    return {"response-135.json": response_board(), "service-health.json": service_health()}


def queries(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target in a dashboard's JSON."""
    found = []
    for panel in data.get("panels", []):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((panel["title"], target["expr"]))
    return found
