"""`python -m benchmarks [--quick] [--json PATH] [--only NAME ...]`: run the benchmarks, print tables, write JSON.

The full run takes a few minutes on two cores; `--quick` runs every benchmark once with tiny sizes (seconds; the
figures mean nothing, the smoke test uses it). Results go to benchmarks/results/latest.json unless --json says
otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks import anthropic_overhead, harness, imports, overhead, streaming, translation

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"

# name -> (full sizes, quick sizes); the keyword arguments of each module's run function.
SIZES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "per_call_sync": ({"rounds": 3000, "warmup": 300}, {"rounds": 3, "warmup": 1}),
    "per_call_anthropic": ({"rounds": 3000, "warmup": 300}, {"rounds": 3, "warmup": 1}),
    "per_call_async": (
        {"concurrency": 100, "rounds": 30, "warmup": 3},
        {"concurrency": 4, "rounds": 2, "warmup": 1},
    ),
    "streaming": (
        {"text_chunks": 2000, "tool_calls": 4, "fragments_per_call": 200, "rounds": 7, "warmup": 1},
        {"text_chunks": 5, "tool_calls": 1, "fragments_per_call": 3, "rounds": 2, "warmup": 1},
    ),
    "translation": (
        {"turns": 100, "tools": 40, "answer_tool_calls": 32, "rounds": 30, "warmup": 2},
        {"turns": 2, "tools": 2, "answer_tool_calls": 2, "rounds": 2, "warmup": 1},
    ),
    "harness": (
        {"points": (1, 5, 10, 0), "corpus_points": (4, 8, 0), "rounds": 3},
        {"points": (1,), "corpus_points": (1,), "rounds": 1},
    ),
    "imports": (
        {"runs": 11},
        {"runs": 1, "modules": ("allos", "openai"), "warm": False, "explain": False},
    ),
}

RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "per_call_sync": overhead.run_sync,
    "per_call_anthropic": anthropic_overhead.run,
    "per_call_async": overhead.run_async,
    "streaming": streaming.run,
    "translation": translation.run,
    "harness": harness.run,
    "imports": imports.run,
}

# The targets of the "Benchmarks" issue, as (name, description, check on the results) rows.
CHAT_OVER_RAW = 1.10
IMPORT_OVER_OPENAI = 0.67
REPLAY_SECONDS = 60.0


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("allos", "httpx", "pydantic", "pydantic-core", "openai", "httpx2"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        # Other work on the machine skews every figure: the load average says how quiet the run was.
        "loadavg_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured value and whether it is met (absent benchmarks are skipped)."""
    rows: list[dict[str, Any]] = []
    sync = results.get("per_call_sync", {}).get("results")
    if sync:
        ratio = sync["allos chat()"]["ratio_vs_raw_httpx"]
        rows.append(
            _target("allos chat() per call vs raw httpx", ratio, f"<= {CHAT_OVER_RAW}x", ratio <= CHAT_OVER_RAW)
        )
        sdk = sync["openai SDK"]["median_us"] / sync["allos chat()"]["median_us"]
        rows.append(_target("openai SDK per call / allos chat()", sdk, "> 1x (allos faster)", sdk > 1))
    messages = results.get("per_call_anthropic", {}).get("results")
    if messages:
        sdk = messages["anthropic SDK"]["median_us"] / messages["allos chat()"]["median_us"]
        rows.append(_target("anthropic SDK per call / allos chat() (Messages)", sdk, "> 1x (allos faster)", sdk > 1))
    stream = results.get("streaming", {}).get("framings")
    if stream:
        speed = min(f["results"]["allos StreamDecoder"]["speed_vs_sdk_chunks"] for f in stream.values())
        rows.append(_target("allos stream decoding vs SDK chunks (slowest framing)", speed, ">= 1x", speed >= 1))
    imported = results.get("imports", {}).get("results", {})
    if "allos" in imported and "openai" in imported:
        ratio = imported["allos"]["ratio_vs_openai"]
        rows.append(
            _target("import allos / import openai", ratio, f"<= {IMPORT_OVER_OPENAI}x", ratio <= IMPORT_OVER_OPENAI)
        )
    replay = results.get("harness", {}).get("results", {})
    if replay:
        full = max(replay.values(), key=lambda row: row["aliases"])
        rows.append(
            _target(
                f"offline replay, {full['aliases']} aliases x {full['cases'] // full['aliases']} cases (s)",
                full["median_s"],
                f"< {REPLAY_SECONDS:g} s",
                full["median_s"] < REPLAY_SECONDS,
            )
        )
    return rows


def _target(name: str, value: float, goal: str, met: bool) -> dict[str, Any]:
    return {"target": name, "value": round(value, 3), "goal": goal, "met": met}


