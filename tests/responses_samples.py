"""OpenAI Responses wire samples for the tests: response bodies, the SSE streams a server sends for them, and the
official SDK as the oracle that every sample (and every body Allos builds) is checked against.

The samples are written from the protocol's documentation and the SDK's types, never from
`allos.protocols.responses`, so the tests compare Allos with the contract rather than with itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from openai.types.responses import Response, ResponseStreamEvent
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)
from pydantic import TypeAdapter

__all__ = [
    "check_event",
    "check_request",
    "check_response",
    "function_call_item",
    "message_item",
    "reasoning_item",
    "response_body",
    "sse_bytes",
    "stream_events",
    "usage",
]

_REQUEST = TypeAdapter(ResponseCreateParamsNonStreaming)
_STREAMING_REQUEST = TypeAdapter(ResponseCreateParamsStreaming)
_EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


# --- the SDK as oracle ------------------------------------------------------------------------------------------------


def _materialize(value: Any) -> Any:
    """Validated TypedDicts hold lazy iterators for `Iterable[...]` fields: walking them runs their validation."""
    if isinstance(value, Mapping):
        return {key: _materialize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "__next__"):
        return [_materialize(item) for item in value]
    return value


def check_request(body: Mapping[str, Any]) -> None:
    """`body` is a valid `responses.create` body per the SDK's request TypedDict, and has no key the type lacks
    (pydantic drops unknown TypedDict keys silently, so the round trip must give the body back unchanged)."""
    adapter = _STREAMING_REQUEST if body.get("stream") else _REQUEST
    validated = _materialize(adapter.validate_python(body))
    assert validated == _materialize(body), "the SDK's request type dropped or changed a field"


def check_response(body: Mapping[str, Any]) -> None:
    """`body` is a valid `Response` per the SDK."""
    Response.model_validate(body)


def check_event(event: Mapping[str, Any]) -> None:
    """`event` is a valid stream event per the SDK's `ResponseStreamEvent` union."""
    _EVENT.validate_python(event)


# --- output items and bodies ------------------------------------------------------------------------------------------


def message_item(text: str = "", *, refusal: str | None = None, item_id: str = "msg_1") -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text or refusal is None:
        content.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal is not None:
        content.append({"type": "refusal", "refusal": refusal})
    return {"id": item_id, "type": "message", "role": "assistant", "status": "completed", "content": content}


def function_call_item(call_id: str, name: str, arguments: str, *, item_id: str = "fc_1") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def reasoning_item(*summaries: str, item_id: str = "rs_1") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text} for text in summaries],
    }


def usage(
    input_tokens: int = 12, output_tokens: int = 5, *, cached: int = 0, cache_write: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": cache_write},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output_tokens,
    }


def response_body(
    output: Sequence[Mapping[str, Any]] = (),
    *,
    status: str = "completed",
    incomplete_reason: str | None = None,
    error: Mapping[str, Any] | None = None,
    usage_: Mapping[str, Any] | None = None,
    response_id: str = "resp_1",
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    """A whole `response` object as OpenAI sends it [OAS `Response`]."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": dict(error) if error is not None else None,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": [dict(item) for item in output],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": dict(usage_) if usage_ is not None else usage(),
        "user": None,
        "metadata": {},
    }


# --- streams ----------------------------------------------------------------------------------------------------------


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _item_events(index: int, item: Mapping[str, Any], size: int) -> Iterator[dict[str, Any]]:
    """The events that stream one output item, from `output_item.added` to `output_item.done`."""
    kind = item["type"]
    if kind == "message":
        yield {"type": "response.output_item.added", "output_index": index, "item": {**item, "content": []}}
        for part_index, part in enumerate(item["content"]):
            base = {"item_id": item["id"], "output_index": index, "content_index": part_index}
            empty = {**part, "text": ""} if part["type"] == "output_text" else {**part, "refusal": ""}
            yield {"type": "response.content_part.added", **base, "part": empty}
            if part["type"] == "output_text":
                for piece in _pieces(part["text"], size):
                    yield {"type": "response.output_text.delta", **base, "delta": piece, "logprobs": []}
                yield {"type": "response.output_text.done", **base, "text": part["text"], "logprobs": []}
            else:
                for piece in _pieces(part["refusal"], size):
                    yield {"type": "response.refusal.delta", **base, "delta": piece}
                yield {"type": "response.refusal.done", **base, "refusal": part["refusal"]}
            yield {"type": "response.content_part.done", **base, "part": part}
    elif kind == "function_call":
        yield {"type": "response.output_item.added", "output_index": index, "item": {**item, "arguments": ""}}
        base = {"item_id": item["id"], "output_index": index}
        for piece in _pieces(item["arguments"], size):
            yield {"type": "response.function_call_arguments.delta", **base, "delta": piece}
        yield {"type": "response.function_call_arguments.done", **base, "arguments": item["arguments"]}
    elif kind == "reasoning":
        yield {"type": "response.output_item.added", "output_index": index, "item": {**item, "summary": []}}
        for summary_index, summary in enumerate(item["summary"]):
            base = {"item_id": item["id"], "output_index": index, "summary_index": summary_index}
            yield {"type": "response.reasoning_summary_part.added", **base, "part": {**summary, "text": ""}}
            for piece in _pieces(summary["text"], size):
                yield {"type": "response.reasoning_summary_text.delta", **base, "delta": piece}
            yield {"type": "response.reasoning_summary_text.done", **base, "text": summary["text"]}
            yield {"type": "response.reasoning_summary_part.done", **base, "part": summary}
    yield {"type": "response.output_item.done", "output_index": index, "item": dict(item)}


def stream_events(body: Mapping[str, Any], *, size: int = 3) -> list[dict[str, Any]]:
    """The events a server streams for `body`: created, in_progress, each item's events (text in pieces of `size`
    characters), then the terminal event that carries `body` whole [OAS `ResponseStreamEvent`]."""
    start = {**body, "status": "in_progress", "output": [], "usage": None, "error": None, "incomplete_details": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(body["output"]):
        events.extend(_item_events(index, item, size))
    terminal = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}
    events.append({"type": terminal[body["status"]], "response": dict(body)})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def sse_bytes(events: Sequence[Mapping[str, Any]]) -> bytes:
    """Named SSE framing, as OpenAI sends it: `event: <type>` then `data: <json>` then a blank line."""
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode() for event in events
    )
