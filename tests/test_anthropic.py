"""The Anthropic Messages protocol module: build_request (every mapping and rule), parse_response, StreamDecoder and
parse_error, all offline; every body built here and every answer parsed is checked by the official SDK's types
(tests/anthropic_samples.py)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from anthropic_samples import assert_valid_body, error_body, message_body, sse_bytes, stream_chunks, stream_events

from allos.errors import (
    AuthenticationError,
    BadRequestError,
    IncompleteStreamError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ResponseParseError,
    ServerError,
)
from allos.protocols._ids import TOOL_USE_ID
from allos.protocols.anthropic import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_QUIRKS,
    EMPTY_ERROR_RESULT,
    AnthropicQuirks,
    StreamDecoder,
    build_request,
    iter_events,
    parse_error,
    parse_response,
)
from allos.providers._docs import render_alias_table, render_quirk_sources, replace_between_markers
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
TIME = ToolSpec(name="get_time", parameters={"type": "object", "properties": {"tz": {"type": "string"}}})


def user(content: Any = "hi", **fields: Any) -> Message:
    return Message(role="user", content=content, **fields)


def assistant(content: Any = None, *calls: ToolCall, **fields: Any) -> Message:
    return Message(role="assistant", content=content, tool_calls=calls, **fields)


def tool(call_id: str, content: Any = "sunny", **fields: Any) -> Message:
    return Message(role="tool", tool_call_id=call_id, content=content, **fields)


def request(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="claude-sonnet-4-5", messages=messages or (user(),), **fields)


def build(*messages: Message, quirks: AnthropicQuirks = DEFAULT_QUIRKS, **fields: Any) -> dict[str, Any]:
    """build_request, with every body checked by the SDK's request type."""
    body = build_request(request(*messages, **fields), quirks)
    assert_valid_body(body)
    return body


def call(call_id: str = "toolu_01A", name: str = "get_weather", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments or {"city": "Paris"})


# --- build_request: the body ------------------------------------------------------------------------------------------


def test_build_request_minimal_body_always_has_max_tokens() -> None:
    assert build(user("Hello")) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": DEFAULT_MAX_TOKENS,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_build_request_caller_max_tokens_wins_and_quirk_default_applies() -> None:
    assert build(user(), max_tokens=7)["max_tokens"] == 7
    assert build(user(), quirks=AnthropicQuirks(default_max_tokens=99))["max_tokens"] == 99


def test_build_request_spells_every_optional_field() -> None:
    body = build(
        user(),
        tools=[WEATHER],
        tool_choice="auto",
        stop=["END", "###"],
        temperature=0.25,
        top_p=0.9,
        seed=7,
        response_format=ResponseFormat(type="json_schema", name="w", json_schema={"type": "object"}, strict=True),
    )
    assert body["stop_sequences"] == ["END", "###"]
    assert (body["temperature"], body["top_p"]) == (0.25, 0.9)
    assert body["tool_choice"] == {"type": "auto"}
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert "seed" not in body and "stop" not in body and "response_format" not in body


def test_build_request_stream_flag() -> None:
    body = build_request(request(user(), stream=True))
    assert body["stream"] is True
    assert_valid_body(body)


def test_build_request_text_response_format_sends_nothing() -> None:
    assert "output_config" not in build(user(), response_format=ResponseFormat(type="text"))


def test_build_request_refuses_json_object_mode() -> None:
    with pytest.raises(InvalidRequestError, match="no JSON mode"):
        build_request(request(user(), response_format=ResponseFormat(type="json_object")))


def test_build_request_extra_body_wins() -> None:
    body = build_request(request(user(), extra_body={"max_tokens": 5, "metadata": {"user_id": "u1"}}))
    assert (body["max_tokens"], body["metadata"]) == (5, {"user_id": "u1"})


def test_build_request_refuses_previous_response_id() -> None:
    with pytest.raises(InvalidRequestError, match="previous_response_id"):
        build_request(request(user(), previous_response_id="resp_1"))


@pytest.mark.parametrize("temperature", [1.0, 0.0, 0.7])
def test_build_request_temperature_in_range_is_sent(temperature: float) -> None:
    assert build(user(), temperature=temperature)["temperature"] == temperature


def test_build_request_refuses_temperature_above_one() -> None:
    with pytest.raises(InvalidRequestError, match=r"range 0\.0-1\.0"):
        build_request(request(user(), temperature=1.5))


