"""The Chat Completions protocol module: build_request (every quirk, every alias row), parse_response, StreamDecoder
and parse_error, all offline: canonical objects in, plain data out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import pytest

from allos.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IncompleteStreamError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ResponseParseError,
    ServerError,
)
from allos.protocols._ids import ALNUM9
from allos.protocols.chat_completions import (
    DEFAULT_QUIRKS,
    ChatCompletionsQuirks,
    StreamDecoder,
    build_request,
    parse_error,
    parse_request,
    parse_response,
)
from allos.providers.registry import get_spec
from allos.types import (
    ChatRequest,
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
    strict=True,
)


def quirks_of(alias: str) -> ChatCompletionsQuirks:
    quirks = get_spec(alias).quirks
    return quirks if isinstance(quirks, ChatCompletionsQuirks) else DEFAULT_QUIRKS


def user(text: str = "hi", **fields: Any) -> Message:
    return Message(role="user", content=text, **fields)


def request(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(model="m", messages=messages or (user(),), **fields)


def tool_round(
    call_id: str = "call_abc123", *, content: str | None = None, reasoning: str | None = None
) -> list[Message]:
    """A user question, an assistant tool call, and the tool's answer."""
    return [
        user("Weather in Paris?"),
        Message(
            role="assistant",
            content=content,
            tool_calls=[ToolCall(id=call_id, name="get_weather", arguments={"city": "Paris"})],
            reasoning=reasoning,
        ),
        Message(role="tool", tool_call_id=call_id, content="sunny"),
    ]


def build(req: ChatRequest, quirks: ChatCompletionsQuirks = DEFAULT_QUIRKS) -> dict[str, Any]:
    return build_request(req, quirks, provider="test")


# --- build_request: the reference shape -----------------------------------------------------------------------------


def test_build_request_sends_only_what_was_asked() -> None:
    assert build(request()) == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_build_request_spells_every_optional_field_the_reference_way() -> None:
    body = build(
        request(
            tools=[WEATHER],
            tool_choice="auto",
            parallel_tool_calls=False,
            max_tokens=7,
            temperature=0.0,
            top_p=0.5,
            stop="END",
            seed=42,
            response_format=ResponseFormat(type="json_object"),
            stream=True,
            extra_body={"user": "u-1"},
        )
    )
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather in a city",
                    "parameters": WEATHER.parameters,
                    "strict": True,
                },
            }
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_tokens": 7,
        "temperature": 0.0,
        "top_p": 0.5,
        "stop": ["END"],
        "seed": 42,
        "response_format": {"type": "json_object"},
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
    }


def test_build_request_omits_an_empty_tool_description_and_an_unset_strict() -> None:
    body = build(request(tools=[ToolSpec(name="f")]))
    assert body["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": ToolSpec(name="f").parameters}}
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (NamedToolChoice(name="get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
    ],
    ids=["auto", "none", "required", "named"],
)
def test_build_request_tool_choice(choice: Any, expected: Any) -> None:
    assert build(request(tools=[WEATHER], tool_choice=choice))["tool_choice"] == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        (ResponseFormat(type="text"), {"type": "text"}),
        (ResponseFormat(type="json_object"), {"type": "json_object"}),
        (
            ResponseFormat(type="json_schema", name="city", json_schema={"type": "object"}, strict=True),
            {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}},
        ),
        (
            ResponseFormat(type="json_schema", json_schema={"type": "object"}),
            {"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object"}}},
        ),
    ],
    ids=["text", "json-object", "json-schema-strict", "json-schema-default-name"],
)
def test_build_request_response_format(fmt: ResponseFormat, expected: dict[str, Any]) -> None:
    assert build(request(response_format=fmt))["response_format"] == expected


def test_build_request_extra_body_wins_over_built_fields() -> None:
    # extra_body is the escape hatch: what the caller puts there is sent as given.
    assert build(request(temperature=0.5, extra_body={"temperature": 1}))["temperature"] == 1


def test_build_request_refuses_previous_response_id() -> None:
    with pytest.raises(InvalidRequestError, match="previous_response_id"):
        build(request(previous_response_id="resp_1"))


def test_build_request_is_error_tool_result_gets_the_error_prefix() -> None:
    messages = tool_round()
    messages[-1] = Message(role="tool", tool_call_id="call_abc123", content="city not found", is_error=True)
    assert build(request(*messages))["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_abc123",
        "content": "Error: city not found",
    }


def test_build_request_tool_result_parts_are_joined_into_text() -> None:
    parts = (TextPart(text="sun"), TextPart(text="ny"))
    messages = [*tool_round()[:2], Message(role="tool", tool_call_id="call_abc123", content=parts)]
    assert build(request(*messages))["messages"][-1]["content"] == "sunny"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (Message(role="assistant", content=None, tool_calls=[ToolCall(id="c", name="f")]), None),
        (Message(role="assistant", content="", tool_calls=[ToolCall(id="c", name="f")]), None),
        (Message(role="assistant", content="Let me check.", tool_calls=[ToolCall(id="c", name="f")]), "Let me check."),
        (Message(role="assistant", content=None), ""),
        (Message(role="assistant", content=""), ""),
        (Message(role="user", content=None), ""),
        (Message(role="system", content=None), ""),
        (Message(role="tool", tool_call_id="c", content=None), ""),
    ],
    ids=[
        "tool-calls-none-is-null",
        "tool-calls-empty-is-null",
        "tool-calls-with-text",
        "assistant-none-is-empty-string",
        "assistant-empty-string",
        "user-none-is-empty-string",
        "system-none-is-empty-string",
        "tool-none-is-empty-string",
    ],
)
def test_build_request_content_null_only_on_tool_call_turns(message: Message, expected: str | None) -> None:
    # [OAS]: content may be null only when tool_calls are present; OpenAI rejects null otherwise [vercel/ai #14950].
    sent = build(request(user(), message))["messages"][1]
    assert "content" in sent
    assert sent["content"] == expected


