"""Model profiles: the committed data file is what the generator makes of the pinned models.dev snapshot; names
resolve by the documented rules; a profile changes a provider's capabilities, limits and cost as it says."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from loopback import LoopbackServer, json_reply, sse_reply

from allos import Capability, get_provider, list_providers
from allos.errors import ModelLimitError, UnsupportedCapabilityError
from allos.profiles import (
    Prices,
    estimate_cost,
    profile_aliases,
    profile_snapshot,
    profiled_models,
    resolve_capabilities,
    resolve_profile,
    unprofiled_aliases,
)
from allos.types import Cost, ToolSpec, Usage
from conformance.simulators import Simulator

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "models-dev"
KEY = "sk-test-profiles-0123456789"
USER = [{"role": "user", "content": "hi"}]
IMAGE = [
    {
        "role": "user",
        "content": [{"type": "text", "text": "what is this?"}, {"type": "image", "url": "https://example.com/a.png"}],
    }
]
WEATHER = ToolSpec(name="get_weather", description="weather", parameters={"type": "object", "properties": {}})


def _table(text: str, header: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under `header`, keyed by the first cell without backticks."""
    rows: dict[str, list[str]] = {}
    lines = text.split(header, 1)[1].splitlines()[2:]
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_profiles", REPO / "scripts" / "gen_profiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the data file -------------------------------------------------------------------------------------------------


def test_profiles_file_is_what_the_generator_makes_of_the_snapshot() -> None:
    if not (SNAPSHOT / "providers").is_dir():
        pytest.fail(f"models.dev snapshot missing: expected {SNAPSHOT}/providers (CI places it beside the clone)")
    committed = (REPO / "allos" / "profiles.json").read_text(encoding="utf-8")
    assert _generator().generate(SNAPSHOT) == committed, "run: python scripts/gen_profiles.py"


def test_profiles_file_records_the_snapshot_and_the_notice() -> None:
    document = json.loads((REPO / "allos" / "profiles.json").read_text(encoding="utf-8"))
    assert document["snapshot"]["commit"] == "f3fc69229967" and document["snapshot"]["date"] == "2026-07-02"
    assert "MIT License" in document["notice"] and "Copyright (c) 2025 models.dev" in document["notice"]
    assert profile_snapshot()["repository"] == "https://github.com/anomalyco/models.dev"


def test_every_builtin_alias_is_mapped_or_says_why_not() -> None:
    names = {spec.name for spec in list_providers()}
    mapped, unprofiled = set(profile_aliases()), set(unprofiled_aliases())
    assert not mapped & unprofiled
    missing = names - mapped - unprofiled
    assert not missing, f"add {sorted(missing)} to ALIASES or UNPROFILED in scripts/gen_profiles.py, then run it"
    local = {spec.name for spec in list_providers() if spec.local}
    assert local <= unprofiled and all("local server" in unprofiled_aliases()[name] for name in local)
    assert all(profiled_models(alias) for alias in mapped)


def test_openai_chat_shares_openai_models() -> None:
    assert profile_aliases()["openai-chat"] == profile_aliases()["openai"]
    assert profiled_models("openai-chat") == profiled_models("openai")


def test_generator_keeps_unknown_fields_absent(tmp_path: Path) -> None:
    # A model whose base model the snapshot lacks keeps only what its own file states.
    models = tmp_path / "providers" / "openai" / "models"
    models.mkdir(parents=True)
    (models / "derived.toml").write_text('base_model = "nowhere/base"\n[cost]\ninput = 1.0\noutput = 2.0\n')
    (models / "linked.toml").write_text("derived.toml")  # a symbolic link stored as text
    module = _generator()
    document = json.loads(module.generate(tmp_path / "providers", {"openai": "openai"}))
    assert document["models"]["openai"]["derived"] == {"prices": {"input": 1.0, "output": 2.0}}
    assert document["models"]["openai"]["linked"] == document["models"]["openai"]["derived"]