@pytest.mark.parametrize("stop", [" ", "\n", "\t\n "])
def test_build_request_refuses_whitespace_only_stop_sequences(stop: str) -> None:
    with pytest.raises(InvalidRequestError, match="whitespace only"):
        build_request(request(user(), stop=["END", stop]))


@pytest.mark.parametrize("field", ["temperature", "top_p"])
def test_build_request_api_version_2026_refuses_sampling_fields(field: str) -> None:
    new = AnthropicQuirks(api_version="2026-10-21")
    with pytest.raises(InvalidRequestError, match=rf"2026-10-21 refuses {field}.*ANTHROPIC_VERSION=2023-06-01"):
        build_request(request(user(), **{field: 0.5}), new)
    assert "temperature" not in build(user(), quirks=new)  # the rest of the body is unchanged


# --- build_request: system, turns, merging ---------------------------------------------------------------------------


def test_build_request_system_messages_are_joined_into_the_top_level_string() -> None:
    body = build(
        Message(role="system", content="Be brief."),
        user("Hi"),
        Message(role="system", content=(TextPart(text="Answer "), TextPart(text="in French."))),
        Message(role="system", content="   "),
    )
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]


def test_build_request_blank_system_is_not_sent() -> None:
    assert "system" not in build(Message(role="system", content=""), user())


def test_build_request_refuses_an_image_in_the_system_prompt() -> None:
    system = Message(role="system", content=(ImagePart(url="https://example.com/a.png"),))
    with pytest.raises(InvalidRequestError, match="system prompt is text only"):
        build_request(request(system, user()))


def test_build_request_consecutive_turns_of_one_role_are_merged() -> None:
    body = build(user("one"), user((TextPart(text="two"), TextPart(text="three"))), assistant("a"), assistant("b"))
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "one"},
                {"type": "text", "text": "two"},
                {"type": "text", "text": "three"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_build_request_blank_text_blocks_are_never_sent() -> None:
    body = build(user((TextPart(text=""), TextPart(text="real"), TextPart(text=" \n"))), assistant(" "), user("next"))
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "real"}, {"type": "text", "text": "next"}]}
    ]


def test_build_request_empty_assistant_turn_is_left_out_and_neighbours_merge() -> None:
    body = build(user("q"), assistant(None, reasoning="thought"), user("again"))
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_build_request_empty_first_user_turn_is_left_out() -> None:
    body = build(user(""), assistant("Hello, how can I help?"), user("Weather?"))
    assert [m["role"] for m in body["messages"]] == ["assistant", "user"]


@pytest.mark.parametrize(
    "messages",
    [
        (user(""),),
        (Message(role="system", content="s"), user("  ")),
        (user("q"), assistant("a"), user("")),
        (user("q"), assistant("a"), user((TextPart(text=" "),)), Message(role="system", content="late")),
    ],
    ids=["only-empty", "system-and-blank", "empty-last-after-assistant", "blank-parts-then-system"],
)
def test_build_request_refuses_an_empty_last_user_turn(messages: tuple[Message, ...]) -> None:
    with pytest.raises(InvalidRequestError, match="last message has no content"):
        build_request(request(*messages))


def test_build_request_empty_last_user_turn_after_tool_results_merges() -> None:
    body = build(user("q"), assistant(None, call()), tool("toolu_01A"), user(""))
    assert body["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny"}],
    }


def test_build_request_final_assistant_prefill_loses_trailing_whitespace() -> None:
    body = build(user("Pick A or B"), assistant("The answer is "))
    assert body["messages"][-1] == {"role": "assistant", "content": "The answer is"}


def test_build_request_trailing_whitespace_is_kept_before_the_last_turn() -> None:
    body = build(user("q"), assistant("a  "), user("b"))
    assert body["messages"][1] == {"role": "assistant", "content": "a  "}


def test_build_request_reasoning_and_names_are_dropped() -> None:
    body = build(user("q", name="alice"), assistant("a", reasoning="secret thoughts"), user("b"))
    assert "secret" not in json.dumps(body) and "alice" not in json.dumps(body)


# --- build_request: images --------------------------------------------------------------------------------------------


