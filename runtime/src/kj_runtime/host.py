"""The one service host: every service's `bootstrap.build()` returns a `Service` (its wiring
diagram: subscriptions, background loops, HTTP app, readiness checks, resources), and the host
runs it the same way everywhere:

    start:  restore steps → consumers join their groups → loops → HTTP server → ready
            (`serve`, a service's process: the HTTP server and loops do not wait for the joins)
    stop:   (SIGTERM/SIGINT or `stop` set) → before-stop hooks → loops and consumers finish
            their batch and commit → HTTP server closes → resources close, in reverse order

A loop or consumer that ends while the service should be running is a crash, not a quiet
degradation: `/readyz` answers 503 from then on and the process exits non-zero, so Kubernetes
restarts it (issue 14: a dead consumer used to keep its partitions while `/readyz` said 200).
"""

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from kj_runtime import heap, loop_lag
from kj_runtime.consume import Consumer, Subscription
from kj_runtime.deadletters import DeadLetters
from kj_runtime.http_body_limit import BodyLimit
from kj_runtime.http_errors import answer_problems
from kj_runtime.http_ops import ReadinessCheck, add_ops_routes
from kj_runtime.http_server import SpreadKeepaliveProtocol, guarded_http_protocol
from kj_runtime.kafka import Assignments, make_consumer, make_producer, stop_consumer
from kj_runtime.lifecycle import stop_on_signals
from kj_runtime.logging import configure_logging
from kj_runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
# a WebSocket message larger than this closes the socket (1009); uvicorn's default is 16 MiB
WS_MAX_BYTES = 65_536
Step = Callable[[], Awaitable[Any]]
C = TypeVar("C")


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service's one stop event rules."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Service(Generic[C]):
    """A service as its bootstrap wires it. `core` is the service's own object (the
    dispatcher, the tracker...) for its tests and entrypoints; the host never looks inside."""

    name: str
    settings: ServiceSettings
    core: C
    app: FastAPI | None = None
    subscriptions: list[Subscription] = field(default_factory=list)
    loops: dict[str, Loop] = field(default_factory=dict)
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    restore: list[Step] = field(default_factory=list)  # before anything is consumed
    before_stop: list[Step] = field(default_factory=list)  # e.g. close terminals' sockets
    resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    producer: AIOKafkaProducer | None = None  # started; the host's dead letters use it
    # over `server_options(settings)`, e.g. notify's WebSocket frame limit
    uvicorn_options: dict[str, Any] = field(default_factory=dict)


def server_options(settings: ServiceSettings) -> dict[str, Any]:
    """uvicorn's options for every service (decision 0074): no logging of its own, no lifespan
    (the host starts and stops everything), the request read deadline and head size limit,
    the idle keep-alive timeout, a WebSocket message limit and pings, no Server header."""
    return {
        "log_config": None,
        "access_log": False,
        "lifespan": "off",
        "http": guarded_http_protocol(
            read_timeout_s=settings.http_read_timeout_s,
            max_head_bytes=settings.http_max_head_bytes,
        ),
        "timeout_keep_alive": settings.http_idle_timeout_s,
        "ws": SpreadKeepaliveProtocol,  # pings spread over the interval (decision 0182)
        "ws_max_size": WS_MAX_BYTES,
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_interval_s,
        "server_header": False,
    }


