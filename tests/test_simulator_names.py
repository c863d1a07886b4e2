"""Model names against real traffic: every name a live provider accepted in the cassettes other projects recorded
(beside the clone, in CI) is accepted by its alias's simulator, and every name it refused as unknown is refused with
the same status. The cassettes are read at run time; nothing of them is kept in the project."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from allos.providers.registry import get_spec
from conformance._cassette_flavours import CassetteUnreadable, Recorded, read_cassette
from conformance.fidelity import Router, cassette_files
from conformance.simulators import Simulator, _names
from conformance.simulators.chat_completions_aliases import CHAT_ALIASES

REAL_TRAFFIC = Path(__file__).resolve().parents[2] / "shared" / "real-traffic"
# How the live APIs word an unknown model: OpenAI "The model `x` does not exist", Anthropic "model: x" (404
# not_found_error), Gemini "models/x is not found", OpenRouter "x is not a valid model ID".
_UNKNOWN = re.compile(r"does not exist|is not found|not_found_error|not a valid model|model not found", re.I)
# An answer OpenRouter wrote (`gen-...` ids, `native_finish_reason` [openrouter.ai/docs/api-reference/overview])
# recorded under another host's URI by a test double: its model names say nothing about that host.
_OPENROUTER_ANSWER = re.compile(rb'"id":\s*"gen-[^"]*".*"native_finish_reason"', re.S)
# The clearly invalid names every hosted alias refuses: the `error_unknown_model` scenario's, the rules' violations,
# and the one the live OpenAI API refused (crewAIInc/crewAI lib/crewai/tests/cassettes/test_llm_call_with_error.yaml).
INVALID = ("allos-no-such-model", "sim-no-such-model", "non-existent-model", "no-such-model-x")


@dataclass(frozen=True)
class Verdict:
    alias: str
    model: str
    path: str
    status: int
    where: str


def _model(recorded: Recorded) -> str | None:
    try:
        body = json.loads(recorded.request_body or b"null")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    model = body.get("model", body.get("name"))  # Ollama's `/api/show` took `name` before `model` [ollama api.md]
    return model if isinstance(model, str) else None


def _verdicts() -> Iterator[Verdict]:
    router = Router()
    for path in cassette_files([REAL_TRAFFIC]):
        try:
            exchanges = read_cassette(path)
        except CassetteUnreadable:
            continue
        for recorded in exchanges:
            alias, reason = router.resolve(recorded.method, recorded.uri)
            model = _model(recorded)
            if alias is None or reason or model is None or _OPENROUTER_ANSWER.search(recorded.response_body):
                continue
            unknown = 400 <= recorded.status < 500 and _UNKNOWN.search(
                recorded.response_body.decode("utf-8", "replace")
            )
            if 200 <= recorded.status < 300 or unknown:
                path_only = httpx.URL(recorded.uri).path
                yield Verdict(alias, model, path_only, recorded.status, recorded.where)


def _body(path: str, model: str) -> dict[str, Any]:
    messages = [{"role": "user", "content": "hello"}]
    if path.endswith("/messages"):
        return {"model": model, "max_tokens": 16, "messages": messages}
    if path.endswith("/responses"):
        return {"model": model, "input": "hello"}
    if path.endswith("/api/show"):
        return {"model": model}
    return {"model": model, "messages": messages, "stream": False}


def _ask(sim: Simulator, alias: str, path: str, model: str) -> httpx.Response:
    spec = get_spec(alias)
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if spec.api_key_required:
        headers[spec.auth_header] = f"{spec.auth_scheme} test-key-0123456789".strip()
    return httpx.post(sim.root_url + path, json=_body(path, model), headers=headers, timeout=30)


@pytest.fixture(scope="module")
def verdicts() -> dict[tuple[str, str, str], Verdict]:
    if not REAL_TRAFFIC.is_dir():
        pytest.fail(f"real traffic missing: expected a directory at {REAL_TRAFFIC} (CI places it beside the clone)")
    found: dict[tuple[str, str, str], Verdict] = {}
    for verdict in _verdicts():
        found.setdefault((verdict.alias, verdict.path, verdict.model), verdict)
    return found


def test_real_traffic_has_names_on_every_protocol(verdicts: dict[tuple[str, str, str], Verdict]) -> None:
    aliases = {alias for alias, _, _ in verdicts}
    assert {"openai-chat", "openai", "anthropic", "openrouter"} <= aliases
    assert any(v.status >= 400 for v in verdicts.values())  # at least one real unknown-model refusal


def test_simulators_give_the_real_verdict_on_every_model_name(verdicts: dict[tuple[str, str, str], Verdict]) -> None:
    wrong = []
    for alias in sorted({alias for alias, _, _ in verdicts} - {"ollama"}):
        with Simulator(alias) as sim:
            for (_, path, model), verdict in sorted(verdicts.items()):
                if verdict.alias != alias:
                    continue
                answer = _ask(sim, alias, path, model)
                accepted = 200 <= answer.status_code < 300
                if accepted != (verdict.status < 300) or (not accepted and answer.status_code != verdict.status):
                    wrong.append(
                        f"{alias} {model}: real {verdict.status}, simulator {answer.status_code} ({verdict.where})"
                    )
    assert not wrong, "\n".join(wrong)


def test_ollama_names_follow_the_naming_and_need_a_pull(verdicts: dict[tuple[str, str, str], Verdict]) -> None:
    """Ollama serves what has been pulled: a real 200 says the recorder's server had the model. The names follow the
    documented naming, and the simulator, which has not pulled them, answers the not-pulled 404 (state, not naming)."""
    asked = {(path, model) for alias, path, model in verdicts if alias == "ollama"}
    assert asked and all(model in _names.OLLAMA.family() for _, model in asked)
    with Simulator("ollama") as sim:
        for path, model in sorted(asked):
            answer = _ask(sim, "ollama", path, model)
            assert answer.status_code == 404 and "not found" in answer.text, (model, answer.text)


@pytest.mark.parametrize("row", [r for r in CHAT_ALIASES if r.models is not None], ids=lambda r: r.name)
def test_clearly_invalid_names_are_refused_and_documented_examples_accepted(row: Any) -> None:
    assert not [name for name in INVALID if name in row.models]
    assert list(row.models) and all(name in row.models for name in row.models)


@pytest.mark.parametrize(
    ("family", "accepted", "refused"),
    [
        (
            _names.OPENAI,
            [
                "gpt-4o-mini-2024-07-18",
                "gpt-4-0125-preview",
                "chatgpt-4o-latest",
                "o1",
                "gpt-5.2",
                "ft:gpt-4o:acme::x1",
            ],
            ["gpt", "gpt-4o-no-such-model", "o2-mini", "claude-sonnet-4-5"],
        ),
        (
            _names.ANTHROPIC,
            ["claude-3-7-sonnet-latest", "claude-sonnet-4-0", "claude-opus-4-1-20250805", "claude-haiku-4-5"],
            ["claude-no-such-model", "claude-3-5-sonnet", "sonnet4", "gpt-4o"],
        ),
        (_names.OPENROUTER, ["openai/gpt-4o", "meta-llama/llama-3.3-70b-instruct:free"], ["gpt-4o", "a/b:fast"]),
        (_names.FIREWORKS, ["accounts/fireworks/models/deepseek-v3"], ["deepseek-v3", "accounts/x/deepseek-v3"]),
        (_names.GEMINI, ["gemini-2.5-flash", "models/gemini-2.0-flash-001", "gemma-3-27b-it"], ["gemini-1.5-flash"]),
        (_names.OLLAMA, ["llama3.1", "llama3.2:3b", "hf.co/user/repo:Q4_K_M"], ["Llama 3", ":latest"]),
        (_names.XAI, ["grok-4-0709", "grok-code-fast-1", "grok-3-mini"], ["grok", "groq-4", "sim-no-such-model"]),
        (_names.XAI_NO_STOP, ["grok-4-0709", "grok-3-mini"], ["grok-3", "grok-4-fast-non-reasoning"]),
        (
            _names.OPENAI_REASONING,
            ["o1", "o3-mini-2025-01-31", "gpt-5-nano", "gpt-5.2"],
            ["gpt-5-chat-latest", "gpt-4o"],
        ),
    ],
    ids=[
        "openai",
        "anthropic",
        "openrouter",
        "fireworks",
        "gemini",
        "ollama",
        "xai",
        "xai-no-stop",
        "openai-reasoning",
    ],
)
def test_naming_patterns_follow_the_documented_forms(
    family: _names.Naming, accepted: list[str], refused: list[str]
) -> None:
    names = family.family()
    assert [name for name in accepted if name not in names] == []
    assert [name for name in refused if name in names] == []
    assert family.source.startswith(("https://", "crewAIInc/"))


def test_openai_reasoning_models_take_only_the_default_temperature() -> None:
    """o-series and gpt-5 models: temperature 1 (the default) is taken, 0.7 refused; gpt-4o takes 0.7
    [platform.openai.com/docs/guides/reasoning]. A text-only model refuses an image part."""
    with Simulator("openai-chat") as sim:
        url, headers = sim.base_url + "/chat/completions", {"authorization": "Bearer test-key-0123456789"}

        def status(**body: Any) -> int:
            payload = {"messages": [{"role": "user", "content": "hello"}], **body}
            return httpx.post(url, json=payload, headers=headers, timeout=30).status_code

        assert status(model="gpt-5-nano", temperature=1) == 200
        assert status(model="o4-mini-2025-04-16", temperature=0.7) == 400
        assert status(model="gpt-4o", temperature=0.7) == 200
        assert status(model="o1-mini", stop=["x"]) == 400
        assert status(model="o3-mini", stop=["x"]) == 200
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        vision = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}]
        assert status(model="gpt-3.5-turbo", messages=vision) == 400
        assert status(model="gpt-4o-mini", messages=vision) == 200
