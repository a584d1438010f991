"""Reading CPU time and peak memory of processes (and process trees) from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from cbp.bench import procstat
from cbp.bench.procstat import ProcSample, ProcStatError

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")


def _stat_line(comm: str, ppid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # fields 1..17 of /proc/<pid>/stat, the rest elided
    return (
        f"4242 ({comm}) S {ppid} 4242 4242 0 -1 4194560 100 0 0 0 "
        f"{utime} {stime} {cutime} {cstime} 20 0 1 0"
    )


def test_parse_stat_counts_fields_after_the_command_name() -> None:
    ticks = procstat.CLOCK_TICKS
    line = _stat_line("py (worker) 2", 17, 3 * ticks, ticks, 2 * ticks, 0)
    ppid, own, reaped = procstat.parse_stat(line)
    assert ppid == 17
    assert own == pytest.approx(4.0)
    assert reaped == pytest.approx(2.0)


def test_parse_stat_rejects_a_line_without_a_command() -> None:
    with pytest.raises(ProcStatError, match="no '\\)'"):
        procstat.parse_stat("4242 S 1 2 3")


def test_parse_status_reads_kib_fields_as_bytes() -> None:
    text = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert procstat.parse_status_kib(text, "VmHWM") == 200 * 1024 * 1024
    assert procstat.parse_status_kib(text, "VmRSS") == 100 * 1024 * 1024
    assert procstat.parse_status_kib("Name:\tzombie\n", "VmHWM") == 0


def test_sample_of_this_process_sees_cpu_spent_and_memory() -> None:
    before = procstat.sample_process(os.getpid())
    end = time.process_time() + 0.15
    while time.process_time() < end:
        pass
    after = procstat.sample_process(os.getpid())
    assert after.cpu_seconds - before.cpu_seconds >= 0.1
    assert after.hwm_bytes >= after.rss_bytes > 0


def test_sample_tree_adds_live_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in procstat.descendants(os.getpid(), procstat.children_map()):
            assert time.monotonic() < deadline, "child never appeared in /proc"
            time.sleep(0.01)
        alone = procstat.sample_process(os.getpid())
        tree = procstat.sample_tree(os.getpid())
        child_rss = procstat.sample_process(child.pid).rss_bytes
        assert child_rss > 0
        assert tree.rss_bytes >= alone.rss_bytes + child_rss // 2
    finally:
        child.kill()
        child.wait()


def test_sample_of_a_gone_process_names_the_pid() -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    with pytest.raises(ProcStatError, match=f"process {p.pid} is gone"):
        procstat.sample_process(p.pid)


def test_descendants_walks_parents_first_and_survives_cycles() -> None:
    children = {1: [2, 3], 2: [4], 4: [1]}
    assert procstat.descendants(1, children) == [1, 2, 3, 4]
    assert procstat.descendants(9, children) == [9]


def test_samples_add_up() -> None:
    a, b = ProcSample(1.5, 10, 20), ProcSample(0.5, 1, 2)
    assert a + b == ProcSample(2.0, 11, 22)
    assert procstat.total({"x": a, "y": b}) == ProcSample(2.0, 11, 22)
    assert procstat.total({}) == procstat.ZERO


def test_sample_reads_the_proportional_set_size_beside_the_peak() -> None:
    import os

    from cbp.bench.procstat import sample_process

    s = sample_process(os.getpid())
    assert 0 < s.pss_bytes <= s.rss_bytes <= s.hwm_bytes
