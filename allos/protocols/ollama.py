"""Ollama's native protocol (`POST {base_url}/api/chat`, and model management), as pure functions.

    canonical ChatRequest --build_request--> JSON body
    JSON body ------------parse_response---> ChatResponse
    NDJSON bytes ---------StreamDecoder----> StreamEvent*      (feed(bytes) / finish(), incremental)
    error answer ---------parse_error------> ProviderError
    /api/tags, /api/show, /api/pull bodies -> LocalModel, ModelInfo, PullProgress

No network, no globals: the Provider moves the bytes. Wire facts come from Ollama's Go types (`api/types.go`), its
API docs (`docs/api.md`, `docs/api/streaming.mdx`, `docs/api/errors.mdx`), cited as [ollama ...].
The official Python SDK's `ollama._types` is the test oracle.

Translation policy:
- `stream` is always sent, `true` or `false`: the server streams when it is omitted [ollama api/types.go
  ChatRequest.Stream "true by default"].
- Sampling settings go in `options`: `num_predict` (max_tokens), `temperature`, `top_p`, `stop`, `seed`
  [ollama api/types.go::Options]. An `options` object in `extra_body` is merged into them, key by key.
- Content is a string [ollama api/types.go::Message]: text parts are joined; base64 images go to `images` (user
  turns only); an image given by URL cannot be carried and raises `InvalidRequestError`.
- Assistant tool calls carry `arguments` as a JSON object, never a string [ollama docs/api.md]. A call whose raw
  arguments were never a valid JSON object is sent as `{"_raw_arguments": "<the text>"}`: nothing is lost, the
  request stays valid, and the model sees what it wrote.
- A tool result names its tool in `tool_name` (looked up by `tool_call_id` among the calls made before it, the
  latest first) [ollama docs/api.md]; the id goes along in `tool_call_id`. Ollama has no error flag: a result
  marked `is_error` is sent as text prefixed `Error: `.
- Ollama has no `tool_choice` [ollama api/types.go::ChatRequest]: "auto" is its behaviour, "none" is honoured by not
  sending the tools; "required" and a named tool cannot be expressed (the registry row does not declare them, so the
  Provider refuses them first). `parallel_tool_calls=True` is Ollama's behaviour; `False` cannot be expressed.
- `response_format` json_object -> `format: "json"`, json_schema -> `format: <schema>` [ollama docs/api.md]; a
  tool's or format's `strict` flag has no Ollama field and is dropped (Ollama always constrains output to a given
  format); so is the advisory per-message `name`.
- Earlier assistant reasoning goes back as `thinking` [ollama api/types.go::Message].
- Tool calls without an id (older servers) get `call_<position>_<hash of name and arguments>`: deterministic, so
  the streaming and non-streaming parses agree and a replayed cassette gives the same history.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from allos.errors import (
    IncompleteStreamError,
    InvalidRequestError,
    ProviderError,
    ResponseParseError,
    make_status_error,
)
from allos.protocols._errors import error_from_response
from allos.protocols._ndjson import NDJSONDecoder
from allos.protocols._read import Answer, Obj
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
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolSpec,
    Usage,
    UsageUpdate,
)

__all__ = [
    "DEFAULT_QUIRKS",
    "PATH",
    "PULL_PATH",
    "RAW_ARGUMENTS_KEY",
    "SHOW_PATH",
    "TAGS_PATH",
    "LocalModel",
    "ModelDetails",
    "ModelInfo",
    "OllamaQuirks",
    "PullDecoder",
    "PullProgress",
    "StreamDecoder",
    "build_request",
    "parse_error",
    "parse_model_info",
    "parse_models",
    "parse_response",
    "payload_error",
    "pull_request",
    "show_request",
    "synthesize_call_id",
]

PATH: Final = "/api/chat"
TAGS_PATH: Final = "/api/tags"  # GET: the local models [ollama docs/api.md "List Local Models"]
SHOW_PATH: Final = "/api/show"  # POST {"model"}: one model's details [ollama docs/api.md "Show Model Information"]
PULL_PATH: Final = "/api/pull"  # POST {"model", "stream"}: NDJSON progress [ollama docs/api.md "Pull a Model"]
RAW_ARGUMENTS_KEY: Final = "_raw_arguments"

_SOURCES: Final[Mapping[str, str]] = {
    "stream": "ollama api/types.go ChatRequest.Stream: a pointer, true by default (omitted means streaming)",
    "options": "ollama api/types.go::Options (num_predict, temperature, top_p, stop, seed)",
    "content": "ollama api/types.go::Message: content is a string; images are base64 strings",
    "tool_calls": "ollama docs/api.md: tool_calls[].function.arguments is a JSON object",
    "tool_call_ids": "ollama api/types.go::ToolCall.ID and Message.ToolCallID (research section 5)",
    "tool_name": "ollama docs/api.md: tool results are {role: tool, content, tool_name}",
    "tool_error_prefix": "ollama api/types.go::Message has no error flag: the result text is prefixed",
    "tool_choice": "ollama api/types.go::ChatRequest has no tool_choice: none is honoured by not sending tools",
    "format": 'ollama docs/api.md: format is "json" or a JSON schema',
    "thinking": "ollama api/types.go::Message.Thinking; docs/api.md (think, message.thinking)",
    "done_reason": "ollama api/types.go::ChatResponse.DoneReason: stop, length, load, unload",
    "usage": "ollama openai/openai.go::ToUsage: prompt_eval_count / eval_count, omitted when zero",
    "errors": 'ollama docs/api/errors.mdx: {"error": "..."}; mid-stream errors as an NDJSON line after a 200',
}


@dataclass(frozen=True)
class OllamaQuirks:
    """How one Ollama-speaking alias departs from the reference server. The defaults are Ollama's own."""

    # Send call ids (tool_calls[].id, tool messages' tool_call_id) beside tool_name; Go's decoder ignores unknown
    # fields, so servers that predate ids accept them too.
    tool_call_ids: bool = True
    tool_error_prefix: str = "Error: "
    # Send earlier assistant reasoning back as `thinking`.
    send_thinking: bool = True
    sources: Mapping[str, str] = field(default_factory=dict)