def test_build_request_user_images_become_image_url_parts() -> None:
    content = (
        TextPart(text="What is this?"),
        ImagePart(url="https://example.com/cat.png"),
        ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
    )
    assert build(request(Message(role="user", content=content)))["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]


@pytest.mark.parametrize(
    "message",
    [
        Message(role="system", content=(TextPart(text="look"), ImagePart(url="https://x/y.png"))),
        Message(role="assistant", content=(ImagePart(url="https://x/y.png"),)),
        Message(role="tool", tool_call_id="c", content=(ImagePart(url="https://x/y.png"),)),
    ],
    ids=["system", "assistant", "tool"],
)
def test_build_request_refuses_an_image_outside_a_user_message(message: Message) -> None:
    with pytest.raises(InvalidRequestError, match=f"a {message.role} message cannot carry an image") as info:
        build(request(message, user()))
    assert info.value.provider == "test"


def test_build_request_system_text_parts_are_joined() -> None:
    system = Message(role="system", content=(TextPart(text="Be "), TextPart(text="brief.")))
    assert build(request(system, user()))["messages"][0] == {"role": "system", "content": "Be brief."}


def test_build_request_resends_invalid_arguments_verbatim() -> None:
    broken = ToolCall.from_json("call_1", "get_weather", '{"city": "Par')
    messages = [
        user(),
        Message(role="assistant", tool_calls=[broken]),
        Message(role="tool", tool_call_id="call_1", content="bad arguments", is_error=True),
    ]
    sent = build(request(*messages))["messages"][1]["tool_calls"][0]
    assert sent == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Par'},
    }


def test_build_request_sends_arguments_as_compact_unicode_json() -> None:
    call = ToolCall(id="c", name="f", arguments={"city": "Zürich", "days": [1, 2]})
    sent = build(request(user(), Message(role="assistant", tool_calls=[call])))["messages"][1]["tool_calls"][0]
    assert sent["function"]["arguments"] == '{"city":"Zürich","days":[1,2]}'


# --- build_request: each quirk on its own ----------------------------------------------------------------------------


def test_build_request_quirk_max_completion_tokens() -> None:
    body = build(request(max_tokens=9), ChatCompletionsQuirks(max_tokens_field="max_completion_tokens"))
    assert body["max_completion_tokens"] == 9
    assert "max_tokens" not in body


def test_build_request_quirk_tool_call_ids_remaps_consistently() -> None:
    quirks = ChatCompletionsQuirks(tool_call_ids=ALNUM9)
    messages = [*tool_round("call_abc123"), *tool_round("toolu_01XyZ")[1:], *tool_round("Ab3dE6gH9")[1:]]
    sent = build(request(*messages), quirks)["messages"]
    call_ids = [m["tool_calls"][0]["id"] for m in sent if m.get("tool_calls")]
    answer_ids = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert call_ids == answer_ids
    assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", i) for i in call_ids)
    assert call_ids[2] == "Ab3dE6gH9"  # already valid: left alone
    assert len(set(call_ids)) == 3
    assert build(request(*messages), quirks)["messages"] == sent  # the same history, the same bytes


def test_build_request_quirk_tool_call_ids_never_collides_with_a_valid_id() -> None:
    quirks = ChatCompletionsQuirks(tool_call_ids=ALNUM9)
    minted = build(request(*tool_round("call_1")), quirks)["messages"][1]["tool_calls"][0]["id"]
    # A history that already uses the id the foreign one would be minted to.
    messages = [*tool_round(minted), *tool_round("call_1")[1:]]
    sent = build(request(*messages), quirks)["messages"]
    ids = [m["tool_calls"][0]["id"] for m in sent if m.get("tool_calls")]
    assert ids[0] == minted
    assert ids[1] != minted and re.fullmatch(r"[a-zA-Z0-9]{9}", ids[1])


def test_build_request_quirk_tool_choice_required_spelling() -> None:
    body = build(request(tools=[WEATHER], tool_choice="required"), ChatCompletionsQuirks(tool_choice_required="any"))
    assert body["tool_choice"] == "any"


def test_build_request_quirk_seed_field() -> None:
    body = build(request(seed=3), ChatCompletionsQuirks(seed_field="random_seed"))
    assert body["random_seed"] == 3
    assert "seed" not in body


def test_build_request_quirk_rejected_params_names_the_field_and_the_source() -> None:
    quirks = ChatCompletionsQuirks(rejected_params=frozenset({"logprobs"}), sources={"rejected_params": "docs X"})
    with pytest.raises(InvalidRequestError, match=r"'logprobs'.*docs X"):
        build(request(extra_body={"logprobs": True}), quirks)
    assert "logprobs" not in build(request(), quirks)


@pytest.mark.parametrize(("keep", "expected"), [(True, {"name": "ann"}), (False, {})], ids=["kept", "dropped"])
def test_build_request_quirk_message_name(keep: bool, expected: dict[str, str]) -> None:
    sent = build(request(user(name="ann")), ChatCompletionsQuirks(message_name=keep))["messages"][0]
    assert sent == {"role": "user", "content": "hi", **expected}


