"""The `openai` alias (OpenAIProvider, Responses protocol) over real HTTP against the loopback server: chat, a tool
round trip in every mode, native multi-turn with previous_response_id, headers, and every error shape the protocol
has (HTTP error bodies, a failed response in a 200 body, `response.failed` and `error` events in a 200 stream, a
stream cut before its terminal event). The answers are SDK-validated samples from tests/responses_samples.py; the
bodies the server receives are checked against the SDK's request type."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from loopback import LoopbackServer, Reply, json_reply
from provider_modes import opened, run
from responses_samples import (
    check_event,
    check_request,
    check_response,
    function_call_item,
    message_item,
    response_body,
    sse_bytes,
    stream_events,
    usage,
)

from allos import errors
from allos.profiles import estimate_cost, resolve_profile
from allos.protocols.responses import parse_response
from allos.providers import OpenAIProvider, Provider, get_provider
from allos.types import (
    ChatResponse,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolSpec,
    UsageUpdate,
)

pytestmark = pytest.mark.network

KEY = "sk-test-openai-0123456789"
MODES = ("chat", "achat", "stream", "astream")
STREAM_MODES = ("stream", "astream")

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
SYSTEM = Message(role="system", content="You are terse.")
USER = Message(role="user", content="Weather in Paris?")
CALL_ID = "call_loopback_0001"
CALL = ToolCall(id=CALL_ID, name="get_weather", arguments={"city": "Paris"})
ANSWER = "It is sunny in Paris."

TOOL_BODY = response_body(
    [function_call_item(CALL_ID, "get_weather", '{"city":"Paris"}', item_id="fc_1")],
    response_id="resp_tool",
    usage_=usage(20, 7),
)
TEXT_BODY = response_body([message_item(ANSWER)], response_id="resp_text", usage_=usage(40, 6))
for _body in (TOOL_BODY, TEXT_BODY):
    check_response(_body)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_provider(loopback: LoopbackServer, **kwargs: Any) -> Provider:
    kwargs.setdefault("max_retries", 0)
    return get_provider("openai", api_key=KEY, base_url=loopback.url("/v1"), model="gpt-4o-mini", **kwargs)


def reply_for(body: dict[str, Any], mode: str, *, size: int = 4) -> Reply:
    """`body` as a JSON answer, or as the SSE stream a server sends for it (each event its own write)."""
    if mode not in STREAM_MODES:
        return json_reply(body)
    events = stream_events(body, size=size)
    for event in events:
        check_event(event)
    return sse_events(events)


def sse_events(events: Sequence[dict[str, Any]], **fields: Any) -> Reply:
    return Reply(
        headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
        chunks=[sse_bytes([event]) for event in events],
        **fields,
    )


def end_of(events: list[StreamEvent]) -> ChatResponse:
    end = events[-1]
    assert isinstance(end, StreamEnd)
    return end.response


def sent(loopback: LoopbackServer, index: int = -1) -> dict[str, Any]:
    request = loopback.requests[index]
    assert (request.method, request.path) == ("POST", "/v1/responses")
    body: dict[str, Any] = request.json()
    check_request(body)
    return body


def same_but_raw(got: ChatResponse, body: dict[str, Any]) -> bool:
    """The protocol's parse, plus what the provider adds: the raw body and the cost estimated from gpt-4o-mini's
    profile prices."""
    expected = parse_response(body, provider="openai")
    profile = resolve_profile("openai", "gpt-4o-mini")
    assert profile is not None and profile.prices is not None
    usage = expected.usage.model_copy(update={"cost": estimate_cost(expected.usage, profile.prices)})
    return got == expected.model_copy(update={"raw": got.raw, "usage": usage})


# --- wiring -----------------------------------------------------------------------------------------------------------


def test_get_provider_openai_is_the_responses_adapter() -> None:
    provider = get_provider("openai", api_key=KEY)
    assert isinstance(provider, OpenAIProvider)
    assert (provider.base_url, provider.model, provider.path) == (
        "https://api.openai.com/v1",
        "gpt-4o-mini",
        "/responses",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_openai_chat_sends_the_responses_body_and_headers(
    mode: str, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_456")
    loopback.push(reply_for(TEXT_BODY, mode))
    async with opened(make_provider(loopback)) as provider:
        events = await run(provider, mode, [SYSTEM, USER], max_tokens=64, temperature=0.0)
    stream = mode in STREAM_MODES
    expected: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "instructions": "You are terse.",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]}
        ],
        "max_output_tokens": 64,
        "temperature": 0.0,
    }
    if stream:
        expected["stream"] = True
    assert sent(loopback) == expected
    headers = loopback.requests[-1].headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-123", "proj_456")
    assert headers["accept"] == ("text/event-stream" if stream else "application/json")
    answer = end_of(events)
    assert same_but_raw(answer, TEXT_BODY)
    assert (answer.text, answer.id, answer.finish_reason, answer.usage.output_tokens) == (
        ANSWER,
        "resp_text",
        "stop",
        6,
    )
    if stream:
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == ANSWER
        assert isinstance(events[-2], UsageUpdate)


# --- tool round trip --------------------------------------------------------------------------------------------------

FIRST_INPUT = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]}]
CALL_ITEM = {"type": "function_call", "call_id": CALL_ID, "name": "get_weather", "arguments": '{"city":"Paris"}'}
OUTPUT_ITEM = {"type": "function_call_output", "call_id": CALL_ID, "output": "sunny, 21 C"}
WIRE_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": WEATHER.parameters,
    "strict": False,
}


async def round_trip(provider: Provider, mode: str, loopback: LoopbackServer) -> tuple[ChatResponse, ChatResponse]:
    loopback.push(reply_for(TOOL_BODY, mode), reply_for(TEXT_BODY, mode))
    first_events = await run(provider, mode, [USER], tools=[WEATHER], tool_choice="auto")
    first = end_of(first_events)
    if mode in STREAM_MODES:
        assert [e for e in first_events if isinstance(e, (ToolCallDelta, ToolCallDone))][-1] == ToolCallDone(
            index=0, tool_call=CALL
        )
    result = Message(role="tool", tool_call_id=first.tool_calls[0].id, content="sunny, 21 C")
    second = end_of(await run(provider, mode, [USER, first.message, result], tools=[WEATHER]))
    return first, second


def check_round_trip(loopback: LoopbackServer, first: ChatResponse, second: ChatResponse, stream: bool) -> None:
    flag = {"stream": True} if stream else {}
    assert (first.tool_calls, first.finish_reason, first.id) == ((CALL,), "tool_calls", "resp_tool")
    assert sent(loopback, 0) == {
        "model": "gpt-4o-mini",
        "input": FIRST_INPUT,
        "tools": [WIRE_TOOL],
        "tool_choice": "auto",
        **flag,
    }
    assert sent(loopback, 1) == {
        "model": "gpt-4o-mini",
        "input": [*FIRST_INPUT, CALL_ITEM, OUTPUT_ITEM],
        "tools": [WIRE_TOOL],
        **flag,
    }
    assert (second.text, second.finish_reason) == (ANSWER, "stop")


def test_openai_tool_round_trip_sync(loopback: LoopbackServer) -> None:
    provider = make_provider(loopback)
    with provider:
        loopback.push(json_reply(TOOL_BODY), json_reply(TEXT_BODY))
        first = provider.chat([USER], tools=[WEATHER], tool_choice="auto")
        result = Message(role="tool", tool_call_id=first.tool_calls[0].id, content="sunny, 21 C")
        second = provider.chat([USER, first.message, result], tools=[WEATHER])
    check_round_trip(loopback, first, second, stream=False)


@pytest.mark.anyio
async def test_openai_tool_round_trip_async(loopback: LoopbackServer) -> None:
    async with opened(make_provider(loopback)) as provider:
        first, second = await round_trip(provider, "achat", loopback)
    check_round_trip(loopback, first, second, stream=False)


@pytest.mark.parametrize("size", [1, 7, 4096], ids=["byte", "seven", "whole"])
def test_openai_tool_round_trip_stream(size: int, loopback: LoopbackServer) -> None:
    provider = make_provider(loopback)
    with provider:
        loopback.push(rechunked(reply_for(TOOL_BODY, "stream"), size), rechunked(reply_for(TEXT_BODY, "stream"), size))
        first = end_of(list(provider.stream([USER], tools=[WEATHER], tool_choice="auto")))
        result = Message(role="tool", tool_call_id=first.tool_calls[0].id, content="sunny, 21 C")
        second = end_of(list(provider.stream([USER, first.message, result], tools=[WEATHER])))
    check_round_trip(loopback, first, second, stream=True)
    assert same_but_raw(first, TOOL_BODY) and same_but_raw(second, TEXT_BODY)


@pytest.mark.anyio
async def test_openai_tool_round_trip_astream(loopback: LoopbackServer) -> None:
    async with opened(make_provider(loopback)) as provider:
        first, second = await round_trip(provider, "astream", loopback)
    check_round_trip(loopback, first, second, stream=True)


def rechunked(reply: Reply, size: int) -> Reply:
    """The same stream cut into `size`-byte writes, so lines and JSON break across reads."""
    assert reply.chunks is not None
    data = b"".join(reply.chunks)
    return Reply(
        status=reply.status, headers=reply.headers, chunks=[data[i : i + size] for i in range(0, len(data), size)]
    )


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_openai_previous_response_id_sends_only_the_tool_output(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(reply_for(TOOL_BODY, mode), reply_for(TEXT_BODY, mode))
    async with opened(make_provider(loopback)) as provider:
        first = end_of(await run(provider, mode, [SYSTEM, USER], tools=[WEATHER]))
        result = Message(role="tool", tool_call_id=first.tool_calls[0].id, content="sunny, 21 C")
        history = [SYSTEM, USER, first.message, result]
        second = end_of(await run(provider, mode, history, tools=[WEATHER], previous_response_id=first.id))
    body = sent(loopback, 1)
    assert body["previous_response_id"] == "resp_tool"
    assert body["instructions"] == "You are terse."
    assert body["input"] == [OUTPUT_ITEM]
    assert second.text == ANSWER


# --- refusals before sending ------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_openai_refuses_stop_sequences_before_sending(mode: str, loopback: LoopbackServer) -> None:
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.UnsupportedCapabilityError, match="stop_sequences"):
            await run(provider, mode, [USER], stop=["END"])
    assert loopback.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(("option", "match"), [({"max_tokens": 8}, "max_output_tokens"), ({"seed": 1}, "seed")])
async def test_openai_refuses_what_the_protocol_cannot_express(
    option: dict[str, Any], match: str, loopback: LoopbackServer
) -> None:
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.InvalidRequestError, match=match):
            provider.chat([USER], **option)
    assert loopback.requests == []


# --- errors -----------------------------------------------------------------------------------------------------------


def error_body(status: int) -> dict[str, Any]:
    return {"error": {"message": f"loopback says {status}", "type": "some_type", "param": None, "code": "some_code"}}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.BadRequestError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
async def test_openai_http_error_maps_to_its_class(
    mode: str, status: int, cls: type[errors.ProviderError], loopback: LoopbackServer
) -> None:
    headers = {"x-request-id": f"req_{status}", "retry-after": "7"}
    loopback.push(json_reply(error_body(status), status=status, headers=headers))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ProviderError) as caught:
            await run(provider, mode, [USER])
    err = caught.value
    assert type(err) is cls
    assert (err.provider, err.status_code, err.message) == ("openai", status, f"loopback says {status}")
    assert (err.error_type, err.code, err.request_id) == ("some_type", "some_code", f"req_{status}")
    if status == 401:
        assert "OPENAI_API_KEY" in str(err)
    if status == 429:
        assert isinstance(err, errors.RateLimitError) and err.retry_after == 7.0
    assert KEY not in str(err)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_openai_failed_response_in_a_200_body_raises_the_mapped_error(
    mode: str, loopback: LoopbackServer
) -> None:
    body = response_body([], status="failed", error={"code": "rate_limit_exceeded", "message": "too many tokens"})
    check_response(body)
    loopback.push(json_reply(body))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.RateLimitError, match="too many tokens") as caught:
            await run(provider, mode, [USER])
    assert (caught.value.status_code, caught.value.code) == (None, "rate_limit_exceeded")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_openai_response_failed_event_raises_the_mapped_error(mode: str, loopback: LoopbackServer) -> None:
    body = response_body([], status="failed", error={"code": "server_error", "message": "the model crashed"})
    loopback.push(reply_for(body, mode))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ServerError, match="the model crashed"):
            await run(provider, mode, [USER])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_openai_error_event_in_a_200_stream_raises_the_mapped_error(mode: str, loopback: LoopbackServer) -> None:
    head = stream_events(TEXT_BODY)[:4]
    error = {"type": "error", "code": "server_is_overloaded", "message": "busy", "param": None, "sequence_number": 4}
    check_event(error)
    loopback.push(sse_events([*head, error]))
    received: list[StreamEvent] = []
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ServerError, match="busy") as caught:
            if mode == "stream":
                received.extend(provider.stream([USER]))
            else:
                async for event in provider.astream([USER]):
                    received.append(event)
    assert caught.value.code == "server_is_overloaded"


@pytest.mark.anyio
@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_openai_cut_stream_raises_incomplete_with_partial(
    mode: str, framing: str, loopback: LoopbackServer
) -> None:
    events = stream_events(TEXT_BODY, size=5)
    first_delta = next(i for i, e in enumerate(events) if e["type"] == "response.output_text.delta")
    loopback.push(sse_events(events, framing=framing, cut_after=first_delta + 2))
    received: list[StreamEvent] = []
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.IncompleteStreamError) as caught:
            if mode == "stream":
                received.extend(provider.stream([USER]))
            else:
                async for event in provider.astream([USER]):
                    received.append(event)
    partial = caught.value.partial
    assert partial is not None
    assert (partial.text, partial.id, partial.provider, partial.finish_reason) == (
        "It is sunn",
        "resp_text",
        "openai",
        "other",
    )
    assert received == [TextDelta(text="It is"), TextDelta(text=" sunn")]
    if framing == "chunked":  # the connection dropped mid-body: the transport error is kept as the cause
        assert isinstance(caught.value.__cause__, errors.APIConnectionError)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_openai_non_json_200_raises_parse_error(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(Reply(headers={"content-type": "text/html"}, body=b"<html>gateway</html>"))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ResponseParseError, match="not JSON"):
            await run(provider, mode, [USER])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_openai_error_echoing_the_key_is_scrubbed(mode: str, loopback: LoopbackServer) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}
    loopback.push(Reply(status=401, headers={"content-type": "application/json"}, body=json.dumps(body).encode()))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.AuthenticationError) as caught:
            await run(provider, mode, [USER])
    assert KEY not in str(caught.value) and KEY not in (caught.value.body or "")
