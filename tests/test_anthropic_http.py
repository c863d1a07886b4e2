"""AnthropicProvider over real HTTP against the loopback server: headers, a chat, a tool-call round trip in every
mode (chat, achat, stream, astream), and every error shape of the protocol. Bodies sent are checked by the official
SDK's request type; bodies and streams answered are built and checked by its response types (anthropic_samples)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from anthropic_samples import assert_valid_body, error_body, message_body, stream_chunks
from loopback import LoopbackServer, Reply, json_reply
from provider_modes import run

from allos import errors
from allos.capabilities import ALL_CAPABILITIES
from allos.providers import AnthropicProvider, Provider, ProviderSpec, get_provider, register_provider
from allos.providers.registry import unregister_provider
from allos.types import (
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDone,
    ToolSpec,
    Usage,
)

pytestmark = pytest.mark.network

Clients = tuple[httpx.Client, httpx.AsyncClient]

KEY = "sk-ant-api03-loopback-test-key-0123456789"
MODES = ("chat", "achat", "stream", "astream")
STREAM_MODES = ("stream", "astream")
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
QUESTION = [Message(role="system", content="You are terse."), Message(role="user", content="Weather in Paris?")]
TOOL_ID = "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
TOOL_TURN = message_body(
    [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}},
    ],
    stop_reason="tool_use",
    usage={"input_tokens": 40, "output_tokens": 20, "cache_read_input_tokens": 8},
)
ANSWER_TURN = message_body([{"type": "text", "text": "Sunny, 21 C."}], usage={"input_tokens": 70, "output_tokens": 9})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clients() -> Iterator[Clients]:
    """Plain-HTTP clients for the loopback server, injected into every provider: building a client that verifies
    TLS costs ~0.1 s, which 60 tests would pay for nothing."""
    sync_client = httpx.Client(verify=False, timeout=10.0)
    yield sync_client, httpx.AsyncClient(verify=False, timeout=10.0)
    sync_client.close()


def make_provider(loopback: LoopbackServer, clients: Clients, **kwargs: Any) -> Provider:
    kwargs.setdefault("max_retries", 0)
    return get_provider(
        "anthropic",
        api_key=KEY,
        base_url=loopback.url(),
        model="claude-test",
        http_client=clients[0],
        async_http_client=clients[1],
        **kwargs,
    )


@asynccontextmanager
async def opened(loopback: LoopbackServer, clients: Clients, **kwargs: Any) -> AsyncIterator[Provider]:
    """A provider whose async client is closed in the test's own event loop."""
    try:
        yield make_provider(loopback, clients, **kwargs)
    finally:
        await clients[1].aclose()


def reply_for(body: dict[str, Any], mode: str, **headers: str) -> Reply:
    """The answer to one call: the JSON body, or the SSE stream of it."""
    if mode in STREAM_MODES:
        return Reply(headers={"content-type": "text/event-stream", **headers}, chunks=stream_chunks(body))
    return json_reply(body, headers={"request-id": "req_loopback", **headers})


async def run_until_error(provider: Provider, mode: str, events: list[StreamEvent], **options: Any) -> None:
    """Like `run`, keeping the events that arrived before an error in `events`."""
    if mode == "stream":
        for event in provider.stream(QUESTION, **options):
            events.append(event)
    elif mode == "astream":
        async for event in provider.astream(QUESTION, **options):
            events.append(event)
    else:
        events.extend(await run(provider, mode, QUESTION, **options))


# --- headers and a chat ----------------------------------------------------------------------------------------------


def test_get_provider_gives_an_anthropic_provider() -> None:
    provider = get_provider("anthropic", api_key=KEY)
    assert isinstance(provider, AnthropicProvider)
    assert provider.quirks.api_version == "2023-06-01"


