"""bench/lifecycle.py, the one command for issue 18's tables, must not rot: its help names every
row, it reads wrk's output as wrk prints it, and one cheap row runs end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import parse_wrk
from bench.lifecycle import ROWS
from tests.smpp.peers import require

ROOT = Path(__file__).resolve().parents[1]

WRK_LATENCY = """Running 2s test @ http://127.0.0.1:40000/api/v1/messages
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    2.31ms  31.52ms   90.12%
    Req/Sec     7.91k   512.03     8.60k    75.00%
  Latency Distribution
     50%    3.61ms
     75%    4.52ms
     90%    6.03ms
     99%   12.40ms
  15742 requests in 2.00s, 4.35MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   7866.80
Transfer/sec:      2.17MB
"""


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bench.lifecycle", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_names_every_row() -> None:
    done = run("--help")
    assert done.returncode == 0, done.stderr
    for row in ROWS:
        assert f"\n  {row} " in done.stdout, row
    for option in ("--quick", "--only", "--seconds", "--pairs", "--soak"):
        assert option in done.stdout


def test_wrk_output_is_read_with_its_p99_and_errors() -> None:
    with pytest.raises(RuntimeError, match="3 failed requests"):
        parse_wrk(WRK_LATENCY)
    got = parse_wrk(WRK_LATENCY, allow_errors=True)
    assert (got.rate, got.answered, got.p99_ms) == (7866.80, 15739, 12.40)
    seconds = WRK_LATENCY.replace("12.40ms", "1.25s").replace("  Non-2xx or 3xx responses: 3\n", "")
    assert parse_wrk(seconds).p99_ms == 1250.0


@pytest.mark.slow
def test_the_idle_row_runs_and_is_judged() -> None:
    require(shutil.which("wrk") is not None, "wrk is not installed (make peers)")
    done = run("--quick", "--only", "idle", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.split("== every row", 1)[1]
    row = next(line for line in summary.splitlines() if line.startswith("Idle server"))
    assert "% of a core" in row and row.split()[-1] in ("PASS", "FAIL"), row
    assert "0 ERROR" in summary
