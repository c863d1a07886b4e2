"""Hypothesis properties of the OpenAI Responses protocol, with the official SDK as the oracle:

- every body built for a request the `openai` alias claims to serve is valid per the SDK's request type;
- what the protocol cannot express is refused, and only that;
- tool results stay attached to their call after any call-id re-mapping, with every id within 64 characters;
- with `previous_response_id`, exactly the messages after the last assistant turn are sent;
- a streamed answer, re-chunked at arbitrary byte boundaries, ends in the same ChatResponse as the non-streaming
  parse of the same response, and its deltas add up to that answer;
- a stream cut before its terminal event raises IncompleteStreamError with a partial answer that is a prefix.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
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

from allos.errors import IncompleteStreamError, InvalidRequestError
from allos.protocols.responses import StreamDecoder, build_request, parse_response
from allos.providers.registry import get_spec
from allos.types import (
    ChatRequest,
    Message,
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDone,
)
from conformance.strategies import chat_requests, chunkings, conversations, texts, tool_call_ids

CAPABILITIES = get_spec("openai").capabilities


def expressible(request: ChatRequest) -> ChatRequest:
    """The request without what the Responses API cannot carry (a seed; max_tokens under 16)."""
    max_tokens = request.max_tokens if request.max_tokens is None or request.max_tokens >= 16 else 16
    return request.model_copy(update={"seed": None, "max_tokens": max_tokens})


# --- requests ------------------------------------------------------------------------------------------------------


@given(chat_requests(capabilities=CAPABILITIES))
def test_property_body_is_valid_per_the_sdk_or_refused_for_a_named_reason(request: ChatRequest) -> None:
    refused = request.seed is not None or (request.max_tokens is not None and request.max_tokens < 16)
    try:
        body = build_request(request, provider="openai")
    except InvalidRequestError as exc:
        assert refused, f"refused a request the protocol can express: {exc}"
        assert "seed" in str(exc) or "max_output_tokens" in str(exc)
        return
    assert not refused
    check_request(body)


@given(chat_requests(capabilities=CAPABILITIES).map(expressible))
def test_property_tool_results_stay_attached_to_their_calls(request: ChatRequest) -> None:
    body = build_request(request, provider="openai")
    check_request(body)
    sent_calls = [item for item in body["input"] if item["type"] == "function_call"]
    sent_outputs = [item for item in body["input"] if item["type"] == "function_call_output"]
    calls = [call for m in request.messages for call in m.tool_calls]
    results = [m for m in request.messages if m.role == "tool"]
    assert [c["name"] for c in sent_calls] == [c.name for c in calls]
    assert len(sent_outputs) == len(results)
    sent_id = {call.id: sent["call_id"] for call, sent in zip(calls, sent_calls, strict=True)}
    for result, sent in zip(results, sent_outputs, strict=True):
        assert result.tool_call_id is not None
        assert sent["call_id"] == sent_id[result.tool_call_id]  # answered by the same (re-mapped) id
    for sent in sent_calls + sent_outputs:
        assert 1 <= len(sent["call_id"]) <= 64
    assert len(set(sent_id.values())) == len(sent_id)  # distinct calls keep distinct ids
    for original, sent in sent_id.items():
        if 1 <= len(original) <= 64:
            assert sent == original  # a valid id is never touched


@given(st.lists(tool_call_ids() | st.text(string.ascii_letters, min_size=65, max_size=120), min_size=1, max_size=6))
def test_property_long_ids_are_remapped_consistently(ids: list[str]) -> None:
    ids = list(dict.fromkeys(ids))  # unique within the conversation
    calls = tuple(ToolCall(id=i, name="f") for i in ids)
    messages = [
        Message(role="user", content="go"),
        Message(role="assistant", tool_calls=calls),
        *(Message(role="tool", tool_call_id=i, content="ok") for i in reversed(ids)),
    ]
    body = build_request(ChatRequest(model="m", messages=messages))
    check_request(body)
    sent = [item["call_id"] for item in body["input"] if item["type"] == "function_call"]
    answered = [item["call_id"] for item in body["input"] if item["type"] == "function_call_output"]
    assert answered == list(reversed(sent))
    assert len(set(sent)) == len(ids) and all(1 <= len(i) <= 64 for i in sent)


@given(conversations(), st.text(string.ascii_letters + string.digits, min_size=1, max_size=30))
def test_property_previous_response_id_sends_only_the_new_messages(messages: Any, response_id: str) -> None:
    request = ChatRequest(model="m", messages=messages, previous_response_id=f"resp_{response_id}")
    others = [m for m in messages if m.role != "system"]
    last = max((i for i, m in enumerate(others) if m.role == "assistant"), default=-1)
    new = others[last + 1 :]
    try:
        body = build_request(request)
    except InvalidRequestError:
        assert not new
        return
    check_request(body)
    assert body["previous_response_id"] == f"resp_{response_id}"
    assert all(item["type"] != "function_call" for item in body["input"])
    kinds = ["function_call_output" if m.role == "tool" else "message" for m in new]
    assert [item["type"] for item in body["input"]] == kinds
    systems = [m for m in messages if m.role == "system"]
    assert ("instructions" in body) == bool(systems)


# --- answers -------------------------------------------------------------------------------------------------------

_ARGUMENTS = st.one_of(
    st.just("{}"),
    st.just('{"city":"Paris"}'),
    st.just('{"q":"東京 🌦️","n":[1,2,{"x":null}]}'),
    st.just('{"broken": '),
    texts(max_size=20),
)


@st.composite
def output_items(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The output of one response: optional reasoning, text or refusal, and some function calls."""
    items: list[dict[str, Any]] = []
    if draw(st.booleans()):
        items.append(reasoning_item(*draw(st.lists(texts(min_size=1), max_size=3)), item_id="rs_1"))
    kind = draw(st.sampled_from(["text", "refusal", "none"]))
    if kind == "text":
        items.append(message_item(draw(texts(max_size=60)), item_id="msg_1"))
    elif kind == "refusal":
        items.append(message_item(refusal=draw(texts(min_size=1)), item_id="msg_1"))
    names = st.text(string.ascii_letters + "_", min_size=1, max_size=12)
    for n in range(draw(st.integers(0, 3))):
        items.append(function_call_item(f"call_{n}", draw(names), draw(_ARGUMENTS), item_id=f"fc_{n}"))
    return items


