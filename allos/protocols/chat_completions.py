"""The OpenAI-compatible Chat Completions protocol (`POST {base_url}/chat/completions`), as pure functions.

    canonical ChatRequest --build_request--> JSON body         (per-alias quirks applied here, and only here)
    JSON body ------------parse_response---> ChatResponse
    SSE bytes ------------StreamDecoder----> StreamEvent*      (feed(bytes) / finish(), incremental)
    error answer ---------parse_error------> ProviderError

No network, no globals: the Provider moves the bytes. Facts about the wire come from the OpenAI OpenAPI spec
(`CreateChatCompletionRequest`, `ChatCompletionChunk`), cited as [OAS],
and from each provider's documentation, cited where a rule is applied.

Translation policy:
- Allos always spells a field the way the alias wants (`max_tokens` or `max_completion_tokens`, `required` or
  `any`, `seed` or `random_seed`).
- A top-level field that an alias is documented to reject (`ChatCompletionsQuirks.rejected_params`) is refused with
  `InvalidRequestError` before anything is sent, naming the field and the source: dropping it would silently change
  what the caller asked for.
- The advisory per-message `name` is dropped where the alias rejects it (Groq): it changes no semantics.
- Content the protocol cannot carry (an image in a system or tool message) raises `InvalidRequestError`.
- A tool result marked `is_error` is sent as text prefixed `Error: `: Chat Completions has no error flag [OAS].
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import ValidationError

from allos import _json
from allos.errors import IncompleteStreamError, InvalidRequestError, ProviderError, ResponseParseError
from allos.protocols._errors import error_from_payload, error_from_response
from allos.protocols._ids import IdFormat, remap_tool_call_ids
from allos.protocols._read import Answer, Obj, assert_never
from allos.protocols._sse import SSEDecoder
from allos.types import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    Cost,
    FinishReason,
    ImagePart,
    Message,
    NamedToolChoice,
    ReasoningDelta,
    ResponseFormat,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolChoice,
    ToolSpec,
    Usage,
    UsageUpdate,
)

__all__ = [
    "DEFAULT_QUIRKS",
    "PATH",
    "ChatCompletionsQuirks",
    "StreamDecoder",
    "build_request",
    "parse_error",
    "parse_request",
    "parse_response",
]

PATH: Final = "/chat/completions"
TOOL_ERROR_PREFIX: Final = "Error: "


@dataclass(frozen=True)
class ChatCompletionsQuirks:
    """How one alias departs from the reference Chat Completions contract. The defaults are OpenAI's [OAS]."""

    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    tool_call_ids: IdFormat | None = None
    tool_choice_required: str = "required"
    seed_field: str = "seed"
    rejected_params: frozenset[str] = frozenset()
    message_name: bool = True
    strict_tools: bool = True
    stream_usage: bool = True
    # Content of a tool-call-only assistant turn: None (null, per [OAS]) or "" for servers that refuse null.
    empty_assistant_content: Literal[None, ""] = None
    # Where reasoning from an earlier assistant turn goes back (DeepSeek thinking mode wants it on tool-call turns).
    reasoning_field: str | None = None
    json_schema_style: Literal["json_schema", "json_object_schema"] = "json_schema"
    merge_consecutive_roles: bool = False
    # Insert an empty assistant turn between a tool result and a user turn (Mistral: "Unexpected role 'user' after
    # role 'tool'", code 3230).
    assistant_after_tool: bool = False
    # Messages of 400 answers that mean "bad API key" (xAI, Gemini): raised as AuthenticationError.
    bad_key_messages: tuple[str, ...] = ()
    # The documentation each quirk comes from: quirk name -> source. Shown in docs and in errors.
    sources: Mapping[str, str] = field(default_factory=dict)


DEFAULT_QUIRKS: Final = ChatCompletionsQuirks()

