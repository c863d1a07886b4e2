"""Hypothesis properties of the Ollama native protocol.

- Every request Allos lets through to the ollama alias builds a body the official SDK accepts (or is refused with
  `InvalidRequestError` for the two things Ollama cannot carry: an image URL, `parallel_tool_calls=False`).
- Every tool result stays attached to its call: same id, and the name of the call it answers.
- A streamed answer, re-chunked at arbitrary byte boundaries, assembles to the non-streaming parse of the same answer.
- The NDJSON decoder gives the same objects however the bytes are cut.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_ollama_protocol import assert_valid_body, assert_valid_chat_response

from allos import errors
from allos.protocols._ndjson import NDJSONDecoder
from allos.protocols.ollama import StreamDecoder, build_request, parse_response
from allos.providers.registry import get_spec
from allos.types import ChatRequest, ImagePart, StreamEnd, StreamEvent, TextDelta, ToolCallDone
from conformance.strategies import chat_requests, json_values, texts, tool_call_ids, tool_names

CAPABILITIES = get_spec("ollama").capabilities


def inexpressible(request: ChatRequest) -> bool:
    """What Ollama's wire cannot carry at all, so Allos refuses it before sending."""
    urls = any(
        isinstance(part, ImagePart) and part.url is not None
        for message in request.messages
        if isinstance(message.content, tuple)
        for part in message.content
    )
    return urls or request.parallel_tool_calls is False


@given(chat_requests(capabilities=CAPABILITIES))
def test_every_drawn_request_builds_a_body_the_sdk_accepts(request: ChatRequest) -> None:
    if inexpressible(request):
        with pytest.raises(errors.InvalidRequestError):
            build_request(request)
        return
    body = build_request(request)
    assert_valid_body(body)
    assert body["stream"] is request.stream
    assert ("tools" in body) == (bool(request.tools) and request.tool_choice != "none")
    assert len(body["messages"]) == len(request.messages)


@given(chat_requests(capabilities=CAPABILITIES))
def test_tool_results_stay_attached_to_their_calls(request: ChatRequest) -> None:
    if inexpressible(request):
        return
    body = build_request(request)
    names: dict[str, str] = {}
    for canonical, wire in zip(request.messages, body["messages"], strict=True):
        if canonical.role == "tool":
            assert wire["tool_call_id"] == canonical.tool_call_id
            assert wire["tool_name"] == names[wire["tool_call_id"]]
        for call, sent in zip(canonical.tool_calls, wire.get("tool_calls", ()), strict=True):
            assert sent == {"id": call.id, "function": {"name": call.name, "arguments": call.arguments}}
            names[call.id] = call.name


# --- streaming and non-streaming agree -----------------------------------------------------------------------------

_CALLS = st.lists(
    st.tuples(
        st.none() | tool_call_ids(),
        tool_names(),
        st.dictionaries(texts(max_size=8), json_values(max_leaves=3), max_size=3),
    ),
    max_size=3,
)
_PIECE = st.tuples(texts(max_size=12), st.none() | texts(max_size=12), _CALLS)
_DONE_REASONS = st.sampled_from(["stop", "length", "load", "unload", None, "some_future_reason"])
_COUNT = st.none() | st.integers(1, 10**6)


def _calls(drawn: list[tuple[str | None, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    calls = []
    for call_id, name, arguments in drawn:
        call: dict[str, Any] = {"function": {"name": name, "arguments": arguments}}
        if call_id is not None:
            call["id"] = call_id
        calls.append(call)
    return calls


@st.composite
def answers(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One answer as Ollama sends it both ways: (the non-streaming body, the stream's objects)."""
    model = draw(st.sampled_from(["llama3.2", "qwen3:8b", "gpt-oss:20b"]))
    pieces = draw(st.lists(_PIECE, max_size=6))
    chunks = []
    for content, thinking, calls in pieces:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking is not None:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = _calls(calls)
        chunks.append({"model": model, "created_at": "2025-10-26T17:15:24Z", "message": message, "done": False})
    metrics = {}
    for name in ("prompt_eval_count", "eval_count"):
        count = draw(_COUNT)
        if count is not None:
            metrics[name] = count
    done_reason = draw(_DONE_REASONS)
    ending: dict[str, Any] = {"done": True, **({"done_reason": done_reason} if done_reason else {}), **metrics}
    chunks.append(
        {"model": model, "created_at": "2025-10-26T17:15:25Z", "message": {"role": "assistant", "content": ""}} | ending
    )
    message = {"role": "assistant", "content": "".join(content for content, _, _ in pieces)}
    thoughts = [thinking for _, thinking, _ in pieces if thinking is not None]
    if thoughts:
        message["thinking"] = "".join(thoughts)
    all_calls = [call for _, _, calls in pieces for call in _calls(calls)]
    if all_calls:
        message["tool_calls"] = all_calls
    body = {"model": model, "created_at": "2025-10-26T17:15:25Z", "message": message} | ending
    return body, chunks


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(answers(), st.data())
def test_stream_rechunked_anywhere_equals_the_non_streaming_parse(answer: Any, data: st.DataObject) -> None:
    body, chunks = answer
    assert_valid_chat_response(body)
    for obj in chunks:
        assert_valid_chat_response(obj)
    stream = b"".join(json.dumps(obj, ensure_ascii=False).encode() + b"\n" for obj in chunks)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    decoder = StreamDecoder(provider="ollama")
    events: list[StreamEvent] = []
    for piece in _cut(stream, cuts):
        events.extend(decoder.feed(piece))
    events.extend(decoder.finish())

    end = events[-1]
    assert isinstance(end, StreamEnd) and not any(isinstance(e, StreamEnd) for e in events[:-1])
    expected = parse_response(json.loads(json.dumps(body)), provider="ollama")
    assert end.response.model_copy(update={"raw": {}}) == expected.model_copy(update={"raw": {}})
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == expected.text
    assert tuple(e.tool_call for e in events if isinstance(e, ToolCallDone)) == expected.tool_calls


@given(st.lists(st.dictionaries(texts(max_size=6), json_values(max_leaves=4), max_size=3), max_size=6), st.data())
def test_ndjson_decoder_is_indifferent_to_chunk_boundaries(objects: list[Any], data: st.DataObject) -> None:
    separators = data.draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\n\n", b"\n \n"]), min_size=len(objects)))
    stream = b"".join(json.dumps(o).encode() + sep for o, sep in zip(objects, separators, strict=False))
    if data.draw(st.booleans()):
        stream = stream.rstrip(b"\r\n ")  # a last line without its newline
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    decoder = NDJSONDecoder()
    decoded = [value for piece in _cut(stream, cuts) for value in decoder.feed(piece)] + decoder.finish()
    assert decoded == objects
