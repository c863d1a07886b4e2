"""The Anthropic Messages simulator: `POST /v1/messages` (and `GET /v1/models`) on the alias's real base
(`https://api.anthropic.com`, so the simulator's root URL is the base URL), configured by the rows in
`anthropic_rules.py`.

A request goes: size limit (413, enforced in front of the API) -> auth (`x-api-key`, or `Authorization: Bearer`) ->
injected status fault -> `anthropic-version` header -> JSON -> the row's rules in order (the first refusal answers)
-> the shared model (`_model.respond`) -> a `message` body, or a typed SSE stream: `message_start`, per block
`content_block_start` / `content_block_delta` (`text_delta`, `input_json_delta`) / `content_block_stop`, a `ping`,
`message_delta` (stop reason, cumulative usage) and `message_stop`, with no `[DONE]` [docs messages-streaming;
ant-py raw_message_stream_event.py]. Every answer carries a `request-id` header; error bodies carry the same id as
`request_id` [docs api/errors].

Nothing here imports Allos: the contract is encoded from Anthropic's documentation and SDK types on its own.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conformance.simulators._framework import AliasEntry, AliasSimulator, Exchange, SimulatorState, register_alias
from conformance.simulators._ids import base62, derive
from conformance.simulators._model import Call, Prompt, Reply, Tool, ToolMode, Turn, digest, respond
from conformance.simulators.anthropic_rules import (
    ALIASES,
    AnswerShape,
    AnthropicAlias,
    Incoming,
    Refusal,
    blocks_of,
    text_of,
)

__all__ = ["AnthropicSimulator", "message_id", "request_id", "to_prompt", "tool_use_id"]

PROTOCOL: Final = "anthropic"
PATH: Final = "/v1/messages"
_PIECE = re.compile(r"\S+\s*|\s+")
_ARGUMENT_PIECES: Final = 3
# A fixed reset time for the rate-limit headers (RFC 3339), so the same request gets the same bytes.
_RESET: Final = "2030-01-01T00:00:00Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _event(name: str, payload: Mapping[str, Any]) -> bytes:
    """One named SSE event whose data repeats the name as `type` [docs messages-streaming]."""
    return f"event: {name}\ndata: {_dumps(payload)}\n\n".encode()


# --- ids ----------------------------------------------------------------------------------------------------------


def message_id(seed: str) -> str:
    """`msg_01` + 22 base62 characters, like `msg_01XFDUDYJgAACzvnptvVoYEL` [docs api/messages examples].

    >>> len(message_id("s")), message_id("s").startswith("msg_01")
    (28, True)
    """
    return "msg_01" + base62(derive(seed, "message"), 22)


def tool_use_id(seed: str, index: int) -> str:
    """`toolu_01` + 22 base62 characters, like `toolu_01D7FLrfh4GYq7yT1ULFeyMV` [ant-py message_create_params.py]."""
    return "toolu_01" + base62(derive(seed, "tool_use", index), 22)


def request_id(seed: str) -> str:
    """`req_011C` + 20 base62 characters, like `req_011CV9Ebv6mAPLM4YvfvaUcx` (claude-relay-service#667)."""
    return "req_011C" + base62(derive(seed, "request"), 20)


# --- wire -> the model's prompt -----------------------------------------------------------------------------------


def _system_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else text_of(raw)


def _turns(message: Mapping[str, Any]) -> list[Turn]:
    role = str(message.get("role"))
    blocks = blocks_of(message)
    if role == "assistant":
        calls = tuple(
            Call(str(b.get("id")), str(b.get("name")), _dumps(b.get("input") or {}))
            for b in blocks
            if b.get("type") == "tool_use"
        )
        text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        return [Turn("assistant", text, calls)]
    # A user message: its tool results first (they lead it), then what the user wrote.
    turns = [
        Turn("tool", text_of(b.get("content")), call_id=str(b.get("tool_use_id")))
        for b in blocks
        if b.get("type") == "tool_result"
    ]
    text = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
    if text or not turns:
        turns.append(Turn(role if role == "system" else "user", text))
    return turns


def _tools(raw: Any) -> tuple[Tool, ...]:
    tools = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            schema = item.get("input_schema")
            tools.append(
                Tool(item["name"], str(item.get("description") or ""), schema if isinstance(schema, Mapping) else {})
            )
    return tuple(tools)


def _tool_choice(raw: Any) -> tuple[ToolMode, str | None, bool]:
    """(mode, forced tool, parallel allowed) from `tool_choice` [ant-py tool_choice_*_param.py]: auto, any (a call
    is forced), tool (that one is forced), none; `disable_parallel_tool_use` lives inside the choice."""
    if not isinstance(raw, Mapping):
        return "auto", None, True
    parallel = not raw.get("disable_parallel_tool_use")
    kind = raw.get("type")
    if kind == "none":
        return "none", None, parallel
    if kind == "any":
        return "required", None, parallel
    if kind == "tool":
        return "named", str(raw.get("name")), parallel
    return "auto", None, parallel


def _json_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """`output_config.format` `{type: json_schema, schema}`: structured outputs [ant-py output_config_param.py,
    json_output_format_param.py; docs build-with-claude/structured-outputs]."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), Mapping):
        schema: Mapping[str, Any] = fmt["schema"]
        return schema
    return None


def to_prompt(body: Mapping[str, Any]) -> Prompt:
    """The model's view of a (valid) request body."""
    turns: list[Turn] = []
    system = _system_text(body.get("system"))
    if system:
        turns.append(Turn("system", system))
    for message in body.get("messages") or []:
        if isinstance(message, Mapping):
            turns.extend(_turns(message))
    mode, forced, parallel = _tool_choice(body.get("tool_choice"))
    stops = body.get("stop_sequences")
    schema = _json_schema(body)
    max_tokens = body.get("max_tokens")
    return Prompt(
        turns=tuple(turns),
        tools=_tools(body.get("tools")),
        tool_mode=mode,
        forced_tool=forced,
        parallel_tool_calls=parallel,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        stop=tuple(s for s in stops if isinstance(s, str)) if isinstance(stops, list) else (),
        json_output=schema is not None,
        json_schema=schema,
    )


# --- the simulator ------------------------------------------------------------------------------------------------


class AnthropicSimulator(AliasSimulator):
    """One alias speaking Anthropic Messages, configured by its row."""

    protocol = PROTOCOL

    def __init__(self, state: SimulatorState, *, row: AnthropicAlias) -> None:
        super().__init__(state)
        self.row = row

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.messages, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ]

    # --- errors ---------------------------------------------------------------------------------------------------

    def error(self, refusal: Refusal, seed: str = "") -> Response:
        rid = request_id(seed or derive("error", refusal.status, refusal.message))
        return Response(
            _dumps(self.row.render_error(refusal, rid)),
            status_code=refusal.status,
            media_type="application/json",
            headers={"request-id": rid, **self._rate_limit_headers()},
        )

    def fault_response(self, status: int) -> Response:
        refusal = self.row.fault(status)
        return self.error(Refusal(status, refusal.message, refusal.type))

    def not_found(self, request: Request) -> Response:
        # An unknown path: 404 not_found_error "Not Found" (openclaw/openclaw#10552 quotes the pair).
        return self.error(Refusal(404, "Not Found", "not_found_error"))

    def stream_error_chunk(self) -> bytes:
        # "during periods of high usage, you may receive an overloaded_error, which would normally correspond to an
        # HTTP 529 in a non-streaming context" [docs messages-streaming, Error events]
        overloaded = self.row.overloaded
        return _event("error", {"type": "error", "error": {"type": overloaded.type, "message": overloaded.message}})

    def malformed_chunk(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n'

    @staticmethod
    def _rate_limit_headers() -> dict[str, str]:
        # anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}, reset in RFC 3339 [docs api/rate-limits;
        # research section 3: mock-server.com LlmRateLimitHeaders, anthropic-sdk-typescript#357].
        return {
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": _RESET,
            "anthropic-ratelimit-tokens-limit": "2000000",
            "anthropic-ratelimit-tokens-remaining": "1999000",
            "anthropic-ratelimit-tokens-reset": _RESET,
        }

    # --- the checks before the rules ------------------------------------------------------------------------------

    def _gate(self, exchange: Exchange) -> Response | None:
        """Size, auth, the injected fault and the version header, in that order."""
        if len(exchange.body) > self.row.max_body_bytes:
            # 413 request_too_large, from the edge in front of the API, before anything else is looked at [docs
            # api/errors; research section 3].
            too_large = "Request exceeds the maximum allowed number of bytes. (simulator text)"
            return self.error(Refusal(413, too_large, "request_too_large"))
        headers = {k.lower(): v for k, v in exchange.headers.items()}
        refusal = self.row.auth.refuse(headers)
        if refusal is not None:
            return self.error(refusal)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        version = headers.get("anthropic-version", "").strip()
        if self.row.versions is None:
            return None
        if not version:
            # envoyproxy/ai-gateway#1909, PipedreamHQ/pipedream#9697: 400 "anthropic-version: header is required".
            return self.error(Refusal(400, "anthropic-version: header is required"))
        if version not in self.row.versions:
            return self.error(Refusal(400, f"anthropic-version: invalid version {version!r} (simulator text)"))
        return None

    # --- endpoints ------------------------------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        """`GET /v1/models`: a page of `{type: model, id, display_name, created_at}` [ant-py types/model_info.py]."""
        exchange = await self.begin(request)
        gated = self._gate(exchange)
        if gated is not None:
            return gated
        names = sorted(self.row.models)
        data = [{"type": "model", "id": n, "display_name": n, "created_at": "2025-09-29T00:00:00Z"} for n in names]
        page = {"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]}
        return Response(_dumps(page), media_type="application/json", headers={"request-id": request_id("models")})

    async def messages(self, request: Request) -> Response:
        exchange = await self.begin(request)
        gated = self._gate(exchange)
        if gated is not None:
            return gated
        body = exchange.json_object()
        if body is None:
            return self.error(Refusal(400, "The request body is not valid JSON. (simulator text)"))
        headers = {k.lower(): v for k, v in exchange.headers.items()}
        incoming = Incoming(body, headers, self.row)
        seed = digest({"alias": self.row.name, "body": body})
        for rule in self.row.rules:
            refusal = rule.check(incoming)
            if refusal is not None:
                return self.error(refusal, seed)
        reply = respond(to_prompt(body))
        render = _Render(body, reply, seed, self.row.answer_shape)
        response_headers = {"request-id": request_id(seed), **self._rate_limit_headers()}
        if body.get("stream"):
            return self.send_stream(exchange, render.events(), headers=response_headers)
        return self.send_json(exchange, _dumps(render.message()).encode(), headers=response_headers)


# --- the model's reply -> Anthropic's shapes ------------------------------------------------------------------------


class _Render:
    """One reply as a `message` body or an event stream. Pure: the same inputs give the same bytes."""

    def __init__(self, body: Mapping[str, Any], reply: Reply, seed: str, shape: AnswerShape) -> None:
        self.body = body
        self.shape = shape
        self.reply = reply
        self.id = message_id(seed)
        self.model = str(body.get("model"))
        self.call_ids = [tool_use_id(seed, i) for i in range(len(reply.calls))]

    def stop_reason(self) -> str:
        """[ant-py types/stop_reason.py]: tool_use, max_tokens, stop_sequence, end_turn."""
        if self.reply.calls:
            return "tool_use"
        if self.reply.finish == "length":
            return "max_tokens"
        if self.reply.stop_sequence is not None:
            return "stop_sequence"
        return "end_turn"

    def usage(self, *, output_tokens: int | None = None) -> dict[str, Any]:
        """[ant-py types/usage.py]: input and output tokens, cache reads and writes (none here), the tier; only the
        keys the server writes."""
        usage = {
            "input_tokens": self.reply.prompt_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": self.reply.completion_tokens if output_tokens is None else output_tokens,
            "service_tier": "standard",
        }
        keep = self.shape.usage
        return usage if keep is None else {k: v for k, v in usage.items() if k in keep}

    def blocks(self) -> list[dict[str, Any]]:
        """Content blocks: tool_use blocks with an object `input` [ant-py tool_use_block.py], or one text block."""
        if self.reply.calls:
            return [
                {"type": "tool_use", "id": call_id, "name": call.name, "input": dict(call.arguments)}
                for call, call_id in zip(self.reply.calls, self.call_ids, strict=True)
            ]
        return [{"type": "text", "text": self.reply.text}] if self.reply.text else []

    def _envelope(self, content: list[dict[str, Any]], stop_reason: str | None) -> dict[str, Any]:
        envelope = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": self.reply.stop_sequence if stop_reason == "stop_sequence" else None,
            "stop_details": None,
        }
        if not self.shape.stop_details:
            del envelope["stop_details"]
        return envelope

    def message(self) -> dict[str, Any]:
        """A `message` body [ant-py types/message.py]."""
        return {**self._envelope(self.blocks(), self.stop_reason()), "usage": self.usage()}

    # --- streaming ------------------------------------------------------------------------------------------------

    def events(self) -> list[bytes]:
        """The event stream [docs messages-streaming]: message_start (empty content, stop_reason null, first usage),
        each block's start / deltas / stop (a ping after the first start, as in the documented example),
        message_delta (stop reason, cumulative usage), message_stop."""
        start = {**self._envelope([], None), "usage": self.usage(output_tokens=1)}
        start.pop("stop_details", None)
        out = [_event("message_start", {"type": "message_start", "message": start})]
        for index, block in enumerate(self.blocks()):
            events = self._block_events(index, block)
            if index == 0 and self.shape.ping:
                events.insert(1, _event("ping", {"type": "ping"}))
            out += events
        usage = self.usage()
        for name in ("cache_creation", "service_tier"):
            usage.pop(name, None)
        if self.shape.delta_usage is not None:
            usage = {k: v for k, v in usage.items() if k in self.shape.delta_usage}
        delta = {
            "stop_reason": self.stop_reason(),
            "stop_sequence": self._envelope([], self.stop_reason())["stop_sequence"],
        }
        out.append(_event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        out.append(_event("message_stop", {"type": "message_stop"}))
        return out

    def _block_events(self, index: int, block: Mapping[str, Any]) -> list[bytes]:
        def delta(payload: Mapping[str, Any]) -> bytes:
            return _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": payload})

        if block["type"] == "tool_use":
            # The block starts with an empty input; the input follows as partial JSON strings to be joined
            # [docs messages-streaming, Input JSON delta; ant-py input_json_delta.py].
            head = {**block, "input": {}}
            arguments = _dumps(block["input"])
            deltas = [delta({"type": "input_json_delta", "partial_json": p}) for p in ["", *_split(arguments)]]
        else:
            head = {"type": "text", "text": ""}
            deltas = [delta({"type": "text_delta", "text": p}) for p in _PIECE.findall(block["text"])]
        start = _event("content_block_start", {"type": "content_block_start", "index": index, "content_block": head})
        stop = _event("content_block_stop", {"type": "content_block_stop", "index": index})
        return [start, *deltas, stop]


def _split(text: str, pieces: int = _ARGUMENT_PIECES) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _register(rows: Sequence[AnthropicAlias]) -> None:
    for row in rows:
        factory = functools.partial(AnthropicSimulator, row=row)
        register_alias(AliasEntry(row.name, PROTOCOL, row.base_url, factory), replace=True)


_register(ALIASES)
