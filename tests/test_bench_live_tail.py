"""bench/live_tail.py: its tracer's notes are read back and attributed as its docstring says,
and a short traced run of a real server reports every process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.live_tail import Process, covered, load, report
from tests.smpp.peers import require

ROOT = Path(__file__).resolve().parents[1]


def test_covered_counts_overlapping_spans_once() -> None:
    assert covered([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)], 0.5, 5.5) == pytest.approx(3.0)
    assert covered([], 0.0, 1.0) == 0.0


def test_notes_are_read_by_process_and_role(tmp_path: Path) -> None:
    notes = {
        10: [["hold", 1.0, 1.004, "L", 0.001], ["hold", 0.1, 0.2, "L", 0.1]],  # one before
        11: [["req", 1.0, 1.002], ["group", 1.0, 1.001, 3, "L"]],
        12: [["gc", 2.0, 2.001, 0]],
    }
    for pid, lines in notes.items():
        (tmp_path / f"{pid}.jsonl").write_text("".join(json.dumps(n) + "\n" for n in lines))
    got = {p.pid: p for p in load(tmp_path, (0.5, 3.0), engine=10)}
    assert {pid: p.role for pid, p in got.items()} == {10: "engine", 11: "worker", 12: "other"}
    assert got[10].spans("hold") == [(1.0, 1.004)]  # the note begun before the run is left out


def test_the_slowest_requests_are_matched_with_the_stalls_they_overlap() -> None:
    """99 requests of 1 ms and one of 10 ms that spans the engine's only hold: the slow one
    spent 8 of its 10 ms behind it, while that hold covered 8% of the run."""
    window = (0.0, 0.1)
    fast = [["req", i * 0.001, i * 0.001 + 0.001] for i in range(99)]
    worker = Process(2, "worker", {"req": [*fast, ["req", 0.05, 0.06]], "group": fast})
    engine = Process(1, "engine", {"hold": [["hold", 0.051, 0.059, "L", 0.002]]})
    lines = report([engine, worker], window)
    text = "\n".join(lines)
    assert "by worker 100 (1.0 a commit)" in text
    assert "engine       1:     1 8.0 / 8.0 / 8.0 2.0 8.0%" in text  # wall far above CPU
    assert "the slowest 1% (1 requests of 10.0 ms or more, mean 10.0 ms)" in text
    behind = next(line for line in lines if "engine's lock holds" in line)
    assert "8.0 ms of them (80%); of the run 8%" in behind, behind


@pytest.mark.slow
def test_a_short_traced_run_reports_the_engine_and_both_workers() -> None:
    require(shutil.which("wrk") is not None, "wrk is not installed (make peers)")
    done = subprocess.run(
        [sys.executable, "-m", "bench.live_tail", "--seconds", "2"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("run 1, this tree: ") and "wrk p99" in out
    assert out.count("    worker ") >= 2 and "    engine " in out, out
    assert "the slowest 1%" in out and "engine's lock holds" in out, out
