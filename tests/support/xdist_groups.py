"""`--dist loadgroup` on pytest 9.2: the group carried in the test's id, as xdist means it to be.

pytest-xdist (3.8) tells the controller a test's `xdist_group` by appending `@group` to the id it
collected (its worker's `pytest_collection_modifyitems` assigns `item._nodeid`). pytest 9.2 keeps
ids as structured `NodeId`s in `item._id` and no longer reads `_nodeid`, so the suffix is lost
and grouped tests are spread over the workers as if unmarked, silently (pytest-xdist issue
1386; its fix, which sets the structured id instead, is not released). `carry_groups` does
what that fix does, and nothing where xdist already did it.
"""

from __future__ import annotations

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
