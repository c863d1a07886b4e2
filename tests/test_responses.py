"""The OpenAI Responses protocol module: build_request (every mapping and quirk), parse_response, StreamDecoder and
parse_error, all offline. Every body built here is checked against the official SDK's request type, and every sample
answer against its `Response` and stream-event models (tests/responses_samples.py)."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from responses_samples import (
    check_event,
    check_request,
    check_response,
    function_call_item,
    message_item,
    reasoning_item,
    response_body,
    sse_bytes,
    stream_events,
    usage,
)

from allos.capabilities import ALL_CAPABILITIES, Capability
from allos.errors import (
    AuthenticationError,
    BadRequestError,
    IncompleteStreamError,
    InvalidRequestError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    ResponseParseError,
    ServerError,
)
from allos.protocols.responses import (
    DEFAULT_QUIRKS,
    ResponsesQuirks,
    StreamDecoder,
    build_request,
    parse_error,
    parse_response,
)
from allos.providers.registry import get_spec
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

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def user(text: str = "hi", **fields: Any) -> Message:
    return Message(role="user", content=text, **fields)


def request(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=messages or (user(),), **fields)


def tool_round(call_id: str = "call_abc123", *, content: str | None = None, is_error: bool = False) -> list[Message]:
    """A user question, an assistant tool call, and the tool's answer."""
    return [
        user("Weather in Paris?"),
        Message(
            role="assistant",
            content=content,
            tool_calls=[ToolCall(id=call_id, name="get_weather", arguments={"city": "Paris"})],
        ),
        Message(role="tool", tool_call_id=call_id, content="sunny", is_error=is_error),
    ]


def build(req: ChatRequest, quirks: ResponsesQuirks = DEFAULT_QUIRKS) -> dict[str, Any]:
    body = build_request(req, quirks, provider="test")
    check_request(body)  # every body any test builds is one the official SDK accepts
    return body


def user_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


# --- build_request: the reference shape -------------------------------------------------------------------------------


def test_build_request_sends_only_what_was_asked() -> None:
    assert build(request()) == {"model": "m", "input": [user_item("hi")]}


def test_build_request_spells_every_optional_field_the_responses_way() -> None:
    body = build(
        request(
            tools=[WEATHER],
            tool_choice="required",
            parallel_tool_calls=False,
            max_tokens=100,
            temperature=0.2,
            top_p=0.9,
            response_format=ResponseFormat(type="json_object"),
            stream=True,
        )
    )
    assert body == {
        "model": "m",
        "input": [user_item("hi")],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": WEATHER.parameters,
                "strict": False,
            }
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_output_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.9,
        "text": {"format": {"type": "json_object"}},
        "stream": True,
    }


def test_build_request_system_messages_become_instructions_wherever_they_stand() -> None:
    body = build(
        request(
            Message(role="system", content="Be brief."),
            user("hi"),
            Message(role="system", content=(TextPart(text="Answer "), TextPart(text="in French."))),
            user("again"),
        )
    )
    assert body["instructions"] == "Be brief.\n\nAnswer in French."
    assert body["input"] == [user_item("hi"), user_item("again")]


def test_build_request_refuses_an_image_in_a_system_message() -> None:
    system = Message(role="system", content=(ImagePart(url="https://example.com/a.png"),))
    with pytest.raises(InvalidRequestError, match="system message cannot carry an image"):
        build_request(request(system, user()))


def test_build_request_user_parts_and_images() -> None:
    message = Message(
        role="user",
        content=(
            TextPart(text="What is this?"),
            ImagePart(url="https://example.com/cat.png"),
            ImagePart(data="aGVsbG8=", media_type="image/png"),
        ),
    )
    assert build(request(message))["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
                {"type": "input_image", "image_url": "data:image/png;base64,aGVsbG8=", "detail": "auto"},
            ],
        }
    ]


def test_build_request_user_without_content_sends_empty_text() -> None:
    assert build(request(Message(role="user")))["input"] == [user_item("")]


