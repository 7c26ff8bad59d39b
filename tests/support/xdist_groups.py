"""make test's xdist groups, and `--dist loadgroup` made to work on pytest 9.2.

Under `pytest -n` (make test) the tests marked `slow` share one worker, one after another: each
drives real `smsgate serve` processes through thousands of messages, and two of them side by
side on two cores starve each other. A module may name a group of its own
(`pytestmark = pytest.mark.xdist_group(...)`: its tests share a module fixture).

pytest-xdist (3.8) tells the controller a test's `xdist_group` by appending `@group` to the id it
collected (its worker's `pytest_collection_modifyitems` assigns `item._nodeid`). pytest 9.2 keeps
ids as structured `NodeId`s in `item._id` and no longer reads `_nodeid`, so the suffix is lost
and grouped tests are spread over the workers as if unmarked, silently (pytest-xdist issue
1386; its fix, which sets the structured id instead, is not released). `carry_groups` does
what that fix does, and nothing where xdist already did it.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest
from _pytest.nodeid import NodeId


def group_of(item: pytest.Item) -> str | None:
    """The item's xdist group, named as xdist names it (several: joined, sorted)."""
    names = {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) or None


def carry_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker under `--dist loadgroup`: `@group` at the end of each grouped test's
    id, unless it is there already."""
    if not config.getoption("loadgroup", default=False):  # set on workers only, by xdist
        return
    for item in items:
        group = group_of(item)
        if group is not None and not item.nodeid.endswith("@" + group):
            item._id = NodeId.parse(f"{item.nodeid}@{group}")  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)  # around xdist's own hook, which reads the groups
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    """The `slow` tests in the group `processes`; then each group in its test's id (xdist
    reads it from there). Without `--dist loadgroup` the mark does nothing."""
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.xdist_group("processes"))
    yield
    carry_groups(config, items)
