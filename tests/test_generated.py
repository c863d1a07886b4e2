"""The generated-sequences column: the frozen corpus, its replay for every alias, and minimal reproductions.

The centrepiece breaks a translation on purpose (the Chat Completions tool message loses its `tool_call_id`) and
proves the harness catches it against the simulator, shrinks every failing case to the smallest conversation that
still fails, writes the reproduction the matrix links to, and that `allos-conform repro` replays it: failing while
the bug is in, passing once it is out.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import allos.protocols.chat_completions as chat_wire
from allos import ChatRequest, list_providers
from allos.capabilities import Capability
from allos.providers.registry import ProviderSpec, get_spec
from conformance import generated
from conformance.cli import main
from conformance.repro import _well_formed, load_repro, shrink
from conformance.runner import RunConfig
from conformance.sequences import CORPUS_DIR, CorpusCase, canonical_json, corpus_manifest, dumps, features, load_corpus

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "cassettes"
CORPUS = load_corpus()


# --- the corpus -----------------------------------------------------------------------------------------------------


def test_corpus_is_frozen_canonical_data() -> None:
    assert 12 <= len(CORPUS) <= 20
    assert len({case.id for case in CORPUS}) == len(CORPUS)
    for case in CORPUS:
        path = CORPUS_DIR / f"{case.id}.json"
        # What record and replay send is read from this text alone: it must be exactly what the canonical request
        # serialises to, so reading and writing it again changes nothing.
        assert path.read_text(encoding="utf-8") == dumps(case.to_json()) + "\n"
        assert canonical_json(case.chat_request("any-model")) == case.request
        assert "model" not in case.request and "stream" not in case.request
        assert _well_formed(dict(case.request)), case.id


def test_corpus_manifest_describes_it() -> None:
    manifest = corpus_manifest()
    assert manifest["count"] == len(CORPUS)
    assert manifest["command"] == f"allos-conform corpus --regenerate --seed {manifest['seed']} --count {len(CORPUS)}"
    assert manifest["drawn_with"].startswith("hypothesis ")
    assert {k: v["features"] for k, v in manifest["cases"].items()} == {c.id: sorted(features(c)) for c in CORPUS}


def test_corpus_reaches_the_long_tail() -> None:
    seen = set().union(*(features(case) for case in CORPUS))
    wanted = {
        "system", "message:name", "message:reasoning", "user-user", "content:parts", "text:empty", "text:whitespace",
        "text:astral", "text:control", "text:json-like", "tools:some", "tools:many", "tools:call",
        "tools:parallel-calls", "tools:error-result", "assistant:null-content", "schema:enum", "schema:array",
        "id:call", "id:toolu_01", "id:alnum9", "id:function-call", "id:other", "tool_choice:none",
    }  # fmt: skip
    assert wanted <= seen, wanted - seen
    assert {case.profile for case in CORPUS} == {"core", "tools", "full"}


def test_corpus_regenerate_is_deterministic_and_rewrites_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generated, "DEFAULT_POOL", 12)  # a small pool: the draw itself is what is tested
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "gen_99.json").parent.mkdir()
    (first / "gen_99.json").write_text("{}")  # a case from an older corpus is removed
    for directory in (first, second):
        args = ["corpus", "--regenerate", "--seed", "7", "--count", "4", "--directory", str(directory)]
        assert main(args) == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == ["gen_01.json", "gen_02.json", "gen_03.json", "gen_04.json", "index.json"]
    for name in names[:-1]:
        assert (first / name).read_text() == (second / name).read_text()
    assert corpus_manifest(first)["seed"] == 7
    assert main(["corpus", "--regenerate", "--count", "0", "--directory", str(first)]) == 2


def test_corpus_listing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["corpus"]) == 0
    out = capsys.readouterr().out
    assert all(case.id in out for case in CORPUS)
    assert f"seed {corpus_manifest()['seed']}" in out


# --- replay ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", [spec.name for spec in list_providers()])
def test_replay_of_the_committed_generated_cassettes(alias: str, tmp_path: Path) -> None:
    spec = get_spec(alias)
    cell, attempts = generated.run_generated(spec, RunConfig(cassettes=CASSETTES, reports=tmp_path), None, CORPUS)
    assert cell.status == "pass", f"{cell.reason}\n  refresh: {cell.command}"
    kinds = [a.kind for a in attempts]
    accepted, refused = kinds.count("accepted"), kinds.count("refused")
    # A row that leaves tool results unclaimed can take only the cases without them, and its protocol may refuse
    # some of those too (Anthropic's whitespace and temperature rules): it still accepts a share of what it can take.
    takeable = [c for c in CORPUS if Capability.TOOL_RESULT in spec.capabilities or not _has_tool_results(c)]
    assert accepted + refused == len(CORPUS) and accepted >= min(4, len(takeable) // 2)
    assert cell.note == f"{accepted}/{accepted}"
    assert cell.reason.startswith(f"{accepted}/{accepted} accepted")
    assert ("refused cleanly" in cell.reason) == bool(refused)
    assert not (tmp_path / "failures").exists()


def test_replay_without_a_recording_is_stale_except_for_refused_cases(tmp_path: Path) -> None:
    spec = get_spec("anthropic")
    shutil.copytree(CASSETTES / "anthropic" / "generated", tmp_path / "anthropic" / "generated")
    config = RunConfig(cassettes=tmp_path, reports=tmp_path / "reports")
    _, attempts = generated.run_generated(spec, config, None, CORPUS)
    accepted = next(a.case.id for a in attempts if a.kind == "accepted")
    refused = next(a.case.id for a in attempts if a.kind == "refused")
    assert not (tmp_path / "anthropic" / "generated" / f"{refused}.yaml").exists()  # never recorded, never needed
    (tmp_path / "anthropic" / "generated" / f"{accepted}.yaml").unlink()
    cell, _ = generated.run_generated(spec, config, None, CORPUS)
    assert cell.status == "stale"
    assert f"1 stale: no cassette at {tmp_path / 'anthropic' / 'generated' / accepted}.yaml ({accepted})" in cell.reason
    assert cell.command == "allos-conform --providers anthropic --capabilities generated_sequences --mode record"\
        " --against simulator"  # fmt: skip


def test_an_alias_that_does_not_declare_the_column_is_unsupported(tmp_path: Path) -> None:
    row = ProviderSpec(
        name="no-generated", protocol="chat_completions", base_url="http://localhost:9/v1", api_key_env=None,
        capabilities=frozenset({Capability.CHAT}), api_key_required=False,
    )  # fmt: skip
    cell, attempts = generated.run_generated(row, RunConfig(reports=tmp_path), None, CORPUS)
    assert (cell.status, cell.reason, attempts) == ("unsupported", "declared unsupported by the registry", [])


def test_live_without_a_key_is_skipped(tmp_path: Path) -> None:
    cell, _ = generated.run_generated(get_spec("groq"), RunConfig(mode="live", reports=tmp_path), None, CORPUS)
    assert (cell.status, cell.reason) == ("skipped", "set GROQ_API_KEY to run groq in live mode")


def test_the_cli_matrix_shows_accepted_over_sent(tmp_path: Path) -> None:
    args = ["--providers", "groq,perplexity", "--capabilities", "generated_sequences", "--reports", str(tmp_path)]
    assert main([*args, "--cassettes", str(CASSETTES)]) == 0
    results = {r["provider"]: r for r in json.loads((tmp_path / "matrix.json").read_text())["results"]}
    assert {r["capability"] for r in results.values()} == {"generated_sequences"}
    markdown = (tmp_path / "matrix.md").read_text()
    assert f"| groq | ✓ {results['groq']['note']} |" in markdown
    assert "## Generated sequences" in markdown and "refused cleanly: this alias does not support" in markdown
    assert "✓ 4/4" in (tmp_path / "matrix.html").read_text()


# --- a broken translation, caught, shrunk, written, replayed --------------------------------------------------------


@pytest.fixture
def broken_tool_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chat Completions tool messages lose their tool_call_id: every provider refuses such a message."""
    real = chat_wire.build_request

    def build_request(request: ChatRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        body = real(request, *args, **kwargs)
        for message in body["messages"]:
            if message["role"] == "tool":
                message.pop("tool_call_id", None)
        return body

    monkeypatch.setattr(chat_wire, "build_request", build_request)


def _has_tool_results(case: CorpusCase) -> bool:
    return any(message.role == "tool" for message in case.messages)


def test_a_broken_translation_is_caught_shrunk_written_and_replayed(
    broken_tool_messages: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"
    args = ["--providers", "groq", "--capabilities", "generated_sequences", "--mode", "live", "--against", "simulator"]
    assert main([*args, "--reports", str(reports)]) == 1  # a declared capability failed

    (cell,) = json.loads((reports / "matrix.json").read_text())["results"]
    failing = sorted(p.name.removeprefix("groq-").removesuffix(".json") for p in (reports / "failures").iterdir())
    assert failing == sorted(c.id for c in CORPUS if _has_tool_results(c) and "content:image" not in features(c))
    assert cell["status"] == "fail" and f"{len(failing)} failed: 400 BadRequestError" in cell["reason"]
    first = reports / "failures" / f"groq-{failing[0]}.json"
    assert cell["repro"] == f"failures/groq-{failing[0]}.json"
    assert cell["command"] == f"allos-conform repro {first}"
    link = f"[failures/groq-{failing[0]}.json](failures/groq-{failing[0]}.json)"
    assert link in (reports / "matrix.md").read_text()
    assert f'href="failures/groq-{failing[0]}.json"' in (reports / "matrix.html").read_text()

    for path in (reports / "failures").iterdir():
        repro = load_repro(path)
        canonical = repro["request"]["canonical"]
        # The smallest conversation that shows the bug: a user turn, one call, its result; nothing else.
        assert [m["role"] for m in canonical["messages"]] == ["user", "assistant", "tool"], path.name
        assert len(canonical["messages"][1]["tool_calls"]) == 1 and "tools" not in canonical
        assert repro["shrink"]["to"] == {"messages": 3, "tools": 0, "options": 0}
        assert repro["where"] == "simulator" and repro["answer"]["status"] == 400
        sent = repro["request"]["http"]
        assert sent["url"] == "https://api.groq.com/openai/v1/chat/completions"  # the real URL, not the simulator's
        assert "tool_call_id" not in sent["body"]["messages"][2]
        assert repro["command"] == f"allos-conform repro {path}"

    assert main(["repro", str(first)]) == 1  # the bug is still in: it still fails
    assert main(["repro", str(first), "--against", "recorded"]) == 1  # the same request gets the recorded 400
    monkeypatch.undo()  # the translation is fixed
    assert main(["repro", str(first)]) == 0
    assert main(["repro", str(first), "--against", "recorded"]) == 2  # a new request: the recorded answer is moot


def test_a_crash_before_sending_is_shrunk_offline_even_in_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = chat_wire.build_request

    def build_request(request: ChatRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if any(tool.description for tool in request.tools):
            raise KeyError("description")  # a translation bug: only tools with a description crash it
        return real(request, *args, **kwargs)

    monkeypatch.setattr(chat_wire, "build_request", build_request)
    reports = tmp_path / "reports"
    cell, attempts = generated.run_generated(
        get_spec("mistral"), RunConfig(cassettes=CASSETTES, reports=reports), None, CORPUS
    )
    assert cell.status == "fail" and "KeyError: 'description'" in cell.reason
    crashed = [a for a in attempts if a.kind == "failed"]
    assert crashed and all(not a.sent for a in crashed)
    path = reports / "failures" / f"mistral-{crashed[0].case.id}.json"
    repro = load_repro(path)
    assert repro["where"] == "offline" and repro["request"]["http"] is None and repro["answer"] is None
    canonical = repro["request"]["canonical"]
    assert len(canonical["messages"]) == 1 and len(canonical["tools"]) == 1
    assert canonical["tools"][0]["description"]  # the one thing the bug needs
    assert main(["repro", str(path)]) == 1
    monkeypatch.undo()
    assert main(["repro", str(path)]) == 0  # it now gets as far as sending: fixed as far as offline can tell


def test_a_recorded_refusal_fails_in_replay_and_replays_from_its_recording(tmp_path: Path) -> None:
    """A cassette whose answer is a 400 (as a provider might have recorded it): replay fails the cell; the local
    simulator accepts the case, so it is written unshrunk, to be replayed against the recorded answer."""
    spec = get_spec("groq")
    shutil.copytree(CASSETTES / "groq" / "generated", tmp_path / "groq" / "generated")
    case = CORPUS[0]
    path = tmp_path / "groq" / "generated" / f"{case.id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    response = data["interactions"][0]["response"]
    response["status"] = {"code": 400, "message": "Bad Request"}
    response["body"] = {"json": {"error": {"message": "messages: too odd", "type": "invalid_request_error"}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    reports = tmp_path / "reports"
    cell, _ = generated.run_generated(spec, RunConfig(cassettes=tmp_path, reports=reports), None, CORPUS)
    assert cell.status == "fail" and f"1 failed: 400 BadRequestError: messages: too odd ({case.id})" in cell.reason
    repro_file = reports / "failures" / f"groq-{case.id}.json"
    repro = load_repro(repro_file)
    assert repro["where"] == "recorded" and "not shrunk" in repro["shrink"]["note"]
    assert repro["request"]["canonical"] == case.request and repro["answer"]["status"] == 400
    assert main(["repro", str(repro_file)]) == 1  # the recorded answer still refuses the request Allos builds
    assert main(["repro", str(repro_file), "--against", "simulator"]) == 0  # the simulator never did

    path.unlink()  # re-recorded (here: simply gone) and passing again: the reproduction is forgotten
    shutil.copy(CASSETTES / "groq" / "generated" / f"{case.id}.yaml", path)
    cell, _ = generated.run_generated(spec, RunConfig(cassettes=tmp_path, reports=reports), None, CORPUS)
    assert cell.status == "pass" and not repro_file.exists()


def test_repro_usage_errors(tmp_path: Path) -> None:
    assert main(["repro", str(tmp_path / "missing.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 99}))
    assert main(["repro", str(bad)]) == 2


# --- shrinking ------------------------------------------------------------------------------------------------------


def test_shrink_keeps_every_step_a_valid_conversation() -> None:
    case = max((c for c in CORPUS if _has_tool_results(c)), key=CorpusCase.size)
    tried: list[CorpusCase] = []

    def fails(candidate: CorpusCase) -> bool:
        tried.append(candidate)
        return any(m.role == "tool" and m.is_error for m in candidate.messages)

    assert fails(case)
    small, counts = shrink(case, fails, budget=500)
    assert [m.role for m in small.messages] == ["user", "assistant", "tool"]
    assert small.messages[2].is_error and counts["steps"] > 0 and counts["tried"] == len(tried) - 1
    assert all(_well_formed(dict(candidate.request)) for candidate in tried)


def test_well_formed_is_the_strategies_idea_of_a_conversation() -> None:
    user = {"role": "user", "content": "hi"}
    call = {"role": "assistant", "tool_calls": [{"id": "a", "name": "f"}]}
    answer = {"role": "tool", "tool_call_id": "a", "content": "ok"}
    assert _well_formed({"messages": [user, call, answer]})
    assert _well_formed({"messages": [{"role": "system", "content": "s"}, user, call, answer, user]})
    assert not _well_formed({"messages": [user, call]})  # unanswered, and ends on the assistant
    assert not _well_formed({"messages": [user, call, user]})  # unanswered before the next turn
    assert not _well_formed({"messages": [user, answer]})  # answers nothing
    assert not _well_formed({"messages": [call, answer]})  # does not start with the user
    assert not _well_formed({"messages": []})


def test_refusing_a_declared_capability_is_a_failure_not_a_clean_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allos.errors import UnsupportedCapabilityError

    def build_request(request: ChatRequest, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise UnsupportedCapabilityError("no tools today", provider="groq", capability="tools")

    monkeypatch.setattr(chat_wire, "build_request", build_request)
    config = RunConfig(cassettes=CASSETTES, reports=tmp_path)
    cell, attempts = generated.run_generated(get_spec("groq"), config, None, CORPUS[:2])
    assert {a.kind for a in attempts} == {"failed"}
    assert cell.status == "fail" and "declared tools, yet Allos refused it: no tools today" in cell.reason
    perplexity, _ = generated.run_generated(get_spec("perplexity"), config, None, CORPUS[:2])
    assert perplexity.status == "pass" and "refused cleanly: no tools today" in perplexity.reason  # not declared
