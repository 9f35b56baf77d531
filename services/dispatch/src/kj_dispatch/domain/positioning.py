"""The positioning planner (有警出警、无警巡逻): where idle units should patrol so that the next
call is answered within its target. Expected coverage (MEXCLP, Daskin 1983), each unit's reach a
probability:

    coverage = Σ_cells w_c · (1 − Π_units (1 − (1 − q) · p_uc))

w_c the cell's calls per hour times its tier's weight, p_uc the probability that unit u from
its post makes the cell's target (`Reach`), q the measured busy fraction (with p in {0, 1} this
is MEXCLP's 1 − q^k). Three uses, all on a plain fleet snapshot, all answering unit → post
moves: (a) `shift_plan`, every unit's post for a shift, greedily; (b) `best_post`, the post for
a unit the moment it is free (DMEXCLP, Jagtenberg, Bhulai and van der Mei 2015); (c) `move_ups`,
an idle unit moved to fill a hole a dispatch opened when the gain passes a threshold that grows
with load, within a budget of moves per unit and hour. `coverage` gives the expected share on
target per tier and what each idle unit holds up (for a coverage-aware dispatch, and the live
coverage of the 1/3/5 board). The operational limits are `PostRules`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from kj_dispatch.domain.demand import DemandModel
from kj_dispatch.domain.post_rules import PlannerLimits, PostRules
from kj_dispatch.domain.posts import Post
from kj_dispatch.domain.reach import Reach
from kj_schemas.enums import ResponseTier, UnitKind
from kj_schemas.geo import LocalProjection

_POSTS_KEY = 0  # the cache key of the planner's own posts in `Reach`
_TOP_POSTS = 16  # move-up destinations weighed exactly, of the best by a first estimate
_TOP_MOVERS = 24  # per kind: the units that hold up least, weighed exactly as movers

__all__ = ["Coverage", "Move", "MoveUpRule", "PlannerLimits", "PositionPlanner", "UnitPosition"]


@dataclass(frozen=True)
class MoveUpRule:
    budget_per_unit_hour: int = 1  # move-ups a unit may make in any hour
    min_gain: float = 0.02  # expected weighted on-target calls per hour a move must win...
    load_scale: float = 4.0  # ... times (1 + load_scale × busy fraction)
    max_moves: int = 1  # per dispatch
    radius_m: float = 2000.0  # movers from this near the post a dispatched unit left


class UnitPosition(NamedTuple):
    """A unit as the planner sees it (a tuple: snapshots of the fleet are built often)."""

    unit_id: str
    kind: UnitKind
    platform_id: str
    lat: float
    lon: float
    available: bool = True  # may take a call: patrolling, or driving to a post
    post_id: str | None = None  # the post it holds or is driving to
    settled: bool = False  # patrolling at its post (may be moved up)
    move_ups_last_hour: int = 0


@dataclass(frozen=True, slots=True)
class Move:
    unit_id: str
    post_id: str
    reason: str  # shift_plan | freed | move_up
    gain: float  # expected weighted on-target calls per hour it adds


@dataclass(frozen=True)
class Coverage:
    overall: float  # expected share of calls on target, were a call to come now
    by_tier: dict[ResponseTier, float]
    loss_by_unit: dict[str, float]  # weighted on-target calls per hour lost if the unit left


class PositionPlanner:
    def __init__(
        self,
        *,
        posts: Sequence[Post],
        demand: DemandModel,
        reach: Reach,
        platforms: Mapping[str, tuple[float, float]],
        projection: LocalProjection,
        limits: PlannerLimits | None = None,
    ) -> None:
        if not posts:
            raise ValueError("the planner needs at least one post")
        self.posts = list(posts)
        self.demand = demand
        self.reach = reach
        self.projection = projection
        self.limits = limits or PlannerLimits()
        self.index = {p.post_id: i for i, p in enumerate(self.posts)}
        xy = np.array([projection.xy(p.lat, p.lon) for p in self.posts])
        self.px, self.py = xy[:, 0], xy[:, 1]
        key_targets = demand.target_s[demand.in_tier(ResponseTier.key_location)]
        self.rules = PostRules(
            self.posts,
            self.limits,
            platforms={pid: projection.xy(*at) for pid, at in platforms.items()},
            posts_xy=(self.px, self.py),
            eta=reach.params,
            key_target_s=float(key_targets.min()) if len(key_targets) else None,
        )
        self._tier_weight = np.array([self.limits.tier_weight.get(t, 1.0) for t in demand.tier])

    # --- what the planner is asked ---------------------------------------------------------

    def shift_plan(
        self, fleet: Sequence[UnitPosition], *, hour: int, busy_fraction: float
    ) -> list[Move]:
        """A post for every available unit for the shift: greedily, each step the unit and
        post that add the most expected coverage. Moves only for units whose post changes."""
        state = self._state(hour, busy_fraction)
        rules = self.rules
        uncovered = np.ones(len(self.demand))  # Π (1 − a p) over the units placed so far
        counts = rules.counts(np.empty(0, dtype=int))
        todo = [u for u in fleet if u.available]
        moves: list[Move] = []
        for unit in [u for u in todo if rules.fixed[u.kind]]:
            base = rules.base_post(unit.platform_id)
            if base is not None:
                uncovered *= 1 - state.a * state.rows(unit.kind)[base]
                moves.append(Move(unit.unit_id, self.posts[base].post_id, "shift_plan", 0.0))
        free = [u for u in todo if not rules.fixed[u.kind]]
        kinds = sorted({u.kind for u in free})
        kind_row = np.array([kinds.index(u.kind) for u in free], dtype=np.intp)
        penalty = self._penalty(free)
        allowed = np.array([rules.allowed(u.platform_id, u.kind) for u in free])
        allowed = allowed.reshape(len(free), len(self.posts))
        while free and allowed.any():
            weights = (state.w * uncovered).astype(np.float32)
            gains = np.stack([state.a * (state.rows(k) @ weights) for k in kinds])
            ok = allowed & rules.open_posts(counts)[None, :]
            score = np.where(ok, gains[kind_row] - penalty, -np.inf)
            i, post = np.unravel_index(int(np.argmax(score)), score.shape)
            if not np.isfinite(score[i, post]):
                break  # nothing allowed for the units left
            allowed[i] = False  # placed
            uncovered *= 1 - state.a * state.rows(free[i].kind)[post]
            rules.count(counts, int(post))
            moves.append(
                Move(free[i].unit_id, self.posts[post].post_id, "shift_plan", float(score[i, post]))
            )
        current = {u.unit_id: u.post_id for u in fleet}
        return [m for m in moves if current.get(m.unit_id) != m.post_id]

    def best_post(
        self, unit_id: str, fleet: Sequence[UnitPosition], *, hour: int, busy_fraction: float
    ) -> Move | None:
        """DMEXCLP: the post where the unit adds most to the coverage the others leave."""
        snap = _Snapshot(self, fleet)
        me = snap.find(unit_id)
        if me is None:
            return None
        unit = snap.units[me]
        state = self._state(hour, busy_fraction)
        others = np.flatnonzero(snap.available & (np.arange(len(snap.units)) != me))
        uncovered = snap.uncovered(others, state)
        gains = state.a * (state.rows(unit.kind) @ (state.w * uncovered).astype(np.float32))
        ok = self.rules.allowed(unit.platform_id, unit.kind)
        if not self.rules.fixed[unit.kind]:  # kept at its platform: not one of the posted
            ok = ok & self.rules.open_posts(snap.counts(others))
        if not ok.any():
            return None
        score = np.where(ok, gains - self._penalty([unit])[0], -np.inf)
        post = int(np.argmax(score))
        return Move(unit_id, self.posts[post].post_id, "freed", float(gains[post]))

    def move_ups(
        self,
        fleet: Sequence[UnitPosition],
        *,
        hour: int,
        busy_fraction: float,
        rule: MoveUpRule | None = None,
        vacated: Sequence[UnitPosition] = (),
    ) -> list[Move]:
        """Idle units moved to better posts, each move winning more than the threshold.
        `vacated`: the units just dispatched, with the posts they left; when given, nothing
        moves unless one of those posts was worth more than the threshold (no hole, no
        move-up), and movers come from within `rule.radius_m` of them."""
        rule = rule or MoveUpRule()
        state = self._state(hour, busy_fraction)
        threshold = rule.min_gain * (1 + rule.load_scale * busy_fraction)
        moves: list[Move] = []
        current = list(fleet)
        for _ in range(rule.max_moves):
            best = self._best_move(_Snapshot(self, current), state, rule, vacated, threshold)
            if best is None:
                break
            moves.append(best)
            post = self.posts[self.index[best.post_id]]
            current = [
                u._replace(
                    lat=post.lat,
                    lon=post.lon,
                    post_id=post.post_id,
                    settled=False,
                    move_ups_last_hour=u.move_ups_last_hour + 1,
                )
                if u.unit_id == best.unit_id
                else u
                for u in current
            ]
        return moves

    def coverage(
        self, fleet: Sequence[UnitPosition], *, hour: int, busy_fraction: float
    ) -> Coverage:
        state = self._state(hour, busy_fraction)
        snap = _Snapshot(self, fleet)
        available = np.flatnonzero(snap.available)
        factors = 1 - state.a * snap.rows(available, state)
        uncovered = np.prod(factors, axis=0, dtype=np.float64)
        rate = self.demand.at_hour(hour)
        covered = rate * (1 - uncovered)
        by_tier = {}
        for tier in set(self.demand.tier):
            mask = self.demand.in_tier(tier)
            total = rate[mask].sum()
            by_tier[tier] = float(covered[mask].sum() / total) if total > 0 else 1.0
        weighted = state.w * uncovered
        loss = (weighted[None, :] / np.maximum(factors, 1e-9) - weighted[None, :]).sum(axis=1)
        overall = float(covered.sum() / rate.sum()) if rate.sum() > 0 else 1.0
        by_unit = {
            snap.units[i].unit_id: float(v) for i, v in zip(available.tolist(), loss, strict=True)
        }
        return Coverage(overall, by_tier, by_unit)

    # --- the parts -------------------------------------------------------------------------

    def _state(self, hour: int, busy_fraction: float) -> "_State":
        if not 0.0 <= busy_fraction < 1.0:
            raise ValueError(f"busy fraction must be in [0, 1), got {busy_fraction}")
        factor = self.reach.params.factor_at_hour(hour)
        w = self.demand.at_hour(hour) * self._tier_weight
        return _State(self, factor, np.float32(1.0 - busy_fraction), w)

    def _best_move(
        self,
        snap: "_Snapshot",
        state: "_State",
        rule: MoveUpRule,
        vacated: Sequence[UnitPosition],
        threshold: float,
    ) -> Move | None:
        available = np.flatnonzero(snap.available)
        left = [self.index[u.post_id] for u in vacated if u.post_id in self.index]
        if vacated and not any(
            self._hole(snap, available, u.kind, self.index[u.post_id], state) > threshold
            for u in vacated
            if u.post_id in self.index
        ):
            return None  # no hole worth filling
        factors = 1 - state.a * snap.rows(available, state)
        uncovered = np.prod(factors, axis=0, dtype=np.float64)
        weights = (state.w * uncovered).astype(np.float32)
        fixed = np.array([self.rules.fixed[k] for k in snap.kinds], dtype=bool)
        budget = np.array([u.move_ups_last_hour < rule.budget_per_unit_hour for u in snap.units])
        movable = snap.available & snap.settled & (snap.post >= 0) & ~fixed & budget
        if left:
            here = snap.post.clip(min=0)
            near = np.zeros(len(snap.units), dtype=bool)
            for post in left:
                near |= (
                    np.hypot(self.px[here] - self.px[post], self.py[here] - self.py[post])
                    <= rule.radius_m
                )
            movable &= near
        counts = snap.counts(available)
        open_posts = self.rules.open_posts(counts)
        freeing: dict[tuple[int, int], np.ndarray] = {}  # open posts once a unit leaves
        row_of = {u: j for j, u in enumerate(available.tolist())}
        best: tuple[float, int, int] | None = None
        for kind in {snap.kinds[i] for i in np.flatnonzero(movable)}:
            mine: list[int] = [i for i in np.flatnonzero(movable).tolist() if snap.kinds[i] is kind]
            all_rows = state.rows(kind)
            first = state.a * (all_rows @ weights)
            many = min(_TOP_POSTS, len(first))
            top = np.argpartition(first, -many)[-many:]
            own = factors[[row_of[i] for i in mine]]
            without = state.w[None, :] * uncovered[None, :] / np.maximum(own, 1e-9)
            loss = (without - state.w * uncovered).sum(axis=1)
            if len(mine) > _TOP_MOVERS:  # the units that hold up least are the ones to move
                keep = np.argpartition(loss, _TOP_MOVERS)[:_TOP_MOVERS]
                mine = [mine[j] for j in keep.tolist()]
                without, loss = without[keep], loss[keep]
            gain = state.a * (without.astype(np.float32) @ all_rows[top].T) - loss[:, None]
            ok = np.stack([self.rules.allowed(snap.units[i].platform_id, kind)[top] for i in mine])
            ok &= open_posts[top][None, :]
            for j, i in enumerate(mine):  # leaving a full key location frees its place
                post = int(snap.post[i])
                if self.rules.in_full(counts, post):
                    groups = self.rules.groups(post)
                    if groups not in freeing:
                        freed = counts.copy()
                        self.rules.count(freed, post, -1)
                        freeing[groups] = self.rules.open_posts(freed)
                    ok[j] = self.rules.allowed(snap.units[i].platform_id, kind)[top]
                    ok[j] &= freeing[groups][top]
            ok &= top[None, :] != snap.post[mine][:, None]
            penalty = self._penalty([snap.units[i] for i in mine], top)
            net = np.where(ok, gain - penalty, -np.inf)
            j, k = (int(x) for x in np.unravel_index(int(np.argmax(net)), net.shape))
            if np.isfinite(net[j, k]) and (best is None or net[j, k] > best[0]):
                best = (float(net[j, k]), mine[j], int(top[k]))
        if best is None or best[0] <= threshold:
            return None
        return Move(snap.units[best[1]].unit_id, self.posts[best[2]].post_id, "move_up", best[0])

    def _hole(
        self, snap: "_Snapshot", available: np.ndarray, kind: UnitKind, post: int, state: "_State"
    ) -> float:
        """What a unit of `kind` back at `post` would add now: on the cells it reaches only."""
        row = state.rows(kind)[post]
        cells = np.flatnonzero(row)
        if not len(cells):
            return 0.0
        uncovered = np.ones(len(cells))
        posts = snap.post[available]
        kinds = [snap.kinds[i] for i in available]
        for k in set(kinds):
            at = posts[np.array([x is k for x in kinds]) & (posts >= 0)]
            if len(at):
                sub = state.rows(k)[np.ix_(at, cells)]
                uncovered *= np.prod(1 - state.a * sub, axis=0, dtype=np.float64)
        return float(state.a * (state.w[cells] * uncovered * row[cells]).sum())

    def _penalty(
        self, units: Sequence[UnitPosition], posts: np.ndarray | None = None
    ) -> np.ndarray:
        """Gain given up for the trip from where each unit is to each post (or `posts`)."""
        px, py = (self.px, self.py) if posts is None else (self.px[posts], self.py[posts])
        if not units:
            return np.zeros((0, len(px)))
        xy = np.array([self.projection.xy(u.lat, u.lon) for u in units])
        km = np.hypot(xy[:, :1] - px[None, :], xy[:, 1:] - py[None, :]) / 1000
        return self.limits.km_penalty * km


class _Snapshot:
    """A fleet snapshot indexed once per question: each unit's post (-1: none), kind, state."""

    def __init__(self, planner: PositionPlanner, units: Sequence[UnitPosition]) -> None:
        self.planner = planner
        self.units = units
        index = planner.index
        n = len(units)
        self.post = np.fromiter(
            (index.get(u.post_id, -1) if u.post_id is not None else -1 for u in units), int, n
        )
        self.kinds = [u.kind for u in units]
        self.available = np.fromiter((u.available for u in units), bool, n)
        self.settled = np.fromiter((u.settled for u in units), bool, n)

    def find(self, unit_id: str) -> int | None:
        return next((i for i, u in enumerate(self.units) if u.unit_id == unit_id), None)

    def rows(self, which: np.ndarray, state: "_State") -> np.ndarray:
        """(units, cells) reach for the units `which`, from their posts or where they stand."""
        planner = self.planner
        rows = np.empty((len(which), len(planner.demand)), dtype=np.float32)
        posts = self.post[which]
        kinds = [self.kinds[i] for i in which]
        for kind in set(kinds):
            at = np.array([k is kind for k in kinds]) & (posts >= 0)
            if at.any():
                rows[at] = state.rows(kind)[posts[at]]
        for j in np.flatnonzero(posts < 0).tolist():  # not at a post: reach from where it is
            unit = self.units[int(which[j])]
            x, y = planner.projection.xy(unit.lat, unit.lon)
            rows[j] = planner.reach.probability(
                unit.kind, np.array([x]), np.array([y]), state.factor, patrol=False
            )[0]
        return rows

    def uncovered(self, which: np.ndarray, state: "_State") -> np.ndarray:
        """Per cell, the chance that none of the units covers it: Π (1 − a p)."""
        return np.prod(1 - state.a * self.rows(which, state), axis=0, dtype=np.float64)

    def counts(self, which: np.ndarray) -> np.ndarray:
        fixed = self.planner.rules.fixed
        posts = [int(self.post[i]) for i in which if self.post[i] >= 0 and not fixed[self.kinds[i]]]
        return self.planner.rules.counts(np.array(posts, dtype=int))


@dataclass
class _State:
    """One question's hour: congestion, availability a = 1 − q, and the cell weights."""

    planner: PositionPlanner
    factor: float
    a: np.float32  # float32 like the rows, so products stay float32
    w: np.ndarray

    def rows(self, kind: UnitKind) -> np.ndarray:
        p = self.planner
        return p.reach.at_posts(kind, p.px, p.py, self.factor, _POSTS_KEY)
