"""The provider layer against llama.cpp's real server, on its three protocols and in all four modes.

Chat Completions at `/v1/chat/completions`, Anthropic Messages at `/v1/messages`, OpenAI Responses at `/v1/responses`
(https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md). The model answers `Hi` to anything."""

from __future__ import annotations

import json
from typing import Any

import pytest
from provider_modes import opened, run

from allos import errors
from allos.providers import get_provider
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