@pytest.mark.parametrize("strict", [True, False], ids=["strict-true", "strict-false"])
def test_build_request_quirk_strict_tools(strict: bool) -> None:
    tool = WEATHER.model_copy(update={"strict": strict})
    assert build(request(tools=[tool]))["tools"][0]["function"]["strict"] is strict
    assert (
        "strict" not in build(request(tools=[tool]), ChatCompletionsQuirks(strict_tools=False))["tools"][0]["function"]
    )


def test_build_request_quirk_stream_usage() -> None:
    assert build(request(stream=True))["stream_options"] == {"include_usage": True}
    body = build(request(stream=True), ChatCompletionsQuirks(stream_usage=False))
    assert body["stream"] is True
    assert "stream_options" not in body
    assert "stream" not in build(request())


def test_build_request_quirk_empty_assistant_content() -> None:
    sent = build(request(*tool_round()), ChatCompletionsQuirks(empty_assistant_content=""))["messages"][1]
    assert sent["content"] == ""
    assert build(request(*tool_round()))["messages"][1]["content"] is None


def test_build_request_quirk_reasoning_field_only_on_tool_call_turns() -> None:
    quirks = ChatCompletionsQuirks(reasoning_field="reasoning_content")
    messages = [
        *tool_round(reasoning="I should call the tool"),
        Message(role="assistant", content="Sunny.", reasoning="r"),
    ]
    sent = build(request(*messages, user("thanks")), quirks)["messages"]
    assert sent[1]["reasoning_content"] == "I should call the tool"
    assert "reasoning_content" not in sent[3]
    assert "reasoning_content" not in build(request(*messages, user()))["messages"][1]


def test_build_request_quirk_json_object_schema() -> None:
    fmt = ResponseFormat(type="json_schema", json_schema={"type": "object"}, strict=True)
    quirks = ChatCompletionsQuirks(json_schema_style="json_object_schema")
    assert build(request(response_format=fmt), quirks)["response_format"] == {
        "type": "json_object",
        "schema": {"type": "object"},
    }
    assert build(request(response_format=ResponseFormat(type="json_object")), quirks)["response_format"] == {
        "type": "json_object"
    }


