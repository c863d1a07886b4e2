"""The Anthropic Messages protocol (`POST {base_url}/v1/messages`), as pure functions.

    canonical ChatRequest --build_request--> JSON body         (quirks applied here, and only here)
    JSON body ------------parse_response---> ChatResponse
    SSE bytes ------------StreamDecoder----> StreamEvent*      (feed(bytes) / finish(), incremental, typed events)
    error answer ---------parse_error------> ProviderError

No network, no globals: the Provider moves the bytes and sends the `x-api-key` and `anthropic-version` headers.
Facts about the wire come from the official SDK's types (anthropic-sdk-python `types/`, cited as [ant-py]), the
Messages API documentation [docs.claude.com/en/api/messages, .../messages-streaming, .../errors], each rule
cited where it is applied.

Translation policy:
- System messages, wherever they stand, become the top-level `system` string, joined by blank lines: the protocol
  has no system role [ant-py message_create_params.py].
- Only `user` and `assistant` turns go on the wire. A tool result is a `tool_result` block (`is_error: true` when
  the tool failed) in the user turn that follows the call; the results of one parallel call go into ONE user turn,
  ahead of any text, because every `tool_use` needs its `tool_result` in the very next message [anthropics/
  claude-code#5989; 1jehuang/jcode#276]. Consecutive turns of one role are merged into one turn.
- Empty and whitespace-only text blocks are never sent ("text content blocks must be non-empty" / "must contain
  non-whitespace text" [anthropics/claude-code#59812, #23369]). A turn left with no content is left out (it says
  nothing) — except a last user turn: leaving it out would turn the assistant turn before it into a prefill, so it is
  refused. The last turn, when it is an assistant prefill, loses its trailing whitespace, which the API refuses
  [tailcallhq/forgecode#1872].
- `reasoning` of earlier assistant turns is dropped: Anthropic only takes thinking back as `thinking` blocks carrying
  the `signature` it minted [ant-py thinking_block.py], which a canonical message does not keep.
- Tool-call ids the API would refuse (`^[a-zA-Z0-9_-]+$`) are re-mapped consistently (`TOOL_USE_ID`).
- `tool_use.input` must be an object ("Input should be a valid dictionary" [anthropics/claude-code#6697]): a call
  whose arguments never were a JSON object (`ToolCall.raw_arguments`) is refused with `InvalidRequestError`.
- `max_tokens` is required [ant-py]: `AnthropicQuirks.default_max_tokens` when the caller gives none.
- What the API is documented to refuse is refused before sending, naming the rule: `temperature` above 1.0 (its
  range is 0.0-1.0 [docs.claude.com/en/api/messages]), whitespace-only stop sequences ("each stop sequence must
  contain non-whitespace" [BerriAI/litellm#3286]), `response_format` json_object (no JSON mode: use json_schema),
  sampling fields under API version 2026-10-21 [research section 3].
- `seed` and the per-message `name` have no Anthropic field and change no documented semantics: they are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from allos.errors import IncompleteStreamError, InvalidRequestError, ProviderError, ResponseParseError
from allos.protocols._errors import error_from_payload, error_from_response
from allos.protocols._ids import TOOL_USE_ID, remap_tool_call_ids
from allos.protocols._read import Answer, Obj, assert_never
from allos.protocols._sse import SSEDecoder
from allos.types import (
    ChatRequest,
    ChatResponse,
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
    ToolSpec,
    Usage,
    UsageUpdate,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_QUIRKS",
    "PATH",
    "AnthropicQuirks",
    "StreamDecoder",
    "build_request",
    "parse_error",
    "parse_response",
    "parse_usage",
]

PATH: Final = "/v1/messages"
DEFAULT_API_VERSION: Final = "2023-06-01"
# pydantic-ai sends 4096 for every Anthropic model when the caller gives none [pydantic-ai models/anthropic.py];
# langchain-anthropic falls back to the same. Every current model accepts it.
DEFAULT_MAX_TOKENS: Final = 4096
# The first API version that refuses `temperature` / `top_p` / `top_k`, even at their defaults [research section 3:
# platform.claude.com/docs/en/api/versioning].
SAMPLING_REMOVED_IN: Final = "2026-10-21"
MAX_TEMPERATURE: Final = 1.0
# Sent when a failed tool returned no text: "content cannot be empty if `is_error` is true" (400) otherwise.
EMPTY_ERROR_RESULT: Final = "The tool failed without a message."
# Base64 image media types the API accepts [ant-py base64_image_source_param.py].
IMAGE_MEDIA_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

_SOURCES: Final = {
    "default_max_tokens": "max_tokens is required [anthropic-sdk-python message_create_params.py]; 4096 as in"
    " pydantic-ai models/anthropic.py",
    "api_version": "anthropic-version header, pinned to 2023-06-01; 2026-10-21 refuses temperature/top_p/top_k"
    " [platform.claude.com/docs/en/api/versioning]",
}


@dataclass(frozen=True)
class AnthropicQuirks:
    """How one alias departs from the reference Messages contract. The defaults are Anthropic's own API.

    `api_version` is the `anthropic-version` the body is built for; `AnthropicProvider` sets it from the header it
    actually sends, so that a body the chosen version refuses is refused before it leaves.
    """

    default_max_tokens: int = DEFAULT_MAX_TOKENS
    api_version: str = DEFAULT_API_VERSION
    sources: Mapping[str, str] = field(default_factory=lambda: dict(_SOURCES))


DEFAULT_QUIRKS: Final = AnthropicQuirks()

# Native stop reasons -> canonical [ant-py types/stop_reason.py]. `pause_turn` (a long server-tool turn paused),
# `model_context_window_exceeded` and anything new are "other"; the native word stays in `native_finish_reason`.
_FINISH_REASON: Final[dict[str, FinishReason]] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "other",
    "model_context_window_exceeded": "other",
}


# --- request ---------------------------------------------------------------------------------------------------------


def build_request(
    request: ChatRequest, quirks: AnthropicQuirks = DEFAULT_QUIRKS, *, provider: str = "anthropic"
) -> dict[str, Any]:
    """The JSON body for `request` in the Messages protocol.

    >>> from allos.types import ChatRequest, Message
    >>> build_request(ChatRequest(model="m", messages=[Message(role="system", content="Be brief."),
    ...                                                 Message(role="user", content="hi")]))
    {'model': 'm', 'max_tokens': 4096, 'messages': [{'role': 'user', 'content': 'hi'}], 'system': 'Be brief.'}
    """
    _refuse_unsupported(request, quirks, provider)
    id_map = remap_tool_call_ids(request.messages, TOOL_USE_ID)
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens if request.max_tokens is not None else quirks.default_max_tokens,
        "messages": _turns(request.messages, id_map, provider),
    }
    system = _system(request.messages, provider)
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [_tool(tool, provider) for tool in request.tools]
        choice = _tool_choice(request)
        if choice is not None:
            body["tool_choice"] = choice
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.response_format is not None and request.response_format.type == "json_schema":
        body["output_config"] = {"format": _output_format(request.response_format)}
    if request.stream:
        body["stream"] = True
    body.update(request.extra_body)
    return body


def _refuse(message: str, provider: str) -> InvalidRequestError:
    return InvalidRequestError(message, provider=provider)


def _refuse_unsupported(request: ChatRequest, quirks: AnthropicQuirks, provider: str) -> None:
    if request.previous_response_id is not None:
        raise _refuse(
            "previous_response_id needs a protocol that stores conversations (OpenAI Responses: alias 'openai');"
            " Anthropic Messages sends the whole history instead",
            provider,
        )
    if request.temperature is not None and request.temperature > MAX_TEMPERATURE:
        raise _refuse(
            f"temperature {request.temperature} is out of Anthropic's range 0.0-1.0"
            " (docs.claude.com/en/api/messages); rescale it",
            provider,
        )
    sampling = [name for name in ("temperature", "top_p") if getattr(request, name) is not None]
    if sampling and quirks.api_version >= SAMPLING_REMOVED_IN:
        raise _refuse(
            f"anthropic-version {quirks.api_version} refuses {', '.join(sampling)}"
            f" (source: {quirks.sources.get('api_version', 'platform.claude.com/docs/en/api/versioning')});"
            f" remove it, or pin ANTHROPIC_VERSION={DEFAULT_API_VERSION}",
            provider,
        )
    for stop in request.stop:
        if not stop.strip():
            raise _refuse(
                f"stop sequence {stop!r} is whitespace only, which Anthropic refuses (BerriAI/litellm#3286)", provider
            )
    if request.response_format is not None and request.response_format.type == "json_object":
        raise _refuse(
            "Anthropic has no JSON mode; ask for response_format type 'json_schema' with a schema instead", provider
        )


def _system(messages: Sequence[Message], provider: str) -> str:
    texts = []
    for message in messages:
        if message.role != "system":
            continue
        if isinstance(message.content, tuple) and any(isinstance(p, ImagePart) for p in message.content):
            raise _refuse("Anthropic's system prompt is text only; put the image in a user message", provider)
        if message.text.strip():
            texts.append(message.text)
    return "\n\n".join(texts)


class _Turn:
    """One wire turn being assembled from one or more canonical messages."""

    __slots__ = ("blocks", "role")

    def __init__(self, role: str) -> None:
        self.role = role
        self.blocks: list[dict[str, Any]] = []

    def ordered(self) -> list[dict[str, Any]]:
        # tool_result blocks lead a user turn; text leads an assistant turn, tool_use blocks end it.
        lead = "tool_result" if self.role == "user" else "text"
        first = [b for b in self.blocks if b["type"] == lead]
        return first + [b for b in self.blocks if b["type"] != lead]


def _turns(messages: Sequence[Message], id_map: Mapping[str, str], provider: str) -> list[dict[str, Any]]:
    turns: list[_Turn] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message, id_map, provider)
        if turns and turns[-1].role == role:
            turns[-1].blocks.extend(blocks)
        elif blocks:  # a turn with nothing to say is left out; its neighbours may then merge
            turns.append(_Turn(role))
            turns[-1].blocks.extend(blocks)
    _refuse_changed_ending(messages, turns, provider)
    wire = [{"role": turn.role, "content": turn.ordered()} for turn in turns]
    _strip_prefill(wire[-1])
    return [_compact(entry) for entry in wire]


def _refuse_changed_ending(messages: Sequence[Message], turns: Sequence[_Turn], provider: str) -> None:
    """Leaving out an empty last user turn would make the assistant turn before it a prefill: refused instead."""
    last = next((m for m in reversed(messages) if m.role != "system"), None)
    ends_with_assistant = last is not None and last.role == "assistant"
    if not turns or (turns[-1].role == "assistant" and not ends_with_assistant):
        raise _refuse(
            "the last message has no content Anthropic accepts (text must contain non-whitespace characters);"
            " leaving it out would change what is asked",
            provider,
        )


def _strip_prefill(last: dict[str, Any]) -> None:
    """A final assistant turn may not end with whitespace [tailcallhq/forgecode#1872]."""
    blocks = last["content"]
    if last["role"] == "assistant" and blocks[-1]["type"] == "text":
        blocks[-1] = {**blocks[-1], "text": blocks[-1]["text"].rstrip()}


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """A turn of exactly one text block is sent as a string: the same thing, shorter [ant-py message_param.py]."""
    blocks = entry["content"]
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return {"role": entry["role"], "content": blocks[0]["text"]}
    return entry


def _blocks(message: Message, id_map: Mapping[str, str], provider: str) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [_tool_result(message, id_map, provider)]
    images_allowed = message.role == "user"
    blocks = _content_blocks(message, provider, images=images_allowed)
    for call in message.tool_calls:
        blocks.append(_tool_use(call, id_map, provider))
    return blocks


def _content_blocks(message: Message, provider: str, *, images: bool) -> list[dict[str, Any]]:
    content = message.content
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    blocks: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            if part.text.strip():
                blocks.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            if not images:
                raise _refuse(
                    f"an {message.role} message cannot carry an image in Anthropic Messages;"
                    " put it in a user message or a tool result",
                    provider,
                )
            blocks.append(_image(part, provider))
        else:
            assert_never(part)
    return blocks


def _image(part: ImagePart, provider: str) -> dict[str, Any]:
    data, media_type = part.data, part.media_type
    if part.url is not None and part.url.startswith("data:"):
        header, _, data = part.url.partition(",")
        media_type = header[len("data:") :].split(";")[0]
        if ";base64" not in header:
            raise _refuse("an image data: URL must be base64-encoded for Anthropic", provider)
    elif part.url is not None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    if media_type not in IMAGE_MEDIA_TYPES:
        raise _refuse(
            f"image media type {media_type!r} is not one Anthropic accepts ({', '.join(sorted(IMAGE_MEDIA_TYPES))})",
            provider,
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _tool_use(call: ToolCall, id_map: Mapping[str, str], provider: str) -> dict[str, Any]:
    if call.raw_arguments is not None:
        raise _refuse(
            f"tool call {call.id!r} ({call.name}) has arguments that are not a JSON object ({call.arguments_error});"
            " Anthropic's tool_use.input must be an object: replace the call's arguments before sending",
            provider,
        )
    return {"type": "tool_use", "id": id_map.get(call.id, call.id), "name": call.name, "input": call.arguments}


def _tool_result(message: Message, id_map: Mapping[str, str], provider: str) -> dict[str, Any]:
    assert message.tool_call_id is not None  # guaranteed by Message
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": id_map.get(message.tool_call_id, message.tool_call_id),
    }
    content: str | list[dict[str, Any]]
    if isinstance(message.content, tuple):
        parts = _content_blocks(message, provider, images=True)
        content = parts[0]["text"] if len(parts) == 1 and parts[0]["type"] == "text" else parts
    else:
        content = message.content if message.content and message.content.strip() else ""
    if not content and message.is_error:
        content = EMPTY_ERROR_RESULT  # "content cannot be empty if `is_error` is true"
    if content:
        block["content"] = content  # optional [ant-py tool_result_block_param.py]; blank text is refused
    if message.is_error:
        block["is_error"] = True
    return block


def _tool(tool: ToolSpec, provider: str) -> dict[str, Any]:
    schema = tool.parameters
    if "type" not in schema:
        schema = {"type": "object", **schema}
    elif schema["type"] != "object":
        raise _refuse(f"tool {tool.name!r}: Anthropic's input_schema must be an object schema", provider)
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    out["input_schema"] = schema
    if tool.strict is not None:
        out["strict"] = tool.strict  # strict tool use [platform.claude.com structured-outputs; ant-py tool_param.py]
    return out


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    """[ant-py tool_choice_*_param.py]; parallel calls are switched off inside tool_choice, not at the top level."""
    choice = request.tool_choice
    out: dict[str, Any]
    if isinstance(choice, NamedToolChoice):
        out = {"type": "tool", "name": choice.name}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}  # ToolChoiceNoneParam has no disable_parallel_tool_use
    elif choice == "auto" or request.parallel_tool_calls is False:
        out = {"type": "auto"}
    else:
        return None
    if request.parallel_tool_calls is False:
        out["disable_parallel_tool_use"] = True
    return out


