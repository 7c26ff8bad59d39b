"""Packaging and deployment: the wheel's data files, the serve start-up line, the container
image (built where a container engine can build), its entry point, compose.yaml and the systemd
unit."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support.nodes import node_env

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
BASE_IMAGE = "python:3.11-slim"


def test_every_data_file_of_the_package_is_installed() -> None:
    """A non-editable install (the image's, the systemd unit's) gets only what package-data
    names: every other file under smsgate/ must match one of its patterns."""
    package = ROOT / "smsgate"
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["smsgate"]
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    data = {
        path
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert not data - shipped, f"not in package-data: {sorted(map(str, data - shipped))}"


def test_license_is_declared_and_shipped() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert f"## {VERSION}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


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


# --- the container image ------------------------------------------------------------------


def test_dockerfile_runs_smsgate_serve_unprivileged_with_a_volume_and_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert stages and all(s == BASE_IMAGE for s in stages), stages
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0")), users
    assert re.search(r'^VOLUME \["/var/lib/smsgate"\]', text, re.MULTILINE)
    assert "SMSGATE_DATABASE=sqlite:////var/lib/smsgate/" in text
    health = re.search(r"^HEALTHCHECK .*(?:\n  .*)*", text, re.MULTILINE)
    assert health and "/readyz" in health.group(0)
    assert re.search(r'^CMD \["serve"\]', text, re.MULTILINE)
    assert "-c constraints.txt" in text  # the tested versions


def _fake_smsgate(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `smsgate` on PATH that records its arguments, one call a line."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "smsgate"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    return env, calls


@pytest.mark.parametrize(
    ("args", "exists", "expected"),
    [
        ([], False, ["init", "serve"]),  # the first start on an empty volume
        ([], True, ["serve"]),
        (["serve", "--workers", "2"], False, ["init", "serve --workers 2"]),
        (["account", "list"], False, ["account list"]),
        (["--version"], False, ["--version"]),
    ],
)
def test_entrypoint_creates_a_missing_sqlite_database_before_serving(
    tmp_path: Path, args: list[str], exists: bool, expected: list[str]
) -> None:
    env, calls = _fake_smsgate(tmp_path)
    db = tmp_path / "data" / "smsgate.db"
    db.parent.mkdir()
    if exists:
        db.touch()
    env["SMSGATE_DATABASE"] = f"sqlite:///{db}"
    done = subprocess.run(
        ["sh", str(ROOT / "deploy" / "docker-entrypoint.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert calls.read_text().splitlines() == expected


def test_entrypoint_leaves_postgresql_to_the_operator(tmp_path: Path) -> None:
    env, calls = _fake_smsgate(tmp_path)
    env["SMSGATE_DATABASE"] = "postgresql://smsgate@postgres/smsgate"
    script = str(ROOT / "deploy" / "docker-entrypoint.sh")
    subprocess.run(["sh", script], env=env, check=True, timeout=30)
    assert calls.read_text().splitlines() == ["serve"]


def _engine() -> str | None:
    """docker or podman, if one is installed and can build (a docker client with no daemon
    behind it cannot)."""
    for tool in ("docker", "podman"):
        path = shutil.which(tool)
        if path is None:
            continue
        info = subprocess.run([path, "info"], capture_output=True, timeout=60, check=False)
        if info.returncode == 0:
            return path
    return None


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_image_builds_and_runs_smsgate() -> None:
    engine = _engine()
    if engine is None:
        pytest.skip("no docker or podman that can build here (a client without a daemon?)")
    have_base = subprocess.run(
        [engine, "image", "inspect", BASE_IMAGE], capture_output=True, timeout=60, check=False
    )
    if have_base.returncode != 0:
        pulled = subprocess.run(
            [engine, "pull", BASE_IMAGE], capture_output=True, text=True, timeout=900, check=False
        )
        if pulled.returncode != 0:
            pytest.skip(f"cannot pull {BASE_IMAGE}: {pulled.stderr.strip()[-300:]}")
    tag = f"smsgate-test:{uuid.uuid4().hex[:12]}"
    try:
        built = subprocess.run(
            [engine, "build", "-t", tag, str(ROOT)],
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        user = subprocess.run(
            [engine, "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert user.stdout.strip() != "0"
        version = subprocess.run(
            [engine, "run", "--rm", tag, "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert version.stdout.strip().endswith(VERSION)
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, timeout=120, check=False)


# --- compose.yaml and nginx ---------------------------------------------------------------


def test_compose_has_two_nodes_behind_one_published_port() -> None:
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert len(re.findall(r"^    ports:", compose, re.MULTILINE)) == 1
    nodes = re.findall(r"^  (node-\w+):\n(?:    .*\n)*?    command: \[\"serve\"\]", compose, re.M)
    assert len(nodes) == 2, nodes
    for node in nodes:
        assert f"server {node}:8080" in nginx
    assert re.search(r"^  postgres:\n    image: postgres:", compose, re.MULTILINE)
    trusted = re.search(r"SMSGATE_FORWARDED_ALLOW_IPS: (\S+)", compose)
    proxy = re.search(r"ipv4_address: (\S+)", compose)
    assert trusted and proxy and trusted.group(1) == proxy.group(1)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_is_valid() -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# --- the systemd unit ---------------------------------------------------------------------

HARDENING = {
    "DynamicUser": "yes",
    "StateDirectory": "smsgate",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
}


def _unit() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "smsgate.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_systemd_unit_is_hardened() -> None:
    unit = _unit()
    for key, value in HARDENING.items():
        assert value in unit.get(key, []), f"{key}={value}"
    assert unit["ExecStart"] == ["/opt/smsgate/bin/smsgate serve"]
    assert "User" not in unit and "Group" not in unit  # DynamicUser's own


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    """systemd's own check, with the paths of this machine's install in place of /opt's."""
    smsgate = shutil.which("smsgate") or str(Path(sys.executable).parent / "smsgate")
    unit = (ROOT / "deploy" / "smsgate.service").read_text(encoding="utf-8")
    copy = tmp_path / "smsgate.service"
    copy.write_text(unit.replace("/opt/smsgate/bin/smsgate", smsgate))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


# --- documentation ------------------------------------------------------------------------


def test_docs_point_only_at_files_in_the_repository() -> None:
    """A clone has only the repository: every relative link resolves inside it, and no page
    names a path outside it (the dialect pages once pointed at ../shared/seeds/)."""
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
    bad = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            path = (page.parent / target.split("#", 1)[0]).resolve()
            if not (path.is_relative_to(ROOT) and path.exists()):
                bad.append(f"{page.relative_to(ROOT)}: {target}")
        for path in re.findall(r"`((?:\.\./)+\S*|/work/\S*|/home/\S*)`", text):
            found = [
                p
                for p in ((page.parent / path).resolve(), (ROOT / path).resolve())
                if p.is_relative_to(ROOT) and p.exists()
            ]
            if not found:
                bad.append(f"{page.relative_to(ROOT)}: `{path}`")
    assert not bad, bad
