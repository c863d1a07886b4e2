"""The OpenAI Responses protocol (`POST {base_url}/responses`), as pure functions.

    canonical ChatRequest --build_request--> JSON body         (quirks applied here, and only here)
    JSON body ------------parse_response---> ChatResponse
    SSE bytes ------------StreamDecoder----> StreamEvent*      (feed(bytes) / finish(), incremental)
    error answer ---------parse_error------> ProviderError

No network, no globals: the Provider moves the bytes. Facts about the wire come from the OpenAI OpenAPI spec
(`CreateResponse`, `Response`, `ResponseStreamEvent`), cited as [OAS], from the official Python SDK's types
(`openai/types/responses/*.py`), cited as [oai-py].

Translation policy:
- Every system message, wherever it stands, goes into `instructions`, joined with a blank line; the `input` items
  carry the rest in order: a user turn is a `message` with `input_text` / `input_image` parts; an assistant turn is
  a `message` whose content is its text (the id-less assistant shape of the conversation-state guide), then one
  `function_call` item per call; a tool turn is a `function_call_output` item with the same `call_id`.
- Assistant text goes back as a string, not as `output_text` parts: an `output_text` part lives only in an output
  message, which needs the item's own `id` (`msg_...`) and `status` [oai-py `ResponseOutputMessageParam`], and
  OpenAI rejects ids it did not mint ("Expected an ID that begins with 'msg'" [langchain-ai/langchain PR #39116]).
  The string form is the one the guide shows [developers.openai.com/api/docs/guides/conversation-state].
- A tool result marked `is_error` is sent with the prefix `Error: `, as Chat Completions does: a
  `function_call_output` has no error flag [oai-py `response_input_param.py::FunctionCallOutput`].
- Call ids longer than 64 characters are re-mapped consistently (`allos.protocols._ids.MAX64`): `call_id` is 1-64
  characters [OAS `FunctionCallOutputItemParam`].
- A tool whose `strict` is unset is sent with `strict: false`: the SDK requires the key [oai-py
  `function_tool_param.py`] and the server's default is `true` [oai-py `function_tool.py` "Default `true`"], which
  would reject ordinary schemas; false is Chat Completions' default, so a tool behaves the same on both routes.
- What the protocol cannot express is refused with `InvalidRequestError`, nothing sent: stop sequences and `seed`
  (no such fields in `CreateResponse` [OAS; oai-py `response_create_params.py`]), `max_tokens` below 16 (the
  minimum of `max_output_tokens` [OAS]), images outside user and tool turns.
- Dropped because the protocol has no place for them and they change no semantics: a message's advisory `name`, and
  an earlier assistant turn's `reasoning` (reasoning items can only be replayed by their server-minted id).
- `store` is not sent unless the quirks say so: the server then stores the response (default `true` [OAS]), which
  `previous_response_id` needs. `extra_body={"store": False}` opts out per call.
- With `previous_response_id`, the server already holds everything up to its response, so `input` carries only the
  user and tool messages after the last assistant message; `instructions` still carries every system message,
  because instructions are not carried over from the previous response [OAS `CreateResponse.instructions`].
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from allos import _json
from allos.errors import (
    IncompleteStreamError,
    InvalidRequestError,
    ProviderError,
    make_status_error,
)
from allos.protocols._errors import error_from_payload, error_from_response
from allos.protocols._ids import MAX64, IdFormat, remap_tool_call_ids
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
    ToolChoice,
    ToolSpec,
    Usage,
    UsageUpdate,
)

__all__ = [
    "DEFAULT_QUIRKS",
    "PATH",
    "ResponsesQuirks",
    "StreamDecoder",
    "build_request",
    "parse_error",
    "parse_response",
    "parse_usage",
]

PATH: Final = "/responses"
TOOL_ERROR_PREFIX: Final = "Error: "

_REFERENCE_SOURCES: Final[Mapping[str, str]] = {
    "tool_call_ids": "openai-openapi FunctionCallOutputItemParam: call_id 1-64 characters",
    "default_strict": "oai-py function_tool_param.py (strict required); function_tool.py: server default true",
    "min_output_tokens": "openai-openapi CreateResponse.max_output_tokens: minimum 16",
    "store": "openai-openapi CreateResponse.store: default true; previous_response_id needs a stored response",
    "no_stop_sequences": "openai-openapi CreateResponse and oai-py response_create_params.py: no stop field",
}


@dataclass(frozen=True)
class ResponsesQuirks:
    """How one alias departs from the reference Responses contract. The defaults are OpenAI's [OAS]."""

    tool_call_ids: IdFormat | None = MAX64
    # `strict` sent for a tool whose ToolSpec.strict is None.
    default_strict: bool = False
    # `max_tokens` below this is refused rather than sent to be rejected.
    min_output_tokens: int = 16
    # None: `store` is not sent (the server's default applies).
    store: bool | None = None
    # The documentation each quirk comes from: quirk name -> source. Shown in docs and in errors.
    sources: Mapping[str, str] = field(default_factory=lambda: dict(_REFERENCE_SOURCES))


