"""Providers over real HTTP: every OpenAI-compatible alias against the loopback server in tests/loopback.py.

What the wire must carry per alias is written out here (the tables below), not read from the registry's quirks, so a
quirk that changes shows up as a failing test rather than as a test that follows the code.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from loopback import LoopbackServer, Reply, json_reply, sse_reply, unused_port
from provider_modes import opened, run

from allos import errors
from allos.capabilities import Capability
from allos.providers import OPENAI_COMPATIBLE_PROVIDERS, Provider, get_provider
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
    Usage,
    UsageUpdate,
)

pytestmark = pytest.mark.network

# --- what each alias must put on the wire (independent of the registry's quirks) ----------------------------------

MAX_TOKENS_FIELD = {"openai-chat": "max_completion_tokens"}  # everyone else: max_tokens
REQUIRED_CHOICE = {"mistral": "any", "fireworks": "any"}  # everyone else: "required"
SEED_FIELD = {"mistral": "random_seed"}  # everyone else: seed
NO_MESSAGE_NAME = {"groq", "mistral", "xai"}
NO_STRICT_TOOLS = {"xai"}
NO_STREAM_USAGE = {"mistral"}
ALNUM9_IDS = {"mistral"}
EMPTY_TOOL_CALL_CONTENT = {"mistral": ""}  # everyone else: null
MERGES_CONSECUTIVE_ROLES = {"perplexity"}
KEY_HEADER = {"portkey": "x-portkey-api-key"}  # sent as the bare key; everyone else: Authorization: Bearer <key>

ALIASES = sorted(OPENAI_COMPATIBLE_PROVIDERS)
TOOL_ALIASES = [a for a in ALIASES if OPENAI_COMPATIBLE_PROVIDERS[a].supports(Capability.TOOLS)]
NO_TOOL_ALIASES = [a for a in ALIASES if a not in TOOL_ALIASES]
# The round trip sends the call back (tool_result) and streams it (streaming_tool_calls): rows that claim all three.
ROUND_TRIP_ALIASES = [
    a
    for a in TOOL_ALIASES
    if all(
        OPENAI_COMPATIBLE_PROVIDERS[a].supports(c) for c in (Capability.TOOL_RESULT, Capability.STREAMING_TOOL_CALLS)
    )
]
OPTIONAL_KEY_ALIASES = [a for a in ALIASES if not OPENAI_COMPATIBLE_PROVIDERS[a].api_key_required]
MODES = ("chat", "achat", "stream", "astream")
STREAM_MODES = ("stream", "astream")


def key_for(alias: str) -> str:
    return f"test-key-{alias}-0123456789"


def base_path(alias: str) -> str:
    """The path part of the alias's real base URL ("/openai/v1" for groq); "/v1" for the generic alias."""
    real = OPENAI_COMPATIBLE_PROVIDERS[alias].base_url
    return urlsplit(real).path.rstrip("/") if real else "/v1"


def make_provider(loopback: LoopbackServer, alias: str, *, with_key: bool | None = None, **kwargs: Any) -> Provider:
    """A provider for `alias` pointed at the loopback server; a key unless the alias works without one."""
    if with_key is None:
        with_key = OPENAI_COMPATIBLE_PROVIDERS[alias].api_key_required
    kwargs.setdefault("max_retries", 0)
    return get_provider(
        alias,
        api_key=key_for(alias) if with_key else None,
        base_url=loopback.url(base_path(alias)),
        model="m",
        **kwargs,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def collect_until_error(
    provider: Provider, mode: str, messages: Sequence[Any], events: list[StreamEvent], **options: Any
) -> None:
    """Like `run`, but keeps the events that arrived before an error in `events`."""
    if mode == "stream":
        for event in provider.stream(messages, **options):
            events.append(event)
    else:
        async for event in provider.astream(messages, **options):
            events.append(event)


def rechunk(reply: Reply, size: int) -> Reply:
    """The same stream cut into `size`-byte writes, so lines and JSON break across reads."""
    assert reply.chunks is not None
    data = b"".join(reply.chunks)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    return Reply(status=reply.status, headers=reply.headers, chunks=chunks, framing=reply.framing)


# --- the scripted conversation -----------------------------------------------------------------------------------

CALL_ID = "call_loopback_0001"  # has "_": Mistral must remap it
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    strict=True,
)
CALL = ToolCall(id=CALL_ID, name="get_weather", arguments={"city": "Paris"})
SYSTEM = Message(role="system", content="You are terse.")
USER = Message(role="user", content="Weather in Paris?", name="alice")
TOOL_RESULT_TEXT = "sunny, 21 C"
ANSWER = "It is sunny in Paris."
USAGE_1 = Usage(input_tokens=12, output_tokens=7, total_tokens=19)
USAGE_2 = Usage(input_tokens=30, output_tokens=6, total_tokens=36)
WIRE_USAGE_1 = {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
WIRE_USAGE_2 = {"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}

TOOL_CALL_BODY: dict[str, Any] = {
    "id": "chatcmpl-tool",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": CALL_ID,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
            "logprobs": None,
        }
    ],
    "usage": WIRE_USAGE_1,
}
TEXT_BODY: dict[str, Any] = {
    "id": "chatcmpl-text",
    "object": "chat.completion",
    "created": 2,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop", "logprobs": None}
    ],
    "usage": WIRE_USAGE_2,
}


