"""Translation: the pure protocol functions on a large conversation and a large answer, no network.

- `ChatRequest(...)`: validating the canonical request (messages given as `Message` objects, tools as `ToolSpec`).
- `build_request`: canonical request -> Chat Completions JSON body (a dict).
- `build_request + encode`: the same plus the JSON bytes a Provider sends (`Provider._encode`).
- `parse_response`: a `chat.completion` dict with long text and many parallel tool calls -> `ChatResponse`.

For scale, the openai SDK's own work on the same data: `maybe_transform(params, CompletionCreateParams)` plus
`json.dumps` for the request (what `chat.completions.create` does before sending), and `construct_type(ChatCompletion)`
for the answer (what it does after receiving, with default settings). The SDK takes the body already in wire
format, so its request side has no translation to do: these rows are a reference, not a like-for-like race.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from openai._models import construct_type
from openai._utils import maybe_transform
from openai.types.chat import ChatCompletion, completion_create_params

from allos import get_provider
from allos.protocols.chat_completions import build_request, parse_response
from allos.types import ChatRequest
from benchmarks._fixtures import big_completion_body, big_conversation, big_tools
from benchmarks._timing import interleave, stats

__all__ = ["run"]


def run(*, turns: int, tools: int, answer_tool_calls: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Microseconds per call of each translation step, interleaved."""
    messages = big_conversation(turns)
    specs = big_tools(tools)
    request = ChatRequest(model="gpt-4o-mini", messages=messages, tools=specs, max_tokens=1024, temperature=0.2)
    body = build_request(request)
    answer = big_completion_body(answer_tool_calls, text_words=2000)
    provider = get_provider("chat_completions", base_url="http://127.0.0.1:9/v1", model="gpt-4o-mini")
    sdk_params = {k: v for k, v in body.items() if k in ("model", "messages", "tools", "max_tokens", "temperature")}
    params_type = completion_create_params.CompletionCreateParamsNonStreaming
    contenders: dict[str, Callable[[], Any]] = {
        "allos ChatRequest(...)": lambda: ChatRequest(
            model="gpt-4o-mini", messages=messages, tools=specs, max_tokens=1024, temperature=0.2
        ),
        "allos build_request": lambda: build_request(request),
        "allos build_request + encode": lambda: provider._encode(build_request(request)),
        "allos parse_response": lambda: parse_response(answer),
        "openai SDK maybe_transform + json.dumps": lambda: json.dumps(maybe_transform(sdk_params, params_type)),
        "openai SDK construct_type(ChatCompletion)": lambda: construct_type(type_=ChatCompletion, value=answer),
    }
    if parse_response(answer).tool_calls[-1].name != f"tool_{answer_tool_calls - 1}":
        raise AssertionError("parse_response lost tool calls")
    samples = interleave(contenders, rounds=rounds, warmup=warmup)
    provider.close()
    return {
        "unit": "microseconds per call",
        "messages": len(messages),
        "tools": len(specs),
        "request_bytes": len(provider._encode(body)),
        "answer_tool_calls": answer_tool_calls,
        "answer_bytes": len(json.dumps(answer)),
        "rounds": rounds,
        "results": {name: stats(values) for name, values in samples.items()},
    }