DEFAULT_QUIRKS: Final = ResponsesQuirks()

# `incomplete_details.reason` -> canonical [oai-py types/responses/response.py IncompleteDetails].
_INCOMPLETE_REASON: Final[dict[str, FinishReason]] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}

# Error codes of a failed response [oai-py types/responses/response_error.py]: the HTTP status class each stands for.
# Codes not listed here (and those of `error` stream events) are classified by `allos.protocols._errors`.
_ERROR_CODE_STATUS: Final[dict[str, int]] = {
    "server_error": 500,
    "vector_store_timeout": 500,
    "rate_limit_exceeded": 429,
    "invalid_prompt": 400,
    "data_residency_mismatch": 400,
    "bio_policy": 400,
    "misalignment_policy_violation": 400,
    "invalid_image": 400,
    "invalid_image_format": 400,
    "invalid_base64_image": 400,
    "invalid_image_url": 400,
    "image_too_large": 400,
    "image_too_small": 400,
    "image_parse_error": 400,
    "image_content_policy_violation": 400,
    "invalid_image_mode": 400,
    "image_file_too_large": 400,
    "unsupported_image_media_type": 400,
    "empty_image_file": 400,
    "failed_to_download_image": 400,
    "image_file_not_found": 400,
}


# --- request ----------------------------------------------------------------------------------------------------------


def build_request(
    request: ChatRequest, quirks: ResponsesQuirks = DEFAULT_QUIRKS, *, provider: str = "responses"
) -> dict[str, Any]:
    """The JSON body for `request`.

    >>> from allos.types import ChatRequest, Message
    >>> build_request(ChatRequest(model="m", messages=[Message(role="system", content="Be brief."),
    ...                                                Message(role="user", content="hi")]))
    {'model': 'm', 'instructions': 'Be brief.', 'input': [{'type': 'message', 'role': 'user', \
'content': [{'type': 'input_text', 'text': 'hi'}]}]}
    """
    _refuse_inexpressible(request, quirks, provider)
    id_map = remap_tool_call_ids(request.messages, quirks.tool_call_ids) if quirks.tool_call_ids else {}
    body: dict[str, Any] = {"model": request.model}
    instructions = _instructions(request.messages, provider)
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = [item for m in _input_messages(request, provider) for item in _items(m, id_map, provider)]
    if request.previous_response_id is not None:
        body["previous_response_id"] = request.previous_response_id
    if request.tools:
        body["tools"] = [_tool(tool, quirks) for tool in request.tools]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    if request.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = request.parallel_tool_calls
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.response_format is not None:
        body["text"] = {"format": _text_format(request.response_format)}
    if quirks.store is not None:
        body["store"] = quirks.store
    if request.stream:
        body["stream"] = True
    body.update(request.extra_body)
    return body


