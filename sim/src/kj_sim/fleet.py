"""Every unit of the city at once, in numpy arrays: patrolling its platform's grid, driving to
a scene at its kind's speed with noise, staying on scene, returning. Thousands of units step
in microseconds each, so one process can drive a province-sized fleet."""

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from kj_schemas.city import City
from kj_schemas.enums import UnitKind
from kj_sim.projection import LocalProjection


class Mode(IntEnum):
    patrol = 0
    to_scene = 1
    on_scene = 2
    returning = 3
    to_post = 4  # sent to patrol at a post (a reposition): free for calls on the way


# metres per second in city traffic, by kind (the dispatch ETA model has its own settings)
SPEED_M_S = {UnitKind.motorcycle: 10.0, UnitKind.car: 9.0, UnitKind.command_vehicle: 7.5}
PATROL_SPEED_FACTOR = 0.45
PATROL_RADIUS_M = 1_200.0
ARRIVAL_RADIUS_M = 10.0


@dataclass(frozen=True)
class Arrival:
    unit: int
    work_order_id: str


@dataclass(frozen=True)
class Cleared:
    unit: int
    work_order_id: str


class Fleet:
    def __init__(
        self, city: City, rng: np.random.Generator, *, on_scene_mean_s: float = 600.0
    ) -> None:
        self.rng = rng
        self.on_scene_mean_s = on_scene_mean_s  # how long a unit stays on scene, on average
        lat0 = float(np.mean([p.lat for p in city.platforms]))
        lon0 = float(np.mean([p.lon for p in city.platforms]))
        self.projection = LocalProjection(lat0, lon0)
        self.unit_ids = [unit.id for unit in city.units]
        self.index = {unit_id: i for i, unit_id in enumerate(self.unit_ids)}
        platforms = city.platform_by_id
        base_lat = np.array([platforms[u.platform].lat for u in city.units])
        base_lon = np.array([platforms[u.platform].lon for u in city.units])
        self.base_x, self.base_y = self.projection.to_xy(base_lat, base_lon)
        count = len(self.unit_ids)
        self.speed = np.array([SPEED_M_S[u.kind] for u in city.units]) * rng.uniform(
            0.85, 1.15, count
        )
        spread = rng.uniform(0, PATROL_RADIUS_M / 2, count)
        angle = rng.uniform(0, 2 * np.pi, count)
        self.x = self.base_x + spread * np.cos(angle)
        self.y = self.base_y + spread * np.sin(angle)
        self.target_x = self.x.copy()
        self.target_y = self.y.copy()
        self.mode = np.full(count, Mode.patrol, dtype=np.int8)
        self.busy_until = np.zeros(count)
        self.heading = np.zeros(count)
        self.current_speed = np.zeros(count)
        self.work_order: list[str | None] = [None] * count
        # the post a unit patrols (dispatch's reposition), else its platform's area
        self.post_order: list[str | None] = [None] * count
        self.centre_x = self.base_x.copy()
        self.centre_y = self.base_y.copy()
        self.patrol_radius = np.full(count, PATROL_RADIUS_M)
        self._new_patrol_waypoints(np.arange(count))

    def __len__(self) -> int:
        return len(self.unit_ids)

    def _new_patrol_waypoints(self, units: NDArray[np.intp]) -> None:
        if len(units) == 0:
            return
        radius = self.patrol_radius[units] * np.sqrt(self.rng.uniform(0, 1, len(units)))
        angle = self.rng.uniform(0, 2 * np.pi, len(units))
        self.target_x[units] = self.centre_x[units] + radius * np.cos(angle)
        self.target_y[units] = self.centre_y[units] + radius * np.sin(angle)

    def send_to_scene(self, unit: int, lat: float, lon: float, work_order_id: str) -> None:
        self._forget_post(unit)  # a call supersedes the post (dispatch withdraws its order)
        x, y = self.projection.to_xy(np.array([lat]), np.array([lon]))
        self.target_x[unit], self.target_y[unit] = float(x[0]), float(y[0])
        self.mode[unit] = Mode.to_scene
        self.work_order[unit] = work_order_id

    def send_to_post(
        self, unit: int, lat: float, lon: float, order_id: str, radius_m: float
    ) -> None:
        """A reposition: drive to the post at full speed, then patrol within `radius_m` of it.
        A unit on a call keeps its call (dispatch sends posts to free units only)."""
        if self.mode[unit] in (Mode.to_scene, Mode.on_scene):
            return
        x, y = self.projection.to_xy(np.array([lat]), np.array([lon]))
        self.post_order[unit] = order_id
        self.centre_x[unit], self.centre_y[unit] = float(x[0]), float(y[0])
        self.patrol_radius[unit] = radius_m
        self.target_x[unit], self.target_y[unit] = self.centre_x[unit], self.centre_y[unit]
        self.mode[unit] = Mode.to_post

    def leave_post(self, unit: int, order_id: str) -> None:
        """The post's order was withdrawn: patrol the platform's area again."""
        if self.post_order[unit] != order_id:
            return
        self._forget_post(unit)
        if self.mode[unit] in (Mode.to_post, Mode.patrol):
            self.mode[unit] = Mode.patrol
            self._new_patrol_waypoints(np.array([unit]))

    def _forget_post(self, unit: int) -> None:
        self.post_order[unit] = None
        self.centre_x[unit], self.centre_y[unit] = self.base_x[unit], self.base_y[unit]
        self.patrol_radius[unit] = PATROL_RADIUS_M

    def stand_down(self, unit: int) -> None:
        """A withdrawn work order: back to patrol from wherever the unit is."""
        self.mode[unit] = Mode.patrol
        self.work_order[unit] = None
        self._new_patrol_waypoints(np.array([unit]))

    def step(self, now: float, dt: float) -> tuple[list[Arrival], list[Cleared]]:
        """Move every unit for `dt` seconds; returns who arrived on scene and who cleared it."""
        dx = self.target_x - self.x
        dy = self.target_y - self.y
        distance = np.hypot(dx, dy)
        factor = np.where(self.mode == Mode.patrol, PATROL_SPEED_FACTOR, 1.0)
        moving = self.mode != Mode.on_scene
        speed = self.speed * factor * self.rng.uniform(0.8, 1.2, len(self)) * moving
        stride = np.minimum(speed * dt, distance)
        with np.errstate(invalid="ignore", divide="ignore"):
            ux = np.where(distance > 0, dx / distance, 0.0)
            uy = np.where(distance > 0, dy / distance, 0.0)
        self.x += ux * stride
        self.y += uy * stride
        self.current_speed = np.where(stride > 0, stride / dt, 0.0)
        self.heading = np.where(stride > 0, np.degrees(np.arctan2(ux, uy)) % 360.0, self.heading)
        left = distance - stride
        arrivals: list[Arrival] = []
        cleared: list[Cleared] = []
        reached = left <= ARRIVAL_RADIUS_M
        at_post = reached & (self.mode == Mode.to_post)
        self.mode[at_post] = Mode.patrol
        self._new_patrol_waypoints(np.flatnonzero(reached & (self.mode == Mode.patrol)))
        for unit in np.flatnonzero(reached & (self.mode == Mode.to_scene)):
            self.mode[unit] = Mode.on_scene
            self.busy_until[unit] = now + self.rng.gamma(3.0, self.on_scene_mean_s / 3.0)
            arrivals.append(Arrival(int(unit), self.work_order[unit] or ""))
        back = reached & (self.mode == Mode.returning)
        self.mode[back] = Mode.patrol
        self._new_patrol_waypoints(np.flatnonzero(back))
        done = np.flatnonzero((self.mode == Mode.on_scene) & (self.busy_until <= now))
        for unit in done:
            cleared.append(Cleared(int(unit), self.work_order[unit] or ""))
            self.work_order[unit] = None
            self.mode[unit] = Mode.returning
            self.target_x[unit], self.target_y[unit] = self.base_x[unit], self.base_y[unit]
        return arrivals, cleared

    def positions(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Where each unit's GPS says it is: true position plus a few metres of noise."""
        noise = self.rng.normal(0.0, 3.0, (2, len(self)))
        return self.projection.to_latlon(self.x + noise[0], self.y + noise[1])


def scaled_city(city: City, units: int) -> City:
    """The same city with `units` units spread over its platforms (for load runs; the
    services only know the city's own units)."""
    from kj_schemas.city import Unit

    kinds = [UnitKind.motorcycle, UnitKind.car, UnitKind.motorcycle, UnitKind.command_vehicle]
    extra = [
        Unit(
            id=f"{platform.id}-X{n:04d}",
            platform=platform.id,
            kind=kinds[n % len(kinds)],
            callsign=f"{platform.id}-X{n:04d}",
        )
        for n in range(units)
        for platform in [city.platforms[n % len(city.platforms)]]
    ]
    return city.model_copy(update={"units": extra})
