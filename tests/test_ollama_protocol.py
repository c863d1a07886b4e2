"""The Ollama native protocol offline: every request mapping, response shape, error shape and stream shape.

The official SDK (`ollama._types`) is the oracle: every body built here must validate as its `ChatRequest`, every
message as its `Message`, every options object as its `Options`; every response body a test feeds in must validate as
its `ChatResponse`, `ListResponse` or `ProgressResponse`. The SDK's models ignore unknown fields, so bodies are also
checked against the fields of the server's own Go structs [ollama api/types.go, research section 5].
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from ollama import _types as sdk

from allos import errors
from allos.protocols._ndjson import NDJSONDecoder
from allos.protocols.ollama import (
    DEFAULT_QUIRKS,
    RAW_ARGUMENTS_KEY,
    OllamaQuirks,
    PullDecoder,
    StreamDecoder,
    build_request,
    parse_error,
    parse_model_info,
    parse_models,
    parse_response,
    payload_error,
    pull_request,
    synthesize_call_id,
)
from allos.types import (
    ChatRequest,
    ChatResponse,
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

# --- the oracle ------------------------------------------------------------------------------------------------------

# What the server decodes [ollama api/types.go ChatRequest, Message, ToolCall, ToolCallFunction; research section 5].
CHAT_FIELDS = {"model", "messages", "tools", "stream", "format", "options", "think", "keep_alive", "truncate", "shift"}
MESSAGE_FIELDS = {"role", "content", "thinking", "images", "tool_calls", "tool_name", "tool_call_id"}
TOOL_CALL_FIELDS = {"id", "function"}
FUNCTION_FIELDS = {"index", "name", "arguments"}
ROLES = {"system", "user", "assistant", "tool"}


def assert_valid_body(body: Mapping[str, Any]) -> None:
    """`body` is what the Ollama server and its official SDK accept for POST /api/chat."""
    sdk.ChatRequest.model_validate(body)
    assert set(body) <= CHAT_FIELDS, set(body) - CHAT_FIELDS
    assert isinstance(body["stream"], bool), "stream must always be sent: the server streams when it is omitted"
    for message in body["messages"]:
        assert_valid_message(message)
        assert set(message) <= MESSAGE_FIELDS, set(message) - MESSAGE_FIELDS
        assert message["role"] in ROLES
        assert isinstance(message["content"], str)
        for call in message.get("tool_calls", ()):
            assert set(call) <= TOOL_CALL_FIELDS
            assert set(call["function"]) <= FUNCTION_FIELDS
            assert isinstance(call["function"]["arguments"], dict)
        if message["role"] == "tool":
            assert isinstance(message["tool_name"], str) and message["tool_name"]
    if "options" in body:
        sdk.Options.model_validate(body["options"])
        assert set(body["options"]) <= set(sdk.Options.model_fields)
    for tool in body.get("tools", ()):
        assert tool["type"] == "function"
        sdk.Tool.model_validate(tool)
    assert json.loads(json.dumps(body, allow_nan=False)) == body


def assert_valid_message(message: Mapping[str, Any]) -> None:
    """ChatRequest takes any Mapping as a message: check each one. The SDK takes images as `Image` objects and
    serialises each to its base64 string: the wire form must be exactly what it would send."""
    images = message.get("images")
    typed = dict(message, images=[{"value": image} for image in images]) if images else message
    validated = sdk.Message.model_validate(typed)
    if images:
        assert validated.model_dump(exclude_none=True)["images"] == images


def assert_valid_chat_response(obj: Mapping[str, Any]) -> None:
    """`obj` is what Ollama sends for /api/chat (a whole body or one stream line), per the SDK."""
    sdk.ChatResponse.model_validate(obj)


# --- helpers ---------------------------------------------------------------------------------------------------------

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def request(*messages: Message | Mapping[str, Any], **fields: Any) -> ChatRequest:
    return ChatRequest(model="llama3.2", messages=messages or ({"role": "user", "content": "hi"},), **fields)


def body_for(
    *messages: Message | Mapping[str, Any], quirks: OllamaQuirks = DEFAULT_QUIRKS, **fields: Any
) -> dict[str, Any]:
    body = build_request(request(*messages, **fields), quirks)
    assert_valid_body(body)
    return body


def chat_body(
    content: str = "",
    *,
    thinking: str | None = None,
    tool_calls: Sequence[Mapping[str, Any]] = (),
    done_reason: str | None = "stop",
    validate: bool = True,
    **metrics: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    body: dict[str, Any] = {"model": "llama3.2", "created_at": "2025-10-26T17:15:24.166576Z", "message": message}
    body["done"] = True
    if done_reason is not None:
        body["done_reason"] = done_reason
    body.update(metrics)
    if validate:
        assert_valid_chat_response(body)
    return body


def ndjson(*objects: Mapping[str, Any]) -> bytes:
    return b"".join(json.dumps(obj).encode() + b"\n" for obj in objects)


def decode(data: bytes | Sequence[bytes]) -> list[StreamEvent]:
    decoder = StreamDecoder(provider="ollama")
    events: list[StreamEvent] = []
    for chunk in [data] if isinstance(data, bytes) else data:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events


def chunk(content: str = "", *, thinking: str | None = None, tool_calls: Sequence[Any] = ()) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    obj = {"model": "llama3.2", "created_at": "2025-10-26T17:15:24Z", "message": message, "done": False}
    assert_valid_chat_response(obj)
    return obj


def final(done_reason: str = "stop", **metrics: Any) -> dict[str, Any]:
    obj = {
        "model": "llama3.2",
        "created_at": "2025-10-26T17:15:25Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": done_reason,
        "total_duration": 1_000_000,
        **metrics,
    }
    assert_valid_chat_response(obj)
    return obj


def call(name: str, arguments: Any, call_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        out["id"] = call_id
    return out


# --- request: the basics ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_build_request_always_sends_stream(stream: bool) -> None:
    body = body_for(stream=stream)
    assert body["stream"] is stream
    assert body == {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": stream}


def test_build_request_sampling_settings_go_in_options() -> None:
    body = body_for(max_tokens=64, temperature=0.2, top_p=0.9, stop=["\n\n", "END"], seed=7)
    assert body["options"] == {"num_predict": 64, "temperature": 0.2, "top_p": 0.9, "stop": ["\n\n", "END"], "seed": 7}
    assert "max_tokens" not in body and "temperature" not in body


def test_build_request_zero_temperature_is_sent() -> None:
    assert body_for(temperature=0.0)["options"] == {"temperature": 0.0}


def test_build_request_extra_body_options_merge_key_by_key() -> None:
    body = body_for(max_tokens=10, temperature=0.5, extra_body={"options": {"num_ctx": 8192, "temperature": 0.1}})
    assert body["options"] == {"num_predict": 10, "temperature": 0.1, "num_ctx": 8192}


def test_build_request_extra_body_top_level_fields_pass_through() -> None:
    body = body_for(extra_body={"think": True, "keep_alive": "10m"})
    assert body["think"] is True and body["keep_alive"] == "10m"


def test_build_request_extra_body_options_must_be_an_object() -> None:
    with pytest.raises(errors.InvalidRequestError, match="must be an object"):
        build_request(request(extra_body={"options": [1, 2]}))


def test_build_request_system_messages_stay_in_messages() -> None:
    body = body_for(Message(role="system", content="Be brief."), Message(role="user", content="hi"))
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_build_request_text_parts_are_joined_into_a_string() -> None:
    parts = (TextPart(text="Weather "), TextPart(text="in "), TextPart(text="Paris?"))
    body = body_for(
        Message(role="system", content=(TextPart(text="a"), TextPart(text="b"))), Message(role="user", content=parts)
    )
    assert body["messages"] == [{"role": "system", "content": "ab"}, {"role": "user", "content": "Weather in Paris?"}]


def test_build_request_base64_images_go_to_images() -> None:
    content = (TextPart(text="What is this?"), ImagePart(data="iVBORw0KGgo=", media_type="image/png"))
    assert body_for(Message(role="user", content=content))["messages"][0] == {
        "role": "user",
        "content": "What is this?",
        "images": ["iVBORw0KGgo="],
    }


def test_build_request_image_url_cannot_be_carried() -> None:
    content = (ImagePart(url="https://example.com/cat.png"),)
    with pytest.raises(errors.InvalidRequestError, match="base64 data only") as info:
        build_request(request(Message(role="user", content=content)), provider="ollama")
    assert info.value.provider == "ollama"


def test_build_request_image_outside_a_user_message_is_refused() -> None:
    content = (ImagePart(data="iVBORw0KGgo=", media_type="image/png"),)
    with pytest.raises(errors.InvalidRequestError, match="system message cannot carry an image"):
        build_request(request(Message(role="system", content=content), Message(role="user", content="hi")))


def test_build_request_drops_the_advisory_message_name() -> None:
    assert body_for(Message(role="user", content="hi", name="alice"))["messages"] == [{"role": "user", "content": "hi"}]


def test_build_request_refuses_previous_response_id() -> None:
    with pytest.raises(errors.InvalidRequestError, match="previous_response_id"):
        build_request(request(previous_response_id="resp_1"))


# --- request: tools --------------------------------------------------------------------------------------------------


def test_build_request_tools_are_openai_style_without_strict() -> None:
    strict = WEATHER.model_copy(update={"strict": True})
    bare = ToolSpec(name="ping")
    body = body_for(tools=[strict, bare])
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather for a city", "parameters": WEATHER.parameters},
        },
        {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}},
    ]


@pytest.mark.parametrize("choice", [None, "auto"])
def test_build_request_tool_choice_auto_is_the_default(choice: str | None) -> None:
    body = body_for(tools=[WEATHER], tool_choice=choice)
    assert "tools" in body and "tool_choice" not in body


def test_build_request_tool_choice_none_is_honoured_by_not_sending_tools() -> None:
    history = (
        Message(role="user", content="weather?"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="get_weather", arguments={"city": "Oslo"})]),
        Message(role="tool", tool_call_id="c1", content="rain"),
    )
    body = body_for(*history, tools=[WEATHER], tool_choice="none")
    assert "tools" not in body and "tool_choice" not in body
    assert body["messages"][2]["tool_name"] == "get_weather"  # the history still carries its tool turns


@pytest.mark.parametrize("choice", ["required", NamedToolChoice(name="get_weather")], ids=["required", "named"])
def test_build_request_tool_choice_that_ollama_cannot_express(choice: Any) -> None:
    with pytest.raises(errors.InvalidRequestError, match="no tool_choice"):
        build_request(request(tools=[WEATHER], tool_choice=choice))


def test_build_request_parallel_tool_calls() -> None:
    assert "parallel_tool_calls" not in body_for(tools=[WEATHER], parallel_tool_calls=True)
    with pytest.raises(errors.InvalidRequestError, match="parallel_tool_calls"):
        build_request(request(tools=[WEATHER], parallel_tool_calls=False))


def test_build_request_assistant_tool_calls_carry_object_arguments_and_ids() -> None:
    calls = (
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris", "days": [1, 2]}),
        ToolCall(id="call_2", name="ping"),
    )
    body = body_for(Message(role="user", content="go"), Message(role="assistant", content=None, tool_calls=calls))
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]}}},
            {"id": "call_2", "function": {"name": "ping", "arguments": {}}},
        ],
    }


def test_build_request_ids_can_be_left_out() -> None:
    history = (
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="ping")]),
        Message(role="tool", tool_call_id="c1", content="pong"),
    )
    body = body_for(*history, quirks=OllamaQuirks(tool_call_ids=False))
    assert body["messages"][1]["tool_calls"] == [{"function": {"name": "ping", "arguments": {}}}]
    assert body["messages"][2] == {"role": "tool", "content": "pong", "tool_name": "ping"}


@pytest.mark.parametrize("raw", ['{"city": "Par', "[1, 2]", "null"])
def test_build_request_raw_invalid_arguments_are_kept_in_an_object(raw: str) -> None:
    broken = ToolCall.from_json("c1", "get_weather", raw)
    assert not broken.arguments_valid
    body = body_for(Message(role="user", content="go"), Message(role="assistant", tool_calls=[broken]))
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == {RAW_ARGUMENTS_KEY: raw}


def test_build_request_tool_result_names_its_tool_and_call() -> None:
    history = (
        Message(role="user", content="weather and time?"),
        Message(
            role="assistant",
            tool_calls=[
                ToolCall(id="a", name="get_weather", arguments={"city": "Rome"}),
                ToolCall(id="b", name="clock"),
            ],
        ),
        Message(role="tool", tool_call_id="b", content="12:00"),
        Message(role="tool", tool_call_id="a", content=(TextPart(text="sun"), TextPart(text="ny"))),
    )
    body = body_for(*history)
    assert body["messages"][2:] == [
        {"role": "tool", "content": "12:00", "tool_name": "clock", "tool_call_id": "b"},
        {"role": "tool", "content": "sunny", "tool_name": "get_weather", "tool_call_id": "a"},
    ]


def test_build_request_tool_error_is_carried_as_a_prefix() -> None:
    history = (
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=[ToolCall(id="a", name="get_weather")]),
        Message(role="tool", tool_call_id="a", content="city not found", is_error=True),
    )
    assert body_for(*history)["messages"][2]["content"] == "Error: city not found"
    custom = body_for(*history, quirks=OllamaQuirks(tool_error_prefix="[failed] "))
    assert custom["messages"][2]["content"] == "[failed] city not found"


def test_build_request_a_reused_id_answers_the_latest_call() -> None:
    # Ids Ollama never sent are synthesised per response, so the same id can come back in a later turn.
    history = (
        Message(role="user", content="one"),
        Message(role="assistant", tool_calls=[ToolCall(id="call_0", name="first")]),
        Message(role="tool", tool_call_id="call_0", content="1"),
        Message(role="user", content="two"),
        Message(role="assistant", tool_calls=[ToolCall(id="call_0", name="second")]),
        Message(role="tool", tool_call_id="call_0", content="2"),
    )
    body = body_for(*history)
    assert [m.get("tool_name") for m in body["messages"]] == [None, None, "first", None, None, "second"]


def test_build_request_orphan_tool_result_uses_its_name_or_is_refused() -> None:
    named = Message(role="tool", tool_call_id="gone", content="ok", name="get_weather")
    assert body_for(Message(role="user", content="go"), named)["messages"][1]["tool_name"] == "get_weather"
    anonymous = Message(role="tool", tool_call_id="gone", content="ok")
    with pytest.raises(errors.InvalidRequestError, match="answers no earlier tool call"):
        build_request(request(Message(role="user", content="go"), anonymous))


def test_build_request_reasoning_goes_back_as_thinking() -> None:
    history = (Message(role="user", content="q"), Message(role="assistant", content="a", reasoning="because"))
    assert body_for(*history)["messages"][1] == {"role": "assistant", "content": "a", "thinking": "because"}
    plain = body_for(*history, quirks=OllamaQuirks(send_thinking=False))
    assert plain["messages"][1] == {"role": "assistant", "content": "a"}


# --- request: structured output --------------------------------------------------------------------------------------


def test_build_request_json_object_is_format_json() -> None:
    assert body_for(response_format=ResponseFormat(type="json_object"))["format"] == "json"


def test_build_request_json_schema_is_the_format() -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=schema, strict=True)
    assert body_for(response_format=fmt)["format"] == schema


def test_build_request_text_format_sends_nothing() -> None:
    assert "format" not in body_for(response_format=ResponseFormat(type="text"))


# --- response --------------------------------------------------------------------------------------------------------


def test_parse_response_text_reasoning_usage() -> None:
    body = chat_body("Hello!", thinking="The user greets.", prompt_eval_count=26, eval_count=3, eval_duration=10)
    response = parse_response(body, provider="ollama")
    assert response == ChatResponse(
        text="Hello!",
        finish_reason="stop",
        native_finish_reason="stop",
        usage=Usage(input_tokens=26, output_tokens=3, total_tokens=29),
        model="llama3.2",
        provider="ollama",
        reasoning="The user greets.",
        raw=body,
    )


def test_parse_response_counts_omitted_when_zero_are_zero() -> None:
    assert parse_response(chat_body("x")).usage == Usage(input_tokens=0, output_tokens=0, total_tokens=0)


def test_parse_response_tool_calls_with_object_arguments() -> None:
    body = chat_body(tool_calls=[call("get_weather", {"city": "Toronto"}, "call_abc"), call("clock", {})])
    response = parse_response(body)
    assert response.finish_reason == "tool_calls" and response.native_finish_reason == "stop"
    assert response.tool_calls == (
        ToolCall(id="call_abc", name="get_weather", arguments={"city": "Toronto"}),
        ToolCall(id=synthesize_call_id(1, "clock", {}), name="clock"),
    )
    assert response.message.tool_calls == response.tool_calls


def test_synthesised_ids_are_deterministic_and_distinct() -> None:
    body = chat_body(tool_calls=[call("f", {"x": 1}), call("f", {"x": 1}), call("f", {"x": 2})])
    ids = [c.id for c in parse_response(body).tool_calls]
    assert ids == [c.id for c in parse_response(json.loads(json.dumps(body))).tool_calls]
    assert len(set(ids)) == 3
    assert all(i.startswith("call_") and i.replace("_", "").isalnum() and len(i) <= 64 for i in ids)


def test_parse_response_arguments_that_are_not_an_object() -> None:
    # Off the documented contract (the SDK refuses these bodies): reported on the call, never crashed on.
    calls = [call("a", '{"q": 1}'), call("b", "{oops"), call("c", [1]), call("d", None)]
    body = chat_body(tool_calls=calls, validate=False)
    a, b, c, d = parse_response(body).tool_calls
    assert a.arguments == {"q": 1} and a.arguments_valid
    assert b.raw_arguments == "{oops" and not b.arguments_valid
    assert c.raw_arguments == "[1]" and c.arguments_error == "not a JSON object"
    assert d.arguments == {} and d.arguments_valid


@pytest.mark.parametrize(
    ("done_reason", "with_tools", "expected"),
    [
        ("stop", False, "stop"),
        ("stop", True, "tool_calls"),
        (None, True, "tool_calls"),
        ("length", False, "length"),
        ("length", True, "length"),
        ("load", False, "other"),
        ("unload", False, "other"),
        ("something_new", False, "other"),
        (None, False, "other"),
    ],
)
def test_parse_response_done_reason(done_reason: str | None, with_tools: bool, expected: str) -> None:
    calls = [call("f", {})] if with_tools else []
    response = parse_response(chat_body("x", tool_calls=calls, done_reason=done_reason))
    assert response.finish_reason == expected
    assert response.native_finish_reason == done_reason


def test_parse_response_error_with_status_200() -> None:
    with pytest.raises(errors.ServerError, match="failed to generate") as info:
        parse_response({"error": "the model failed to generate a response"}, provider="ollama")
    assert info.value.status_code is None


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([1], "expected a JSON object"),
        ({"message": "hi", "done": True}, "message is str"),
        ({"message": {"role": "assistant", "content": "", "tool_calls": {"x": 1}}, "done": True}, "expected a list"),
        (
            {"message": {"role": "assistant", "content": "", "tool_calls": [{"function": {}}]}, "done": True},
            "no function name",
        ),
    ],
)
def test_parse_response_malformed_bodies(body: Any, match: str) -> None:
    with pytest.raises(errors.ResponseParseError, match=match):
        parse_response(body)


# --- errors ----------------------------------------------------------------------------------------------------------


def test_parse_error_unknown_model_says_how_to_pull() -> None:
    text = json.dumps({"error": 'model "qwen3:8b" not found, try pulling it first'})
    error = parse_error("ollama", 404, text, {})
    assert isinstance(error, errors.NotFoundError)
    assert error.message == 'model "qwen3:8b" not found, try pulling it first'
    assert error.hint == "pull it first: `allos pull qwen3:8b` or `ollama pull qwen3:8b`"
    assert "allos pull qwen3:8b" in str(error) and error.body == text


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (400, "model is required", errors.BadRequestError),
        (400, '"llama3.2" does not support thinking', errors.BadRequestError),
        (401, "unauthorized", errors.AuthenticationError),
        (404, "model 'gone' not found", errors.NotFoundError),
        (429, "too many requests", errors.RateLimitError),
        (500, "the model failed to generate a response", errors.ServerError),
        (502, "cloud model unreachable", errors.ServerError),
    ],
)
def test_parse_error_every_status(status: int, message: str, cls: type[errors.ProviderError]) -> None:
    error = parse_error(
        "ollama", status, json.dumps({"error": message}), {"retry-after": "3"}, key_env="OLLAMA_API_KEY"
    )
    assert type(error) is cls and error.status_code == status and error.message == message
    if cls is errors.RateLimitError:
        assert isinstance(error, errors.RateLimitError) and error.retry_after == 3.0
    if cls is errors.AuthenticationError:
        assert "OLLAMA_API_KEY" in str(error)


def test_parse_error_body_that_is_not_json() -> None:
    error = parse_error("ollama", 502, "<html>Bad Gateway</html>", {})
    assert isinstance(error, errors.ServerError) and "Bad Gateway" in error.message


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("an error was encountered while running the model", errors.ServerError),
        ('model "x" not found, try pulling it first', errors.NotFoundError),
        ("pull model manifest: file does not exist", errors.NotFoundError),
        ("unauthorized", errors.AuthenticationError),
        ("too many requests", errors.RateLimitError),
        ("invalid character 'x' looking for beginning of value", errors.BadRequestError),
    ],
)
def test_payload_error_class_follows_the_message(message: str, cls: type[errors.ProviderError]) -> None:
    error = payload_error("ollama", {"error": message})
    assert type(error) is cls and error.status_code is None and error.message == message


# --- streaming -------------------------------------------------------------------------------------------------------


def test_stream_text_then_usage_then_end() -> None:
    data = ndjson(chunk("Hel"), chunk("lo"), chunk("!"), final(prompt_eval_count=5, eval_count=3))
    events = decode(data)
    assert events[:3] == [TextDelta(text="Hel"), TextDelta(text="lo"), TextDelta(text="!")]
    assert events[3] == UsageUpdate(usage=Usage(input_tokens=5, output_tokens=3, total_tokens=8))
    end = events[4]
    assert isinstance(end, StreamEnd) and len(events) == 5
    assert end.response.text == "Hello!" and end.response.finish_reason == "stop"
    assert end.response.raw["done"] is True and end.response.raw["total_duration"] == 1_000_000


def test_stream_thinking_deltas_become_reasoning() -> None:
    events = decode(ndjson(chunk(thinking="Let me"), chunk(thinking=" think."), chunk("42"), final()))
    assert events[:3] == [ReasoningDelta(text="Let me"), ReasoningDelta(text=" think."), TextDelta(text="42")]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.reasoning == "Let me think." and end.response.text == "42"


def test_stream_whole_tool_calls_give_delta_and_done_at_once() -> None:
    weather = call("get_weather", {"city": "Toronto"}, "call_1")
    data = ndjson(chunk(tool_calls=[weather]), chunk(tool_calls=[call("clock", {})]), final(eval_count=9))
    events = decode(data)
    first = ToolCall(id="call_1", name="get_weather", arguments={"city": "Toronto"})
    second = ToolCall(id=synthesize_call_id(1, "clock", {}), name="clock")
    assert events[:4] == [
        ToolCallDelta(index=0, id="call_1", name="get_weather", arguments_delta='{"city":"Toronto"}'),
        ToolCallDone(index=0, tool_call=first),
        ToolCallDelta(index=1, id=second.id, name="clock", arguments_delta="{}"),
        ToolCallDone(index=1, tool_call=second),
    ]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.tool_calls == (first, second) and end.response.finish_reason == "tool_calls"


def test_stream_end_equals_the_non_streaming_parse() -> None:
    calls = [call("get_weather", {"city": "Oslo"})]
    body = chat_body("It rains.", thinking="hmm", tool_calls=calls, prompt_eval_count=10, eval_count=4)
    data = ndjson(
        chunk(thinking="hmm"),
        chunk("It "),
        chunk("rains.", tool_calls=calls),
        {**final(), "prompt_eval_count": 10, "eval_count": 4},
    )
    end = decode(data)[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.model_copy(update={"raw": {}}) == parse_response(body).model_copy(update={"raw": {}})


def test_stream_error_line_after_200_raises_the_mapped_error() -> None:
    decoder = StreamDecoder(provider="ollama")
    assert decoder.feed(ndjson(chunk("Yes"))) == [TextDelta(text="Yes")]
    with pytest.raises(errors.ServerError, match="while running the model"):
        decoder.feed(ndjson({"error": "an error was encountered while running the model"}))


def test_stream_cut_before_done_is_incomplete_with_partial() -> None:
    decoder = StreamDecoder(provider="ollama")
    decoder.feed(ndjson(chunk("Hel"), chunk("lo", tool_calls=[call("f", {"a": 1}, "c1")])))
    with pytest.raises(errors.IncompleteStreamError, match="done:true") as info:
        decoder.finish()
    partial = info.value.partial
    assert partial is not None and partial.text == "Hello" and partial.finish_reason == "other"
    assert partial.tool_calls == (ToolCall(id="c1", name="f", arguments={"a": 1}),)


def test_stream_final_line_without_newline_and_split_anywhere() -> None:
    data = ndjson(chunk("añ"), chunk("o 🌦️"), final()).rstrip(b"\n")
    whole = decode(data)
    for size in (1, 2, 3, 7):
        pieces = [data[i : i + size] for i in range(0, len(data), size)]
        assert decode(pieces) == whole
    end = whole[-1]
    assert isinstance(end, StreamEnd) and end.response.text == "año 🌦️"


def test_stream_ignores_anything_after_done() -> None:
    events = decode(ndjson(chunk("a"), final(), chunk("late"), {"error": "late too"}))
    assert [type(e).__name__ for e in events] == ["TextDelta", "UsageUpdate", "StreamEnd"]


@pytest.mark.parametrize(("line", "match"), [(b"not json\n", "not JSON"), (b"[1, 2]\n", "not an object")])
def test_stream_malformed_lines(line: bytes, match: str) -> None:
    with pytest.raises(errors.ResponseParseError, match=match):
        decode(ndjson(chunk("a")) + line)


# --- NDJSON ----------------------------------------------------------------------------------------------------------


def test_ndjson_decoder_lines_blank_lines_crlf_and_last_line() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a": 1}\r\n\n  \n{"b"') == [{"a": 1}]
    assert decoder.feed(b": 2}\n") == [{"b": 2}]
    assert decoder.feed(b'{"c": 3}') == []
    assert decoder.finish() == [{"c": 3}]
    assert decoder.finish() == []


def test_ndjson_decoder_bad_line_names_the_provider() -> None:
    with pytest.raises(errors.ResponseParseError, match="ollama: a stream line is not JSON"):
        NDJSONDecoder(provider="ollama").feed(b"<html>\n")


# --- model management ------------------------------------------------------------------------------------------------

TAGS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            "size": 2019393189,
            "digest": "sha256:a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        },
        {
            "name": "tiny:1b",
            "model": "tiny:1b",
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 1,
            "digest": "d",
            "details": {"families": None},  # a nil Go slice
        },
    ]
}


def test_parse_models_typed() -> None:
    sdk.ListResponse.model_validate(TAGS)
    first, second = parse_models(TAGS)
    assert first.name == "llama3.2:latest" and first.size == 2019393189
    assert first.modified_at is not None and first.modified_at.year == 2025
    assert first.details.parameter_size == "3.2B" and first.details.families == ("llama",)
    assert second.details.families == ()


@pytest.mark.parametrize("body", [{"models": []}, {"models": None}])
def test_parse_models_empty(body: Any) -> None:
    assert parse_models(body) == []


@pytest.mark.parametrize("body", [{}, [], {"models": [{"size": 1}]}])
def test_parse_models_malformed(body: Any) -> None:
    with pytest.raises(errors.ResponseParseError):
        parse_models(body)


def test_parse_model_info() -> None:
    body = {
        "modelfile": "FROM llama3.2",
        "parameters": "stop <|eot_id|>",
        "template": "{{ .Prompt }}",
        "details": TAGS["models"][0]["details"],
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
        "capabilities": ["completion", "tools"],
        "modified_at": "2025-05-04T17:37:44.706015396-07:00",
    }
    sdk.ShowResponse.model_validate(body)
    info = parse_model_info("llama3.2", body)
    assert info.name == "llama3.2" and info.capabilities == ("completion", "tools")
    assert info.model_info["llama.context_length"] == 131072 and info.details.family == "llama"


PULL_LINES = [
    {"status": "pulling manifest"},
    {"status": "pulling a80c4f17acd5", "digest": "sha256:a80c", "total": 2019377376, "completed": 0},
    {"status": "pulling a80c4f17acd5", "digest": "sha256:a80c", "total": 2019377376, "completed": 1009688688},
    {"status": "verifying sha256 digest"},
    {"status": "writing manifest"},
    {"status": "success"},
]


def test_pull_request_always_streams() -> None:
    assert pull_request("llama3.2") == {"model": "llama3.2", "stream": True}
    assert pull_request("x", insecure=True) == {"model": "x", "stream": True, "insecure": True}


def test_pull_decoder_progress_lines() -> None:
    for line in PULL_LINES:
        sdk.ProgressResponse.model_validate(line)
    decoder = PullDecoder()
    data = ndjson(*PULL_LINES)
    progress = [p for i in range(0, len(data), 5) for p in decoder.feed(data[i : i + 5])] + decoder.finish()
    assert [p.status for p in progress] == [line["status"] for line in PULL_LINES]
    assert progress[0].fraction is None
    assert progress[2].fraction == pytest.approx(0.5, abs=0.01) and progress[2].digest == "sha256:a80c"
    assert decoder.succeeded


def test_pull_decoder_error_line_raises() -> None:
    decoder = PullDecoder()
    with pytest.raises(errors.NotFoundError, match="file does not exist"):
        decoder.feed(ndjson(PULL_LINES[0], {"error": "pull model manifest: file does not exist"}))


def test_pull_decoder_cut_before_success() -> None:
    decoder = PullDecoder()
    decoder.feed(ndjson(*PULL_LINES[:3]))
    with pytest.raises(errors.IncompleteStreamError, match="before its status was 'success'"):
        decoder.finish()
