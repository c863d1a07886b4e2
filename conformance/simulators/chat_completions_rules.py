"""The vocabulary the Chat Completions alias rows are written in: error shapes, refusals, rules and the row type.

A `Rule` looks at an incoming request and returns a `Refusal` (status, message, type, code, param) or nothing; the
alias's `ErrorShape` renders a refusal into that provider's body. Every rule carries the source it comes from and
can build a request that breaks it (`violate`), so tests prove each rule over HTTP without hand-writing a case per
alias. Message texts are the providers' own where the source quotes them; elsewhere they say so ("simulator text").
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "Auth",
    "ChatAlias",
    "ErrorShape",
    "Incoming",
    "Refusal",
    "Rule",
    "StreamStyle",
]

JSON = Any


# --- refusals and how each provider shapes them -----------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """What went wrong, before the provider's shape is applied. `message` may be structured (Mistral's 422)."""

    status: int
    message: Any
    type: str | None = "invalid_request_error"
    code: str | int | None = None
    param: str | None = None
    # Some answers come from a gateway in front of the provider, in the gateway's own shape (Portkey).
    shape: ErrorShape | None = None


_GOOGLE_STATUS: Final = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    529: "UNAVAILABLE",
}


@dataclass(frozen=True)
class ErrorShape:
    """How one provider writes an error body. `render` is pure: Refusal -> JSON value."""

    name: str
    render: Callable[[Refusal], JSON]
    source: str


def _openai(r: Refusal) -> JSON:
    return {"error": {"message": r.message, "type": r.type, "param": r.param, "code": r.code}}


def _groq(r: Refusal) -> JSON:
    inner: dict[str, Any] = {"message": r.message, "type": r.type}
    if r.param is not None:
        inner["param"] = r.param
    if r.code is not None:
        inner["code"] = r.code
    return {"error": inner}


def _flat(r: Refusal) -> JSON:
    return {"object": "error", "message": r.message, "type": r.type, "param": r.param, "code": r.code}


def _cerebras(r: Refusal) -> JSON:
    return {"message": r.message, "type": r.type, "param": r.param, "code": r.code}


def _google(r: Refusal) -> JSON:
    # A Google status name (INVALID_ARGUMENT, ...) given as the type wins; otherwise it follows the HTTP status.
    status = r.type if r.type and r.type.isupper() else _GOOGLE_STATUS.get(r.status, "UNKNOWN")
    return [{"error": {"code": r.status, "message": r.message, "status": status}}]


def _openrouter(r: Refusal) -> JSON:
    return {"error": {"message": r.message, "code": r.status}}


def _xai(r: Refusal) -> JSON:
    return {"code": r.type, "error": r.message}


def _numeric_code(r: Refusal) -> JSON:
    return {"error": {"message": r.message, "type": r.type, "code": r.status}}


def _portkey(r: Refusal) -> JSON:
    return {"status": "failure", "message": r.message}


def _detail(r: Refusal) -> JSON:
    return {"detail": r.message}


OPENAI_ERRORS: Final = ErrorShape("openai", _openai, "openai-openapi ErrorResponse: error{message,type,param,code}")
GROQ_ERRORS: Final = ErrorShape(
    "groq", _groq, "fanenr/chatbot#21: {'error': {'message', 'type'}}, no param; code when there is one"
)
MISTRAL_ERRORS: Final = ErrorShape(
    "mistral", _flat, "magentic#276, datapizza-ai#98: flat {object:'error', message, type, param, code}"
)
CEREBRAS_ERRORS: Final = ErrorShape(
    "cerebras", _cerebras, "free-claude-code#1136: flat {message, type, param, code:'wrong_api_format'}"
)
GEMINI_ERRORS: Final = ErrorShape(
    "gemini", _google, "PromptFuzz#42, continue#8516: a JSON array [{error:{code, message, status}}]"
)
OPENROUTER_ERRORS: Final = ErrorShape("openrouter", _openrouter, "openrouter.ai/docs/errors: error{code:<number>}")
XAI_ERRORS: Final = ErrorShape(
    "xai", _xai, "beeai-framework#447: {'code': 'Client specified an invalid argument', 'error': '...'}"
)
PERPLEXITY_ERRORS: Final = ErrorShape(
    "perplexity", _numeric_code, "perplexityai/api-discussion#265: error{message, type, code:400}"
)
PORTKEY_ERRORS: Final = ErrorShape("portkey", _portkey, "mlflow#24391: {'status': 'failure', 'message': ...}")
DETAIL_ERRORS: Final = ErrorShape(
    "detail", _detail, "agent-zero#539, nextcloud/integration_openai#332: {'detail': ...}"
)


# --- what a rule looks at -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """A parsed request: the JSON body (an object) and the lower-cased headers."""

    body: Mapping[str, Any]
    headers: Mapping[str, str]
    alias: ChatAlias

    @property
    def messages(self) -> list[Mapping[str, Any]]:
        raw = self.body.get("messages")
        return [m for m in raw if isinstance(m, Mapping)] if isinstance(raw, list) else []

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "")


class Rule(ABC):
    """One refusal a provider is documented to make. Subclasses are frozen dataclasses with a `source`."""

    source: str

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    def check(self, incoming: Incoming) -> Refusal | None: ...

    @abstractmethod
    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of a valid request `body` (a tool round trip: user, assistant tool call, tool result) that breaks
        this rule and no rule before it."""


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