def test_build_request_assistant_text_goes_back_as_a_string() -> None:
    # output_text parts would need the server's own msg_ id; the id-less assistant shape is a string.
    body = build(request(user("knock knock."), Message(role="assistant", content="Who's there?"), user("Orange.")))
    assert body["input"] == [
        user_item("knock knock."),
        {"type": "message", "role": "assistant", "content": "Who's there?"},
        user_item("Orange."),
    ]


def test_build_request_assistant_text_parts_are_joined() -> None:
    assistant = Message(role="assistant", content=(TextPart(text="a"), TextPart(text="b")))
    assert build(request(user(), assistant, user()))["input"][1]["content"] == "ab"


@pytest.mark.parametrize("content", [None, ""], ids=["none", "empty"])
def test_build_request_empty_assistant_text_sends_no_message_item(content: str | None) -> None:
    body = build(request(*tool_round(content=content)))
    assert [item["type"] for item in body["input"]] == ["message", "function_call", "function_call_output"]


def test_build_request_tool_round_trip_items() -> None:
    body = build(request(*tool_round(content="Let me check.")))
    assert body["input"] == [
        user_item("Weather in Paris?"),
        {"type": "message", "role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "call_abc123", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_abc123", "output": "sunny"},
    ]


def test_build_request_is_error_tool_result_gets_the_error_prefix() -> None:
    body = build(request(*tool_round(is_error=True)))
    assert body["input"][-1]["output"] == "Error: sunny"


def test_build_request_tool_result_text_parts_are_joined() -> None:
    *history, _ = tool_round()
    result = Message(role="tool", tool_call_id="call_abc123", content=(TextPart(text="sun"), TextPart(text="ny")))
    assert build(request(*history, result))["input"][-1]["output"] == "sunny"


@pytest.mark.parametrize("is_error", [False, True], ids=["ok", "error"])
def test_build_request_tool_result_with_an_image_is_a_list_of_parts(is_error: bool) -> None:
    *history, _ = tool_round()
    parts = (TextPart(text="chart:"), ImagePart(url="https://example.com/chart.png"))
    result = Message(role="tool", tool_call_id="call_abc123", content=parts, is_error=is_error)
    output = build(request(*history, result))["input"][-1]["output"]
    prefix = [{"type": "input_text", "text": "Error: "}] if is_error else []
    assert output == [
        *prefix,
        {"type": "input_text", "text": "chart:"},
        {"type": "input_image", "image_url": "https://example.com/chart.png", "detail": "auto"},
    ]


def test_build_request_refuses_an_image_in_an_assistant_message() -> None:
    assistant = Message(role="assistant", content=(ImagePart(url="https://example.com/a.png"),))
    with pytest.raises(InvalidRequestError, match="assistant message cannot carry an image"):
        build_request(request(user(), assistant, user()))


def test_build_request_drops_name_and_reasoning() -> None:
    body = build(
        request(
            user("hi", name="alice"),
            Message(role="assistant", content="hello", reasoning="thinking..."),
            user("bye"),
        )
    )
    assert "name" not in json.dumps(body)
    assert "thinking" not in json.dumps(body)


def test_build_request_resends_invalid_arguments_verbatim() -> None:
    call = ToolCall(id="call_1", name="get_weather", raw_arguments='{"city": Par', arguments_error="not valid JSON")
    messages = [user(), Message(role="assistant", tool_calls=[call]), Message(role="tool", tool_call_id="call_1")]
    body = build(request(*messages))
    assert body["input"][1]["arguments"] == '{"city": Par'
    assert body["input"][2]["output"] == ""


def test_build_request_sends_arguments_as_compact_unicode_json() -> None:
    call = ToolCall(id="call_1", name="f", arguments={"city": "東京", "n": [1, 2]})
    messages = [user(), Message(role="assistant", tool_calls=[call]), Message(role="tool", tool_call_id="call_1")]
    assert build(request(*messages))["input"][1]["arguments"] == '{"city":"東京","n":[1,2]}'


