"""The harness: the full offline replay (every alias x every case), and how it grows with the number of aliases and
of generated cases.

Each alias point replays the committed cassettes for the first N aliases (sorted by name) in-process, through the
same runner as `allos-conform` (vcrpy, re-chunked streams, real Providers), scenarios and generated sequences
included, and reports the median wall time over `rounds`, the time per alias and per scenario case. Each corpus
point replays the first M generated cases on every alias. Linear growth shows as flat "ms per" columns.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from allos import list_providers
from conformance.generated import run_generated
from conformance.runner import RunConfig
from conformance.runner import run as run_matrix
from conformance.scenarios import cases_for
from conformance.sequences import load_corpus

__all__ = ["CASSETTES", "run"]

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


def _replay(aliases: list[str]) -> tuple[float, int, set[str]]:
    start = time.perf_counter()
    report = run_matrix(RunConfig(providers=aliases, cassettes=CASSETTES))
    return time.perf_counter() - start, len(report.results), {r.status for r in report.results}


def _generated(count: int) -> float:
    config = RunConfig(cassettes=CASSETTES)
    cases = load_corpus()[:count]
    start = time.perf_counter()
    for spec in list_providers():
        run_generated(spec, config, None, cases)
    return time.perf_counter() - start


def _corpus_growth(points: tuple[int, ...], rounds: int) -> dict[str, Any]:
    total = len(load_corpus())
    aliases = len(list_providers())
    rows: dict[str, Any] = {}
    for point in points:
        count = min(point or total, total)
        median = statistics.median(_generated(count) for _ in range(rounds))
        rows[f"{count} generated cases"] = {
            "generated_cases": count,
            "aliases": aliases,
            "median_s": round(median, 3),
            "ms_per_case_and_alias": round(1000 * median / (count * aliases), 2),
        }
    return rows


def run(
    *, points: tuple[int, ...] = (1, 5, 10, 0), corpus_points: tuple[int, ...] = (4, 8, 0), rounds: int = 3
) -> dict[str, Any]:
    """`points` are alias counts, `corpus_points` generated-case counts (0: all of them)."""
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
    return {"cases_per_alias": cases, "results": rows, "generated": _corpus_growth(corpus_points, rounds)}
