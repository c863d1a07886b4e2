"""Deterministic inputs, built in memory: the small per-call request, a long SSE stream, a large conversation.

No randomness anywhere: every run (and every machine) measures the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

from allos import Message, ToolCall, ToolSpec

__all__ = [
    "WEATHER_TOOL",
    "big_completion_body",
    "big_conversation",
    "big_tools",
    "rechunk",
    "small_messages",
    "sse_stream",
    "weather_tool_dict",
]

WEATHER_TOOL = ToolSpec(
    name="get_weather",
    description="Current weather and a forecast for a city.",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)


def weather_tool_dict() -> dict[str, Any]:
    """`WEATHER_TOOL` as the openai SDK takes it."""
    return {
        "type": "function",
        "function": {
            "name": WEATHER_TOOL.name,
            "description": WEATHER_TOOL.description,
            "parameters": WEATHER_TOOL.parameters,
        },
    }


def small_messages() -> list[Message]:
    """The per-call benchmark's conversation: what a typical single tool-using turn sends."""
    return [
        Message(role="system", content="You are a concise assistant. Use tools when they help."),
        Message(role="user", content="What is the weather in Paris for the next three days, in celsius?"),
    ]


# --- a long stream ---------------------------------------------------------------------------------------------------

_WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "é", "naïve", "café", "日本", "🙂")


def _chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench-stream",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def _argument_fragments(call: int, fragments: int) -> list[str]:
    """A JSON object's text, cut into `fragments` pieces the way models emit it (a few characters at a time)."""
    items = {f"field_{i}": f"value {call}-{i} {_WORDS[i % len(_WORDS)]}" for i in range(max(1, fragments // 6))}
    text = json.dumps(items, ensure_ascii=False)
    size = max(1, -(-len(text) // fragments))
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse_stream(text_chunks: int, tool_calls: int, fragments_per_call: int) -> tuple[list[bytes], int]:
    """A Chat Completions SSE stream, one bytes object per event (as a token-by-token server sends it), and the
    number of `data:` events in it (including `[DONE]`).

    Text deltas first, then `tool_calls` calls streamed as indexed fragments (id and name on the first one), a
    finish chunk, a usage-only chunk (`choices: []`) and `[DONE]`.
    """
    chunks: list[dict[str, Any]] = [_chunk({"role": "assistant", "content": ""})]
    for i in range(text_chunks):
        chunks.append(_chunk({"content": f"{_WORDS[i % len(_WORDS)]} "}))
    for call in range(tool_calls):
        for position, piece in enumerate(_argument_fragments(call, fragments_per_call)):
            fragment: dict[str, Any] = {"index": call, "function": {"arguments": piece}}
            if position == 0:
                fragment = {
                    "index": call,
                    "id": f"call_{call:04d}",
                    "type": "function",
                    "function": {"name": f"tool_{call}", "arguments": piece},
                }
            chunks.append(_chunk({"tool_calls": [fragment]}))
    chunks.append(_chunk({}, finish="tool_calls" if tool_calls else "stop"))
    usage = {"prompt_tokens": 1200, "completion_tokens": text_chunks + 40, "total_tokens": text_chunks + 1240}
    chunks.append({**_chunk({}), "choices": [], "usage": usage})
    events = [f"data: {json.dumps(c, ensure_ascii=False, separators=(',', ':'))}\n\n".encode() for c in chunks]
    events.append(b"data: [DONE]\n\n")
    return events, len(events)


def rechunk(events: list[bytes], size: int) -> list[bytes]:
    """The same stream cut into reads of `size` bytes, as a fast server's bytes arrive in bulk."""
    data = b"".join(events)
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- a large conversation ---------------------------------------------------------------------------------------------


def big_tools(count: int) -> list[ToolSpec]:
    """`count` tools with nested JSON Schemas (objects, arrays, enums)."""
    return [
        ToolSpec(
            name=f"tool_{i}",
            description=f"Tool number {i}: does something useful with its nested arguments.",
            parameters={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "mode": {"type": "string", "enum": ["fast", "thorough", "exhaustive"]},
                    "filters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "value": {"type": "string"}},
                            "required": ["field", "value"],
                        },
                    },
                },
                "required": ["query"],
            },
        )
        for i in range(count)
    ]


def big_conversation(turns: int) -> list[Message]:
    """A system prompt then `turns` agent turns of four messages each: user, assistant tool call, tool result,
    assistant answer."""
    messages = [Message(role="system", content="You are an agent. Use tools. " * 20)]
    for turn in range(turns):
        call = ToolCall(id=f"call_{turn:05d}", name=f"tool_{turn % 7}", arguments={"query": f"q{turn}", "limit": 5})
        messages += [
            Message(role="user", content=f"Question {turn}: {' '.join(_WORDS)} " * 3),
            Message(role="assistant", content=None, tool_calls=(call,)),
            Message(role="tool", tool_call_id=call.id, content=json.dumps({"results": [turn, turn + 1], "ok": True})),
            Message(role="assistant", content=f"Answer {turn}: " + "lorem ipsum dolor sit amet " * 8),
        ]
    return messages


def big_completion_body(tool_calls: int, text_words: int) -> dict[str, Any]:
    """A large `chat.completion`: long text and many parallel tool calls."""
    calls = [
        {
            "id": f"call_{i:04d}",
            "type": "function",
            "function": {"name": f"tool_{i}", "arguments": json.dumps({"query": f"q{i}", "limit": i, "mode": "fast"})},
        }
        for i in range(tool_calls)
    ]
    return {
        "id": "chatcmpl-bench-big",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": " ".join(_WORDS[i % len(_WORDS)] for i in range(text_words)),
                    "refusal": None,
                    "tool_calls": calls,
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 50_000, "completion_tokens": 2_000, "total_tokens": 52_000},
    }