def test_build_request_tool_without_description_and_with_strict() -> None:
    tools = [ToolSpec(name="a"), ToolSpec(name="b", strict=True), ToolSpec(name="c", strict=False)]
    sent = build(request(tools=tools))["tools"]
    assert sent == [
        {"type": "function", "name": "a", "parameters": {"type": "object", "properties": {}}, "strict": False},
        {"type": "function", "name": "b", "parameters": {"type": "object", "properties": {}}, "strict": True},
        {"type": "function", "name": "c", "parameters": {"type": "object", "properties": {}}, "strict": False},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (NamedToolChoice(name="get_weather"), {"type": "function", "name": "get_weather"}),
    ],
    ids=["auto", "none", "required", "named"],
)
def test_build_request_tool_choice_is_flat(choice: Any, expected: Any) -> None:
    assert build(request(tools=[WEATHER], tool_choice=choice))["tool_choice"] == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat(type="text"), {"type": "text"}),
        (ResponseFormat(type="json_object"), {"type": "json_object"}),
        (
            ResponseFormat(type="json_schema", name="city", json_schema={"type": "object"}),
            {"type": "json_schema", "name": "city", "schema": {"type": "object"}},
        ),
        (
            ResponseFormat(type="json_schema", name="city", json_schema={"type": "object"}, strict=True),
            {"type": "json_schema", "name": "city", "schema": {"type": "object"}, "strict": True},
        ),
    ],
    ids=["text", "json_object", "json_schema", "json_schema_strict"],
)
def test_build_request_response_format_goes_to_text_format(fmt: ResponseFormat, expected: dict[str, Any]) -> None:
    assert build(request(response_format=fmt))["text"] == {"format": expected}


def test_build_request_extra_body_wins_over_built_fields() -> None:
    body = build(request(max_tokens=100, extra_body={"max_output_tokens": 200, "store": False}))
    assert (body["max_output_tokens"], body["store"]) == (200, False)


def test_build_request_does_not_send_store_by_default() -> None:
    assert "store" not in build(request())


# --- build_request: what the protocol cannot express ------------------------------------------------------------------


def test_build_request_refuses_stop_sequences_naming_the_field() -> None:
    with pytest.raises(InvalidRequestError, match=r"no stop sequences; remove stop=.*source: openai-openapi"):
        build_request(request(stop=["END"]))


def test_build_request_refuses_seed() -> None:
    with pytest.raises(InvalidRequestError, match="no seed field; remove seed="):
        build_request(request(seed=7))


def test_build_request_refuses_max_tokens_below_the_minimum_naming_the_field() -> None:
    with pytest.raises(InvalidRequestError, match=r"max_tokens=15 is below 16, the minimum of .* max_output_tokens"):
        build_request(request(max_tokens=15))
    assert build(request(max_tokens=16))["max_output_tokens"] == 16


# --- build_request: call ids ------------------------------------------------------------------------------------------


def test_build_request_keeps_ids_up_to_64_characters() -> None:
    call_id = "x" * 64
    body = build(request(*tool_round(call_id)))
    assert body["input"][1]["call_id"] == body["input"][2]["call_id"] == call_id


def test_build_request_remaps_longer_ids_consistently() -> None:
    long_id = "call_" + "a" * 80
    body = build(request(*tool_round(long_id)))
    sent = body["input"][1]["call_id"]
    assert sent != long_id and 1 <= len(sent) <= 64 and sent.startswith("call_")
    assert body["input"][2]["call_id"] == sent
    assert build(request(*tool_round(long_id))) == body  # deterministic: the same conversation, the same bytes


def test_build_request_remapped_id_never_collides_with_a_kept_one() -> None:
    long_id = "y" * 65
    first = build(request(*tool_round(long_id)))["input"][1]["call_id"]
    messages = [*tool_round(first), *tool_round(long_id)[1:]]
    body = build(request(*messages))
    ids = [item["call_id"] for item in body["input"] if item["type"] == "function_call"]
    assert ids[0] == first and ids[1] != first