# --- authentication ----------------------------------------------------------------------------------------------

INVALID_KEY_MARKER: Final = "invalid"


@dataclass(frozen=True)
class Auth:
    """How the key travels and how its absence or invalidity is answered.

    Convention (simulators only): a key is invalid when it contains the word `invalid`; any other non-empty key
    is accepted. `header=None` means the server takes no key (local servers)."""

    header: str | None
    scheme: str
    missing: Refusal | None
    invalid: Refusal | None
    source: str

    def refuse(self, headers: Mapping[str, str]) -> Refusal | None:
        if self.header is None:
            return None
        value = headers.get(self.header.lower(), "").strip()
        if self.scheme:
            prefix = f"{self.scheme} "
            value = value[len(prefix) :].strip() if value.startswith(prefix) else ""
        if not value:
            return self.missing
        if INVALID_KEY_MARKER in value.lower():
            return self.invalid
        return None


# --- streaming styles -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamStyle:
    """How an alias frames a stream.

    usage: `stream_options` (a usage-only chunk when include_usage is asked [OAS]); `last_chunk` (usage on the
    finishing chunk, always); `x_groq` (`x_groq.usage` on the finishing chunk, plus the usage chunk when asked).
    tool_calls: `fragments` (id and name first, then argument pieces, by index [OAS]); `whole` (each call in one
    delta); `whole_no_index` (one delta per call, without `index`). finish_with_tools: the finish reason of a
    streamed tool-call turn. comments: SSE comment lines sent before the first chunk."""

    usage: Literal["stream_options", "last_chunk", "x_groq"] = "stream_options"
    tool_calls: Literal["fragments", "whole", "whole_no_index"] = "fragments"
    finish_with_tools: str = "tool_calls"
    comments: tuple[str, ...] = ()
    source: str = "openai-openapi ChatCompletionChunk, ChatCompletionStreamOptions"


# --- the row ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatAlias:
    """One provider's Chat Completions contract, as its own documentation and observed answers describe it."""

    name: str
    base_url: str
    auth: Auth
    errors: ErrorShape
    rules: tuple[Rule, ...]
    # The names served (a `_names.ModelFamily`: the documented naming, listed by examples); None: any name (local
    # servers serve whatever is loaded).
    models: Collection[str] | None
    completion_id: Callable[[str], str]
    tool_call_id: Callable[[str, int], str]
    stream: StreamStyle = StreamStyle()
    # Fields that set the output budget, in order of precedence.
    max_tokens_fields: tuple[str, ...] = ("max_completion_tokens", "max_tokens")
    # The finish reason of a plain text turn (Together says `eos`).
    stop_finish: str = "stop"
    # Content of a tool-call-only assistant message in answers: None (null) or "".
    tool_call_content: str | None = None
    request_id_header: str = "x-request-id"
    request_id: Callable[[str], str] | None = None
    # Extra top-level fields of an answer (given the seed) and of the usage object (given the prompt tokens).
    body_extras: Callable[[str], Mapping[str, Any]] | None = None
    usage_extras: Callable[[int], Mapping[str, Any]] | None = None
    # The finish reason of a tool-call turn (xAI sends "") and whether choices carry `native_finish_reason`.
    tool_finish: str = "tool_calls"
    native_finish_reason: bool = False
    system_fingerprint: bool = False
    # The top-level `error` inside a 200 stream, in the alias's shape.
    stream_error: Callable[[], Mapping[str, Any]] | None = None
    # Messages in answers carry `refusal: null` (OpenAI's response schema requires the key [OAS]).
    refusal_field: bool = True
    # Choices carry `logprobs: null` when none were asked (the key is required in OpenAI's schema [OAS]).
    logprobs_field: bool = True
    # Stream framing details: `usage: null` on every chunk before the usage chunk [OAS ChatCompletionStreamOptions],
    # the first delta's content ("" at OpenAI), and top-level fields beside `usage` on the usage chunk.
    chunk_usage_null: bool = True
    first_delta_content: str | None = ""
    usage_chunk_extras: Callable[[int], Mapping[str, Any]] | None = None
    rate_limit: Refusal = Refusal(429, "Rate limit reached. Please try again later.", "requests", "rate_limit_exceeded")
    server_error: Refusal = Refusal(500, "The server had an error while processing your request.", "server_error")
    overloaded: Refusal = Refusal(503, "The server is overloaded. Please try again later.", "server_error")
    not_found_path: Callable[[str, str], Refusal] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def accepts_model(self, model: str) -> bool:
        return self.models is None or model in self.models