def test_chat_sends_the_key_the_pinned_version_and_a_valid_body(
    loopback: LoopbackServer, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_VERSION", raising=False)
    monkeypatch.delenv("ANTHROPIC_BETA", raising=False)
    loopback.push(reply_for(ANSWER_TURN, "chat"))
    with make_provider(loopback, clients) as provider:
        response = provider.chat(QUESTION, max_tokens=64, temperature=0.2)
    (sent,) = loopback.requests
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers and "anthropic-beta" not in sent.headers
    assert sent.headers["content-type"] == "application/json"
    body = sent.json()
    assert_valid_body(body)
    assert body == {
        "model": "claude-test",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "system": "You are terse.",
        "temperature": 0.2,
    }
    assert (response.text, response.finish_reason, response.provider) == ("Sunny, 21 C.", "stop", "anthropic")
    assert response.usage == Usage(input_tokens=70, output_tokens=9, total_tokens=79)


def test_stream_asks_for_event_stream(loopback: LoopbackServer, clients: Clients) -> None:
    loopback.push(reply_for(ANSWER_TURN, "stream"))
    with make_provider(loopback, clients) as provider:
        events = list(provider.stream(QUESTION))
    (sent,) = loopback.requests
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.json()["stream"] is True
    assert_valid_body(sent.json())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sunny, 21 C."


def test_version_and_beta_from_the_environment(
    loopback: LoopbackServer, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_VERSION", "2026-10-21")
    monkeypatch.setenv("ANTHROPIC_BETA", "prompt-caching-2024-07-31")
    loopback.push(reply_for(ANSWER_TURN, "chat"))
    with make_provider(loopback, clients) as provider:
        with pytest.raises(errors.InvalidRequestError, match="2026-10-21 refuses temperature"):
            provider.chat(QUESTION, temperature=0.5)
        assert not loopback.requests  # refused before sending
        provider.chat(QUESTION)
    (sent,) = loopback.requests
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"


def test_version_from_headers_argument_is_sent_once(loopback: LoopbackServer, clients: Clients) -> None:
    loopback.push(reply_for(ANSWER_TURN, "chat"))
    with make_provider(loopback, clients, headers={"Anthropic-Version": "2026-10-21"}) as provider:
        assert isinstance(provider, AnthropicProvider) and provider.quirks.api_version == "2026-10-21"
        provider.chat(QUESTION)
    (sent,) = loopback.requests
    assert sent.headers["anthropic-version"] == "2026-10-21"


def test_custom_alias_without_a_version_header_still_sends_one(loopback: LoopbackServer, clients: Clients) -> None:
    register_provider(
        ProviderSpec(
            name="my-claude-gateway",
            protocol="anthropic",
            base_url=loopback.url(),
            api_key_env="MY_CLAUDE_GATEWAY_API_KEY",
            auth_header="x-api-key",
            auth_scheme="",
            default_model="claude-test",
            capabilities=ALL_CAPABILITIES,
        )
    )
    try:
        loopback.push(reply_for(ANSWER_TURN, "chat"))
        with get_provider("my-claude-gateway", api_key=KEY, max_retries=0, http_client=clients[0]) as provider:
            assert provider.chat(QUESTION).text == "Sunny, 21 C."
    finally:
        unregister_provider("my-claude-gateway")
    assert loopback.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_capability_not_declared_is_refused_before_sending(loopback: LoopbackServer, clients: Clients) -> None:
    with (
        make_provider(loopback, clients) as provider,
        pytest.raises(errors.UnsupportedCapabilityError, match="json_mode"),
    ):
        provider.chat(QUESTION, response_format={"type": "json_object"})
    assert not loopback.requests


# --- a tool-call round trip in every mode ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_tool_round_trip(mode: str, loopback: LoopbackServer, clients: Clients) -> None:
    """sync, async, streaming and async streaming: the call, then its result sent back in one user turn."""
    loopback.push(reply_for(TOOL_TURN, mode), reply_for(ANSWER_TURN, mode))
    async with opened(loopback, clients) as provider:
        first = await run(provider, mode, QUESTION, tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)
        end = first[-1]
        assert isinstance(end, StreamEnd)
        turn = end.response
        assert turn.finish_reason == "tool_calls" and turn.text == "Let me check."
        assert turn.tool_calls == (ToolCall(id=TOOL_ID, name="get_weather", arguments={"city": "Paris"}),)
        assert turn.usage == Usage(input_tokens=48, output_tokens=20, total_tokens=68, cached_input_tokens=8)
        if mode in STREAM_MODES:
            done = [e for e in first if isinstance(e, ToolCallDone)]
            assert [d.tool_call for d in done] == list(turn.tool_calls)
        history = [*QUESTION, turn.message, Message(role="tool", tool_call_id=TOOL_ID, content="sunny, 21 C")]
        second = await run(provider, mode, history, tools=[WEATHER])
    final = second[-1]
    assert isinstance(final, StreamEnd) and final.response.text == "Sunny, 21 C."
    first_body, second_body = (request.json() for request in loopback.requests)
    for body in (first_body, second_body):
        assert_valid_body(body)
        assert body.get("stream", False) is (mode in STREAM_MODES)
    assert first_body["tools"] == [
        {"name": "get_weather", "description": "Current weather for a city", "input_schema": WEATHER.parameters}
    ]
    assert first_body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert second_body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": TOOL_ID, "content": "sunny, 21 C"}]},
    ]


def test_history_from_another_provider_is_remapped(loopback: LoopbackServer, clients: Clients) -> None:
    foreign = "call.gemini/0"  # a character Anthropic refuses in an id
    history = [
        QUESTION[1],
        Message(role="assistant", tool_calls=(ToolCall(id=foreign, name="get_weather", arguments={"city": "Paris"}),)),
        Message(role="tool", tool_call_id=foreign, content="sunny"),
    ]
    loopback.push(reply_for(ANSWER_TURN, "chat"))
    with make_provider(loopback, clients) as provider:
        provider.chat(history, tools=[WEATHER])
    body = loopback.requests[0].json()
    assert_valid_body(body)
    new_id = body["messages"][1]["content"][0]["id"]
    assert new_id.startswith("toolu_") and body["messages"][2]["content"][0]["tool_use_id"] == new_id


# --- every error shape -----------------------------------------------------------------------------------------------

ERROR_CASES = [
    (
        400,
        error_body("invalid_request_error", "messages: text content blocks must be non-empty"),
        {},
        errors.BadRequestError,
    ),
    (401, error_body("authentication_error", "invalid x-api-key"), {}, errors.AuthenticationError),
    (402, error_body("billing_error", "credit balance too low"), {}, errors.ProviderError),
    (403, error_body("permission_error", "no access to this model"), {}, errors.PermissionDeniedError),
    (404, error_body("not_found_error", "model: claude-nope"), {}, errors.NotFoundError),
    (413, error_body("request_too_large", "Request exceeds the maximum size"), {}, errors.ProviderError),
    (
        413,
        "<html><body>413 Request Entity Too Large</body></html>",
        {"content-type": "text/html"},
        errors.ProviderError,
    ),
    (429, error_body("rate_limit_error", "rate limited"), {"retry-after": "3"}, errors.RateLimitError),
    (500, error_body("api_error", "Internal server error", request_id=None), {}, errors.ServerError),
    (529, error_body("overloaded_error", "Overloaded"), {}, errors.ServerError),
]
ERROR_IDS = ["400", "401", "402-billing", "403", "404", "413-json", "413-html", "429", "500", "529-overloaded"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "body", "headers", "cls"), ERROR_CASES, ids=ERROR_IDS)
async def test_error_status_and_body_map_to_the_error_class(
    status: int,
    body: str,
    headers: dict[str, str],
    cls: type[errors.ProviderError],
    mode: str,
    loopback: LoopbackServer,
    clients: Clients,
) -> None:
    headers = {"content-type": "application/json", "request-id": "req_from_header", **headers}
    loopback.push(Reply(status=status, headers=headers, body=body.encode()))
    async with opened(loopback, clients) as provider:
        with pytest.raises(errors.ProviderError) as caught:
            await run(provider, mode, QUESTION)
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status and error.provider == "anthropic"
    parsed = json.loads(body) if body.startswith("{") else None
    if parsed is not None:
        assert error.error_type == parsed["error"]["type"] and error.message == parsed["error"]["message"]
        assert error.request_id == parsed.get("request_id", "req_from_header")
    if status == 401:
        assert "ANTHROPIC_API_KEY" in str(error)
    if status == 413:
        assert error.hint is not None and "32 MB" in error.hint
    if status == 429:
        assert isinstance(error, errors.RateLimitError) and error.retry_after == 3.0
    assert KEY not in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["chat", "astream"])