def _output_format(fmt: ResponseFormat) -> dict[str, Any]:
    """Structured outputs are GA as `output_config.format` [platform.claude.com/docs/en/build-with-claude/
    structured-outputs; ant-py output_config_param.py]; the output is always held to the schema, so the canonical
    `name` and `strict` have nothing to map to."""
    return {"type": "json_schema", "schema": fmt.json_schema}


# --- response --------------------------------------------------------------------------------------------------------


def finish_reason(native: str | None) -> FinishReason:
    """The canonical finish reason for a native `stop_reason`.

    >>> finish_reason("end_turn"), finish_reason("max_tokens"), finish_reason("pause_turn")
    ('stop', 'length', 'other')
    """
    return _FINISH_REASON.get(native or "", "other")


def parse_usage(data: Any, *, provider: str = "anthropic") -> Usage | None:
    """Usage from a `usage` object. Anthropic counts cache reads and writes apart from `input_tokens`; the canonical
    `input_tokens` is the total input, as in every other protocol ("Total input tokens in a request is the summation
    of input_tokens, cache_creation_input_tokens, and cache_read_input_tokens" [ant-py usage.py]).

    >>> parse_usage({"input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 7}).input_tokens
    105
    """
    if not isinstance(data, Mapping):
        return None
    return _usage(Obj(data, "usage", Answer(provider, f"{PATH} answer")))


