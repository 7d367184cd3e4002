"""How many threads a batch runs on: ``BBTOK_NUM_THREADS``, the cores this process may use, and
the bound the Rust extension's thread pool enforces (4 times those cores).

Computed here without the extension, so that a command checks ``--workers`` while it reads its
arguments without loading it; the extension counts the cores with Rust's
``std::thread::available_parallelism``, and :func:`usable_cores` counts them as it does on
Linux (the CPUs of the affinity mask, fewer when a cgroup's CPU quota allows fewer), so both
give the same bound.
"""

from __future__ import annotations

import os

# Threads per usable core: more only take turns on the cores, while each holds a stack and may
# get a malloc arena of its own; four leaves room to oversubscribe a little (a core shared with
# other work). The same factor as the extension's pool (rust/python/pool.rs).
THREADS_PER_CORE = 4
# The cgroup files bounding the CPU time of a process's group: version 2 ("max 100000" or
# "QUOTA PERIOD"), and version 1's quota (-1: none) and period, in microseconds.
_CGROUP2_CPU_MAX = "cpu.max"
_CGROUP1_QUOTA, _CGROUP1_PERIOD = "cpu.cfs_quota_us", "cpu.cfs_period_us"


def _read(path: str) -> str | None:
    """A small kernel file's text, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(1 << 16)
    except OSError:
        return None


def _mount_points(mountinfo: str, version2: bool) -> list[tuple[str, str]]:
    """The (root inside the hierarchy, mount point) of each cgroup file system mounted:
    version 2's, or version 1's with the ``cpu`` controller."""
    mounts = []
    for line in mountinfo.splitlines():
        fields, _, after = line.partition(" - ")
        parts, kind = fields.split(), after.split()
        if len(parts) < 5 or len(kind) < 3:
            continue
        if (version2 and kind[0] == "cgroup2") or (
            not version2 and kind[0] == "cgroup" and "cpu" in kind[2].split(",")
        ):
            mounts.append((parts[3], parts[4]))
    return mounts


def _group_limit(directory: str, version2: bool) -> int | None:
    """The whole cores a cgroup directory's CPU quota allows (rounded down), None for none."""
    if version2:
        text = _read(os.path.join(directory, _CGROUP2_CPU_MAX))
        quota, _, period = (text or "").partition(" ")
    else:
        quota = _read(os.path.join(directory, _CGROUP1_QUOTA)) or ""
        period = _read(os.path.join(directory, _CGROUP1_PERIOD)) or ""
    try:
        quota_us, period_us = int(quota.strip()), int(period.strip())
    except ValueError:
        return None  # "max", absent, unreadable
    if quota_us < 0 or period_us <= 0:
        return None
    return quota_us // period_us


def cgroup_cpu_limit(proc: str = "/proc/self") -> int | None:
    """The whole cores the CPU quota of this process's cgroup and its ancestors allows (the
    smallest, rounded down), None when none is set; ``proc`` is ``/proc/self`` or a copy of
    its ``cgroup`` and ``mountinfo`` files.

    >>> cgroup_cpu_limit("/nonexistent") is None
    True
    """
    groups, mountinfo = _read(os.path.join(proc, "cgroup")), _read(os.path.join(proc, "mountinfo"))
    if groups is None or mountinfo is None:
        return None
    limits: list[int] = []
    for line in groups.splitlines():
        number, _, rest = line.partition(":")
        controllers, _, group = rest.partition(":")
        version2 = number == "0" and controllers == ""
        if not version2 and "cpu" not in controllers.split(","):
            continue
        for root, mount_point in _mount_points(mountinfo, version2):
            if not (group + "/").startswith(root.rstrip("/") + "/"):
                continue
            relative = group[len(root.rstrip("/")) :].strip("/")
            directory = os.path.join(mount_point, relative) if relative else mount_point
            while True:
                limit = _group_limit(directory, version2)
                if limit is not None:
                    limits.append(limit)
                if os.path.normpath(directory) == os.path.normpath(mount_point):
                    break
                directory = os.path.dirname(directory)
            break
    return min(limits) if limits else None


# The cgroup quota of this process, read once per process (a batch call asks for it, and it
# takes reading several /proc and cgroup files): (process id, quota).
_cgroup_limit_read: tuple[int, int | None] | None = None


def _process_cgroup_cpu_limit() -> int | None:
    global _cgroup_limit_read
    read = _cgroup_limit_read
    if read is None or read[0] != os.getpid():  # a forked child may be in another group
        read = _cgroup_limit_read = (os.getpid(), cgroup_cpu_limit())
    return read[1]


def usable_cores() -> int:
    """The cores this process may use: the CPUs of its affinity mask (all of them where there
    is none), at most what its cgroup's CPU quota allows, at least 1.

    >>> usable_cores() >= 1
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    limit = _process_cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(limit, 1))
    return max(cores, 1)


def max_threads() -> int:
    """The most threads a batch may run on: 4 times the cores this process may use (more
    threads only take turns on the cores, and each costs memory).

    >>> max_threads() >= 4
    True
    """
    return THREADS_PER_CORE * usable_cores()


def checked_thread_count(count: int, name: str = "threads") -> int:
    """``count`` when it is a usable number of threads (1 to :func:`max_threads`), else a
    ValueError that names where it came from (``name``, e.g. ``"--workers 3000"``).

    >>> checked_thread_count(2, "--workers 2")
    2
    """
    if count < 1:
        raise ValueError(f"{name} must be at least 1")
    limit = max_threads()
    if count > limit:
        raise ValueError(
            f"{name} is more than the {limit} threads allowed "
            "(4 times the cores this process may use)"
        )
    return count


def thread_count() -> int:
    """Threads for batch encoding: ``BBTOK_NUM_THREADS`` if set (1 = no threads; at most
    :func:`max_threads`, else ValueError), else all cores this process may use.

    >>> thread_count() >= 1
    True
    """
    configured = os.environ.get("BBTOK_NUM_THREADS", "").strip()
    if configured:
        try:
            count = int(configured)
        except ValueError:
            raise ValueError(
                f"BBTOK_NUM_THREADS={configured!r} is not a whole number of threads"
            ) from None
        return checked_thread_count(count, f"BBTOK_NUM_THREADS={configured!r}")
    return usable_cores()
