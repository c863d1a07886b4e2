"""The Chat Completions simulator: `POST {base}/chat/completions` and `GET {base}/models`, configured per alias by
the rows in `chat_completions_aliases.py`.

A request goes: auth (the row's key header) -> injected status fault -> JSON -> the row's rules in order (the first
refusal answers, in the row's error shape) -> the shared model (`_model.respond`) -> a `chat.completion` body or an
SSE stream of `chat.completion.chunk`s in the row's framing, ending with `data: [DONE]` [OAS].
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conformance.simulators._framework import AliasEntry, AliasSimulator, SimulatorState, base_path_of, register_alias
from conformance.simulators._ids import derive
from conformance.simulators._model import Call, Prompt, Reply, ToolMode, Turn, digest, function_tools, respond
from conformance.simulators.chat_completions_aliases import CHAT_ALIASES
from conformance.simulators.chat_completions_rules import ChatAlias, Incoming, Refusal, text_of

__all__ = ["ChatCompletionsSimulator", "to_prompt"]

PROTOCOL: Final = "chat_completions"
_PIECE = re.compile(r"\S+\s*|\s+")
_ARGUMENT_PIECES: Final = 3


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sse(payload: Mapping[str, Any]) -> bytes:
    return f"data: {_dumps(payload)}\n\n".encode()


# --- wire -> the model's prompt -----------------------------------------------------------------------------------


def _turn(message: Mapping[str, Any]) -> Turn:
    calls = []
    for raw in message.get("tool_calls") or []:
        function = raw.get("function") if isinstance(raw, Mapping) else None
        if isinstance(function, Mapping):
            arguments = function.get("arguments")
            text = arguments if isinstance(arguments, str) else _dumps(arguments)
            calls.append(Call(str(raw.get("id")), str(function.get("name")), text))
    call_id = message.get("tool_call_id")
    return Turn(str(message.get("role")), text_of(message.get("content")), tuple(calls), call_id and str(call_id))


def _tool_choice(raw: Any) -> tuple[ToolMode, str | None]:
    if isinstance(raw, Mapping):
        function = raw.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        return "named", str(name) if name else None
    if raw == "none":
        return "none", None
    if raw in ("required", "any"):  # `any` is Mistral's and Fireworks's spelling [mistral-py ToolChoiceEnum]
        return "required", None
    return "auto", None


def _response_format(raw: Any) -> tuple[bool, Mapping[str, Any] | None]:
    if not isinstance(raw, Mapping) or raw.get("type") not in ("json_object", "json_schema"):
        return False, None
    if raw.get("type") == "json_schema":
        spec = raw.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
    else:
        schema = raw.get("schema")  # Fireworks: {type: json_object, schema} [litellm fireworks_ai]
    return True, schema if isinstance(schema, Mapping) else None


def to_prompt(body: Mapping[str, Any], row: ChatAlias) -> Prompt:
    """The model's view of a (valid) request body."""
    messages = body.get("messages") or []
    mode, forced = _tool_choice(body.get("tool_choice"))
    budget = next((body[f] for f in row.max_tokens_fields if isinstance(body.get(f), int)), None)
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(s for s in stop or () if isinstance(s, str))
    json_output, schema = _response_format(body.get("response_format"))
    return Prompt(
        turns=tuple(_turn(m) for m in messages if isinstance(m, Mapping)),
        tools=function_tools(body.get("tools")),
        tool_mode=mode,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        max_tokens=budget,
        stop=stops,
        json_output=json_output,
        json_schema=schema,
    )


# --- the simulator ------------------------------------------------------------------------------------------------