def test_build_request_quirk_without_id_format_sends_ids_as_given() -> None:
    long_id = "z" * 80
    body = build_request(request(*tool_round(long_id)), ResponsesQuirks(tool_call_ids=None))
    assert body["input"][1]["call_id"] == long_id


# --- build_request: other quirks --------------------------------------------------------------------------------------


def test_build_request_quirk_default_strict() -> None:
    body = build(request(tools=[WEATHER]), ResponsesQuirks(default_strict=True))
    assert body["tools"][0]["strict"] is True


@pytest.mark.parametrize("store", [True, False])
def test_build_request_quirk_store(store: bool) -> None:
    assert build(request(), ResponsesQuirks(store=store))["store"] is store


def test_build_request_quirk_min_output_tokens() -> None:
    assert build(request(max_tokens=1), ResponsesQuirks(min_output_tokens=1))["max_output_tokens"] == 1


def test_default_quirks_carry_their_sources() -> None:
    assert set(DEFAULT_QUIRKS.sources) >= {"tool_call_ids", "default_strict", "min_output_tokens", "store"}


# --- build_request: previous_response_id ------------------------------------------------------------------------------


def test_build_request_previous_response_id_sends_only_what_follows_the_last_assistant_turn() -> None:
    messages = [
        Message(role="system", content="Be brief."),
        user("knock knock."),
        Message(role="assistant", content="Who's there?"),
        user("Orange."),
        user("Orange who?"),
    ]
    body = build(request(*messages, previous_response_id="resp_1"))
    assert body == {
        "model": "m",
        "instructions": "Be brief.",  # instructions are not carried over from the previous response
        "input": [user_item("Orange."), user_item("Orange who?")],
        "previous_response_id": "resp_1",
    }


def test_build_request_previous_response_id_sends_tool_outputs_only() -> None:
    body = build(request(*tool_round(), previous_response_id="resp_1"))
    assert body["input"] == [{"type": "function_call_output", "call_id": "call_abc123", "output": "sunny"}]


def test_build_request_previous_response_id_without_assistant_turn_sends_everything() -> None:
    body = build(request(user("a"), user("b"), previous_response_id="resp_1"))
    assert body["input"] == [user_item("a"), user_item("b")]


def test_build_request_previous_response_id_with_nothing_new_is_refused() -> None:
    messages = [user(), Message(role="assistant", content="hello")]
    with pytest.raises(InvalidRequestError, match="must end with something new"):
        build_request(request(*messages, previous_response_id="resp_1"))


# --- parse_response ---------------------------------------------------------------------------------------------------


def parse(body: Mapping[str, Any]) -> ChatResponse:
    check_response(body)  # every sample is a Response the official SDK accepts
    return parse_response(body, provider="openai")


def test_parse_response_text_answer() -> None:
    body = response_body([message_item("Hello!")], usage_=usage(12, 5, cached=4, cache_write=2, reasoning=1))
    answer = parse(body)
    assert answer == ChatResponse(
        text="Hello!",
        finish_reason="stop",
        native_finish_reason="completed",
        usage=Usage(
            input_tokens=12,
            output_tokens=5,
            total_tokens=17,
            cached_input_tokens=4,
            cache_write_tokens=2,
            reasoning_tokens=1,
        ),
        model="gpt-4o-mini-2024-07-18",
        provider="openai",
        id="resp_1",
        raw=body,
    )


def test_parse_response_joins_text_parts_and_messages() -> None:
    first = message_item("Hel", item_id="msg_1")
    first["content"].append({"type": "output_text", "text": "lo", "annotations": []})
    answer = parse(response_body([first, message_item(" world", item_id="msg_2")]))
    assert answer.text == "Hello world"


def test_parse_response_refusal() -> None:
    answer = parse(response_body([message_item(refusal="I can't help with that.")]))
    assert (answer.text, answer.refusal, answer.finish_reason) == ("", "I can't help with that.", "stop")


