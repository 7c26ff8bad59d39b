"""docs/grafana-dashboard.json queries the metrics smsgate exports, and shows each of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from smsgate.engine import metrics

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def _exported() -> set[str]:
    """smsgate's metric names as /metrics writes them (a counter's with _total, a histogram's
    with _bucket, _count and _sum), labelled ones included before they have a value."""
    names = set()
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
            else:
                names.add(family.name)
    return names


def _queried(dashboard: dict[str, Any]) -> set[str]:
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    return {name for expr in exprs for name in re.findall(r"\bsmsgate_[a-z_]+\b", expr)}


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_the_dashboard_queries_exported_metrics_and_all_of_them() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = _exported()
    queried = _queried(dashboard)
    assert queried - exported == set(), "queried but not exported"
    families = {_base(n) for n in exported}
    assert families - {_base(n) for n in queried} == set(), "exported but on no panel"
    assert all(
        t["datasource"]["uid"] == "${datasource}"
        for p in dashboard["panels"]
        for t in p.get("targets", [])
    )
