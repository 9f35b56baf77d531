"""Prometheus recording and alerting rules, written to deploy/prometheus/rules.yml.

Every alert carries a `summary`, a one-line `runbook` (what to do first) and a `runbook_url`
into docs/operations.md. `deploy/prometheus/tests/*.yml` unit-tests each one with promtool."""

from typing import Any

from deploy.gen import metrics as m
from deploy.gen.objectives import OBJECTIVES, TIERS, Objectives
from deploy.gen.services import SERVICES

RUNBOOK = "docs/operations.md"  # relative to the repository; Alertmanager templates may prefix it

# recorded series: the dashboards read these too
ATTAINMENT = "kj:dispatch_attainment:ratio_rate15m"
ATTAINMENT_BY_PLATFORM = "kj:dispatch_attainment_by_platform:ratio_rate15m"
ATTAINMENT_OBJECTIVE = "kj:dispatch_attainment:objective"
LAG = "kj:consumer_lag_records:sum"
SILENT_SHARE = "kj:tracking_silent_units:share"


def recording_rules(o: Objectives = OBJECTIVES) -> list[dict[str, Any]]:
    w = o.attainment_window
    rules: list[dict[str, Any]] = [
        {
            "record": ATTAINMENT,
            "expr": (
                f'sum by (tier) (rate({m.TARGET.name}{{outcome="met"}}[{w}]))\n'
                f"/ sum by (tier) (rate({m.TARGET.name}[{w}]))"
            ),
        },
        {
            # every tier's calls together, each judged against its own tier's target
            "record": ATTAINMENT_BY_PLATFORM,
            "expr": (
                f'sum by (platform) (rate({m.TARGET.name}{{outcome="met"}}[{w}]))\n'
                f"/ sum by (platform) (rate({m.TARGET.name}[{w}]))"
            ),
        },
    ]
    for tier in TIERS:
        rules.append(
            {
                "record": ATTAINMENT_OBJECTIVE,
                "expr": f"vector({o.attainment[tier]})",
                "labels": {"tier": tier},
            }
        )
    rules += [
        {"record": LAG, "expr": f"sum by (group, topic) ({m.CONSUMER_LAG.name})"},
        {
            "record": SILENT_SHARE,
            "expr": (
                f'sum({m.UNITS.name}{{status="{o.silent_status}"}})\n'
                f'/ sum({m.UNITS.name}{{status!="{o.off_duty_status}"}})'
            ),
        },
    ]
    return rules


