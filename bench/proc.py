"""What Linux's /proc says about a process and the machine, for the benchmarks: CPU time is
not inflated by whatever else shares the machine, as latency and throughput are."""

import os
from pathlib import Path
from typing import NamedTuple


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of the process so far; with `children`, of the processes it
    started too (running ones: /proc keeps no total for those still alive)."""
    own = sum(cpu_split(pid))
    if not children:
        return own
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    kids = listed.read_text().split() if listed.exists() else []
    return own + sum(cpu_seconds(int(kid), children=True) for kid in kids)


class HostJiffies(NamedTuple):
    """The machine's CPU time so far, all cores, in clock ticks (the `cpu` line of /proc/stat)."""

    total: int
    idle: int  # idle and waiting for I/O
    stolen: int  # given by the hypervisor to other guests

    @classmethod
    def now(cls) -> "HostJiffies":
        line = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
        user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in line)
        total = user + nice + system + idle + iowait + irq + softirq + steal
        return cls(total, idle + iowait, steal)
