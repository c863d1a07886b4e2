"""allos-conform end to end: record against a simulator, replay offline, and the exit codes the issue promises.

Each test records into its own temporary directory (never the committed cassettes/), against the local simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from allos import ProviderSpec, register_provider
from allos.protocols.chat_completions import ChatCompletionsQuirks
from allos.providers.registry import get_spec
from conformance.cli import main

SIM_KEY = "sim-groq-key-0123456789"  # the dummy key the runner uses against a simulator


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """groq's tool scenarios, recorded once against the simulator."""
    root = tmp_path_factory.mktemp("recorded")
    args = ["--providers", "groq", "--capabilities", "tool_call,tool_result,streaming_tool_calls"]
    code = main([*args, "--mode", "record", "--against", "simulator", "--cassettes", str(root / "cassettes"),
                 "--reports", str(root / "reports")])  # fmt: skip
    assert code == 0
    return root


def _replay(root: Path, out: Path) -> int:
    args = ["--providers", "groq", "--capabilities", "tool_call,tool_result,streaming_tool_calls"]
    return main([*args, "--cassettes", str(root / "cassettes"), "--reports", str(out)])


def test_record_then_replay_passes_offline(recorded: Path, tmp_path: Path) -> None:
    cassettes = sorted(p.name for p in (recorded / "cassettes" / "groq").glob("*.yaml"))
    assert cassettes == [
        "streaming_tool_calls.yaml",
        "tool_call.yaml",
        "tool_call_no_arguments.yaml",
        "tool_result.yaml",
        "tool_result_error.yaml",
    ]
    assert _replay(recorded, tmp_path) == 0
    report = json.loads((tmp_path / "matrix.json").read_text())
    assert {r["status"] for r in report["results"]} == {"pass"}
    assert (tmp_path / "matrix.md").read_text().startswith("# Allos conformance matrix")


def test_cassettes_store_the_real_base_url_and_their_origin(recorded: Path) -> None:
    data = yaml.safe_load((recorded / "cassettes" / "groq" / "tool_result.yaml").read_text())
    assert data["meta"]["source"] == "simulator groq"
    assert data["meta"]["allos_version"]
    uris = {i["request"]["uri"] for i in data["interactions"]}
    assert uris == {"https://api.groq.com/openai/v1/chat/completions"}
    assert len(data["interactions"]) == 2  # the call, then the round trip with the model's own call


def test_no_key_leaves_a_trace(recorded: Path) -> None:
    for path in recorded.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert SIM_KEY not in text, path
            assert "Bearer" not in text, path


def test_corrupted_response_fails_with_exit_1(recorded: Path, tmp_path: Path) -> None:
    path = recorded / "cassettes" / "groq" / "tool_call.yaml"
    original = path.read_text()
    data = yaml.safe_load(original)
    data["interactions"][0]["response"]["body"]["json"]["choices"][0]["message"]["tool_calls"] = None
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        assert _replay(recorded, tmp_path) == 1
        cell = next(
            r for r in json.loads((tmp_path / "matrix.json").read_text())["results"] if r["capability"] == "tool_call"
        )
        assert cell["status"] == "fail" and "get_weather" in cell["reason"]
    finally:
        path.write_text(original)


@pytest.fixture
def changed_translation() -> Iterator[None]:
    original = get_spec("groq")
    quirks = original.quirks if isinstance(original.quirks, ChatCompletionsQuirks) else ChatCompletionsQuirks()
    changed = ProviderSpec(**{**original.__dict__, "quirks": ChatCompletionsQuirks(
        **{**quirks.__dict__, "max_tokens_field": "max_completion_tokens"})})  # fmt: skip
    register_provider(changed, replace=True)
    try:
        yield
    finally:
        register_provider(original, replace=True)


def test_changed_translation_makes_cells_stale_with_exit_3(
    recorded: Path, tmp_path: Path, changed_translation: None
) -> None:
    assert _replay(recorded, tmp_path) == 3
    results = json.loads((tmp_path / "matrix.json").read_text())["results"]
    assert {r["status"] for r in results} == {"stale"}
    assert all("--mode record" in (r["command"] or "") for r in results)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert main(["--providers", "nope", "--reports", str(tmp_path)]) == 2
    assert main(["--capabilities", "telepathy", "--reports", str(tmp_path)]) == 2
    assert main(["--mode", "sideways", "--reports", str(tmp_path)]) == 2
    assert main(["--no-such-option"]) == 2
    assert main(["report", str(tmp_path / "missing.json")]) == 2


def test_report_and_merge_re_render_results(recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = recorded / "reports" / "matrix.json"
    assert main(["report", str(results)]) == 0
    assert "groq" in capsys.readouterr().out
    assert main(["merge", str(results), str(results), "--reports", str(tmp_path)]) == 0
    merged = json.loads((tmp_path / "matrix.json").read_text())
    assert merged["schema_version"] == 1 and len(merged["results"]) == 3
    assert (tmp_path / "matrix.html").read_text().startswith("<!doctype html>")


def test_live_run_against_simulators_runs_aliases_concurrently_and_writes_no_cassette(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    aliases = "groq,mistral,anthropic,openai,ollama"
    args = ["--providers", aliases, "--capabilities", "chat,tool_result", "--mode", "live", "--against", "simulator"]
    assert main([*args, "--cassettes", str(cassettes), "--reports", str(tmp_path / "reports")]) == 0
    results = json.loads((tmp_path / "reports" / "matrix.json").read_text())["results"]
    assert {r["provider"] for r in results} == set(aliases.split(","))
    assert {r["status"] for r in results} == {"pass"}
    assert all(r["source"].startswith("live simulator") for r in results)
    assert not cassettes.exists()