def test_build_request_quirk_merge_consecutive_roles() -> None:
    quirks = ChatCompletionsQuirks(merge_consecutive_roles=True)
    system = Message(role="system", content="s")
    parts = Message(role="user", content=(TextPart(text="p"), ImagePart(url="https://x/y.png")))
    messages = [
        system,
        user("a"),
        user("b"),
        Message(role="assistant", content="x"),
        Message(role="assistant", content=None),
        user("c"),
        parts,
        *tool_round()[1:],
        user("d"),
    ]
    assert (
        build(request(*messages), quirks)["messages"]
        == [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "a\n\nb"},
            {"role": "assistant", "content": "x"},  # an empty turn adds nothing
            {
                "role": "user",
                "content": [  # text joins parts as a part: nothing is lost, and the roles alternate
                    {"type": "text", "text": "c"},
                    {"type": "text", "text": "\n\n"},
                    {"type": "text", "text": "p"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
            *build(request(*tool_round()[1:]))["messages"],  # tool-call turns are never merged
            {"role": "user", "content": "d"},
        ]
    )
    assert len(build(request(*messages))["messages"]) == len(messages)


# --- build_request: each alias row ------------------------------------------------------------------------------------


def test_build_request_alias_mistral() -> None:
    quirks = quirks_of("mistral")
    messages = [*tool_round("call_abc123"), user("and tomorrow?", name="ann")]
    body = build_request(
        request(*messages, tools=[WEATHER], tool_choice="required", seed=1, stream=True), quirks, provider="mistral"
    )
    call_id = body["messages"][1]["tool_calls"][0]["id"]
    assert re.fullmatch(r"[a-zA-Z0-9]{9}", call_id)
    assert body["messages"][2]["tool_call_id"] == call_id
    assert body["messages"][1]["content"] == ""  # Mistral refuses null content [mistral-common#324]
    assert "name" not in body["messages"][3]
    assert body["tool_choice"] == "any"
    assert body["random_seed"] == 1 and "seed" not in body
    assert body["stream"] is True and "stream_options" not in body  # extra fields are forbidden


def test_build_request_alias_openai_chat_uses_max_completion_tokens() -> None:
    body = build_request(request(max_tokens=5), quirks_of("openai-chat"))
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body


def test_build_request_alias_groq_drops_message_name() -> None:
    body = build_request(request(user(name="ann")), quirks_of("groq"), provider="groq")
    assert body["messages"] == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("field", ["logprobs", "top_logprobs", "logit_bias", "n"])
def test_build_request_alias_groq_refuses_unsupported_fields(field: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"'{field}'") as info:
        build_request(request(extra_body={field: 1}), quirks_of("groq"), provider="groq")
    assert info.value.provider == "groq"
    assert "console.groq.com" in str(info.value)


def test_build_request_alias_fireworks() -> None:
    fmt = ResponseFormat(type="json_schema", json_schema={"type": "object", "properties": {}})
    body = build_request(request(response_format=fmt, tools=[WEATHER], tool_choice="required"), quirks_of("fireworks"))
    assert body["response_format"] == {"type": "json_object", "schema": {"type": "object", "properties": {}}}
    assert body["tool_choice"] == "any"


def test_build_request_alias_xai_drops_strict_and_name() -> None:
    body = build_request(request(user(name="ann"), tools=[WEATHER]), quirks_of("xai"))
    assert "strict" not in body["tools"][0]["function"]
    assert "name" not in body["messages"][0]


def test_build_request_alias_perplexity_merges_consecutive_user_turns() -> None:
    body = build_request(request(user("one"), user("two")), quirks_of("perplexity"))
    assert body["messages"] == [{"role": "user", "content": "one\n\ntwo"}]


def test_build_request_alias_deepseek_sends_reasoning_back_on_tool_call_turns() -> None:
    body = build_request(request(*tool_round(reasoning="need weather")), quirks_of("deepseek"))
    assert body["messages"][1]["reasoning_content"] == "need weather"


def test_build_request_alias_cerebras_refuses_parallel_tool_calls() -> None:
    with pytest.raises(InvalidRequestError, match="'parallel_tool_calls'"):
        build_request(request(tools=[WEATHER], parallel_tool_calls=False), quirks_of("cerebras"), provider="cerebras")


@pytest.mark.parametrize("alias", ["together", "portkey", "openrouter", "gemini", "vllm", "lmstudio", "localai"])
def test_build_request_alias_reference_rows_build_the_reference_body(alias: str) -> None:
    req = request(*tool_round(), user(name="ann"), tools=[WEATHER], max_tokens=3, stream=True, seed=1)
    assert build_request(req, quirks_of(alias)) == build_request(req)


# --- parse_response --------------------------------------------------------------------------------------------------


def completion(message: dict[str, Any] | None = None, finish: str | None = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi", **(message or {})},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        **extra,
    }


def call(arguments: Any = '{"city": "Paris"}', call_id: str | None = "call_1", name: str = "get_weather") -> Any:
    item: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        item["id"] = call_id
    return item


def test_parse_response_text_answer() -> None:
    body = completion(usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4})
    response = parse_response(body, provider="groq")
    assert (response.text, response.finish_reason, response.native_finish_reason) == ("hi", "stop", "stop")
    assert (response.model, response.id, response.provider) == ("m-1", "chatcmpl-1", "groq")
    assert response.usage == Usage(input_tokens=3, output_tokens=1, total_tokens=4)
    assert response.tool_calls == ()
    assert response.raw == body


@pytest.mark.parametrize(
    ("native", "with_tools", "expected"),
    [
        ("stop", False, "stop"),
        ("eos", False, "stop"),
        ("length", False, "length"),
        ("model_length", False, "length"),
        ("tool_calls", True, "tool_calls"),
        ("function_call", True, "tool_calls"),
        ("content_filter", False, "content_filter"),
        ("", True, "tool_calls"),
        ("", False, "other"),
        ("stop", True, "tool_calls"),
        (None, True, "tool_calls"),
        (None, False, "other"),
        ("error", False, "other"),
        ("something_new", False, "other"),
        ("end_turn", False, "stop"),
        ("max_tokens", False, "length"),
    ],
    ids=[
        "stop",
        "together-eos",
        "length",
        "mistral-model-length",
        "tool-calls",
        "legacy-function-call",
        "content-filter",
        "xai-empty-with-tools",
        "empty-without-tools",
        "gemini-stop-with-tools",
        "null-with-tools",
        "null",
        "openrouter-error",
        "unknown",
        "anthropic-end-turn",
        "anthropic-max-tokens",
    ],
)
def test_parse_response_finish_reason(native: str | None, with_tools: bool, expected: str) -> None:
    message = {"content": None, "tool_calls": [call()]} if with_tools else {}
    response = parse_response(completion(message, finish=native))
    assert response.finish_reason == expected
    assert response.native_finish_reason == native


def test_parse_response_tool_calls() -> None:
    message = {"content": None, "tool_calls": [call(), call('{"city": "Oslo"}', "call_2")]}
    response = parse_response(completion(message, finish="tool_calls"))
    assert response.text == ""
    assert response.tool_calls == (
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
        ToolCall(id="call_2", name="get_weather", arguments={"city": "Oslo"}),
    )


def test_parse_response_invalid_json_arguments_are_kept_and_resent_verbatim() -> None:
    raw = '{"city": "Paris"'
    response = parse_response(completion({"tool_calls": [call(raw)]}, finish="tool_calls"))
    (tool_call,) = response.tool_calls
    assert tool_call.arguments == {}
    assert tool_call.raw_arguments == raw
    assert tool_call.arguments_error is not None and "not valid JSON" in tool_call.arguments_error
    assert not tool_call.arguments_valid
    # Sending the turn back repeats exactly what the model produced: it can see and fix its own mistake.
    body = build_request(request(user(), response.message, Message(role="tool", tool_call_id="call_1", content="?")))
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == raw


@pytest.mark.parametrize("raw", ["[1, 2]", "3", '"text"', "null"], ids=["array", "number", "string", "null"])
def test_parse_response_non_object_arguments_are_reported(raw: str) -> None:
    (tool_call,) = parse_response(completion({"tool_calls": [call(raw)]})).tool_calls
    assert tool_call.arguments == {}
    assert tool_call.raw_arguments == raw
    assert tool_call.arguments_error == "not a JSON object"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", {}), ("  ", {}), (None, {}), ({"city": "Paris"}, {"city": "Paris"})],
    ids=["empty-string", "blank", "null", "object-not-string"],
)
def test_parse_response_argument_spellings_without_an_error(arguments: Any, expected: dict[str, Any]) -> None:
    (tool_call,) = parse_response(completion({"tool_calls": [call(arguments)]})).tool_calls
    assert tool_call.arguments == expected
    assert tool_call.arguments_valid