@st.composite
def response_bodies(draw: st.DrawFn) -> dict[str, Any]:
    output = draw(output_items())
    status = draw(st.sampled_from(["completed", "completed", "incomplete"]))
    reason = draw(st.sampled_from(["max_output_tokens", "content_filter"])) if status == "incomplete" else None
    counts = draw(st.tuples(*(st.integers(0, 5000) for _ in range(5))))
    return response_body(
        output,
        status=status,
        incomplete_reason=reason,
        usage_=usage(counts[0], counts[1], cached=counts[2], cache_write=counts[3], reasoning=counts[4]),
    )


def decode(chunks: list[bytes]) -> list[StreamEvent]:
    decoder = StreamDecoder(provider="openai")
    events: list[StreamEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.finish()


@given(response_bodies(), st.integers(1, 8), st.data())
def test_property_stream_equals_non_streaming_parse(body: dict[str, Any], size: int, data: st.DataObject) -> None:
    check_response(body)
    events = stream_events(body, size=size)
    for event in events:
        check_event(event)
    wire = sse_bytes(events)
    decoded = decode(data.draw(chunkings(wire)))
    expected = parse_response(body, provider="openai")
    assert isinstance(decoded[-1], StreamEnd)
    assert decoded[-1].response == expected
    assert sum(isinstance(e, StreamEnd) for e in decoded) == 1
    assert "".join(e.text for e in decoded if isinstance(e, TextDelta)) == expected.text
    summaries = [s["text"] for item in body["output"] if item["type"] == "reasoning" for s in item["summary"]]
    assert "".join(e.text for e in decoded if isinstance(e, ReasoningDelta)) == "".join(summaries)
    assert tuple(e.tool_call for e in decoded if isinstance(e, ToolCallDone)) == expected.tool_calls


@given(response_bodies(), st.data())
def test_property_cut_stream_is_incomplete_with_a_prefix_of_the_answer(
    body: dict[str, Any], data: st.DataObject
) -> None:
    events = stream_events(body, size=2)
    wire = sse_bytes(events[:-1])  # everything but the terminal event
    cut = data.draw(st.integers(0, len(wire)))
    decoder = StreamDecoder(provider="openai")
    try:
        decoder.feed(wire[:cut])
        decoder.finish()
    except IncompleteStreamError as exc:
        partial = exc.partial
    else:
        raise AssertionError("a stream without a terminal event was accepted")
    assert partial is not None
    expected = parse_response(body, provider="openai")
    assert expected.text.startswith(partial.text)
    assert len(partial.tool_calls) <= len(expected.tool_calls)
    assert partial.finish_reason == "other"
