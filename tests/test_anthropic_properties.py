"""Hypothesis properties of the Anthropic Messages protocol, over the shared canonical strategies:

- every request the alias can be asked for builds a body the official SDK's request type accepts, that follows the
  Messages rules (alternating turns, no blank text, valid tool ids, tool_result blocks leading the next user turn) —
  or is refused before sending for one of the documented reasons, restated here independently of the code;
- every tool result stays attached to its call after the ids are re-mapped, and re-mapping is consistent;
- a streamed answer, cut into arbitrary byte chunks, assembles to exactly the non-streaming answer (apart from `raw`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

from anthropic_samples import assert_valid_body, message_body, stream_chunks
from hypothesis import given
from hypothesis import strategies as st

from allos.errors import InvalidRequestError
from allos.protocols.anthropic import DEFAULT_MAX_TOKENS, StreamDecoder, build_request, iter_events, parse_response
from allos.providers.registry import get_spec
from allos.types import (
    ChatRequest,
    ImagePart,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCallDone,
)
from conformance.strategies import chat_requests, conversations, json_values, texts, tool_names, tool_spec_lists

CAPABILITIES = get_spec("anthropic").capabilities
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


# --- requests ---------------------------------------------------------------------------------------------------------


def _has_content(message: Message) -> bool:
    """Whether a user-side message puts anything on the wire: a tool result always does; user text must have a
    non-whitespace character, and an image counts."""
    if message.role == "tool":
        return True
    if isinstance(message.content, str):
        return bool(message.content.strip())
    return any(isinstance(p, ImagePart) or p.text.strip() for p in message.content or ())


def _blank_assistant(message: Message) -> bool:
    return message.role == "assistant" and not message.tool_calls and not message.text.strip()


def expected_refusal(request: ChatRequest) -> str | None:
    """Why Anthropic's documented rules refuse `request`, or None. Restated from the docs, not from the code."""
    if request.temperature is not None and request.temperature > 1:
        return "range 0.0-1.0"
    if any(not stop.strip() for stop in request.stop):
        return "whitespace only"
    # The user-side messages at the end (blank assistant turns vanish in between) must say something.
    trailing: list[Message] = []
    for message in reversed([m for m in request.messages if m.role != "system"]):
        if _blank_assistant(message):
            continue
        if message.role == "assistant":
            break
        trailing.append(message)
    if not any(_has_content(m) for m in trailing):
        return "last message has no content"
    return None


