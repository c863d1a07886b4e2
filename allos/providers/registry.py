"""The registry: one frozen data row per alias. Data only; `allos.providers.get_provider` turns a row into a Provider.

A row says which protocol the alias speaks, where it lives (public base URL, overridable by `<ALIAS>_BASE_URL`),
which environment variable holds its key, which extra headers it takes and from where, how it departs from the
protocol's reference (quirks, each with the documentation it comes from), and which capabilities it claims. The
claims are what the conformance matrix verifies; what an alias does not claim, Allos refuses before sending.

Base URLs follow each official SDK's convention: for OpenAI-compatible endpoints they include the version segment
(`/v1`), and the protocol appends `/chat/completions`. Sources: each row's `sources` mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, Protocol

from allos.capabilities import TOOL_CAPABILITIES, Capability
from allos.errors import ConfigurationError
from allos.protocols._ids import ALNUM9
from allos.protocols.anthropic import AnthropicQuirks
from allos.protocols.chat_completions import ChatCompletionsQuirks
from allos.protocols.responses import ResponsesQuirks

__all__ = [
    "OPENAI_COMPATIBLE_PROVIDERS",
    "HeaderSpec",
    "ProtocolName",
    "ProviderSpec",
    "Quirks",
    "get_spec",
    "list_providers",
    "register_provider",
    "unregister_provider",
]

ProtocolName = Literal["chat_completions", "responses", "anthropic", "ollama"]
_ALIAS_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Quirks(Protocol):
    """What every protocol's quirks dataclass has: the source of each quirk (quirk name -> documentation)."""

    @property
    def sources(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class HeaderSpec:
    """An extra header whose value comes from an environment variable, else from `default`; sent only when either
    gives a value."""

    name: str
    env: str
    secret: bool = False
    prefix: str = ""
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    """One alias. `capabilities` is the claim the conformance harness checks."""

    name: str
    protocol: ProtocolName
    base_url: str | None
    api_key_env: str | None
    capabilities: frozenset[Capability]
    default_model: str | None = None
    api_key_required: bool = True
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    headers: tuple[HeaderSpec, ...] = ()
    # The protocol module's quirks dataclass; None means the protocol's reference behaviour.
    quirks: Quirks | None = None
    local: bool = False
    docs_url: str = ""
    description: str = ""
    base_url_env: str | None = field(default=None)
    # The server closes the connection after a streamed answer without saying so (no `Connection: close`), so a
    # request sent on that connection right after a stream meets "Server disconnected without sending a response".
    # Allos then asks for `Connection: close` on streaming requests: the next request opens a fresh connection.
    closes_after_stream: bool = False

    def __post_init__(self) -> None:
        if not _ALIAS_PATTERN.match(self.name):
            raise ConfigurationError(f"alias {self.name!r} must be lower-case letters, digits, '-' or '_'")
        if self.base_url_env is None:
            object.__setattr__(self, "base_url_env", f"{self.name.upper().replace('-', '_')}_BASE_URL")

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities


# Local servers run without authentication by default and load models on demand: neither a bad key nor an unknown
# model has a documented answer there, so they do not claim error mapping.
_LOCAL_UNCLAIMED: Final = frozenset({Capability.ERROR_MAPPING})
# Claims are opt-in: each row builds its set from the named sets below, so a capability added to the enum is claimed
# by no row until one says so, with its evidence (tests/test_registry.py holds every row to the named sets).
# What a capable OpenAI-compatible alias claims. Image input and reasoning depend on the model, so only aliases
# whose default model has them claim them (per model: allos.profiles).
_CHAT_BASE: Final = frozenset(
    {
        Capability.CHAT,
        Capability.SYSTEM_PROMPT,
        Capability.MULTI_TURN,
        Capability.MAX_TOKENS,
        Capability.STOP_SEQUENCES,
        Capability.TOOLS,
        Capability.TOOL_CALL,
        Capability.TOOL_RESULT,
        Capability.PARALLEL_TOOL_CALLS,
        Capability.TOOL_CHOICE_NONE,
        Capability.TOOL_CHOICE_REQUIRED,
        Capability.TOOL_CHOICE_NAMED,
        Capability.STREAMING,
        Capability.STREAMING_TOOL_CALLS,
        Capability.USAGE,
        Capability.STREAM_USAGE,
        Capability.UNICODE,
        Capability.JSON_MODE,
        Capability.STRUCTURED_OUTPUT,
        Capability.ERROR_MAPPING,
        Capability.HANDOFF,
        Capability.GENERATED_SEQUENCES,
    }
)
# The same, with image input: for aliases whose default model reads images.
_CHAT_WITH_IMAGES: Final = _CHAT_BASE | {Capability.IMAGE_INPUT}
_LLAMACPP_TOOLS: Final = frozenset(
    {
        Capability.TOOL_CALL,
        Capability.TOOL_RESULT,
        Capability.PARALLEL_TOOL_CALLS,
        Capability.TOOL_CHOICE_REQUIRED,
        Capability.TOOL_CHOICE_NAMED,
        Capability.STREAMING_TOOL_CALLS,
        Capability.HANDOFF,  # its history carries tool results, which the row does not claim
    }
)


_GROQ_DOCS = "https://console.groq.com/docs/openai"
_MISTRAL_SOURCES = {
    "tool_call_ids": "jackmpcollins/magentic#276; langchain-ai/langchain PR #24668 (9 chars [a-zA-Z0-9])",
    "tool_choice_required": "Mistral ToolChoiceEnum auto|none|any|required; litellm mistral maps required->any",
    "seed_field": "mistralai/client-python models/chatcompletionrequest.py (random_seed)",
    "stream_usage": "Mistral forbids unknown fields (extra_forbidden, litellm mistral); usage comes in its last chunk",
    "empty_assistant_content": "mistralai/mistral-common#324 (null content rejected)",
    "message_name": "litellm mistral transformation drops name except on tool messages",
    "assistant_after_tool": "datapizza-labs/datapizza-ai#98 (code 3230); zed-industries/zed PR #31736 inserts an empty"
    " assistant turn between tool and user",
}

# What the llama-server rows leave unclaimed, and why. "measured" is llama-server built from llama-cpp-python 0.3.36
# (llama.cpp commit 0c1e570) with the tiny model of conformance/llamacpp.py; the endpoints are in
# https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md.
_LLAMACPP_MEASURED = "measured against llama-server 0.3.36 / llama.cpp commit 0c1e570"
_LLAMACPP_TOOL_SOURCE = (
    f"{_LLAMACPP_MEASURED}: the tiny model never calls a tool by itself, a named tool_choice is treated as auto, and"
    " under required with parallel calls allowed it never stops calling (no tool-call column is claimed)"
)
_LLAMACPP_ANTHROPIC_SOURCES: Final = {
    "unclaimed_tool_calls": _LLAMACPP_TOOL_SOURCE + "; disable_parallel_tool_use is ignored",
    "unclaimed_structured_output": f"{_LLAMACPP_MEASURED}: output_config.format is ignored (plain text answer)",
    "stop_reason": f"{_LLAMACPP_MEASURED}: a matched stop sequence ends with stop_reason end_turn (stop_sequence"
    " set), not stop_sequence",
}
_LLAMACPP_RESPONSES_SOURCES: Final = {
    "unclaimed_tool_calls": _LLAMACPP_TOOL_SOURCE,
    "unclaimed_max_tokens": f"{_LLAMACPP_MEASURED}: a reply cut by max_output_tokens comes back status completed,"
    " never incomplete",
    "unclaimed_json_output": f"{_LLAMACPP_MEASURED}: text.format (json_object, json_schema) is ignored",
}


def _llamacpp(
    name: str,
    protocol: ProtocolName,
    path: str,
    capabilities: frozenset[Capability],
    quirks: Quirks | None,
    endpoint: str,
) -> ProviderSpec:
    """One endpoint of llama.cpp's `llama-server`: local, a key only when the server runs with --api-key, on
    127.0.0.1:8080 by default [llama.cpp tools/server/README.md: --port (default: 8080)]. Claims and quirks are
    measured against llama-server (llama-cpp-python 0.3.36, llama.cpp commit 0c1e570) with the tiny model of
    conformance/llamacpp.py.

    The same measurement: a streamed answer advertises `keep-alive: timeout=5, max=100`, yet the server closes the
    socket just after the stream's last chunk; a request sent on it within a few milliseconds fails (raw httpx: 2-3
    of 60 stream-then-chat pairs; Allos, which parses for a moment longer: 52 of 150) and none fail with
    `Connection: close` on the stream, hence `closes_after_stream`.
    """
    return ProviderSpec(
        name=name,
        protocol=protocol,
        base_url=f"http://127.0.0.1:8080{path}",
        api_key_env="LLAMACPP_API_KEY",
        api_key_required=False,
        capabilities=capabilities,
        quirks=quirks,
        local=True,
        closes_after_stream=True,
        docs_url="https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md",
        description=f"llama.cpp's llama-server{endpoint}",
    )


_BUILTIN: Final[tuple[ProviderSpec, ...]] = (
    ProviderSpec(
        name="openai",
        protocol="responses",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        base_url_env="OPENAI_BASE_URL",
        default_model="gpt-4o-mini",
        # No stop sequences: CreateResponse has no `stop` field [openai-openapi; oai-py response_create_params.py].
        capabilities=_CHAT_WITH_IMAGES - {Capability.STOP_SEQUENCES},
        headers=(
            HeaderSpec("OpenAI-Organization", "OPENAI_ORG_ID"),
            HeaderSpec("OpenAI-Project", "OPENAI_PROJECT_ID"),
        ),
        docs_url="https://platform.openai.com/docs/api-reference/responses",
        description="OpenAI through its native Responses protocol",
    ),
    ProviderSpec(
        name="anthropic",
        protocol="anthropic",
        # The SDK's base has no version segment; the protocol's path is /v1/messages [anthropic-sdk-python _client.py].
        base_url="https://api.anthropic.com",
        api_key_env="ANTHROPIC_API_KEY",
        # claude-sonnet-4-5 reaches end of life on 2026-11-30 [anthropic-sdk-python _data/deprecated_models.py].
        default_model="claude-sonnet-4-6",
        # No JSON mode; json_schema is sent as output_config.format, GA for Sonnet 4.5 and later
        # [platform.claude.com/docs/en/build-with-claude/structured-outputs]. REASONING needs `thinking`, not sent.
        capabilities=_CHAT_WITH_IMAGES - {Capability.JSON_MODE},
        auth_header="x-api-key",
        auth_scheme="",
        headers=(
            # Pinned; ANTHROPIC_VERSION overrides it (2026-10-21 changed sampling fields) [research section 3].
            HeaderSpec("anthropic-version", "ANTHROPIC_VERSION", default="2023-06-01"),
            HeaderSpec("anthropic-beta", "ANTHROPIC_BETA"),
        ),
        docs_url="https://docs.claude.com/en/api/messages",
        description="Anthropic Messages",
    ),
    ProviderSpec(
        name="ollama",
        protocol="ollama",
        base_url="http://localhost:11434",
        api_key_env="OLLAMA_API_KEY",
        api_key_required=False,
        default_model="llama3.2",
        # The local API takes no key (docs/api/authentication.mdx): a bad key cannot be refused, so the error-mapping
        # column cannot pass here, whatever the unknown-model answer does; like the other local servers, not claimed.
        capabilities=_CHAT_WITH_IMAGES
        - {Capability.TOOL_CHOICE_REQUIRED, Capability.TOOL_CHOICE_NAMED}
        - _LOCAL_UNCLAIMED,
        local=True,
        docs_url="https://github.com/ollama/ollama/blob/main/docs/api.md",
        description="Ollama's native API, with model management",
    ),
    ProviderSpec(
        name="openai-chat",
        protocol="chat_completions",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        base_url_env="OPENAI_BASE_URL",
        default_model="gpt-4o-mini",
        capabilities=_CHAT_WITH_IMAGES,
        quirks=ChatCompletionsQuirks(
            max_tokens_field="max_completion_tokens",
            sources={"max_tokens_field": "openai-openapi: max_tokens deprecated, rejected by o-series models"},
        ),
        headers=(
            HeaderSpec("OpenAI-Organization", "OPENAI_ORG_ID"),
            HeaderSpec("OpenAI-Project", "OPENAI_PROJECT_ID"),
        ),
        docs_url="https://platform.openai.com/docs/api-reference/chat",
        description="OpenAI through the universal Chat Completions protocol",
    ),
    ProviderSpec(
        name="groq",
        protocol="chat_completions",
        base_url="https://api.groq.com/openai/v1",
        api_key_env="GROQ_API_KEY",
        default_model="llama-3.3-70b-versatile",
        capabilities=_CHAT_BASE,
        quirks=ChatCompletionsQuirks(
            rejected_params=frozenset({"logprobs", "logit_bias", "top_logprobs", "n"}),
            message_name=False,
            sources={
                "rejected_params": f"{_GROQ_DOCS} (logprobs, logit_bias, top_logprobs and messages[].name give 400;"
                " n must be 1)",
                "message_name": _GROQ_DOCS,
            },
        ),
        docs_url=_GROQ_DOCS,
        description="Groq LPU inference",
    ),
    ProviderSpec(
        name="together",
        protocol="chat_completions",
        base_url="https://api.together.xyz/v1",
        api_key_env="TOGETHER_API_KEY",
        default_model="meta-llama/Llama-3.3-70B-Instruct-Turbo",
        capabilities=_CHAT_BASE,
        quirks=ChatCompletionsQuirks(
            sources={"finish_reason": "together-python types/common.py: finish_reason 'eos' (mapped to stop)"}
        ),
        docs_url="https://docs.together.ai/reference/chat-completions-1",
        description="Together AI",
    ),
    ProviderSpec(
        name="mistral",
        protocol="chat_completions",
        base_url="https://api.mistral.ai/v1",
        api_key_env="MISTRAL_API_KEY",
        default_model="mistral-small-latest",
        capabilities=_CHAT_BASE,
        quirks=ChatCompletionsQuirks(
            tool_call_ids=ALNUM9,
            tool_choice_required="any",
            seed_field="random_seed",
            stream_usage=False,
            empty_assistant_content="",
            message_name=False,
            assistant_after_tool=True,
            sources=_MISTRAL_SOURCES,
        ),
        docs_url="https://docs.mistral.ai/api/#tag/chat",
        description="Mistral AI",
    ),
    ProviderSpec(
        name="deepseek",
        protocol="chat_completions",
        base_url="https://api.deepseek.com",
        api_key_env="DEEPSEEK_API_KEY",
        default_model="deepseek-chat",
        # tool_choice "required" is refused by the reasoner/v4 models [pydantic-ai providers/deepseek.py].
        capabilities=_CHAT_BASE - {Capability.TOOL_CHOICE_REQUIRED},
        quirks=ChatCompletionsQuirks(
            reasoning_field="reasoning_content",
            sources={
                "max_tokens_field": "any-llm deepseek.py: only max_tokens is accepted",
                "reasoning_field": "api-docs.deepseek.com/guides/thinking_mode#tool-calls: reasoning_content must"
                " be passed back on assistant turns that made tool calls",
            },
        ),
        docs_url="https://api-docs.deepseek.com/api/create-chat-completion",
        description="DeepSeek",
    ),
    ProviderSpec(
        name="portkey",
        protocol="chat_completions",
        base_url="https://api.portkey.ai/v1",
        api_key_env="PORTKEY_API_KEY",
        default_model="gpt-4o-mini",
        capabilities=_CHAT_BASE,
        auth_header="x-portkey-api-key",
        auth_scheme="",
        headers=(
            HeaderSpec("x-portkey-provider", "PORTKEY_PROVIDER", description="the provider Portkey routes to"),
            HeaderSpec(
                "Authorization",
                "PORTKEY_PROVIDER_API_KEY",
                secret=True,
                prefix="Bearer ",
                description="that provider's key",
            ),
            HeaderSpec("x-portkey-virtual-key", "PORTKEY_VIRTUAL_KEY", secret=True, description="or a virtual key"),
            HeaderSpec("x-portkey-config", "PORTKEY_CONFIG", description="or a config id / JSON"),
        ),
        quirks=ChatCompletionsQuirks(
            sources={"headers": "portkey.ai/docs/api-reference/inference-api/headers (x-portkey-api-key required)"}
        ),
        docs_url="https://portkey.ai/docs/api-reference/inference-api/headers",
        description="Portkey AI gateway",
    ),
    ProviderSpec(
        name="openrouter",
        protocol="chat_completions",
        base_url="https://openrouter.ai/api/v1",
        api_key_env="OPENROUTER_API_KEY",
        default_model="openai/gpt-4o-mini",
        capabilities=_CHAT_BASE,
        headers=(
            HeaderSpec("HTTP-Referer", "OPENROUTER_APP_URL", description="optional attribution: your site"),
            HeaderSpec("X-Title", "OPENROUTER_APP_NAME", description="optional attribution: your app's name"),
        ),
        quirks=ChatCompletionsQuirks(
            sources={
                "headers": "pydantic-ai providers/openrouter.py (HTTP-Referer, X-Title attribution headers)",
                "max_tokens_field": "pydantic-ai providers/openrouter.py: max_tokens, not max_completion_tokens",
                "stream": "openrouter.ai/docs/api-reference/streaming: ': OPENROUTER PROCESSING' comments,"
                " errors inside 200 streams",
            }
        ),
        docs_url="https://openrouter.ai/docs/api-reference/overview",
        description="OpenRouter model router",
    ),
    ProviderSpec(
        name="fireworks",
        protocol="chat_completions",
        base_url="https://api.fireworks.ai/inference/v1",
        api_key_env="FIREWORKS_API_KEY",
        default_model="accounts/fireworks/models/llama-v3p3-70b-instruct",
        capabilities=_CHAT_BASE,
        quirks=ChatCompletionsQuirks(
            tool_choice_required="any",
            json_schema_style="json_object_schema",
            sources={
                "tool_choice_required": "litellm fireworks_ai/chat/transformation.py (required sent as any)",
                "json_schema_style": "litellm fireworks_ai/chat/transformation.py ({type: json_object, schema})",
            },
        ),
        docs_url="https://docs.fireworks.ai/api-reference/post-chatcompletions",
        description="Fireworks AI",
    ),
    ProviderSpec(
        name="xai",
        protocol="chat_completions",
        base_url="https://api.x.ai/v1",
        api_key_env="XAI_API_KEY",
        default_model="grok-3-mini",
        # `stop` is unsupported on grok-3-mini / grok-4 [litellm xai/chat/transformation.py].
        capabilities=_CHAT_BASE - {Capability.STOP_SEQUENCES},
        quirks=ChatCompletionsQuirks(
            strict_tools=False,
            message_name=False,
            bad_key_messages=("Incorrect API key provided",),
            sources={
                "bad_key_messages": "continuedev/continue#10778, i-am-bee/beeai-framework#447: a wrong key is a 400",
                "strict_tools": "litellm xai/chat/transformation.py strips tools[].function.strict",
                "message_name": "litellm xai/chat/transformation.py strips messages[].name",
                "finish_reason": "litellm xai: finish_reason '' with tool calls (mapped to tool_calls)",
            },
        ),
        docs_url="https://docs.x.ai/docs/api-reference",
        description="xAI Grok",
    ),
    ProviderSpec(
        name="cerebras",
        protocol="chat_completions",
        base_url="https://api.cerebras.ai/v1",
        api_key_env="CEREBRAS_API_KEY",
        default_model="llama-3.3-70b",
        # tool_choice is only auto|none (hexdocs req_llm cerebras, third-party); parallel_tool_calls is rejected.
        capabilities=_CHAT_BASE
        - {Capability.PARALLEL_TOOL_CALLS, Capability.TOOL_CHOICE_REQUIRED, Capability.TOOL_CHOICE_NAMED},
        quirks=ChatCompletionsQuirks(
            rejected_params=frozenset(
                {"frequency_penalty", "logit_bias", "presence_penalty", "parallel_tool_calls", "service_tier"}
            ),
            sources={"rejected_params": "inference-docs.cerebras.ai/resources/openai (via pydantic-ai cerebras.py)"},
        ),
        docs_url="https://inference-docs.cerebras.ai/resources/openai",
        description="Cerebras inference",
    ),
    ProviderSpec(
        name="perplexity",
        protocol="chat_completions",
        base_url="https://api.perplexity.ai",
        api_key_env="PERPLEXITY_API_KEY",
        default_model="sonar",
        # No tools [litellm perplexity/chat/transformation.py]; json_object is not a documented response_format.
        capabilities=_CHAT_BASE - TOOL_CAPABILITIES - {Capability.JSON_MODE},
        quirks=ChatCompletionsQuirks(
            merge_consecutive_roles=True,
            sources={
                "merge_consecutive_roles": "perplexityai/api-discussion#265 (user and assistant must alternate)",
            },
        ),
        docs_url="https://docs.perplexity.ai/api-reference/chat-completions-post",
        description="Perplexity Sonar (no /v1 in the base URL)",
    ),
    ProviderSpec(
        name="gemini",
        protocol="chat_completions",
        base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        api_key_env="GEMINI_API_KEY",
        default_model="gemini-2.5-flash",
        capabilities=_CHAT_WITH_IMAGES,
        quirks=ChatCompletionsQuirks(
            bad_key_messages=("API key not valid",),
            sources={
                "bad_key_messages": "continuedev/continue#8516: a wrong key is a 400 INVALID_ARGUMENT",
                "errors": "FuzzAnything/PromptFuzz#42: errors come as a JSON array",
                "stream": "googleapis/python-genai#2868: tool-call deltas may omit index; finish 'stop' with tools",
            },
        ),
        docs_url="https://ai.google.dev/gemini-api/docs/openai",
        description="Google Gemini through its OpenAI-compatible endpoint",
    ),
    ProviderSpec(
        name="vllm",
        protocol="chat_completions",
        base_url="http://localhost:8000/v1",
        api_key_env="VLLM_API_KEY",
        api_key_required=False,
        capabilities=_CHAT_BASE - _LOCAL_UNCLAIMED,
        local=True,
        docs_url="https://docs.vllm.ai/en/latest/features/tool_calling.html",
        description="vLLM server (tools need --enable-auto-tool-choice --tool-call-parser)",
    ),
    ProviderSpec(
        name="lmstudio",
        protocol="chat_completions",
        base_url="http://localhost:1234/v1",
        api_key_env=None,
        api_key_required=False,
        capabilities=_CHAT_BASE - _LOCAL_UNCLAIMED,
        local=True,
        docs_url="https://lmstudio.ai/docs/api/openai-api",
        description="LM Studio local server",
    ),
    ProviderSpec(
        name="localai",
        protocol="chat_completions",
        base_url="http://localhost:8080/v1",
        api_key_env="LOCALAI_API_KEY",
        api_key_required=False,
        capabilities=_CHAT_BASE - _LOCAL_UNCLAIMED,
        local=True,
        docs_url="https://localai.io/features/openai-functions/",
        description="LocalAI server",
    ),
    _llamacpp(
        "llamacpp",
        "chat_completions",
        "/v1",
        # The tool columns depend on a model that chooses to call tools, which the tiny model of
        # conformance/llamacpp.py does not (and a named tool_choice is treated as "auto"), so the row claims none.
        _CHAT_BASE - _LOCAL_UNCLAIMED - _LLAMACPP_TOOLS,
        None,
        "",
    ),
    _llamacpp(
        "llamacpp-anthropic",
        "anthropic",
        # Like the Anthropic SDK's base URL, no version segment (the protocol appends /v1/messages)
        # [llama.cpp tools/server/README.md: POST /v1/messages].
        "",
        # As the llamacpp row, plus: output_config.format is ignored (plain text comes back), so no structured
        # output; there is no JSON mode in the Messages protocol.
        _CHAT_BASE - _LOCAL_UNCLAIMED - _LLAMACPP_TOOLS - {Capability.JSON_MODE, Capability.STRUCTURED_OUTPUT},
        AnthropicQuirks(sources=_LLAMACPP_ANTHROPIC_SOURCES),
        ", Anthropic Messages endpoint",
    ),
    _llamacpp(
        "llamacpp-responses",
        "responses",
        "/v1",  # [llama.cpp tools/server/README.md: POST /v1/responses]
        # As the llamacpp row, plus: a reply cut by max_output_tokens is answered status "completed" (so it cannot
        # read as a length finish) and text.format is ignored (plain text for json_object and json_schema).
        _CHAT_BASE
        - _LOCAL_UNCLAIMED
        - _LLAMACPP_TOOLS
        - {Capability.MAX_TOKENS, Capability.STOP_SEQUENCES, Capability.JSON_MODE, Capability.STRUCTURED_OUTPUT},
        ResponsesQuirks(sources=_LLAMACPP_RESPONSES_SOURCES),
        ", OpenAI Responses endpoint",
    ),
    ProviderSpec(
        name="chat_completions",
        protocol="chat_completions",
        base_url=None,
        api_key_env="CHAT_COMPLETIONS_API_KEY",
        api_key_required=False,
        capabilities=_CHAT_BASE - _LOCAL_UNCLAIMED,
        base_url_env="CHAT_COMPLETIONS_BASE_URL",
        docs_url="https://platform.openai.com/docs/api-reference/chat",
        description="any OpenAI-compatible server: pass base_url=",
    ),
)

_REGISTRY: dict[str, ProviderSpec] = {spec.name: spec for spec in _BUILTIN}
_OPENAI_COMPATIBLE: dict[str, ProviderSpec] = {s.name: s for s in _BUILTIN if s.protocol == "chat_completions"}

#: alias -> registry row, for every alias that speaks Chat Completions (a live, read-only view).
OPENAI_COMPATIBLE_PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType(_OPENAI_COMPATIBLE)


def list_providers() -> list[ProviderSpec]:
    """Every registered alias, sorted by name."""
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)