def _usage(data: Obj) -> Usage:
    fresh = data.integer("input_tokens") or 0
    read = data.integer("cache_read_input_tokens")
    written = data.integer("cache_creation_input_tokens")
    total_input = fresh + (read or 0) + (written or 0)
    output = data.integer("output_tokens") or 0
    details = data.obj("output_tokens_details")
    return Usage(
        input_tokens=total_input,
        output_tokens=output,
        total_tokens=total_input + output,
        cached_input_tokens=read,
        cache_write_tokens=written,
        reasoning_tokens=details.integer("thinking_tokens") if details else None,
    )


def _refusal(stop_reason: Any, details: Any) -> str | None:
    """What a `refusal` stop says about itself: `stop_details.explanation`, else its category [ant-py
    refusal_stop_details.py]."""
    if stop_reason != "refusal" or not isinstance(details, Mapping):
        return None
    text = details.get("explanation") or details.get("category")
    return text if isinstance(text, str) and text else None


def _tool_call_of(block: Obj, position: int) -> ToolCall:
    name = block.string("name")
    if name is None:
        raise block.fail("(tool_use) has no name")
    call_id = block.string("id") or f"toolu_{position}"
    arguments = block.get("input")
    if isinstance(arguments, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(arguments))
    return ToolCall.from_json(call_id, name, None if arguments is None else json.dumps(arguments))


