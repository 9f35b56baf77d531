"""The discrete-event simulation: incidents reach the platform, a policy assigns units, units
accept, turn out and drive (the truth from `Truth`), stay on scene, and are free again. A free
unit then obeys the positioning: it drives to its post and patrols a small circle around it
(有警出警、无警巡逻; a call supersedes at once), or, with no positioning, it waits at a random
point near its base as today. No broker, no database: the policy and the planner under test are
called directly. What the platform would measure (work-order timings, busy time) is kept for
the planner and the ETA fit of the next days."""

import heapq
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

import numpy as np

from kj_dispatch.domain.eta_calibration import MeasuredResponse
from kj_sim.study.world import PATROL_RADIUS_M, Fleet, Incident, Truth

PATROL_SPEED_M_S = 3.0  # riding slowly round the post


class UnitState(IntEnum):
    idle = 0  # patrolling, waiting, or driving to a post: can be sent
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
    coverage_cost: np.ndarray | None = None  # expected on-target calls lost if it leaves

    @property
    def idle(self) -> np.ndarray:
        return self.state == UnitState.idle


class Policy(Protocol):
    name: str
    batch_window_s: float
    weighs_coverage: bool

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]: ...


class Positioning(Protocol):
    """Where free units go. Posts are points in the study's metres."""

    posts_x: np.ndarray
    posts_y: np.ndarray
    patrol_radius_m: float

    def start(self, sim: "Simulation") -> list[tuple[int, int]]:
        """(unit, post) for every unit at the start of the day."""
        ...

    def freed(self, sim: "Simulation", now: float, unit: int) -> int | None: ...

    def dispatched(
        self, sim: "Simulation", now: float, sent: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """Move-ups after units were sent, `sent` the (unit, post it left or -1): (unit, post)."""
        ...

    def coverage_cost(self, sim: "Simulation", now: float) -> np.ndarray: ...


@dataclass
class Outcome:
    incident: Incident
    first_arrival_s: float | None = None  # from the platform's receipt (the 1/3/5 clock)
    units_sent: int = 0
    preempted: int = 0

    @property
    def citizen_s(self) -> float | None:
        """The citizen's wait: from the first call to police on scene."""
        if self.first_arrival_s is None:
            return None
        return self.first_arrival_s + self.incident.at - self.incident.called_at


@dataclass
class Costs:
    """What positioning costs: trips not on a call, per unit, and busy time for q."""

    moves: np.ndarray  # trips ordered to a post or waiting point
    move_ups: np.ndarray  # of those, idle units moved to fill a hole
    km: np.ndarray  # road kilometres of those trips
    busy_s_by_hour: np.ndarray = field(default_factory=lambda: np.zeros(24))


@dataclass(order=True)
class _Event:
    at: float
    seq: int
    kind: str = field(compare=False)
    unit: int = field(compare=False, default=-1)
    incident: int = field(compare=False, default=-1)
    version: int = field(compare=False, default=0)


class Simulation:
    def __init__(
        self,
        fleet: Fleet,
        incidents: list[Incident],
        policy: Policy,
        seed: int,
        *,
        positioning: Positioning | None = None,
    ) -> None:
        self.fleet = fleet
        self.incidents = incidents
        self.policy = policy
        self.positioning = positioning
        self.truth = Truth(seed, len(incidents))
        self._waiting = np.random.default_rng([seed, 21])  # random waiting points (today)
        self._patrol = np.random.default_rng([seed, 22])  # patrol circles at posts
        self._fixes = np.random.default_rng([seed, 23])  # GPS fix ages
        n = len(fleet.unit_ids)
        self.n = n
        self.state = np.full(n, UnitState.idle, dtype=np.int8)
        # a unit moves from (from_x, from_y) at from_t towards (to_x, to_y), reached at to_t;
        # at a post (post >= 0) it then rides a circle of patrol_r round the post
        angle = self._waiting.uniform(0, 2 * np.pi, n)
        radius = PATROL_RADIUS_M * np.sqrt(self._waiting.uniform(0, 1, n))
        self.from_x = fleet.base_x + radius * np.cos(angle)
        self.from_y = fleet.base_y + radius * np.sin(angle)
        self.to_x, self.to_y = self.from_x.copy(), self.from_y.copy()
        self.from_t = np.zeros(n)
        self.to_t = np.zeros(n)
        self.post = np.full(n, -1)
        self.patrol_r = np.zeros(n)
        self.patrol_phase = np.zeros(n)
        self.heading_to = np.full(n, -1)
        self.version = np.zeros(n, dtype=np.int64)
        self.outcomes = [Outcome(incident) for incident in incidents]
        self.costs = Costs(np.zeros(n, dtype=int), np.zeros(n, dtype=int), np.zeros(n))
        self.responses: list[MeasuredResponse] = []
        self._move_ups: list[tuple[int, float]] = []  # (unit, when) of every move-up
        self.pending: list[int] = []
        self._trips = np.zeros(len(incidents), dtype=int)
        self._underway: dict[int, tuple[MeasuredResponse, int]] = {}
        self._busy_since = np.full(n, np.nan)
        self._events: list[_Event] = []
        self._seq = 0
        self._decide_scheduled = False
        if positioning is not None:
            for unit, post in positioning.start(self):
                self._place(unit, post, 0.0)

    # --- where units are ---------------------------------------------------------------

    def positions(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        span = np.maximum(self.to_t - self.from_t, 1e-9)
        share = np.clip((now - self.from_t) / span, 0.0, 1.0)
        x = self.from_x + (self.to_x - self.from_x) * share
        y = self.from_y + (self.to_y - self.from_y) * share
        patrol = (self.state == UnitState.idle) & (self.patrol_r > 0) & (now >= self.to_t)
        if patrol.any() and self.positioning is not None:
            r = self.patrol_r[patrol]
            angle = self.patrol_phase[patrol] + PATROL_SPEED_M_S / r * (now - self.to_t[patrol])
            posts = self.post[patrol]
            x[patrol] = self.positioning.posts_x[posts] + r * np.cos(angle)
            y[patrol] = self.positioning.posts_y[posts] + r * np.sin(angle)
        return x, y

    def move_ups_since(self, since: float) -> np.ndarray:
        """Move-ups per unit after `since` (the planner's budget is per unit and hour)."""
        recent = []
        for unit, at in reversed(self._move_ups):  # in time order: stop at the first too old
            if at <= since:
                break
            recent.append(unit)
        return np.bincount(np.array(recent, dtype=int), minlength=self.n)

    def settled(self, now: float) -> np.ndarray:
        """Idle units patrolling at their post (not driving to it)."""
        return (self.state == UnitState.idle) & (self.post >= 0) & (now >= self.to_t)

    def _place(self, unit: int, post: int, now: float) -> None:
        """Put a unit at its post at once (the start of the day: the shift began there)."""
        assert self.positioning is not None
        r, phase = self._circle()
        self.post[unit], self.patrol_r[unit], self.patrol_phase[unit] = post, r, phase
        px, py = self.positioning.posts_x[post], self.positioning.posts_y[post]
        self.from_x[unit] = self.to_x[unit] = px + r * np.cos(phase)
        self.from_y[unit] = self.to_y[unit] = py + r * np.sin(phase)
        self.from_t[unit] = self.to_t[unit] = now

    def _circle(self) -> tuple[float, float]:
        assert self.positioning is not None
        r = self.positioning.patrol_radius_m * float(self._patrol.uniform(0.5, 1.0))
        return r, float(self._patrol.uniform(0, 2 * np.pi))

    def _go(self, now: float, unit: int, to_x: float, to_y: float, post: int = -1) -> None:
        """An order to drive somewhere that is not a call: a post (then patrol round it), or a
        waiting point. The trip starts from where the unit is now."""
        x, y = self.positions(now)  # before the order changes what the unit is doing
        distance = float(np.hypot(to_x - x[unit], to_y - y[unit]))
        seconds, path = self.truth.reposition(self.fleet.kinds[unit], distance, now)
        self.version[unit] += 1
        self.from_x[unit], self.from_y[unit], self.from_t[unit] = x[unit], y[unit], now
        self.to_x[unit], self.to_y[unit], self.to_t[unit] = to_x, to_y, now + seconds
        self.post[unit] = post
        self.costs.moves[unit] += 1
        self.costs.km[unit] += path / 1000

    def _go_to_post(self, now: float, unit: int, post: int) -> None:
        assert self.positioning is not None
        r, phase = self._circle()
        px, py = self.positioning.posts_x[post], self.positioning.posts_y[post]
        self._go(now, unit, px + r * np.cos(phase), py + r * np.sin(phase), post)
        self.patrol_r[unit], self.patrol_phase[unit] = r, phase

    # --- the day -----------------------------------------------------------------------

    def _push(self, at: float, kind: str, **data: int) -> None:
        self._seq += 1
        heapq.heappush(self._events, _Event(at, self._seq, kind, **data))

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
        x, y = self.positions(now)
        cost = None
        if self.policy.weighs_coverage and self.positioning is not None:
            cost = self.positioning.coverage_cost(self, now)
        units = Units(
            self.fleet,
            self.state.copy(),
            x,
            y,
            self.heading_to.copy(),
            fix_age_s=self._fixes.exponential(2.0, len(x)),
            coverage_cost=cost,
        )
        pending = [self.incidents[i] for i in self.pending]
        sent = []
        for order in self.policy.decide(now, pending, units, self.incidents):
            left = int(self.post[order.unit])
            if self._send(now, order, x, y):
                sent.append((order.unit, left))
        if sent and self.positioning is not None:
            for unit, post in self.positioning.dispatched(self, now, sent):
                if self.state[unit] == UnitState.idle:
                    self._go_to_post(now, unit, post)
                    self.costs.move_ups[unit] += 1
                    self._move_ups.append((unit, now))

    def _send(self, now: float, order: Order, x: np.ndarray, y: np.ndarray) -> int:
        unit, incident = order.unit, self.incidents[order.incident]
        if order.preempt:
            previous = int(self.heading_to[unit])
            if self.state[unit] != UnitState.en_route or previous < 0:
                return 0
            self.outcomes[previous].units_sent -= 1
            self.outcomes[previous].preempted += 1
            if self.outcomes[previous].units_sent == 0 and previous not in self.pending:
                self.pending.append(previous)
        elif self.state[unit] != UnitState.idle:
            return 0
        kind = self.fleet.kinds[unit]
        distance = float(np.hypot(x[unit] - incident.x, y[unit] - incident.y))
        k = int(self._trips[incident.index])
        self._trips[incident.index] += 1
        trip = self.truth.response(incident.index, k, kind, distance, now, moving=order.preempt)
        self.version[unit] += 1
        if np.isnan(self._busy_since[unit]):
            self._busy_since[unit] = now
        self.state[unit] = UnitState.en_route
        self.heading_to[unit] = incident.index
        self.post[unit], self.patrol_r[unit] = -1, 0.0
        moving_at = now + trip.accept_s + trip.turnout_s
        self.from_x[unit], self.from_y[unit], self.from_t[unit] = x[unit], y[unit], moving_at
        self.to_x[unit], self.to_y[unit] = incident.x, incident.y
        self.to_t[unit] = moving_at + trip.drive_s
        if not order.preempt:  # what the work order's events would show, kept for the ETA fit
            record = MeasuredResponse(
                kind,
                distance,
                int(now // 3600) % 24,
                trip.accept_s,
                trip.turnout_s,
                trip.drive_s,
                trip.path_m,
            )
            self._underway[unit] = (record, int(self.version[unit]))
        else:
            self._underway.pop(unit, None)
        outcome = self.outcomes[incident.index]
        outcome.units_sent += 1
        if incident.index in self.pending:
            self.pending.remove(incident.index)
        self._push(
            now + trip.total_s,
            "arrive",
            unit=unit,
            incident=incident.index,
            version=int(self.version[unit]),
        )
        if order.preempt and self.pending:
            self._schedule_decision(now)
        return 1

    def _arrive(self, now: float, unit: int, incident: int) -> None:
        self.state[unit] = UnitState.on_scene
        self.heading_to[unit] = -1
        underway = self._underway.pop(unit, None)
        if underway is not None and underway[1] == self.version[unit]:
            self.responses.append(underway[0])
        outcome = self.outcomes[incident]
        if outcome.first_arrival_s is None:
            outcome.first_arrival_s = now - outcome.incident.at
        self._push(
            now + outcome.incident.on_scene_s, "clear", unit=unit, version=int(self.version[unit])
        )

    def _clear(self, now: float, unit: int) -> None:
        self.state[unit] = UnitState.idle
        self._count_busy(unit, now)
        post = self.positioning.freed(self, now, unit) if self.positioning is not None else None
        if post is not None:
            self._go_to_post(now, unit, post)
        else:  # today: back to a random point near the base, and wait there
            angle = self._waiting.uniform(0, 2 * np.pi)
            radius = PATROL_RADIUS_M * np.sqrt(self._waiting.uniform())
            self.patrol_r[unit] = 0.0
            self._go(
                now,
                unit,
                float(self.fleet.base_x[unit] + radius * np.cos(angle)),
                float(self.fleet.base_y[unit] + radius * np.sin(angle)),
            )
        if self.pending:
            self._schedule_decision(now)

    def _count_busy(self, unit: int, now: float) -> None:
        start = float(self._busy_since[unit])
        self._busy_since[unit] = np.nan
        while start < now:
            hour_end = (start // 3600 + 1) * 3600
            end = min(hour_end, now)
            self.costs.busy_s_by_hour[int(start // 3600) % 24] += end - start
            start = end