def test_build_request_images_become_image_blocks() -> None:
    body = build(
        user(
            (
                TextPart(text="What is this?"),
                ImagePart(url="https://example.com/cat.png"),
                ImagePart(data="aGVsbG8=", media_type="image/webp"),
                ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
            )
        )
    )
    assert body["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "aGVsbG8="}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
    ]


@pytest.mark.parametrize(
    ("part", "match"),
    [
        (ImagePart(data="AAAA", media_type="image/bmp"), "media type 'image/bmp'"),
        (ImagePart(url="data:image/svg+xml;base64,PHN2Zz4="), "media type 'image/svg\\+xml'"),
        (ImagePart(url="data:image/png,rawbytes"), "base64"),
    ],
)
def test_build_request_refuses_images_anthropic_cannot_take(part: ImagePart, match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        build_request(request(user((part,))))


def test_build_request_refuses_an_image_in_an_assistant_turn() -> None:
    image = assistant((ImagePart(url="https://example.com/a.png"),))
    with pytest.raises(InvalidRequestError, match="assistant message cannot carry an image"):
        build_request(request(user(), image, user()))


# --- build_request: tools ---------------------------------------------------------------------------------------------


def test_build_request_tools_are_name_description_input_schema() -> None:
    strict = ToolSpec(name="t", parameters={"type": "object", "properties": {}}, strict=True)
    loose = ToolSpec(name="u", description="", parameters={"properties": {"x": {"type": "string"}}})
    body = build(user(), tools=[WEATHER, strict, loose])
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather in a city", "input_schema": WEATHER.parameters},
        {"name": "t", "input_schema": {"type": "object", "properties": {}}, "strict": True},
        {"name": "u", "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}},
    ]


def test_build_request_refuses_a_non_object_input_schema() -> None:
    with pytest.raises(InvalidRequestError, match="must be an object schema"):
        build_request(request(user(), tools=[ToolSpec(name="t", parameters={"type": "array"})]))


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", None, {"type": "auto"}),
        ("required", None, {"type": "any"}),
        (NamedToolChoice(name="get_weather"), None, {"type": "tool", "name": "get_weather"}),
        ("none", None, {"type": "none"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (
            NamedToolChoice(name="get_weather"),
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        (None, None, None),
        (None, True, None),
        ("auto", True, {"type": "auto"}),
    ],
)
def test_build_request_tool_choice(choice: Any, parallel: bool | None, expected: dict[str, Any] | None) -> None:
    body = build(user(), tools=[WEATHER], tool_choice=choice, parallel_tool_calls=parallel)
    assert body.get("tool_choice") == expected


def test_build_request_tool_choice_without_tools_is_not_sent() -> None:
    body = build(user(), tool_choice="none", parallel_tool_calls=False)
    assert "tool_choice" not in body and "tools" not in body


def test_build_request_tool_round_trip_shapes() -> None:
    body = build(
        user("Weather in Paris and the time?"),
        assistant("Let me check.", call("toolu_01A"), call("toolu_01B", "get_time", tz="CET")),
        tool("toolu_01B", "12:00"),
        tool("toolu_01A", "sunny", is_error=False),
        tools=[WEATHER, TIME],
    )
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {"tz": "CET"}},
            ],
        },
        {
            "role": "user",  # the results of one parallel call share ONE user turn
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "12:00"},
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny"},
            ],
        },
    ]


def test_build_request_tool_only_assistant_turn_has_no_text_block() -> None:
    body = build(user(), assistant("", call()), tool("toolu_01A"))
    assert [b["type"] for b in body["messages"][1]["content"]] == ["tool_use"]


def test_build_request_failed_tool_is_marked_is_error() -> None:
    body = build(user(), assistant(None, call()), tool("toolu_01A", "city not found", is_error=True))
    assert body["messages"][-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "city not found", "is_error": True}
    ]


def test_build_request_failed_tool_without_text_still_has_content() -> None:
    body = build(user(), assistant(None, call()), tool("toolu_01A", " ", is_error=True))
    assert body["messages"][-1]["content"][0]["content"] == EMPTY_ERROR_RESULT


@pytest.mark.parametrize("content", ["", "  ", None, (TextPart(text=""),)])
def test_build_request_blank_tool_result_omits_content(content: Any) -> None:
    body = build(user(), assistant(None, call()), tool("toolu_01A", content))
    assert body["messages"][-1]["content"] == [{"type": "tool_result", "tool_use_id": "toolu_01A"}]