def parse_response(body: Any, *, provider: str = "anthropic") -> ChatResponse:
    """The canonical answer from a `message` body [ant-py types/message.py]; an error body is raised as one.

    >>> parse_response({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
    ...                 "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
    ...                 "usage": {"input_tokens": 3, "output_tokens": 1}}).text
    'Hi'
    """
    message = Obj.root(body, Answer(provider, f"{PATH} answer"))
    if message.get("type") == "error":
        raise error_from_payload(provider, message.data)
    if not isinstance(message.get("content"), list):
        raise message.fail("has no content list")
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    # Blocks that are not objects, redacted_thinking (opaque), server-tool blocks and future types carry nothing
    # canonical.
    for position, block in enumerate(message.objects("content", skip_others=True)):
        kind = block.string("type")
        if kind == "text":
            texts.append(block.text("text"))
        elif kind == "thinking":
            thoughts.append(block.text("thinking"))
        elif kind == "tool_use":
            calls.append(_tool_call_of(block, position))
    native = message.string("stop_reason")
    usage = message.obj("usage")
    return ChatResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        finish_reason=finish_reason(native),
        native_finish_reason=native,
        usage=_usage(usage) if usage else Usage(),
        model=message.string("model"),
        provider=provider,
        id=message.string("id"),
        reasoning="".join(thoughts) or None,
        refusal=_refusal(native, message.get("stop_details")),
        raw=dict(body),
    )


