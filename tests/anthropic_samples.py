"""The official `anthropic` SDK as an independent oracle of the Messages contract, and sample wire data checked by it.

- `assert_valid_body(body)`: the SDK's request TypedDict (`MessageCreateParamsNonStreaming` / `...Streaming`) accepts
  the body. Pydantic validates `Iterable[...]` fields lazily, so the validated value is walked to the end; TypedDicts
  ignore unknown keys, so keys are also checked against the TypedDicts' own fields for the top level, the tools,
  `tool_choice`, `output_config` and every content block we send. The SDK 2.x types follow API version 2026-10-21,
  which dropped `temperature` / `top_p` / `top_k`; under the pinned 2023-06-01 those are valid [research section 3].
- `message_body(...)`: a `message` response body, validated by `anthropic.types.Message`.
- `stream_chunks(body)`: the SSE stream that streams `body` (message_start, blocks, message_delta, message_stop, with
  pings), every event validated by the SDK's `RawMessageStreamEvent`.
- `error_body(...)`: an error body, validated by `anthropic.types.shared.ErrorResponse` where the SDK types it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_type_hints

import pydantic
from anthropic.types import (
    ImageBlockParam,
    Message,
    RawMessageStreamEvent,
    TextBlockParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming, MessageCreateParamsStreaming
from anthropic.types.output_config_param import OutputConfigParam
from anthropic.types.shared import ErrorResponse
from anthropic.types.tool_choice_any_param import ToolChoiceAnyParam
from anthropic.types.tool_choice_auto_param import ToolChoiceAutoParam
from anthropic.types.tool_choice_none_param import ToolChoiceNoneParam
from anthropic.types.tool_choice_tool_param import ToolChoiceToolParam

__all__ = [
    "assert_valid_body",
    "error_body",
    "message_body",
    "sse_bytes",
    "stream_chunks",
]

_NON_STREAMING = pydantic.TypeAdapter(MessageCreateParamsNonStreaming)
_STREAMING = pydantic.TypeAdapter(MessageCreateParamsStreaming)
_EVENT = pydantic.TypeAdapter(RawMessageStreamEvent)
# Valid under anthropic-version 2023-06-01, gone from the 2026-10-21 types the SDK 2.x carries.
_LEGACY_TOP_LEVEL = {"temperature", "top_p", "top_k"}


def _fields(typed_dict: Any) -> set[str]:
    return set(get_type_hints(typed_dict))


_TOP_LEVEL = _fields(MessageCreateParamsStreaming) | _LEGACY_TOP_LEVEL
_BLOCK_FIELDS = {
    "text": _fields(TextBlockParam),
    "image": _fields(ImageBlockParam),
    "tool_use": _fields(ToolUseBlockParam),
    "tool_result": _fields(ToolResultBlockParam),
}
_CHOICE_FIELDS = {
    "auto": _fields(ToolChoiceAutoParam),
    "any": _fields(ToolChoiceAnyParam),
    "tool": _fields(ToolChoiceToolParam),
    "none": _fields(ToolChoiceNoneParam),
}


def _walk(value: Any) -> Any:
    """Materialise every lazily validated iterable, so that each item is validated."""
    if isinstance(value, Mapping):
        return {key: _walk(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) or isinstance(value, Iterator) or type(value).__name__ == "ValidatorIterator":
        return [_walk(item) for item in value]
    return value


def _check_keys(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    assert not unknown, f"{where}: fields the SDK does not know: {sorted(unknown)}"


def _check_block(where: str, block: Mapping[str, Any]) -> None:
    kind = block["type"]
    assert kind in _BLOCK_FIELDS, f"{where}: unexpected block type {kind!r}"
    _check_keys(where, block, _BLOCK_FIELDS[kind])
    if kind == "tool_result" and isinstance(block.get("content"), list):
        for position, inner in enumerate(block["content"]):
            _check_block(f"{where}.content.{position}", inner)


def assert_valid_body(body: Mapping[str, Any]) -> None:
    """The SDK's request type accepts `body`, and no field is one the SDK does not know."""
    adapter = _STREAMING if body.get("stream") else _NON_STREAMING
    typed = {key: value for key, value in body.items() if key not in _LEGACY_TOP_LEVEL}
    _walk(adapter.validate_python(typed))
    _check_keys("body", body, _TOP_LEVEL)
    for number, message in enumerate(body["messages"]):
        _check_keys(f"messages.{number}", message, {"role", "content"})
        if isinstance(message["content"], list):
            for position, block in enumerate(message["content"]):
                _check_block(f"messages.{number}.content.{position}", block)
    for number, tool in enumerate(body.get("tools", ())):
        _check_keys(f"tools.{number}", tool, _fields(ToolParam))
    if "tool_choice" in body:
        _check_keys("tool_choice", body["tool_choice"], _CHOICE_FIELDS[body["tool_choice"]["type"]])
    if "output_config" in body:
        _check_keys("output_config", body["output_config"], _fields(OutputConfigParam))