def test_parse_response_tool_calls_use_call_id() -> None:
    body = response_body(
        [
            message_item("Checking."),
            function_call_item("call_1", "get_weather", '{"city":"Paris"}', item_id="fc_1"),
            function_call_item("call_2", "get_time", "", item_id="fc_2"),
        ]
    )
    answer = parse(body)
    assert answer.tool_calls == (
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_time"),
    )
    assert (answer.text, answer.finish_reason, answer.native_finish_reason) == ("Checking.", "tool_calls", "completed")


@pytest.mark.parametrize(
    ("raw", "error"), [('{"city": Par', "not valid JSON"), ("[1, 2]", "not a JSON object")], ids=["invalid", "array"]
)
def test_parse_response_bad_arguments_are_kept_and_reported(raw: str, error: str) -> None:
    (call,) = parse(response_body([function_call_item("call_1", "f", raw)])).tool_calls
    assert (call.arguments, call.raw_arguments) == ({}, raw)
    assert call.arguments_error is not None and error in call.arguments_error


def test_parse_response_reasoning_summaries() -> None:
    answer = parse(response_body([reasoning_item("First.", "Second."), message_item("42")]))
    assert (answer.reasoning, answer.text) == ("First.\n\nSecond.", "42")


def test_parse_response_reasoning_without_summary_is_none() -> None:
    assert parse(response_body([reasoning_item(), message_item("42")])).reasoning is None


def test_parse_response_raw_reasoning_text_when_there_is_no_summary() -> None:
    item = {**reasoning_item(), "content": [{"type": "reasoning_text", "text": "step by step"}]}
    assert parse(response_body([item, message_item("42")])).reasoning == "step by step"


@pytest.mark.parametrize(
    ("reason", "with_call", "expected"),
    [
        ("max_output_tokens", False, "length"),
        ("max_output_tokens", True, "length"),
        ("content_filter", False, "content_filter"),
        ("max_messages", False, "other"),
    ],
)
def test_parse_response_incomplete_reasons(reason: str, with_call: bool, expected: str) -> None:
    output = [message_item("Hel")]
    if with_call:
        output.append(function_call_item("call_1", "f", '{"a":'))
    answer = parse(response_body(output, status="incomplete", incomplete_reason=reason))
    assert (answer.finish_reason, answer.native_finish_reason) == (expected, reason)


@pytest.mark.parametrize("status", ["queued", "in_progress", "cancelled"])
def test_parse_response_unfinished_statuses_are_other(status: str) -> None:
    answer = parse(response_body([], status=status))
    assert (answer.finish_reason, answer.native_finish_reason) == ("other", status)


def test_parse_response_ignores_built_in_tool_items() -> None:
    search = {"id": "ws_1", "type": "web_search_call", "status": "completed"}
    assert parse_response(response_body([search, message_item("Found it.")])).text == "Found it."


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("server_error", ServerError),
        ("vector_store_timeout", ServerError),
        ("rate_limit_exceeded", RateLimitError),
        ("invalid_prompt", BadRequestError),
        ("image_too_large", BadRequestError),
        ("server_is_overloaded", ServerError),  # not a ResponseError code: classified by the shared table
    ],
)
def test_parse_response_failed_raises_the_mapped_error(code: str, cls: type[ProviderError]) -> None:
    body = response_body([], status="failed", error={"code": code, "message": "it broke"})
    if code != "server_is_overloaded":
        check_response(body)
    with pytest.raises(cls) as caught:
        parse_response(body, provider="openai")
    err = caught.value
    assert (err.provider, err.message, err.code, err.status_code) == ("openai", "it broke", code, None)


def test_parse_response_failed_without_error_object_still_raises() -> None:
    body = {**response_body([], status="failed"), "error": None}
    with pytest.raises(ProviderError, match="the response failed"):
        parse_response(body)


def test_parse_response_error_body_without_status_is_raised() -> None:
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    with pytest.raises(RateLimitError, match="Rate limit reached"):
        parse_response(body)


@pytest.mark.parametrize("body", [[], "text", None, 3], ids=["list", "str", "null", "int"])
def test_parse_response_refuses_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(ResponseParseError, match="expected a JSON object"):
        parse_response(body)


