"""Policy (a), the baseline the literature compares against: the closest idle unit by
straight-line distance, one call at a time in the order they came in."""

from dataclasses import dataclass

import numpy as np

from kj_sim.study.des import Order, Units
from kj_sim.study.world import Incident


@dataclass
class ClosestIdle:
    name: str = "closest idle"
    batch_window_s: float = 0.0
    weighs_coverage: bool = False

    def decide(
        self, now: float, pending: list[Incident], units: Units, incidents: list[Incident]
    ) -> list[Order]:
        idle = units.idle.copy()
        orders = []
        for incident in sorted(pending, key=lambda i: i.at):
            if not idle.any():
                break
            distance = np.hypot(units.x - incident.x, units.y - incident.y)
            distance[~idle] = np.inf
            unit = int(np.argmin(distance))
            idle[unit] = False
            orders.append(Order(incident.index, unit))
        return orders
