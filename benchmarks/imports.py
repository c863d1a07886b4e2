"""Import time, each module in a fresh interpreter: wall time of `python -c "import x"` minus `python -c "pass"`.

Runs are interleaved (pass, allos, allos.cli, openai, ..., then again), and each figure is the median over `runs`.
Bytecode caches are allowed and warmed first (one untimed run per module, with `PYTHONDONTWRITEBYTECODE` removed
from the child's environment), as an installed package has them: otherwise an editable checkout would be timed
compiling its sources. Also recorded, as a guide to where the time goes: one `-X importtime` run of `allos` and of
`openai`, self times summed by top-level package.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from typing import Any

__all__ = ["MODULES", "run"]

MODULES = ("allos", "allos.cli", "openai", "httpx", "pydantic")
BASELINE = "openai"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time(statement: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], env=env, check=True)
    return time.perf_counter() - start


def breakdown(module: str, top: int = 10) -> list[dict[str, Any]]:
    """Where `import module` spends its time: `-X importtime` self times summed by top-level package, heaviest
    first (one run, so a guide rather than a measurement)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, int] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0) + int(match.group(1))
    heaviest = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return [{"package": package, "self_ms": micros / 1000} for package, micros in heaviest]


def run(*, runs: int, modules: tuple[str, ...] = MODULES, warm: bool = True, explain: bool = True) -> dict[str, Any]:
    """Median import time of each module; `warm=False` skips the untimed first runs, `explain=False` the
    `-X importtime` breakdowns (both for the quick smoke run)."""
    env = _env()
    statements = {"(interpreter)": "pass", **{m: f"import {m}" for m in modules}}
    for statement in statements.values() if warm else ():
        _time(statement, env)  # warm the bytecode cache and the OS file cache
    samples: dict[str, list[float]] = {name: [] for name in statements}
    names = list(statements)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(_time(statements[name], env))
    bare = statistics.median(samples["(interpreter)"])
    results: dict[str, dict[str, float]] = {
        "(interpreter)": {"wall_ms": bare * 1000, "import_ms": 0.0, "runs": float(runs)}
    }
    for module in modules:
        wall = statistics.median(samples[module])
        results[module] = {"wall_ms": wall * 1000, "import_ms": (wall - bare) * 1000, "runs": float(runs)}
    if BASELINE in results:
        for row in results.values():
            row["ratio_vs_openai"] = row["import_ms"] / results[BASELINE]["import_ms"]
    return {
        "unit": "milliseconds",
        "results": results,
        "allos_breakdown": breakdown("allos") if explain else [],
        "openai_breakdown": breakdown("openai") if explain else [],
    }