# --- resolution ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "model", "profile_id", "rule"),
    [
        ("openai", "gpt-4o-mini", "gpt-4o-mini", "exact"),
        ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13", "exact"),  # a dated id that has its own profile
        ("openai", "gpt-4.1-2025-04-14", "gpt-4.1", "dated snapshot"),
        ("anthropic", "claude-haiku-4-5-20991231", "claude-haiku-4-5", "dated snapshot"),
        ("anthropic", "claude-sonnet-4-5-latest", "claude-sonnet-4-5", "latest"),
        ("openai", "openai/gpt-4o-mini", "gpt-4o-mini", "vendor prefix"),
        ("openai", "openai/gpt-4.1-2025-04-14", "gpt-4.1", "vendor prefix, dated snapshot"),
        ("groq", "openai/gpt-oss-120b", "openai/gpt-oss-120b", "exact"),
        ("openrouter", "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5", "exact"),
    ],
    ids=lambda value: str(value),
)
def test_resolve_profile_rules(alias: str, model: str, profile_id: str, rule: str) -> None:
    profile = resolve_profile(alias, model)
    assert profile is not None and (profile.alias, profile.model, profile.rule) == (alias, profile_id, rule)


@pytest.mark.parametrize(
    ("alias", "model"),
    [
        ("openai", "gpt-4o-mini-tts"),  # a near name is another model
        ("openai", "no-such-model"),
        ("ollama", "llama3.2"),  # local server
        ("portkey", "gpt-4o-mini"),  # gateway
        ("no-such-alias", "gpt-4o-mini"),
    ],
)
def test_resolve_profile_unprofiled(alias: str, model: str) -> None:
    assert resolve_profile(alias, model) is None