def _refuse_inexpressible(request: ChatRequest, quirks: ResponsesQuirks, provider: str) -> None:
    if request.stop:
        source = quirks.sources.get("no_stop_sequences", "the OpenAI Responses API reference")
        raise InvalidRequestError(
            f"the Responses API has no stop sequences; remove stop= (source: {source})", provider=provider
        )
    if request.seed is not None:
        raise InvalidRequestError(
            "the Responses API has no seed field; remove seed= (source: openai-openapi CreateResponse)",
            provider=provider,
        )
    if request.max_tokens is not None and request.max_tokens < quirks.min_output_tokens:
        source = quirks.sources.get("min_output_tokens", "the OpenAI Responses API reference")
        raise InvalidRequestError(
            f"max_tokens={request.max_tokens} is below {quirks.min_output_tokens}, the minimum of the Responses"
            f" field max_output_tokens (source: {source})",
            provider=provider,
        )


def _instructions(messages: Iterable[Message], provider: str) -> str | None:
    texts = [_text_only(m, provider) for m in messages if m.role == "system"]
    return "\n\n".join(texts) if texts else None


def _input_messages(request: ChatRequest, provider: str) -> Sequence[Message]:
    """The non-system messages to send: all of them, or only those after the last assistant turn when the server
    holds the conversation under `previous_response_id`."""
    messages = [m for m in request.messages if m.role != "system"]
    if request.previous_response_id is None:
        return messages
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    new = messages[last_assistant + 1 :]
    if not new:
        raise InvalidRequestError(
            "with previous_response_id, the messages must end with something new after the last assistant turn"
            " (a user message or tool results)",
            provider=provider,
        )
    return new


def _text_only(message: Message, provider: str) -> str:
    content = message.content
    if isinstance(content, tuple) and any(isinstance(part, ImagePart) for part in content):
        raise InvalidRequestError(
            f"a {message.role} message cannot carry an image in the Responses API; put it in a user message",
            provider=provider,
        )
    return message.text


def _part(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url if part.url is not None else f"data:{part.media_type};base64,{part.data}"
        # `detail` is required by the SDK's type [oai-py response_input_image_param.py]; "auto" is the default.
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    assert_never(part)


def _parts(content: str | tuple[TextPart | ImagePart, ...] | None) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return [{"type": "input_text", "text": content or ""}]
    return [_part(part) for part in content]


def _items(message: Message, id_map: Mapping[str, str], provider: str) -> list[dict[str, Any]]:
    if message.role == "user":
        return [{"type": "message", "role": "user", "content": _parts(message.content)}]
    if message.role == "assistant":
        items: list[dict[str, Any]] = []
        text = _text_only(message, provider)
        if text:
            items.append({"type": "message", "role": "assistant", "content": text})
        items.extend(_function_call(call, id_map) for call in message.tool_calls)
        return items
    if message.role == "tool":
        return [_function_call_output(message, id_map)]
    if message.role == "system":
        return []  # sent as instructions
    assert_never(message.role)


def _function_call(call: ToolCall, id_map: Mapping[str, str]) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": id_map.get(call.id, call.id),
        "name": call.name,
        "arguments": call.arguments_json(),
    }


def _function_call_output(message: Message, id_map: Mapping[str, str]) -> dict[str, Any]:
    assert message.tool_call_id is not None  # guaranteed by Message
    output: str | list[dict[str, Any]]
    content = message.content
    prefix = TOOL_ERROR_PREFIX if message.is_error else ""
    if isinstance(content, tuple) and any(isinstance(part, ImagePart) for part in content):
        # An output may be a list of input parts [oai-py ResponseFunctionCallOutputItemListParam]: images survive.
        output = ([{"type": "input_text", "text": prefix}] if prefix else []) + _parts(content)
    else:
        output = prefix + message.text
    return {
        "type": "function_call_output",
        "call_id": id_map.get(message.tool_call_id, message.tool_call_id),
        "output": output,
    }