def test_parse_response_missing_tool_call_ids_get_positional_ones() -> None:
    message = {"tool_calls": [call(call_id=None), call(call_id=""), call(call_id="given")]}
    ids = [c.id for c in parse_response(completion(message)).tool_calls]
    assert ids == ["call_0", "call_1", "given"]


def test_parse_response_mistral_content_list_with_thinking_chunks() -> None:
    content = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "The user "}, {"type": "text", "text": "greets."}]},
        {"type": "text", "text": "Hello"},
        {"type": "text", "text": "!"},
        {"type": "unknown", "value": 1},
        "not a part",
    ]
    response = parse_response(completion({"content": content}), provider="mistral")
    assert response.text == "Hello!"
    assert response.reasoning == "The user greets."


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"], ids=["deepseek", "openrouter"])
def test_parse_response_reasoning_fields(field: str) -> None:
    assert parse_response(completion({field: "thinking..."})).reasoning == "thinking..."
    assert parse_response(completion({field: ""})).reasoning is None


def test_parse_response_refusal() -> None:
    response = parse_response(completion({"content": None, "refusal": "I can't help with that."}))
    assert response.refusal == "I can't help with that."
    assert response.text == ""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, Usage()),
        ({"usage": None}, Usage()),
        (
            {
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": 5,
                    "total_tokens": 15,
                    "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 2},
                    "completion_tokens_details": {"reasoning_tokens": 3},
                }
            },
            Usage(
                input_tokens=10,
                output_tokens=5,
                total_tokens=15,
                cached_input_tokens=4,
                cache_write_tokens=2,
                reasoning_tokens=3,
            ),
        ),
        (
            {"x_groq": {"id": "req_1", "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}}},
            Usage(input_tokens=7, output_tokens=2, total_tokens=9),
        ),
        (
            {"usage": {"prompt_tokens": 8, "completion_tokens": 1, "prompt_cache_hit_tokens": 6}},
            Usage(input_tokens=8, output_tokens=1, cached_input_tokens=6),
        ),
        (
            {"usage": {"prompt_tokens": None, "completion_tokens": None, "prompt_tokens_details": None}},
            Usage(),
        ),
    ],
    ids=["absent", "null", "details", "groq-x-groq", "deepseek-cache-hit", "nulls-inside"],
)
def test_parse_response_usage(extra: dict[str, Any], expected: Usage) -> None:
    assert parse_response(completion(**extra)).usage == expected


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ({"message": "Rate limit exceeded", "code": 429}, RateLimitError),
        ({"message": "upstream failed", "code": 502}, ServerError),
        ({"message": "bad key", "type": "authentication_error"}, AuthenticationError),
        ({"message": "what happened"}, ServerError),
    ],
    ids=["openrouter-429", "openrouter-502", "typed", "untyped"],
)
def test_parse_response_error_in_a_200_body_is_raised(error: dict[str, Any], cls: type[ProviderError]) -> None:
    with pytest.raises(cls, match=error["message"]) as info:
        parse_response({"error": error}, provider="openrouter")
    assert info.value.provider == "openrouter"
    assert info.value.status_code is None  # the HTTP status was 200


@pytest.mark.parametrize(
    "body",
    [[{"choices": []}], "text", None, 3],
    ids=["list", "string", "null", "number"],
)
def test_parse_response_refuses_a_body_that_is_not_an_object(body: Any) -> None:
    with pytest.raises(ResponseParseError, match="expected a JSON object") as info:
        parse_response(body, provider="together")
    assert info.value.provider == "together"
    assert str(info.value).startswith("together: ")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"choices": []}, "no choices"),
        ({"id": "x"}, "no choices"),
        ({"choices": ["text"]}, "no choices"),
        ({"choices": [{"finish_reason": "stop"}]}, "no message"),
        (completion({"tool_calls": {"id": "x"}}), "expected a list"),
        (
            completion({"tool_calls": [{"id": "x", "function": {"arguments": "{}"}}]}),
            r"tool_calls\[0\] has no function",
        ),
        (completion({"tool_calls": ["x"]}), r"choices\[0\]\.message\.tool_calls\[0\] is str, expected an object"),
    ],
    ids=[
        "empty-choices",
        "no-choices",
        "choice-not-object",
        "no-message",
        "calls-not-list",
        "call-no-name",
        "call-str",
    ],
)
def test_parse_response_refuses_malformed_bodies(body: Any, match: str) -> None:
    with pytest.raises(ResponseParseError, match=match):
        parse_response(body, provider="vllm")


# --- StreamDecoder ---------------------------------------------------------------------------------------------------


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m-1",
        "choices": choices,
    } | extra


