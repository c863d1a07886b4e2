"""The provider layer against llama.cpp's real server, on its three protocols and in all four modes.

Chat Completions at `/v1/chat/completions`, Anthropic Messages at `/v1/messages`, OpenAI Responses at `/v1/responses`
(https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md). The model answers `Hi` to anything."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from provider_modes import opened, run

from allos import errors
from allos.capabilities import Capability
from allos.providers import get_provider
from allos.providers.registry import ProviderSpec, list_providers
from allos.types import Message, ResponseFormat, StreamEnd, ToolSpec
from conformance import llamacpp

pytestmark = [pytest.mark.network, pytest.mark.anyio]

MODES = ("chat", "achat", "stream", "astream")
QUESTION = [Message(role="user", content="hello")]
WEATHER = ToolSpec(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
#: alias -> how its base URL is written: Anthropic's has no /v1, the other two do.
ALIASES = {"chat_completions": "/v1", "anthropic": "", "openai": "/v1"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _provider(alias: str, server: llamacpp.Server) -> Any:
    return get_provider(alias, base_url=server.base_url + ALIASES[alias], api_key="not-checked", model="tiny")


def _end(events: list[Any]) -> Any:
    assert isinstance(events[-1], StreamEnd), events
    return events[-1].response


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", ALIASES)
async def test_plain_answer(alias: str, mode: str, llama_server: llamacpp.Server) -> None:
    async with opened(_provider(alias, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, max_tokens=100))
    assert response.text == llamacpp.REPLY
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", ["chat_completions", "anthropic"])
async def test_max_tokens_gives_length(alias: str, mode: str, llama_server: llamacpp.Server) -> None:
    async with opened(_provider(alias, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, max_tokens=1))
    assert response.finish_reason == "length"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", ALIASES)
async def test_required_tool_choice_gives_a_call(alias: str, mode: str, llama_server: llamacpp.Server) -> None:
    async with opened(_provider(alias, llama_server)) as provider:
        events = await run(
            provider, mode, QUESTION, tools=[WEATHER], tool_choice="required", parallel_tool_calls=False, max_tokens=200
        )
    response = _end(events)
    calls = [(c.name, c.arguments) for c in response.tool_calls]
    if alias == "anthropic":
        # Measured: /v1/messages ignores disable_parallel_tool_use, and this model keeps calling until max_tokens (the
        # last call is then cut short).
        assert calls[0] == ("get_weather", {"city": "a"})
        assert {name for name, _ in calls} == {"get_weather"}
    else:
        assert calls == [("get_weather", {"city": "a"})]
        assert response.finish_reason == "tool_calls"


async def test_responses_rejects_a_max_tokens_below_16_before_sending(llama_server: llamacpp.Server) -> None:
    # Allos enforces OpenAI's documented minimum of 16 for max_output_tokens; llama.cpp itself accepts 1 (and then
    # answers status "completed", not "incomplete", so a cut-off answer does not read as a length finish).
    async with opened(_provider("openai", llama_server)) as provider:
        with pytest.raises(errors.InvalidRequestError, match="max_output_tokens"):
            provider.chat(QUESTION, max_tokens=1)


@pytest.mark.parametrize("mode", MODES)
async def test_json_schema(mode: str, llama_server: llamacpp.Server) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    fmt = ResponseFormat(type="json_schema", name="x", json_schema=schema)
    async with opened(_provider("chat_completions", llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, response_format=fmt))
    assert json.loads(response.text) == {"n": 1}


@pytest.mark.parametrize("mode", MODES)
async def test_stop_sequence(mode: str, llama_server: llamacpp.Server) -> None:
    async with opened(_provider("chat_completions", llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, stop=["i"]))
    assert response.text == llamacpp.REPLY[0]
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
async def test_a_bad_request_is_a_typed_error(mode: str, llama_server: llamacpp.Server) -> None:
    # A tool whose schema the server cannot turn into a grammar is refused with 400 invalid_request_error.
    bad = ToolSpec(name="bad", parameters={"type": "object", "properties": {"x": {"type": "nope"}}})
    async with opened(_provider("chat_completions", llama_server)) as provider:
        with pytest.raises(errors.AllosError) as caught:
            await run(provider, mode, QUESTION, tools=[bad], tool_choice="required")
    assert "400" in str(caught.value) or getattr(caught.value, "status_code", None) == 400


# --- the registry's own rows for this server -------------------------------------------------------------------------

LLAMACPP_DOCS = "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md"
#: Every registry row that reaches llama-server (the rows documented by its README), one per endpoint.
ROWS = [spec for spec in list_providers() if spec.docs_url == LLAMACPP_DOCS]


def _row(spec: ProviderSpec, server: llamacpp.Server) -> Any:
    """The row as shipped (no key, its own base path), pointed at this test's server port."""
    assert spec.base_url is not None
    return get_provider(spec.name, base_url=server.base_url + urlsplit(spec.base_url).path, model="tiny")