# --- tables ---------------------------------------------------------------------------------------------------------


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for position, column in enumerate(columns):
        table.add_column(column, justify="left" if position == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _print(console: Console, name: str, data: dict[str, Any]) -> None:
    if name in ("per_call_sync", "per_call_anthropic"):
        rows = [
            [k, f"{v['median_us']:.1f}", f"{v['p90_us']:.1f}", f"{v['ratio_vs_raw_httpx']:.3f}x"]
            for k, v in data["results"].items()
        ]
        title = "Per call, sync (us)" if name == "per_call_sync" else "Per call, Anthropic Messages, sync (us)"
        console.print(_table(title, ["client", "median", "p90", "vs raw httpx"], rows))
    elif name == "per_call_async":
        title = f"Async, {data['concurrency']} concurrent calls per batch"
        rows = [
            [k, f"{v['median_us'] / 1000:.1f}", f"{v['calls_per_s']:.0f}", f"{v['ratio_vs_raw_httpx']:.3f}x"]
            for k, v in data["results"].items()
        ]
        console.print(_table(title, ["client", "batch median (ms)", "calls/s", "throughput vs raw"], rows))
    elif name == "streaming":
        rows = [
            [
                f"{k} ({framing})",
                f"{v['median_us'] / 1000:.1f}",
                f"{v['events_per_s']:.0f}",
                f"{v['speed_vs_sdk_chunks']:.2f}x",
            ]
            for framing, block in data["framings"].items()
            for k, v in block["results"].items()
        ]
        title = f"Stream decoding, {data['sse_events']} SSE events, {data['bytes'] / 1e6:.2f} MB"
        console.print(_table(title, ["decoder (framing)", "ms per stream", "events/s", "vs SDK chunks"], rows))
    elif name == "translation":
        rows = [[k, f"{v['median_us']:.1f}", f"{v['p90_us']:.1f}"] for k, v in data["results"].items()]
        title = (
            f"Translation: {data['messages']} messages, {data['tools']} tools ({data['request_bytes'] / 1000:.0f} kB);"
            f" answer with {data['answer_tool_calls']} tool calls (us)"
        )
        console.print(_table(title, ["step", "median", "p90"], rows))
    elif name == "harness":
        rows = [
            [k, str(v["cases"]), f"{v['median_s']:.2f}", f"{v['ms_per_alias']:.0f}", f"{v['ms_per_case']:.2f}"]
            for k, v in data["results"].items()
        ]
        title = f"Offline replay ({data['cases_per_alias']} scenario cases per alias, generated sequences included)"
        console.print(_table(title, ["aliases", "cases", "s (median)", "ms/alias", "ms/case"], rows))
        rows = [
            [k, str(v["aliases"]), f"{v['median_s']:.2f}", f"{v['ms_per_case_and_alias']:.2f}"]
            for k, v in data["generated"].items()
        ]
        console.print(
            _table("Generated sequences, replayed", ["corpus", "aliases", "s (median)", "ms/case/alias"], rows)
        )
    elif name == "imports":
        rows = [
            [k, f"{v['import_ms']:.1f}", f"{v['wall_ms']:.1f}", f"{v.get('ratio_vs_openai', 0):.2f}x"]
            for k, v in data["results"].items()
        ]
        console.print(_table("Import time (ms, fresh interpreter)", ["module", "import", "wall", "vs openai"], rows))


def _print_targets(console: Console, rows: list[dict[str, Any]]) -> None:
    body = [[r["target"], f"{r['value']}", r["goal"], "met" if r["met"] else "MISSED"] for r in rows]
    console.print(_table("Targets", ["target", "value", "goal", ""], body))


# --- command ----------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one pass: checks that everything runs")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"where to write results ({DEFAULT_JSON})")
    parser.add_argument("--only", nargs="+", choices=list(RUNNERS), help="run only these benchmarks")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 120)
    started = datetime.datetime.now(datetime.timezone.utc)
    machine_before = machine()
    results: dict[str, Any] = {}
    for name in args.only or list(RUNNERS):
        full, quick = SIZES[name]
        sizes = quick if args.quick else full
        console.print(f"[bold]{name}[/bold] {sizes}", highlight=False)
        results[name] = {"sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()}}
        results[name].update(RUNNERS[name](**sizes))
        _print(console, name, results[name])
    report = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1),
        "quick": args.quick,
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *(argv or sys.argv[1:])]),
        "machine": machine_before,
        "loadavg_after": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "benchmarks": results,
        "targets": targets(results),
    }
    _print_targets(console, report["targets"])
    if args.quick:
        console.print("quick run: tiny sizes, the figures and targets above mean nothing", highlight=False)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.json}", highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
