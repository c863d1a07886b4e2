"""Results, exit codes, merging and the three renderings of the matrix."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from conformance.matrix import SYMBOLS, capability_columns, render_html, render_markdown, render_rich
from conformance.results import (
    SCHEMA_VERSION,
    Report,
    Result,
    exit_code,
    load_report,
    merge_reports,
    write_atomic,
)


def _report(*results: Result, mode: str = "replay") -> Report:
    return Report(mode=mode, results=list(results))


PASS = Result(provider="groq", capability="chat", status="pass")
FAIL = Result(provider="groq", capability="tool_call", status="fail", reason="tool_call: no call | made")
STALE = Result(
    provider="mistral", capability="chat", status="stale", reason="chat: no cassette", command="allos-conform ..."
)
UNSUPPORTED = Result(provider="perplexity", capability="tools", status="unsupported", reason="declared")
INVALID = Result(
    provider="groq",
    capability="streaming",
    status="invalid",
    reason="streaming: cassette c.yaml is invalid: interactions is 5, expected a list of recorded exchanges",
    command="allos-conform --providers groq -k streaming --mode record --against simulator",
)


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ([PASS], 0),
        ([PASS, UNSUPPORTED], 0),
        ([PASS, FAIL], 1),
        ([PASS, STALE], 3),
        ([STALE, FAIL], 1),
        ([Result(provider="x", capability="chat", status="skipped")], 0),
        ([PASS, INVALID], 4),
        ([STALE, INVALID], 4),
        ([INVALID, FAIL], 1),
    ],
    ids=[
        "pass",
        "unsupported-is-fine",
        "fail",
        "stale",
        "fail-outranks-stale",
        "skipped",
        "invalid",
        "invalid-outranks-stale",
        "fail-outranks-invalid",
    ],
)
def test_exit_code(results: list[Result], code: int) -> None:
    assert exit_code(results) == code


def test_report_json_round_trips_with_its_schema(tmp_path: Path) -> None:
    report = _report(PASS, FAIL)
    path = tmp_path / "matrix.json"
    write_atomic(path, report.model_dump_json(indent=2))
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data) >= {"generated_at", "mode", "allos_version", "results"}
    assert set(data["results"][0]) >= {"provider", "capability", "status", "reason", "source", "duration_s"}
    assert load_report(path) == report


def test_load_report_refuses_another_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"schema_version": 99, "results": []}))
    with pytest.raises(ValueError, match="schema_version"):
        load_report(path)


def test_merge_reports_combines_jobs_and_later_wins() -> None:
    first = _report(PASS, Result(provider="mistral", capability="chat", status="fail"), mode="live")
    second = _report(Result(provider="mistral", capability="chat", status="pass"), mode="live")
    merged = merge_reports([first, second])
    assert merged.mode == "live"
    assert merged.cell("mistral", "chat") is not None and merged.cell("mistral", "chat").status == "pass"  # type: ignore[union-attr]
    assert merged.cell("groq", "chat") == PASS
    assert merge_reports([first, _report(mode="replay")]).mode == "mixed"


def test_write_atomic_leaves_no_partial_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "matrix.json"
    write_atomic(path, "old")

    with pytest.raises(TypeError):
        write_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in path.parent.iterdir()] == ["matrix.json"]


def test_columns_follow_the_capability_enum() -> None:
    report = _report(FAIL, PASS, Result(provider="groq", capability="custom_thing", status="pass"))
    assert capability_columns(report) == ["chat", "tool_call", "custom_thing"]


def test_markdown_has_rows_symbols_legend_and_problems() -> None:
    text = render_markdown(_report(PASS, FAIL, STALE, UNSUPPORTED))
    assert "| groq | ✓ |  | ✗ |" in text  # columns: chat, tools, tool_call
    assert "Legend:" in text
    assert "no call \\| made" in text  # pipes in reasons cannot break the table
    assert "Refresh: `allos-conform ...`" in text
    assert "perplexity" in text and SYMBOLS["unsupported"] in text


def test_html_is_self_contained_and_escaped() -> None:
    reason = "<script>alert(1)</script>"
    page = render_html(_report(PASS, Result(provider="groq", capability="tools", status="fail", reason=reason)))
    assert page.startswith("<!doctype html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page  # no external resources
    assert 'class="fail"' in page


def test_rich_rendering_shows_every_alias_and_the_failures() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None, force_terminal=False)
    render_rich(
        _report(PASS, FAIL, STALE, Result(provider="x", capability="chat", status="fail", reason="[bold]")), console
    )
    out = buffer.getvalue()
    for alias in ("groq", "mistral", "x"):
        assert alias in out
    assert "Not passing" in out and "[bold]" in out and "refresh: allos-conform ..." in out


def test_invalid_cells_are_rendered_everywhere_with_their_reason_and_command() -> None:
    report = _report(PASS, INVALID)
    assert report.counts()["invalid"] == 1
    markdown = render_markdown(report)
    assert f"| groq | ✓ | {SYMBOLS['invalid']} |" in markdown  # columns: chat, streaming
    assert "interactions is 5, expected a list" in markdown and "invalid: the cassette file" in markdown
    page = render_html(report)
    assert 'class="invalid"' in page and ".invalid{" in page and "interactions is 5" in page
    buffer = io.StringIO()
    render_rich(report, Console(file=buffer, width=200, color_system=None, force_terminal=False))
    out = buffer.getvalue()
    assert "1 invalid" in out and "groq / streaming: streaming: cassette c.yaml is invalid" in out
    assert "refresh: allos-conform --providers groq -k streaming" in out
    assert json.loads(report.model_dump_json())["results"][1]["status"] == "invalid"