class Host(Generic[C]):
    def __init__(self, service: Service[C], stop: asyncio.Event) -> None:
        self.service = service
        self.stop = stop
        self.ready = asyncio.Event()
        self.failed: str | None = None  # the first loop that died
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._servers: list[tuple[QuietServer, asyncio.Task[None]]] = []
        self._watch: asyncio.Task[None] | None = None
        self.ops_app: FastAPI | None = None  # /metrics and the API pages, when on the ops port

    @property
    def core(self) -> C:
        return self.service.core

    async def start(self, *, http: bool = True, before_joining: bool = False) -> None:
        """Starts the service. With `before_joining`, the loops and the HTTP server start (and
        the service is ready) while the consumers still join their groups: a process restarted
        after a crash waits until the dead process's session ends for its partitions (up to
        the session timeout), and taking alarms over HTTP, answering terminals or planning
        needs none of them. Without it (tests, tools) start returns once every consumer has
        its partitions."""
        service, settings = self.service, self.service.settings
        app = service.app or FastAPI(title=f"kj-{service.name}")
        service.app = app
        answer_problems(app, retry_after_s=settings.retry_after_s)
        if not any(m.cls is BodyLimit for m in app.user_middleware):  # alarm sets its own
            app.add_middleware(BodyLimit, max_bytes=settings.http_max_body_bytes)
        separate = settings.ops_port is not None
        ops = add_ops_routes(app, {**service.checks, "tasks": self._alive}, separate=separate)
        self.ops_app = ops
        for step in service.restore:
            await step()
        if service.subscriptions:
            if service.producer is None:
                producer = make_producer(settings.kafka)
                await producer.start()
                service.resources.push_async_callback(producer.stop)
                service.producer = producer
            dead_letters = DeadLetters(service.producer, service=service.name, kafka=settings.kafka)
        runners: dict[str, Consumer] = {}
        for sub in service.subscriptions:
            topics = [route.topic for route in sub.routes]
            assignments = Assignments() if sub.group is not None else None
            consumer = make_consumer(
                settings.kafka, *topics, group_id=sub.group, assignments=assignments, **sub.options
            )
            service.resources.push_async_callback(stop_consumer, consumer)
            runner = Consumer(sub, consumer, dead_letters, settings.kafka, assignments)
            runners[f"consume:{sub.name}"] = runner
            self._spawn(f"consume:{sub.name}", runner.run)
        if not before_joining:
            await self._joined(runners)
        for name, loop in service.loops.items():
            self._spawn(name, loop)
        self._spawn("loop-lag", loop_lag.probe)
        if http:
            options = {**server_options(settings), **service.uvicorn_options}
            self._serve(app, settings.http_host, settings.http_port, options, "http")
            if ops is not None and settings.ops_port is not None:
                self._serve(ops, settings.ops_host, settings.ops_port, options, "http-ops")
        self._watch = asyncio.create_task(self._watch_tasks(), name="watch")
        self.ready.set()
        log.info("service_started", service=service.name, tasks=sorted(self._tasks))

    async def _joined(self, runners: dict[str, Consumer]) -> None:
        """Until every consumer has its partitions; one that fails to start fails the start."""
        for name, runner in runners.items():
            task = self._tasks[name]
            started = asyncio.ensure_future(runner.started.wait())
            await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
            if not started.done():
                started.cancel()
                task.result()  # its start-up error
                raise RuntimeError(f"{name} ended before it joined its group")

    def _serve(
        self, app: FastAPI, host: str, port: int, options: dict[str, Any], name: str
    ) -> None:
        server = QuietServer(uvicorn.Config(app, host=host, port=port, **options))
        self._servers.append((server, asyncio.create_task(server.serve(), name=name)))

    def _spawn(self, name: str, loop: Loop) -> None:
        self._tasks[name] = asyncio.create_task(loop(self.stop), name=name)

    async def _alive(self) -> bool:
        return self.failed is None and all(not task.done() for task in self._tasks.values())

    async def _watch_tasks(self) -> None:
        """The first loop to end before the stop was asked for takes the service down."""
        names: dict[asyncio.Future[Any], str] = {t: n for n, t in self._tasks.items()}
        pending = set(names)
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self.stop.wait())
        try:
            while pending and not self.stop.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopping}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopping)
                for task in done:
                    if task is stopping or self.stop.is_set():
                        continue
                    self.failed = self.failed or names[task]
                    error = None if task.cancelled() else task.exception()
                    log.error(
                        "task_died",
                        service=self.service.name,
                        task=names[task],
                        error=repr(error),
                        exc_info=error,
                    )
                if self.failed is not None:
                    self.stop.set()
        finally:
            stopping.cancel()

    async def close(self, *, timeout_s: float = 10.0) -> None:
        self.stop.set()
        for step in self.service.before_stop:
            with contextlib.suppress(Exception):
                await step()
        for server, _ in self._servers:
            server.should_exit = True
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                log.warning("task_did_not_stop", task=task.get_name())
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for _, serving in self._servers:
            with contextlib.suppress(Exception):
                await serving
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        await self.service.resources.aclose()
        log.info("service_stopped", service=self.service.name, failed=self.failed)


@contextlib.asynccontextmanager
async def hosted(
    service: Service[C],
    stop: asyncio.Event | None = None,
    *,
    http: bool = True,
    before_joining: bool = False,
) -> AsyncIterator[Host[C]]:
    """Runs `service` for the block: tests and tools use it as the CLI does (by default the
    block begins once every consumer has its partitions)."""
    host = Host(service, stop or asyncio.Event())
    try:
        await host.start(http=http, before_joining=before_joining)
        yield host
    finally:
        await host.close()


async def serve(service: Service[C], stop: asyncio.Event) -> int:
    """Until `stop`; returns the process's exit code (1 when a loop died)."""
    async with hosted(service, stop, before_joining=True) as host:
        await stop.wait()
    return 1 if host.failed else 0


def main(
    name: str,
    settings_type: Callable[[], ServiceSettings],
    build: Callable[[Any], Awaitable[Service[Any]]],
) -> None:
    """A service's command line: settings from the environment, logging, signals, uvloop."""
    import uvloop  # uvicorn[standard] brings it: cheaper sockets for the Kafka, PG and HTTP I/O

    settings = settings_type()
    configure_logging(name, level=settings.log_level, json=settings.log_json)

    async def run() -> int:
        stop = asyncio.Event()
        stop_on_signals(stop)
        log.info("service_starting", service=name, http_port=settings.http_port)
        service = await build(settings)
        heap.settle()  # what start-up built lives as long as the process
        return await serve(service, stop)

    sys.exit(uvloop.run(run()))
