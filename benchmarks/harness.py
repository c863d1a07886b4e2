"""The harness: the full offline replay (every alias x every case), and how it grows with the number of aliases.

Each point replays the committed cassettes for the first N aliases (sorted by name) in-process, through the same
runner as `allos-conform` (vcrpy, re-chunked streams, real Providers), and reports the median wall time over
`rounds`, the time per alias and per case. Linear growth shows as a flat "ms per case" column.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from allos import list_providers
from conformance.runner import RunConfig
from conformance.runner import run as run_matrix
from conformance.scenarios import cases_for

__all__ = ["CASSETTES", "run"]

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


def _replay(aliases: list[str]) -> tuple[float, int, set[str]]:
    start = time.perf_counter()
    report = run_matrix(RunConfig(providers=aliases, cassettes=CASSETTES))
    return time.perf_counter() - start, len(report.results), {r.status for r in report.results}


def run(*, points: tuple[int, ...] = (1, 5, 10, 0), rounds: int = 3) -> dict[str, Any]:
    """`points` are alias counts (0: all of them)."""
    names = [spec.name for spec in list_providers()]
    cases = len(cases_for())
    _replay(names[:1])  # warm imports and caches once, untimed
    rows: dict[str, Any] = {}
    for point in points:
        count = point or len(names)
        subset = names[:count]
        times: list[float] = []
        statuses: set[str] = set()
        for _ in range(rounds):
            seconds, _cells, seen = _replay(subset)
            times.append(seconds)
            statuses |= seen
        median = statistics.median(times)
        rows[f"{count} aliases"] = {
            "aliases": count,
            "cases": count * cases,
            "median_s": round(median, 3),
            "ms_per_alias": round(1000 * median / count, 1),
            "ms_per_case": round(1000 * median / (count * cases), 2),
            "statuses": sorted(statuses),
        }
    return {"cases_per_alias": cases, "results": rows}