def _tool(tool: ToolSpec, quirks: ResponsesQuirks) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        spec["description"] = tool.description
    spec["parameters"] = tool.parameters
    spec["strict"] = tool.strict if tool.strict is not None else quirks.default_strict
    return spec


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, NamedToolChoice):
        return {"type": "function", "name": choice.name}  # flat, not nested under `function` [OAS ToolChoiceFunction]
    return choice


def _text_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    spec: dict[str, Any] = {"type": "json_schema", "name": fmt.name, "schema": fmt.json_schema}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return spec


# --- response ---------------------------------------------------------------------------------------------------------


def parse_usage(data: Any, *, provider: str = "responses") -> Usage | None:
    """Usage from a response's `usage` [OAS `ResponseUsage`]: input/output/total, cache and reasoning counts.

    >>> parse_usage({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7,
    ...              "input_tokens_details": {"cached_tokens": 3}, "output_tokens_details": {"reasoning_tokens": 1}})
    Usage(input_tokens=5, output_tokens=2, total_tokens=7, cached_input_tokens=3, cache_write_tokens=None, \
reasoning_tokens=1, cost=None)
    """
    if not isinstance(data, Mapping):
        return None
    return _usage(Obj(data, "usage", Answer(provider, f"{PATH} answer")))


def _usage(data: Obj) -> Usage:
    input_details = data.obj("input_tokens_details")
    output_details = data.obj("output_tokens_details")
    return Usage(
        input_tokens=data.integer("input_tokens") or 0,
        output_tokens=data.integer("output_tokens") or 0,
        total_tokens=data.integer("total_tokens"),
        cached_input_tokens=input_details.integer("cached_tokens") if input_details else None,
        # newer [oai-py response_usage.py]
        cache_write_tokens=input_details.integer("cache_write_tokens") if input_details else None,
        reasoning_tokens=output_details.integer("reasoning_tokens") if output_details else None,
    )


def _finish(response: Obj, has_tool_calls: bool) -> tuple[FinishReason, str | None]:
    """(canonical, native) from `status` and `incomplete_details.reason`."""
    status = response.string("status")
    if status == "completed":
        return ("tool_calls" if has_tool_calls else "stop"), "completed"
    if status == "incomplete":
        incomplete = response.obj("incomplete_details")
        reason = incomplete.string("reason") if incomplete else None
        return _INCOMPLETE_REASON.get(reason or "", "other"), (reason or "incomplete")
    return "other", status


def _tool_call_from_item(item: Obj) -> ToolCall:
    name = item.string("name")
    if not name:
        raise item.fail("is a function_call output item that has no name")
    call_id = item.string("call_id") or item.string("id") or ""
    return ToolCall.from_json(call_id, name, item.arguments("arguments"))


class _Output:
    """What the `output` items say, read once."""

    def __init__(self, response: Obj) -> None:
        texts: list[str] = []
        refusals: list[str] = []
        thoughts: list[str] = []
        calls: list[ToolCall] = []
        for item in response.objects("output"):
            kind = item.string("type")
            if kind == "message":
                for part in item.objects("content", skip_others=True):
                    part_kind = part.string("type")
                    if part_kind == "output_text":
                        texts.append(part.text("text"))
                    elif part_kind == "refusal":
                        refusals.append(part.text("refusal"))
            elif kind == "function_call":
                calls.append(_tool_call_from_item(item))
            elif kind == "reasoning":
                thoughts.extend(_reasoning_texts(item))
            # Built-in tool items (web_search_call, ...) come only when asked for; Allos never asks.
        self.text = "".join(texts)
        self.refusal = "".join(refusals) or None
        self.reasoning = "\n\n".join(t for t in thoughts if t) or None
        self.tool_calls = tuple(calls)


