"""`smsgate` commands as an operator runs them: a real process, only the settings given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def command_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any SMSGATE_* variable (the suite's own included), plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    return {**clean, "PYTHONPATH": str(ROOT), "SMSGATE_SMPP__PORT": "0", **(env or {})}


def smsgate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`smsgate ARGS` run to its end (no SMPP listener unless `env` asks for one)."""
    return subprocess.run(
        [sys.executable, "-m", "smsgate.cli", *args],
        env=command_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command printed on stderr (it failed, and said nothing else)."""
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def serving(args: list[str], port: int, env: dict[str, str] | None = None) -> None:
    """`smsgate ARGS` (a serve on `port`) answers /readyz, then is stopped with SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgate.cli", *args],
        env=command_env({"SMSGATE_LOG_LEVEL": "warning", **(env or {})}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited: {proc.communicate()[1]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