def test_build_request_tool_result_parts_and_images() -> None:
    parts = (TextPart(text="chart:"), ImagePart(data="iVBORw0KGgo=", media_type="image/png"), TextPart(text=" "))
    body = build(user(), assistant(None, call()), tool("toolu_01A", parts))
    assert body["messages"][-1]["content"][0]["content"] == [
        {"type": "text", "text": "chart:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
    ]
    one = build(user(), assistant(None, call()), tool("toolu_01A", (TextPart(text="only"),)))
    assert one["messages"][-1]["content"][0]["content"] == "only"


def test_build_request_tool_results_lead_the_user_turn() -> None:
    body = build(user("q"), assistant(None, call()), user("also this"), tool("toolu_01A"))
    assert [b["type"] for b in body["messages"][-1]["content"]] == ["tool_result", "text"]


def test_build_request_foreign_tool_call_ids_are_remapped_consistently() -> None:
    foreign = "call.7|gemini/xyz"
    body = build(
        user(),
        assistant(None, call(foreign), call("call_ok-1_", "get_time", tz="UTC")),
        tool(foreign),
        tool("call_ok-1_"),
    )
    uses = body["messages"][1]["content"]
    results = body["messages"][2]["content"]
    assert TOOL_USE_ID.valid(uses[0]["id"]) and uses[0]["id"] != foreign
    assert results[0]["tool_use_id"] == uses[0]["id"]
    assert uses[1]["id"] == results[1]["tool_use_id"] == "call_ok-1_"  # a valid id passes unchanged
    assert build_request(request(user(), assistant(None, call(foreign)), tool(foreign))) == build_request(
        request(user(), assistant(None, call(foreign)), tool(foreign))
    )


def test_build_request_refuses_arguments_that_were_never_an_object() -> None:
    broken = ToolCall.from_json("toolu_01A", "get_weather", '{"city": "Par')
    with pytest.raises(InvalidRequestError, match=r"tool_use\.input must be an object"):
        build_request(request(user(), assistant(None, broken), tool("toolu_01A")))


def test_build_request_sends_unicode_arguments_as_objects() -> None:
    body = build(user(), assistant(None, call(city="東京 🌦️")), tool("toolu_01A"))
    assert body["messages"][1]["content"][0]["input"] == {"city": "東京 🌦️"}


# --- parse_response ---------------------------------------------------------------------------------------------------


def test_parse_response_text_answer() -> None:
    body = message_body(
        [{"type": "text", "text": "Bonjour"}, {"type": "text", "text": " !"}],
        usage={"input_tokens": 10, "output_tokens": 3},
    )
    response = parse_response(body, provider="anthropic")
    assert response == ChatResponse(
        text="Bonjour !",
        finish_reason="stop",
        native_finish_reason="end_turn",
        usage=Usage(input_tokens=10, output_tokens=3, total_tokens=13),
        model="claude-sonnet-4-5",
        provider="anthropic",
        id="msg_01XFDUDYJgAACzvnptvVoYEL",
        raw=body,
    )


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("model_context_window_exceeded", "other"),
        ("compaction", "other"),
        (None, "other"),
    ],
)
def test_parse_response_stop_reason(native: str | None, expected: str) -> None:
    body = {**message_body([{"type": "text", "text": "x"}]), "stop_reason": native}
    response = parse_response(body)
    assert (response.finish_reason, response.native_finish_reason) == (expected, native)