def _reasoning_texts(item: Obj) -> list[str]:
    """The summaries of a reasoning item; its raw `reasoning_text` content when it has none (open-weight servers)."""
    summary = [s.text("text") for s in item.objects("summary", skip_others=True)]
    if any(summary):
        return summary
    content = item.objects("content", skip_others=True)
    return [c.text("text") for c in content if c.string("type") == "reasoning_text"]


def parse_response(body: Any, *, provider: str = "responses") -> ChatResponse:
    """The canonical answer from a `response` object; a failed response is raised as the ProviderError it names.

    >>> parse_response({"id": "resp_1", "status": "completed", "model": "m", "output": [{"type": "message",
    ...     "content": [{"type": "output_text", "text": "Hello"}]}]}, provider="openai").text
    'Hello'
    """
    return _parse(Obj.root(body, Answer(provider, f"{PATH} answer")))


def _parse(response: Obj) -> ChatResponse:
    provider = response.answer.provider
    status = response.string("status")
    if status == "failed" or (status is None and response.get("error")):
        raise _failed(provider, response.data)
    if not isinstance(response.get("output"), list):
        raise response.fail("has no output list")
    read = _Output(response)
    finish, native = _finish(response, bool(read.tool_calls))
    usage = response.obj("usage")
    return ChatResponse(
        text=read.text,
        tool_calls=read.tool_calls,
        finish_reason=finish,
        native_finish_reason=native,
        usage=_usage(usage) if usage else Usage(),
        model=response.string("model"),
        provider=provider,
        id=response.string("id"),
        reasoning=read.reasoning,
        refusal=read.refusal,
        raw=dict(response.data),
    )


def _failed(provider: str, body: Mapping[str, Any], *, key_env: str | None = None) -> ProviderError:
    error = body.get("error")
    inner: Mapping[str, Any] = error if isinstance(error, Mapping) else {"message": "the response failed"}
    return _payload_error(provider, inner, body, key_env=key_env)


def _payload_error(
    provider: str, inner: Mapping[str, Any], raw: Mapping[str, Any], *, key_env: str | None = None
) -> ProviderError:
    """An error carried by a 200 answer (a failed response, an `error` event) -> the ProviderError its code names."""
    code = inner.get("code")
    status = _ERROR_CODE_STATUS.get(str(code))
    if status is None:
        return error_from_payload(provider, {"error": dict(inner)}, key_env=key_env)
    error = make_status_error(
        provider,
        status,
        str(inner.get("message") or code),
        error_type=str(inner["type"]) if inner.get("type") else None,
        code=str(code),
        request_id=None,
        body=json.dumps(raw)[:4096],
        key_env=key_env,
    )
    error.status_code = None  # the HTTP status was 200: the class says what failed, not a status
    return error


def parse_error(
    provider: str, status_code: int, text: str, headers: Mapping[str, str], *, key_env: str | None = None
) -> ProviderError:
    """An HTTP error answer -> the right ProviderError: `{"error": {message, type, param, code}}` as for Chat
    Completions [OAS `ErrorResponse`], and every other shape `allos.protocols._errors` knows."""
    return error_from_response(provider, status_code, text, headers, key_env=key_env)


# --- streaming --------------------------------------------------------------------------------------------------------


class _CallBuilder:
    __slots__ = ("arguments", "done", "id", "name")

    def __init__(self, call_id: str | None, name: str | None) -> None:
        self.id = call_id
        self.name = name
        self.arguments: list[str] = []
        self.done: ToolCall | None = None


_TERMINAL: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})


