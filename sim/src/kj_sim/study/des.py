"""The discrete-event simulation: incidents arrive, a policy assigns units, units travel
(true travel times from `Roads`), stay on scene, and return to patrol. No broker, no
database: the policy under test is called directly."""

import heapq
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

import numpy as np

from kj_sim.study.world import PATROL_RADIUS_M, Fleet, Incident, Roads

RETURN_SPEED_M_S = 6.0


class UnitState(IntEnum):
    idle = 0  # patrolling or returning: can be sent
    en_route = 1
    on_scene = 2


@dataclass(frozen=True)
class Order:
    """One decision of a policy: send `unit` to `incident` (`preempt` if it was en route)."""

    incident: int
    unit: int
    preempt: bool = False


@dataclass
class Units:
    """What a policy may look at: where each unit is now and what it is doing."""

    fleet: Fleet
    state: np.ndarray
    x: np.ndarray
    y: np.ndarray
    heading_to: np.ndarray  # the incident a unit is en route to, -1 if none
    fix_age_s: np.ndarray  # how old each unit's last GPS fix is

    @property
    def idle(self) -> np.ndarray:
        return self.state == UnitState.idle


class Policy(Protocol):
    name: str
    batch_window_s: float

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]: ...


@dataclass
class Outcome:
    incident: Incident
    first_arrival_s: float | None = None
    units_sent: int = 0
    preempted: int = 0


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    kind: str = field(compare=False)
    unit: int = field(compare=False, default=-1)
    incident: int = field(compare=False, default=-1)
    version: int = field(compare=False, default=0)


class Simulation:
    def __init__(self, fleet: Fleet, incidents: list[Incident], policy: Policy, seed: int) -> None:
        self.fleet = fleet
        self.incidents = incidents
        self.policy = policy
        self.roads = Roads(seed)
        self.rng = np.random.default_rng(seed + 7)
        n = len(fleet.unit_ids)
        self.state = np.full(n, UnitState.idle, dtype=np.int8)
        # a unit moves from (from_x, from_y) at from_t towards (to_x, to_y), reached at to_t
        angle = self.rng.uniform(0, 2 * np.pi, n)
        radius = PATROL_RADIUS_M * np.sqrt(self.rng.uniform(0, 1, n))
        self.from_x = fleet.base_x + radius * np.cos(angle)
        self.from_y = fleet.base_y + radius * np.sin(angle)
        self.to_x, self.to_y = self.from_x.copy(), self.from_y.copy()
        self.from_t = np.zeros(n)
        self.to_t = np.zeros(n)
        self.heading_to = np.full(n, -1)
        self.version = np.zeros(n, dtype=np.int64)
        self.outcomes = [Outcome(incident) for incident in incidents]
        self.pending: list[int] = []
        self._events: list[_Event] = []
        self._seq = 0
        self._decide_scheduled = False

    def _push(self, at: float, kind: str, **data: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, _Event(at, self._seq, kind, **data))

    def _positions(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        span = np.maximum(self.to_t - self.from_t, 1e-9)
        share = np.clip((now - self.from_t) / span, 0.0, 1.0)
        return (
            self.from_x + (self.to_x - self.from_x) * share,
            self.from_y + (self.to_y - self.from_y) * share,
        )

    def run(self) -> list[Outcome]:
        for incident in self.incidents:
            self._push(incident.at, "call", incident=incident.index)
        while self._events:
            event = heapq.heappop(self._events)
            if event.kind == "call":
                self.pending.append(event.incident)
                self._schedule_decision(event.at)
            elif event.kind == "decide":
                self._decide_scheduled = False
                self._decide(event.at)
            elif event.kind == "arrive" and event.version == self.version[event.unit]:
                self._arrive(event.at, event.unit, event.incident)
            elif event.kind == "clear" and event.version == self.version[event.unit]:
                self._clear(event.at, event.unit)
        return self.outcomes

    def _schedule_decision(self, now: float) -> None:
        if not self._decide_scheduled:
            self._decide_scheduled = True
            self._push(now + self.policy.batch_window_s, "decide")

    def _decide(self, now: float) -> None:
        if not self.pending:
            return
        x, y = self._positions(now)
        units = Units(
            self.fleet,
            self.state.copy(),
            x,
            y,
            self.heading_to.copy(),
            fix_age_s=self.rng.exponential(2.0, len(x)),
        )
        pending = [self.incidents[i] for i in self.pending]
        for order in self.policy.decide(now, pending, units, self.incidents):
            self._send(now, order, x, y)

    def _send(self, now: float, order: Order, x: np.ndarray, y: np.ndarray) -> None:
        unit, incident = order.unit, self.incidents[order.incident]
        if order.preempt:
            previous = int(self.heading_to[unit])
            if self.state[unit] != UnitState.en_route or previous < 0:
                return
            self.outcomes[previous].units_sent -= 1
            self.outcomes[previous].preempted += 1
            if self.outcomes[previous].units_sent == 0 and previous not in self.pending:
                self.pending.append(previous)
        elif self.state[unit] != UnitState.idle:
            return
        distance = float(np.hypot(x[unit] - incident.x, y[unit] - incident.y))
        travel = self.roads.travel_s(self.fleet.kinds[unit], distance)
        self.version[unit] += 1
        self.state[unit] = UnitState.en_route
        self.heading_to[unit] = incident.index
        self.from_x[unit], self.from_y[unit], self.from_t[unit] = x[unit], y[unit], now
        self.to_x[unit], self.to_y[unit], self.to_t[unit] = incident.x, incident.y, now + travel
        outcome = self.outcomes[incident.index]
        outcome.units_sent += 1
        if incident.index in self.pending:
            self.pending.remove(incident.index)
        self._push(
            now + travel,
            "arrive",
            unit=unit,
            incident=incident.index,
            version=int(self.version[unit]),
        )
        if order.preempt and self.pending:
            self._schedule_decision(now)

    def _arrive(self, now: float, unit: int, incident: int) -> None:
        self.state[unit] = UnitState.on_scene
        self.heading_to[unit] = -1
        outcome = self.outcomes[incident]
        if outcome.first_arrival_s is None:
            outcome.first_arrival_s = now - outcome.incident.at
        self._push(
            now + outcome.incident.on_scene_s, "clear", unit=unit, version=int(self.version[unit])
        )

    def _clear(self, now: float, unit: int) -> None:
        self.version[unit] += 1
        self.state[unit] = UnitState.idle
        angle, radius = (
            self.rng.uniform(0, 2 * np.pi),
            PATROL_RADIUS_M * np.sqrt(self.rng.uniform()),
        )
        self.from_x[unit], self.from_y[unit] = self.to_x[unit], self.to_y[unit]
        self.to_x[unit] = self.fleet.base_x[unit] + radius * np.cos(angle)
        self.to_y[unit] = self.fleet.base_y[unit] + radius * np.sin(angle)
        distance = float(
            np.hypot(self.to_x[unit] - self.from_x[unit], self.to_y[unit] - self.from_y[unit])
        )
        self.from_t[unit], self.to_t[unit] = now, now + distance / RETURN_SPEED_M_S
        if self.pending:
            self._schedule_decision(now)