def get_spec(name: str) -> ProviderSpec:
    """The row for an alias; an unknown name lists the known ones."""
    spec = _REGISTRY.get(name.strip().lower())
    if spec is None:
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigurationError(
            f"unknown provider {name!r}",
            hint=f"known providers: {known}; or add one with allos.register_provider(...)",
        )
    return spec


def register_provider(spec: ProviderSpec, *, replace: bool = False) -> ProviderSpec:
    """Add an alias (or, with `replace=True`, change one).

    >>> from allos.capabilities import Capability
    >>> _ = register_provider(ProviderSpec(name="my-gateway", protocol="chat_completions",
    ...     base_url="http://127.0.0.1:9/v1", api_key_env=None, api_key_required=False,
    ...     capabilities=frozenset({Capability.CHAT})))
    >>> unregister_provider("my-gateway")
    """
    if spec.name in _REGISTRY and not replace:
        raise ConfigurationError(f"provider {spec.name!r} is already registered", hint="pass replace=True to change it")
    _REGISTRY[spec.name] = spec
    if spec.protocol == "chat_completions":
        _OPENAI_COMPATIBLE[spec.name] = spec
    else:
        _OPENAI_COMPATIBLE.pop(spec.name, None)
    return spec


def unregister_provider(name: str) -> None:
    """Remove a user-registered alias (built-in ones can be replaced, not removed)."""
    if name in {spec.name for spec in _BUILTIN}:
        raise ConfigurationError(
            f"{name!r} is built in and cannot be removed", hint="register_provider(..., replace=True)"
        )
    _REGISTRY.pop(name, None)
    _OPENAI_COMPATIBLE.pop(name, None)