@pytest.mark.parametrize(
    ("output", "match"),
    [
        (None, "no output list"),
        ("text", "no output list"),
        (["text"], r"output\[0\] is str, expected an object"),
        (
            [{"type": "function_call", "call_id": "c", "arguments": "{}"}],
            r"output\[0\] is a function_call output item that has no name",
        ),
    ],
    ids=["missing", "string", "item-not-object", "call-without-name"],
)
def test_parse_response_refuses_malformed_output(output: Any, match: str) -> None:
    with pytest.raises(ResponseParseError, match=match):
        parse_response({"id": "resp_1", "status": "completed", "output": output})


# --- StreamDecoder ----------------------------------------------------------------------------------------------------


def decode(chunks: Iterable[bytes]) -> list[StreamEvent]:
    decoder = StreamDecoder(provider="openai", key_env="OPENAI_API_KEY")
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events


def stream_of(body: Mapping[str, Any], *, size: int = 3) -> bytes:
    check_response(body)
    events = stream_events(body, size=size)
    for event in events:
        check_event(event)  # every sample event is one the official SDK's stream types accept
    return sse_bytes(events)


def test_stream_decoder_text() -> None:
    body = response_body([message_item("Hello, world")])
    events = decode([stream_of(body, size=5)])
    assert events == [
        TextDelta(text="Hello"),
        TextDelta(text=", wor"),
        TextDelta(text="ld"),
        UsageUpdate(usage=parse(body).usage),
        StreamEnd(response=parse(body)),
    ]


def test_stream_decoder_tool_calls_keyed_by_output_index() -> None:
    body = response_body(
        [
            message_item("Checking."),
            function_call_item("call_1", "get_weather", '{"city":"Paris"}', item_id="fc_1"),
            function_call_item("call_2", "get_time", "{}", item_id="fc_2"),
        ]
    )
    events = decode([stream_of(body, size=8)])
    tool_events = [e for e in events if isinstance(e, (ToolCallDelta, ToolCallDone))]
    assert tool_events == [
        ToolCallDelta(index=1, id="call_1", name="get_weather"),
        ToolCallDelta(index=1, arguments_delta='{"city":'),
        ToolCallDelta(index=1, arguments_delta='"Paris"}'),
        ToolCallDone(index=1, tool_call=ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})),
        ToolCallDelta(index=2, id="call_2", name="get_time"),
        ToolCallDelta(index=2, arguments_delta="{}"),
        ToolCallDone(index=2, tool_call=ToolCall(id="call_2", name="get_time")),
    ]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response == parse(body)
    assert end.response.finish_reason == "tool_calls"


def test_stream_decoder_reasoning_deltas() -> None:
    body = response_body([reasoning_item("Think.", "More."), message_item("42")])
    events = decode([stream_of(body, size=100)])
    assert [e for e in events if isinstance(e, ReasoningDelta)] == [
        ReasoningDelta(text="Think."),
        ReasoningDelta(text="More."),
    ]
    assert events[-1] == StreamEnd(response=parse(body))


def test_stream_decoder_raw_reasoning_text_deltas() -> None:
    event = {
        "type": "response.reasoning_text.delta",
        "item_id": "rs_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "hmm",
        "sequence_number": 2,
    }
    check_event(event)
    decoder = StreamDecoder()
    assert decoder.feed(sse_bytes([event])) == [ReasoningDelta(text="hmm")]


def test_stream_decoder_refusal_arrives_in_stream_end() -> None:
    body = response_body([message_item(refusal="No.")])
    events = decode([stream_of(body)])
    assert [type(e) for e in events] == [UsageUpdate, StreamEnd]
    assert isinstance(events[-1], StreamEnd) and events[-1].response.refusal == "No."


def test_stream_decoder_incomplete_terminal_event() -> None:
    body = response_body([message_item("Hel")], status="incomplete", incomplete_reason="max_output_tokens")
    end = decode([stream_of(body)])[-1]
    assert isinstance(end, StreamEnd) and end.response.finish_reason == "length"