def sse(*payloads: Any, done: bool = True) -> bytes:
    lines = [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def decode(data: bytes | Iterable[bytes], provider: str = "test") -> list[StreamEvent]:
    decoder = StreamDecoder(provider=provider)
    events: list[StreamEvent] = []
    for piece in [data] if isinstance(data, bytes) else data:
        events.extend(decoder.feed(piece))
    events.extend(decoder.finish())
    return events


def end_of(events: list[StreamEvent]) -> StreamEnd:
    last = events[-1]
    assert isinstance(last, StreamEnd)
    return last


def test_stream_decoder_text() -> None:
    events = decode(
        sse(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
        )
    )
    assert events[:2] == [TextDelta(text="Hel"), TextDelta(text="lo")]
    response = end_of(events).response
    assert (response.text, response.finish_reason, response.model, response.id) == (
        "Hello",
        "stop",
        "m-1",
        "chatcmpl-1",
    )
    assert len(events) == 3


def test_stream_decoder_joins_tool_call_fragments_by_index() -> None:
    stream = sse(
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": '{"x'}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": '}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '": 2}'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({}, "tool_calls"),
    )
    events = decode(stream)
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas[0] == ToolCallDelta(index=0, id="call_a", name="f", arguments_delta="")
    assert deltas[2] == ToolCallDelta(index=0, arguments_delta='{"a": ')
    expected = (
        ToolCall(id="call_a", name="f", arguments={"a": 1}),
        ToolCall(id="call_b", name="g", arguments={"x": 2}),
    )
    dones = [e for e in events if isinstance(e, ToolCallDone)]
    assert [d.tool_call for d in dones] == list(expected)
    assert [d.index for d in dones] == [0, 1]
    response = end_of(events).response
    assert response.tool_calls == expected
    assert response.finish_reason == "tool_calls"


