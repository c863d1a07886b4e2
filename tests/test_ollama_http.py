"""OllamaProvider over real HTTP against the loopback server: chat, a tool round trip in every mode, every error shape
of the protocol, and model management (list, show, pull), sync and async.

What the wire must carry is written out here, not read from the protocol module, so a mapping that changes shows up
as a failing test. Every body the fake server sends validates against the official SDK's response models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pytest
from loopback import LoopbackServer, Reply, json_reply, unused_port
from ollama import _types as sdk
from provider_modes import opened, run
from test_ollama_protocol import assert_valid_body, assert_valid_chat_response

from allos import errors, get_provider
from allos.protocols.ollama import synthesize_call_id
from allos.providers import OllamaProvider
from allos.types import (
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

MODES = ("chat", "achat", "stream", "astream")
STREAM_MODES = ("stream", "astream")
CREATED = "2025-10-26T17:15:24.097767Z"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_provider(loopback: LoopbackServer, **kwargs: Any) -> OllamaProvider:
    kwargs.setdefault("max_retries", 0)
    provider = get_provider("ollama", base_url=loopback.url(), **kwargs)
    assert isinstance(provider, OllamaProvider)
    return provider


async def collect(provider: OllamaProvider, mode: str, messages: Sequence[Any], into: list[StreamEvent]) -> None:
    """Stream into `into`, so a test can see what arrived before an error."""
    if mode == "stream":
        for event in provider.stream(messages):
            into.append(event)
    else:
        async for event in provider.astream(messages):
            into.append(event)


def ndjson_reply(
    objects: Sequence[Mapping[str, Any]],
    *,
    cut_after: int | None = None,
    framing: Literal["chunked", "close"] = "chunked",
    size: int | None = None,
) -> Reply:
    """An NDJSON stream, one object per write, or cut into `size`-byte writes so lines break across reads."""
    data = [json.dumps(obj, ensure_ascii=False).encode() + b"\n" for obj in objects]
    if size is not None:
        joined = b"".join(data)
        data = [joined[i : i + size] for i in range(0, len(joined), size)]
    headers = {"content-type": "application/x-ndjson"}
    return Reply(headers=headers, chunks=data, framing=framing, cut_after=cut_after)


def message_obj(content: str = "", tool_calls: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = list(tool_calls)
    return message


def done(done_reason: str, prompt: int, completion: int, content: str = "", **extra: Any) -> dict[str, Any]:
    body = {
        "model": "llama3.2",
        "created_at": CREATED,
        "message": message_obj(content, extra.pop("tool_calls", ())),
        "done": True,
        "done_reason": done_reason,
        "total_duration": 4_883_583_458,
        "prompt_eval_count": prompt,
        "eval_count": completion,
    }
    assert_valid_chat_response(body)
    return body


def delta(content: str = "", tool_calls: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    obj = {"model": "llama3.2", "created_at": CREATED, "message": message_obj(content, tool_calls), "done": False}
    assert_valid_chat_response(obj)
    return obj


def answer_reply(mode: str, text: str, *, prompt: int = 30, completion: int = 6) -> Reply:
    if mode in STREAM_MODES:
        words = [text[: len(text) // 2], text[len(text) // 2 :]]
        return ndjson_reply([delta(w) for w in words] + [done("stop", prompt, completion)], size=5)
    return json_reply(done("stop", prompt, completion, text))


# --- chat ------------------------------------------------------------------------------------------------------------


def test_chat_sends_the_native_body(loopback: LoopbackServer) -> None:
    loopback.push(answer_reply("chat", "Hi there."))
    with make_provider(loopback) as provider:
        response = provider.chat(
            [Message(role="system", content="Be brief."), Message(role="user", content="Hi")],
            max_tokens=32,
            temperature=0.0,
            stop=["\n"],
            response_format={"type": "json_object"},
        )
    sent = loopback.requests[0]
    assert (sent.method, sent.path) == ("POST", "/api/chat")
    assert sent.json() == {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stream": False,
        "format": "json",
        "options": {"num_predict": 32, "temperature": 0.0, "stop": ["\n"]},
    }
    assert_valid_body(sent.json())
    assert sent.headers["accept"] == "application/json" and sent.headers["content-type"] == "application/json"
    assert "authorization" not in sent.headers  # a local server needs no key
    assert response.text == "Hi there." and response.finish_reason == "stop" and response.provider == "ollama"
    assert response.usage == Usage(input_tokens=30, output_tokens=6, total_tokens=36)


def test_optional_key_is_sent_as_bearer(loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-cloud-key-0123456789")
    loopback.push(answer_reply("chat", "ok"))
    with make_provider(loopback) as provider:
        provider.chat([{"role": "user", "content": "hi"}])
    assert loopback.requests[0].headers["authorization"] == "Bearer ollama-cloud-key-0123456789"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_stream_asks_for_ndjson_and_assembles(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(answer_reply(mode, "Ça va très bien 🌦️", prompt=9, completion=5))
    async with opened(make_provider(loopback)) as provider:
        events = await run(provider, mode, [{"role": "user", "content": "ça va?"}])
    sent = loopback.requests[0]
    assert sent.headers["accept"] == "application/x-ndjson" and sent.json()["stream"] is True
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Ça va très bien 🌦️"
    assert UsageUpdate(usage=Usage(input_tokens=9, output_tokens=5, total_tokens=14)) in events
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.text == "Ça va très bien 🌦️"


def test_request_that_ollama_cannot_express_is_refused_before_sending(loopback: LoopbackServer) -> None:
    tool = ToolSpec(name="get_weather")
    with make_provider(loopback) as provider:
        with pytest.raises(errors.UnsupportedCapabilityError) as info:
            provider.chat([{"role": "user", "content": "go"}], tools=[tool], tool_choice="required")
        assert info.value.capability == "tool_choice_required"
        with pytest.raises(errors.InvalidRequestError, match="base64"):
            provider.chat([{"role": "user", "content": [{"type": "image", "url": "https://example.com/a.png"}]}])
    assert loopback.requests == []


# --- a tool round trip -----------------------------------------------------------------------------------------------

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
WIRE_CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}  # no id: servers before ids
SYNTHESISED_ID = synthesize_call_id(0, "get_weather", {"city": "Paris"})


def tool_call_reply(mode: str) -> Reply:
    if mode in STREAM_MODES:
        return ndjson_reply([delta(tool_calls=[WIRE_CALL]), done("stop", 12, 7)], size=7)
    return json_reply(done("stop", 12, 7, tool_calls=[WIRE_CALL]))


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_tool_round_trip(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(tool_call_reply(mode), answer_reply(mode, "It is sunny in Paris."))
    user = Message(role="user", content="Weather in Paris?")
    async with opened(make_provider(loopback)) as provider:
        first = await run(provider, mode, [user], tools=[WEATHER])
        end = first[-1]
        assert isinstance(end, StreamEnd)
        call = ToolCall(id=SYNTHESISED_ID, name="get_weather", arguments={"city": "Paris"})
        assert end.response.tool_calls == (call,) and end.response.finish_reason == "tool_calls"
        if mode in STREAM_MODES:
            assert first[:2] == [
                ToolCallDelta(index=0, id=SYNTHESISED_ID, name="get_weather", arguments_delta='{"city":"Paris"}'),
                ToolCallDone(index=0, tool_call=call),
            ]
        result = Message(role="tool", tool_call_id=call.id, content="sunny, 21 C")
        second = await run(provider, mode, [user, end.response.message, result], tools=[WEATHER])

    final = second[-1]
    assert isinstance(final, StreamEnd) and final.response.text == "It is sunny in Paris."
    first_body, second_body = (r.json() for r in loopback.requests)
    assert first_body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": WEATHER.parameters,
            },
        }
    ]
    assert second_body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": SYNTHESISED_ID, "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "sunny, 21 C", "tool_name": "get_weather", "tool_call_id": SYNTHESISED_ID},
    ]
    for body in (first_body, second_body):
        assert_valid_body(body)
        assert body["stream"] is (mode in STREAM_MODES)


# --- errors ----------------------------------------------------------------------------------------------------------

ERROR_CASES = [
    pytest.param(404, 'model "qwen3" not found, try pulling it first', errors.NotFoundError, id="404-unknown-model"),
    pytest.param(400, "model is required", errors.BadRequestError, id="400"),
    pytest.param(401, "unauthorized", errors.AuthenticationError, id="401"),
    pytest.param(429, "too many requests", errors.RateLimitError, id="429"),
    pytest.param(500, "the model failed to generate a response", errors.ServerError, id="500"),
    pytest.param(502, "cloud model unreachable", errors.ServerError, id="502"),
]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "message", "cls"), ERROR_CASES)
async def test_error_bodies_map_to_typed_errors(
    loopback: LoopbackServer, mode: str, status: int, message: str, cls: type[errors.ProviderError]
) -> None:
    loopback.push(json_reply({"error": message}, status=status, headers={"retry-after": "2"}))
    async with opened(make_provider(loopback, model="qwen3")) as provider:
        with pytest.raises(cls) as info:
            await run(provider, mode, [{"role": "user", "content": "hi"}])
    error = info.value
    assert type(error) is cls and error.status_code == status and error.message == message
    assert error.provider == "ollama"
    if status == 404:
        assert error.hint == "pull it first: `allos pull qwen3` or `ollama pull qwen3`"
    if isinstance(error, errors.RateLimitError):
        assert error.retry_after == 2.0


def test_error_never_carries_the_key(loopback: LoopbackServer) -> None:
    key = "ollama-secret-key-0123456789"
    loopback.push(json_reply({"error": f"unauthorized: bad key {key}"}, status=401))
    with make_provider(loopback, api_key=key) as provider, pytest.raises(errors.AuthenticationError) as info:
        provider.chat([{"role": "user", "content": "hi"}])
    assert key not in str(info.value) and key not in (info.value.body or "")
    assert "OLLAMA_API_KEY" in str(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
async def test_error_line_after_200_raises_with_what_arrived(loopback: LoopbackServer, mode: str) -> None:
    lines = [delta("Yes"), delta("."), {"error": "an error was encountered while running the model"}]
    loopback.push(ndjson_reply(lines))
    events: list[StreamEvent] = []
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ServerError, match="while running the model") as info:
            await collect(provider, mode, [{"role": "user", "content": "hi"}], events)
    assert info.value.status_code is None
    assert events == [TextDelta(text="Yes"), TextDelta(text=".")]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_stream_cut_before_done_is_incomplete(
    loopback: LoopbackServer, mode: str, framing: Literal["chunked", "close"]
) -> None:
    loopback.push(ndjson_reply([delta("Hel"), delta("lo"), done("stop", 1, 2)], cut_after=2, framing=framing))
    events: list[StreamEvent] = []
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.IncompleteStreamError) as info:
            await collect(provider, mode, [{"role": "user", "content": "hi"}], events)
    assert info.value.partial is not None and info.value.partial.text == "Hello"
    assert events == [TextDelta(text="Hel"), TextDelta(text="lo")]


def test_answer_that_is_not_json(loopback: LoopbackServer) -> None:
    loopback.push(Reply(headers={"content-type": "text/html"}, body=b"<html>proxy</html>"))
    with make_provider(loopback) as provider, pytest.raises(errors.ResponseParseError, match="not JSON"):
        provider.chat([{"role": "user", "content": "hi"}])


def test_server_not_running() -> None:
    provider = get_provider("ollama", base_url=f"http://127.0.0.1:{unused_port()}", max_retries=0)
    assert isinstance(provider, OllamaProvider)
    with provider, pytest.raises(errors.APIConnectionError, match="could not reach"):
        provider.list_models()


# --- model management ------------------------------------------------------------------------------------------------

TAGS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            "size": 2019393189,
            "digest": "sha256:a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
        }
    ]
}
SHOW = {
    "modelfile": "FROM llama3.2",
    "parameters": 'stop "<|eot_id|>"',
    "template": "{{ .Prompt }}",
    "details": TAGS["models"][0]["details"],
    "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
    "capabilities": ["completion", "tools"],
    "modified_at": "2025-05-04T17:37:44.706015396-07:00",
}
PULL = [
    {"status": "pulling manifest"},
    {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dde5aa3fc5ff", "total": 2019377376, "completed": 0},
    {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dde5aa3fc5ff", "total": 2019377376, "completed": 2019377376},
    {"status": "verifying sha256 digest"},
    {"status": "writing manifest"},
    {"status": "success"},
]


def test_the_fake_server_speaks_what_the_sdk_reads() -> None:
    sdk.ListResponse.model_validate(TAGS)
    sdk.ShowResponse.model_validate(SHOW)
    for line in PULL:
        sdk.ProgressResponse.model_validate(line)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_list_models(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(json_reply(TAGS))
    async with opened(make_provider(loopback)) as provider:
        models = provider.list_models() if mode == "sync" else await provider.alist_models()
    sent = loopback.requests[0]
    assert (sent.method, sent.path, sent.body) == ("GET", "/api/tags", b"")
    (model,) = models
    assert model.name == "llama3.2:latest" and model.size == 2019393189
    assert model.details.parameter_size == "3.2B" and model.digest.startswith("sha256:a80c")


def test_list_models_retries_like_chat(loopback: LoopbackServer) -> None:
    loopback.push(json_reply({"error": "busy"}, status=503, headers={"retry-after-ms": "1"}), json_reply(TAGS))
    with make_provider(loopback, max_retries=1) as provider:
        assert [m.name for m in provider.list_models()] == ["llama3.2:latest"]
    assert [r.method for r in loopback.requests] == ["GET", "GET"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_show_model(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(json_reply(SHOW))
    async with opened(make_provider(loopback)) as provider:
        info = provider.show_model() if mode == "sync" else await provider.ashow_model()
    sent = loopback.requests[0]
    assert (sent.method, sent.path, sent.json()) == ("POST", "/api/show", {"model": "llama3.2"})
    assert info.name == "llama3.2" and info.capabilities == ("completion", "tools")
    assert info.model_info["llama.context_length"] == 131072


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_show_unknown_model_says_how_to_pull(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(json_reply({"error": "model 'nope' not found"}, status=404))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.NotFoundError) as info:
            _ = provider.show_model("nope") if mode == "sync" else await provider.ashow_model("nope")
    assert "allos pull nope" in str(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("which", ["tags", "show"])
async def test_model_listings_nested_past_the_bound_are_a_parse_error(
    loopback: LoopbackServer, mode: str, which: str
) -> None:
    """A listing nested 100,000 levels deep (a broken or hostile server) is a typed error, not a RecursionError."""
    deep = b'{"models": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    loopback.push(Reply(headers={"content-type": "application/json"}, body=deep))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ResponseParseError, match="is not JSON"):
            if which == "tags":
                _ = provider.list_models() if mode == "sync" else await provider.alist_models()
            else:
                _ = provider.show_model() if mode == "sync" else await provider.ashow_model()


async def pull(provider: OllamaProvider, mode: str, name: str) -> list[Any]:
    if mode == "sync":
        return list(provider.pull_model(name))
    return [progress async for progress in provider.apull_model(name)]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_pull_model_streams_progress(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(ndjson_reply(PULL, size=11))
    async with opened(make_provider(loopback)) as provider:
        progress = await pull(provider, mode, "llama3.2")
    sent = loopback.requests[0]
    assert (sent.path, sent.json()) == ("/api/pull", {"model": "llama3.2", "stream": True})
    assert sent.headers["accept"] == "application/x-ndjson"
    assert [p.status for p in progress] == [line["status"] for line in PULL]
    assert [p.fraction for p in progress[1:3]] == [0.0, 1.0]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_pull_model_error_line_raises(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(ndjson_reply([PULL[0], {"error": "pull model manifest: file does not exist"}]))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.NotFoundError, match="file does not exist") as info:
            await pull(provider, mode, "no-such-model")
    assert info.value.status_code is None


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_pull_model_cut_off_is_incomplete(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(ndjson_reply(PULL, cut_after=3))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.IncompleteStreamError):
            await pull(provider, mode, "llama3.2")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_pull_model_error_status(loopback: LoopbackServer, mode: str) -> None:
    loopback.push(json_reply({"error": "registry unreachable"}, status=500))
    async with opened(make_provider(loopback)) as provider:
        with pytest.raises(errors.ServerError, match="registry unreachable"):
            await pull(provider, mode, "llama3.2")
