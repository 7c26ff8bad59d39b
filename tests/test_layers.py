"""Imports go down the layers: dialects -> engine -> connectors -> store -> core.

Read from the source (every import statement: at the top, inside functions, under
`if TYPE_CHECKING:`), not from what happens to be loaded, so that a lazy import cannot hide a
loop. `smpp/` (the PDU codec and session) sits at the connectors' level; the modules that
assemble the application (app, server, cli, config) sit above every layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import smsgate

ROOT = Path(smsgate.__file__).parent
LAYERS = ("core", "store", "connectors", "engine", "dialects")  # bottom first
# smpp (the PDU codec) and net (the HTTP client) serve the connectors and everything above;
# admin (the operator console) is a northbound face, as the dialects are.
LEVEL = {name: i for i, name in enumerate(LAYERS)} | {
    "smpp": LAYERS.index("connectors"),
    "net": LAYERS.index("connectors"),
    "admin": LAYERS.index("dialects"),
}
ASSEMBLY = {f"smsgate.{name}" for name in ("app", "server", "cli", "config")}

Graph = Mapping[str, set[str]]


def module_name(path: Path) -> str:
    parts = ["smsgate", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported(name: str, path: Path, modules: set[str]) -> set[str]:
    """The smsgate modules that module `name` imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from package import module` imports that module; `from module import name`, the
            # module (a package's __init__ is not counted as imported by its own submodules)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        # Not ours, or no such module (the import fails, and tests with it)
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = sources()
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: Graph) -> Iterator[list[str]]:
    """One cycle (its modules in import order, the first repeated at the end) per strongly
    connected group of modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        yield cycle_within(graph, group)


def cycle_within(graph: Graph, group: set[str]) -> list[str]:
    """A shortest cycle through the first module of `group` (breadth-first, inside the group)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    for node in queue:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*paths[node], start]
            if nxt in group and nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group has one


def level(module: str) -> int | None:
    parts = module.split(".")
    return LEVEL.get(parts[1]) if len(parts) > 1 else None


def test_no_import_cycle() -> None:
    found = [" -> ".join(cycle) for cycle in cycles(import_graph())]
    assert not found, "import cycles:\n" + "\n".join(found)


def test_layers_import_downwards() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets)
        if (mine := level(module)) is not None
        and (theirs := level(target)) is not None
        and theirs > mine
    ]
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_layers_never_import_the_assembly() -> None:
    """app.py builds the layers and hands them what they need; config reaches them as values."""
    upward = [
        f"{module} imports {target}"
        for module, targets in sorted(import_graph().items())
        for target in sorted(targets & ASSEMBLY)
        if level(module) is not None
    ]
    assert not upward, "\n".join(upward)


def test_the_graph_is_read_as_python_reads_it() -> None:
    """The checks see relative, lazy and type-checking imports, and find a loop when there is one."""
    graph = import_graph()
    assert "smsgate.engine.callbacks" in graph["smsgate.engine.routing"]  # from .callbacks
    assert "smsgate.engine.gateway" in graph["smsgate.dialects.base"]  # under TYPE_CHECKING
    assert "smsgate.app" in graph["smsgate.server"]  # inside a function
    assert "smsgate.engine.metrics" in graph["smsgate.engine.notifier"]  # from . import metrics
    loop = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert list(cycles(loop)) == [["a", "b", "c", "a"]]
    assert list(cycles({"a": {"b"}, "b": set()})) == []