def test_parse_response_tool_use_thinking_and_redacted_blocks() -> None:
    body = message_body(
        [
            {"type": "thinking", "thinking": "The user wants ", "signature": "EqQBCgIYAhIM"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
            {"type": "thinking", "thinking": "the weather.", "signature": "EqQBCgIYAhIN"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    )
    response = parse_response(body)
    assert response.reasoning == "The user wants the weather."
    assert response.text == "Checking."
    assert response.tool_calls == (
        ToolCall(id="toolu_01A", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="toolu_01B", name="get_time"),
    )
    assert response.finish_reason == "tool_calls"
    assert response.message.tool_calls == response.tool_calls


def test_parse_response_usage_with_cache_fields() -> None:
    usage = {
        "input_tokens": 20,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 300,
        "output_tokens": 50,
        "output_tokens_details": {"thinking_tokens": 30},
        "service_tier": "standard",
    }
    response = parse_response(message_body([{"type": "text", "text": "x"}], usage=usage))
    assert response.usage == Usage(
        input_tokens=1320,
        output_tokens=50,
        total_tokens=1370,
        cached_input_tokens=1000,
        cache_write_tokens=300,
        reasoning_tokens=30,
    )


def test_parse_response_refusal_details() -> None:
    details = {"type": "refusal", "category": "cyber", "explanation": "Could enable malware development."}
    body = message_body([], stop_reason="refusal", stop_details=details)
    response = parse_response(body)
    assert (response.finish_reason, response.refusal) == ("content_filter", "Could enable malware development.")
    no_explanation = message_body([], stop_reason="refusal", stop_details={"type": "refusal", "category": "bio"})
    assert parse_response(no_explanation).refusal == "bio"


def test_parse_response_non_object_input_is_reported_not_hidden() -> None:
    body = {**message_body([]), "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": [1, 2]}]}
    (tool_call,) = parse_response(body).tool_calls
    assert (tool_call.raw_arguments, tool_call.arguments_error) == ("[1, 2]", "not a JSON object")


def test_parse_response_error_body_with_200_is_raised() -> None:
    with pytest.raises(ServerError, match="Overloaded"):
        parse_response(json.loads(error_body("overloaded_error", "Overloaded")))


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([], "expected a JSON object"),
        ({"type": "message"}, "no content list"),
        ({"type": "message", "content": [{"type": "tool_use", "id": "t"}]}, "no name"),
    ],
)
def test_parse_response_refuses_malformed_bodies(body: Any, match: str) -> None:
    with pytest.raises(ResponseParseError, match=match):
        parse_response(body)


def test_parse_response_ignores_unknown_blocks() -> None:
    body = {**message_body([{"type": "text", "text": "x"}])}
    body["content"] = [*body["content"], {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search"}, 7]
    assert parse_response(body).text == "x"


# --- StreamDecoder ----------------------------------------------------------------------------------------------------


def decode(chunks: list[bytes]) -> list[StreamEvent]:
    return iter_events(StreamDecoder(provider="anthropic"), chunks)


def test_stream_decoder_text_usage_and_end() -> None:
    body = message_body(
        [{"type": "text", "text": "Hello there"}],
        usage={"input_tokens": 25, "cache_read_input_tokens": 100, "output_tokens": 15},
    )
    events = decode(stream_chunks(body, piece=5))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " ther", "e"]
    usages = [e.usage for e in events if isinstance(e, UsageUpdate)]
    assert usages[0] == Usage(input_tokens=125, output_tokens=1, total_tokens=126, cached_input_tokens=100)
    assert usages[-1] == Usage(input_tokens=125, output_tokens=15, total_tokens=140, cached_input_tokens=100)
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].response == parse_response(body).model_copy(update={"raw": {}})


def test_stream_decoder_tool_calls_joined_per_block_with_tool_ordinals() -> None:
    body = message_body(
        [
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {}},
        ],
        stop_reason="tool_use",
    )
    events = decode(stream_chunks(body, piece=4))
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(index=0, id="toolu_01A", name="get_weather")
    assert "".join(d.arguments_delta for d in deltas if d.index == 0) == '{"city": "Paris"}'
    assert ToolCallDelta(index=1, id="toolu_01B", name="get_time") in deltas
    done = [e for e in events if isinstance(e, ToolCallDone)]
    assert [(d.index, d.tool_call) for d in done] == [
        (0, ToolCall(id="toolu_01A", name="get_weather", arguments={"city": "Paris"})),
        (1, ToolCall(id="toolu_01B", name="get_time")),
    ]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.finish_reason == "tool_calls"


def test_stream_decoder_thinking_deltas_and_signature_ignored() -> None:
    body = message_body(
        [{"type": "thinking", "thinking": "Let me think", "signature": "sig=="}, {"type": "text", "text": "42"}]
    )
    events = decode(stream_chunks(body, piece=100))
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["Let me think"]
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.reasoning == "Let me think" and "sig" not in str(events)


