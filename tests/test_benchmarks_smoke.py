"""Smoke test of `python -m benchmarks --quick`: every benchmark runs once with tiny sizes and writes its JSON.

No timing is asserted (the figures of a quick run mean nothing); only that the command works end to end and that
the results have the structure the README and the targets table rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATS = {"median_us", "p90_us", "min_us", "n"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _rows_have_stats(rows: dict[str, Any], *extra: str) -> None:
    for name, row in rows.items():
        assert STATS | set(extra) <= row.keys(), name
        assert all(isinstance(value, (int, float)) for value in row.values()), name


@pytest.mark.network
def test_benchmarks_quick_run_reports_machine_and_every_benchmark(report: dict[str, Any]) -> None:
    assert report["quick"] is True
    assert {"nproc", "cpu_model", "python", "versions"} <= report["machine"].keys()
    assert set(report["benchmarks"]) == {
        "per_call_sync",
        "per_call_anthropic",
        "per_call_async",
        "streaming",
        "translation",
        "harness",
        "imports",
    }


@pytest.mark.network
def test_benchmarks_per_call_compares_allos_raw_httpx_and_sdk(report: dict[str, Any]) -> None:
    sync = report["benchmarks"]["per_call_sync"]["results"]
    assert {"raw httpx", "allos chat()", "openai SDK"} <= sync.keys()
    _rows_have_stats(sync, "ratio_vs_raw_httpx")
    assert sync["raw httpx"]["ratio_vs_raw_httpx"] == 1.0
    concurrent = report["benchmarks"]["per_call_async"]["results"]
    assert set(concurrent) == {"raw httpx", "allos achat()", "openai SDK (async)"}
    _rows_have_stats(concurrent, "calls_per_s", "ratio_vs_raw_httpx")


@pytest.mark.network
def test_benchmarks_streaming_decodes_both_framings(report: dict[str, Any]) -> None:
    streaming = report["benchmarks"]["streaming"]
    assert streaming["sse_events"] > 0
    assert set(streaming["framings"]) == {"one read per event", "16 KiB reads"}
    for framing in streaming["framings"].values():
        rows = framing["results"]
        assert {"allos StreamDecoder", "openai SDK chunks", "openai SDK chunks + accumulate"} == rows.keys()
        _rows_have_stats(rows, "events_per_s", "speed_vs_sdk_chunks")


@pytest.mark.network
def test_benchmarks_translation_and_imports_have_their_rows(report: dict[str, Any]) -> None:
    translation = report["benchmarks"]["translation"]
    assert {"allos build_request", "allos parse_response"} <= translation["results"].keys()
    _rows_have_stats(translation["results"])
    imports = report["benchmarks"]["imports"]["results"]
    assert {"(interpreter)", "allos", "openai"} <= imports.keys()
    assert all({"wall_ms", "import_ms"} <= row.keys() for row in imports.values())


@pytest.mark.network
def test_benchmarks_targets_name_value_goal_and_verdict(report: dict[str, Any]) -> None:
    assert len(report["targets"]) == 6
    for target in report["targets"]:
        assert set(target) == {"target", "value", "goal", "met"}
        assert isinstance(target["met"], bool)


def test_benchmarks_harness_replays_and_reports_growth(report: dict[str, Any]) -> None:
    replay = report["benchmarks"]["harness"]
    assert replay["cases_per_alias"] > 0
    (row,) = replay["results"].values()
    assert {"aliases", "cases", "median_s", "ms_per_alias", "ms_per_case", "statuses"} <= row.keys()
    assert row["aliases"] == 1 and row["cases"] == replay["cases_per_alias"]
    (generated,) = replay["generated"].values()
    assert generated["generated_cases"] == 1 and generated["aliases"] > 1


def test_benchmarks_per_call_compares_the_anthropic_path(report: dict[str, Any]) -> None:
    messages = report["benchmarks"]["per_call_anthropic"]["results"]
    assert set(messages) == {"raw httpx", "allos chat()", "anthropic SDK"}
    _rows_have_stats(messages, "ratio_vs_raw_httpx")