def _alert(
    name: str, expr: str, for_: str, severity: str, summary: str, runbook: str, anchor: str
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {
        "summary": summary,
        "runbook": runbook,
        "runbook_url": f"{RUNBOOK}#{anchor}",
    }
    return rule


def alerting_rules(o: Objectives = OBJECTIVES) -> list[dict[str, Any]]:
    jobs = "|".join(s.name for s in SERVICES)
    missing = "\nor ".join(f'absent(up{{job="{s.name}"}})' for s in SERVICES)
    return [
        _alert(
            "DispatchAttainmentBelowObjective",
            f"{ATTAINMENT} < on (tier) {ATTAINMENT_OBJECTIVE}",
            "5m",
            "page",
            "{{ $labels.tier }}: only {{ $value | humanizePercentage }} of alarms reached on time "
            f"over {o.attainment_window}",
            "Open the 1/3/5 board: check units available per platform and queued alarms in the "
            "tier; ask the command centre to move units or open a reserve platform.",
            "alert-dispatchattainmentbelowobjective",
        ),
        _alert(
            "AlarmQueuedPastTarget",
            f"sum(increase({m.AT_RISK.name}[2m])) > 0",
            "",
            "page",
            '{{ $value | printf "%.0f" }} alarm(s) flagged as waiting past or near their target',
            "Look at the dispatch.notices topic and the queued alarms panel; assign by radio if "
            "dispatch has no unit to offer.",
            "alert-alarmqueuedpasttarget",
        ),
        _alert(
            "ConsumerLagGrowing",
            f"{LAG} > {o.consumer_lag_records} and deriv({LAG}[10m]) > 0",
            "10m",
            "warn",
            "{{ $labels.group }} is {{ $value | humanize }} records behind on {{ $labels.topic }} "
            "and falling further",
            "Check the group's handler failures and batch time; add replicas up to the topic's "
            "partition count, or add partitions (docs/operations.md#scale).",
            "alert-consumerlaggrowing",
        ),
        _alert(
            "DeadLettersAppearing",
            f"sum by (service, source_topic, reason) (increase({m.DEAD_LETTERS.name}[10m])) > 0",
            "",
            "warn",
            '{{ $labels.service }} set aside {{ $value | printf "%.0f" }} record(s) from '
            "{{ $labels.source_topic }}: {{ $labels.reason }}",
            "Read the newest records on the deadletters topic for the cause; fix the sender or "
            "the contract, then replay them to the source topic.",
            "alert-deadlettersappearing",
        ),
        _alert(
            "OutboxNotDraining",
            f"max by (stream) ({m.OUTBOX_AGE.name}) > {o.outbox_oldest_age_seconds}",
            "2m",
            "page",
            "outbox {{ $labels.stream }}: oldest row waiting {{ $value | humanizeDuration }}",
            "Check the relay errors panel and Kafka reachability from the service; events are "
            "safe in PostgreSQL and go out once the relay runs.",
            "alert-outboxnotdraining",
        ),
        _alert(
            "KeyLocationCoverageLow",
            f'max({m.COVERAGE.name}{{tier="key_location"}}) < {o.key_location_coverage}',
            "10m",
            "warn",
            "key locations: only {{ $value | humanizePercentage }} of calls would be reached in "
            "60 s from where the idle units stand",
            "Open the 1/3/5 board's coverage row: posts held against occupied, units available "
            "per platform; ask the command centre to free a motorcycle for the key location.",
            "alert-keylocationcoveragelow",
        ),
        _alert(
            "PlatformWithoutAvailableUnit",
            f"max by (platform) ({m.UNITS_AVAILABLE.name}) == 0",
            "5m",
            "warn",
            "platform {{ $labels.platform }} has no available unit",
            "Ask the command centre to return a unit to the platform or cover its zone from a "
            "neighbour; check the units-by-status panel for lost contact.",
            "alert-platformwithoutavailableunit",
        ),
        _alert(
            "SilentUnitsAboveShare",
            f"{SILENT_SHARE} > {o.silent_unit_share}",
            "5m",
            "warn",
            "{{ $value | humanizePercentage }} of units on duty sent no GPS fix lately",
            "Check ping delay and the notify terminal connections; a drop across many units "
            "points at the network or the tracking service, a few at their terminals.",
            "alert-silentunitsaboveshare",
        ),
        _alert(
            "ServiceDown",
            f'up{{job=~"{jobs}"}} == 0',
            "1m",
            "page",
            "{{ $labels.job }} on {{ $labels.instance }} does not answer /metrics",
            "kubectl -n kj describe pod / logs --previous for the pod; check /readyz of the "
            "others (Kafka and PostgreSQL reachability).",
            "alert-servicedown",
        ),
        _alert(
            "ServiceMissing",
            missing,
            "2m",
            "page",
            "Prometheus finds no {{ $labels.job }} target at all",
            "kubectl -n kj get deploy,pods: scaled to zero, crash-looping or its ServiceMonitor "
            "lost; restore the Deployment.",
            "alert-servicemissing",
        ),
    ]


def rule_file(o: Objectives = OBJECTIVES) -> dict[str, Any]:
    return {
        "groups": [
            {"name": "kj-recording", "interval": "30s", "rules": recording_rules(o)},
            {"name": "kj-alerts", "rules": alerting_rules(o)},
        ]
    }
