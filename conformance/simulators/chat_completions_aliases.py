"""Each Chat Completions provider's contract, as data: one `ChatAlias` row per alias, written from the provider's
own documentation and observed answers, never from Allos's registry or adapters (DESIGN.md, independence rule).

Sources are cited inline, in short forms: [OAS] is the OpenAI
OpenAPI spec, [oai-py] / [groq-py] / [mistral-py] the official SDKs' generated request types, `owner/repo#N` a
public issue that quotes the provider's answer. "(simulator text)" marks a message whose wording is not sourced:
its status and body shape are, its words are ours.

Conventions shared by every row (documented in docs/simulators.md): a key containing `invalid` is refused, any other
non-empty key is accepted; local servers take no key and any model name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Final

from conformance.simulators import _names
from conformance.simulators._ids import base62, derive, hex_id, uuid_like
from conformance.simulators.chat_completions_rules import (
    CEREBRAS_ERRORS,
    DETAIL_ERRORS,
    GEMINI_ERRORS,
    GROQ_ERRORS,
    MISTRAL_ERRORS,
    OPENAI_ERRORS,
    OPENROUTER_ERRORS,
    PERPLEXITY_ERRORS,
    PORTKEY_ERRORS,
    XAI_ERRORS,
    AllowedMessageFields,
    Alternation,
    AssistantContentRequired,
    Auth,
    ChatAlias,
    DefaultSamplingOnly,
    KnownFields,
    KnownModel,
    MaxTokensField,
    Refusal,
    RejectedFields,
    RejectedMessageFields,
    RequiredFields,
    RequiredHeaders,
    RoleOrder,
    Rule,
    SingleChoice,
    StreamOptionsNeedStream,
    StreamStyle,
    TextOnlyModels,
    ToolCallIdFormat,
    ToolCallsAnswered,
    ToolChoiceValues,
    ToolNames,
    ToolResultIds,
    TypedContentParts,
)

__all__ = ["CHAT_ALIASES"]

# --- ids -------------------------------------------------------------------------------------------------------------


def _openai_id(seed: str) -> str:
    return "chatcmpl-" + base62(seed, 29)  # chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT [OAS examples]


def _openai_call_id(seed: str, index: int) -> str:
    return "call_" + base62(derive(seed, "call", index), 24)


def _uuid_chatcmpl(seed: str) -> str:
    return "chatcmpl-" + uuid_like(seed)  # Groq: chatcmpl-eb063827-f4d7-... [Portkey-AI/gateway#1338]


def _uuid_id(seed: str) -> str:
    return uuid_like(seed)


def _mistral_id(seed: str) -> str:
    return hex_id(seed, 32)


def _mistral_call_id(seed: str, index: int) -> str:
    return base62(derive(seed, "call", index), 9)  # 9 chars [a-zA-Z0-9] [magentic#276]


def _deepseek_call_id(seed: str, index: int) -> str:
    return f"call_{index}_{uuid_like(derive(seed, 'call', index))}"


def _openrouter_id(seed: str) -> str:
    # gen-<unix time>-<20 alphanumerics> [egoist/chatwise-releases#444]
    return f"gen-{1_750_000_000 + int(seed[:6], 16) % 10_000_000}-{base62(seed, 20)}"


def _openai_request_id(seed: str) -> str:
    return "req_" + hex_id(derive(seed, "request"), 32)


def _groq_request_id(seed: str) -> str:
    return "req_" + base62(derive(seed, "request"), 26).lower()


def _mistral_request_id(seed: str) -> str:
    return uuid_like(derive(seed, "request"))


# --- OpenAI: the reference --------------------------------------------------------------------------------------

# The request fields of `CompletionCreateParams` [oai-py types/chat/completion_create_params.py; OAS], and `stream`.
OPENAI_FIELDS: Final = frozenset(
    {
        "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
        "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model", "moderation", "n",
        "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key", "prompt_cache_options",
        "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed",
        "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
        "top_logprobs", "top_p", "user", "verbosity", "web_search_options",
    }
)  # fmt: skip

_OPENAI_KEYS = "https://platform.openai.com/account/api-keys"
OPENAI_AUTH: Final = Auth(
    header="authorization",
    scheme="Bearer",
    # continuedev/continue#10931 quotes this 401 verbatim.
    missing=Refusal(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer"
        " auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're"
        f" accessing the API from your browser and are prompted for a username and password. You can obtain an API"
        f" key from {_OPENAI_KEYS}.",
    ),
    # SevaSk/ecoute#163: 401 {'error': {'message': 'Incorrect API key provided: ...', 'code': 'invalid_api_key'}}
    invalid=Refusal(
        401, f"Incorrect API key provided: sk-***. You can find your API key at {_OPENAI_KEYS}.", code="invalid_api_key"
    ),
    source="[oai-py _client.py] Authorization: Bearer; bodies from continue#10931, ecoute#163",
)


def _openai_missing(name: str) -> Refusal:
    return Refusal(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def _openai_empty() -> Refusal:
    return Refusal(
        400,
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        param="messages",
        code="empty_array",
    )


def _openai_unknown_field(name: str, value: Any) -> Refusal:
    return Refusal(400, f"Unrecognized request argument supplied: {name}")


def _openai_unknown_model(model: str) -> Refusal:
    return Refusal(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")


def _openai_tool_choice(value: Any) -> Refusal:
    return Refusal(
        400,
        f"Invalid value: '{value}'. Supported values are: 'none', 'auto', and 'required'.",
        param="tool_choice",
        code="invalid_value",
    )


def _openai_tool_name(index: int, name: str) -> Refusal:
    return Refusal(
        400,
        f"Invalid 'tools[{index}].function.name': string does not match pattern. Expected a string that matches"
        " the pattern '^[a-zA-Z0-9_-]+$'.",
        param=f"tools[{index}].function.name",
        code="invalid_value",
    )


def _openai_unanswered(index: int, ids: list[str]) -> Refusal:
    return Refusal(
        400,
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each"
        f" 'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(ids)}",
        param=f"messages.[{index}].role",
    )


def _openai_orphan(index: int, call_id: str) -> Refusal:
    return Refusal(
        400,
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
        param=f"messages.[{index}].role",
    )


def _openai_content_null(index: int) -> Refusal:
    return Refusal(
        400, "Invalid value for 'content': expected a string, got null.", param=f"messages.[{index}].content"
    )


_TOOL_PAIRING_SOURCE = "BerriAI/litellm#10083, agno-agi/agno#3105 (unanswered tool_call_ids); OpenAI answer text"


def _openai_tool_rules() -> tuple[Rule, ...]:
    return (
        ToolNames(_openai_tool_name),
        ToolResultIds(_openai_orphan, source=_TOOL_PAIRING_SOURCE),
        ToolCallsAnswered(_openai_unanswered, _openai_orphan, source=_TOOL_PAIRING_SOURCE),
    )


OPENAI_REQUIRED: Final = RequiredFields(_openai_missing, _openai_empty)
_REASONING_MODELS: Final = _names.OPENAI_REASONING.family("o3-mini", "o4-mini", "gpt-5-mini")
_NO_STOP_MODELS: Final = _names.OPENAI_NO_STOP.family("o1-mini")


def _openai_unsupported(name: str) -> Refusal:
    return Refusal(
        400,
        f"Unsupported parameter: '{name}' is not supported with this model.",
        param=name,
        code="unsupported_parameter",
    )


def _openai_default_only(name: str, value: Any) -> Refusal:
    return Refusal(
        400,
        f"Unsupported value: '{name}' does not support {value} with this model. Only the default (1) value is"
        " supported.",
        param=name,
        code="unsupported_value",
    )


def _openai_untyped_part(index: int, part: int) -> Refusal:
    where = f"messages[{index}].content[{part}].type"
    return Refusal(400, f"Missing required parameter: '{where}'.", param=where, code="missing_required_parameter")


def _openai_text_only(index: int, part: int) -> Refusal:
    return Refusal(
        400,
        "Invalid content type. image_url is only supported by certain models.",
        param=f"messages.[{index}].content.[{part}].type",
        code="invalid_value",
    )


OPENAI_CHAT = ChatAlias(
    name="openai-chat",
    base_url="https://api.openai.com/v1",
    auth=OPENAI_AUTH,
    errors=OPENAI_ERRORS,
    models=_names.OPENAI.family("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", *_REASONING_MODELS),
    rules=(
        OPENAI_REQUIRED,
        KnownFields(OPENAI_FIELDS, _openai_unknown_field, source="[OAS] CreateChatCompletionRequest (closed schema)"),
        KnownModel(_openai_unknown_model, source="OpenAI 404 model_not_found answer; names: " + _names.OPENAI.source),
        StreamOptionsNeedStream(
            lambda: Refusal(
                400,
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            ),
            source="[oai-py] completion_create_params: 'Only set this when you set stream: true'",
        ),
        MaxTokensField(
            _REASONING_MODELS,
            lambda: Refusal(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model."
                " Use 'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            ),
            source="ComfyUI-Griptape#312, vscode-copilot-release#8065; [OAS] max_tokens deprecated",
        ),
        RejectedFields(
            ("stop",),
            _openai_unsupported,
            source=_names.OPENAI_NO_STOP.source,
            models=_NO_STOP_MODELS,
        ),
        DefaultSamplingOnly(
            _REASONING_MODELS,
            ("temperature", "top_p"),
            _openai_default_only,
            source=_names.OPENAI_REASONING.source + " (reasoning models: only the default sampling)",
        ),
        TypedContentParts(
            _openai_untyped_part,
            source="crewAIInc/crewAI lib/crewai/tests/cassettes/test_custom_llm_within_crew.yaml (400 for a part"
            " without type)",
        ),
        TextOnlyModels(
            _names.OPENAI_TEXT_ONLY.family("gpt-3.5-turbo", "o3-mini"),
            _openai_text_only,
            source=_names.OPENAI_TEXT_ONLY.source + " (input: text only)",
        ),
        ToolChoiceValues(frozenset({"none", "auto", "required"}), _openai_tool_choice, source="[OAS] tool_choice"),
        AssistantContentRequired(_openai_content_null, source="vercel/ai PR #14950"),
        *_openai_tool_rules(),
    ),
    completion_id=_openai_id,
    tool_call_id=_openai_call_id,
    request_id=_openai_request_id,
    system_fingerprint=True,
    usage_extras=lambda prompt: {
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    rate_limit=Refusal(
        429, "Rate limit reached for requests. Please try again in 1s.", "requests", "rate_limit_exceeded"
    ),
    server_error=Refusal(
        500, "The server had an error while processing your request. Sorry about that!", "server_error"
    ),
    overloaded=Refusal(503, "The engine is currently overloaded, please try again later.", "server_error"),
    sources={
        "errors": OPENAI_ERRORS.source,
        "stream": "[OAS] ChatCompletionChunk; usage-only chunk with stream_options.include_usage",
        "x-request-id": "apidog mirror of the OpenAI docs",
    },
)

# --- Groq -------------------------------------------------------------------------------------------------------

_GROQ_DOCS = "console.groq.com/docs/openai"
# [groq-py types/chat/completion_create_params.py], plus stream and stream_options (accepted today:
# Portkey-AI/gateway#1338, withceleste/celeste-python#351; rejected in 2024: vercel/ai PR #1578).
GROQ_FIELDS: Final = frozenset(
    {
        "citation_options", "compound_custom", "disable_tool_validation", "documents", "exclude_domains",
        "frequency_penalty", "function_call", "functions", "include_domains", "include_reasoning", "logit_bias",
        "logprobs", "max_completion_tokens", "max_tokens", "messages", "metadata", "model", "n",
        "parallel_tool_calls", "presence_penalty", "reasoning_effort", "reasoning_format", "response_format",
        "search_settings", "seed", "service_tier", "stop", "store", "stream", "stream_options", "temperature",
        "tool_choice", "tools", "top_logprobs", "top_p", "user",
    }
)  # fmt: skip

_GROQ_KEY = Refusal(401, "Invalid API Key", code="invalid_api_key")

GROQ = ChatAlias(
    name="groq",
    base_url="https://api.groq.com/openai/v1",
    auth=Auth("authorization", "Bearer", _GROQ_KEY, _GROQ_KEY, source=f"{_GROQ_DOCS}; groq-py _client.py"),
    errors=GROQ_ERRORS,
    models=_names.GROQ.family(
        "llama-3.3-70b-versatile",
        "llama-3.1-8b-instant",
        "openai/gpt-oss-20b",
        "openai/gpt-oss-120b",
    ),
    rules=(
        OPENAI_REQUIRED,
        KnownFields(
            GROQ_FIELDS,
            lambda name, value: Refusal(400, f"property '{name}' is unsupported"),
            source="fanenr/chatbot#21, vercel/ai PR #1578: \"property 'x' is unsupported\"",
        ),
        KnownModel(_openai_unknown_model, source="Groq 404 model_not_found (OpenAI-compatible answer)"),
        RejectedFields(
            ("logprobs", "logit_bias", "top_logprobs"),
            lambda name: Refusal(400, f"`{name}` is not supported with this model", param=name),
            source=f"{_GROQ_DOCS} (400 if supplied); wording from groq/groq-python#25",
        ),
        SingleChoice(
            lambda n: Refusal(400, "'n' : number must be at most 1 (simulator text)", param="n"),
            source=f"{_GROQ_DOCS}: n must be 1",
        ),
        RejectedMessageFields(
            ("name",),
            lambda i, role, name: Refusal(
                400,
                f"'messages.{i}' : for 'role:{role}' the following must be satisfied"
                f"[('messages.{i}.{name}' : property '{name}' is unsupported)] (simulator text)",
            ),
            source=f"{_GROQ_DOCS}: messages[].name is not supported",
        ),
        ToolChoiceValues(frozenset({"none", "auto", "required"}), _openai_tool_choice, source="[groq-py] tool_choice"),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_chatcmpl,
    tool_call_id=_openai_call_id,
    request_id=_groq_request_id,
    stream=StreamStyle(usage="x_groq", source="[groq-py] chat_completion_chunk.py: x_groq.usage in the final chunk"),
    body_extras=lambda seed: {"x_groq": {"id": _groq_request_id(seed)}},
    usage_extras=lambda prompt: {"queue_time": 0.01, "prompt_time": 0.001, "completion_time": 0.01, "total_time": 0.02},
    rate_limit=Refusal(
        429,
        "Rate limit reached for model in organization on tokens per minute (TPM). Please try again in 1s.",
        "tokens",
        "rate_limit_exceeded",
    ),
    sources={"usage": "[groq-py] completion_usage.py: queue_time, prompt_time, completion_time, total_time"},
)

# --- Together ---------------------------------------------------------------------------------------------------

TOGETHER = ChatAlias(
    name="together",
    base_url="https://api.together.xyz/v1",
    auth=OPENAI_AUTH,
    errors=OPENAI_ERRORS,
    models=_names.TOGETHER.family(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo",
        "Qwen/Qwen2.5-72B-Instruct-Turbo",
    ),
    rules=(
        OPENAI_REQUIRED,
        KnownModel(
            lambda m: Refusal(404, f"Unable to access model {m}. (simulator text)", code="model_not_found"),
            source="OpenAI-compatible 404 (simulator text)",
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_id,
    tool_call_id=_openai_call_id,
    # finish_reason `eos` for a natural end [together-python types/common.py; openai/openai-dotnet PR #267].
    stop_finish="eos",
    sources={"finish_reason": "together-python src/together/types/common.py: FinishReason length|stop|eos|tool_calls"},
)

# --- Mistral ------------------------------------------------------------------------------------------------------

# [mistral-py client/models/chatcompletionrequest.py] ChatCompletionRequest / ChatCompletionStreamRequest fields.
MISTRAL_FIELDS: Final = frozenset(
    {
        "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
        "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "min_tokens",
        "repetition_penalty", "top_k", "logprobs", "top_logprobs", "prompt_logprobs", "top_prompt_logprobs", "n",
        "prediction", "parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key",
        "service_tier", "safe_prompt",
    }
)  # fmt: skip

# Per-role message fields [mistral-py models: SystemMessage, UserMessage, AssistantMessage, ToolMessage].
MISTRAL_MESSAGE_FIELDS: Final = {
    "system": frozenset({"role", "content"}),
    "user": frozenset({"role", "content"}),
    "assistant": frozenset({"role", "content", "tool_calls", "prefix"}),
    "tool": frozenset({"role", "content", "tool_call_id", "name"}),
}

_EXTRA_FORBIDDEN = "nomtek/mistralai_client_dart#44, Gage-Technologies/mistral-go#2 (422 extra_forbidden)"


def _mistral_422(loc: list[Any], kind: str, msg: str, value: Any = None) -> Refusal:
    detail = {"type": kind, "loc": loc, "msg": msg, "input": value}
    return Refusal(422, {"detail": [detail]})


def _mistral_order(after: str, before: str) -> Refusal:
    return Refusal(400, f"Unexpected role '{after}' after role '{before}'", "invalid_request_message_order", "3230")


_MISTRAL_KEY = Refusal(401, "Unauthorized", shape=DETAIL_ERRORS)

MISTRAL = ChatAlias(
    name="mistral",
    base_url="https://api.mistral.ai/v1",
    auth=Auth("authorization", "Bearer", _MISTRAL_KEY, _MISTRAL_KEY, source="agent-zero#539: 401 {'detail': ...}"),
    errors=MISTRAL_ERRORS,
    models=_names.MISTRAL.family(
        "mistral-small-latest",
        "mistral-medium-latest",
        "mistral-large-latest",
        "ministral-8b-latest",
        "open-mistral-nemo",
        "codestral-latest",
    ),
    rules=(
        RequiredFields(
            lambda name: _mistral_422(["body", name], "missing", "Field required"),
            lambda: Refusal(400, "Conversation must have at least one message (simulator text)"),
            source="[mistral-py] ChatCompletionRequest: model and messages required (pydantic 422 shape)",
        ),
        KnownFields(
            MISTRAL_FIELDS,
            lambda name, value: _mistral_422(
                ["body", name], "extra_forbidden", "Extra inputs are not permitted", value
            ),
            source=f"{_EXTRA_FORBIDDEN}; fields from [mistral-py] chatcompletionrequest.py",
        ),
        KnownModel(
            lambda m: Refusal(400, f"Invalid model: {m}", "invalid_model", "1500"),
            source="tmc/langchaingo#1233, mistralai/mistral-vibe#617: 400 invalid_model, code 1500",
        ),
        AllowedMessageFields(
            MISTRAL_MESSAGE_FIELDS,
            lambda i, role, name: _mistral_422(
                ["body", "messages", i, role, name], "extra_forbidden", "Extra inputs are not permitted"
            ),
            source=f"{_EXTRA_FORBIDDEN}; crush#1590 (assistant.reasoning_content)",
        ),
        ToolChoiceValues(
            frozenset({"auto", "none", "any", "required"}),
            lambda v: _mistral_422(
                ["body", "tool_choice"], "enum", "Input should be 'auto', 'none', 'any' or 'required'", v
            ),
            source="[mistral-py] ToolChoiceEnum auto|none|any|required",
        ),
        ToolCallIdFormat(
            re.compile(r"[a-zA-Z0-9]{9}"),
            lambda call_id: Refusal(
                400,
                f"Tool call id was {call_id} but must be a-z, A-Z, 0-9, with a length of 9.",
                "invalid_function_call",
                "3280",
            ),
            source="editor-code-assistant/eca#233, nearai/ironclaw#1241 (type invalid_function_call, code 3280)",
        ),
        ToolResultIds(
            lambda i, call_id: Refusal(400, f"Tool call id {call_id} has no matching call (simulator text)"),
            source="simulator text; Mistral pairs calls and results (camel-ai/camel#1467)",
        ),
        ToolCallsAnswered(
            lambda i, ids: Refusal(400, "Not the same number of function calls and responses"),
            lambda i, call_id: Refusal(400, "Not the same number of function calls and responses"),
            source="camel-ai/camel#1467",
        ),
        RoleOrder(
            follows={"tool": frozenset({"tool", "assistant"}), "user": frozenset({"user", "assistant", "system"})},
            last=frozenset({"user", "tool"}),
            refuse_order=_mistral_order,
            refuse_last=lambda role: Refusal(
                400,
                f"Expected last role User or Tool (or Assistant with prefix True) for serving but got {role}",
                "invalid_request_message_order",
                "3230",
            ),
            source="datapizza-ai#98, zed#37021 (code 3230); 0xPlaygrounds/rig PR #1130 (last role)",
        ),
    ),
    completion_id=_mistral_id,
    tool_call_id=_mistral_call_id,
    max_tokens_fields=("max_tokens",),
    tool_call_content="",
    refusal_field=False,
    request_id_header="mistral-correlation-id",
    request_id=_mistral_request_id,
    stream=StreamStyle(
        usage="last_chunk",
        tool_calls="whole",
        source="Mistral streams usage on its last chunk and each tool call whole [mistral-py CompletionChunk.usage]",
    ),
    rate_limit=Refusal(429, "Requests rate limit exceeded (simulator text)", "rate_limited", "1300"),
    sources={"request-id": "karthink/gptel#1203: mistral-correlation-id header"},
)

# --- DeepSeek -----------------------------------------------------------------------------------------------------

_DEEPSEEK_KEY = Refusal(401, "Authentication Fails (no such user)", "authentication_error")

DEEPSEEK = ChatAlias(
    name="deepseek",
    base_url="https://api.deepseek.com",
    auth=Auth("authorization", "Bearer", _DEEPSEEK_KEY, _DEEPSEEK_KEY, source="deepseek-ai/DeepSeek-V2#9 (401 text)"),
    errors=OPENAI_ERRORS,
    models=_names.DEEPSEEK.family("deepseek-chat", "deepseek-reasoner"),
    rules=(
        OPENAI_REQUIRED,
        KnownModel(
            lambda m: Refusal(400, "Model Not Exist", code="invalid_request_error"),
            source="api-docs.deepseek.com/quick_start/error_codes (400 invalid format); text as clients quote it",
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_id,
    tool_call_id=_deepseek_call_id,
    # Only `max_tokens` is a DeepSeek field; any-llm rewrites max_completion_tokens [any-llm deepseek.py].
    max_tokens_fields=("max_tokens",),
    system_fingerprint=True,
    usage_extras=lambda prompt: {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": prompt},
    overloaded=Refusal(503, "Server Overloaded (simulator text)", "server_error"),
    sources={"usage": "any-llm deepseek/utils.py: prompt_cache_hit_tokens / prompt_cache_miss_tokens"},
)

# --- Portkey ------------------------------------------------------------------------------------------------------

_PORTKEY_HEADERS = "portkey.ai/docs/api-reference/inference-api/headers"

PORTKEY = ChatAlias(
    name="portkey",
    base_url="https://api.portkey.ai/v1",
    auth=Auth(
        "x-portkey-api-key",
        "",
        Refusal(401, "Portkey API Key Not Found (simulator text)", shape=PORTKEY_ERRORS),
        Refusal(401, "Invalid API Key (simulator text)", shape=PORTKEY_ERRORS),
        source=f"{_PORTKEY_HEADERS}: x-portkey-api-key required",
    ),
    errors=OPENAI_ERRORS,  # errors from the provider behind the gateway come through in its (OpenAI's) shape
    models=_names.OPENAI.family("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"),
    rules=(
        RequiredHeaders(
            ("x-portkey-provider", "x-portkey-virtual-key", "x-portkey-config"),
            lambda: Refusal(
                400, "Either x-portkey-config or x-portkey-provider header is required", shape=PORTKEY_ERRORS
            ),
            source=f"mlflow/mlflow#24391 (answer); {_PORTKEY_HEADERS} (provider, virtual key or config)",
        ),
        OPENAI_REQUIRED,
        KnownModel(_openai_unknown_model, source="the routed provider's (OpenAI's) 404"),
        *_openai_tool_rules(),
    ),
    completion_id=_openai_id,
    tool_call_id=_openai_call_id,
)

# --- OpenRouter ---------------------------------------------------------------------------------------------------

OPENROUTER = ChatAlias(
    name="openrouter",
    base_url="https://openrouter.ai/api/v1",
    auth=Auth(
        "authorization",
        "Bearer",
        Refusal(401, "No auth credentials found"),
        Refusal(401, "User not found."),
        source="RooCodeInc/Roo-Code#3161 (401 No auth credentials found); openrouter.ai/docs/errors",
    ),
    errors=OPENROUTER_ERRORS,
    models=_names.OPENROUTER.family(
        "openai/gpt-4o-mini",
        "openai/gpt-4o",
        "anthropic/claude-3.5-sonnet",
        "meta-llama/llama-3.3-70b-instruct",
        "google/gemini-2.5-flash",
        "mistralai/mistral-small",
    ),
    rules=(
        OPENAI_REQUIRED,
        KnownModel(
            lambda m: Refusal(400, f"{m} is not a valid model ID"),
            source="RightNow-AI/openfang#697, OpenRouterTeam/openrouter-examples#74 (400, numeric code)",
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_openrouter_id,
    tool_call_id=_openai_call_id,
    native_finish_reason=True,
    body_extras=lambda seed: {"provider": "OpenAI"},
    stream=StreamStyle(
        comments=(": OPENROUTER PROCESSING",),
        source="openrouter.ai/docs/api-reference/streaming: keep-alive comment lines",
    ),
    # An error after the stream started: a chunk with a top-level error and finish_reason "error".
    stream_error=lambda: {"error": {"code": 502, "message": "Provider returned error"}},
    rate_limit=Refusal(429, "Rate limit exceeded (simulator text)"),
    server_error=Refusal(500, "Internal Server Error (simulator text)"),
    overloaded=Refusal(503, "No available providers for this model (simulator text)"),
    sources={"errors": "openrouter.ai/docs/errors: codes 400 401 402 403 408 429 502 503; errors inside 200 streams"},
)

# --- Fireworks ----------------------------------------------------------------------------------------------------

FIREWORKS = ChatAlias(
    name="fireworks",
    base_url="https://api.fireworks.ai/inference/v1",
    auth=OPENAI_AUTH,
    errors=OPENAI_ERRORS,
    models=_names.FIREWORKS.family(
        "accounts/fireworks/models/llama-v3p3-70b-instruct",
        "accounts/fireworks/models/qwen2p5-72b-instruct",
        "accounts/fireworks/models/deepseek-v3",
    ),
    rules=(
        OPENAI_REQUIRED,
        KnownModel(
            lambda m: Refusal(404, "Model not found, inaccessible, and/or not deployed", code="NOT_FOUND"),
            source="model ids accounts/fireworks/models/<name> [litellm fireworks_ai]; 404 (simulator text)",
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_id,
    tool_call_id=_openai_call_id,
    sources={"response_format": "litellm fireworks_ai: {type: json_object, schema} accepted"},
)

# --- xAI ------------------------------------------------------------------------------------------------------------

_XAI_INVALID = "Client specified an invalid argument"

XAI = ChatAlias(
    name="xai",
    base_url="https://api.x.ai/v1",
    auth=Auth(
        "authorization",
        "Bearer",
        Refusal(401, "No API key provided (simulator text)", _XAI_INVALID),
        # xAI answers a wrong key with 400 [continuedev/continue#10778, i-am-bee/beeai-framework#447].
        Refusal(
            400, "Incorrect API key provided: xa***. You can obtain an API key from https://console.x.ai.", _XAI_INVALID
        ),
        source="beeai-framework#447, continue#10778",
    ),
    errors=XAI_ERRORS,
    models=_names.XAI.family("grok-3-mini", "grok-3", "grok-4", "grok-code-fast-1"),
    rules=(
        RequiredFields(
            lambda name: Refusal(400, f"Missing field: {name} (simulator text)", _XAI_INVALID),
            lambda: Refusal(400, "messages must not be empty (simulator text)", _XAI_INVALID),
        ),
        KnownModel(
            lambda m: Refusal(
                404,
                f"The model {m} does not exist or your team does not have access to it.",
                "Some requested entity was not found",
            ),
            source="xAI error shape [beeai-framework#447]; text (simulator text)",
        ),
        RejectedFields(
            ("stop",),
            lambda name: Refusal(400, f"Argument not supported on this model: {name} (simulator text)", _XAI_INVALID),
            source="litellm xai/chat/transformation.py: stop unsupported on grok-3-mini / grok-4 / grok-code-fast",
            models=_names.XAI_NO_STOP.family("grok-3-mini", "grok-4", "grok-code-fast-1"),
        ),
        RejectedFields(
            ("frequency_penalty", "presence_penalty"),
            lambda name: Refusal(400, f"Argument not supported on this model: {name} (simulator text)", _XAI_INVALID),
            source="litellm xai/chat/transformation.py: penalties unsupported on grok-4 / grok-code-fast",
            models=_names.XAI_NO_PENALTIES.family("grok-4", "grok-code-fast-1"),
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_id,
    tool_call_id=_openai_call_id,
    tool_finish="",  # finish_reason "" on tool-call turns [litellm xai/chat/transformation.py]
    stream=StreamStyle(finish_with_tools=""),
)

# --- Cerebras -----------------------------------------------------------------------------------------------------

_CEREBRAS_FORMAT = "wrong_api_format"


def _cerebras_unsupported(path: str) -> Refusal:
    return Refusal(400, f"{path}: property '{path}' is unsupported", param="validation_error", code=_CEREBRAS_FORMAT)


_CEREBRAS_KEY = Refusal(401, "Wrong API Key", param="api_key", code="wrong_api_key")

CEREBRAS = ChatAlias(
    name="cerebras",
    base_url="https://api.cerebras.ai/v1",
    auth=Auth("authorization", "Bearer", _CEREBRAS_KEY, _CEREBRAS_KEY, source="Cerebras 401 (simulator text)"),
    errors=CEREBRAS_ERRORS,
    models=_names.CEREBRAS.family("llama-3.3-70b", "llama3.1-8b", "qwen-3-32b", "gpt-oss-120b"),
    rules=(
        OPENAI_REQUIRED,
        KnownFields(
            OPENAI_FIELDS,
            lambda name, value: _cerebras_unsupported(f"body.{name}"),
            source="anomalyco/opencode#6648: \"body.x: property 'body.x' is unsupported\"",
        ),
        KnownModel(
            lambda m: Refusal(
                404,
                f"Model {m} does not exist or you do not have access to it.",
                "not_found_error",
                "model_not_found",
                "model",
            ),
            source="Cerebras flat error shape [free-claude-code#1136]; text (simulator text)",
        ),
        RejectedFields(
            ("frequency_penalty", "logit_bias", "presence_penalty", "parallel_tool_calls", "service_tier"),
            lambda name: _cerebras_unsupported(f"body.{name}"),
            source="inference-docs.cerebras.ai/resources/openai via pydantic-ai cerebras.py",
        ),
        RejectedMessageFields(
            ("reasoning_content",),
            lambda i, role, name: _cerebras_unsupported(f"messages.{i}.{role}.{name}"),
            source="Alishahryar1/free-claude-code#1136",
            roles=frozenset({"assistant"}),
            example="thinking",
        ),
        ToolChoiceValues(
            frozenset({"auto", "none"}),
            lambda v: _cerebras_unsupported("body.tool_choice"),
            source="hexdocs.pm/req_llm cerebras (third-party): tool_choice only auto|none",
            named=False,
        ),
        *_openai_tool_rules(),
    ),
    completion_id=_uuid_chatcmpl,
    tool_call_id=_openai_call_id,
)

# --- Perplexity ---------------------------------------------------------------------------------------------------

PERPLEXITY = ChatAlias(
    name="perplexity",
    base_url="https://api.perplexity.ai",
    auth=Auth(
        "authorization",
        "Bearer",
        Refusal(401, "Missing API key (simulator text)", "invalid_api_key"),
        Refusal(401, "Invalid API key (simulator text)", "invalid_api_key"),
        source="Bearer auth [any-llm perplexity]; texts (simulator text)",
    ),
    errors=PERPLEXITY_ERRORS,
    models=_names.PERPLEXITY.family(
        "sonar",
        "sonar-pro",
        "sonar-reasoning",
        "sonar-reasoning-pro",
        "sonar-deep-research",
    ),
    rules=(
        RequiredFields(
            lambda name: Refusal(400, f"Field required: {name} (simulator text)", "invalid_message"),
            lambda: Refusal(400, "messages must not be empty (simulator text)", "invalid_message"),
        ),
        KnownModel(
            lambda m: Refusal(
                400,
                f"Invalid model '{m}'. Permitted models can be found in the documentation at"
                " https://docs.perplexity.ai/guides/model-cards.",
                "invalid_model",
            ),
            source="Perplexity answer as clients quote it",
        ),
        RejectedFields(
            ("tools", "tool_choice"),
            lambda name: Refusal(400, f"'{name}' is not supported (simulator text)", "invalid_parameter"),
            source="litellm perplexity/chat/transformation.py lists no tools / tool_choice",
        ),
        Alternation(
            lambda: Refusal(
                400,
                "After the (optional) system message(s), user and assistant roles should be alternating.",
                "invalid_message",
            ),
            source="perplexityai/api-discussion#265",
        ),
    ),
    completion_id=_uuid_id,
    tool_call_id=_openai_call_id,
    body_extras=lambda seed: {"citations": [], "search_results": []},
    sources={"citations": "litellm perplexity/chat/transformation.py: citations in the answer"},
)

# --- Gemini (OpenAI-compatible endpoint) --------------------------------------------------------------------------


def _google(status: int, message: str, kind: str) -> Refusal:
    return Refusal(status, message, kind)


GEMINI = ChatAlias(
    name="gemini",
    base_url="https://generativelanguage.googleapis.com/v1beta/openai",
    auth=Auth(
        "authorization",
        "Bearer",
        _google(
            401, "Method doesn't allow unregistered callers. Please use API Key. (simulator text)", "UNAUTHENTICATED"
        ),
        # A wrong key is a 400 INVALID_ARGUMENT (API_KEY_INVALID) [continuedev/continue#8516].
        _google(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"),
        source="continuedev/continue#8516 (400 API key not valid); hermes-agent#62259 (Bearer on /v1beta/openai)",
    ),
    errors=GEMINI_ERRORS,
    models=_names.GEMINI.family("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash"),
    rules=(
        RequiredFields(
            lambda name: _google(400, f"Missing required field: {name} (simulator text)", "INVALID_ARGUMENT"),
            lambda: _google(400, "contents is not specified (simulator text)", "INVALID_ARGUMENT"),
        ),
        KnownFields(
            OPENAI_FIELDS - {"web_search_options"},
            lambda name, value: _google(
                400, f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.', "INVALID_ARGUMENT"
            ),
            source="FuzzAnything/PromptFuzz#42, Simpleyyt/ai-manus#101: Unknown name -> 400",
        ),
        KnownModel(
            lambda m: _google(
                404,
                f"models/{m} is not found for API version v1main, or is not supported for generateContent.",
                "NOT_FOUND",
            ),
            source="Gemini NOT_FOUND (text as clients quote it)",
        ),
        ToolNames(lambda i, name: _google(400, f"Invalid function name: {name} (simulator text)", "INVALID_ARGUMENT")),
        ToolResultIds(
            lambda i, call_id: _google(
                400, f"No function call matches id {call_id} (simulator text)", "INVALID_ARGUMENT"
            ),
            source="simulator text in Gemini's shape",
        ),
        ToolCallsAnswered(
            lambda i, ids: _google(
                400,
                "Please ensure that the number of function response parts is equal to the"
                " number of function call parts of the function call turn.",
                "INVALID_ARGUMENT",
            ),
            lambda i, call_id: _google(
                400, f"No function call matches id {call_id} (simulator text)", "INVALID_ARGUMENT"
            ),
            source="Gemini function-call pairing answer as clients quote it",
        ),
    ),
    completion_id=_openai_id,
    tool_call_id=lambda seed, i: "function-call-" + str(int(derive(seed, "call", i)[:12], 16)),
    stream=StreamStyle(
        tool_calls="whole_no_index",
        finish_with_tools="stop",
        source="googleapis/python-genai#2868: streamed tool-call deltas omit index; finish 'stop' while streaming",
    ),
    stream_error=lambda: {"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}},
    rate_limit=_google(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
    server_error=_google(500, "An internal error has occurred.", "INTERNAL"),
    overloaded=_google(503, "The model is overloaded. Please try again later.", "UNAVAILABLE"),
    sources={"503": "musistudio/claude-code-router#1011: 503 UNAVAILABLE 'The model is overloaded'"},
)

# --- local servers: no key, any model -----------------------------------------------------------------------------


def _local(name: str, base_url: str, source: str) -> ChatAlias:
    return ChatAlias(
        name=name,
        base_url=base_url,
        auth=Auth(None, "", None, None, source="local server: no key (or one the server ignores)"),
        errors=OPENAI_ERRORS,
        models=None,
        rules=(OPENAI_REQUIRED,),
        completion_id=_openai_id,
        tool_call_id=_openai_call_id,
        sources={"server": source},
    )


def _llamacpp_timings(prompt_tokens: int) -> dict[str, Any]:
    """llama.cpp's per-request `timings` object, with its measured keys (values are plausible, not measured)."""
    return {
        "timings": {
            "cache_n": 0,
            "prompt_n": prompt_tokens,
            "prompt_ms": 0.5,
            "prompt_per_token_ms": 0.5,
            "prompt_per_second": 2000.0,
            "predicted_n": 20,
            "predicted_ms": 3.5,
            "predicted_per_token_ms": 0.175,
            "predicted_per_second": 5714.3,
        }
    }


