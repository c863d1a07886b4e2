"""The canonical model: what it accepts, what it refuses (with a message that says what was expected)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from allos import ChatRequest, ChatResponse, ImagePart, Message, StreamEvent, TextDelta, TextPart, ToolCall, ToolSpec
from allos.types import NamedToolChoice, ResponseFormat, StreamEnd


def test_message_text_joins_text_parts() -> None:
    message = Message(role="user", content=[TextPart(text="a"), ImagePart(url="https://x/y.png"), TextPart(text="b")])
    assert message.text == "ab"
    assert Message(role="assistant").text == ""


def test_message_accepts_plain_dicts() -> None:
    message = Message.model_validate(
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image", "url": "https://x"}]}
    )
    assert isinstance(message.content, tuple) and isinstance(message.content[1], ImagePart)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        ({"role": "user", "tool_calls": [ToolCall(id="1", name="f")]}, "only assistant"),
        ({"role": "user", "tool_call_id": "1"}, "tool_call_id belongs"),
        ({"role": "assistant", "is_error": True}, "is_error"),
        ({"role": "robot", "content": "x"}, "role"),
        ({"role": "user", "content": "x", "colour": "red"}, "colour"),
    ],
    ids=["tool-without-id", "user-with-calls", "user-with-call-id", "error-flag-off-tool", "bad-role", "extra-field"],
)
def test_message_refuses_inconsistent_turns(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Message(**fields)  # type: ignore[arg-type]


def test_messages_are_frozen() -> None:
    message = Message(role="user", content="hi")
    with pytest.raises(ValidationError):
        message.content = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["get weather", "", "x" * 65, "météo", "a.b"])
def test_tool_spec_refuses_names_some_provider_rejects(name: str) -> None:
    with pytest.raises(ValidationError, match="must match"):
        ToolSpec(name=name)


def test_tool_spec_defaults_to_an_empty_object_schema() -> None:
    assert ToolSpec(name="ping").parameters == {"type": "object", "properties": {}}


@pytest.mark.parametrize(
    ("text", "arguments", "raw", "valid"),
    [
        ('{"city": "Paris"}', {"city": "Paris"}, None, True),
        ("", {}, None, True),
        (None, {}, None, True),
        ('{"city": "Par', {}, '{"city": "Par', False),
        ("[1, 2]", {}, "[1, 2]", False),
    ],
    ids=["object", "empty", "none", "truncated", "array"],
)
def test_tool_call_from_json_keeps_invalid_text(
    text: str | None, arguments: dict[str, object], raw: str | None, valid: bool
) -> None:
    call = ToolCall.from_json("c1", "f", text)
    assert call.arguments == arguments
    assert call.raw_arguments == raw
    assert call.arguments_valid is valid
    assert (call.arguments_error is None) is valid


def test_tool_call_arguments_json_round_trips_unicode_and_raw() -> None:
    assert ToolCall(id="1", name="f", arguments={"q": "東京 ☀"}).arguments_json() == '{"q":"東京 ☀"}'
    assert ToolCall.from_json("1", "f", "{oops").arguments_json() == "{oops"


def test_image_part_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        ImagePart()
    with pytest.raises(ValidationError, match="exactly one"):
        ImagePart(url="https://x", data="AAAA", media_type="image/png")
    with pytest.raises(ValidationError, match="media_type"):
        ImagePart(data="AAAA")


def test_chat_request_checks_tool_choice_against_tools() -> None:
    hi = [Message(role="user", content="hi")]
    with pytest.raises(ValidationError, match="not among the tools"):
        ChatRequest(model="m", messages=hi, tools=[ToolSpec(name="a")], tool_choice={"name": "b"})
    with pytest.raises(ValidationError, match="at least one tool"):
        ChatRequest(model="m", messages=hi, tool_choice="required")
    request = ChatRequest(model="m", messages=hi, tools=[ToolSpec(name="a")], tool_choice={"name": "a"})
    assert request.tool_choice == NamedToolChoice(name="a")


def test_chat_request_needs_a_message_and_sane_numbers() -> None:
    with pytest.raises(ValidationError, match="messages"):
        ChatRequest(model="m", messages=[])
    hi = [Message(role="user", content="hi")]
    with pytest.raises(ValidationError, match="max_tokens"):
        ChatRequest(model="m", messages=hi, max_tokens=0)
    with pytest.raises(ValidationError, match="temperature"):
        ChatRequest(model="m", messages=hi, temperature=-1)


def test_chat_request_accepts_a_single_stop_string() -> None:
    request = ChatRequest(model="m", messages=[Message(role="user", content="hi")], stop="END")
    assert request.stop == ("END",)


def test_response_format_json_schema_needs_a_schema() -> None:
    with pytest.raises(ValidationError, match="json_schema"):
        ResponseFormat(type="json_schema")


def test_chat_response_as_message_continues_the_history() -> None:
    call = ToolCall(id="c1", name="f", arguments={"x": 1})
    response = ChatResponse(text="", tool_calls=(call,), finish_reason="tool_calls", provider="groq", reasoning="hm")
    message = response.message
    assert message.role == "assistant" and message.content is None
    assert message.tool_calls == (call,) and message.reasoning == "hm"


def test_chat_response_repr_hides_raw_body() -> None:
    response = ChatResponse(text="hi", provider="groq", raw={"secret-looking": "payload"})
    assert "payload" not in repr(response)


def test_stream_events_dispatch_on_their_tag() -> None:
    adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)
    assert adapter.validate_python({"type": "text_delta", "text": "a"}) == TextDelta(text="a")
    end = adapter.validate_python({"type": "stream_end", "response": {"provider": "p", "text": "x"}})
    assert isinstance(end, StreamEnd) and end.response.text == "x"
