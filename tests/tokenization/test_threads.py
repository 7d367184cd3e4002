"""The thread policy (``bbtok.tokenization.threads``): the bound the Rust extension's pool
enforces, computed without it, as Rust's ``available_parallelism`` counts the cores."""

from __future__ import annotations

from pathlib import Path

from bbtok.native import _native
from bbtok.tokenization import threads

from conftest import run_python_child


def test_the_bound_is_the_one_the_extension_enforces() -> None:
    assert threads.max_threads() == _native.max_threads()


def test_importing_the_thread_policy_loads_no_extension(tmp_path: Path) -> None:
    code = (
        "import sys; import bbtok.tokenization.threads as t; t.checked_thread_count(1); "
        "print('bbtok._native' in sys.modules)"
    )
    child = run_python_child(["-c", code], tmp_path, 60)
    assert child.stdout.split() == ["False"], child.stderr


def fake_process(tmp_path: Path, group_line: str, mount_line: str) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(group_line + "\n")
    (proc / "mountinfo").write_text(
        "22 1 0:21 / /proc rw,nosuid - proc proc rw\n" + mount_line + "\n"
    )
    return proc


def test_a_cgroup_v2_quota_allows_its_whole_cores_the_smallest_of_its_ancestors(
    tmp_path: Path,
) -> None:
    mount = tmp_path / "cgroup2"
    (mount / "jobs" / "job").mkdir(parents=True)
    (mount / "jobs" / "cpu.max").write_text("300000 100000\n")  # 3 cores for all jobs
    (mount / "jobs" / "job" / "cpu.max").write_text("250000 100000\n")  # 2.5 for this one
    proc = fake_process(
        tmp_path, "0::/jobs/job", f"30 22 0:26 / {mount} rw - cgroup2 cgroup2 rw,nsdelegate"
    )
    assert threads.cgroup_cpu_limit(str(proc)) == 2


def test_a_cgroup_v2_without_a_quota_sets_no_limit(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup2"
    (mount / "job").mkdir(parents=True)
    (mount / "job" / "cpu.max").write_text("max 100000\n")
    proc = fake_process(tmp_path, "0::/job", f"30 22 0:26 / {mount} rw - cgroup2 cgroup2 rw")
    assert threads.cgroup_cpu_limit(str(proc)) is None


def test_a_cgroup_v1_quota_is_read_from_the_cpu_controller(tmp_path: Path) -> None:
    mount = tmp_path / "cpu"
    (mount / "docker" / "abc").mkdir(parents=True)
    (mount / "docker" / "abc" / "cpu.cfs_quota_us").write_text("150000\n")
    (mount / "docker" / "abc" / "cpu.cfs_period_us").write_text("100000\n")
    proc = fake_process(
        tmp_path,
        "4:cpu,cpuacct:/docker/abc",
        f"35 22 0:30 / {mount} rw - cgroup cgroup rw,cpu,cpuacct",
    )
    assert threads.cgroup_cpu_limit(str(proc)) == 1


def test_a_cgroup_mounted_at_its_own_root_is_found_inside_a_container(tmp_path: Path) -> None:
    # A container sees its own group as the root of the mount: /proc/self/cgroup says "/".
    mount = tmp_path / "cgroup2"
    mount.mkdir()
    (mount / "cpu.max").write_text("200000 100000\n")
    proc = fake_process(tmp_path, "0::/", f"30 22 0:26 / {mount} rw - cgroup2 cgroup2 rw")
    assert threads.cgroup_cpu_limit(str(proc)) == 2


def test_a_process_without_cgroup_files_has_no_limit(tmp_path: Path) -> None:
    assert threads.cgroup_cpu_limit(str(tmp_path)) is None


def test_the_default_thread_count_is_within_the_bound() -> None:
    assert 1 <= threads.thread_count() <= threads.max_threads()
