"""`allos-conform drift`: a field added to a copy of a cassette, a changed status, a changed type and a new enum
value are each reported, in the terminal and as Markdown; identical recordings report nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.drift import Change, compare_paths
from conformance.results import Report, Result

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the committed groq and mistral cassettes: `old` as it is, `new` to be edited."""
    old, new = tmp_path / "old", tmp_path / "new"
    for alias in ("groq", "mistral"):
        shutil.copytree(CASSETTES / alias, old / alias)
        shutil.copytree(CASSETTES / alias, new / alias)
    return old, new


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["interactions"][0]["response"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _strings(changes: list[Change]) -> list[str]:
    return [str(c) for c in changes]


def test_drift_identical_recordings_report_nothing(pair: tuple[Path, Path]) -> None:
    assert [c for c in compare_paths(*pair) if not c.note] == []


def test_drift_reports_a_field_added_to_a_copy_of_a_cassette(pair: tuple[Path, Path]) -> None:
    old, new = pair

    def add_cached_tokens(response: dict[str, Any]) -> None:
        response["body"]["json"]["usage"]["prompt_tokens_details"] = {"cached_tokens": 3}

    _edit(new / "groq" / "chat.yaml", add_cached_tokens)
    assert _strings(compare_paths(old, new)) == [
        "groq: usage.prompt_tokens_details appeared (object)  [POST /openai/v1/chat/completions, 2xx]",
        "groq: usage.prompt_tokens_details.cached_tokens appeared (integer)  [POST /openai/v1/chat/completions, 2xx]",
    ]


def test_drift_reports_a_changed_status_type_and_enum_value(pair: tuple[Path, Path]) -> None:
    old, new = pair
    cassette = new / "mistral" / "error_unknown_model.yaml"
    before = yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"][0]["response"]["status"]["code"]

    def now_422(response: dict[str, Any]) -> None:
        response["status"]["code"] = 422

    def tokens_as_text(response: dict[str, Any]) -> None:
        response["body"]["json"]["usage"]["prompt_tokens"] = "12"
        response["body"]["json"]["choices"][0]["finish_reason"] = "eos"

    _edit(cassette, now_422)
    _edit(new / "mistral" / "chat.yaml", tokens_as_text)
    found = _strings(compare_paths(old, new))
    assert f"mistral: status {before} -> 422 for error_unknown_model" in found
    assert any(s.startswith("mistral: usage.prompt_tokens changed type integer -> integer|string") for s in found)
    assert any(s.startswith("mistral: choices[].finish_reason has a new value 'eos'") for s in found)


def test_drift_reads_streams_event_by_event(pair: tuple[Path, Path]) -> None:
    old, new = pair

    def flag_every_chunk(response: dict[str, Any]) -> None:
        text = response["body"]["text"]
        response["body"]["text"] = text.replace(
            '"object":"chat.completion.chunk"', '"object":"chat.completion.chunk","x":1'
        )

    _edit(new / "groq" / "streaming.yaml", flag_every_chunk)
    (change,) = compare_paths(old, new)
    assert (change.what, change.change, change.where) == ("chunk.x", "appeared (integer)", change.where)
    assert change.where.endswith(", stream")


def test_drift_compares_only_recordings_both_sides_have(pair: tuple[Path, Path]) -> None:
    old, new = pair
    shutil.rmtree(new / "mistral")
    (new / "groq" / "tool_call.yaml").unlink()
    changes = compare_paths(old, new)
    assert all(c.note for c in changes)
    assert {str(c) for c in changes} == {
        "groq: 1 recording(s) only in OLD, not compared",
        f"mistral: {len(list((old / 'mistral').rglob('*.yaml')))} recording(s) only in OLD, not compared",
    }


def test_drift_of_results_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(Report(results=[Result(provider="groq", capability="tool_call", status="pass")]).model_dump_json())
    cell = Result(provider="groq", capability="tool_call", status="fail", reason="tool_call: no call")
    new.write_text(Report(results=[cell]).model_dump_json())
    assert _strings(compare_paths(old, new)) == ["groq: tool_call pass -> fail: tool_call: no call"]


def test_drift_cli_prints_and_writes_markdown(
    pair: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    old, new = pair

    def add_queue_time(response: dict[str, Any]) -> None:
        response["body"]["json"]["usage"]["queue_time"] = 0.5

    _edit(new / "mistral" / "usage.yaml", add_queue_time)
    markdown = tmp_path / "drift.md"
    assert main(["drift", str(old), str(new), "--markdown", str(markdown)]) == 0
    out = capsys.readouterr().out
    assert "1 change(s)" in out and "usage.queue_time appeared (number)" in out
    text = markdown.read_text(encoding="utf-8")
    assert text.startswith("# Contract drift") and "## mistral" in text
    assert "- `usage.queue_time` appeared (number) (POST /v1/chat/completions, 2xx)" in text
    assert main(["drift", str(old), str(new), "--fail-on-drift"]) == 1
    assert main(["drift", str(old), str(old), "--fail-on-drift"]) == 0
    assert main(["drift", str(old), str(markdown)]) == 2  # a directory and a file: a usage error


def test_drift_json_bodies_keep_their_free_form_values_opaque(pair: tuple[Path, Path]) -> None:
    old, new = pair

    def other_arguments(response: dict[str, Any]) -> None:
        calls = response["body"]["json"]["choices"][0]["message"]["tool_calls"]
        calls[0]["function"]["arguments"] = json.dumps({"city": "Tokyo", "unit": "celsius"})

    _edit(new / "groq" / "tool_call.yaml", other_arguments)
    assert [c for c in compare_paths(old, new) if not c.note] == []