def chunk(chunk_id: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


ARGUMENT_PIECES = ['{"ci', 'ty": "Par', 'is"}']
TOOL_STREAM = sse_reply(
    [
        chunk(
            "chatcmpl-s1",
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": CALL_ID,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            },
        ),
        *(chunk("chatcmpl-s1", {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in ARGUMENT_PIECES),
        chunk("chatcmpl-s1", {}, "tool_calls"),
        {
            "id": "chatcmpl-s1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "usage": WIRE_USAGE_1,
        },
    ]
)
TEXT_PIECES = ["It is ", "sunny ", "in Paris."]
TEXT_STREAM = sse_reply(
    [
        chunk("chatcmpl-s2", {"role": "assistant", "content": ""}),
        ": OPENROUTER PROCESSING",
        *(chunk("chatcmpl-s2", {"content": piece}) for piece in TEXT_PIECES),
        chunk("chatcmpl-s2", {}, "stop"),
        {
            "id": "chatcmpl-s2",
            "object": "chat.completion.chunk",
            "created": 2,
            "model": "m",
            "choices": [],
            "usage": WIRE_USAGE_2,
        },
    ]
)


def tool_choice_for(alias: str) -> tuple[str, str]:
    """(what the test asks, what the wire must say)."""
    if OPENAI_COMPATIBLE_PROVIDERS[alias].supports(Capability.TOOL_CHOICE_REQUIRED):
        return "required", REQUIRED_CHOICE.get(alias, "required")
    return "auto", "auto"


def first_turn(alias: str) -> tuple[list[Message], dict[str, Any]]:
    return [SYSTEM, USER], {
        "tools": [WEATHER],
        "tool_choice": tool_choice_for(alias)[0],
        "max_tokens": 64,
        "temperature": 0.0,
        "seed": 7,
    }


def second_turn(first: ChatResponse) -> tuple[list[Message], dict[str, Any]]:
    call = first.tool_calls[0]
    result = Message(role="tool", tool_call_id=call.id, content=TOOL_RESULT_TEXT)
    return [SYSTEM, USER, first.message, result], {"tools": [WEATHER], "max_tokens": 64}


# --- what the server must have received --------------------------------------------------------------------------


def wire_tool(alias: str) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": WEATHER.parameters,
    }
    if alias not in NO_STRICT_TOOLS:
        function["strict"] = True
    return {"type": "function", "function": function}


def wire_prefix(alias: str) -> list[dict[str, Any]]:
    user: dict[str, Any] = {"role": "user", "content": "Weather in Paris?"}
    if alias not in NO_MESSAGE_NAME:
        user["name"] = "alice"
    return [{"role": "system", "content": "You are terse."}, user]


def with_stream_flags(alias: str, body: dict[str, Any], stream: bool) -> dict[str, Any]:
    if stream:
        body["stream"] = True
        if alias not in NO_STREAM_USAGE:
            body["stream_options"] = {"include_usage": True}
    return body


def expected_first_body(alias: str, *, stream: bool) -> dict[str, Any]:
    body = {
        "model": "m",
        "messages": wire_prefix(alias),
        "tools": [wire_tool(alias)],
        "tool_choice": tool_choice_for(alias)[1],
        MAX_TOKENS_FIELD.get(alias, "max_tokens"): 64,
        "temperature": 0.0,
        SEED_FIELD.get(alias, "seed"): 7,
    }
    return with_stream_flags(alias, body, stream)


def expected_second_body(alias: str, sent_id: str, *, stream: bool) -> dict[str, Any]:
    assistant = {
        "role": "assistant",
        "content": EMPTY_TOOL_CALL_CONTENT.get(alias),
        "tool_calls": [
            {"id": sent_id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    }
    tool = {"role": "tool", "tool_call_id": sent_id, "content": TOOL_RESULT_TEXT}
    body = {
        "model": "m",
        "messages": [*wire_prefix(alias), assistant, tool],
        "tools": [wire_tool(alias)],
        MAX_TOKENS_FIELD.get(alias, "max_tokens"): 64,
    }
    return with_stream_flags(alias, body, stream)


def sent_tool_call_id(alias: str, body: dict[str, Any]) -> str:
    """The id the follow-up request used: the same on the call and its result, and in the alias's format."""
    call_id = body["messages"][2]["tool_calls"][0]["id"]
    assert body["messages"][3]["tool_call_id"] == call_id
    if alias in ALNUM9_IDS:
        assert re.fullmatch(r"[a-zA-Z0-9]{9}", call_id), call_id
    else:
        assert call_id == CALL_ID
    return str(call_id)


def check_headers(alias: str, loopback: LoopbackServer, *, stream: bool, keyed: bool) -> None:
    for request in loopback.requests:
        assert request.method == "POST"
        assert request.path == base_path(alias) + "/chat/completions"
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["accept"] == ("text/event-stream" if stream else "application/json")
        assert headers["user-agent"].startswith("allos/")
        key_header = KEY_HEADER.get(alias, "authorization")
        if not keyed:
            assert "authorization" not in headers
            assert key_header not in headers
        elif key_header == "authorization":
            assert headers["authorization"] == f"Bearer {key_for(alias)}"
        else:
            assert headers[key_header] == key_for(alias)
            assert "authorization" not in headers  # no provider key was configured for the gateway


def check_round_trip(
    alias: str, loopback: LoopbackServer, first: ChatResponse, second: ChatResponse, *, stream: bool
) -> None:
    keyed = OPENAI_COMPATIBLE_PROVIDERS[alias].api_key_required
    assert len(loopback.requests) == 2
    check_headers(alias, loopback, stream=stream, keyed=keyed)
    assert loopback.requests[0].json() == expected_first_body(alias, stream=stream)
    sent = loopback.requests[1].json()
    assert sent == expected_second_body(alias, sent_tool_call_id(alias, sent), stream=stream)
    assert first.tool_calls == (CALL,)
    assert (first.text, first.finish_reason, first.usage, first.provider) == ("", "tool_calls", USAGE_1, alias)
    assert (second.text, second.finish_reason, second.usage, second.provider) == (ANSWER, "stop", USAGE_2, alias)
    assert second.tool_calls == ()


# --- the tool round trip, for every alias ----------------------------------------------------------------------


@pytest.mark.parametrize("alias", ROUND_TRIP_ALIASES)
def test_provider_tool_round_trip_sync(alias: str, loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TOOL_CALL_BODY), json_reply(TEXT_BODY))
    with make_provider(loopback, alias) as provider:
        messages, options = first_turn(alias)
        first = provider.chat(messages, **options)
        messages, options = second_turn(first)
        second = provider.chat(messages, **options)
    assert first == ChatResponse(
        tool_calls=(CALL,),
        finish_reason="tool_calls",
        native_finish_reason="tool_calls",
        usage=USAGE_1,
        model="m",
        provider=alias,
        id="chatcmpl-tool",
        raw=TOOL_CALL_BODY,
    )
    assert second.id == "chatcmpl-text"
    check_round_trip(alias, loopback, first, second, stream=False)


@pytest.mark.anyio
@pytest.mark.parametrize("alias", ROUND_TRIP_ALIASES)
async def test_provider_tool_round_trip_async(alias: str, loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TOOL_CALL_BODY), json_reply(TEXT_BODY))
    async with make_provider(loopback, alias) as provider:
        messages, options = first_turn(alias)
        first = await provider.achat(messages, **options)
        messages, options = second_turn(first)
        second = await provider.achat(messages, **options)
    check_round_trip(alias, loopback, first, second, stream=False)


def expected_tool_events(alias: str) -> list[Any]:
    return [
        ToolCallDelta(index=0, id=CALL_ID, name="get_weather", arguments_delta=""),
        *(ToolCallDelta(index=0, arguments_delta=piece) for piece in ARGUMENT_PIECES),
        ToolCallDone(index=0, tool_call=CALL),
        UsageUpdate(usage=USAGE_1),
        StreamEnd(
            response=ChatResponse(
                tool_calls=(CALL,),
                finish_reason="tool_calls",
                native_finish_reason="tool_calls",
                usage=USAGE_1,
                model="m",
                provider=alias,
                id="chatcmpl-s1",
            )
        ),
    ]


def expected_text_events(alias: str) -> list[Any]:
    return [
        *(TextDelta(text=piece) for piece in TEXT_PIECES),
        UsageUpdate(usage=USAGE_2),
        StreamEnd(
            response=ChatResponse(
                text=ANSWER,
                finish_reason="stop",
                native_finish_reason="stop",
                usage=USAGE_2,
                model="m",
                provider=alias,
                id="chatcmpl-s2",
            )
        ),
    ]


def end_of(events: list[StreamEvent]) -> ChatResponse:
    """The StreamEnd's answer, checked against the events that came before it."""
    *body, end = events
    assert isinstance(end, StreamEnd)
    assert not any(isinstance(event, StreamEnd) for event in body)
    response = end.response
    if not body:  # a non-streaming call, as `run` returns it
        return response
    assert response.text == "".join(e.text for e in body if isinstance(e, TextDelta))
    assert response.tool_calls == tuple(e.tool_call for e in body if isinstance(e, ToolCallDone))
    usages = [e.usage for e in body if isinstance(e, UsageUpdate)]
    if usages:
        assert response.usage == usages[-1]
    return response


@pytest.mark.parametrize("alias", ROUND_TRIP_ALIASES)
def test_provider_tool_round_trip_stream(alias: str, loopback: LoopbackServer) -> None:
    loopback.push(rechunk(TOOL_STREAM, 37), rechunk(TEXT_STREAM, 23))
    with make_provider(loopback, alias) as provider:
        messages, options = first_turn(alias)
        first_events = list(provider.stream(messages, **options))
        first = end_of(first_events)
        messages, options = second_turn(first)
        second_events = list(provider.stream(messages, **options))
    assert first_events == expected_tool_events(alias)
    assert second_events == expected_text_events(alias)
    check_round_trip(alias, loopback, first, end_of(second_events), stream=True)


@pytest.mark.anyio
@pytest.mark.parametrize("alias", ROUND_TRIP_ALIASES)
async def test_provider_tool_round_trip_astream(alias: str, loopback: LoopbackServer) -> None:
    loopback.push(TOOL_STREAM, rechunk(TEXT_STREAM, 11))
    async with make_provider(loopback, alias) as provider:
        messages, options = first_turn(alias)
        first_events = [event async for event in provider.astream(messages, **options)]
        first = end_of(first_events)
        messages, options = second_turn(first)
        second_events = [event async for event in provider.astream(messages, **options)]
    assert first_events == expected_tool_events(alias)
    assert second_events == expected_text_events(alias)
    check_round_trip(alias, loopback, first, end_of(second_events), stream=True)


# --- aliases without tools, and aliases whose key is optional ----------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", NO_TOOL_ALIASES)
async def test_provider_without_tools_refuses_before_sending(alias: str, mode: str, loopback: LoopbackServer) -> None:
    async with opened(make_provider(loopback, alias)) as provider:
        with pytest.raises(errors.UnsupportedCapabilityError) as caught:
            await run(provider, mode, [USER], tools=[WEATHER])
    assert caught.value.provider == alias
    assert "tool" in caught.value.capability
    assert str(caught.value).startswith(f"{alias}: ")
    assert loopback.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", NO_TOOL_ALIASES)
async def test_provider_without_tools_plain_chat(alias: str, mode: str, loopback: LoopbackServer) -> None:
    stream = mode in STREAM_MODES
    loopback.push(TEXT_STREAM if stream else json_reply(TEXT_BODY))
    messages = [Message(role="user", content="Weather in Paris?"), Message(role="user", content="Briefly.")]
    async with opened(make_provider(loopback, alias)) as provider:
        response = end_of(await run(provider, mode, messages, max_tokens=32))
    assert (response.text, response.finish_reason, response.usage) == (ANSWER, "stop", USAGE_2)
    check_headers(alias, loopback, stream=stream, keyed=True)
    sent = loopback.requests[0].json()
    if alias in MERGES_CONSECUTIVE_ROLES:
        assert sent["messages"] == [{"role": "user", "content": "Weather in Paris?\n\nBriefly."}]
    else:
        assert len(sent["messages"]) == 2
    assert "tools" not in sent
    assert sent[MAX_TOKENS_FIELD.get(alias, "max_tokens")] == 32


@pytest.mark.parametrize("alias", OPTIONAL_KEY_ALIASES)
def test_provider_optional_key_is_sent_when_given(alias: str, loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TEXT_BODY))
    with make_provider(loopback, alias, with_key=True) as provider:
        assert provider.chat([USER]).text == ANSWER
    check_headers(alias, loopback, stream=False, keyed=True)


# --- errors: every status class, every body shape ------------------------------------------------------------------

STATUS_CLASSES = [
    (400, errors.BadRequestError),
    (401, errors.AuthenticationError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError),
    (409, errors.ConflictError),
    (422, errors.BadRequestError),
    (429, errors.RateLimitError),
    (500, errors.ServerError),
    (503, errors.ServerError),
    (529, errors.ServerError),
]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "error_class"), STATUS_CLASSES, ids=[str(s) for s, _ in STATUS_CLASSES])
async def test_provider_status_maps_to_error_class(
    status: int, error_class: type[errors.ProviderError], mode: str, loopback: LoopbackServer
) -> None:
    body = {"error": {"message": f"loopback says {status}", "type": "some_type", "param": None, "code": "some_code"}}
    headers = {"x-request-id": f"req_{status}", "retry-after": "7"}
    loopback.push(json_reply(body, status=status, headers=headers))
    async with opened(make_provider(loopback, "groq")) as provider:
        with pytest.raises(errors.ProviderError) as caught:
            await run(provider, mode, [USER])
    err = caught.value
    assert type(err) is error_class
    assert (err.provider, err.status_code, err.message) == ("groq", status, f"loopback says {status}")
    assert (err.error_type, err.code, err.request_id) == ("some_type", "some_code", f"req_{status}")
    assert str(err).startswith(f"groq: {status} {error_class.__name__}: loopback says {status}")
    assert f"request_id=req_{status}" in str(err)
    assert json.loads(err.body or "") == body
    if status == 429:
        assert isinstance(err, errors.RateLimitError) and err.retry_after == 7.0
    if status == 401:
        assert "GROQ_API_KEY" in str(err)  # says what to do next
    assert len(loopback.requests) == 1


