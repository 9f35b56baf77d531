"""Posts (有警出警、无警巡逻): a unit sent to patrol at a post stays free for calls; tracking
notes the post, detects the unit reaching it from its own fixes (once per order), and forgets
it when the order is withdrawn or a call takes the unit. The unit's status is not touched."""

from kj_schemas.geo import haversine_m
from kj_tracking.domain.arrival import Arrival
from kj_tracking.domain.units import Post, UnitTrack


def head_to_post(
    unit: UnitTrack, order_id: str, post_id: str, lat: float, lon: float, radius_m: float
) -> bool:
    """A reposition: the unit is to patrol within `radius_m` of the post. True when the post
    changed (its state is published with the post)."""
    if unit.post is not None and unit.post.order_id == order_id:
        return False  # a repeat
    unit.post = Post(order_id, post_id, lat, lon, radius_m)
    return True


def leave_post(unit: UnitTrack, order_id: str | None = None) -> bool:
    """The reposition was withdrawn (`order_id`), or a call took the unit (no id): the post is
    no longer the unit's."""
    if unit.post is None or (order_id is not None and unit.post.order_id != order_id):
        return False
    unit.post = None
    return True


def reach_post(unit: UnitTrack) -> Arrival | None:
    """Call after the unit moved to a trusted fix: its arrival at its post, the first time."""
    post = unit.post
    if post is None or post.reached:
        return None
    if haversine_m(unit.lat, unit.lon, post.lat, post.lon) > post.radius_m:
        return None
    unit.post = post._replace(reached=True)
    at = unit.fix_at.timestamp()
    return Arrival(post.order_id, unit.unit_id, at, unit.lat, unit.lon, post_id=post.post_id)