def parse_error(
    provider: str, status_code: int, text: str, headers: Mapping[str, str], *, key_env: str | None = None
) -> ProviderError:
    """An HTTP error answer -> the right ProviderError. Anthropic's body is `{"type": "error", "error": {"type",
    "message"}, "request_id"}` and every answer has a `request-id` header [docs.claude.com/en/api/errors]; 529
    `overloaded_error` is a ServerError (retried); 413 `request_too_large` comes from the 32 MB request limit.

    >>> body = '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "r1"}'
    >>> error = parse_error("anthropic", 529, body, {})
    >>> type(error).__name__, error.error_type, error.request_id
    ('ServerError', 'overloaded_error', 'r1')
    """
    error = error_from_response(provider, status_code, text, headers, key_env=key_env)
    if status_code == 413 and error.hint is None:
        error.hint = "a Messages request may be at most 32 MB: send fewer or smaller images"
    return error


# --- streaming -------------------------------------------------------------------------------------------------------


class _ToolBlock:
    __slots__ = ("done", "id", "initial", "name", "ordinal", "parts")

    def __init__(self, ordinal: int, call_id: str, name: str, initial: Any) -> None:
        self.ordinal = ordinal
        self.id = call_id
        self.name = name
        self.initial = initial
        self.parts: list[str] = []
        self.done = False

    def call(self) -> ToolCall:
        if self.parts:
            return ToolCall.from_json(self.id, self.name, "".join(self.parts))
        if isinstance(self.initial, Mapping):
            return ToolCall(id=self.id, name=self.name, arguments=dict(self.initial))
        return ToolCall(id=self.id, name=self.name)