def message_body(
    content: Sequence[Mapping[str, Any]],
    *,
    stop_reason: str | None = "end_turn",
    usage: Mapping[str, Any] | None = None,
    model: str = "claude-sonnet-4-5",
    message_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL",
    **extra: Any,
) -> dict[str, Any]:
    """A `message` body, checked by the SDK's response model."""
    body: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [dict(block) for block in content],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": dict(usage or {"input_tokens": 12, "output_tokens": 6}),
        **extra,
    }
    Message.model_validate(body)
    return body


def _event(payload: dict[str, Any]) -> dict[str, Any]:
    if payload["type"] not in ("ping", "error"):  # the SDK handles these two apart from RawMessageStreamEvent
        _EVENT.validate_python(payload)
    return payload


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_events(body: Mapping[str, Any], *, piece: int = 3, pings: bool = True) -> list[dict[str, Any]]:
    """The events that stream `body`, the way the API sends them [docs.claude.com/en/api/messages-streaming]: the
    message with empty content and the input usage first, each block started empty and filled by deltas of `piece`
    characters, then the stop reason with the cumulative usage, then message_stop."""
    usage = dict(body["usage"])
    start_usage = {**usage, "output_tokens": 1}
    start = {**body, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    start.pop("stop_details", None)
    events = [_event({"type": "message_start", "message": start})]
    if pings:
        events.append({"type": "ping"})
    for index, block in enumerate(body["content"]):
        events.extend(_block_events(index, block, piece))
    delta: dict[str, Any] = {"stop_reason": body["stop_reason"], "stop_sequence": body.get("stop_sequence")}
    if body.get("stop_details") is not None:
        delta["stop_details"] = body["stop_details"]
    final_usage = {key: value for key, value in usage.items() if key != "input_tokens"} | {"input_tokens": None}
    events.append(_event({"type": "message_delta", "delta": delta, "usage": final_usage}))
    events.append(_event({"type": "message_stop"}))
    return events


def _block_events(index: int, block: Mapping[str, Any], piece: int) -> list[dict[str, Any]]:
    kind = block["type"]
    events = []
    if kind == "text":
        events.append(_event({"type": "content_block_start", "index": index, "content_block": {**block, "text": ""}}))
        for part in _pieces(block["text"], piece):
            delta = {"type": "text_delta", "text": part}
            events.append(_event({"type": "content_block_delta", "index": index, "delta": delta}))
    elif kind == "thinking":
        empty = {**block, "thinking": "", "signature": ""}
        events.append(_event({"type": "content_block_start", "index": index, "content_block": empty}))
        for part in _pieces(block["thinking"], piece):
            delta = {"type": "thinking_delta", "thinking": part}
            events.append(_event({"type": "content_block_delta", "index": index, "delta": delta}))
        signature = {"type": "signature_delta", "signature": block["signature"]}
        events.append(_event({"type": "content_block_delta", "index": index, "delta": signature}))
    elif kind == "tool_use":
        events.append(_event({"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}))
        arguments = json.dumps(block["input"], ensure_ascii=False) if block["input"] else ""
        for part in _pieces(arguments, piece) if arguments else []:
            delta = {"type": "input_json_delta", "partial_json": part}
            events.append(_event({"type": "content_block_delta", "index": index, "delta": delta}))
    else:
        events.append(_event({"type": "content_block_start", "index": index, "content_block": dict(block)}))
    events.append(_event({"type": "content_block_stop", "index": index}))
    return events


def sse_bytes(events: Sequence[Mapping[str, Any]]) -> list[bytes]:
    """Each event as its own SSE frame: `event: <type>` then `data: <json>`."""
    return [f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n".encode() for e in events]


def stream_chunks(body: Mapping[str, Any], *, piece: int = 3, pings: bool = True) -> list[bytes]:
    """The SSE frames that stream `body`."""
    return sse_bytes(stream_events(body, piece=piece, pings=pings))


def error_body(
    error_type: str, message: str, *, request_id: str | None = "req_011CSHoEeqs5C35K2UUqR7Fy", typed: bool = True
) -> str:
    """An error body [docs.claude.com/en/api/errors], checked by the SDK's ErrorResponse unless `typed=False` (an
    error type the API may add later: "type values may grow over time")."""
    payload: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        payload["request_id"] = request_id
    if typed and error_type != "request_too_large":  # documented, but not in the SDK's ErrorObject union
        ErrorResponse.model_validate(payload)
    return json.dumps(payload)