DEFAULT_QUIRKS: Final = OllamaQuirks(sources=_SOURCES)

# done_reason -> canonical [ollama api/types.go::ChatResponse; research section 5]. `load` and `unload` answer
# requests with no messages (a model loaded or unloaded), not a finished generation.
_FINISH_REASON: Final[dict[str, FinishReason]] = {"stop": "stop", "length": "length"}

_MODEL_NOT_FOUND: Final = re.compile(r"""model ["']([^"']+)["'] not found""")
# Words in an error message that name a class of failure, for errors that arrive without a status (an NDJSON error
# line after a 200) [ollama docs/api/errors.mdx examples]. The first match wins.
_MESSAGE_STATUS: Final = (
    ("not found", 404),
    ("does not exist", 404),
    ("unauthorized", 401),
    ("too many requests", 429),
    ("rate limit", 429),
    ("does not support", 400),
    ("invalid", 400),
    ("is required", 400),
    ("missing", 400),
)


# --- request ---------------------------------------------------------------------------------------------------------


def build_request(
    request: ChatRequest, quirks: OllamaQuirks = DEFAULT_QUIRKS, *, provider: str = "ollama"
) -> dict[str, Any]:
    """The JSON body of `POST /api/chat` for `request`.

    >>> from allos.types import ChatRequest, Message
    >>> build_request(ChatRequest(model="m", messages=[Message(role="user", content="hi")], max_tokens=5))
    {'model': 'm', 'messages': [{'role': 'user', 'content': 'hi'}], 'stream': False, 'options': {'num_predict': 5}}
    """
    _refuse_inexpressible(request, provider)
    body: dict[str, Any] = {"model": request.model, "messages": _messages(request.messages, quirks, provider)}
    if request.tools and request.tool_choice != "none":
        body["tools"] = [_tool(tool) for tool in request.tools]
    body["stream"] = request.stream
    if request.response_format is not None and request.response_format.type != "text":
        body["format"] = _format(request.response_format)
    extra = dict(request.extra_body)
    options = {**_options(request), **_extra_options(extra.pop("options", None), provider)}
    if options:
        body["options"] = options
    body.update(extra)
    return body


def _refuse_inexpressible(request: ChatRequest, provider: str) -> None:
    if request.previous_response_id is not None:
        raise InvalidRequestError(
            "previous_response_id needs a protocol that stores conversations (OpenAI Responses: alias 'openai');"
            " Ollama's /api/chat takes the whole history instead",
            provider=provider,
        )
    choice = request.tool_choice
    if choice == "required" or isinstance(choice, NamedToolChoice):
        wanted = "a named tool" if isinstance(choice, NamedToolChoice) else "'required'"
        raise InvalidRequestError(
            f"Ollama has no tool_choice, so {wanted} cannot be expressed; only 'auto' and 'none' can"
            f" (source: {_SOURCES['tool_choice']})",
            provider=provider,
        )
    if request.parallel_tool_calls is False:
        raise InvalidRequestError(
            "Ollama has no parallel_tool_calls field: a model may always make several calls; leave it unset",
            provider=provider,
        )