def test_stream_decoder_message_delta_usage_is_cumulative_field_by_field() -> None:
    events = [
        {"type": "message_start", "message": {**message_body([]), "usage": {"input_tokens": 9, "output_tokens": 1}}},
        {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 5}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
            "usage": {"output_tokens": 8, "input_tokens": None, "cache_read_input_tokens": 4},
        },
        {"type": "message_stop"},
    ]
    out = decode(sse_bytes(events))
    end = out[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.usage == Usage(input_tokens=13, output_tokens=8, total_tokens=21, cached_input_tokens=4)
    assert end.response.finish_reason == "length"


def test_stream_decoder_skips_pings_comments_unknown_events_and_deltas() -> None:
    body = message_body([{"type": "text", "text": "ok"}])
    events = stream_events(body)
    extra = [
        b": keep-alive comment\n\n",
        b'event: ping\ndata: {"type": "ping"}\n\n',
        b'event: brand_new_event\ndata: {"type": "brand_new_event", "x": 1}\n\n',
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0,'
        b' "delta": {"type": "citations_delta", "citation": {}}}\n\n',
    ]
    chunks = sse_bytes(events[:3]) + extra + sse_bytes(events[3:])
    out = decode(chunks)
    assert [e.text for e in out if isinstance(e, TextDelta)] == ["ok"]


def test_stream_decoder_dispatches_on_event_name_when_data_has_no_type() -> None:
    body = message_body([])
    chunks = [
        b"event: message_start\ndata: " + json.dumps({"message": body}).encode() + b"\n\n",
        b"event: message_stop\ndata: {}\n\n",
    ]
    assert isinstance(decode(chunks)[-1], StreamEnd)


@pytest.mark.parametrize(
    ("error_type", "cls"),
    [
        ("overloaded_error", ServerError),
        ("api_error", ServerError),
        ("rate_limit_error", RateLimitError),
        ("invalid_request_error", BadRequestError),
        ("brand_new_error", ServerError),
    ],
)
def test_stream_decoder_error_event_raises_the_mapped_error(error_type: str, cls: type[ProviderError]) -> None:
    body = message_body([{"type": "text", "text": "partial"}])
    error = error_body(error_type, "Overloaded", typed=error_type != "brand_new_error")
    chunks = [*stream_chunks(body)[:4], f"event: error\ndata: {error}\n\n".encode()]
    decoder = StreamDecoder(provider="anthropic")
    with pytest.raises(cls, match="Overloaded") as caught:
        iter_events(decoder, chunks)
    assert caught.value.error_type == error_type and caught.value.status_code is None
    assert decoder.partial().text == "par"  # the first text delta arrived before the error


def test_stream_decoder_cut_before_message_stop_is_incomplete_with_partial() -> None:
    body = message_body(
        [
            {"type": "text", "text": "Let me look"},
            {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        stop_reason="tool_use",
    )
    chunks = stream_chunks(body, piece=6, pings=False)
    cut = len(chunks) - 4  # inside the tool call's arguments
    decoder = StreamDecoder(provider="anthropic")
    with pytest.raises(IncompleteStreamError, match="before message_stop") as caught:
        iter_events(decoder, chunks[:cut])
    partial = caught.value.partial
    assert partial is not None and partial.text == "Let me look" and partial.finish_reason == "other"
    assert partial.tool_calls[0].name == "get_weather" and not partial.tool_calls[0].arguments_valid


def test_stream_decoder_without_message_stop_after_message_delta_is_still_incomplete() -> None:
    chunks = stream_chunks(message_body([{"type": "text", "text": "x"}]))
    with pytest.raises(IncompleteStreamError):
        decode(chunks[:-1])


def test_stream_decoder_empty_stream_is_incomplete() -> None:
    with pytest.raises(IncompleteStreamError):
        decode([])


def test_stream_decoder_ignores_anything_after_message_stop() -> None:
    chunks = stream_chunks(message_body([{"type": "text", "text": "x"}]))
    events = decode([*chunks, b'event: error\ndata: {"type": "error"}\n\n'])
    assert isinstance(events[-1], StreamEnd)


@pytest.mark.parametrize(
    ("chunk", "match"),
    [
        (b"event: message_start\ndata: {not json\n\n", "not JSON"),
        (b"data: [1, 2]\n\n", "not an object"),
        (b'data: {"type": "message_start"}\n\n', "carries no message"),
        (b'data: {"type": "content_block_start", "content_block": {"type": "text"}}\n\n', "no block index"),
        (b'data: {"type": "content_block_start", "index": 0}\n\n', "no content_block"),
        (b'data: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use"}}\n\n', "no name"),
        (
            b'data: {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta",'
            b' "partial_json": "{"}}\n\n',
            "not a tool_use",
        ),
    ],
)
def test_stream_decoder_refuses_malformed_events(chunk: bytes, match: str) -> None:
    with pytest.raises(ResponseParseError, match=match):
        StreamDecoder().feed(chunk)


def test_stream_decoder_tool_input_given_whole_at_block_start() -> None:
    start = {"type": "message_start", "message": message_body([])}
    block = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
    events = [
        start,
        {"type": "content_block_start", "index": 0, "content_block": block},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 3}},
        {"type": "message_stop"},
    ]
    end = decode(sse_bytes(events))[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.tool_calls == (ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Oslo"}),)


def test_stream_decoder_byte_by_byte_gives_the_same_events() -> None:
    body = message_body(
        [
            {"type": "thinking", "thinking": "ünïcödé thoughts 🌦️", "signature": "s"},
            {"type": "text", "text": "東京の天気は晴れ"},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "東京"}},
        ],
        stop_reason="tool_use",
    )
    chunks = stream_chunks(body)
    whole = decode([b"".join(chunks)])
    single = decode([bytes([b]) for b in b"".join(chunks)])
    assert single == whole == decode(chunks)


# --- parse_error ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request_error", BadRequestError),
        (401, "authentication_error", AuthenticationError),
        (402, "billing_error", ProviderError),
        (403, "permission_error", PermissionDeniedError),
        (404, "not_found_error", NotFoundError),
        (413, "request_too_large", ProviderError),
        (429, "rate_limit_error", RateLimitError),
        (500, "api_error", ServerError),
        (504, "timeout_error", ServerError),
        (529, "overloaded_error", ServerError),
    ],
)
def test_parse_error_documented_types(status: int, error_type: str, cls: type[ProviderError]) -> None:
    body = error_body(error_type, "something went wrong")
    error = parse_error("anthropic", status, body, {"request-id": "req_header"}, key_env="ANTHROPIC_API_KEY")
    assert type(error) is cls
    assert (error.status_code, error.error_type, error.message) == (status, error_type, "something went wrong")
    assert error.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"  # the body's request_id first