# Native finish reasons -> canonical. Besides OpenAI's [OAS `finish_reason`]: Together's `eos` [together-python
# types/common.py], Mistral's `model_length`, OpenRouter's `error` [openrouter.ai/docs/errors], and stop words some
# proxies pass through from Anthropic- or Gemini-backed models.
_FINISH_REASON: Final[dict[str, FinishReason]] = {
    "stop": "stop",
    "eos": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "tool_use": "tool_calls",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "error": "other",
}


# --- request ---------------------------------------------------------------------------------------------------------


def build_request(
    request: ChatRequest, quirks: ChatCompletionsQuirks = DEFAULT_QUIRKS, *, provider: str = "chat_completions"
) -> dict[str, Any]:
    """The JSON body for `request`, spelled the way the alias with `quirks` expects.

    >>> from allos.types import ChatRequest, Message
    >>> build_request(ChatRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=5))
    {'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}], 'max_tokens': 5}
    """
    _refuse_stored_conversation(request, provider)
    messages = _merge_consecutive(request.messages) if quirks.merge_consecutive_roles else request.messages
    id_map = remap_tool_call_ids(messages, quirks.tool_call_ids) if quirks.tool_call_ids else {}
    body: dict[str, Any] = {
        "model": request.model,
        "messages": _bridge_tool_to_user([_message(m, quirks, id_map, provider) for m in messages], quirks),
    }
    if request.tools:
        body["tools"] = [_tool(tool, quirks) for tool in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice, quirks)
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body[quirks.max_tokens_field] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body[quirks.seed_field] = request.seed
    if request.response_format is not None:
        body["response_format"] = _response_format(request.response_format, quirks)
    if request.stream:
        body["stream"] = True
        if quirks.stream_usage:
            body["stream_options"] = {"include_usage": True}
    body.update(request.extra_body)
    _refuse_rejected(body, quirks, provider)
    return body


def _refuse_stored_conversation(request: ChatRequest, provider: str) -> None:
    if request.previous_response_id is not None:
        raise InvalidRequestError(
            "previous_response_id needs a protocol that stores conversations (OpenAI Responses: alias 'openai');"
            " Chat Completions sends the whole history instead",
            provider=provider,
        )


def _refuse_rejected(body: Mapping[str, Any], quirks: ChatCompletionsQuirks, provider: str) -> None:
    for name in quirks.rejected_params:
        if name in body:
            source = quirks.sources.get("rejected_params", "the provider's documentation")
            raise InvalidRequestError(
                f"the endpoint rejects the field {name!r}; remove it (source: {source})", provider=provider
            )


def _bridge_tool_to_user(wire: list[dict[str, Any]], quirks: ChatCompletionsQuirks) -> list[dict[str, Any]]:
    if not quirks.assistant_after_tool:
        return wire
    bridged: list[dict[str, Any]] = []
    for message in wire:
        if message["role"] == "user" and bridged and bridged[-1]["role"] == "tool":
            bridged.append({"role": "assistant", "content": ""})
        bridged.append(message)
    return bridged


def _merge_consecutive(messages: Sequence[Message]) -> list[Message]:
    """Join runs of user (or assistant) turns without tool calls, for servers that demand strict alternation."""
    merged: list[Message] = []
    for message in messages:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and previous.role == message.role
            and message.role in ("user", "assistant")
            and not previous.tool_calls
            and not message.tool_calls
        ):
            merged[-1] = previous.model_copy(update={"content": _joined(previous.content, message.content)})
        else:
            merged.append(message)
    return merged


def _joined(
    first: str | tuple[ContentPart, ...] | None, second: str | tuple[ContentPart, ...] | None
) -> str | tuple[ContentPart, ...]:
    """Two turns' content as one, a blank line apart: text stays text; when either has parts, parts (images kept)."""
    if not isinstance(first, tuple) and not isinstance(second, tuple):
        return "\n\n".join(text for text in (first, second) if text)
    return (*_as_parts(first), TextPart(text="\n\n"), *_as_parts(second))


