"""Packaging and deployment: the serve start-up line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.nodes import node_env


@pytest.mark.slow
def test_serve_prints_the_port_it_bound(tmp_path: Path) -> None:
    """`--port 0` takes a free port; the start-up line names that one, not 0 (several workers:
    smsgate's own line; one worker: uvicorn's, which already did)."""
    database = f"sqlite:///{tmp_path}/smsgate.db"
    env = node_env()
    env["SMSGATE_LOG_LEVEL"] = "info"
    cli = [sys.executable, "-m", "smsgate.cli", "--database", database]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
            if found or len(lines) > 50:
                break
        assert found, "".join(lines)
        port = int(found.group(1))
        assert port != 0
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "serve exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, f"nothing answers on the port printed, {port}"
                time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
