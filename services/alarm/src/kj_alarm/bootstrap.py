"""Builds the alarm service: its wiring diagram (settings → pool, classifier, intake writer,
outbox relay, HTTP app, consumers). Tests build it with the same function; `kj_runtime.host`
runs it."""

from dataclasses import dataclass

from kj_alarm.adapters.relay import LingeringRelay
from kj_alarm.domain.duplicates import MergeRule
from kj_alarm.domain.tiers import TierClassifier
from kj_alarm.entrypoints.http import create_app
from kj_alarm.entrypoints.kafka_intake import KafkaIntake, rejected
from kj_alarm.entrypoints.workorder_events import WorkOrderTimeline
from kj_alarm.service_layer.deps import Deps, GroupCommit
from kj_alarm.service_layer.intake import IntakeWriter
from kj_alarm.settings import AlarmSettings
from kj_runtime.consume import Route, Subscription
from kj_runtime.db import relay_pool, work_pool
from kj_runtime.host import Service
from kj_runtime.integrations import IntegrationRegistry
from kj_runtime.kafka import make_producer
from kj_runtime.outbox import Outbox
from kj_schemas.alarms import decode_intake
from kj_schemas.city import load_city
from kj_schemas.commands import CommandHandled
from kj_schemas.enums import ResponseTier
from kj_schemas.notify import DeliveryReceipt
from kj_schemas.topics import (
    ALARMS_INTAKE,
    DISPATCH_COMMAND_RESULTS,
    DISPATCH_WORKORDERS,
    NOTIFY_RECEIPTS,
    WORKORDERS_EVENTS,
)
from kj_schemas.workorders import WorkOrder, WorkOrderEvent

SERVICE = "alarm"


def classifier_for(settings: AlarmSettings) -> tuple[TierClassifier, str]:
    city = load_city(settings.city_dir)
    targets = dict(city.targets)
    if settings.county_target_seconds is not None:
        targets[ResponseTier.county] = settings.county_target_seconds
    return TierClassifier(city.zones, targets), city.region


@dataclass
class Alarm:
    """The alarm service's own objects, for its tests."""

    deps: Deps
    writer: IntakeWriter


async def build(settings: AlarmSettings) -> Service[Alarm]:
    classifier, region = classifier_for(settings)
    pool = await work_pool(settings.postgres, timeout=5)
    relays = await relay_pool(settings.postgres, timeout=5)
    outbox = Outbox(SERVICE, settings.kafka)
    deps = Deps(
        pool=pool,
        classifier=classifier,
        region=region,
        outbox=outbox,
        merge_rule=MergeRule(settings.merge_distance_m, settings.merge_window_s),
        replan_beyond_m=settings.update_replan_distance_m,
        group_commit=GroupCommit(
            writers=settings.intake_writers,
            max_batch=settings.intake_max_batch,
            linger_s=settings.intake_linger_ms / 1000,
        ),
    )
    writer = IntakeWriter(deps)  # group commit (decision 0011)
    registry = IntegrationRegistry(
        pool, settings.registry, service=SERVICE, static=settings.integrations
    )
    await registry.load()  # before the HTTP server opens
    relay = LingeringRelay(
        relays,
        # no producer linger: a pass's rows are handed over together and go in one request
        # anyway; the relay's own linger is the one that waits for company (decision 0167)
        lambda: make_producer(settings.kafka, linger_ms=0),
        outbox,
        linger_s=settings.relay_linger_ms / 1000,
    )

    async def database_answers() -> bool:
        return bool(await pool.fetchval("select true", timeout=2))

    service = Service(
        SERVICE,
        settings,
        core=Alarm(deps, writer),
        app=create_app(settings, deps, writer, registry),
        checks={"postgres": database_answers},
        loops={"outbox-relay": relay.run, "integration-registry": registry.run},
    )
    service.resources.push_async_callback(pool.close)
    service.resources.push_async_callback(relays.close)
    service.resources.push_async_callback(writer.close)
    if settings.consume_intake:
        intake = KafkaIntake(writer, registry, deps)
        service.subscriptions.append(
            Subscription(
                "intake",
                settings.kafka.group("alarm-intake"),
                # reports, and their updates and cancels (decision 0115)
                (Route(ALARMS_INTAKE.name, decode_intake, intake.handle, reason_for=rejected),),
            )
        )
    timeline = WorkOrderTimeline(deps)
    if settings.consume_workorders:
        service.subscriptions.append(
            Subscription(
                "timeline",
                settings.kafka.group("alarm-timeline"),
                (  # work orders before their events
                    Route.of(DISPATCH_WORKORDERS.name, WorkOrder, timeline.on_work_orders),
                    Route.of(WORKORDERS_EVENTS.name, WorkOrderEvent, timeline.on_events),
                    # dispatchers' commands, with who gave them and dispatch's answer
                    Route.of(
                        DISPATCH_COMMAND_RESULTS.name, CommandHandled, timeline.on_command_results
                    ),
                ),
            )
        )
    if settings.consume_receipts:
        service.subscriptions.append(
            Subscription(
                "receipts",
                settings.kafka.group("alarm-receipts"),
                (Route.of(NOTIFY_RECEIPTS.name, DeliveryReceipt, timeline.on_receipts),),
            )
        )
    return service