def test_stream_decoder_gemini_fragments_without_index() -> None:
    # Gemini omits `index` and sends each call whole, finishing with "stop" [python-genai#2868].
    stream = sse(
        chunk({"tool_calls": [{"id": "fc-1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}),
        chunk({"tool_calls": [{"id": "fc-2", "type": "function", "function": {"name": "g", "arguments": "{}"}}]}),
        chunk({}, "stop"),
    )
    response = end_of(decode(stream)).response
    assert response.tool_calls == (
        ToolCall(id="fc-1", name="f", arguments={"a": 1}),
        ToolCall(id="fc-2", name="g", arguments={}),
    )
    assert response.finish_reason == "tool_calls"
    assert response.native_finish_reason == "stop"


def test_stream_decoder_fragments_without_index_or_id_continue_the_last_call() -> None:
    stream = sse(
        chunk({"tool_calls": [{"id": "fc-1", "function": {"name": "f", "arguments": '{"a"'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": ": 1}"}}]}),
        chunk({"tool_calls": [{"id": "fc-1", "function": {"arguments": ""}}]}),
        chunk({}, "tool_calls"),
    )
    assert end_of(decode(stream)).response.tool_calls == (ToolCall(id="fc-1", name="f", arguments={"a": 1}),)


def test_stream_decoder_usage_only_final_chunk() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    events = decode(sse(chunk({"content": "ok"}, usage=None), chunk({}, "stop", usage=None), chunk(None, usage=usage)))
    expected = Usage(input_tokens=5, output_tokens=2, total_tokens=7)
    assert UsageUpdate(usage=expected) in events
    assert end_of(events).response.usage == expected


def test_stream_decoder_groq_x_groq_usage() -> None:
    x_groq = {"id": "req_1", "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}}
    events = decode(sse(chunk({"content": "ok"}, x_groq={"id": "req_1"}), chunk({}, "stop", x_groq=x_groq)))
    assert end_of(events).response.usage == Usage(input_tokens=4, output_tokens=1, total_tokens=5)
    assert sum(isinstance(e, UsageUpdate) for e in events) == 1


def test_stream_decoder_reasoning_deltas() -> None:
    events = decode(
        sse(chunk({"reasoning_content": "hmm"}), chunk({"reasoning": " ok"}), chunk({"content": "A"}, "stop"))
    )
    assert events[:3] == [ReasoningDelta(text="hmm"), ReasoningDelta(text=" ok"), TextDelta(text="A")]
    assert end_of(events).response.reasoning == "hmm ok"


def test_stream_decoder_assembles_a_streamed_refusal() -> None:
    # A refusal streams in `delta.refusal` [OAS]; the assembled answer must say so, as a non-streaming call does.
    events = decode(sse(chunk({"refusal": "I can't"}), chunk({"refusal": " help."}), chunk({}, "stop")))
    assert end_of(events).response.refusal == "I can't help."
    assert end_of(decode(sse(chunk({"content": "ok", "refusal": None}, "stop")))).response.refusal is None


def test_stream_decoder_skips_openrouter_comments() -> None:
    stream = b": OPENROUTER PROCESSING\n\n" + sse(chunk({"content": "x"}, "stop"))
    assert end_of(decode(stream)).response.text == "x"


@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        ({"error": {"message": "Rate limit", "type": "rate_limit_exceeded"}}, RateLimitError),
        ({"error": {"message": "Provider returned error", "code": 502}}, ServerError),
        ({"error": {"message": "overloaded", "type": "server_is_overloaded"}}, ServerError),
        ({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, ServerError),
        ({"error": {"message": "no such model", "code": "model_not_found"}}, NotFoundError),
        ({"error": "quota gone", "type": "insufficient_quota"}, RateLimitError),
    ],
    ids=["openai-rate-limit", "openrouter-502", "overloaded", "anthropic-shape", "not-found", "flat-string"],
)
def test_stream_decoder_error_payload_raises_the_mapped_error(
    payload: dict[str, Any], cls: type[ProviderError]
) -> None:
    decoder = StreamDecoder(provider="openrouter")
    decoder.feed(sse(chunk({"content": "partial"}), done=False))
    with pytest.raises(cls) as info:
        decoder.feed(sse(payload, done=False))
    assert info.value.provider == "openrouter"
    assert info.value.status_code is None


def test_stream_decoder_ignores_data_after_done() -> None:
    stream = sse(chunk({"content": "a"}, "stop")) + sse(chunk({"content": "b"}), "not json")
    events = decode(stream)
    assert end_of(events).response.text == "a"
    assert sum(isinstance(e, StreamEnd) for e in events) == 1


def test_stream_decoder_done_without_finish_reason_closes_tool_calls() -> None:
    stream = sse(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}))
    events = decode(stream)
    assert isinstance(events[-2], ToolCallDone)
    response = end_of(events).response
    assert response.finish_reason == "tool_calls"
    assert response.native_finish_reason is None


def test_stream_decoder_end_without_done_after_a_finish_reason_is_complete() -> None:
    events = decode(sse(chunk({"content": "ok"}), chunk({}, "length"), done=False))
    response = end_of(events).response
    assert (response.text, response.finish_reason) == ("ok", "length")


def test_stream_decoder_early_end_raises_incomplete_with_the_partial_answer() -> None:
    decoder = StreamDecoder(provider="together")
    decoder.feed(
        sse(
            chunk({"content": "Hel"}),
            chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a'}}]}),
            done=False,
        )
    )
    with pytest.raises(IncompleteStreamError, match="ended before") as info:
        decoder.finish()
    partial = info.value.partial
    assert partial is not None
    assert partial.text == "Hel"
    assert partial.finish_reason == "other"
    assert partial.tool_calls[0].raw_arguments == '{"a'
    assert info.value.provider == "together"


@pytest.mark.parametrize(
    "tail",
    [b'data: {"choices": [{"ind', b"data: ", b'data: {"choices": [], "usage": {"prompt_tok'],
    ids=["inside-a-chunk", "after-the-field-name", "inside-the-usage-chunk-after-finish"],
)
def test_stream_decoder_cut_inside_a_chunk_is_incomplete(tail: bytes) -> None:
    # The connection dropped mid-chunk: a cut stream, with what arrived, not a malformed one.
    decoder = StreamDecoder(provider="together")
    finish = "stop" if b"usage" in tail else None
    decoder.feed(sse(chunk({"content": "Hel"}, finish), done=False) + tail)
    with pytest.raises(IncompleteStreamError, match="inside a chunk") as info:
        decoder.finish()
    assert info.value.partial is not None
    assert info.value.partial.text == "Hel"


def test_stream_decoder_empty_stream_is_incomplete() -> None:
    with pytest.raises(IncompleteStreamError):
        decode(b"")


@pytest.mark.parametrize(
    ("data", "match"), [("{oops", "not JSON"), ("[1]", "not an object")], ids=["not-json", "array"]
)
def test_stream_decoder_refuses_malformed_chunks(data: str, match: str) -> None:
    with pytest.raises(ResponseParseError, match=match):
        decode(sse(data))


def test_stream_decoder_tool_call_that_never_names_its_function() -> None:
    with pytest.raises(ResponseParseError, match="never named"):
        decode(sse(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, "tool_calls")))


def test_stream_decoder_feed_byte_by_byte_gives_the_same_events() -> None:
    stream = sse(
        chunk({"content": "Grüße 🌦️"}),
        chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"city":"Zürich"}'}}]}),
        chunk({}, "tool_calls"),
    ).replace(b"\n", b"\r\n")
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == decode(stream)


# --- parse_error -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message", "error_type", "code"),
    [
        (
            '{"error": {"message": "Invalid API Key", "type": "invalid_request_error", "param": null,'
            ' "code": "invalid_api_key"}}',
            "Invalid API Key",
            "invalid_request_error",
            "invalid_api_key",
        ),
        (
            '{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"},'
            ' "request_id": "req_1"}',
            "invalid x-api-key",
            "authentication_error",
            None,
        ),
        (
            '{"object": "error", "message": "Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.",'
            ' "type": "invalid_request_error", "param": null, "code": null}',
            "Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.",
            "invalid_request_error",
            None,
        ),
        (
            '[{"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}}]',
            "API key not valid.",
            "INVALID_ARGUMENT",
            "400",
        ),
        (
            '{"error": "model \\"x\\" not found, try pulling it first"}',
            'model "x" not found, try pulling it first',
            None,
            None,
        ),
        (
            '{"error": {"code": 402, "message": "Insufficient credits", "metadata": {}}}',
            "Insufficient credits",
            None,
            "402",
        ),
        ('{"detail": "Not authenticated"}', "Not authenticated", None, None),
        (
            '{"detail": [{"loc": ["body", "model"], "msg": "field required"}]}',
            '[{"loc": ["body", "model"], "msg": "field required"}]',
            None,
            None,
        ),
        ("<html><body>502 Bad Gateway</body></html>\n", "<html><body>502 Bad Gateway</body></html>", None, None),
        ("", "(empty body)", None, None),
        ("[]", "[]", None, None),
    ],
    ids=[
        "openai",
        "anthropic",
        "mistral-flat",
        "gemini-array",
        "ollama-string",
        "openrouter-numeric-code",
        "fastapi-detail",
        "fastapi-detail-list",
        "html",
        "empty",
        "empty-array",
    ],
)
def test_parse_error_body_shapes(body: str, message: str, error_type: str | None, code: str | None) -> None:
    error = parse_error("test", 400, body, {})
    assert isinstance(error, BadRequestError)
    assert (error.message, error.error_type, error.code) == (message, error_type, code)
    assert error.body == body
    assert error.status_code == 400


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (529, ServerError),
        (418, ProviderError),
    ],
    ids=lambda value: str(value) if isinstance(value, int) else value.__name__,
)
def test_parse_error_status_classes(status: int, cls: type[ProviderError]) -> None:
    error = parse_error("groq", status, '{"error": {"message": "nope"}}', {}, key_env="GROQ_API_KEY")
    assert type(error) is cls
    assert str(error).startswith(f"groq: {status} {cls.__name__}: nope")


def test_parse_error_names_the_key_variable_on_401() -> None:
    error = parse_error("groq", 401, '{"error": {"message": "Invalid API Key"}}', {}, key_env="GROQ_API_KEY")
    assert "GROQ_API_KEY" in str(error)


def test_parse_error_rate_limit_reads_retry_after() -> None:
    error = parse_error("groq", 429, '{"error": {"message": "slow down"}}', {"retry-after": "7"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0
    error = parse_error("groq", 429, "", {"retry-after-ms": "1500"})
    assert isinstance(error, RateLimitError) and error.retry_after == 1.5


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        ('{"type": "error", "error": {"type": "api_error", "message": "x"}, "request_id": "req_body"}', {}, "req_body"),
        ('{"error": {"message": "x"}}', {"x-request-id": "req_header"}, "req_header"),
        ('{"error": {"message": "x"}}', {"request-id": "req_anthropic"}, "req_anthropic"),
        ('{"error": {"message": "x"}}', {}, None),
    ],
    ids=["body", "x-request-id", "request-id", "none"],
)
def test_parse_error_request_id(body: str, headers: dict[str, str], expected: str | None) -> None:
    assert parse_error("test", 500, body, headers).request_id == expected


# --- parse_request ---------------------------------------------------------------------------------------------------


def test_parse_request_reads_a_full_body() -> None:
    req = request(
        Message(role="system", content="Be brief.", name="sys"),
        *tool_round(),
        Message(role="user", content=(TextPart(text="and this?"), ImagePart(url="https://x/y.png"))),
        tools=[WEATHER],
        tool_choice=NamedToolChoice(name="get_weather"),
        parallel_tool_calls=True,
        max_tokens=5,
        temperature=0.2,
        top_p=0.9,
        stop=["a", "b"],
        seed=7,
        response_format=ResponseFormat(type="json_schema", name="r", json_schema={"type": "object"}, strict=False),
        stream=True,
        extra_body={"user": "u-1", "metadata": {"k": "v"}},
    )
    assert parse_request(build(req)) == req


def test_parse_request_keeps_unknown_fields_in_extra_body() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": False}}
    assert parse_request(body).extra_body == {"stream_options": {"include_usage": False}}
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3}
    read = parse_request(body)
    assert (read.max_tokens, read.extra_body) == (None, {"max_completion_tokens": 3})