class StreamDecoder:
    """Incremental decoder of a Messages SSE stream [docs.claude.com/en/api/messages-streaming; ant-py
    raw_message_stream_event.py].

    `message_start` gives the id, model and first usage; `content_block_start` / `_delta` / `_stop` carry text
    (`text_delta`), reasoning (`thinking_delta`) and tool calls (`input_json_delta` fragments joined per block
    index, closed by `content_block_stop` as `ToolCallDone`; canonical indexes count tool calls only). Usage in
    `message_delta` is cumulative: it replaces what came before, field by field. `ping`, `signature_delta`,
    `citations_delta` and unknown events are skipped; an `error` event raises the matching ProviderError
    (`overloaded_error` -> ServerError). `StreamEnd` follows `message_stop`; a stream that ends before it raises
    `IncompleteStreamError` with what arrived.
    """

    def __init__(self, *, provider: str = "anthropic", key_env: str | None = None) -> None:
        self.provider = provider
        self._key_env = key_env
        self._sse = SSEDecoder()
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tools: dict[int, _ToolBlock] = {}
        self._usage: dict[str, Any] = {}
        self._stop_reason: str | None = None
        self._stop_details: Any = None
        self._model: str | None = None
        self._id: str | None = None
        self._done = False
        self._events = 0

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self._sse.feed(chunk):
            if not self._done:
                self._on_event(sse.event, sse.data, events)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for sse in self._sse.finish():
            if not self._done:
                self._on_event(sse.event, sse.data, events)
        if not self._done:
            raise IncompleteStreamError(
                "the stream ended before message_stop", provider=self.provider, partial=self.partial()
            )
        return events

    def partial(self) -> ChatResponse:
        """What has arrived so far, assembled (unfinished tool calls with what their arguments have so far)."""
        calls = tuple(block.call() for block in sorted(self._tools.values(), key=lambda b: b.ordinal))
        return ChatResponse(
            text="".join(self._text),
            tool_calls=calls,
            finish_reason=finish_reason(self._stop_reason),
            native_finish_reason=self._stop_reason,
            usage=parse_usage(self._usage) or Usage(),
            model=self._model,
            provider=self.provider,
            id=self._id,
            reasoning="".join(self._reasoning) or None,
            refusal=_refusal(self._stop_reason, self._stop_details),
        )

    def _on_event(self, name: str | None, data: str, events: list[StreamEvent]) -> None:
        if name == "ping" or not data.strip():
            return
        self._events += 1
        answer = Answer(self.provider, f"{PATH} stream event {self._events}", top="the event")
        event = Obj.root(answer.loads(data), answer)
        payload = event.data
        kind = event.string("type") or name
        if kind == "error":
            raise error_from_payload(self.provider, payload, key_env=self._key_env)
        if kind == "message_start":
            self._on_message_start(payload.get("message"), events)
        elif kind == "content_block_start":
            self._on_block_start(payload, events)
        elif kind == "content_block_delta":
            self._on_block_delta(payload, events)
        elif kind == "content_block_stop":
            self._on_block_stop(payload, events)
        elif kind == "message_delta":
            self._on_message_delta(payload, events)
        elif kind == "message_stop":
            self._done = True
            events.append(StreamEnd(response=self.partial()))
        # ping and event types added later: nothing to do [docs.claude.com/en/api/messages-streaming].

    def _on_message_start(self, message: Any, events: list[StreamEvent]) -> None:
        if not isinstance(message, Mapping):
            raise ResponseParseError("message_start carries no message", provider=self.provider)
        start = Obj(message, "message", Answer(self.provider, f"{PATH} stream event {self._events}"))
        self._id = start.string("id")
        self._model = start.string("model")
        self._update_usage(message.get("usage"), events)

    def _on_block_start(self, payload: Mapping[str, Any], events: list[StreamEvent]) -> None:
        index = self._index(payload)
        block = payload.get("content_block")
        if not isinstance(block, Mapping):
            raise ResponseParseError(f"content_block_start {index} has no content_block", provider=self.provider)
        kind = block.get("type")
        if kind == "text":
            self._on_text(str(block.get("text") or ""), events)
        elif kind == "thinking":
            self._on_thinking(str(block.get("thinking") or ""), events)
        elif kind == "tool_use":
            name = block.get("name")
            if not isinstance(name, str):
                raise ResponseParseError(f"tool_use block {index} has no name", provider=self.provider)
            call_id = str(block.get("id") or f"toolu_{len(self._tools)}")
            tool = _ToolBlock(len(self._tools), call_id, name, block.get("input"))
            self._tools[index] = tool
            events.append(ToolCallDelta(index=tool.ordinal, id=call_id, name=name))

    def _on_block_delta(self, payload: Mapping[str, Any], events: list[StreamEvent]) -> None:
        index = self._index(payload)
        delta = payload.get("delta")
        if not isinstance(delta, Mapping):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self._on_text(str(delta.get("text") or ""), events)
        elif kind == "thinking_delta":
            self._on_thinking(str(delta.get("thinking") or ""), events)
        elif kind == "input_json_delta":
            tool = self._tools.get(index)
            if tool is None:
                raise ResponseParseError(f"input_json_delta for block {index}, not a tool_use", provider=self.provider)
            fragment = str(delta.get("partial_json") or "")
            if fragment:
                tool.parts.append(fragment)
                events.append(ToolCallDelta(index=tool.ordinal, arguments_delta=fragment))
        # signature_delta (thinking signatures we do not send back) and citations_delta: nothing canonical.

    def _on_block_stop(self, payload: Mapping[str, Any], events: list[StreamEvent]) -> None:
        tool = self._tools.get(self._index(payload))
        if tool is not None and not tool.done:
            tool.done = True
            events.append(ToolCallDone(index=tool.ordinal, tool_call=tool.call()))

    def _on_message_delta(self, payload: Mapping[str, Any], events: list[StreamEvent]) -> None:
        delta = payload.get("delta")
        if isinstance(delta, Mapping):
            stop_reason = Obj(delta, "delta", Answer(self.provider, f"{PATH} stream event {self._events}"))
            if stop_reason.string("stop_reason") is not None:
                self._stop_reason = stop_reason.string("stop_reason")
            if delta.get("stop_details") is not None:
                self._stop_details = delta["stop_details"]
        self._update_usage(payload.get("usage"), events)

    def _update_usage(self, usage: Any, events: list[StreamEvent]) -> None:
        if not isinstance(usage, Mapping):
            return
        # Cumulative counts: a field present replaces the earlier one; an absent or null one keeps it [ant-py
        # lib/streaming/_messages.py accumulate_event].
        self._usage.update({key: value for key, value in usage.items() if value is not None})
        parsed = parse_usage(self._usage)
        if parsed is not None:
            events.append(UsageUpdate(usage=parsed))

    def _on_text(self, text: str, events: list[StreamEvent]) -> None:
        if text:
            self._text.append(text)
            events.append(TextDelta(text=text))

    def _on_thinking(self, text: str, events: list[StreamEvent]) -> None:
        if text:
            self._reasoning.append(text)
            events.append(ReasoningDelta(text=text))

    def _index(self, payload: Mapping[str, Any]) -> int:
        index = payload.get("index")
        if not isinstance(index, int):
            raise ResponseParseError(f"a {payload.get('type')} event has no block index", provider=self.provider)
        return index


def iter_events(decoder: StreamDecoder, chunks: Iterable[bytes]) -> list[StreamEvent]:
    """Decode a whole stream at once (tests, benchmarks): every chunk fed, then `finish()`."""
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events
