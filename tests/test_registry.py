"""Every registry row resolves, with its real public base URL, and resolution follows its documented order."""

from __future__ import annotations

import re
from typing import ClassVar

import pytest

import allos
from allos import Capability, ProviderSpec, get_provider, list_providers, register_provider, unregister_provider
from allos.errors import ConfigurationError
from allos.protocols.chat_completions import ChatCompletionsQuirks
from allos.providers.registry import OPENAI_COMPATIBLE_PROVIDERS, get_spec

# The real public endpoints [../shared/research/provider-contracts.md section 4].
REAL_BASE_URLS = {
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com",
    "portkey": "https://api.portkey.ai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "xai": "https://api.x.ai/v1",
    "cerebras": "https://api.cerebras.ai/v1",
    "perplexity": "https://api.perplexity.ai",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
    "vllm": "http://localhost:8000/v1",
    "lmstudio": "http://localhost:1234/v1",
    "localai": "http://localhost:8080/v1",
    "openai-chat": "https://api.openai.com/v1",
}
LOCAL = {"vllm", "lmstudio", "localai"}


@pytest.mark.parametrize("alias", sorted(REAL_BASE_URLS))
def test_alias_resolves_with_real_base_url(alias: str) -> None:
    provider = get_provider(alias, api_key="sk-test-0123456789", model="m")
    assert provider.spec.name == alias
    assert provider.base_url == REAL_BASE_URLS[alias]
    assert provider.spec.base_url == REAL_BASE_URLS[alias]
    assert provider.spec.local == (alias in LOCAL)


def test_generic_alias_needs_base_url() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_provider("chat_completions", model="m")
    assert "base_url" in str(info.value) and "CHAT_COMPLETIONS_BASE_URL" in str(info.value)
    provider = get_provider("chat_completions", base_url="http://127.0.0.1:9/v1", model="m")
    assert provider.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("spec", list_providers(), ids=lambda s: s.name)
def test_every_row_is_well_formed(spec: ProviderSpec) -> None:
    assert Capability.CHAT in spec.capabilities
    assert spec.capabilities <= frozenset(Capability)
    assert spec.docs_url.startswith("https://")
    if spec.api_key_required:
        assert spec.api_key_env and re.fullmatch(r"[A-Z][A-Z0-9_]*", spec.api_key_env)
    if Capability.TOOL_RESULT in spec.capabilities:
        assert Capability.TOOLS in spec.capabilities
    sources = spec.quirks.sources if spec.quirks is not None else {}
    for quirk, source in sources.items():
        assert source.strip(), f"{spec.name}.{quirk} has no source"


def test_quirk_differences_carry_their_source() -> None:
    """A row whose quirks differ from the reference names a source for each differing field."""
    reference = ChatCompletionsQuirks()
    for spec in OPENAI_COMPATIBLE_PROVIDERS.values():
        if spec.quirks is None:
            continue
        assert isinstance(spec.quirks, ChatCompletionsQuirks)
        for field in ("max_tokens_field", "tool_call_ids", "tool_choice_required", "seed_field", "rejected_params",
                      "message_name", "strict_tools", "stream_usage", "empty_assistant_content", "reasoning_field",
                      "json_schema_style", "merge_consecutive_roles"):  # fmt: skip
            if getattr(spec.quirks, field) != getattr(reference, field):
                assert field in spec.quirks.sources, f"{spec.name}: quirk {field} has no source"


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_provider("groq")
    message = str(info.value)
    assert "GROQ_API_KEY" in message and "groq" in message


def test_key_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-from-env-0123456789")
    provider = get_provider("groq")
    assert provider.model == "llama-3.3-70b-versatile"
    assert provider._transport._headers["Authorization"] == "Bearer gsk-from-env-0123456789"


def test_explicit_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-from-env-0123456789")
    monkeypatch.setenv("GROQ_BASE_URL", "http://127.0.0.1:1/env")
    provider = get_provider("groq", api_key="gsk-explicit-0123456789", base_url="http://127.0.0.1:2/arg")
    assert provider.base_url == "http://127.0.0.1:2/arg"
    assert provider._transport._headers["Authorization"] == "Bearer gsk-explicit-0123456789"
    assert get_provider("groq").base_url == "http://127.0.0.1:1/env"


def test_unknown_alias_lists_known_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_provider("grok-cloud")
    message = str(info.value)
    assert "grok-cloud" in message
    for name in ("groq", "mistral", "openrouter"):
        assert name in message


def test_alias_lookup_ignores_case_and_spaces() -> None:
    assert get_spec(" Groq ").name == "groq"


def test_local_alias_needs_no_key_and_sends_none() -> None:
    provider = get_provider("lmstudio", model="qwen")
    assert "Authorization" not in provider._transport._headers