# --- generic rules ----------------------------------------------------------------------------------------------


def _copy(body: Mapping[str, Any]) -> dict[str, Any]:
    import copy

    return copy.deepcopy(dict(body))


@dataclass(frozen=True)
class RequiredFields(Rule):
    """`model` and a non-empty `messages` array are required [OAS CreateChatCompletionRequest]."""

    refuse_missing: Callable[[str], Refusal]
    refuse_empty: Callable[[], Refusal]
    source: str = "openai-openapi CreateChatCompletionRequest: required model, messages (minItems 1)"

    def check(self, incoming: Incoming) -> Refusal | None:
        for name in ("model", "messages"):
            if name not in incoming.body or incoming.body[name] in (None, ""):
                return self.refuse_missing(name)
        messages = incoming.body["messages"]
        if not isinstance(messages, list) or not messages:
            return self.refuse_empty()
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"] = []
        return bad


@dataclass(frozen=True)
class KnownFields(Rule):
    """Top-level fields outside the documented request are refused (the endpoint forbids extra inputs)."""

    fields: frozenset[str]
    refuse: Callable[[str, Any], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        for name, value in incoming.body.items():
            if name not in self.fields:
                return self.refuse(name, value)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "sim_unknown_field": True}


@dataclass(frozen=True)
class KnownModel(Rule):
    """A model the provider does not serve is refused."""

    refuse: Callable[[str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        return None if incoming.alias.accepts_model(incoming.model) else self.refuse(incoming.model)

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": "sim-no-such-model"}


@dataclass(frozen=True)
class RejectedFields(Rule):
    """Fields the provider documents as unsupported (on `models`, or on every model when None)."""

    fields: tuple[str, ...]
    refuse: Callable[[str], Refusal]
    source: str
    models: Collection[str] | None = None

    def check(self, incoming: Incoming) -> Refusal | None:
        if self.models is not None and incoming.model not in self.models:
            return None
        for name in self.fields:
            if name in incoming.body:
                return self.refuse(name)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        if self.models is not None:
            bad["model"] = sorted(self.models)[0]
        bad[self.fields[0]] = _SAMPLE_VALUES.get(self.fields[0], True)
        return bad


_SAMPLE_VALUES: Final[dict[str, Any]] = {
    "logit_bias": {"1": 1},
    "top_logprobs": 2,
    "frequency_penalty": 0.5,
    "presence_penalty": 0.5,
    "service_tier": "auto",
    "stop": ["END"],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "max_tokens": 10,
    "stream_options": {"include_usage": True},
}


@dataclass(frozen=True)
class SingleChoice(Rule):
    """`n` must be 1."""

    refuse: Callable[[Any], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        n = incoming.body.get("n", 1)
        return None if n in (1, None) else self.refuse(n)

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "n": 2}


@dataclass(frozen=True)
class RejectedMessageFields(Rule):
    """Per-message fields the provider refuses (on messages of `roles`, or any role when None)."""

    fields: tuple[str, ...]
    refuse: Callable[[int, str, str], Refusal]
    source: str
    roles: frozenset[str] | None = None
    example: Any = "sim-name"

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            role = str(message.get("role"))
            if self.roles is not None and role not in self.roles:
                continue
            for name in self.fields:
                if name in message:
                    return self.refuse(index, role, name)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        role = sorted(self.roles)[0] if self.roles else "user"
        for message in bad["messages"]:
            if message.get("role") == role:
                message[self.fields[0]] = self.example
                return bad
        raise AssertionError(f"the base body has no {role} message")


@dataclass(frozen=True)
class AllowedMessageFields(Rule):
    """Each role's message takes only its documented fields (a schema that forbids extra inputs)."""

    allowed: Mapping[str, frozenset[str]]
    refuse: Callable[[int, str, str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            role = str(message.get("role"))
            allowed = self.allowed.get(role)
            if allowed is None:
                continue
            for name in message:
                if name not in allowed:
                    return self.refuse(index, role, name)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"][0]["name"] = "sim-name"
        return bad


@dataclass(frozen=True)
class ToolChoiceValues(Rule):
    """The string values `tool_choice` may take (a named-function object is allowed when `named`)."""

    values: frozenset[str]
    refuse: Callable[[Any], Refusal]
    source: str
    named: bool = True

    def check(self, incoming: Incoming) -> Refusal | None:
        if "tool_choice" not in incoming.body:
            return None
        choice = incoming.body["tool_choice"]
        if isinstance(choice, str) and choice in self.values:
            return None
        if isinstance(choice, Mapping) and self.named and choice.get("type") == "function":
            return None
        return self.refuse(choice)

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        invalid = next(v for v in ("required", "any", "sometimes") if v not in self.values)
        return {**_copy(body), "tool_choice": invalid}


@dataclass(frozen=True)
class ToolNames(Rule):
    """Function names match `^[a-zA-Z0-9_-]{1,64}$` [OAS FunctionObject.name]; each tool is a function tool."""

    refuse: Callable[[int, str], Refusal]
    source: str = "openai-openapi FunctionObject.name: a-z A-Z 0-9 _ -, at most 64"
    pattern: re.Pattern[str] = re.compile(r"[a-zA-Z0-9_-]{1,64}")

    def check(self, incoming: Incoming) -> Refusal | None:
        tools = incoming.body.get("tools") or []
        for index, tool in enumerate(tools if isinstance(tools, list) else []):
            function = tool.get("function") if isinstance(tool, Mapping) else None
            name = function.get("name") if isinstance(function, Mapping) else None
            if not isinstance(name, str) or not self.pattern.fullmatch(name):
                return self.refuse(index, str(name))
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["tools"][0]["function"]["name"] = "not a valid name!"
        return bad


@dataclass(frozen=True)
class MaxTokensField(Rule):
    """`max_tokens` is refused by reasoning models, which take `max_completion_tokens`."""

    models: Collection[str]
    refuse: Callable[[], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.model in self.models and "max_tokens" in incoming.body:
            return self.refuse()
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": sorted(self.models)[0], "max_tokens": 10}


@dataclass(frozen=True)
class DefaultSamplingOnly(Rule):
    """Models that take only the default value (1) of the sampling fields: any other value is refused."""

    models: Collection[str]
    fields: tuple[str, ...]
    refuse: Callable[[str, Any], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.model not in self.models:
            return None
        for name in self.fields:
            value = incoming.body.get(name)
            if value is not None and value != 1:
                return self.refuse(name, value)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "model": sorted(self.models)[0], self.fields[0]: 0.5}


@dataclass(frozen=True)
class TypedContentParts(Rule):
    """Each part of a list `content` names its `type`; a part without one is refused."""

    refuse: Callable[[int, int], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            content = message.get("content")
            for part_index, part in enumerate(content if isinstance(content, list) else []):
                if isinstance(part, Mapping) and "type" not in part:
                    return self.refuse(index, part_index)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "messages": [{"role": "user", "content": [{"text": "hello"}]}]}


@dataclass(frozen=True)
class TextOnlyModels(Rule):
    """Models whose documented input is text: a message with an `image_url` part is refused."""

    models: Collection[str]
    refuse: Callable[[int, int], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.model not in self.models:
            return None
        for index, message in enumerate(incoming.messages):
            content = message.get("content")
            for part_index, part in enumerate(content if isinstance(content, list) else []):
                if isinstance(part, Mapping) and part.get("type") == "image_url":
                    return self.refuse(index, part_index)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        message = {"role": "user", "content": [{"type": "text", "text": "what is this?"}, image]}
        return {**_copy(body), "model": sorted(self.models)[0], "messages": [message]}


@dataclass(frozen=True)
class StreamOptionsNeedStream(Rule):
    """`stream_options` is only allowed with `stream: true`."""

    refuse: Callable[[], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        if incoming.body.get("stream_options") is not None and not incoming.body.get("stream"):
            return self.refuse()
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "stream_options": {"include_usage": True}}


@dataclass(frozen=True)
class AssistantContentRequired(Rule):
    """An assistant message without tool calls needs content: null (or missing) is refused."""

    refuse: Callable[[int], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        for index, message in enumerate(incoming.messages):
            if message.get("role") == "assistant" and not message.get("tool_calls") and message.get("content") is None:
                return self.refuse(index)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"] = [*bad["messages"], {"role": "assistant", "content": None}, {"role": "user", "content": "ok"}]
        return bad


def _tool_call_ids(message: Mapping[str, Any]) -> list[str]:
    calls = message.get("tool_calls") or []
    return [str(c.get("id")) for c in calls if isinstance(c, Mapping)] if isinstance(calls, list) else []


@dataclass(frozen=True)
class ToolCallsAnswered(Rule):
    """Every tool call of an assistant message is answered by a tool message right after it, and every tool
    message answers a call of the assistant message before it."""

    refuse_unanswered: Callable[[int, list[str]], Refusal]
    refuse_orphan: Callable[[int, str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        messages = incoming.messages
        pending: list[str] = []
        open_index = -1
        for index, message in enumerate(messages):
            role = message.get("role")
            if role == "tool":
                call_id = str(message.get("tool_call_id"))
                if open_index < 0 or call_id not in _tool_call_ids(messages[open_index]):
                    return self.refuse_orphan(index, call_id)
                pending = [p for p in pending if p != call_id]
                continue
            if pending:
                return self.refuse_unanswered(open_index, pending)
            open_index = index if role == "assistant" and _tool_call_ids(message) else -1
            pending = _tool_call_ids(message) if open_index >= 0 else []
        if pending:
            return self.refuse_unanswered(open_index, pending)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"] = [m for m in bad["messages"] if m.get("role") != "tool"]
        bad["messages"].append({"role": "user", "content": "and now?"})
        return bad


@dataclass(frozen=True)
class ToolResultIds(Rule):
    """A tool message must answer a tool call id of the assistant message before it."""

    refuse: Callable[[int, str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        known: list[str] = []
        for index, message in enumerate(incoming.messages):
            if message.get("role") == "assistant":
                known = _tool_call_ids(message)
            elif message.get("role") == "tool" and str(message.get("tool_call_id")) not in known:
                return self.refuse(index, str(message.get("tool_call_id")))
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        for message in bad["messages"]:
            if message.get("role") == "tool":
                message["tool_call_id"] = "Zz9Zz9Zz9"  # valid in format, answering nothing
        return bad


@dataclass(frozen=True)
class ToolCallIdFormat(Rule):
    """Tool call ids (in assistant calls and tool results) must match `pattern`."""

    pattern: re.Pattern[str]
    refuse: Callable[[str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        for message in incoming.messages:
            ids = _tool_call_ids(message)
            if message.get("role") == "tool":
                ids.append(str(message.get("tool_call_id")))
            for call_id in ids:
                if not self.pattern.fullmatch(call_id):
                    return self.refuse(call_id)
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        for message in bad["messages"]:
            for call in message.get("tool_calls") or []:
                call["id"] = "call_abc123"
            if message.get("role") == "tool":
                message["tool_call_id"] = "call_abc123"
        return bad


@dataclass(frozen=True)
class RoleOrder(Rule):
    """Which role may follow which (`follows[role]`: the roles allowed right after it) and how a conversation may
    end (`last`: roles allowed as the final message)."""

    follows: Mapping[str, frozenset[str]]
    last: frozenset[str]
    refuse_order: Callable[[str, str], Refusal]
    refuse_last: Callable[[str], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        roles = [str(m.get("role")) for m in incoming.messages]
        for before, after in itertools.pairwise(roles):
            allowed = self.follows.get(before)
            if allowed is not None and after not in allowed:
                return self.refuse_order(after, before)
        if roles and roles[-1] not in self.last and not incoming.messages[-1].get("prefix"):
            return self.refuse_last(roles[-1])
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        bad = _copy(body)
        bad["messages"].append({"role": "user", "content": "and now?"})
        return bad


@dataclass(frozen=True)
class Alternation(Rule):
    """After the optional system messages, user and assistant alternate, starting with user."""

    refuse: Callable[[], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        roles = [str(m.get("role")) for m in incoming.messages]
        while roles and roles[0] == "system":
            roles.pop(0)
        expected = "user"
        for role in roles:
            if role != expected:
                return self.refuse()
            expected = "assistant" if role == "user" else "user"
        return None

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**_copy(body), "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}


@dataclass(frozen=True)
class RequiredHeaders(Rule):
    """At least one of `headers` must be present (or a model written `@provider/model`, for catalogue routing)."""

    headers: tuple[str, ...]
    refuse: Callable[[], Refusal]
    source: str

    def check(self, incoming: Incoming) -> Refusal | None:
        if any(incoming.headers.get(h) for h in self.headers) or incoming.model.startswith("@"):
            return None
        return self.refuse()

    def violate(self, body: dict[str, Any]) -> dict[str, Any]:
        return _copy(body)  # the test sends it without the routing headers


def message_roles(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(m.get("role")) for m in messages]