def test_profile_fields() -> None:
    sonnet = resolve_profile("anthropic", "claude-sonnet-4-6")
    assert sonnet is not None and sonnet.reasoning and sonnet.reasoning_options is not None
    assert sonnet.reasoning_options.budget_min == 1024 and not sonnet.reasoning_options.always_on
    assert sonnet.prices == Prices(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    o3 = resolve_profile("openai", "o3-mini")
    assert o3 is not None and o3.temperature is False and o3.input_modalities == frozenset({"text"})
    assert o3.reasoning_options is not None and o3.reasoning_options.always_on
    assert o3.reasoning_options.efforts == ("low", "medium", "high")
    assert (o3.context_limit, o3.output_limit) == (200_000, 100_000)


# --- capabilities per model ----------------------------------------------------------------------------------------


def _caps(alias: str, model: str | None = None) -> frozenset[Capability]:
    return get_provider(alias, api_key=KEY, model=model).capabilities


def test_openai_capabilities_follow_the_model() -> None:
    plain, reasoning = _caps("openai", "gpt-4o-mini"), _caps("openai", "o3-mini")
    assert Capability.IMAGE_INPUT in plain and Capability.IMAGE_INPUT not in reasoning  # o3-mini reads text only
    assert plain - reasoning == {Capability.IMAGE_INPUT}
    assert Capability.REASONING not in reasoning  # no protocol sends a reasoning option yet


def test_groq_capabilities_follow_the_model() -> None:
    vision = _caps("groq", "meta-llama/llama-4-scout-17b-16e-instruct")
    reasoning = _caps("groq", "qwen/qwen3-32b")
    assert vision - reasoning == {Capability.IMAGE_INPUT}
    assert Capability.REASONING not in reasoning and Capability.TOOLS in reasoning


def test_a_model_without_tool_calling_loses_the_tool_capabilities() -> None:
    provider = get_provider("groq", api_key=KEY, model="meta-llama/llama-prompt-guard-2-86m")
    assert provider.profile is not None and provider.profile.tool_call is False
    assert Capability.TOOLS not in provider.capabilities and Capability.CHAT in provider.capabilities
    with pytest.raises(UnsupportedCapabilityError, match="llama-prompt-guard-2-86m does not support tools"):
        provider.payload(USER, tools=[WEATHER])


def test_the_default_model_keeps_its_row_claims() -> None:
    # models.dev says mistral-small-latest reads images; the row's claims for its default model are what the matrix
    # verifies, so the profile does not add to them.
    spec = next(s for s in list_providers() if s.name == "mistral")
    assert (
        resolve_capabilities(spec.capabilities, resolve_profile("mistral", "mistral-small-latest")) > spec.capabilities
    )
    assert _caps("mistral") == spec.capabilities
    assert Capability.IMAGE_INPUT in _caps("mistral", "mistral-small-2603")


def test_unprofiled_models_keep_the_row() -> None:
    for alias, model in [("groq", "some-new-model"), ("ollama", "llama3.2"), ("vllm", "my-model")]:
        provider = get_provider(alias, api_key=KEY, model=model, base_url="http://127.0.0.1:9/v1")
        assert provider.profile is None and provider.capabilities == provider.spec.capabilities


def test_explicit_capabilities_override_the_profile() -> None:
    provider = get_provider("openai", api_key=KEY, model="o3-mini", capabilities={"chat", "image_input"})
    assert provider.capabilities == {Capability.CHAT, Capability.IMAGE_INPUT}
    assert provider.payload(IMAGE)["model"] == "o3-mini"


def test_a_per_call_model_is_checked_against_its_own_profile() -> None:
    provider = get_provider("openai", api_key=KEY, model="gpt-4o-mini")
    assert provider.payload(IMAGE)["model"] == "gpt-4o-mini"
    with pytest.raises(UnsupportedCapabilityError, match="o3-mini does not support image_input"):
        provider.payload(IMAGE, model="o3-mini")


# --- limits ---------------------------------------------------------------------------------------------------------


def test_max_tokens_above_the_output_limit_is_refused_before_sending(loopback: LoopbackServer) -> None:
    with (
        get_provider("groq", api_key=KEY, base_url=loopback.url("/v1")) as provider,
        pytest.raises(ModelLimitError) as info,
    ):
        provider.chat(USER, max_tokens=32_769)  # llama-3.3-70b-versatile
    error = info.value
    assert (error.limit, error.requested, error.model, error.provider) == (32_768, 32_769, provider.model, "groq")
    assert "32768" in str(error) and "llama-3.3-70b-versatile" in str(error) and "groq" in str(error)
    assert isinstance(error, ValueError) and loopback.requests == []
    assert provider.payload(USER, max_tokens=32_768)["max_tokens"] == 32_768


def test_max_tokens_is_free_on_unprofiled_models() -> None:
    provider = get_provider("groq", api_key=KEY, model="some-new-model")
    assert provider.payload(USER, max_tokens=1_000_000)["max_tokens"] == 1_000_000


# --- cost -----------------------------------------------------------------------------------------------------------


def test_estimate_cost_prices_cache_reads_and_writes_apart() -> None:
    prices = Prices(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    usage = Usage(input_tokens=12_000, output_tokens=2_000, cached_input_tokens=8_000, cache_write_tokens=1_000)
    cost = estimate_cost(usage, prices)
    expected = (3_000 * 3.0 + 8_000 * 0.3 + 1_000 * 3.75 + 2_000 * 15.0) / 1_000_000
    assert cost.source == "estimated" and cost.currency == "USD" and math.isclose(cost.amount, expected)
    assert math.isclose(cost.amount, 0.04515)


def test_estimate_cost_without_cache_prices_charges_the_input_rate() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=100, cached_input_tokens=400)
    assert math.isclose(estimate_cost(usage, Prices(input=1.0, output=2.0)).amount, (1_000 * 1.0 + 100 * 2.0) / 1e6)


def test_estimate_cost_never_counts_negative_fresh_input() -> None:
    usage = Usage(input_tokens=10, output_tokens=0, cached_input_tokens=50)  # a provider that counts apart
    assert math.isclose(estimate_cost(usage, Prices(input=1.0, output=1.0, cache_read=0.1)).amount, 50 * 0.1 / 1e6)


def _openrouter_answer(**usage: Any) -> dict[str, Any]:
    # The shape OpenRouter answers with, usage accounting included [openrouter.ai/docs/use-cases/usage-accounting].
    return {
        "id": "gen-1753242300-abcdefghijklmnopqrst",
        "provider": "OpenAI",
        "model": "openai/gpt-4o-mini",
        "object": "chat.completion",
        "created": 1753242300,
        "choices": [
            {
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!", "refusal": None, "reasoning": None},
            }
        ],
        "usage": {
            "prompt_tokens": 107,
            "completion_tokens": 15,
            "total_tokens": 122,
            "cost": 0.0001017,
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0},
            "cost_details": {"upstream_inference_cost": None},
            "completion_tokens_details": {"reasoning_tokens": 0},
            **usage,
        },
    }