def test_parse_request_reads_reasoning_sent_back() -> None:
    body = build_request(request(*tool_round(reasoning="think")), quirks_of("deepseek"))
    assert parse_request(body).messages[1].reasoning == "think"


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "needs `model`"),
        ({"model": "m", "messages": "hi"}, "needs `model`"),
        ({"model": "m", "messages": [{"role": "developer", "content": "x"}]}, "not a system, user"),
        ({"model": "m", "messages": ["hi"]}, "not a system, user"),
        ({"model": "m", "messages": [{"role": "assistant", "content": "x", "audio": {"id": "a"}}]}, "'audio'"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "other than text or image_url",
        ),
        (
            {"model": "m", "messages": [{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]},
            "text",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]}],
            },
            "not a function call",
        ),
        ({"model": "m", "messages": [], "tools": [{"type": "custom", "custom": {"name": "x"}}]}, "not a function"),
        ({"model": "m", "messages": [], "tools": [{"type": "function", "function": {"name": "a b"}}]}, "'a b'"),
        ({"model": "m", "messages": [], "tool_choice": {"type": "allowed_tools"}}, "tool_choice"),
        ({"model": "m", "messages": [], "response_format": {"type": "json_schema"}}, "response_format"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": []}, "messages"),
    ],
    ids=[
        "no-model",
        "messages-not-list",
        "developer-role",
        "message-not-object",
        "assistant-audio",
        "audio-part",
        "refusal-part",
        "custom-tool-call",
        "custom-tool",
        "bad-tool-name",
        "allowed-tools-choice",
        "schema-missing",
        "tool-without-call-id",
        "zero-max-tokens",
        "no-messages",
    ],
)
def test_parse_request_refuses_what_the_canonical_model_cannot_hold(body: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match) as info:
        parse_request(body, provider="cassette")
    assert info.value.provider == "cassette"


def test_build_request_mistral_bridges_tool_to_user_with_an_empty_assistant_turn() -> None:
    from allos.providers.registry import get_spec

    quirks = get_spec("mistral").quirks
    assert isinstance(quirks, ChatCompletionsQuirks)
    history = [
        Message(role="user", content="weather?"),
        Message(role="assistant", tool_calls=[ToolCall(id="abcdefghi", name="get_weather", arguments={})]),
        Message(role="tool", tool_call_id="abcdefghi", content="sunny"),
        Message(role="user", content="thanks; and tomorrow?"),
    ]
    roles = [m["role"] for m in build_request(ChatRequest(model="m", messages=history), quirks)["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    plain = [m["role"] for m in build_request(ChatRequest(model="m", messages=history))["messages"]]
    assert plain == ["user", "assistant", "tool", "user"]