def test_stream_decoder_failed_terminal_event_raises_the_mapped_error() -> None:
    body = response_body([], status="failed", error={"code": "rate_limit_exceeded", "message": "slow down"})
    with pytest.raises(RateLimitError, match="slow down"):
        decode([stream_of(body)])


@pytest.mark.parametrize(
    ("event", "cls"),
    [
        ({"type": "error", "code": "server_is_overloaded", "message": "busy", "param": None}, ServerError),
        ({"type": "error", "code": "rate_limit_exceeded", "message": "busy", "param": None}, RateLimitError),
        ({"type": "error", "code": "invalid_prompt", "message": "busy", "param": None}, BadRequestError),
        ({"type": "error", "code": None, "message": "busy", "param": None}, ServerError),
        ({"type": "error", "error": {"type": "not_found_error", "message": "busy"}}, NotFoundError),
    ],
    ids=["overloaded", "rate-limit", "invalid-prompt", "no-code", "nested"],
)
def test_stream_decoder_error_event_raises_the_mapped_error(event: dict[str, Any], cls: type[ProviderError]) -> None:
    head = stream_events(response_body([message_item("Hi")]))[:2]
    error_event = {**event, "sequence_number": 2}
    if "error" not in event:
        check_event(error_event)
    with pytest.raises(cls, match="busy") as caught:
        decode([sse_bytes([*head, error_event])])
    assert caught.value.status_code is None  # the HTTP status was 200


def test_stream_decoder_end_before_a_terminal_event_is_incomplete_with_the_partial_answer() -> None:
    body = response_body([message_item("Hello there"), function_call_item("call_1", "get_weather", '{"city":"Paris"}')])
    events = stream_events(body, size=4)
    cut = [e for e in events if e["type"] != "response.completed"]
    cut = cut[: next(i for i, e in enumerate(cut) if e["type"] == "response.function_call_arguments.done")]
    with pytest.raises(IncompleteStreamError) as caught:
        decode([sse_bytes(cut)])
    partial = caught.value.partial
    assert partial is not None
    assert (partial.text, partial.id, partial.finish_reason) == ("Hello there", "resp_1", "other")
    assert partial.model == "gpt-4o-mini-2024-07-18"
    assert partial.tool_calls == (ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),)


def test_stream_decoder_cut_in_the_middle_of_an_event_is_incomplete() -> None:
    data = stream_of(response_body([message_item("Hello")]), size=100)
    cut = data[: data.index(b'"delta"') + 5]
    with pytest.raises(IncompleteStreamError) as caught:
        decode([cut])
    assert caught.value.partial is not None and caught.value.partial.text == ""


def test_stream_decoder_terminal_event_without_its_blank_line_is_complete() -> None:
    body = response_body([message_item("Hi")])
    end = decode([stream_of(body).rstrip(b"\n")])[-1]
    assert end == StreamEnd(response=parse(body))


def test_stream_decoder_empty_stream_is_incomplete() -> None:
    with pytest.raises(IncompleteStreamError) as caught:
        decode([b""])
    assert caught.value.partial == ChatResponse(provider="openai")


def test_stream_decoder_ignores_what_follows_the_terminal_event_and_a_done_line() -> None:
    body = response_body([message_item("Hi")])
    late = {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0}
    tail = sse_bytes([{**late, "delta": "late", "logprobs": [], "sequence_number": 99}]) + b"data: [DONE]\n\n"
    events = decode([stream_of(body), tail])
    assert events[-1] == StreamEnd(response=parse(body))
    assert TextDelta(text="late") not in events


def test_stream_decoder_reads_the_event_name_when_the_json_has_no_type() -> None:
    body = response_body([message_item("Hi")])
    data = json.dumps({"response": body})
    events = decode([f"event: response.completed\ndata: {data}\n\n".encode()])
    assert events[-1] == StreamEnd(response=parse(body))


