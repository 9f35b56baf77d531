"""The operational limits on posts, as masks over the candidate posts: which posts a unit may
take at all (its platform's area; the 1-minute posts only for kinds that can make 60 s from
them; the command vehicle at its platform) and which are closed because a key location
already has its share of units (inside it, and inside or in the ring just outside it)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kj_dispatch.domain.eta import EtaParams
from kj_dispatch.domain.posts import Post
from kj_schemas.enums import ResponseTier, UnitKind


@dataclass(frozen=True)
class PlannerLimits:
    max_units_per_key_location: int = 2  # posted inside one key location
    # posted inside or in the ring just outside one (a post's `near_key_location`): without it
    # the edge of a large key location gathers a crowd that the first limit does not see
    max_units_near_key_location: int = 6
    # 1-minute posts (inside a key location) only for kinds whose reach within the key
    # location's target, uncongested and from a standstill, is at least this (motorcycles here)
    one_minute_min_reach_m: float = 200.0
    platform_area_m: float = 3000.0  # posts farther than this from the unit's platform: never
    at_platform_kinds: frozenset[UnitKind] = frozenset({UnitKind.command_vehicle})
    tier_weight: Mapping[ResponseTier, float] = field(
        default_factory=lambda: dict.fromkeys(ResponseTier, 1.0)
    )
    km_penalty: float = 0.002  # gain given up per km to reach a post: near posts among equals


class PostRules:
    def __init__(
        self,
        posts: Sequence[Post],
        limits: PlannerLimits,
        *,
        platforms: Mapping[str, tuple[float, float]],  # id -> (x, y) local metres
        posts_xy: tuple[np.ndarray, np.ndarray],
        eta: EtaParams,
        key_target_s: float | None,  # the shortest key-location target; None: no key cells
    ) -> None:
        self.limits = limits
        self.keys = sorted({k for p in posts for k in (p.key_location, p.near_key_location) if k})
        number = {k: i for i, k in enumerate(self.keys)}
        self.inside = np.array([number.get(p.key_location or "", -1) for p in posts])
        self.near = np.array(
            [number.get(p.near_key_location or p.key_location or "", -1) for p in posts]
        )
        self._of = (self.inside, self.near)
        self._cap = np.array(
            [limits.max_units_per_key_location, limits.max_units_near_key_location]
        )
        self.fixed = {kind: kind in limits.at_platform_kinds for kind in UnitKind}
        self._platforms = platforms
        self._px, self._py = posts_xy
        self._base_of = {p.platform_id: i for i, p in enumerate(posts) if p.platform_id}
        self._allowed: dict[tuple[str, UnitKind], np.ndarray] = {}
        self._one_minute = {kind: self._one_minute_ok(kind, eta, key_target_s) for kind in UnitKind}

    def base_post(self, platform_id: str) -> int | None:
        return self._base_of.get(platform_id)

    def allowed(self, platform_id: str, kind: UnitKind) -> np.ndarray:
        """Posts a unit of this platform and kind may ever take."""
        mask = self._allowed.get((platform_id, kind))
        if mask is None:
            mask = np.zeros(len(self._px), dtype=bool)
            if self.fixed[kind]:
                base = self.base_post(platform_id)
                if base is not None:
                    mask[base] = True
            else:
                at = self._platforms.get(platform_id)
                if at is None:
                    mask[:] = True
                else:
                    distance = np.hypot(self._px - at[0], self._py - at[1])
                    mask = distance <= self.limits.platform_area_m
                mask &= self._one_minute[kind]
            self._allowed[(platform_id, kind)] = mask
        return mask

    def counts(self, posts: np.ndarray) -> np.ndarray:
        """Units posted inside (row 0) and near (row 1) each key location, for the posts held
        (indices; units of kinds kept at their platform left out by the caller)."""
        counts = np.zeros((2, len(self.keys)), dtype=int)
        for row, of in enumerate(self._of):
            keys = of[posts]
            counts[row] = np.bincount(keys[keys >= 0], minlength=len(self.keys))
        return counts

    def count(self, counts: np.ndarray, post: int, step: int = 1) -> None:
        for row, of in enumerate(self._of):
            if of[post] >= 0:
                counts[row, of[post]] += step

    def groups(self, post: int) -> tuple[int, int]:
        """The key locations a post counts against: (inside, near), -1 for none."""
        return int(self.inside[post]), int(self.near[post])

    def closed_by(self, counts: np.ndarray) -> np.ndarray:
        """Posts that count against a key location already at its limit."""
        return ~self.open_posts(counts)

    def open_posts(self, counts: np.ndarray) -> np.ndarray:
        """Posts not closed by a key location's limits."""
        full = np.zeros((2, len(self.keys) + 1), dtype=bool)  # the last column: no key location
        full[:, :-1] = counts >= self._cap[:, None]
        return ~(full[0, self.inside] | full[1, self.near])

    def _one_minute_ok(
        self, kind: UnitKind, eta: EtaParams, key_target_s: float | None
    ) -> np.ndarray:
        if key_target_s is None:
            return np.ones(len(self._px), dtype=bool)
        reach = np.array([self.limits.one_minute_min_reach_m])
        able = float(eta.seconds(kind, reach, 1.0)[0]) <= key_target_s
        return np.ones(len(self._px), dtype=bool) if able else self.inside < 0
