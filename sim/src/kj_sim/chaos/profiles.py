"""How long a chaos run lasts, how much load it offers and which faults it injects when.

`ci`: about two and a half minutes of load, every fault once (tests/e2e runs it); closer
than about 18 s apart the faults overlap on this 2-core machine (a broker restart takes 15 to
25 s, a consumer group waits 10 s for a dead member), and each recovery then measures the
faults before it too.
`full`: `make chaos`, every kill twice and the pause once, about eight minutes of load.
A duration given by hand stretches or shrinks the spacing between faults."""

from dataclasses import dataclass, replace

# what a fault does to which process; "dispatch" means the replica that holds the alarms
# the broker last: its restart takes 15 to 40 s on a loaded 2-core machine, and a service
# killed meanwhile cannot start again until it is back (the poison waits for it)
FAULTS_ONCE = (
    "pause:dispatch",
    "kill:alarm",
    "kill:dispatch",
    "kill:postgres",
    "kill:notify",
    "kill:patrol-tracking",
    "kill:broker",
)
KILLS_TWICE = (
    "kill:dispatch",
    "kill:broker",
    "kill:alarm",
    "kill:postgres",
    "kill:notify",
    "kill:patrol-tracking",
    "pause:dispatch",
    "kill:dispatch",
    "kill:postgres",
    "kill:alarm",
    "kill:broker",
    "kill:patrol-tracking",
    "kill:notify",
)


@dataclass(frozen=True)
class Profile:
    name: str
    faults: tuple[str, ...]
    warmup_s: float  # steady load before the first fault
    spacing_s: float  # between two faults
    settle_s: float  # load after the last fault, before the poison
    poison_s: float  # load after the poison records went in
    drain_s: float  # services still running, no new load, before they are stopped
    alarms_per_hour: float  # the 110 centre's steady stream (probes come on top)
    on_scene_mean_s: float  # how long a unit stays on scene: units come back within the run
    pause_s: float  # SIGSTOP of a dispatch replica: past its 10 s consumer session timeout
    dispatch_down_s: float  # a killed dispatch replica stays down this long (its node is gone)

    @property
    def load_s(self) -> float:
        return self.warmup_s + self.spacing_s * len(self.faults) + self.settle_s + self.poison_s

    def fault_times(self) -> list[tuple[float, str]]:
        """(seconds after the load started, fault) for each fault, in order."""
        return [(self.warmup_s + i * self.spacing_s, f) for i, f in enumerate(self.faults)]

    @property
    def poison_at(self) -> float:
        return self.warmup_s + self.spacing_s * len(self.faults) + self.settle_s

    def lasting(self, load_s: float) -> "Profile":
        """The same profile with `load_s` seconds of load: the faults spaced to fit."""
        fixed = self.warmup_s + self.settle_s + self.poison_s
        spacing = (load_s - fixed) / len(self.faults)
        if spacing < 8:
            raise ValueError(
                f"{load_s:.0f} s leave {spacing:.1f} s between the {len(self.faults)} faults of "
                f"the {self.name} profile; give at least {fixed + 8 * len(self.faults):.0f} s"
            )
        return replace(self, spacing_s=spacing)


PROFILES = {
    "ci": Profile(
        name="ci",
        faults=FAULTS_ONCE,
        warmup_s=15,
        spacing_s=18,
        # the broker is the last fault: on a loaded 2-core machine its restart took up to 31 s
        # of the 15 s left before, and the run ended before a work order could show it served
        settle_s=45,
        poison_s=20,
        drain_s=10,
        alarms_per_hour=2400,
        on_scene_mean_s=20,
        pause_s=16,
        dispatch_down_s=40,
    ),
    "full": Profile(
        name="full",
        faults=KILLS_TWICE,
        warmup_s=20,
        spacing_s=30,
        settle_s=30,
        poison_s=40,
        drain_s=15,
        alarms_per_hour=2400,
        on_scene_mean_s=20,
        pause_s=16,
        dispatch_down_s=60,
    ),
}
