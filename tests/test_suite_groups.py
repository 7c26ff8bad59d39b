"""`make test`'s parallel run keeps the tests marked `slow` on one worker, one after another
(tests/conftest.py): checked by running pytest-xdist as the Makefile does, on tests of its own
that use this suite's hooks, since the grouping fails silently (pytest-xdist issue 1386)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TESTS = """
import os

import pytest


def record(kind: str, name: str) -> None:
    with open(os.environ["WHERE"], "a") as out:
        out.write(f"{kind} {name} {os.environ['PYTEST_XDIST_WORKER']}\\n")


@pytest.mark.parametrize("n", range(6))
@pytest.mark.slow
def test_heavy(n: int) -> None:
    record("slow", f"heavy{n}")


@pytest.mark.parametrize("n", range(12))
def test_light(n: int) -> None:
    record("other", f"light{n}")
"""


def test_slow_tests_share_one_worker_and_the_others_spread(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.support.xdist_groups import pytest_collection_modifyitems\n"
    )
    (tmp_path / "test_grouped.py").write_text(TESTS)
    where = tmp_path / "where.txt"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    command += ["--dist", "loadgroup", "--rootdir", str(tmp_path), "-c", "/dev/null", str(tmp_path)]
    done = subprocess.run(
        command,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "WHERE": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    runs = [line.split() for line in where.read_text().splitlines()]
    assert len(runs) == 18
    slow = {worker for kind, _name, worker in runs if kind == "slow"}
    assert len(slow) == 1, runs  # all six on one worker
    assert len({worker for _kind, _name, worker in runs}) > 1, runs  # the others elsewhere too
