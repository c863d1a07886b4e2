"""The official SDKs as independent oracles of the simulators, and Allos against every Chat Completions simulator.

openai (every alias), groq and mistralai (their own aliases) must run a chat, a tool call and a stream, parse every
answer, and map every error to their own exception classes; raw bodies must validate against openai's response
models. Then Allos itself does a tool-call round trip, sync and streamed, against each simulator: adapters and
simulators are written independently, so agreement here means something.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import allos
from allos import errors
from allos.providers import get_spec
from conformance.simulators import Simulator
from conformance.simulators.chat_completions_aliases import CHAT_ALIASES

openai = pytest.importorskip("openai")
from openai.types.chat import ChatCompletion, ChatCompletionChunk  # noqa: E402

pytestmark = pytest.mark.network

KEY = "test-key-0123456789"
ROWS = {row.name: row for row in CHAT_ALIASES}
DEFAULT_MODELS = {
    "groq": "llama-3.3-70b-versatile",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "mistral": "mistral-small-latest",
    "deepseek": "deepseek-chat",
    "portkey": "gpt-4o-mini",
    "openrouter": "openai/gpt-4o-mini",
    "fireworks": "accounts/fireworks/models/llama-v3p3-70b-instruct",
    "xai": "grok-3-mini",
    "cerebras": "llama-3.3-70b",
    "perplexity": "sonar",
    "gemini": "gemini-2.5-flash",
    "openai-chat": "gpt-4o-mini",
}
# The rows that claim tool results (Perplexity takes no tools; llamacpp's tiny test model never calls one).
TOOL_ALIASES = sorted(a for a in ROWS if allos.Capability.TOOL_RESULT in get_spec(a).capabilities)
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}
ASK = "What is the weather in Paris? Use the get_weather tool."
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
# Documented departures from OpenAI's finish_reason enum, which openai's strict models reject.
FINISH_DEPARTURES = {"together": "eos", "xai": ""}


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    started = {name: Simulator(name).start() for name in ROWS}
    yield started
    with ThreadPoolExecutor() as pool:
        list(pool.map(Simulator.stop, started.values()))


def model(alias: str) -> str:
    return DEFAULT_MODELS.get(alias, "local-model")


def headers(alias: str) -> dict[str, str]:
    return {"x-portkey-provider": "openai", "x-portkey-api-key": KEY} if alias == "portkey" else {}


@pytest.fixture
def oai(sims: dict[str, Simulator], request: pytest.FixtureRequest) -> Iterator[Any]:
    import httpx2

    alias = request.param
    http = httpx2.Client(transport=httpx2.HTTPTransport(socket_options=NODELAY))
    client = openai.OpenAI(
        base_url=sims[alias].base_url, api_key=KEY, max_retries=0, default_headers=headers(alias), http_client=http
    )
    client.alias = alias
    yield client
    client.close()


def _strict(body: dict[str, Any], alias: str) -> dict[str, Any]:
    """The body with a documented finish-reason departure put back to OpenAI's enum, after checking it is there."""
    departure = FINISH_DEPARTURES.get(alias)
    for choice in body.get("choices", []):
        if departure is not None and choice.get("finish_reason") == departure:
            choice["finish_reason"] = "tool_calls" if alias == "xai" else "stop"
    return body


# --- openai against every alias -----------------------------------------------------------------------------------


@pytest.mark.parametrize("oai", sorted(ROWS), indirect=True)
def test_openai_sdk_chat_and_stream(oai: Any) -> None:
    alias = oai.alias
    raw = oai.chat.completions.with_raw_response.create(
        model=model(alias), messages=[{"role": "user", "content": "Grüße, 東京!"}]
    )
    ChatCompletion.model_validate(_strict(json.loads(raw.content), alias))
    completion = raw.parse()
    assert completion.choices[0].message.content == "You said: Grüße, 東京!"
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if alias != "mistral" else {}
    with oai.chat.completions.create(
        model=model(alias), messages=[{"role": "user", "content": "write a long story"}], stream=True, **options
    ) as stream:
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("You said: write a long story")
    for chunk in chunks:
        ChatCompletionChunk.model_validate(_strict(chunk.model_dump(), alias))


@pytest.mark.parametrize("oai", TOOL_ALIASES, indirect=True)
def test_openai_sdk_tool_call_round_trip_and_streamed_tool_call(oai: Any) -> None:
    alias = oai.alias
    messages: list[dict[str, Any]] = [{"role": "user", "content": ASK}]
    raw = oai.chat.completions.with_raw_response.create(model=model(alias), messages=messages, tools=[WEATHER])
    ChatCompletion.model_validate(_strict(json.loads(raw.content), alias))
    message = raw.parse().choices[0].message
    call = message.tool_calls[0]
    assert json.loads(call.function.arguments)["city"] == "Paris"
    assistant = message.model_dump(exclude_none=True, exclude={"refusal", "annotations"})
    if ROWS[alias].tool_call_content is not None:
        assistant["content"] = ROWS[alias].tool_call_content
    messages += [assistant, {"role": "tool", "tool_call_id": call.id, "content": "18 degrees"}]
    answer = oai.chat.completions.create(model=model(alias), messages=messages, tools=[WEATHER])
    assert "18 degrees" in answer.choices[0].message.content
    with oai.chat.completions.create(
        model=model(alias), messages=[{"role": "user", "content": ASK}], tools=[WEATHER], stream=True
    ) as stream:
        fragments = [tc for c in stream if c.choices for tc in c.choices[0].delta.tool_calls or []]
    arguments = "".join(f.function.arguments or "" for f in fragments if f.function)
    assert json.loads(arguments)["city"] == "Paris"
    assert fragments[0].function.name == "get_weather"


