"""The verifier: the ledger of what the load was promised and did, against what PostgreSQL and
the topics hold. Each `chaos.*` figure is defined in docs/decisions/0070; the details behind
each (which alarm, which fault, which group) go to the run's report.json."""

from collections import defaultdict
from dataclasses import asdict
from typing import Any

from kj_sim.chaos.ledger import Ledger
from kj_sim.chaos.readback import Record, Topics
from kj_sim.chaos.rules import (
    AnswerSeen,
    OrderSpan,
    Poison,
    accept_timeout_cause,
    blocking_poison,
    double_assignments,
    duplicate_orders,
    expired_late,
    recovery_s,
    silent_wait_s,
    stranded_gap,
    waiting_gaps,
)


def _lost(ledger: Ledger, record: Record, topics: Topics, until: float) -> list[dict[str, Any]]:
    lost = []
    for alarm in ledger.alarms:
        if not alarm.promised or alarm.first_attempt_at >= until:
            continue
        why = None
        row = record.alarms.get(str(alarm.alarm_id))
        if row is None:
            why = "no_record"
        elif alarm.status == "accepted" and alarm.alarm_id not in record.dispatched:
            why = "never_reached_dispatch"
        elif alarm.status == "diverted" and alarm.alarm_id not in topics.diverted:
            why = "never_handed_to_12345"
        elif alarm.status == "merged" and row["merged_into"] is None:
            why = "merge_not_recorded"
        if why:
            lost.append(
                {"source_alarm_id": alarm.source_alarm_id, "alarm_id": alarm.alarm_id, "why": why}
            )
    return lost


def _primaries(orders: list[OrderSpan]) -> dict[str, list[OrderSpan]]:
    by_alarm: dict[str, list[OrderSpan]] = defaultdict(list)
    for order in orders:
        if order.role == "primary":
            by_alarm[order.alarm_id].append(order)
    return by_alarm