def test_openrouter_billed_cost_wins_over_the_estimate(loopback: LoopbackServer) -> None:
    loopback.push(json_reply(_openrouter_answer()))
    with get_provider("openrouter", api_key=KEY, base_url=loopback.url("/api/v1")) as provider:
        answer = provider.chat(USER)
    assert provider.profile is not None and provider.profile.prices is not None  # an estimate was possible
    assert answer.usage.cost == Cost(amount=0.0001017, source="billed")


def test_openrouter_billed_cost_in_the_last_stream_chunk(loopback: LoopbackServer) -> None:
    final = _openrouter_answer()
    chunk = {**final, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hello!"}}]}
    del chunk["usage"]
    last = {**final, "object": "chat.completion.chunk", "choices": []}
    done = {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    loopback.push(sse_reply([chunk, done, last]))
    with get_provider("openrouter", api_key=KEY, base_url=loopback.url("/api/v1")) as provider:
        events = list(provider.stream(USER))
    assert events[-1].type == "stream_end"
    assert events[-1].response.usage.cost == Cost(amount=0.0001017, source="billed")


def test_estimated_cost_from_a_simulator_answer() -> None:
    with Simulator("openrouter") as sim, get_provider("openrouter", api_key=KEY, base_url=sim.base_url) as provider:
        answer = provider.chat(USER, max_tokens=64)
    assert provider.profile is not None and provider.profile.prices is not None
    assert answer.usage.input_tokens > 0 and answer.usage.cost is not None
    assert answer.usage.cost == estimate_cost(answer.usage.model_copy(update={"cost": None}), provider.profile.prices)
    assert answer.usage.cost.source == "estimated"


def test_unprofiled_models_have_no_cost(loopback: LoopbackServer) -> None:
    body = _openrouter_answer()
    del body["usage"]["cost"]
    loopback.push(json_reply(body))
    with get_provider("chat_completions", api_key=KEY, base_url=loopback.url("/v1"), model="anything") as provider:
        assert provider.chat(USER).usage.cost is None


# --- the guide ---------------------------------------------------------------------------------------------------


def test_models_guide_mapping_table_matches_the_generator() -> None:
    guide = (REPO / "docs" / "guides" / "models.md").read_text(encoding="utf-8")
    mapped = _table(guide, "| alias | models.dev folder | profiles |")
    assert mapped == {a: [folder, str(len(profiled_models(a)))] for a, folder in profile_aliases().items()}
    assert dict(_generator().ALIASES) == dict(profile_aliases())
    unprofiled = _table(guide, "| alias | why |")
    assert unprofiled == {alias: [why] for alias, why in unprofiled_aliases().items()}


def test_models_guide_names_the_unprofiled_default_models() -> None:
    guide = (REPO / "docs" / "guides" / "models.md").read_text(encoding="utf-8")
    tail = guide.split("Default models that the snapshot does not list", 1)[1]
    for spec in list_providers():
        if spec.name in profile_aliases() and spec.default_model:
            listed = f"`{spec.default_model}`" in tail
            assert listed == (resolve_profile(spec.name, spec.default_model) is None), spec.name


def test_estimated_cost_on_a_simulator_stream() -> None:
    with Simulator("groq") as sim, get_provider("groq", api_key=KEY, base_url=sim.base_url) as provider:
        events = list(provider.stream(USER, max_tokens=64))
    usages = [event.usage for event in events if event.type == "usage"]
    end = events[-1]
    assert usages and end.type == "stream_end" and end.response.usage.cost is not None
    assert all(usage.cost is not None and usage.cost.source == "estimated" for usage in usages)
    assert end.response.usage.cost == usages[-1].cost
