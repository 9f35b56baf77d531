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
from scipy.spatial import cKDTree

from kj_dispatch.domain.demand import DemandModel
from kj_dispatch.domain.post_rules import PlannerLimits, PostRules
from kj_dispatch.domain.posts import Post
from kj_dispatch.domain.reach import Reach
from kj_schemas.enums import ResponseTier, UnitKind
from kj_schemas.geo import LocalProjection

_POSTS_KEY = 0  # the cache key of the planner's own posts in `Reach`
_TOP_POSTS = 16  # move-up destinations weighed exactly, of the best by a first estimate
_TOP_MOVERS = 24  # per kind: the units that hold up least, weighed exactly as movers

_KINDS = tuple(UnitKind)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}

__all__ = ["Coverage", "Move", "MoveUpRule", "PlannerLimits", "PositionPlanner", "UnitPosition"]


@dataclass(frozen=True)
class MoveUpRule:
    """Defaults as tuned in the study (seeds apart from the scored ones; decision 0060)."""

    budget_per_unit_hour: int = 2  # move-ups a unit may make in any hour
    min_gain: float = 0.002  # expected weighted on-target calls per hour a move must win...
    load_scale: float = 2.0  # ... times (1 + load_scale × busy fraction)
    max_moves: int = 2  # per dispatch
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
        self.fixed_codes = np.array([self.rules.fixed[k] for k in _KINDS], dtype=bool)
        self._known = frozenset(platforms)
        self._served = self._platforms_near_demand(platforms)

    def serves(self, platform_id: str) -> bool:
        """Whether this platform's units are the planner's to post and count: its area (the
        posts its units may take) reaches some of the demand. A province's fleet runs through
        one dispatch process, but units hundreds of kilometres from this city's calls add
        nothing to its coverage: planned with it, 20,000 units cost the planner a third of a
        core, and diluted the busy share it plans with (issue 20). A platform it does not know
        counts, as before."""
        return platform_id in self._served or platform_id not in self._known

    def _platforms_near_demand(self, platforms: Mapping[str, tuple[float, float]]) -> set[str]:
        if not len(self.demand) or not platforms:
            return set(platforms)
        params = self.reach.params
        fastest = max(params.speed_kmh.values()) / 3.6
        # farther than the area a unit may be posted in, plus twice the longest target's drive
        # at the fastest speed in a straight line (travel times spread), plus the patrol around
        # a post: no post of the platform's units reaches a cell in time
        reach_m = (
            self.limits.platform_area_m
            + 2 * float(self.demand.target_s.max()) * fastest
            + self.reach.patrol_radius_m
        )
        cells = cKDTree(np.column_stack((self.demand.x, self.demand.y)))
        ids = list(platforms)
        xy = np.array([self.projection.xy(*platforms[pid]) for pid in ids])
        distance, _ = cells.query(xy)
        return {pid for pid, d in zip(ids, distance, strict=True) if d <= reach_m}

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
        snap = _Snapshot(self, fleet)
        for _ in range(rule.max_moves):
            found = self._best_move(snap, state, rule, vacated, threshold)
            if found is None:
                break
            i, best = found
            moves.append(best)
            snap.moved(i, self.index[best.post_id])
        return moves

    def running_pass(
        self,
        fleet: Sequence[UnitPosition],
        *,
        hour: int,
        busy_fraction: float,
        free_limit: int,
        rule: MoveUpRule | None = None,
        vacated: Sequence[UnitPosition] = (),
    ) -> list[Move]:
        """A pass between shift plans: a post for each available unit that holds none (at most
        `free_limit`, each choice seeing the posts given before it), then move-ups for the holes
        the calls in `vacated` left."""
        units: Sequence[UnitPosition] = list(fleet)
        lonely = [u.unit_id for u in units if u.available and u.post_id is None]
        moves: list[Move] = []
        if lonely[:free_limit]:
            moves, units = self._posts_for(
                lonely[:free_limit], units, hour=hour, busy_fraction=busy_fraction
            )
        if vacated:
            moves += self.move_ups(
                units, hour=hour, busy_fraction=busy_fraction, rule=rule, vacated=vacated
            )
        return moves

    def _posts_for(
        self,
        lonely: Sequence[str],
        fleet: Sequence[UnitPosition],
        *,
        hour: int,
        busy_fraction: float,
    ) -> tuple[list[Move], list[UnitPosition]]:
        """`best_post` for each unit of `lonely` in turn, each seeing the posts given before it;
        and the fleet with them. The fleet's product Π (1 − a p) is made once and each unit's
        own factor divided out of it, instead of the whole product again for every unit (70%
        of the planner's process at 20,000 units, most of it the reach of units not at posts)."""
        state = self._state(hour, busy_fraction)
        snap = _Snapshot(self, fleet)
        available = np.flatnonzero(snap.available)
        factors = 1 - state.a * snap.rows(available, state)
        product = np.prod(factors, axis=0, dtype=np.float64)
        row_of = {i: r for r, i in enumerate(available.tolist())}
        position = {u.unit_id: i for i, u in enumerate(snap.units)}
        moves: list[Move] = []
        for unit_id in lonely:
            me = position.get(unit_id)
            if me is None or (r := row_of.get(me)) is None:
                continue
            unit = snap.units[me]
            mine = factors[r]
            if mine.min() > 1e-6:
                others_uncovered = product / mine
            else:  # a cell this unit covers for sure: dividing by ~0 would lose the others
                others_uncovered = np.prod(np.delete(factors, r, axis=0), axis=0, dtype=np.float64)
            weights = (state.w * others_uncovered).astype(np.float32)
            gains = state.a * (state.rows(unit.kind) @ weights)
            ok = self.rules.allowed(unit.platform_id, unit.kind)
            if not self.rules.fixed[unit.kind]:  # kept at its platform: not one of the posted
                ok = ok & self.rules.open_posts(snap.counts(available[available != me]))
            if not ok.any():
                continue
            score = np.where(ok, gains - self._penalty([unit])[0], -np.inf)
            post = int(np.argmax(score))
            moves.append(Move(unit_id, self.posts[post].post_id, "freed", float(gains[post])))
            snap.moved(me, post)  # it holds the post now: its factor is the post's
            factors[r] = 1 - state.a * state.rows(unit.kind)[post]
            product = others_uncovered * factors[r]
        return moves, list(snap.units)

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
    ) -> tuple[int, Move] | None:
        """The best single move and the index of the unit it moves, if it beats the threshold."""
        available = np.flatnonzero(snap.available)
        factors = 1 - state.a * snap.rows(available, state)
        weights = (state.w * np.prod(factors, axis=0)).astype(np.float32)  # w U
        left = [(u.kind, self.index[u.post_id]) for u in vacated if u.post_id in self.index]
        if vacated:  # a hole worth filling? what a unit back at each post left would add now
            holes = [state.a * float(state.rows(kind)[post] @ weights) for kind, post in left]
            if not holes or max(holes) <= threshold:
                return None
        movable = (
            snap.available
            & snap.settled
            & (snap.post >= 0)
            & ~self.fixed_codes[snap.kind_code]
            & (snap.move_ups < rule.budget_per_unit_hour)
        )
        if left:
            here = snap.post.clip(min=0)
            near = np.zeros(len(snap.units), dtype=bool)
            for _, post in left:
                distance = np.hypot(self.px[here] - self.px[post], self.py[here] - self.py[post])
                near |= distance <= rule.radius_m
            movable &= near
        counts = snap.counts(available)
        open_posts = self.rules.open_posts(counts)
        freeing: dict[tuple[int, int], np.ndarray] = {}  # open posts once a unit leaves
        in_full = self.rules.closed_by(counts)  # posts inside a key location at its limit
        movers = np.flatnonzero(movable)
        best: tuple[float, int, int] | None = None
        for code in np.unique(snap.kind_code[movers]).tolist():
            kind = _KINDS[code]
            mine: list[int] = movers[snap.kind_code[movers] == code].tolist()
            all_rows = state.rows(kind)
            reachable = np.zeros(len(self.posts), dtype=bool)
            for platform in {snap.units[i].platform_id for i in mine}:
                reachable |= self.rules.allowed(platform, kind)
            first = np.where(reachable & open_posts, state.a * (all_rows @ weights), -np.inf)
            many = min(_TOP_POSTS, int(np.isfinite(first).sum()))
            if not many:
                continue
            top = np.argpartition(first, -many)[-many:]
            own = np.maximum(factors[np.searchsorted(available, mine)], 1e-6)  # sorted rows
            # what each holds up: Σ w U (1/f − 1), f = 1 − a p its own factor per cell
            loss = ((1 - own) / own) @ weights
            if len(mine) > _TOP_MOVERS:  # the units that hold up least are the ones to move
                keep = np.argpartition(loss, _TOP_MOVERS)[:_TOP_MOVERS]
                mine = [mine[j] for j in keep.tolist()]
                own, loss = own[keep], loss[keep]
            without = weights[None, :] / own  # w U with the mover gone
            gain = state.a * (without @ all_rows[top].T) - loss[:, None]
            ok = np.stack([self.rules.allowed(snap.units[i].platform_id, kind)[top] for i in mine])
            ok &= open_posts[top][None, :]
            for j, i in enumerate(mine):  # leaving a full key location frees its place
                post = int(snap.post[i])
                if in_full[post]:
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
        unit_id = snap.units[best[1]].unit_id
        return best[1], Move(unit_id, self.posts[best[2]].post_id, "move_up", best[0])

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
        columns = list(zip(*units, strict=True)) if units else [()] * len(UnitPosition._fields)
        self.kinds: tuple[UnitKind, ...] = columns[1]
        self.post = np.array([index.get(p, -1) for p in columns[6]], dtype=int)
        self.available = np.array(columns[5], dtype=bool)
        self.settled = np.array(columns[7], dtype=bool)
        self.move_ups = np.array(columns[8], dtype=int)
        self.kind_code = np.array([_KIND_CODE[k] for k in self.kinds], dtype=int)

    def moved(self, i: int, post: int) -> None:
        """Unit `i` was sent to `post`: it holds it now, driving there, one move-up more."""
        self.units = list(self.units)
        found = self.planner.posts[post]
        self.units[i] = self.units[i]._replace(
            lat=found.lat, lon=found.lon, post_id=found.post_id, settled=False
        )
        self.post[i], self.settled[i] = post, False
        self.move_ups[i] += 1

    def find(self, unit_id: str) -> int | None:
        return next((i for i, u in enumerate(self.units) if u.unit_id == unit_id), None)

    def rows(self, which: np.ndarray, state: "_State") -> np.ndarray:
        """(units, cells) reach for the units `which`, from their posts or where they stand."""
        planner = self.planner
        rows = np.empty((len(which), len(planner.demand)), dtype=np.float32)
        posts = self.post[which]
        codes = self.kind_code[which]
        for code in np.unique(codes).tolist():
            at = (codes == code) & (posts >= 0)
            if at.any():
                rows[at] = state.rows(_KINDS[code])[posts[at]]
        for j in np.flatnonzero(posts < 0).tolist():  # not at a post: reach from where it is
            unit = self.units[int(which[j])]
            x, y = planner.projection.xy(unit.lat, unit.lon)
            rows[j] = planner.reach.probability(
                unit.kind, np.array([x]), np.array([y]), state.factor, patrol=False
            )[0]
        return rows

    def uncovered(self, which: np.ndarray, state: "_State") -> np.ndarray:
        """Per cell, the chance that none of the units covers it: Π (1 − a p)."""
        return np.prod(1 - state.a * self.rows(which, state), axis=0).astype(np.float64)

    def counts(self, which: np.ndarray) -> np.ndarray:
        fixed = self.planner.fixed_codes
        keep = which[(self.post[which] >= 0) & ~fixed[self.kind_code[which]]]
        return self.planner.rules.counts(self.post[keep])


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
