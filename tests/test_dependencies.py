"""What smsgate imports is what pyproject.toml declares, the lock file agrees with it, and the
libraries whose internals we use are versions we tested, with those internals still there.

Two places reach into another library: smsgate/http_protocol.py subclasses uvicorn's httptools
protocol and wraps the transport it writes to, and smsgate/engine/metrics.py adds to a
prometheus_client histogram's private bucket and sum values. Each is bounded in pyproject.toml
below its next major version; a version outside the bounds, or a missing attribute, fails here
with the library's name, before it fails somewhere less clear. (The uvicorn hooks that the
header timeout uses are checked beside its tests, in tests/test_http_protocol.py.)
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]

# The libraries whose internals smsgate uses, and where.
INTERNALS = {
    "uvicorn": "smsgate/http_protocol.py subclasses its HttpToolsProtocol",
    "prometheus-client": "smsgate/engine/metrics.py writes a histogram's _buckets and _sum",
}


def declared(name: str, requirements: list[Requirement] = RUNTIME) -> Requirement | None:
    for requirement in requirements:
        if canonicalize_name(requirement.name) == canonicalize_name(name):
            return requirement
    return None


def third_party_imports(package: Path) -> dict[str, set[str]]:
    """Top-level module names imported anywhere under `package` that are neither the standard
    library nor smsgate itself, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "smsgate":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_runtime_dependency() -> None:
    owners = metadata.packages_distributions()
    missing = []
    for module, files in sorted(third_party_imports(ROOT / "smsgate").items()):
        distributions = owners.get(module, [])
        if not any(declared(d) for d in distributions):
            missing.append(f"{module} ({', '.join(distributions) or '?'}) in {sorted(files)}")
    assert not missing, "imported by smsgate but not in [project.dependencies]: " + "; ".join(
        missing
    )


def test_aiohttp_is_for_tests_only() -> None:
    assert declared("aiohttp") is None
    assert declared("aiohttp", DEV) is not None
    assert "aiohttp" not in third_party_imports(ROOT / "smsgate")


def test_uvicorn_comes_without_its_standard_extras() -> None:
    """uvicorn[standard] would bring websockets, watchfiles, python-dotenv and PyYAML, which
    nothing uses; the two that smsgate does use are declared on their own."""
    uvicorn = declared("uvicorn")
    assert uvicorn is not None and not uvicorn.extras
    assert declared("uvloop") is not None and declared("httptools") is not None


@pytest.mark.parametrize("name", sorted(INTERNALS))
def test_installed_version_is_in_the_tested_range(name: str) -> None:
    requirement = declared(name)
    assert requirement is not None, f"{name} is not declared in pyproject.toml"
    uppers = [s for s in requirement.specifier if s.operator in ("<", "<=")]
    assert uppers, f"{name}: {INTERNALS[name]}, so pyproject.toml must bound its version above"
    installed = metadata.version(name)
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{name} {installed} is installed, outside the tested range {requirement.specifier}: "
        f"{INTERNALS[name]}. Check that code against this version, run the suite, then move "
        f"the bound in pyproject.toml and `make lock`."
    )


def test_prometheus_histogram_internals_are_there() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from smsgate.engine import metrics

    histogram = Histogram(
        "probe_seconds", "probe", ["dialect"], buckets=(0.1, 1.0), registry=CollectorRegistry()
    )
    child = histogram.labels("x")
    problem = "prometheus-client: smsgate/engine/metrics.py relies on"
    assert isinstance(histogram._upper_bounds, list), f"{problem} Histogram._upper_bounds"
    assert len(child._buckets) == 3, f"{problem} one Histogram._buckets value per bound"
    for value in [*child._buckets, child._sum]:
        assert callable(getattr(value, "inc", None)), f"{problem} inc() on _buckets and _sum"
    metrics._add_observations(child, [1, 0, 2], 7.5)
    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in next(iter(histogram.collect())).samples
        if s.labels.get("dialect") == "x"
    }
    assert samples[("probe_seconds_bucket", "0.1")] == 1, problem + " cumulative buckets"
    assert samples[("probe_seconds_bucket", "+Inf")] == 3
    assert samples[("probe_seconds_sum", None)] == 7.5


# What uvicorn's httptools protocol may call on its transport. CoalescingTransport defines
# write, close, abort and is_closing; the rest reach the socket's transport unchanged, and
# must not write: a new writing method (writelines, write_eof) would bypass the writes held
# back and reorder the stream.
TRANSPORT_CALLS = {"write", "close", "abort", "is_closing", "set_protocol", "get_extra_info"}


def test_uvicorn_protocol_internals_are_there() -> None:
    from uvicorn.protocols.http import httptools_impl

    from smsgate.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport

    base = httptools_impl.HttpToolsProtocol
    assert issubclass(CoalescingHttpToolsProtocol, base)
    params = list(inspect.signature(base.connection_made).parameters)
    assert params == ["self", "transport"], f"uvicorn: HttpToolsProtocol.connection_made{params}"
    calls = set(re.findall(r"\btransport\.(\w+)\(", inspect.getsource(httptools_impl)))
    unknown = calls - TRANSPORT_CALLS
    assert not unknown, (
        f"uvicorn {metadata.version('uvicorn')}: its httptools protocol now calls transport."
        f"{sorted(unknown)}; check smsgate/http_protocol.py's CoalescingTransport against them"
    )
    for name in ("write", "close", "abort", "is_closing"):
        assert name in vars(CoalescingTransport)


async def test_uvicorn_protocol_takes_the_coalescing_transport() -> None:
    """connection_made hands uvicorn our transport, and uvicorn keeps the loop as `self.loop`,
    which CoalescingHttpToolsProtocol reads."""
    import uvicorn
    from uvicorn.server import ServerState

    from smsgate.http_protocol import CoalescingTransport
    from smsgate.server import HTTP_PROTOCOL

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("no request is made")

    config = uvicorn.Config(app, http=HTTP_PROTOCOL, lifespan="off", log_level="warning")
    config.load()
    loop = asyncio.get_running_loop()
    protocol = HTTP_PROTOCOL(config, ServerState(), {}, _loop=loop)
    assert protocol.loop is loop, "uvicorn: HttpToolsProtocol.loop"

    class Socket(asyncio.Transport):
        closed = False

        def get_extra_info(self, name: str, default: object = None) -> object:
            return ("127.0.0.1", 8080) if name in ("sockname", "peername") else default

        def is_closing(self) -> bool:
            return self.closed

        def close(self) -> None:
            self.closed = True

    protocol.connection_made(Socket())
    assert isinstance(protocol.transport, CoalescingTransport), "uvicorn: .transport"
    protocol.connection_lost(None)


def test_the_lock_file_pins_every_declared_dependency_within_its_range() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pins[canonicalize_name(name)] = version
    for requirement in RUNTIME + DEV:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {name}: run `make lock`"
        assert requirement.specifier.contains(Version(pins[name]), prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's "
            f"{requirement.specifier}: run `make lock`"
        )
    assert "websockets" not in pins and "watchfiles" not in pins  # uvicorn[standard]'s