def verify(ledger: Ledger, record: Record, topics: Topics) -> tuple[dict[str, Any], dict[str, Any]]:
    """Returns (figures for bench/results.json, details for the run's report)."""
    marks = ledger.marks
    until = marks.get("poison_at", marks["load_stopped"])  # the fault phase ends here
    police = [
        a
        for a in ledger.alarms
        if a.promised and a.status == "accepted" and a.first_attempt_at < until
    ]
    lost = _lost(ledger, record, topics, until)
    lost_ids = {item["alarm_id"] for item in lost}
    primaries = _primaries(record.orders)

    stranded = []
    longest_silence = 0.0
    for alarm in police:
        row = record.alarms.get(str(alarm.alarm_id))
        if row is None or alarm.alarm_id in lost_ids:
            continue
        gaps = waiting_gaps(
            row["received_at"].timestamp(), primaries.get(str(alarm.alarm_id), []), until
        )
        notices = topics.notices.get(str(alarm.alarm_id), [])
        longest_silence = max(longest_silence, silent_wait_s(gaps, notices))
        gap = stranded_gap(gaps, float(row["target_seconds"]), notices)
        if gap is not None:
            stranded.append(
                {
                    "alarm_id": alarm.alarm_id,
                    "target_s": row["target_seconds"],
                    "waited_from": round(gap[0] - marks["load_started"], 1),
                    "waited_s": round(gap[1] - gap[0], 1),
                    "probe": alarm.probe,
                }
            )

    doubles = double_assignments(record.orders)
    duplicates = duplicate_orders(record.orders, record.delivered_orders)

    answers: dict[str, list[AnswerSeen]] = defaultdict(list)
    for given in ledger.answers:
        answers[given.work_order_id].append(
            AnswerSeen(given.kind, tuple(given.sends), given.replied_send_at)
        )
    causes = {
        order.work_order_id: accept_timeout_cause(
            order, answers.get(order.work_order_id, []), ledger.received.get(order.work_order_id)
        )
        for order in record.orders
        if order.accept_by < until
    }
    by_cause: dict[str, list[str]] = defaultdict(list)
    for work_order_id, cause in causes.items():
        if cause is not None:
            by_cause[cause].append(work_order_id)
    false_timeouts = sorted(by_cause.get("false_timeout", []))
    # what the gateway replied to the acceptances it had in time
    replies: dict[str, int] = defaultdict(int)
    for given in ledger.answers:
        if given.kind == "accepted" and given.work_order_id in false_timeouts:
            replies[given.refused or "ok"] += 1

    first_issued = {
        alarm_id: min(o.issued_at for o in orders) for alarm_id, orders in primaries.items()
    }
    served = [(a.first_attempt_at, first_issued.get(str(a.alarm_id))) for a in police]
    recoveries = []
    for fault in ledger.faults:
        seconds = recovery_s(fault.at, served, until=until)
        recoveries.append(
            {
                **asdict(fault),
                "at_s": round(fault.at - marks["load_started"], 1),
                "recovery_s": None if seconds is None else round(seconds, 2),
                "ready_after_s": None
                if fault.ready_at is None
                else round(fault.ready_at - fault.at, 2),
            }
        )
    measured = [r["recovery_s"] for r in recoveries if r["recovery_s"] is not None]
    unrecovered = [r for r in recoveries if r["recovery_s"] is None]
    worst = max([*measured, *(until - r["at"] for r in unrecovered)], default=0.0)

    poison = [Poison(p.topic, p.partition, p.offset, p.kind) for p in ledger.poison]
    blocking, unjudged = blocking_poison(
        poison, topics.readers, topics.committed, topics.ends, topics.passed()
    )
    group_less = [p for p in poison if not topics.readers.get(p.topic)]

    figures: dict[str, Any] = {
        "chaos.accepted_lost": len(lost),
        "chaos.duplicate_work_orders": len(duplicates),
        "chaos.units_double_assigned": len(doubles),
        "chaos.alarms_stranded": len(stranded),
        "chaos.false_accept_timeouts": len(false_timeouts),
        "chaos.recovery_max_s": round(worst, 2),
        "chaos.poison_records_blocking": len(
            {(b.topic, b.partition, b.offset) for b, _ in blocking}
        ),
        # what the figures stand on
        "chaos.alarms_promised": sum(1 for a in ledger.alarms if a.promised),
        "chaos.alarms_police_fault_phase": len(police),
        "chaos.work_orders": len(record.orders),
        "chaos.accept_timeouts": sum(
            1 for o in record.orders if o.withdraw_reason == "accept_timeout"
        ),
        "chaos.longest_silent_wait_s": round(longest_silence, 1),
        # unanswered orders no timer withdrew in time (a dead dispatcher's)
        "chaos.orders_expired_late": sum(1 for o in record.orders if expired_late(o, until=until)),
        "chaos.faults": len(ledger.faults),
        "chaos.faults_not_recovered": len(unrecovered),
        # services that ended by themselves (the supervisor started them again)
        "chaos.service_exits": len(ledger.exits),
        "chaos.poison_records": len(poison),
        "chaos.poison_records_unjudged": len({*unjudged, *group_less}),
        # consumer groups left standing at a poison record (one NUL can stop a whole group)
        "chaos.poison_groups_stopped": len({group for _, group in blocking}),
    }
    for cause, ids in by_cause.items():
        figures[f"chaos.accept_timeouts_by_cause.{cause}"] = len(ids)
    for reply, count in replies.items():
        figures[f"chaos.false_accept_timeouts_gateway_said.{reply}"] = count
    counts: dict[str, int] = defaultdict(int)
    for r in recoveries:
        name = f"{r['kind']}_{r['target'].removesuffix('-a').removesuffix('-b')}"
        counts[name] += 1
        seconds = r["recovery_s"]
        figures[f"chaos.recovery_s.{name}_{counts[name]}"] = (
            seconds if seconds is not None else "not recovered"
        )
    details = {
        "lost": lost,
        "stranded": stranded,
        "double_assigned": doubles,
        "duplicates": duplicates,
        "false_accept_timeouts": false_timeouts,
        "accept_timeouts_by_cause": {cause: sorted(ids) for cause, ids in by_cause.items()},
        "faults": recoveries,
        "poison_blocking": [
            {
                **asdict(p),
                "group": g,
                # which services sent this record to the dead letters (other groups)
                "dead_lettered_by": sorted(
                    topics.dead_letters.get((p.topic, p.partition, p.offset), ())
                ),
            }
            for p, g in blocking
        ],
        "poison_unjudged": [asdict(p) for p in {*unjudged, *group_less}],
        "readers": topics.readers,
        "service_exits": [
            {**asdict(e), "at_s": round(e.at - marks["load_started"], 1)} for e in ledger.exits
        ],
    }
    return figures, details