async def test_overloaded_529_is_retried(mode: str, loopback: LoopbackServer, clients: Clients) -> None:
    overloaded = Reply(
        status=529,
        headers={"content-type": "application/json", "retry-after-ms": "1"},
        body=error_body("overloaded_error", "Overloaded").encode(),
    )
    loopback.push(overloaded, reply_for(ANSWER_TURN, mode))
    async with opened(loopback, clients, max_retries=1) as provider:
        events = await run(provider, mode, QUESTION)
    assert isinstance(events[-1], StreamEnd) and events[-1].response.text == "Sunny, 21 C."
    assert len(loopback.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize(
    ("error_type", "cls"),
    [("overloaded_error", errors.ServerError), ("rate_limit_error", errors.RateLimitError)],
)
async def test_error_event_mid_stream_raises_the_mapped_error(
    error_type: str, cls: type[errors.ProviderError], mode: str, loopback: LoopbackServer, clients: Clients
) -> None:
    chunks = stream_chunks(ANSWER_TURN, piece=4)
    error = f"event: error\ndata: {error_body(error_type, 'Overloaded')}\n\n".encode()
    loopback.push(Reply(headers={"content-type": "text/event-stream"}, chunks=[*chunks[:5], error]))
    events: list[StreamEvent] = []
    async with opened(loopback, clients) as provider:
        with pytest.raises(cls, match="Overloaded") as caught:
            await run_until_error(provider, mode, events)
    assert caught.value.error_type == error_type
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Sunny, 2"  # what came before it


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_stream_cut_before_message_stop_raises_incomplete_with_partial(
    framing: Any, mode: str, loopback: LoopbackServer, clients: Clients
) -> None:
    chunks = stream_chunks(TOOL_TURN, piece=4, pings=False)
    cut = len(chunks) - 3  # after some of the tool call's arguments, before message_delta
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=chunks, framing=framing, cut_after=cut)
    loopback.push(reply)
    events: list[StreamEvent] = []
    async with opened(loopback, clients) as provider:
        with pytest.raises(errors.IncompleteStreamError) as caught:
            await run_until_error(provider, mode, events)
    partial = caught.value.partial
    assert partial is not None and partial.text == "Let me check."
    assert partial.tool_calls and partial.tool_calls[0].id == TOOL_ID
    assert partial.finish_reason == "other"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_error_echoing_the_key_is_scrubbed(mode: str, loopback: LoopbackServer, clients: Clients) -> None:
    body = error_body("authentication_error", f"invalid x-api-key: {KEY}")
    loopback.push(Reply(status=401, headers={"content-type": "application/json"}, body=body.encode()))
    async with opened(loopback, clients) as provider:
        with pytest.raises(errors.AuthenticationError) as caught:
            await run(provider, mode, QUESTION)
    assert KEY not in str(caught.value) and KEY not in (caught.value.body or "")
