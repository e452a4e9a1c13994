"""What this process may use of the machine: the one count of CPUs that every pool of workers asks."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The CPUs this process may run on (taskset, a container's cpuset), not every CPU of the machine: more
    workers than that only wait for each other, each holding its memory meanwhile."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