class ChatCompletionsSimulator(AliasSimulator):
    """One Chat Completions alias, configured by its row."""

    protocol = PROTOCOL

    def __init__(self, state: SimulatorState, *, row: ChatAlias) -> None:
        super().__init__(state)
        self.row = row
        self.base_path = base_path_of(row.base_url)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{self.base_path}/chat/completions", self.chat, methods=["POST"]),
            Route(f"{self.base_path}/models", self.models, methods=["GET"]),
        ]

    # --- errors ---------------------------------------------------------------------------------------------------

    def error(self, refusal: Refusal, seed: str = "") -> Response:
        shape = refusal.shape or self.row.errors
        return Response(
            _dumps(shape.render(refusal)),
            status_code=refusal.status,
            media_type="application/json",
            headers=self._id_headers(seed or derive("error", refusal.status)),
        )

    def fault_response(self, status: int) -> Response:
        base = {429: self.row.rate_limit, 500: self.row.server_error}.get(status, self.row.overloaded)
        return self.error(dataclasses.replace(base, status=status))

    def not_found(self, request: Request) -> Response:
        return self.error(Refusal(404, f"Invalid URL ({request.method} {request.url.path})"))

    def stream_error_chunk(self) -> bytes:
        if self.row.stream_error is not None:
            payload = dict(self.row.stream_error())
        else:
            # The reference: a data payload with an `error` key [oai-py _streaming.py]; its body is the row's
            # server error in the OpenAI layout (mid-stream shapes of the other providers are not documented).
            server = self.row.server_error
            payload = {"error": {"message": server.message, "type": server.type, "param": None, "code": server.code}}
        return _sse(payload)

    def malformed_chunk(self) -> bytes:
        return b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":{"content":"tru\n\n'

    def _id_headers(self, seed: str) -> dict[str, str]:
        if self.row.request_id is None:
            return {}
        return {self.row.request_id_header: self.row.request_id(seed)}

    # --- endpoints ------------------------------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        exchange = await self.begin(request)
        refusal = self.row.auth.refuse(exchange.headers)
        if refusal is not None:
            return self.error(refusal)
        names = sorted(self.row.models or {"local-model"})
        listing = {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 1_700_000_000, "owned_by": self.row.name} for n in names],
        }
        return Response(_dumps(listing), media_type="application/json")

    async def chat(self, request: Request) -> Response:
        exchange = await self.begin(request)
        refusal = self.row.auth.refuse(exchange.headers)
        if refusal is not None:
            return self.error(refusal)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        body = exchange.json_object()
        if body is None:
            return self.error(Refusal(400, "We could not parse the JSON body of your request. (simulator text)"))
        incoming = Incoming(body, {k.lower(): v for k, v in exchange.headers.items()}, self.row)
        for rule in self.row.rules:
            refusal = rule.check(incoming)
            if refusal is not None:
                return self.error(refusal)
        seed = digest({"alias": self.row.name, "body": body})
        reply = respond(to_prompt(body, self.row))
        render = _Render(self.row, body, reply, seed)
        headers = self._id_headers(seed)
        if body.get("stream"):
            return self.send_stream(exchange, render.chunks(), headers=headers)
        return self.send_json(exchange, _dumps(render.completion()).encode(), headers=headers)


# --- the model's reply -> the row's wire shapes ---------------------------------------------------------------------