def _options(request: ChatRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if request.top_p is not None:
        options["top_p"] = request.top_p
    if request.stop:
        options["stop"] = list(request.stop)
    if request.seed is not None:
        options["seed"] = request.seed
    return options


def _extra_options(value: Any, provider: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            f"extra_body['options'] must be an object, not {type(value).__name__}", provider=provider
        )
    return dict(value)


def _format(fmt: ResponseFormat) -> str | dict[str, Any]:
    if fmt.type == "json_object":
        return "json"
    assert fmt.json_schema is not None  # guaranteed by ResponseFormat
    return fmt.json_schema


def _tool(tool: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = tool.parameters
    return {"type": "function", "function": function}


def _messages(messages: Sequence[Message], quirks: OllamaQuirks, provider: str) -> list[dict[str, Any]]:
    names_by_id: dict[str, str] = {}  # the calls made so far; a later call with the same id wins
    out = []
    for message in messages:
        if message.role == "tool":
            out.append(_tool_result(message, names_by_id, quirks, provider))
            continue
        out.append(_message(message, quirks, provider))
        names_by_id.update((call.id, call.name) for call in message.tool_calls)
    return out


def _text_and_images(message: Message, provider: str) -> tuple[str, list[str]]:
    content = message.content
    if content is None or isinstance(content, str):
        return content or "", []
    images = [part for part in content if isinstance(part, ImagePart)]
    if images and message.role != "user":
        raise InvalidRequestError(
            f"a {message.role} message cannot carry an image; put it in a user message", provider=provider
        )
    for image in images:
        if image.data is None:
            raise InvalidRequestError(
                f"Ollama takes images as base64 data only, not by URL ({image.url}); download it and pass"
                f" ImagePart(data=..., media_type=...) (source: {_SOURCES['content']})",
                provider=provider,
            )
    return message.text, [image.data for image in images if image.data is not None]


def _message(message: Message, quirks: OllamaQuirks, provider: str) -> dict[str, Any]:
    text, images = _text_and_images(message, provider)
    out: dict[str, Any] = {"role": message.role, "content": text}
    if images:
        out["images"] = images
    if message.role == "assistant":
        if message.reasoning and quirks.send_thinking:
            out["thinking"] = message.reasoning
        if message.tool_calls:
            out["tool_calls"] = [_tool_call(call, quirks) for call in message.tool_calls]
    return out


def _tool_call(call: ToolCall, quirks: OllamaQuirks) -> dict[str, Any]:
    arguments = call.arguments if call.raw_arguments is None else {RAW_ARGUMENTS_KEY: call.raw_arguments}
    out: dict[str, Any] = {"id": call.id} if quirks.tool_call_ids else {}
    out["function"] = {"name": call.name, "arguments": arguments}
    return out


def _tool_result(
    message: Message, names_by_id: Mapping[str, str], quirks: OllamaQuirks, provider: str
) -> dict[str, Any]:
    assert message.tool_call_id is not None  # guaranteed by Message
    name = names_by_id.get(message.tool_call_id) or message.name
    if name is None:
        raise InvalidRequestError(
            f"the tool result for call {message.tool_call_id!r} answers no earlier tool call, and Ollama needs the"
            " tool's name: answer a call from the history, or pass name= on the tool message",
            provider=provider,
        )
    text, _ = _text_and_images(message, provider)
    out: dict[str, Any] = {
        "role": "tool",
        "content": f"{quirks.tool_error_prefix}{text}" if message.is_error else text,
        "tool_name": name,
    }
    if quirks.tool_call_ids:
        out["tool_call_id"] = message.tool_call_id
    return out


# --- response --------------------------------------------------------------------------------------------------------


def finish_reason(native: str | None, has_tool_calls: bool) -> FinishReason:
    """Map `done_reason`. Ollama says `stop` when the model called tools; Allos says `tool_calls`.

    >>> finish_reason("stop", True), finish_reason("length", False), finish_reason("unload", False)
    ('tool_calls', 'length', 'other')
    """
    if has_tool_calls and native in (None, "", "stop"):
        return "tool_calls"
    return _FINISH_REASON.get(native or "", "other")


def parse_usage(body: Mapping[str, Any]) -> Usage:
    """Token counts from a final object; Ollama omits a count that is zero [ollama api/types.go::Metrics]."""
    prompt = body.get("prompt_eval_count")
    completion = body.get("eval_count")
    input_tokens = prompt if isinstance(prompt, int) else 0
    output_tokens = completion if isinstance(completion, int) else 0
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens)


def synthesize_call_id(position: int, name: str, arguments: Any) -> str:
    """A deterministic id for a call the server sent without one: its position and a hash of name and arguments.

    >>> synthesize_call_id(0, "get_weather", {"city": "Paris"})
    'call_0_24c864eb83c69198'
    """
    text = json.dumps([name, arguments], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"call_{position}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _parse_tool_call(item: Any, position: int, provider: str) -> ToolCall:
    function = item.get("function") if isinstance(item, Mapping) else None
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str) or not function["name"]:
        raise ResponseParseError(f"tool call {position} has no function name", provider=provider)
    name: str = function["name"]
    arguments = function.get("arguments")
    raw_id = item.get("id")
    call_id = raw_id if isinstance(raw_id, str) and raw_id else synthesize_call_id(position, name, arguments)
    if isinstance(arguments, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(arguments))
    if arguments is None or isinstance(arguments, str):  # off the contract: read as JSON text, reported if bad
        return ToolCall.from_json(call_id, name, arguments)
    return ToolCall(id=call_id, name=name, raw_arguments=json.dumps(arguments), arguments_error="not a JSON object")


def _parse_tool_calls(raw: Any, start: int, provider: str) -> list[ToolCall]:
    if not raw:
        return []
    if not isinstance(raw, list):
        raise ResponseParseError(f"message.tool_calls is {type(raw).__name__}, expected a list", provider=provider)
    return [_parse_tool_call(item, start + offset, provider) for offset, item in enumerate(raw)]


def _message_of(body: Mapping[str, Any], provider: str) -> Mapping[str, Any]:
    message = body.get("message")
    if message is None:
        return {}
    if not isinstance(message, Mapping):
        raise ResponseParseError(f"message is {type(message).__name__}, expected an object", provider=provider)
    return message


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_response(body: Any, *, provider: str = "ollama", key_env: str | None = None) -> ChatResponse:
    """The canonical answer from a non-streaming `/api/chat` body; an error sent with status 200 is raised as one.

    >>> parse_response({"model": "m", "message": {"role": "assistant", "content": "hi"}, "done": True,
    ...                 "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 1}).usage.total_tokens
    4
    """
    answer = Obj.root(body, Answer(provider, f"{PATH} answer"))
    if answer.get("error"):
        raise payload_error(provider, answer.data, key_env=key_env)
    message = _message_of(answer.data, provider)
    calls = _parse_tool_calls(message.get("tool_calls"), 0, provider)
    native = answer.string("done_reason") or None
    return ChatResponse(
        text=_text(message.get("content")),
        tool_calls=tuple(calls),
        finish_reason=finish_reason(native, bool(calls)),
        native_finish_reason=native,
        usage=parse_usage(answer.data),
        model=answer.string("model") or None,
        provider=provider,
        reasoning=_text(message.get("thinking")) or None,
        raw=dict(answer.data),
    )


# --- errors ----------------------------------------------------------------------------------------------------------


def _pull_hint(message: str) -> str | None:
    match = _MODEL_NOT_FOUND.search(message)
    if match is None:
        return None
    model = match.group(1)
    return f"pull it first: `allos pull {model}` or `ollama pull {model}`"


def parse_error(
    provider: str, status_code: int, text: str, headers: Mapping[str, str], *, key_env: str | None = None
) -> ProviderError:
    """An HTTP error answer (`{"error": "..."}`) -> the right ProviderError; an unknown model says how to pull it.

    >>> parse_error("ollama", 404, '{"error": "model \\\\"qwen3\\\\" not found, try pulling it first"}', {}).hint
    'pull it first: `allos pull qwen3` or `ollama pull qwen3`'
    """
    error = error_from_response(provider, status_code, text, headers, key_env=key_env)
    hint = _pull_hint(error.message)
    if hint is not None:
        error.hint = hint
    return error


def payload_error(provider: str, payload: Mapping[str, Any], *, key_env: str | None = None) -> ProviderError:
    """An `{"error": "..."}` object that came with status 200 (an NDJSON line mid-stream): the class follows what
    the message says, since there is no status to go by."""
    inner = payload.get("error")
    message = inner if isinstance(inner, str) else json.dumps(inner)[:500]
    lowered = message.lower()
    status = next((code for words, code in _MESSAGE_STATUS if words in lowered), 500)
    error = make_status_error(provider, status, message, body=json.dumps(payload)[:4096], key_env=key_env)
    error.status_code = None  # the HTTP status was 200: the class says what failed, not a status
    hint = _pull_hint(message)
    if hint is not None:
        error.hint = hint
    return error


# --- streaming -------------------------------------------------------------------------------------------------------


class StreamDecoder:
    """Incremental decoder of an `/api/chat` NDJSON stream [ollama docs/api/streaming.mdx].

    Objects with `done: false` carry content (`TextDelta`), thinking (`ReasoningDelta`) and tool calls, which arrive
    whole: each gives a `ToolCallDelta` with all its arguments and a `ToolCallDone` at once. The `done: true` object
    carries `done_reason` and the counts (`UsageUpdate`, then `StreamEnd`, equal to the non-streaming parse apart
    from `raw`, which holds the final object). An `{"error": ...}` line raises the matching ProviderError; a stream
    that stops before `done: true` raises `IncompleteStreamError` with what arrived.
    """

    def __init__(self, *, provider: str = "ollama", key_env: str | None = None) -> None:
        self.provider = provider
        self._key_env = key_env
        self._lines = NDJSONDecoder(provider=provider)
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: list[ToolCall] = []
        self._model: str | None = None
        self._final: Mapping[str, Any] | None = None

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for value in self._lines.feed(chunk):
            self._on_object(value, events)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for value in self._lines.finish():
            self._on_object(value, events)
        if self._final is None:
            raise IncompleteStreamError(
                "the stream ended before its done:true object", provider=self.provider, partial=self.partial()
            )
        return events

    def partial(self) -> ChatResponse:
        """What has arrived so far, assembled (the whole answer once `done: true` has come)."""
        final = self._final or {}
        native = final.get("done_reason") or None
        calls = tuple(self._calls)
        return ChatResponse(
            text="".join(self._text),
            tool_calls=calls,
            finish_reason=finish_reason(native, bool(calls)) if self._final is not None else "other",
            native_finish_reason=native,
            usage=parse_usage(final),
            model=self._model,
            provider=self.provider,
            reasoning="".join(self._reasoning) or None,
            raw=dict(final),
        )

    def _on_object(self, value: Any, events: list[StreamEvent]) -> None:
        if self._final is not None:
            return  # nothing follows done:true; a server that sends more is ignored, not trusted
        if not isinstance(value, Mapping):
            raise ResponseParseError(f"a stream line is not an object: {value!r:.200}", provider=self.provider)
        if value.get("error"):
            raise payload_error(self.provider, value, key_env=self._key_env)
        line = Obj(value, "", Answer(self.provider, f"{PATH} stream line", top="the line"))
        self._model = self._model or line.string("model") or None
        line.string("done_reason")  # checked now: StreamEnd is built from it
        self._on_message(_message_of(value, self.provider), events)
        if value.get("done") is True:
            self._final = value
            events.append(UsageUpdate(usage=parse_usage(value)))
            events.append(StreamEnd(response=self.partial()))

    def _on_message(self, message: Mapping[str, Any], events: list[StreamEvent]) -> None:
        thinking = _text(message.get("thinking"))
        if thinking:
            self._reasoning.append(thinking)
            events.append(ReasoningDelta(text=thinking))
        content = _text(message.get("content"))
        if content:
            self._text.append(content)
            events.append(TextDelta(text=content))
        for call in _parse_tool_calls(message.get("tool_calls"), len(self._calls), self.provider):
            index = len(self._calls)
            self._calls.append(call)
            events.append(ToolCallDelta(index=index, id=call.id, name=call.name, arguments_delta=call.arguments_json()))
            events.append(ToolCallDone(index=index, tool_call=call))


# --- model management ------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    # Ollama adds fields over time: unknown ones are kept out of the typed view, not refused.
    model_config = ConfigDict(frozen=True, extra="ignore")


_M = TypeVar("_M", bound=_Model)


class ModelDetails(_Model):
    """What `details` says about a model [ollama api/types.go::ModelDetails]."""

    parent_model: str = ""
    format: str = ""
    family: str = ""
    families: tuple[str, ...] = ()
    parameter_size: str = ""
    quantization_level: str = ""

    @field_validator("families", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return () if value is None else value  # a nil Go slice is sent as null


class LocalModel(_Model):
    """One model from `GET /api/tags` [ollama api/types.go::ListModelResponse]."""

    name: str
    model: str = ""
    size: int = 0
    modified_at: datetime | None = None
    digest: str = ""
    details: ModelDetails = Field(default_factory=ModelDetails)


class ModelInfo(_Model):
    """One model's details from `POST /api/show` [ollama api/types.go::ShowResponse]."""

    name: str
    details: ModelDetails = Field(default_factory=ModelDetails)
    capabilities: tuple[str, ...] = ()
    parameters: str = ""
    template: str = ""
    system: str = ""
    license: str = ""
    modelfile: str = ""
    model_info: dict[str, Any] = Field(default_factory=dict)
    modified_at: datetime | None = None


class PullProgress(_Model):
    """One line of `POST /api/pull`: a status, and for a layer being downloaded its digest and byte counts
    [ollama api/types.go::ProgressResponse]. The last line of a successful pull has status "success"."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None

    @property
    def fraction(self) -> float | None:
        """How much of this layer has arrived, from 0 to 1; None when the line carries no byte counts."""
        if not self.total:
            return None
        return min((self.completed or 0) / self.total, 1.0)


def show_request(name: str) -> dict[str, Any]:
    """The body of `POST /api/show`: `{'model': name}`."""
    return {"model": name}


def pull_request(name: str, *, insecure: bool = False) -> dict[str, Any]:
    """The body of `POST /api/pull`, always streaming its progress.

    >>> pull_request("llama3.2")
    {'model': 'llama3.2', 'stream': True}
    """
    body: dict[str, Any] = {"model": name, "stream": True}
    if insecure:
        body["insecure"] = True
    return body


def _validated(model: type[_M], value: Any, what: str, provider: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ResponseParseError(
            f"{what} is not what Ollama sends: {exc.errors(include_input=False)[0]['msg']}", provider=provider
        ) from None  # a ValidationError holds the input values, which may echo a key


def parse_models(body: Any, *, provider: str = "ollama") -> list[LocalModel]:
    """The models of a `GET /api/tags` body, in the server's order.

    >>> [m.name for m in parse_models({"models": [{"name": "llama3.2:latest", "size": 2019393189}]})]
    ['llama3.2:latest']
    """
    models = body.get("models") if isinstance(body, Mapping) else None
    if models is None and isinstance(body, Mapping) and "models" in body:
        return []  # a server with no models may send null
    if not isinstance(models, list):
        raise ResponseParseError("the /api/tags body has no models list", provider=provider)
    return [_validated(LocalModel, item, f"models[{i}]", provider) for i, item in enumerate(models)]


def parse_model_info(name: str, body: Any, *, provider: str = "ollama") -> ModelInfo:
    """The typed details of a `POST /api/show` body for the model `name`."""
    if not isinstance(body, Mapping):
        raise ResponseParseError("the /api/show body is not an object", provider=provider)
    if body.get("error"):
        raise payload_error(provider, body)
    return _validated(ModelInfo, {**body, "name": name}, "the /api/show body", provider)


class PullDecoder:
    """Incremental decoder of a `POST /api/pull` NDJSON stream: `PullProgress` per line; an `{"error": ...}` line
    raises the matching ProviderError; a stream that ends before status "success" raises `IncompleteStreamError`."""

    def __init__(self, *, provider: str = "ollama", key_env: str | None = None) -> None:
        self.provider = provider
        self._key_env = key_env
        self._lines = NDJSONDecoder(provider=provider)
        self.succeeded = False

    def feed(self, chunk: bytes) -> list[PullProgress]:
        return [self._on_object(value) for value in self._lines.feed(chunk)]

    def finish(self) -> list[PullProgress]:
        progress = [self._on_object(value) for value in self._lines.finish()]
        if not self.succeeded:
            raise IncompleteStreamError("the pull ended before its status was 'success'", provider=self.provider)
        return progress

    def _on_object(self, value: Any) -> PullProgress:
        if isinstance(value, Mapping) and value.get("error"):
            raise payload_error(self.provider, value, key_env=self._key_env)
        progress = _validated(PullProgress, value, "a pull progress line", self.provider)
        if progress.status == "success":
            self.succeeded = True
        return progress