# (shape id, alias, status, body, headers, class, message, error_type, code, request_id)
ERROR_SHAPES: list[tuple[str, str, int, bytes, dict[str, str], type[errors.ProviderError], str, Any, Any, Any]] = [
    (
        "openai",
        "openai-chat",
        404,
        json.dumps(
            {
                "error": {
                    "message": "The model `m` does not exist",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "model_not_found",
                }
            }
        ).encode(),
        {"x-request-id": "req_openai"},
        errors.NotFoundError,
        "The model `m` does not exist",
        "invalid_request_error",
        "model_not_found",
        "req_openai",
    ),
    (
        "mistral-flat",
        "mistral",
        422,
        json.dumps(
            {
                "object": "error",
                "message": "Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.",
                "type": "invalid_request_message_error",
                "param": None,
                "code": 3230,
            }
        ).encode(),
        {"x-request-id": "req_mistral"},
        errors.BadRequestError,
        "Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.",
        "invalid_request_message_error",
        "3230",
        "req_mistral",
    ),
    (
        "gemini-array",
        "gemini",
        400,
        json.dumps(
            [
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "status": "INVALID_ARGUMENT",
                    }
                }
            ]
        ).encode(),
        {"x-request-id": "req_gemini"},
        # Gemini answers a bad key with 400 INVALID_ARGUMENT; the gemini row maps that message to an auth error.
        errors.AuthenticationError,
        "API key not valid. Please pass a valid API key.",
        "INVALID_ARGUMENT",
        "400",
        "req_gemini",
    ),
    (
        "ollama",
        "chat_completions",
        404,
        json.dumps({"error": 'model "m" not found, try pulling it first'}).encode(),
        {"x-request-id": "req_ollama"},
        errors.NotFoundError,
        'model "m" not found, try pulling it first',
        None,
        None,
        "req_ollama",
    ),
    (
        "anthropic-request-id-in-body",
        "portkey",
        529,
        json.dumps(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_011"}
        ).encode(),
        {},
        errors.ServerError,
        "Overloaded",
        "overloaded_error",
        None,
        "req_011",
    ),
    (
        "html",
        "together",
        502,
        b"<html><head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center>"
        b"<hr><center>nginx</center></body></html>",
        {"x-request-id": "req_html", "content-type": "text/html"},
        errors.ServerError,
        "<html><head><title>502 Bad Gateway</title></head> <body><center><h1>502 Bad Gateway</h1></center><hr>"
        "<center>nginx</center></body></html>",
        None,
        None,
        "req_html",
    ),
    (
        "empty",
        "deepseek",
        503,
        b"",
        {"x-request-id": "req_empty"},
        errors.ServerError,
        "(empty body)",
        None,
        None,
        "req_empty",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("alias", "status", "body", "headers", "error_class", "message", "error_type", "code", "request_id"),
    [shape[1:] for shape in ERROR_SHAPES],
    ids=[shape[0] for shape in ERROR_SHAPES],
)
async def test_provider_error_body_shape_is_read(
    alias: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
    error_class: type[errors.ProviderError],
    message: str,
    error_type: str | None,
    code: str | None,
    request_id: str | None,
    mode: str,
    loopback: LoopbackServer,
) -> None:
    loopback.push(Reply(status=status, headers={"content-type": "application/json", **headers}, body=body))
    async with opened(make_provider(loopback, alias)) as provider:
        with pytest.raises(errors.ProviderError) as caught:
            await run(provider, mode, [USER])
    err = caught.value
    assert type(err) is error_class
    assert (err.provider, err.status_code, err.message) == (alias, status, message)
    assert (err.error_type, err.code, err.request_id) == (error_type, code, request_id)
    assert str(err).startswith(f"{alias}: {status} {error_class.__name__}: ")
    assert err.body == body.decode()