def _turn_blocks(turn: dict[str, Any]) -> list[dict[str, Any]]:
    content = turn["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def assert_messages_rules(body: dict[str, Any]) -> None:
    turns = body["messages"]
    assert turns, "at least one message"
    roles = [turn["role"] for turn in turns]
    assert all(a != b for a, b in itertools.pairwise(roles)), f"turns must alternate: {roles}"
    for number, turn in enumerate(turns):
        blocks = _turn_blocks(turn)
        assert blocks, f"messages.{number} is empty"
        kinds = [block["type"] for block in blocks]
        for block in blocks:
            if block["type"] == "text":
                assert block["text"].strip(), f"messages.{number}: blank text block"
            if block["type"] == "tool_use":
                assert TOOL_USE_ID.match(block["id"]), block["id"]
                assert isinstance(block["input"], dict)
            if block["type"] == "tool_result":
                assert TOOL_USE_ID.match(block["tool_use_id"])
                assert block.get("content") or not block.get("is_error"), "an is_error result needs content"
        if turn["role"] == "user" and "tool_result" in kinds:
            lead = kinds.index("text") if "text" in kinds else len(kinds)
            assert "tool_result" not in kinds[lead:], f"messages.{number}: tool_result after text"
        uses = [b["id"] for b in blocks if b["type"] == "tool_use"]
        if uses:
            following = _turn_blocks(turns[number + 1]) if number + 1 < len(turns) else []
            answered = {b["tool_use_id"] for b in following if b["type"] == "tool_result"}
            assert set(uses) <= answered, "every tool_use needs its tool_result in the next message"
        results = {b["tool_use_id"] for b in blocks if b["type"] == "tool_result"}
        if results:
            previous = _turn_blocks(turns[number - 1]) if number else []
            assert results <= {b["id"] for b in previous if b["type"] == "tool_use"}, "a tool_result without its call"
    last = turns[-1]
    if last["role"] == "assistant":
        final = _turn_blocks(last)[-1]
        assert final["type"] != "text" or final["text"] == final["text"].rstrip()


@given(chat_requests(capabilities=CAPABILITIES))
def test_build_request_every_drawn_request_is_valid_or_refused_for_a_documented_reason(request: ChatRequest) -> None:
    reason = expected_refusal(request)
    try:
        body = build_request(request)
    except InvalidRequestError as exc:
        assert reason is not None, f"refused without a documented reason: {exc}"
        assert reason in str(exc)
        return
    assert reason is None, f"should have been refused: {reason}"
    assert_valid_body(body)
    assert_messages_rules(body)
    assert body["max_tokens"] == (request.max_tokens or DEFAULT_MAX_TOKENS)
    assert body.get("stream", False) is request.stream


def _sendable(messages: Sequence[Message]) -> bool:
    return expected_refusal(ChatRequest(model="m", messages=messages)) is None


@given(st.data())
def test_build_request_tool_results_stay_attached_to_their_calls_after_remapping(data: st.DataObject) -> None:
    tools = data.draw(tool_spec_lists(min_size=1, max_size=3, many=False))
    messages = data.draw(conversations(tools, max_rounds=3).filter(_sendable))
    body = build_request(ChatRequest(model="m", messages=messages, tools=tools))
    wire_uses = [b for turn in body["messages"] for b in _turn_blocks(turn) if b["type"] == "tool_use"]
    wire_results = [b for turn in body["messages"] for b in _turn_blocks(turn) if b["type"] == "tool_result"]
    calls = [call for m in messages for call in m.tool_calls]
    answers = [m for m in messages if m.role == "tool"]
    assert [(u["name"], u["input"]) for u in wire_uses] == [(c.name, c.arguments) for c in calls]
    new_id = {call.id: use["id"] for call, use in zip(calls, wire_uses, strict=True)}
    assert len(set(new_id.values())) == len(new_id), "two calls share an id after re-mapping"
    assert all(use["id"] == call.id for call, use in zip(calls, wire_uses, strict=True) if TOOL_USE_ID.match(call.id))
    assert len(wire_results) == len(answers)
    for answer, result in zip(answers, wire_results, strict=True):
        assert answer.tool_call_id is not None
        assert result["tool_use_id"] == new_id[answer.tool_call_id]
        assert result.get("is_error", False) is answer.is_error
    assert_messages_rules(body)
    assert build_request(ChatRequest(model="m", messages=messages, tools=tools)) == body  # deterministic


# --- answers and streams ----------------------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_STOP_REASONS = ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal")


@st.composite
def content_blocks(draw: st.DrawFn) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if draw(st.booleans()):
        blocks.append({"type": "thinking", "thinking": draw(texts()), "signature": draw(st.text(_ALNUM, max_size=12))})
    for _ in range(draw(st.integers(0, 2))):
        blocks.append({"type": "text", "text": draw(texts(max_size=60))})
    for number in range(draw(st.integers(0, 3))):
        arguments = draw(st.dictionaries(texts(max_size=8), json_values(max_leaves=4), max_size=4))
        identifier = f"toolu_01{draw(st.text(_ALNUM, min_size=4, max_size=22))}{number}"
        blocks.append({"type": "tool_use", "id": identifier, "name": draw(tool_names()), "input": arguments})
    return blocks


@st.composite
def usages(draw: st.DrawFn) -> dict[str, Any]:
    counts = st.integers(0, 10**6)
    usage: dict[str, Any] = {"input_tokens": draw(counts), "output_tokens": draw(st.integers(1, 10**5))}
    for name in ("cache_read_input_tokens", "cache_creation_input_tokens"):
        if draw(st.booleans()):
            usage[name] = draw(counts)
    if draw(st.booleans()):
        usage["output_tokens_details"] = {"thinking_tokens": draw(st.integers(0, usage["output_tokens"]))}
    return usage


@st.composite
def message_bodies(draw: st.DrawFn) -> dict[str, Any]:
    stop_reason = draw(st.sampled_from(_STOP_REASONS))
    extra: dict[str, Any] = {}
    if stop_reason == "refusal" and draw(st.booleans()):
        extra["stop_details"] = {"type": "refusal", "category": "cyber", "explanation": draw(texts(min_size=1))}
    return message_body(draw(content_blocks()), stop_reason=stop_reason, usage=draw(usages()), **extra)


def _rechunk(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(message_bodies(), st.integers(1, 12), st.lists(st.integers(0, 10**6), max_size=30))
def test_stream_assembles_to_the_non_streaming_answer_at_any_chunking(
    body: dict[str, Any], piece: int, cuts: list[int]
) -> None:
    expected = parse_response(body, provider="anthropic")
    data = b"".join(stream_chunks(body, piece=piece))
    events: list[StreamEvent] = iter_events(StreamDecoder(provider="anthropic"), _rechunk(data, cuts))
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert sum(isinstance(e, StreamEnd) for e in events) == 1
    assert end.response == expected.model_copy(update={"raw": {}})
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == expected.text
    done = [e for e in events if isinstance(e, ToolCallDone)]
    assert [d.index for d in done] == list(range(len(expected.tool_calls)))
    assert tuple(d.tool_call for d in done) == expected.tool_calls


@given(st.lists(texts(), min_size=1, max_size=4))
def test_build_request_user_text_is_sent_verbatim_unless_blank(parts: list[str]) -> None:
    message = Message(role="user", content=tuple(TextPart(text=t) for t in parts))
    request = ChatRequest(model="m", messages=[message])
    if not any(t.strip() for t in parts):
        return  # refused: covered by the property above
    sent = _turn_blocks(build_request(request)["messages"][0])
    assert [b["text"] for b in sent] == [t for t in parts if t.strip()]