class StreamDecoder:
    """Incremental decoder of a Responses SSE stream [OAS `ResponseStreamEvent`].

    Events are named; the JSON `type` decides (the SSE `event:` line when a server omits it). Text deltas become
    `TextDelta`, reasoning summary (and raw reasoning) deltas `ReasoningDelta`, function-call arguments
    `ToolCallDelta` / `ToolCallDone` keyed by `output_index`. The terminal `response.completed` /
    `response.incomplete` carries the whole response: `StreamEnd` is built from it by `parse_response`, so it equals
    the non-streaming answer. `response.failed` and an `error` event raise the ProviderError they name. There is no
    `[DONE]` sentinel [OAS]; a stream that ends before a terminal event raises `IncompleteStreamError` with what
    arrived.
    """

    def __init__(self, *, provider: str = "responses", key_env: str | None = None) -> None:
        self.provider = provider
        self._key_env = key_env
        self._sse = SSEDecoder()
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _CallBuilder] = {}
        self._items: dict[int, Mapping[str, Any]] = {}
        self._id: str | None = None
        self._model: str | None = None
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
            if self._done:
                break
            try:
                _json.loads(sse.data)
            except ValueError:
                # An event without its closing blank line whose JSON is cut short: the stream was cut mid-event.
                break
            self._on_event(sse.event, sse.data, events)
        if not self._done:
            raise IncompleteStreamError(
                "the stream ended before response.completed, response.incomplete or response.failed",
                provider=self.provider,
                partial=self.partial(),
            )
        return events

    def partial(self) -> ChatResponse:
        """What has arrived so far, assembled."""
        calls = []
        for index, builder in sorted(self._calls.items()):
            if builder.done is not None:
                calls.append(builder.done)
            elif builder.name:
                calls.append(
                    ToolCall.from_json(builder.id or f"call_{index}", builder.name, "".join(builder.arguments))
                )
        return ChatResponse(
            text="".join(self._text),
            tool_calls=tuple(calls),
            finish_reason="other",
            model=self._model,
            provider=self.provider,
            id=self._id,
            reasoning="".join(self._reasoning) or None,
            refusal="".join(self._refusal) or None,
        )

    # --- events ----------------------------------------------------------------------------------------------------

    def _on_event(self, name: str | None, data: str, events: list[StreamEvent]) -> None:
        if data.startswith("[DONE]"):
            return  # not part of the protocol; some compatible servers send it after the terminal event anyway
        self._events += 1
        answer = Answer(self.provider, f"{PATH} stream event {self._events}", top="the event")
        payload = Obj.root(answer.loads(data), answer)
        kind = payload.string("type") or name
        if kind == "error":
            inner = payload.get("error")
            fields = inner if isinstance(inner, Mapping) else {k: v for k, v in payload.items() if k != "type"}
            raise _payload_error(self.provider, fields, payload.data, key_env=self._key_env)
        if kind in _TERMINAL:
            self._on_terminal(payload, events)
            return
        handler = _HANDLERS.get(kind or "")
        if handler is not None:
            handler(self, payload, events)

    def _on_lifecycle(self, payload: Obj, events: list[StreamEvent]) -> None:
        response = payload.obj("response")
        if response is not None:
            self._id = self._id or response.string("id")
            self._model = self._model or response.string("model")

    def _on_text(self, payload: Obj, events: list[StreamEvent]) -> None:
        delta = payload.string("delta")
        if delta:
            self._text.append(delta)
            events.append(TextDelta(text=delta))

    def _on_refusal(self, payload: Obj, events: list[StreamEvent]) -> None:
        delta = payload.string("delta")
        if delta:
            self._refusal.append(delta)  # no canonical event: it arrives whole in StreamEnd.response.refusal

    def _on_reasoning(self, payload: Obj, events: list[StreamEvent]) -> None:
        delta = payload.string("delta")
        if delta:
            self._reasoning.append(delta)
            events.append(ReasoningDelta(text=delta))

    def _on_item_added(self, payload: Obj, events: list[StreamEvent]) -> None:
        item = payload.obj("item")
        index = payload.integer("output_index")
        if item is None or item.string("type") != "function_call" or index is None:
            return
        builder = _CallBuilder(item.string("call_id") or None, item.string("name") or None)
        self._calls[index] = builder
        arguments = item.arguments("arguments") or ""
        if arguments:
            builder.arguments.append(arguments)
        events.append(ToolCallDelta(index=index, id=builder.id, name=builder.name, arguments_delta=arguments))

    def _on_arguments_delta(self, payload: Obj, events: list[StreamEvent]) -> None:
        index = payload.integer("output_index")
        delta = payload.string("delta")
        if index is None or delta is None:
            return
        builder = self._calls.setdefault(index, _CallBuilder(None, None))
        builder.arguments.append(delta)
        events.append(ToolCallDelta(index=index, arguments_delta=delta))

    def _on_arguments_done(self, payload: Obj, events: list[StreamEvent]) -> None:
        index = payload.integer("output_index")
        if index is None:
            return
        builder = self._calls.setdefault(index, _CallBuilder(None, None))
        arguments = payload.arguments("arguments")
        item = {
            "name": payload.string("name") or builder.name,
            "call_id": builder.id,
            "arguments": arguments if arguments is not None else "".join(builder.arguments),
        }
        self._close_call(index, Obj(item, payload.path, payload.answer), events)

    def _on_item_done(self, payload: Obj, events: list[StreamEvent]) -> None:
        item = payload.obj("item")
        index = payload.integer("output_index")
        if item is None or index is None:
            return
        self._items[index] = item.data
        if item.string("type") == "function_call":
            self._close_call(index, item, events)

    def _close_call(self, index: int, item: Obj, events: list[StreamEvent]) -> None:
        builder = self._calls.setdefault(index, _CallBuilder(None, None))
        if builder.done is not None:
            return
        builder.id = builder.id or item.string("call_id") or None
        builder.name = builder.name or item.string("name") or None
        call = _tool_call_from_item(
            Obj({**item.data, "call_id": builder.id, "name": builder.name}, item.path, item.answer)
        )
        builder.done = call
        events.append(ToolCallDone(index=index, tool_call=call))

    def _on_terminal(self, payload: Obj, events: list[StreamEvent]) -> None:
        response = payload.obj("response")
        if response is None:
            raise payload.fail(f"({payload.string('type')}) carries no response object")
        if response.string("status") == "failed" or payload.string("type") == "response.failed":
            raise _failed(self.provider, response.data, key_env=self._key_env)
        if not response.get("output") and self._items:
            # Lenient: a server that sends the terminal response without its output; the items arrived one by one.
            merged = {**response.data, "output": [item for _, item in sorted(self._items.items())]}
            response = Obj(merged, response.path, response.answer)
        answer = _parse(response)
        self._done = True
        for index, item in enumerate(response.objects("output")):
            if item.string("type") == "function_call":
                self._close_call(index, item, events)
        if response.obj("usage") is not None:
            events.append(UsageUpdate(usage=answer.usage))
        events.append(StreamEnd(response=answer))


_HANDLERS: Final = {
    "response.created": StreamDecoder._on_lifecycle,
    "response.in_progress": StreamDecoder._on_lifecycle,
    "response.queued": StreamDecoder._on_lifecycle,
    "response.output_item.added": StreamDecoder._on_item_added,
    "response.output_text.delta": StreamDecoder._on_text,
    "response.refusal.delta": StreamDecoder._on_refusal,
    "response.reasoning_summary_text.delta": StreamDecoder._on_reasoning,
    "response.reasoning_text.delta": StreamDecoder._on_reasoning,
    "response.function_call_arguments.delta": StreamDecoder._on_arguments_delta,
    "response.function_call_arguments.done": StreamDecoder._on_arguments_done,
    "response.output_item.done": StreamDecoder._on_item_done,
}


def iter_events(decoder: StreamDecoder, chunks: Iterable[bytes]) -> list[StreamEvent]:
    """Decode a whole stream at once (tests, benchmarks): every chunk fed, then `finish()`."""
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events