STREAM_ERRORS = [
    (
        "openai-typed",
        {"error": {"message": "Rate limit reached for m", "type": "rate_limit_error", "code": "rate_limit_exceeded"}},
        errors.RateLimitError,
        "Rate limit reached for m",
    ),
    (
        "openrouter-numeric",
        {"error": {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": "x"}}},
        errors.ServerError,
        "Provider returned error",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize(
    ("payload", "error_class", "message"), [e[1:] for e in STREAM_ERRORS], ids=[e[0] for e in STREAM_ERRORS]
)
async def test_provider_error_inside_200_stream_raises_mapped_class(
    payload: dict[str, Any], error_class: type[errors.ProviderError], message: str, mode: str, loopback: LoopbackServer
) -> None:
    loopback.push(sse_reply([chunk("chatcmpl-e", {"content": "Hel"}), payload], done=False))
    events: list[StreamEvent] = []
    async with opened(make_provider(loopback, "openrouter")) as provider:
        with pytest.raises(errors.ProviderError) as caught:
            await collect_until_error(provider, mode, [USER], events)
    err = caught.value
    assert type(err) is error_class
    assert (err.provider, err.status_code, err.message) == ("openrouter", None, message)
    assert str(err).startswith("openrouter: ")
    assert events == [TextDelta(text="Hel")]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_provider_error_in_200_json_body_raises_mapped_class(mode: str, loopback: LoopbackServer) -> None:
    body = {"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}, "user_id": "u1"}
    loopback.push(json_reply(body, headers={"x-request-id": "req_or"}))
    async with opened(make_provider(loopback, "openrouter", max_retries=2)) as provider:
        with pytest.raises(errors.RateLimitError) as caught:
            await run(provider, mode, [USER])
    assert (caught.value.provider, caught.value.message) == ("openrouter", "Rate limit exceeded: free-models-per-day")
    assert str(caught.value).startswith("openrouter: ")
    assert len(loopback.requests) == 1  # a 200 is never retried


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["chat", "achat"])
async def test_provider_non_json_200_raises_parse_error(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(Reply(headers={"content-type": "text/html"}, body=b"<html>maintenance</html>"))
    async with opened(make_provider(loopback, "fireworks")) as provider:
        with pytest.raises(errors.ResponseParseError) as caught:
            await run(provider, mode, [USER])
    assert str(caught.value).startswith("fireworks: ")
    assert "<html>maintenance</html>" in str(caught.value)


# --- retries ----------------------------------------------------------------------------------------------------------

FAST = {"retry-after-ms": "1"}


def error_reply(status: int, **headers: str) -> Reply:
    return json_reply({"error": {"message": f"status {status}"}}, status=status, headers={**FAST, **headers})


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_rate_limit_retries_then_raises(
    mode: str, loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="allos")
    loopback.push(*(error_reply(429) for _ in range(3)))
    async with opened(make_provider(loopback, "groq", max_retries=2)) as provider:
        with pytest.raises(errors.RateLimitError) as caught:
            await run(provider, mode, [USER])
    assert len(loopback.requests) == 3
    assert len({r.body for r in loopback.requests}) == 1  # the same request each time
    assert caught.value.retry_after == 0.001
    assert len([r for r in caplog.records if r.name == "allos" and "retrying after 429" in r.getMessage()]) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_succeeds_after_two_server_errors(mode: str, loopback: LoopbackServer) -> None:
    success = TEXT_STREAM if mode in STREAM_MODES else json_reply(TEXT_BODY)
    loopback.push(error_reply(503), error_reply(503), success)
    async with opened(make_provider(loopback, "groq", max_retries=2)) as provider:
        response = end_of(await run(provider, mode, [USER]))
    assert response.text == ANSWER
    assert len(loopback.requests) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_bad_request_is_not_retried(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(error_reply(400), json_reply(TEXT_BODY))
    async with opened(make_provider(loopback, "groq", max_retries=2)) as provider:
        with pytest.raises(errors.BadRequestError):
            await run(provider, mode, [USER])
    assert len(loopback.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_should_retry_false_stops_server_error_retries(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(error_reply(500, **{"x-should-retry": "false"}))
    async with opened(make_provider(loopback, "groq", max_retries=2)) as provider:
        with pytest.raises(errors.ServerError):
            await run(provider, mode, [USER])
    assert len(loopback.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_should_retry_true_retries_bad_request(mode: str, loopback: LoopbackServer) -> None:
    success = TEXT_STREAM if mode in STREAM_MODES else json_reply(TEXT_BODY)
    loopback.push(error_reply(400, **{"x-should-retry": "true"}), success)
    async with opened(make_provider(loopback, "groq", max_retries=2)) as provider:
        response = end_of(await run(provider, mode, [USER]))
    assert response.text == ANSWER
    assert len(loopback.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_connection_refused_raises_connection_error(mode: str) -> None:
    provider = get_provider(
        "groq", api_key=key_for("groq"), base_url=f"http://127.0.0.1:{unused_port()}/v1", model="m", max_retries=0
    )
    async with opened(provider):
        with pytest.raises(errors.APIConnectionError) as caught:
            await run(provider, mode, [USER])
    assert type(caught.value) is errors.APIConnectionError
    assert caught.value.status_code is None
    assert str(caught.value).startswith("groq: ")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_blocked_server_raises_timeout(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TEXT_BODY, release=threading.Event()))  # released by the fixture at teardown
    async with opened(make_provider(loopback, "groq", timeout=0.2)) as provider:
        with pytest.raises(errors.APITimeoutError) as caught:
            await run(provider, mode, [USER])
    assert str(caught.value).startswith("groq: ")
    assert len(loopback.requests) == 1


# --- streams that stop early -----------------------------------------------------------------------------------------

CUT_STREAM = [
    chunk("chatcmpl-cut", {"role": "assistant", "content": ""}),
    chunk("chatcmpl-cut", {"content": "Hello"}),
    chunk("chatcmpl-cut", {"content": ", wor"}),
    chunk("chatcmpl-cut", {"content": "ld"}),
    chunk("chatcmpl-cut", {}, "stop"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_cut_stream_raises_incomplete_with_partial(
    mode: str, framing: str, loopback: LoopbackServer
) -> None:
    loopback.push(sse_reply(CUT_STREAM, framing=framing, cut_after=3))
    events: list[StreamEvent] = []
    async with opened(make_provider(loopback, "together")) as provider:
        with pytest.raises(errors.IncompleteStreamError) as caught:
            await collect_until_error(provider, mode, [USER], events)
    partial = caught.value.partial
    assert partial is not None
    assert (partial.text, partial.provider, partial.finish_reason) == ("Hello, wor", "together", "other")
    assert events == [TextDelta(text="Hello"), TextDelta(text=", wor")]
    assert str(caught.value).startswith("together: ")
    if framing == "chunked":  # the connection dropped mid-body: the transport error is kept as the cause
        assert isinstance(caught.value.__cause__, errors.APIConnectionError)


@pytest.mark.anyio
@pytest.mark.parametrize("framing", ["chunked", "close"])
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_stream_without_done_but_finished_is_accepted(
    mode: str, framing: str, loopback: LoopbackServer
) -> None:
    loopback.push(sse_reply(CUT_STREAM, framing=framing, done=False))
    async with opened(make_provider(loopback, "together")) as provider:
        events = await run(provider, mode, [USER])
    response = end_of(events)
    assert (response.text, response.finish_reason) == ("Hello, world", "stop")


# --- injected clients --------------------------------------------------------------------------------------------


def test_provider_uses_injected_client_and_leaves_it_open(loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TEXT_BODY), TEXT_STREAM)
    hooked: list[httpx.Request] = []
    with httpx.Client(headers={"x-injected": "sync"}, event_hooks={"request": [hooked.append]}) as client:
        provider = make_provider(loopback, "groq", http_client=client)
        assert provider.chat([USER]).text == ANSWER
        assert end_of(list(provider.stream([USER]))).text == ANSWER
        provider.close()
        assert not client.is_closed
    assert [r.headers["x-injected"] for r in loopback.requests] == ["sync", "sync"]
    assert [r.url.path for r in hooked] == ["/openai/v1/chat/completions"] * 2


@pytest.mark.anyio
async def test_provider_uses_injected_async_client_and_leaves_it_open(loopback: LoopbackServer) -> None:
    loopback.push(json_reply(TEXT_BODY), TEXT_STREAM)
    hooked: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(request)

    async with httpx.AsyncClient(headers={"x-injected": "async"}, event_hooks={"request": [hook]}) as client:
        provider = make_provider(loopback, "groq", async_http_client=client)
        assert (await provider.achat([USER])).text == ANSWER
        assert end_of([e async for e in provider.astream([USER])]).text == ANSWER
        await provider.aclose()
        assert not client.is_closed
    assert [r.headers["x-injected"] for r in loopback.requests] == ["async", "async"]
    assert len(hooked) == 2


# --- secrets never leak --------------------------------------------------------------------------------------------


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in ("allos", "httpx"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_no_secret(secrets: Sequence[str], err: BaseException, provider: Provider, logs: Any) -> None:
    seen: list[tuple[str, str]] = [
        ("str", str(err)),
        ("repr", repr(err)),
        ("args", repr(err.args)),
        ("provider", repr(provider)),
        ("transport", repr(provider._transport)),
        ("logs", logs.text),
        ("log args", repr([r.args for r in logs.records])),
    ]
    for attribute in ("body", "message", "hint"):
        seen.append((attribute, str(getattr(err, attribute, ""))))
    partial = getattr(err, "partial", None)
    if partial is not None:
        seen.append(("partial", partial.model_dump_json()))
    cause = err.__cause__
    if cause is not None:
        seen += [("cause", str(cause)), ("cause repr", repr(cause)), ("cause body", str(getattr(cause, "body", "")))]
    for secret in secrets:
        leaks = [where for where, text in seen if secret in text]
        assert not leaks, f"the secret leaked into {leaks}"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_error_echoing_key_is_scrubbed(mode: str, loopback: LoopbackServer, logs: Any) -> None:
    key = key_for("groq")
    body = {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}}
    loopback.push(json_reply(body, status=401, headers={"x-echo-key": key, "x-request-id": "req_leak"}))
    async with opened(make_provider(loopback, "groq")) as provider:
        with pytest.raises(errors.AuthenticationError) as caught:
            await run(provider, mode, [USER])
        assert_no_secret([key], caught.value, provider, logs)
    assert loopback.requests[0].headers["authorization"] == f"Bearer {key}"  # the server really had it to echo
    assert caught.value.message == "Incorrect API key provided: [REDACTED]"
    assert "[REDACTED]" in (caught.value.body or "")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_mid_stream_error_echoing_key_is_scrubbed(
    mode: str, loopback: LoopbackServer, logs: Any
) -> None:
    key = key_for("openrouter")
    payload = {"error": {"code": 401, "message": f"key {key} was revoked"}}
    loopback.push(sse_reply([chunk("chatcmpl-k", {"content": "Hi"}), payload], done=False, headers={"x-echo": key}))
    async with opened(make_provider(loopback, "openrouter")) as provider:
        with pytest.raises(errors.AuthenticationError) as caught:
            await collect_until_error(provider, mode, [USER], [])
        assert_no_secret([key], caught.value, provider, logs)
    assert caught.value.message == "key [REDACTED] was revoked"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_cut_stream_echoing_key_is_scrubbed(mode: str, loopback: LoopbackServer, logs: Any) -> None:
    key = key_for("groq")
    pieces = [chunk("chatcmpl-k", {"content": "your key is "}), chunk("chatcmpl-k", {"content": key})]
    loopback.push(sse_reply([*pieces, chunk("chatcmpl-k", {}, "stop")], cut_after=2, headers={"x-echo": key}))
    async with opened(make_provider(loopback, "groq")) as provider:
        with pytest.raises(errors.IncompleteStreamError) as caught:
            await collect_until_error(provider, mode, [USER], [])
        assert_no_secret([key], caught.value, provider, logs)
    assert caught.value.partial is not None
    assert caught.value.partial.text == "your key is [REDACTED]"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_provider_portkey_provider_key_is_scrubbed(
    mode: str, loopback: LoopbackServer, logs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = "sk-upstream-secret-2468013579"
    monkeypatch.setenv("PORTKEY_PROVIDER_API_KEY", upstream)
    monkeypatch.setenv("PORTKEY_PROVIDER", "openai")
    key = key_for("portkey")
    body = {"error": {"message": f"upstream rejected Bearer {upstream} (gateway key {key})"}}
    loopback.push(json_reply(body, status=403, headers={"x-echo": f"{key} {upstream}"}))
    async with opened(make_provider(loopback, "portkey")) as provider:
        with pytest.raises(errors.PermissionDeniedError) as caught:
            await run(provider, mode, [USER])
        assert_no_secret([key, upstream], caught.value, provider, logs)
    headers = loopback.requests[0].headers
    assert (headers["x-portkey-api-key"], headers["authorization"]) == (key, f"Bearer {upstream}")
    assert headers["x-portkey-provider"] == "openai"
    assert caught.value.message == "upstream rejected [REDACTED] (gateway key [REDACTED])"  # "Bearer <key>" as a whole


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_stream_error_carries_the_responses_request_id(mode: str, loopback: LoopbackServer) -> None:
    payload = {"error": {"message": "Upstream overloaded", "type": "server_error"}}
    loopback.push(sse_reply([payload], done=False, headers={"x-request-id": "req_stream_7"}))
    async with opened(make_provider(loopback, "together")) as provider:
        with pytest.raises(errors.ServerError) as caught:
            await run(provider, mode, [USER])
    assert caught.value.request_id == "req_stream_7"
    assert "request_id=req_stream_7" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_provider_stream_answered_whole_as_json_still_streams_events(mode: str, loopback: LoopbackServer) -> None:
    """Some OpenAI-compatible servers ignore `stream` and send one JSON answer: the events are derived from it."""
    body = {
        "id": "chatcmpl-w",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Looking it up.",
                    "tool_calls": [
                        {
                            "id": "call_w",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }
    loopback.push(json_reply(body))
    async with opened(make_provider(loopback, "vllm")) as provider:
        events = await run(provider, mode, [USER])
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == end.response.text == "Looking it up."
    done = [e.tool_call for e in events if isinstance(e, ToolCallDone)]
    assert done == list(end.response.tool_calls) and done[0].arguments == {"city": "Paris"}
    assert end.response.finish_reason == "tool_calls" and end.response.usage.output_tokens == 7
