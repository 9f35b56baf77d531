"""What dispatch tells its operators: the Prometheus metrics and one log line per outcome (an
alarm assigned or queued, a work order lost, an arrival measured, a restart). The service layer
calls one of these per outcome, so its handlers hold no counters or log fields."""

from collections.abc import Mapping

import structlog

from kj_dispatch import metrics
from kj_dispatch.domain.book import Book
from kj_dispatch.domain.measurement import Measurement
from kj_dispatch.domain.positioning import Coverage
from kj_dispatch.domain.repositions import OpenReposition
from kj_dispatch.domain.workorder import OpenOrder
from kj_schemas.alarms import AlarmAccepted
from kj_schemas.enums import EventSource

log = structlog.get_logger(__name__)


def regions_taken(epochs: Mapping[str, int], book: Book) -> None:
    queue_length(book)
    for region in epochs:
        metrics.REGIONS_HELD.labels(region).set(1)
    log.info(
        "regions_taken",
        epochs=dict(epochs),
        waiting=len(book.waiting),
        open_orders=len(book.orders),
    )


def stood_down(region: str, why: str, alarms: int) -> None:
    metrics.REGIONS_HELD.labels(region).set(0)
    metrics.STOOD_DOWN_TOTAL.labels(why).inc()
    log.warning("region_stood_down", region=region, why=why, alarms_left=alarms)


def reconciled(alarms: int) -> None:
    metrics.RECONCILED_TOTAL.inc(alarms)
    log.warning("alarms_reconciled", alarms=alarms)


def caught_up(amendments: int) -> None:
    metrics.CAUGHT_UP_TOTAL.inc(amendments)
    log.warning("amendments_caught_up", amendments=amendments)


def queue_length(book: Book) -> None:
    metrics.QUEUED_ALARMS.set(len(book.queued))


def planned(seconds: float) -> None:
    metrics.PLAN_SECONDS.observe(seconds)


def assigned(alarm: AlarmAccepted, orders: list[OpenOrder]) -> None:
    primary = orders[0]
    for order in orders:
        metrics.ASSIGNMENTS_TOTAL.labels(order.role, order.reason).inc()
    if primary.at_risk:
        metrics.AT_RISK_TOTAL.labels(str(alarm.tier)).inc()
    metrics.PLATFORM_SHARE_SECONDS.labels(str(alarm.tier)).observe(
        max((primary.issued_at - alarm.received_at).total_seconds(), 0.0)
    )
    log.info(
        "alarm_assigned",
        alarm_id=str(alarm.alarm_id),
        units=[o.unit_id for o in orders],
        reason=primary.reason,
        eta_s=round(primary.eta_s, 1),
        at_risk=primary.at_risk,
    )


def queued(alarm: AlarmAccepted, reason: str) -> None:
    metrics.SHORTFALLS_TOTAL.labels(reason).inc()
    log.info("alarm_queued", alarm_id=str(alarm.alarm_id), reason=reason)


def lost(reason: str) -> None:
    """One of our work orders was withdrawn or declined."""
    metrics.WITHDRAWALS_TOTAL.labels(reason).inc()


def not_accepted(order: OpenOrder) -> None:
    log.info("work_order_not_accepted", unit_id=order.unit_id)


def conflict() -> None:
    metrics.UNIT_CONFLICTS_TOTAL.inc()


def replanned(alarm: AlarmAccepted, held: set[str]) -> None:
    log.info("unit_conflict_replan", alarm_id=str(alarm.alarm_id), units=sorted(held))


def units_available(free: Mapping[str, int]) -> None:
    for platform_id, count in free.items():
        metrics.UNITS_AVAILABLE.labels(platform_id).set(count)


def arrived(alarm: AlarmAccepted, platform_id: str, m: Measurement, source: EventSource) -> None:
    """The primary unit's first arrival: the response time the 1/3/5 promise is measured by."""
    tier = str(alarm.tier)
    metrics.RESPONSE_SECONDS.labels(tier).observe(m.response_s)
    metrics.CITIZEN_WAIT_SECONDS.labels(tier).observe(m.citizen_s)
    metrics.TARGET_TOTAL.labels(tier, platform_id, "met" if m.target_met else "missed").inc()
    log.info(
        "on_scene",
        alarm_id=str(alarm.alarm_id),
        response_s=round(m.response_s, 1),
        citizen_s=round(m.citizen_s, 1),
        platform_s=round(m.platform_s, 3),
        target_met=m.target_met,
        source=str(source),
    )


def restored(order: OpenOrder) -> None:
    metrics.RESTORED_TOTAL.inc()
    log.info(
        "timely_accept_restored",
        unit_id=order.unit_id,
        alarm_id=str(order.alarm_id),
        role=str(order.role),
    )


def repositioned(reposition: OpenReposition) -> None:
    metrics.REPOSITIONS_TOTAL.labels(reposition.reason).inc()
    log.info(
        "unit_repositioned",
        unit_id=reposition.unit_id,
        post_id=reposition.post_id,
        reason=reposition.reason,
    )


def coverage(coverage: Coverage, *, posts_held: int, posts_occupied: int) -> None:
    """The live coverage: the expected share of calls on target were one to come now."""
    metrics.COVERAGE_RATIO.labels("all").set(coverage.overall)
    for tier, share in coverage.by_tier.items():
        metrics.COVERAGE_RATIO.labels(str(tier)).set(share)
    metrics.POSTS.labels("held").set(posts_held)
    metrics.POSTS.labels("occupied").set(posts_occupied)