def _claiming(capability: Capability) -> list[str]:
    return [spec.name for spec in ROWS if capability in spec.capabilities]


def test_rows_reach_the_three_endpoints_locally_without_a_key() -> None:
    assert {spec.protocol for spec in ROWS} == {"chat_completions", "anthropic", "responses"}
    for spec in ROWS:
        assert spec.local and not spec.api_key_required
        assert spec.base_url is not None and urlsplit(spec.base_url).netloc == "127.0.0.1:8080"
        assert Capability.ERROR_MAPPING not in spec.capabilities  # no key to refuse, any model name


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", ROWS, ids=lambda spec: spec.name)
async def test_row_plain_answer_with_usage(spec: ProviderSpec, mode: str, llama_server: llamacpp.Server) -> None:
    async with opened(_row(spec, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, max_tokens=100))
    assert response.text == llamacpp.REPLY
    assert response.finish_reason == "stop"
    assert response.usage.output_tokens == len(llamacpp.REPLY) + 1  # one token per character, plus the end token


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", _claiming(Capability.MAX_TOKENS))
async def test_row_max_tokens_gives_length(alias: str, mode: str, llama_server: llamacpp.Server) -> None:
    spec = next(s for s in ROWS if s.name == alias)
    async with opened(_row(spec, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, max_tokens=16))
    assert response.finish_reason == "length"
    assert response.text == llamacpp.REPLY[:16]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", _claiming(Capability.STOP_SEQUENCES))
async def test_row_stop_sequence(alias: str, mode: str, llama_server: llamacpp.Server) -> None:
    spec = next(s for s in ROWS if s.name == alias)
    async with opened(_row(spec, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, stop=["i"]))
    assert (response.text, response.finish_reason) == (llamacpp.REPLY[0], "stop")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", sorted({s.name for s in ROWS} - set(_claiming(Capability.MAX_TOKENS))))
async def test_unclaimed_max_tokens_is_a_cut_reply_read_as_stop(
    alias: str, mode: str, llama_server: llamacpp.Server
) -> None:
    # Why llamacpp-responses leaves max_tokens unclaimed: the reply is cut, yet the server says "completed".
    spec = next(s for s in ROWS if s.name == alias)
    async with opened(_row(spec, llama_server)) as provider:
        response = _end(await run(provider, mode, QUESTION, max_tokens=16))
    assert response.text == llamacpp.REPLY[:16]
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", ROWS, ids=lambda spec: spec.name)
async def test_row_refuses_a_tool_choice_it_does_not_claim(
    spec: ProviderSpec, mode: str, llama_server: llamacpp.Server
) -> None:
    assert Capability.TOOL_CHOICE_REQUIRED not in spec.capabilities
    async with opened(_row(spec, llama_server)) as provider:
        with pytest.raises(errors.UnsupportedCapabilityError, match="tool_choice_required"):
            await run(provider, mode, QUESTION, tools=[WEATHER], tool_choice="required")


# --- keep-alive: the server closes the connection after every stream, without saying so -----------------------------


@pytest.mark.parametrize("spec", ROWS, ids=lambda spec: spec.name)
async def test_a_request_right_after_a_stream_never_meets_a_closed_connection(
    spec: ProviderSpec, llama_server: llamacpp.Server
) -> None:
    """Without retries, 40 stream-then-chat pairs on one client all succeed: the row asks for `Connection: close` on
    streams (closes_after_stream), so the chat after a stream opens a fresh connection. Without that, a chat sent
    while the server is closing the socket fails with "Server disconnected" (52 of 150 pairs, measured)."""
    assert spec.closes_after_stream
    provider = get_provider(
        spec.name, base_url=llama_server.base_url + urlsplit(spec.base_url or "").path, model="tiny", max_retries=0
    )
    failures: list[str] = []
    async with opened(provider):
        for _ in range(40):
            for mode in ("stream", "chat"):
                try:
                    _end(await run(provider, mode, QUESTION, max_tokens=100))
                except errors.APIConnectionError as exc:
                    failures.append(f"{mode}: {exc}")
    assert failures == []