ERROR_CASES = [
    ("openai-chat", {"api_key": "invalid-key-123"}, "AuthenticationError"),
    ("groq", {"model": "nope"}, "NotFoundError"),
    ("mistral", {"model": "nope"}, "BadRequestError"),
    ("mistral", {"extra_body": {"stream_options": {"include_usage": True}}}, "UnprocessableEntityError"),
    ("gemini", {"api_key": "invalid-key-123"}, "BadRequestError"),  # Gemini answers a wrong key with 400
    ("openrouter", {"model": "nope"}, "BadRequestError"),
    ("xai", {"api_key": "invalid-key-123"}, "BadRequestError"),  # so does xAI
    ("cerebras", {"extra_body": {"presence_penalty": 0.5}}, "BadRequestError"),
    ("portkey", {"fault": "429"}, "RateLimitError"),
    ("deepseek", {"fault": "500"}, "InternalServerError"),
    ("fireworks", {"fault": "503"}, "InternalServerError"),
    ("perplexity", {"fault": "529"}, "InternalServerError"),
]


@pytest.mark.parametrize(("alias", "case", "exception"), ERROR_CASES, ids=[f"{a}-{e}" for a, _, e in ERROR_CASES])
def test_openai_sdk_maps_every_error(
    sims: dict[str, Simulator], alias: str, case: dict[str, Any], exception: str
) -> None:
    extra_headers = {**headers(alias), **({"x-sim-fault": case["fault"]} if "fault" in case else {})}
    with openai.OpenAI(base_url=sims[alias].base_url, api_key=case.get("api_key", KEY), max_retries=0) as client:
        with pytest.raises(getattr(openai, exception)) as caught:
            client.chat.completions.create(
                model=case.get("model", model(alias)),
                messages=[{"role": "user", "content": "hi"}],
                extra_headers=extra_headers,
                extra_body=case.get("extra_body"),
            )
    if case.get("fault") == "429":
        assert caught.value.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("fault", ["stream-error", "malformed", "cut"])
def test_openai_sdk_sees_broken_streams(sims: dict[str, Simulator], fault: str) -> None:
    expected = {"stream-error": openai.APIError, "malformed": json.JSONDecodeError, "cut": Exception}[fault]
    with openai.OpenAI(base_url=sims["openai-chat"].base_url, api_key=KEY, max_retries=0) as client:
        with pytest.raises(expected):
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "write a long story"}],
                stream=True,
                extra_headers={"x-sim-fault": fault},
            )
            with stream:
                list(stream)


# --- groq and mistralai against their own aliases -----------------------------------------------------------------


def test_groq_sdk_chat_tool_call_stream_and_errors(sims: dict[str, Simulator]) -> None:
    groq = pytest.importorskip("groq")
    with groq.Groq(base_url=sims["groq"].root_url, api_key=KEY, max_retries=0) as client:
        answer = client.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content == "You said: hi"
        called = client.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": ASK}], tools=[WEATHER]
        )
        assert called.choices[0].finish_reason == "tool_calls"
        assert json.loads(called.choices[0].message.tool_calls[0].function.arguments)["city"] == "Paris"
        chunks = list(
            client.chat.completions.create(
                model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )
        assert chunks[-1].x_groq.usage.completion_tokens == 3
        with pytest.raises(groq.BadRequestError):
            client.chat.completions.create(
                model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}], logprobs=True
            )
        with pytest.raises(groq.NotFoundError):
            client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    with groq.Groq(base_url=sims["groq"].root_url, api_key="invalid-key-123", max_retries=0) as client:
        with pytest.raises(groq.AuthenticationError):
            client.chat.completions.create(
                model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}]
            )