def test_portkey_headers_come_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTKEY_API_KEY", "pk-0123456789abcdef")
    monkeypatch.setenv("PORTKEY_PROVIDER", "openai")
    monkeypatch.setenv("PORTKEY_PROVIDER_API_KEY", "sk-provider-0123456789")
    headers = get_provider("portkey")._transport._headers
    assert headers["x-portkey-api-key"] == "pk-0123456789abcdef"
    assert headers["x-portkey-provider"] == "openai"
    assert headers["Authorization"] == "Bearer sk-provider-0123456789"
    assert "x-portkey-virtual-key" not in headers


def test_openrouter_attribution_headers_are_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = get_provider("openrouter", api_key="or-0123456789")._transport._headers
    assert "HTTP-Referer" not in headers and "X-Title" not in headers
    monkeypatch.setenv("OPENROUTER_APP_URL", "https://example.org")
    monkeypatch.setenv("OPENROUTER_APP_NAME", "Allos tests")
    headers = get_provider("openrouter", api_key="or-0123456789")._transport._headers
    assert headers["HTTP-Referer"] == "https://example.org"
    assert headers["X-Title"] == "Allos tests"


def test_missing_model_says_what_to_pass() -> None:
    with pytest.raises(ConfigurationError, match="model="):
        get_provider("vllm")


def test_register_provider_adds_and_removes_an_alias() -> None:
    spec = ProviderSpec(
        name="my-gateway",
        protocol="chat_completions",
        base_url="http://127.0.0.1:9/v1",
        api_key_env="MY_GATEWAY_KEY",
        capabilities=frozenset({Capability.CHAT}),
        default_model="m",
    )
    register_provider(spec)
    try:
        assert "my-gateway" in OPENAI_COMPATIBLE_PROVIDERS
        assert get_provider("my-gateway", api_key="k-0123456789").spec is spec
        with pytest.raises(ConfigurationError, match="already registered"):
            register_provider(spec)
    finally:
        unregister_provider("my-gateway")
    assert "my-gateway" not in OPENAI_COMPATIBLE_PROVIDERS
    with pytest.raises(ConfigurationError):
        get_spec("my-gateway")


def test_builtin_alias_cannot_be_removed() -> None:
    with pytest.raises(ConfigurationError, match="built in"):
        unregister_provider("groq")


def test_invalid_alias_name_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        ProviderSpec(name="Bad Name", protocol="chat_completions", base_url=None, api_key_env=None,
                     capabilities=frozenset())  # fmt: skip


def test_registry_rows_are_frozen() -> None:
    spec = get_spec("groq")
    with pytest.raises(AttributeError):
        spec.base_url = "http://elsewhere"  # type: ignore[misc]


def test_list_providers_is_sorted_and_complete() -> None:
    names = [spec.name for spec in allos.list_providers()]
    assert names == sorted(names)
    assert set(REAL_BASE_URLS) | {"chat_completions"} <= set(names)


def test_quirks_of_another_protocol_are_refused() -> None:
    class OtherQuirks:
        sources: ClassVar[dict[str, str]] = {}

    spec = ProviderSpec(
        name="odd-row",
        protocol="chat_completions",
        base_url="http://127.0.0.1:9/v1",
        api_key_env=None,
        api_key_required=False,
        capabilities=frozenset({Capability.CHAT}),
        default_model="m",
        quirks=OtherQuirks(),
    )
    register_provider(spec)
    try:
        with pytest.raises(ConfigurationError, match="ChatCompletionsQuirks"):
            get_provider("odd-row")
    finally:
        unregister_provider("odd-row")


def test_capabilities_can_be_replaced_per_provider() -> None:
    from allos import Message
    from allos.errors import UnsupportedCapabilityError
    from allos.types import ImagePart, TextPart

    image = [Message(role="user", content=[TextPart(text="what is this?"), ImagePart(url="https://example.org/a.png")])]
    with pytest.raises(UnsupportedCapabilityError, match="image_input"):
        get_provider("vllm", model="m").payload(image)
    vision = get_provider("vllm", model="qwen-vl", capabilities=[*get_spec("vllm").capabilities, "image_input"])
    assert vision.payload(image)["messages"][0]["content"][1]["type"] == "image_url"
    assert Capability.IMAGE_INPUT not in get_spec("vllm").capabilities  # the registry row is untouched
    with pytest.raises(ConfigurationError, match="telepathy"):
        get_provider("vllm", model="m", capabilities=["telepathy"])


def test_claims_are_opt_in_from_the_named_sets() -> None:
    """No row claims a capability outside the registry's named sets, which list each capability by name: a
    capability added to the enum is claimed by no row until a row opts in (reasoning, today, by none)."""
    from allos.capabilities import Capability
    from allos.providers import registry

    named = registry._CHAT_WITH_IMAGES
    assert Capability.REASONING not in named
    for spec in list_providers():
        assert spec.capabilities <= named, (spec.name, sorted(spec.capabilities - named))
