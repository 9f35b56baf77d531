"""What the study compares: a dispatch policy and where idle units wait, each pair a variant.

Today's platform (closest idle, units waiting at random points near their base) is the
baseline; the system is the full policy with the planner's posts. Closest idle with the same
posts measures the dispatch policy like for like; the rest take one part away (move-ups, the
coverage-aware choice, the ETA and batch) or tighten the key-location limit."""

from collections.abc import Callable
from dataclasses import dataclass, replace

from kj_dispatch.domain.positioning import MoveUpRule, PlannerLimits
from kj_schemas.city import City
from kj_sim.study.baselines import ClosestIdle
from kj_sim.study.des import Policy
from kj_sim.study.dispatch_policies import FullPolicy, SmallestEta
from kj_sim.study.history import Learned

TODAY = "closest idle, random waiting"
LIKE_FOR_LIKE = "posts, closest idle"
SYSTEM = "posts, full policy"
SMALLEST_ETA = "posts, smallest ETA"
MOVE_UPS = MoveUpRule()
# the coverage-aware choice, as measured when it is on: seconds of priority-weighted lateness
# per expected on-target call lost while the unit is away, with the ETA's measured spread
COVERAGE_AWARE_WEIGHT_S = 30.0


@dataclass(frozen=True)
class Variant:
    name: str
    make: Callable[[City, Learned], Policy]
    posts: bool  # positioning by the planner; else today's random waiting
    move_ups: bool = True
    limits: PlannerLimits | None = None  # the planner's operational limits; None: defaults
    loads: tuple[float, ...] | None = None  # run at these loads only; None: every load


def _closest(city: City, learned: Learned) -> Policy:
    return ClosestIdle()


def _smallest(city: City, learned: Learned) -> Policy:
    return SmallestEta(city, learned.eta.params)


def _full(city: City, learned: Learned) -> Policy:
    return FullPolicy(city, eta=learned.eta.params)


def _coverage_aware(city: City, learned: Learned) -> Policy:
    spread = max(learned.eta.spread.values())
    return FullPolicy(
        city,
        eta=learned.eta.params,
        coverage_weight_s=COVERAGE_AWARE_WEIGHT_S,
        eta_spread=spread,
        name="posts, full policy, coverage-aware",
    )


def variants(*, every: bool = False) -> list[Variant]:
    """What `make study` runs: today and the system at every load, and the policy like for like
    at the posts at 2x (the headline figures). `every` adds the rest, each at the load where it
    answers a question (about 100 s more CPU a seed): the policy alone without posts, like for
    like at 1x, no move-ups, the coverage-aware choice and smallest ETA at 2x, the strict
    key-location limit (2 units within 150 m) at 1x."""
    if not every:
        return [
            Variant(TODAY, _closest, posts=False),
            Variant(LIKE_FOR_LIKE, _closest, posts=True, loads=(2.0,)),
            Variant(SYSTEM, _full, posts=True),
        ]
    strict = PlannerLimits(max_units_near_key_location=2)
    return [
        Variant(TODAY, _closest, posts=False),
        Variant("full policy, random waiting", _full, posts=False),
        Variant(LIKE_FOR_LIKE, _closest, posts=True),
        Variant(SMALLEST_ETA, _smallest, posts=True, loads=(2.0,)),
        Variant(SYSTEM, _full, posts=True),
        Variant("posts, full policy, no move-ups", _full, posts=True, move_ups=False, loads=(2.0,)),
        Variant("posts, full policy, coverage-aware", _coverage_aware, posts=True, loads=(2.0,)),
        Variant(
            "posts (2 units near a key location), full policy",
            _full,
            posts=True,
            limits=strict,
            loads=(1.0,),
        ),
    ]


def core() -> list[Variant]:
    """Today, the system, and the policies compared like for like at the same posts."""
    names = {TODAY, LIKE_FOR_LIKE, SMALLEST_ETA, SYSTEM}
    return [replace(v, loads=None) for v in variants(every=True) if v.name in names]