LOCAL_SERVERS: Final = (
    # vLLM since 0.10.1 answers errors as {"error": {...}} [vllm-project/vllm PR #22099]; tools assume the server
    # runs with --enable-auto-tool-choice [docs.vllm.ai tool_calling].
    _local("vllm", "http://localhost:8000/v1", "docs.vllm.ai/en/latest/features/tool_calling"),
    _local("lmstudio", "http://localhost:1234/v1", "lmstudio.ai/docs/api/openai-api"),
    _local("localai", "http://localhost:8080/v1", "localai.io/docs/features/openai-functions"),
    replace(
        _local("llamacpp", "http://127.0.0.1:8080/v1", "github.com/ggml-org/llama.cpp tools/server/README.md"),
        # The answer's shape as llama-server sends it (measured against llama-cpp-python 0.3.36, llama.cpp commit
        # 0c1e570): no refusal or logprobs keys, a build fingerprint, cached-token details, llama.cpp's own
        # `timings` on the answer and on the usage chunk; the first delta's content is null and chunks before the
        # usage chunk carry no `usage` key.
        refusal_field=False,
        logprobs_field=False,
        system_fingerprint=True,
        chunk_usage_null=False,
        first_delta_content=None,
        usage_extras=lambda prompt: {"prompt_tokens_details": {"cached_tokens": 0}},
        body_extras=lambda seed: _llamacpp_timings(1),
        usage_chunk_extras=_llamacpp_timings,
        sources={
            "server": "github.com/ggml-org/llama.cpp tools/server/README.md",
            "shape": "measured against llama-server 0.3.36 / llama.cpp commit 0c1e570",
        },
    ),
    _local("chat_completions", "http://localhost/v1", "any OpenAI-compatible server (reference behaviour)"),
)

CHAT_ALIASES: Final[tuple[ChatAlias, ...]] = (
    OPENAI_CHAT,
    GROQ,
    TOGETHER,
    MISTRAL,
    DEEPSEEK,
    PORTKEY,
    OPENROUTER,
    FIREWORKS,
    XAI,
    CEREBRAS,
    PERPLEXITY,
    GEMINI,
    *LOCAL_SERVERS,
)
