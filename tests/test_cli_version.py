"""`smsgate --version` prints the installed package's version, which is pyproject.toml's."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from click.testing import CliRunner

from smsgate.cli import main

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_version_option_prints_the_pyproject_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"smsgate, version {VERSION}\n"


def test_version_from_the_installed_command() -> None:
    """As an operator runs it: no config file, no database, nothing else needed."""
    done = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == VERSION


def test_package_attribute_agrees() -> None:
    import smsgate

    assert smsgate.__version__ == VERSION