def test_stream_decoder_terminal_response_without_output_uses_the_streamed_items() -> None:
    body = response_body([message_item("Hi"), function_call_item("call_1", "f", "{}")])
    events = stream_events(body)
    events[-1] = {**events[-1], "response": {**body, "output": []}}
    end = decode([sse_bytes(events)])[-1]
    assert isinstance(end, StreamEnd)
    assert end.response == parse_response(body, provider="openai").model_copy(update={"raw": end.response.raw})


def test_stream_decoder_closes_a_call_at_output_item_done_without_arguments_done() -> None:
    body = response_body([function_call_item("call_1", "f", '{"a":1}')])
    events = [e for e in stream_events(body) if e["type"] != "response.function_call_arguments.done"]
    done = [e for e in decode([sse_bytes(events)]) if isinstance(e, ToolCallDone)]
    assert done == [ToolCallDone(index=0, tool_call=ToolCall(id="call_1", name="f", arguments={"a": 1}))]


def test_stream_decoder_closes_calls_at_the_terminal_event_when_no_done_event_came() -> None:
    body = response_body([function_call_item("call_1", "f", '{"a":1}')])
    kept = ("response.output_item.added", "response.function_call_arguments.delta", "response.completed")
    events = [e for e in stream_events(body) if e["type"] in kept]
    out = decode([sse_bytes(events)])
    assert [type(e) for e in out[-3:]] == [ToolCallDone, UsageUpdate, StreamEnd]


@pytest.mark.parametrize(
    ("data", "cls", "match"),
    [
        ("{not json", ResponseParseError, "not JSON"),
        ("[1, 2]", ResponseParseError, "not an object"),
        ('{"type": "response.completed"}', ResponseParseError, "carries no response object"),
        ('{"type": "response.completed", "response": {"status": "completed"}}', ResponseParseError, "no output"),
    ],
    ids=["not-json", "array", "no-response", "no-output"],
)
def test_stream_decoder_refuses_malformed_events(data: str, cls: type[Exception], match: str) -> None:
    with pytest.raises(cls, match=match):
        decode([f"data: {data}\n\n".encode()])


def test_stream_decoder_ignores_unknown_events() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b'event: response.future_thing\ndata: {"type": "response.future_thing"}\n\n') == []


def test_stream_decoder_feed_byte_by_byte_gives_the_same_events() -> None:
    body = response_body(
        [reasoning_item("Hmm."), message_item("Température 東京 🌦️"), function_call_item("call_1", "f", '{"a":"é"}')]
    )
    data = stream_of(body)
    assert decode([data[i : i + 1] for i in range(len(data))]) == decode([data])


# --- parse_error ------------------------------------------------------------------------------------------------------


def test_parse_error_reads_the_openai_error_shape() -> None:
    body = {
        "error": {
            "message": "The model `gpt-x` does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    err = parse_error("openai", 404, json.dumps(body), {"x-request-id": "req_9"}, key_env="OPENAI_API_KEY")
    assert isinstance(err, NotFoundError)
    assert (err.message, err.error_type, err.code, err.request_id, err.status_code) == (
        "The model `gpt-x` does not exist",
        "invalid_request_error",
        "model_not_found",
        "req_9",
        404,
    )


def test_parse_error_names_the_key_variable_on_401() -> None:
    body = json.dumps({"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": None}})
    err = parse_error("openai", 401, body, {}, key_env="OPENAI_API_KEY")
    assert isinstance(err, AuthenticationError) and "OPENAI_API_KEY" in str(err)


# --- the row and its page ---------------------------------------------------------------------------------------------


def test_openai_row_declares_everything_but_reasoning_and_stop_sequences() -> None:
    spec = get_spec("openai")
    assert (spec.protocol, spec.quirks) == ("responses", None)
    assert ALL_CAPABILITIES - spec.capabilities == {Capability.REASONING, Capability.STOP_SEQUENCES}


def test_openai_docs_page_names_what_the_row_does_not_declare() -> None:
    page = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "providers" / "openai.md").read_text("utf-8")
    line = next(line for line in page.splitlines() if line.startswith("| not declared |"))
    assert "`reasoning`" in line and "`stop_sequences`" in line
