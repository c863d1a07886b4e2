"""Per-call overhead of the Anthropic Messages path: Allos vs raw httpx vs the official anthropic SDK.

Same method as `overhead.run_sync`, against the same loopback server process, which answers `POST /v1/messages`
with a fixed `message` (one tool_use block plus usage). Contenders:

- `raw httpx`: `httpx.Client.post` of the exact JSON bytes Allos sends, then `json.loads`. The baseline.
- `allos chat()`: `get_provider("anthropic", ...).chat(messages, tools=[...])`, the whole path.
- `anthropic SDK`: `client.messages.create(...)` (`max_retries=0`), which builds and parses its own models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import httpx

from allos import get_provider
from benchmarks._fixtures import WEATHER_TOOL, small_messages
from benchmarks._server import LoopbackServer
from benchmarks._timing import interleave, stats

__all__ = ["run"]

MODEL = "claude-sonnet-4-6"
API_KEY = "sk-ant-bench-not-a-real-key"
BASELINE = "raw httpx"


def _check(name: str, result: Any) -> None:
    if isinstance(result, dict):
        seen = result["content"][0]["name"]
    elif hasattr(result, "tool_calls"):
        seen = result.tool_calls[0].name
    else:
        seen = result.content[0].name
    if seen != "get_weather":
        raise AssertionError(f"{name}: expected a get_weather tool call, got {seen!r}")


def run(*, rounds: int, warmup: int) -> dict[str, Any]:
    """Per-call latency of each contender on the Messages path, interleaved call by call."""
    with LoopbackServer() as server:
        root = server.base_url.removesuffix("/v1")
        url = f"{root}/v1/messages"
        messages = small_messages()
        with (
            httpx.Client() as raw,
            get_provider("anthropic", base_url=root, api_key=API_KEY, model=MODEL) as provider,
            anthropic.Anthropic(base_url=root, api_key=API_KEY, max_retries=0) as sdk,
        ):
            body = provider._prepare(messages, {"tools": [WEATHER_TOOL], "max_tokens": 1024}, stream=False)[0]
            headers = {"content-type": "application/json", "x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
            system = str(messages[0].content)
            chat = [{"role": "user", "content": str(messages[1].content)}]
            tool = {"name": WEATHER_TOOL.name, "description": WEATHER_TOOL.description,
                    "input_schema": WEATHER_TOOL.parameters}  # fmt: skip
            contenders: dict[str, Callable[[], Any]] = {
                BASELINE: lambda: json.loads(raw.post(url, content=body, headers=headers).content),
                "allos chat()": lambda: provider.chat(messages, tools=[WEATHER_TOOL], max_tokens=1024),
                "anthropic SDK": lambda: sdk.messages.create(
                    model=MODEL,
                    max_tokens=1024,
                    system=system,
                    messages=chat,
                    tools=[tool],  # type: ignore[list-item]
                ),
            }
            for name, call in contenders.items():
                _check(name, call())
            samples = interleave(contenders, rounds=rounds, warmup=warmup)
    out = {name: stats(values) for name, values in samples.items()}
    base = out[BASELINE]["median_us"]
    for row in out.values():
        row["ratio_vs_raw_httpx"] = row["median_us"] / base
    return {"unit": "microseconds per call", "rounds": rounds, "results": out}
