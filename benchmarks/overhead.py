"""Per-call overhead against a loopback server that answers at once: Allos vs raw httpx vs the openai SDK.

All clients talk to the same server process (`benchmarks._server`) and parse the same fixed answer (one tool call
plus usage). Contenders:

- `raw httpx`: `httpx.Client.post(url_string, ...)` of the exact JSON bytes Allos sends, then `json.loads` of the
  body: no validation, no canonical objects. The baseline of the ratios.
- `raw httpx, URL parsed once`: the same with an `httpx.URL` built once instead of a string. httpx re-parses a string
  URL on every request (~25 us here); Allos' transport parses each URL once, so this row is the true floor and
  shows how much of Allos' own cost that saving hides.
- `allos chat()`: `provider.chat(messages, tools=[...])` with `Message` / `ToolSpec` objects, the whole path:
  request validation, capability check, `build_request`, JSON encoding, transport, `parse_response`.
- `allos chat() (dicts)`: the same with plain dicts for messages and tools, validated into the canonical model.
- `openai SDK`: `client.chat.completions.create(...)` (`max_retries=0`), which builds and parses its own models.

The sync figures are per call (interleaved, see `_timing`); the async figure is the throughput of batches of
`concurrency` concurrent calls on one event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai

from allos import get_provider
from benchmarks._fixtures import WEATHER_TOOL, small_messages, weather_tool_dict
from benchmarks._server import LoopbackServer
from benchmarks._timing import interleave, interleave_async, stats

__all__ = ["run_async", "run_sync"]

MODEL = "gpt-4o-mini"
API_KEY = "sk-bench-not-a-real-key"
BASELINE = "raw httpx"
RAW_PARSED_URL = "raw httpx, URL parsed once"


def _message_dicts() -> Any:  # Any: the SDK wants its TypedDicts
    return [{"role": m.role, "content": m.content} for m in small_messages()]


def _sdk_tools() -> Any:
    return [weather_tool_dict()]


def _request_bytes(base_url: str) -> bytes:
    """The exact body Allos sends, so raw httpx posts the same bytes."""
    provider = get_provider("chat_completions", base_url=base_url, api_key=API_KEY, model=MODEL)
    return provider._prepare(small_messages(), {"tools": [WEATHER_TOOL]}, stream=False)[0]


def _check(name: str, result: Any) -> None:
    """Every contender must really have parsed the tool call; a benchmark of a broken call measures nothing."""
    if isinstance(result, dict):
        name_seen = result["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
    elif hasattr(result, "tool_calls") and not hasattr(result, "choices"):
        name_seen = result.tool_calls[0].name
    else:
        name_seen = result.choices[0].message.tool_calls[0].function.name
    if name_seen != "get_weather":
        raise AssertionError(f"{name}: expected a get_weather tool call, got {name_seen!r}")


def _with_ratios(samples: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    out = {name: stats(values) for name, values in samples.items()}
    base = out[BASELINE]["median_us"]
    for row in out.values():
        row["ratio_vs_raw_httpx"] = row["median_us"] / base
    return out


def run_sync(*, rounds: int, warmup: int) -> dict[str, Any]:
    """Per-call latency of each contender, interleaved call by call."""
    with LoopbackServer() as server:
        url = f"{server.base_url}/chat/completions"
        parsed_url = httpx.URL(url)
        body = _request_bytes(server.base_url)
        headers = {"content-type": "application/json", "authorization": f"Bearer {API_KEY}"}
        messages, dict_messages = small_messages(), _message_dicts()
        tools, dict_tools = [WEATHER_TOOL], _sdk_tools()
        spec_dicts = [WEATHER_TOOL.model_dump(exclude_none=True)]
        with (
            httpx.Client() as raw,
            get_provider("chat_completions", base_url=server.base_url, api_key=API_KEY, model=MODEL) as provider,
            openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk,
        ):
            contenders: dict[str, Callable[[], Any]] = {
                BASELINE: lambda: json.loads(raw.post(url, content=body, headers=headers).content),
                RAW_PARSED_URL: lambda: json.loads(raw.post(parsed_url, content=body, headers=headers).content),
                "allos chat()": lambda: provider.chat(messages, tools=tools),
                "allos chat() (dicts)": lambda: provider.chat(dict_messages, tools=spec_dicts),
                "openai SDK": lambda: sdk.chat.completions.create(
                    model=MODEL, messages=dict_messages, tools=dict_tools
                ),
            }
            for name, call in contenders.items():
                _check(name, call())
            samples = interleave(contenders, rounds=rounds, warmup=warmup)
    return {"unit": "microseconds per call", "rounds": rounds, "results": _with_ratios(samples)}


async def _batch(call: Callable[[], Awaitable[Any]], concurrency: int) -> None:
    await asyncio.gather(*(call() for _ in range(concurrency)))


async def _run_async(base_url: str, concurrency: int, rounds: int, warmup: int) -> dict[str, list[int]]:
    url = f"{base_url}/chat/completions"
    body = _request_bytes(base_url)
    headers = {"content-type": "application/json", "authorization": f"Bearer {API_KEY}"}
    messages, dict_messages, tools, sdk_tools = small_messages(), _message_dicts(), [WEATHER_TOOL], _sdk_tools()
    async with (
        httpx.AsyncClient() as raw,
        get_provider("chat_completions", base_url=base_url, api_key=API_KEY, model=MODEL) as provider,
        openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as sdk,
    ):

        async def raw_call() -> Any:
            return json.loads((await raw.post(url, content=body, headers=headers)).content)

        async def allos_call() -> Any:
            return await provider.achat(messages, tools=tools)

        async def sdk_call() -> Any:
            return await sdk.chat.completions.create(model=MODEL, messages=dict_messages, tools=sdk_tools)

        calls = {BASELINE: raw_call, "allos achat()": allos_call, "openai SDK (async)": sdk_call}
        for name, call in calls.items():
            _check(name, await call())
        batches = {name: (lambda c=call: _batch(c, concurrency)) for name, call in calls.items()}
        return await interleave_async(batches, rounds=rounds, warmup=warmup)


def run_async(*, concurrency: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Throughput of `concurrency` concurrent calls per batch, batches interleaved across contenders."""
    with LoopbackServer() as server:
        samples = asyncio.run(_run_async(server.base_url, concurrency, rounds, warmup))
    results = {}
    for name, values in samples.items():
        row = stats(values)
        row["calls_per_s"] = concurrency / (row["median_us"] / 1e6)
        results[name] = row
    base = results[BASELINE]["calls_per_s"]
    for row in results.values():
        row["ratio_vs_raw_httpx"] = row["calls_per_s"] / base
    return {
        "unit": "microseconds per batch; calls_per_s",
        "concurrency": concurrency,
        "rounds": rounds,
        "results": results,
    }