def _as_parts(content: str | tuple[ContentPart, ...] | None) -> tuple[ContentPart, ...]:
    return content if isinstance(content, tuple) else (TextPart(text=content or ""),)


def _parts(message: Message, provider: str, *, images: bool) -> str | list[dict[str, Any]] | None:
    content = message.content
    if content is None or isinstance(content, str):
        return content
    if not images:
        if any(isinstance(part, ImagePart) for part in content):
            raise InvalidRequestError(
                f"a {message.role} message cannot carry an image in Chat Completions; put it in a user message",
                provider=provider,
            )
        return "".join(part.text for part in content if isinstance(part, TextPart))
    return [_part(part) for part in content]


def _part(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url if part.url is not None else f"data:{part.media_type};base64,{part.data}"
        return {"type": "image_url", "image_url": {"url": url}}
    assert_never(part)


def _message(
    message: Message, quirks: ChatCompletionsQuirks, id_map: Mapping[str, str], provider: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    if message.role == "assistant":
        content = _parts(message, provider, images=False)
        if message.tool_calls:
            out["content"] = content or quirks.empty_assistant_content
            out["tool_calls"] = [_tool_call(call, id_map) for call in message.tool_calls]
            if quirks.reasoning_field and message.reasoning:
                out[quirks.reasoning_field] = message.reasoning
        else:
            # OpenAI rejects `content: null` without tool_calls [vercel/ai PR #14950].
            out["content"] = content or ""
    elif message.role == "tool":
        assert message.tool_call_id is not None  # guaranteed by Message
        text = _parts(message, provider, images=False) or ""
        out["tool_call_id"] = id_map.get(message.tool_call_id, message.tool_call_id)
        out["content"] = f"{TOOL_ERROR_PREFIX}{text}" if message.is_error else text
    elif message.role == "user" or message.role == "system":
        out["content"] = _parts(message, provider, images=message.role == "user")
        if out["content"] is None:
            out["content"] = ""
    else:
        assert_never(message.role)
    if message.name is not None and quirks.message_name:
        out["name"] = message.name
    return out


def _tool_call(call: ToolCall, id_map: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": id_map.get(call.id, call.id),
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _tool(tool: ToolSpec, quirks: ChatCompletionsQuirks) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    if tool.strict is not None and quirks.strict_tools:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def _tool_choice(choice: ToolChoice, quirks: ChatCompletionsQuirks) -> str | dict[str, Any]:
    if isinstance(choice, NamedToolChoice):
        return {"type": "function", "function": {"name": choice.name}}
    if choice == "required":
        return quirks.tool_choice_required
    return choice


def _response_format(fmt: ResponseFormat, quirks: ChatCompletionsQuirks) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    if quirks.json_schema_style == "json_object_schema":
        return {"type": "json_object", "schema": fmt.json_schema}
    spec: dict[str, Any] = {"name": fmt.name, "schema": fmt.json_schema}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


# --- response --------------------------------------------------------------------------------------------------------


def finish_reason(native: str | None, has_tool_calls: bool) -> FinishReason:
    """Map a native finish reason. A turn that made tool calls finishes with `tool_calls` even where the server says
    `stop` (Gemini while streaming [googleapis/python-genai#2868]) or "" (xAI [litellm xai transformation])."""
    if has_tool_calls and native in (None, "", "stop"):
        return "tool_calls"
    if not native:
        return "other"
    return _FINISH_REASON.get(native, "other")


def parse_usage(data: Any, *, provider: str = "chat_completions") -> Usage | None:
    """Usage from `usage` (or Groq's `x_groq.usage`); DeepSeek's cache counts and xAI's separate reasoning included.
    None when there is no usage object; a count of the wrong type is a ResponseParseError."""
    if not isinstance(data, Mapping):
        return None
    return _usage(Obj(data, "usage", Answer(provider, f"{PATH} answer")))


def _usage(data: Obj) -> Usage:
    prompt_details = data.obj("prompt_tokens_details")
    completion_details = data.obj("completion_tokens_details")
    cached = prompt_details.integer("cached_tokens") if prompt_details else None
    if cached is None:
        cached = data.integer("prompt_cache_hit_tokens")  # DeepSeek [any-llm deepseek/utils.py]
    return Usage(
        input_tokens=data.integer("prompt_tokens") or 0,
        output_tokens=data.integer("completion_tokens") or 0,
        total_tokens=data.integer("total_tokens"),
        cached_input_tokens=cached,
        cache_write_tokens=prompt_details.integer("cache_write_tokens") if prompt_details else None,
        reasoning_tokens=completion_details.integer("reasoning_tokens") if completion_details else None,
        cost=_billed(data),
    )


def _billed(data: Obj) -> Cost | None:
    """OpenRouter's `usage.cost`, a number: "the total amount charged to your account", in credits of one US dollar
    [openrouter.ai/docs/use-cases/usage-accounting]. Any other shape is not that figure and is left alone (Perplexity
    sends a `cost` object with a breakdown [docs.perplexity.ai/api-reference/chat-completions-post])."""
    value = data.get("cost")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return Cost(amount=float(value), source="billed")


def _usage_of(data: Obj) -> Usage | None:
    usage = data.obj("usage")
    if usage is None:
        x_groq = data.obj("x_groq")
        usage = x_groq.obj("usage") if x_groq else None
    return _usage(usage) if usage is not None else None


def _content_text(message: Obj) -> tuple[str, str | None]:
    """(text, reasoning) from a message's content: a string, or a list of parts (Mistral reasoning models send
    `thinking` chunks in the list [litellm mistral transformation]); parts of other types carry nothing canonical."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or "", None
    texts: list[str] = []
    thoughts: list[str] = []
    for part in message.objects("content", skip_others=True):
        kind = part.string("type")
        if kind == "text":
            texts.append(part.text("text"))
        elif kind == "thinking":
            thoughts.append(_thinking_text(part))
    return "".join(texts), ("".join(thoughts) or None)


def _thinking_text(part: Obj) -> str:
    if isinstance(part.get("thinking"), list):
        return "".join(item.text("text") for item in part.objects("thinking", skip_others=True))
    return part.text("thinking")


def _reasoning_of(message: Mapping[str, Any]) -> str | None:
    # DeepSeek and LocalAI: `reasoning_content`; OpenRouter and Ollama: `reasoning` [pyd-ai deepseek.py, ollama.py].
    # Anything but a string (OpenRouter's `reasoning_details` objects) carries no canonical text.
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) and value else None


def _parse_tool_calls(message: Obj) -> tuple[ToolCall, ...]:
    calls = []
    for position, item in enumerate(message.objects("tool_calls")):
        function = item.obj("function")
        name = function.string("name") if function else None
        if function is None or name is None:
            raise item.fail("has no function name")
        call_id = item.string("id") or f"call_{position}"  # some local servers send none
        calls.append(ToolCall.from_json(call_id, name, function.arguments("arguments")))
    return tuple(calls)


def parse_response(body: Any, *, provider: str = "chat_completions") -> ChatResponse:
    """The canonical answer from a `chat.completion` body; an error sent with status 200 is raised as one."""
    answer = Obj.root(body, Answer(provider, f"{PATH} answer"))
    if answer.get("error"):
        # OpenRouter sends some errors with 200 [openrouter.ai/docs/errors]
        raise error_from_payload(provider, answer.data)
    choices = answer.array("choices")
    if not choices or not isinstance(choices[0], Mapping):
        raise answer.fail("has no choices[0]")
    choice = answer.objects("choices", skip_others=True)[0]
    message = choice.obj("message")
    if message is None:
        raise choice.fail("has no message object")
    text, content_reasoning = _content_text(message)
    tool_calls = _parse_tool_calls(message)
    native = choice.string("finish_reason")
    return ChatResponse(
        text=text,
        tool_calls=tool_calls,
        finish_reason=finish_reason(native, bool(tool_calls)),
        native_finish_reason=native,
        usage=_usage_of(answer) or Usage(),
        model=answer.string("model"),
        provider=provider,
        id=answer.string("id"),
        reasoning=_reasoning_of(message.data) or content_reasoning,
        refusal=message.string("refusal") or None,
        raw=dict(body),
    )


def parse_error(
    provider: str,
    status_code: int,
    text: str,
    headers: Mapping[str, str],
    *,
    key_env: str | None = None,
    quirks: ChatCompletionsQuirks = DEFAULT_QUIRKS,
) -> ProviderError:
    """An HTTP error answer -> the right ProviderError (every known body shape, see `allos.protocols._errors`).

    Where an alias answers a bad key with 400 (`quirks.bad_key_messages`), the error is an `AuthenticationError`
    that keeps the real status, so `except AuthenticationError` works the same on every alias.

    >>> quirks = ChatCompletionsQuirks(bad_key_messages=("API key not valid",))
    >>> error = parse_error("gemini", 400, '[{"error": {"message": "API key not valid."}}]', {}, quirks=quirks)
    >>> type(error).__name__, error.status_code
    ('AuthenticationError', 400)
    """
    error = error_from_response(provider, status_code, text, headers, key_env=key_env)
    if status_code == 400 and any(marker in error.message for marker in quirks.bad_key_messages):
        auth = error_from_response(provider, 401, text, headers, key_env=key_env)
        auth.status_code = status_code
        return auth
    return error


# --- streaming -------------------------------------------------------------------------------------------------------


class _ToolCallBuilder:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []


class StreamDecoder:
    """Incremental decoder of a Chat Completions SSE stream [OAS `ChatCompletionChunk`].

    Tool-call fragments are joined by `index` (or by id, for servers that omit the index [python-genai#2868]); a
    usage-only final chunk (`choices: []`) and Groq's `x_groq.usage` become `UsageUpdate`; an `error` payload inside
    the 200 stream raises the matching ProviderError; the last event is always `StreamEnd` with the assembled
    answer. A stream that stops before a finish reason or `[DONE]` raises `IncompleteStreamError` with what arrived;
    a chunk of the wrong shape raises `ResponseParseError` naming the event and the field.
    """

    def __init__(self, *, provider: str = "chat_completions", key_env: str | None = None) -> None:
        self.provider = provider
        self._key_env = key_env
        self._sse = SSEDecoder()
        self._events = 0
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._tools: dict[int, _ToolCallBuilder] = {}
        self._native_finish: str | None = None
        self._finished = False
        self._done = False
        self._usage: Usage | None = None
        self._model: str | None = None
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self._sse.feed(chunk):
            if not self._done:
                self._on_data(sse.data, events)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self._sse.finish():
            if not self._done:
                if not sse.data.startswith("[DONE]") and not _is_json(sse.data):
                    # The last event lacked its blank line and its JSON is cut short: the connection dropped
                    # mid-chunk. That is a cut stream (keep what arrived), not a malformed one.
                    raise IncompleteStreamError(
                        "the stream ended inside a chunk", provider=self.provider, partial=self.partial()
                    )
                self._on_data(sse.data, events)
        if self._done:
            return events
        if not self._finished:
            raise IncompleteStreamError(
                "the stream ended before a finish reason or [DONE]", provider=self.provider, partial=self.partial()
            )
        self._end(events)  # a server that finishes without [DONE]: lenient, nothing was lost
        return events

    def partial(self) -> ChatResponse:
        """What has arrived so far, assembled."""
        calls = tuple(self._build_call(i, b) for i, b in sorted(self._tools.items()))
        return ChatResponse(
            text="".join(self._text),
            tool_calls=calls,
            finish_reason=finish_reason(self._native_finish, bool(calls)) if self._finished else "other",
            native_finish_reason=self._native_finish,
            usage=self._usage or Usage(),
            model=self._model,
            provider=self.provider,
            id=self._id,
            reasoning="".join(self._reasoning) or None,
            refusal="".join(self._refusal) or None,
        )

    def _on_data(self, data: str, events: list[StreamEvent]) -> None:
        self._events += 1
        if data.startswith("[DONE]"):
            self._end(events)
            return
        answer = Answer(self.provider, f"{PATH} stream event {self._events}", top="the event")
        chunk = Obj.root(answer.loads(data), answer)
        if chunk.get("error"):
            raise error_from_payload(self.provider, chunk.data, key_env=self._key_env)
        self._model = self._model or chunk.string("model")
        self._id = self._id or chunk.string("id")
        choices = chunk.objects("choices")
        if choices:
            self._on_choice(choices[0], events)
        usage = _usage_of(chunk)
        if usage is not None:
            self._usage = usage
            events.append(UsageUpdate(usage=usage))

    def _on_choice(self, choice: Obj, events: list[StreamEvent]) -> None:
        delta = choice.obj("delta")
        if delta is not None:
            self._on_delta(delta, events)
        native = choice.string("finish_reason")
        if native is not None and not self._finished:
            self._native_finish = native
            self._finished = True
            for index, builder in sorted(self._tools.items()):
                events.append(ToolCallDone(index=index, tool_call=self._build_call(index, builder)))

    def _on_delta(self, delta: Obj, events: list[StreamEvent]) -> None:
        content = delta.get("content")
        if isinstance(content, str) and content:  # a list of parts carries nothing a delta can stream
            self._text.append(content)
            events.append(TextDelta(text=content))
        reasoning = _reasoning_of(delta.data)
        if reasoning:
            self._reasoning.append(reasoning)
            events.append(ReasoningDelta(text=reasoning))
        refusal = delta.string("refusal")
        if refusal:  # streamed beside content [OAS ChatCompletionStreamResponseDelta]
            self._refusal.append(refusal)
        for fragment in delta.objects("tool_calls"):
            self._on_fragment(fragment, events)

    def _on_fragment(self, fragment: Obj, events: list[StreamEvent]) -> None:
        index = self._fragment_index(fragment)
        builder = self._tools.setdefault(index, _ToolCallBuilder())
        function = fragment.obj("function")
        call_id = fragment.string("id") or None
        name = (function.string("name") if function else None) or None
        arguments = (function.arguments("arguments") if function else None) or ""
        if call_id and builder.id is None:
            builder.id = call_id
        if name and builder.name is None:
            builder.name = name
        if arguments:
            builder.arguments.append(arguments)
        events.append(ToolCallDelta(index=index, id=call_id, name=name, arguments_delta=arguments))

    def _fragment_index(self, fragment: Obj) -> int:
        index = fragment.integer("index")
        if index is not None:
            return index
        call_id = fragment.string("id")
        for known, builder in self._tools.items():
            if call_id and builder.id == call_id:
                return known
        if call_id or not self._tools:
            return len(self._tools)
        return max(self._tools)

    def _build_call(self, index: int, builder: _ToolCallBuilder) -> ToolCall:
        if builder.name is None:
            raise ResponseParseError(f"streamed tool call {index} never named its function", provider=self.provider)
        return ToolCall.from_json(builder.id or f"call_{index}", builder.name, "".join(builder.arguments))

    def _end(self, events: list[StreamEvent]) -> None:
        self._done = True
        if not self._finished:
            # [DONE] without a finish reason: close the tool calls that are complete by definition now.
            self._finished = True
            for index, builder in sorted(self._tools.items()):
                events.append(ToolCallDone(index=index, tool_call=self._build_call(index, builder)))
        events.append(StreamEnd(response=self.partial()))


def _is_json(text: str) -> bool:
    try:
        _json.loads(text)
    except ValueError:
        return False
    return True


def iter_events(decoder: StreamDecoder, chunks: Iterable[bytes]) -> list[StreamEvent]:
    """Decode a whole stream at once (tests, benchmarks): every chunk fed, then `finish()`."""
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events


# --- reading a request body back -------------------------------------------------------------------------------------

# Top-level fields parse_request reads into named ChatRequest fields; every other field goes to `extra_body`.
_READ_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "seed",
        "response_format",
        "stream",
    }
)
_MESSAGE_KEYS: Final = {
    "system": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "tool_calls", "reasoning_content", "reasoning"}),
    "tool": frozenset({"role", "content", "name", "tool_call_id"}),
}
_PLAIN_TOOL_CHOICES: Final[dict[str, ToolChoice]] = {"auto": "auto", "none": "none", "required": "required"}
_DATA_URL: Final = re.compile(r"data:(?P<media_type>[^;,]+);base64,(?P<data>.*)", re.DOTALL)


def parse_request(body: Mapping[str, Any], *, provider: str = "chat_completions") -> ChatRequest:
    """The canonical request a reference-quirks body (`DEFAULT_QUIRKS`) expresses: the inverse of `build_request`,
    for cassette diffs, corpora and properties.

        >>> body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        >>> parse_request(body) == ChatRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=5)
        True

    `parse_request(build_request(r)) == r` up to what the wire does not tell apart (normalisations):
    1. `is_error=True` travels only as the `Error: ` prefix of a tool result: it reads back as `is_error=False`
       with the prefixed text.
    2. Content parts of system, assistant and tool messages are sent joined into one string and read back as that
       string; user messages keep their parts.
    3. Empty content: an assistant's `None` and `""` read back as `None`; a user's, system's or tool's `None` is
       sent as `""` and reads back as `""`.
    4. An image travels as a URL; a `data:<media type>;base64,` URL reads back as `ImagePart(data=, media_type=)`,
       whichever way the image was given.
    5. `reasoning` is not sent under the reference quirks and reads back as `None` (a body that carries
       `reasoning_content` or `reasoning` on an assistant turn reads back with it).
    6. Tool-call arguments are re-read from their JSON text with `ToolCall.from_json`: `raw_arguments` and
       `arguments_error` are recomputed from the text.
    7. `stream_options: {"include_usage": true}` is implied by `stream` and not kept; every field the canonical
       request does not name goes to `extra_body`, so an `extra_body` key that shadows a built field reads back as
       that field.
    Conversely `build_request(parse_request(body)) == body` for every body `build_request` makes with the defaults.
    A body that is not a Chat Completions request, or carries what the canonical model cannot hold (audio parts,
    custom tools), raises `InvalidRequestError`.
    """
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        raise InvalidRequestError("a Chat Completions body needs `model` and a `messages` list", provider=provider)
    try:
        return _read_request(body, provider)
    except ValidationError as exc:
        raise InvalidRequestError(f"the body is not a valid request: {exc}", provider=provider) from exc


def _read_request(body: Mapping[str, Any], provider: str) -> ChatRequest:
    fields: dict[str, Any] = {
        "model": body["model"],
        "messages": [_read_message(m, provider) for m in body["messages"]],
        "tools": [_read_tool(t, provider) for t in body.get("tools") or ()],
        "extra_body": {k: v for k, v in body.items() if k not in _READ_FIELDS},
    }
    for name in ("parallel_tool_calls", "max_tokens", "temperature", "top_p", "stop", "seed", "stream"):
        if body.get(name) is not None:
            fields[name] = body[name]
    if body.get("tool_choice") is not None:
        fields["tool_choice"] = _read_tool_choice(body["tool_choice"], provider)
    if body.get("response_format") is not None:
        fields["response_format"] = _read_response_format(body["response_format"], provider)
    if body.get("stream") and fields["extra_body"].get("stream_options") == {"include_usage": True}:
        del fields["extra_body"]["stream_options"]
    return ChatRequest.model_validate(fields)


def _unreadable(what: str, value: Any, provider: str) -> InvalidRequestError:
    return InvalidRequestError(f"{what} has no canonical equivalent: {json.dumps(value)[:200]}", provider=provider)


def _read_message(raw: Any, provider: str) -> Message:
    if not isinstance(raw, Mapping) or raw.get("role") not in _MESSAGE_KEYS:
        raise _unreadable("a message that is not a system, user, assistant or tool turn", raw, provider)
    role = raw["role"]
    unknown = sorted(set(raw) - _MESSAGE_KEYS[role])
    if unknown:
        raise _unreadable(f"{role} message field {unknown[0]!r}", raw, provider)
    fields: dict[str, Any] = {"role": role, "name": raw.get("name")}
    content = raw.get("content")
    if role == "user":
        fields["content"] = _read_user_content(content, provider)
    else:
        fields["content"] = _read_text(content, provider)
    if role == "assistant":
        fields["content"] = fields["content"] or None
        fields["tool_calls"] = [_read_tool_call(c, provider) for c in raw.get("tool_calls") or ()]
        fields["reasoning"] = _reasoning_of(raw)
    if role == "tool":
        fields["tool_call_id"] = raw.get("tool_call_id")
    return Message.model_validate(fields)


def _read_text(content: Any, provider: str) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, Mapping) and p.get("type") == "text" for p in content):
        return "".join(str(part.get("text", "")) for part in content)
    raise _unreadable("content other than text", content, provider)


def _read_user_content(content: Any, provider: str) -> str | tuple[TextPart | ImagePart, ...] | None:
    if not isinstance(content, list):
        return _read_text(content, provider)
    return tuple(_read_part(part, provider) for part in content)


def _read_part(part: Any, provider: str) -> TextPart | ImagePart:
    kind = part.get("type") if isinstance(part, Mapping) else None
    if kind == "text":
        return TextPart(text=part.get("text", ""))
    image = part.get("image_url") if kind == "image_url" else None
    url = image.get("url") if isinstance(image, Mapping) else None
    if not isinstance(url, str):
        raise _unreadable("a content part other than text or image_url", part, provider)
    data_url = _DATA_URL.fullmatch(url)
    if data_url:
        return ImagePart(data=data_url["data"], media_type=data_url["media_type"])
    return ImagePart(url=url)


def _read_tool_call(raw: Any, provider: str) -> ToolCall:
    function = raw.get("function") if isinstance(raw, Mapping) and raw.get("type", "function") == "function" else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise _unreadable("a tool call that is not a function call", raw, provider)
    return ToolCall.from_json(str(raw.get("id", "")), function["name"], function.get("arguments"))


def _read_tool(raw: Any, provider: str) -> ToolSpec:
    function = raw.get("function") if isinstance(raw, Mapping) and raw.get("type") == "function" else None
    if not isinstance(function, Mapping):
        raise _unreadable("a tool that is not a function", raw, provider)
    fields = {k: function[k] for k in ("name", "description", "parameters", "strict") if function.get(k) is not None}
    try:
        return ToolSpec.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequestError(f"tool {function.get('name')!r} is not valid: {exc}", provider=provider) from exc


def _read_tool_choice(raw: Any, provider: str) -> ToolChoice:
    if isinstance(raw, str) and raw in _PLAIN_TOOL_CHOICES:
        return _PLAIN_TOOL_CHOICES[raw]
    function = raw.get("function") if isinstance(raw, Mapping) and raw.get("type") == "function" else None
    if isinstance(function, Mapping) and isinstance(function.get("name"), str):
        return NamedToolChoice(name=function["name"])
    raise _unreadable("tool_choice", raw, provider)


def _read_response_format(raw: Any, provider: str) -> ResponseFormat:
    kind = raw.get("type") if isinstance(raw, Mapping) else None
    if kind in ("text", "json_object"):
        return ResponseFormat(type=kind)
    spec = raw.get("json_schema") if kind == "json_schema" else None
    if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
        raise _unreadable("response_format", raw, provider)
    return ResponseFormat(
        type="json_schema",
        name=spec.get("name", "response"),
        json_schema=dict(spec["schema"]),
        strict=spec.get("strict"),
    )