class _Render:
    """One reply in one row's shapes. Pure: the same inputs give the same bytes."""

    def __init__(self, row: ChatAlias, body: Mapping[str, Any], reply: Reply, seed: str) -> None:
        self.row = row
        self.body = body
        self.reply = reply
        self.seed = seed
        self.id = row.completion_id(seed)
        self.created = 1_750_000_000 + int(seed[:6], 16) % 10_000_000
        self.model = str(body.get("model"))
        self.call_ids = [row.tool_call_id(seed, i) for i in range(len(reply.calls))]

    def finish_reason(self, *, streaming: bool) -> str:
        if self.reply.calls:
            return self.row.stream.finish_with_tools if streaming else self.row.tool_finish
        return "length" if self.reply.finish == "length" else self.row.stop_finish

    def usage(self) -> dict[str, Any]:
        reply = self.reply
        usage: dict[str, Any] = {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.total_tokens,
        }
        if self.row.usage_extras is not None:
            usage.update(self.row.usage_extras(reply.prompt_tokens))
        return usage

    def _envelope(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": kind, "created": self.created, "model": self.model}
        if self.row.system_fingerprint:
            out["system_fingerprint"] = "fp_simulator"
        return out

    def _calls(self, *, index: bool) -> list[dict[str, Any]]:
        calls = []
        for i, (call, call_id) in enumerate(zip(self.reply.calls, self.call_ids, strict=True)):
            item: dict[str, Any] = {"index": i} if index else {}
            item.update(
                {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json()}}
            )
            calls.append(item)
        return calls

    def completion(self) -> dict[str, Any]:
        reply = self.reply
        message: dict[str, Any] = {"role": "assistant"}
        message["content"] = self.row.tool_call_content if reply.calls else reply.text
        if self.row.refusal_field:
            message["refusal"] = None
        if reply.calls:
            message["tool_calls"] = self._calls(index=False)
        finish = self.finish_reason(streaming=False)
        choice: dict[str, Any] = {"index": 0, "message": message}
        if self.row.logprobs_field:
            choice["logprobs"] = None
        choice["finish_reason"] = finish
        if self.row.native_finish_reason:
            choice["native_finish_reason"] = finish
        out = self._envelope("chat.completion")
        out["choices"] = [choice]
        out["usage"] = self.usage()
        if self.row.body_extras is not None:
            out.update(self.row.body_extras(self.seed))
        return out

    # --- streaming ------------------------------------------------------------------------------------------------

    def _include_usage(self) -> bool:
        options = self.body.get("stream_options")
        return isinstance(options, Mapping) and bool(options.get("include_usage"))

    def _chunk(self, delta: Mapping[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": dict(delta)}
        if self.row.logprobs_field:
            choice["logprobs"] = None
        choice["finish_reason"] = finish
        if self.row.native_finish_reason:
            choice["native_finish_reason"] = finish
        out = self._envelope("chat.completion.chunk")
        out["choices"] = [choice]
        if self.row.stream.usage == "stream_options" and self._include_usage() and self.row.chunk_usage_null:
            out["usage"] = None  # every chunk but the last carries usage: null [OAS ChatCompletionStreamOptions]
        return out

    def _tool_call_deltas(self) -> list[dict[str, Any]]:
        style = self.row.stream.tool_calls
        if style == "whole":
            return [{"tool_calls": self._calls(index=True)}]
        if style == "whole_no_index":
            return [{"tool_calls": [call]} for call in self._calls(index=False)]
        deltas: list[dict[str, Any]] = []
        for i, (call, call_id) in enumerate(zip(self.reply.calls, self.call_ids, strict=True)):
            head = {"index": i, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            deltas.append({"tool_calls": [head]})
            deltas += [
                {"tool_calls": [{"index": i, "function": {"arguments": p}}]} for p in _split(call.arguments_json())
            ]
        return deltas

    def chunks(self) -> list[bytes]:
        stream = self.row.stream
        out = [f"{comment}\n\n".encode() for comment in stream.comments]
        first: dict[str, Any] = {"role": "assistant", "content": self.row.first_delta_content}
        if self.row.refusal_field:
            first["refusal"] = None
        head = self._chunk(first)
        if stream.usage == "x_groq":
            head["x_groq"] = {"id": self.row.request_id(self.seed) if self.row.request_id else self.id}
        out.append(_sse(head))
        out += [_sse(self._chunk({"content": piece})) for piece in _PIECE.findall(self.reply.text)]
        out += [_sse(self._chunk(delta)) for delta in self._tool_call_deltas()]
        last = self._chunk({}, self.finish_reason(streaming=True))
        if stream.usage == "last_chunk":
            last["usage"] = self.usage()
        elif stream.usage == "x_groq":
            last["x_groq"] = {"id": head["x_groq"]["id"], "usage": self.usage()}
        out.append(_sse(last))
        if self._include_usage() and stream.usage != "last_chunk":
            tail = self._envelope("chat.completion.chunk")
            tail.update({"choices": [], "usage": self.usage()})
            if self.row.usage_chunk_extras is not None:
                tail.update(self.row.usage_chunk_extras(self.reply.prompt_tokens))
            out.append(_sse(tail))
        out.append(b"data: [DONE]\n\n")
        return out


def _split(text: str, pieces: int = _ARGUMENT_PIECES) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _register(rows: Sequence[ChatAlias]) -> None:
    for row in rows:
        factory = functools.partial(ChatCompletionsSimulator, row=row)
        register_alias(AliasEntry(row.name, PROTOCOL, row.base_url, factory), replace=True)


_register(CHAT_ALIASES)