def test_parse_error_request_id_header_when_the_body_has_none() -> None:
    error = parse_error("anthropic", 500, error_body("api_error", "x", request_id=None), {"request-id": "req_h"})
    assert error.request_id == "req_h"


def test_parse_error_401_names_the_key_variable() -> None:
    error = parse_error(
        "anthropic", 401, error_body("authentication_error", "invalid x-api-key"), {}, key_env="ANTHROPIC_API_KEY"
    )
    assert "ANTHROPIC_API_KEY" in str(error)


def test_parse_error_413_from_the_edge_has_a_hint() -> None:
    html = "<html><head><title>413 Request Entity Too Large</title></head></html>"
    error = parse_error("anthropic", 413, html, {})
    assert error.hint is not None and "32 MB" in error.hint
    assert "413 Request Entity Too Large" in error.message


def test_parse_error_429_reads_retry_after() -> None:
    error = parse_error("anthropic", 429, error_body("rate_limit_error", "slow down"), {"retry-after": "7"})
    assert isinstance(error, RateLimitError) and error.retry_after == 7.0


# --- docs -------------------------------------------------------------------------------------------------------------

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "providers" / "anthropic.md"


def test_docs_page_generated_sections_match_the_registry() -> None:
    page = PAGE.read_text(encoding="utf-8")
    rendered = replace_between_markers(
        page,
        render_alias_table("anthropic"),
        "<!-- BEGIN GENERATED: alias table -->",
        "<!-- END GENERATED: alias table -->",
    )
    rendered = replace_between_markers(
        rendered,
        render_quirk_sources("anthropic"),
        "<!-- BEGIN GENERATED: quirks -->",
        "<!-- END GENERATED: quirks -->",
    )
    assert rendered == page, "update the generated sections of docs/providers/anthropic.md from the registry"


def test_docs_page_states_the_defaults_the_code_uses() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert f"`{DEFAULT_MAX_TOKENS}`" in page
    assert DEFAULT_QUIRKS.api_version in page
    assert EMPTY_ERROR_RESULT in page