def test_mistralai_sdk_chat_tool_call_stream_and_errors(sims: dict[str, Simulator]) -> None:
    mistral_client = pytest.importorskip("mistralai.client")
    from mistralai.client import errors as mistral_errors

    with mistral_client.Mistral(api_key=KEY, server_url=sims["mistral"].root_url) as client:
        answer = client.chat.complete(model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "You said: hi"
        called = client.chat.complete(
            model="mistral-small-latest", messages=[{"role": "user", "content": ASK}], tools=[WEATHER]
        )
        call = called.choices[0].message.tool_calls[0]
        assert len(call.id) == 9 and call.id.isalnum()
        follow = client.chat.complete(
            model="mistral-small-latest",
            messages=[
                {"role": "user", "content": ASK},
                {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
                {"role": "tool", "tool_call_id": call.id, "name": "get_weather", "content": "18 degrees"},
            ],
            tools=[WEATHER],
        )
        assert "18 degrees" in follow.choices[0].message.content
        events = list(client.chat.stream(model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}]))
        assert "".join(e.data.choices[0].delta.content or "" for e in events) == "You said: hi"
        assert events[-1].data.usage.completion_tokens == 3
        with pytest.raises(mistral_errors.MistralError) as caught:
            client.chat.complete(model="nope", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 400
    with mistral_client.Mistral(api_key="invalid-key", server_url=sims["mistral"].root_url) as client:
        with pytest.raises(mistral_errors.MistralError) as caught:
            client.chat.complete(model="mistral-small-latest", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 401


# --- Allos against every Chat Completions simulator ---------------------------------------------------------------

TOOL = {"name": "get_weather", "description": "Current weather", "parameters": WEATHER["function"]["parameters"]}


@pytest.fixture
def allos_provider(sims: dict[str, Simulator], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    alias = request.param
    monkeypatch.setenv("PORTKEY_PROVIDER", "openai")  # Portkey needs a provider, virtual key or config to route
    options = {} if alias in DEFAULT_MODELS else {"model": "local-model"}
    http = httpx.Client(transport=httpx.HTTPTransport(socket_options=NODELAY))
    provider = allos.get_provider(
        alias, base_url=sims[alias].base_url, api_key=KEY, max_retries=0, http_client=http, **options
    )
    yield provider
    provider.close()
    http.close()


@pytest.mark.parametrize("allos_provider", TOOL_ALIASES, indirect=True)
def test_allos_tool_round_trip_sync_and_stream(allos_provider: Any) -> None:
    ask = [allos.Message(role="user", content=ASK)]
    first = allos_provider.chat(ask, tools=[TOOL])
    assert first.finish_reason == "tool_calls"
    call = first.tool_calls[0]
    assert call.name == "get_weather" and call.arguments["city"] == "Paris"
    history = [*ask, allos.Message(role="assistant", tool_calls=[call]), allos.Message(
        role="tool", tool_call_id=call.id, content="18 degrees"
    )]  # fmt: skip
    second = allos_provider.chat(history, tools=[TOOL])
    assert "18 degrees" in second.text and second.finish_reason == "stop"
    streamed = list(allos_provider.stream(ask, tools=[TOOL]))[-1].response
    assert streamed.tool_calls[0].arguments == call.arguments and streamed.finish_reason == "tool_calls"
    streamed_answer = list(allos_provider.stream(history, tools=[TOOL]))[-1].response
    assert streamed_answer.text == second.text and streamed_answer.usage.output_tokens > 0


@pytest.mark.parametrize("allos_provider", ["perplexity"], indirect=True)
def test_allos_plain_chat_where_tools_are_not_offered(allos_provider: Any) -> None:
    assert allos_provider.chat([{"role": "user", "content": "hi"}]).text == "You said: hi"
    assert list(allos_provider.stream([{"role": "user", "content": "hi"}]))[-1].response.text == "You said: hi"


@pytest.mark.parametrize("allos_provider", ["groq"], indirect=True)
def test_allos_handoff_ids_reach_mistral_in_its_format(sims: dict[str, Simulator], allos_provider: Any) -> None:
    """A conversation started on Groq (call_... ids) continues on Mistral, which refuses ids not 9 alphanumerics."""
    ask = [allos.Message(role="user", content=ASK)]
    call = allos_provider.chat(ask, tools=[TOOL]).tool_calls[0]
    assert call.id.startswith("call_")
    history = [*ask, allos.Message(role="assistant", tool_calls=[call]), allos.Message(
        role="tool", tool_call_id=call.id, content="18 degrees"
    )]  # fmt: skip
    with allos.get_provider("mistral", base_url=sims["mistral"].base_url, api_key=KEY, max_retries=0) as mistral:
        assert "18 degrees" in mistral.chat(history, tools=[TOOL]).text


@pytest.mark.parametrize(
    ("alias", "key", "error"),
    [
        ("groq", "invalid-key-123456", errors.AuthenticationError),
        ("mistral", "invalid-key-123456", errors.AuthenticationError),
        ("openrouter", "invalid-key-123456", errors.AuthenticationError),
    ],
)
def test_allos_maps_bad_keys(sims: dict[str, Simulator], alias: str, key: str, error: type[Exception]) -> None:
    with allos.get_provider(alias, base_url=sims[alias].base_url, api_key=key, max_retries=0) as provider:
        with pytest.raises(error):
            provider.chat([{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("alias", sorted(ROWS))
def test_simulator_serves_the_registry_base_path(alias: str) -> None:
    """The rows are written independently of the registry; their base URLs must still name the same endpoint."""
    spec = allos.providers.get_spec(alias)
    if spec.base_url is not None:
        assert ROWS[alias].base_url.rstrip("/") == spec.base_url.rstrip("/")
