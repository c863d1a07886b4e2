"""The OpenAI Responses simulator: `POST {base}/responses`, `GET {base}/responses/{id}` and `GET {base}/models`,
configured per alias by the rows in `responses_rules.py` (today one: `openai`).

A request goes: auth (`Authorization: Bearer`) -> injected status fault -> JSON -> the row's rules in order (the
first refusal answers, in OpenAI's `{"error": {message, type, param, code}}`) -> the shared model
(`_model.respond`) -> a `response` object, or a stream of named SSE events (`event: <type>` + `data: <json>`, each
JSON with `type` and `sequence_number`, ending with `response.completed` / `response.incomplete` that carry the
whole response, and no `[DONE]` [OAS ResponseStreamEvent]).

The server keeps what it answered, in memory, per simulator (`store` defaults to true [OAS CreateResponse.store]):
a request with `previous_response_id` continues that conversation (its input items and its output items; never its
`instructions`, which are not carried over [OAS CreateResponse.instructions]), and an unknown id is refused.
Only answers delivered whole are stored: a request faulted with `cut`, `malformed` or `stream-error` is not.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conformance.simulators._framework import (
    AliasEntry,
    AliasSimulator,
    Exchange,
    SimulatorState,
    base_path_of,
    register_alias,
)
from conformance.simulators._ids import base62, derive, hex_id
from conformance.simulators._model import Call, Prompt, Reply, ToolMode, Turn, digest, flat_function_tools, respond
from conformance.simulators.chat_completions_rules import Refusal
from conformance.simulators.responses_rules import (
    RESPONSES_ALIASES,
    Incoming,
    ResponsesAlias,
    StoredResponse,
    input_items,
    item_kind,
)

__all__ = ["ResponsesSimulator", "to_prompt", "to_turns"]

PROTOCOL: Final = "responses"
_PIECE = re.compile(r"\S+\s*|\s+")
_ARGUMENT_PIECES: Final = 3


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _event(payload: Mapping[str, Any]) -> bytes:
    """One named SSE event: `event:` repeats the JSON's `type` [OAS ResponseStreamEvent]."""
    return f"event: {payload['type']}\ndata: {_dumps(payload)}\n\n".encode()


# --- wire -> the model's prompt -------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    """The text of a message's content or a function_call_output's output: a string, or the text of its parts."""
    if isinstance(content, str):
        return content
    texts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, Mapping):
            value = part.get("text") if "text" in part else part.get("refusal")
            texts.append(value if isinstance(value, str) else "")
    return "".join(texts)


def to_turns(items: Sequence[Any]) -> list[Turn]:
    """Items -> the model's turns: messages by role (system and developer are both system), function_call items
    joined onto the assistant turn before them, function_call_output items as tool turns. Other kinds are skipped."""
    turns: list[Turn] = []
    for item in items:
        kind = item_kind(item)
        if kind == "message":
            role = str(item.get("role"))
            turns.append(Turn("system" if role == "developer" else role, _text(item.get("content"))))
        elif kind == "function_call":
            arguments = item.get("arguments")
            call = Call(
                str(item.get("call_id")),
                str(item.get("name")),
                arguments if isinstance(arguments, str) else _dumps(arguments),
            )
            if turns and turns[-1].role == "assistant":
                last = turns.pop()
                turns.append(dataclasses.replace(last, calls=(*last.calls, call)))
            else:
                turns.append(Turn("assistant", calls=(call,)))
        elif kind == "function_call_output":
            turns.append(Turn("tool", _text(item.get("output")), call_id=str(item.get("call_id"))))
    return turns


def _tool_choice(raw: Any) -> tuple[ToolMode, str | None]:
    """Flat choices [OAS ToolChoiceParam]: none | auto | required | {type: "function", name}."""
    if isinstance(raw, Mapping):
        if raw.get("type") == "function" and raw.get("name"):
            return "named", str(raw["name"])
        return "auto", None
    if raw == "none":
        return "none", None
    if raw == "required":
        return "required", None
    return "auto", None


def _text_format(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    return fmt if isinstance(fmt, Mapping) else None


def to_prompt(body: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = ()) -> Prompt:
    """The model's view of a (valid) request: the current `instructions`, the stored history, then the input."""
    turns: list[Turn] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        turns.append(Turn("system", instructions))
    turns += to_turns([*history, *input_items(body)])
    mode, forced = _tool_choice(body.get("tool_choice"))
    budget = body.get("max_output_tokens")
    fmt = _text_format(body)
    kind = fmt.get("type") if fmt is not None else None
    schema = fmt.get("schema") if fmt is not None and kind == "json_schema" else None
    return Prompt(
        turns=tuple(turns),
        tools=flat_function_tools(body.get("tools")),
        tool_mode=mode,
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        max_tokens=budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
        json_output=kind in ("json_object", "json_schema"),
        json_schema=schema if isinstance(schema, Mapping) else None,
    )


# --- the simulator --------------------------------------------------------------------------------------------------


class ResponsesSimulator(AliasSimulator):
    """One Responses alias, configured by its row, with the responses it stored."""

    protocol = PROTOCOL

    def __init__(self, state: SimulatorState, *, row: ResponsesAlias) -> None:
        super().__init__(state)
        self.row = row
        self.base_path = base_path_of(row.base_url)
        self._stored: dict[str, StoredResponse] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{self.base_path}/responses", self.create, methods=["POST"]),
            Route(f"{self.base_path}/responses/{{response_id}}", self.retrieve, methods=["GET"]),
            Route(f"{self.base_path}/models", self.models, methods=["GET"]),
        ]

    @property
    def stored(self) -> dict[str, StoredResponse]:
        """A snapshot of the responses kept so far, by id."""
        with self._lock:
            return dict(self._stored)

    # --- errors ---------------------------------------------------------------------------------------------------

    def error(self, refusal: Refusal, seed: str = "") -> Response:
        shape = refusal.shape or self.row.errors
        return Response(
            _dumps(shape.render(refusal)),
            status_code=refusal.status,
            media_type="application/json",
            headers={self.row.request_id_header: self.row.request_id(seed or derive("error", refusal.status))},
        )

    def fault_response(self, status: int) -> Response:
        # OpenAI has no 529 [OAS; oai-py _exceptions.py]: the 529 fault answers with the overloaded body.
        base = {429: self.row.rate_limit, 500: self.row.server_error}.get(status, self.row.overloaded)
        return self.error(dataclasses.replace(base, status=status))

    def not_found(self, request: Request) -> Response:
        return self.error(Refusal(404, f"Invalid URL ({request.method} {request.url.path})"))

    def stream_error_chunk(self, sequence_number: int = 0) -> bytes:
        """The `error` event that ends a 200 stream: the error object nested as OpenAI sends it
        [anomalyco/opencode#25730], and its `code`, `message`, `param` also at the top level, where the SDK's
        `ResponseErrorEvent` reads them [oai-py response_error_event.py]."""
        kind, code, message = self.row.stream_error
        payload = {
            "type": "error",
            "sequence_number": sequence_number,
            "code": code,
            "message": message,
            "param": None,
            "error": {"type": kind, "code": code, "message": message, "param": None},
        }
        return _event(payload)

    def malformed_chunk(self) -> bytes:
        return b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"tru\n\n'

    def send_stream(
        self,
        exchange: Exchange,
        chunks: Sequence[bytes],
        *,
        media_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """The framework's stream, with the `stream-error` event numbered where it falls in the sequence."""
        if exchange.fault == "stream-error":
            half = max(1, len(chunks) // 2)
            chunks = [*chunks[:half], self.stream_error_chunk(half)]
            exchange = dataclasses.replace(exchange, fault=None)
        return super().send_stream(exchange, chunks, media_type=media_type, headers=headers)

    # --- endpoints ------------------------------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        exchange = await self.begin(request)
        refusal = self.row.auth.refuse(exchange.headers)
        if refusal is not None:
            return self.error(refusal)
        listing = {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
                for name in sorted(self.row.models)
            ],
        }
        return Response(_dumps(listing), media_type="application/json")

    async def retrieve(self, request: Request) -> Response:
        exchange = await self.begin(request)
        refusal = self.row.auth.refuse(exchange.headers)
        if refusal is not None:
            return self.error(refusal)
        response_id = request.path_params["response_id"]
        stored = self.stored.get(response_id)
        if stored is None:
            return self.error(Refusal(404, f"Response with id '{response_id}' not found. (simulator text)"))
        return Response(_dumps(stored.body), media_type="application/json")

    async def create(self, request: Request) -> Response:
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
        incoming = Incoming(body, {k.lower(): v for k, v in exchange.headers.items()}, self.row, self.stored)
        for rule in self.row.rules:
            refusal = rule.check(incoming)
            if refusal is not None:
                return self.error(refusal)
        seed = digest({"alias": self.row.name, "body": body})
        history = incoming.history
        reply = respond(to_prompt(body, history))
        render = _Render(self.row, body, reply, seed)
        final = render.response()
        if body.get("store") is not False and exchange.fault in (None, "slow"):
            conversation = (*history, *(i for i in input_items(body) if isinstance(i, Mapping)), *final["output"])
            with self._lock:
                self._stored[render.id] = StoredResponse(tuple(conversation), final)
        headers = {self.row.request_id_header: self.row.request_id(seed)}
        if body.get("stream"):
            return self.send_stream(exchange, render.events(final), headers=headers)
        return self.send_json(exchange, _dumps(self.row.shaped("", final)).encode(), headers=headers)


# --- the model's reply -> the wire ---------------------------------------------------------------------------------


def _item_id(prefix: str, seed: str, *parts: object) -> str:
    """`resp_` / `msg_` / `fc_` + 48 hex digits, as OpenAI's ids look [vllm-project/vllm PR #24409 quoting one]."""
    return f"{prefix}_{hex_id(derive(seed, prefix, *parts), 48)}"


class _Render:
    """One reply as a `response` object and as its event stream. Pure: the same inputs give the same bytes."""

    def __init__(self, row: ResponsesAlias, body: Mapping[str, Any], reply: Reply, seed: str) -> None:
        self.row = row
        self.body = body
        self.reply = reply
        self.id = _item_id("resp", seed)
        self.created = 1_750_000_000 + int(seed[:6], 16) % 10_000_000
        self.message_id = _item_id("msg", seed, 0)
        self.calls = [
            (_item_id("fc", seed, i), "call_" + base62(derive(seed, "call", i), 24)) for i in range(len(reply.calls))
        ]

    @property
    def status(self) -> str:
        return "incomplete" if self.reply.finish == "length" and self.row.reports_incomplete else "completed"

    def usage(self) -> dict[str, Any]:
        reply = self.reply
        return {
            "input_tokens": reply.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": reply.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": reply.total_tokens,
        }

    # --- output items ---------------------------------------------------------------------------------------------

    def _text_part(self, text: str) -> dict[str, Any]:
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def _message(self, *, done: bool) -> dict[str, Any]:
        status = ("incomplete" if self.status == "incomplete" else "completed") if done else "in_progress"
        content = [self._text_part(self.reply.text)] if done else []
        return {"id": self.message_id, "type": "message", "status": status, "content": content, "role": "assistant"}

    def _function_call(self, index: int, *, done: bool) -> dict[str, Any]:
        item_id, call_id = self.calls[index]
        call = self.reply.calls[index]
        return {
            "id": item_id,
            "type": "function_call",
            "status": "completed" if done else "in_progress",
            "arguments": call.arguments_json() if done else "",
            "call_id": call_id,
            "name": call.name,
        }

    def output(self) -> list[dict[str, Any]]:
        if self.reply.calls:
            return [self._function_call(i, done=True) for i in range(len(self.reply.calls))]
        return [self._message(done=True)]

    # --- the response object --------------------------------------------------------------------------------------

    def _tools(self) -> list[Any]:
        tools = []
        for tool in self.body.get("tools") or []:
            if isinstance(tool, Mapping) and tool.get("type") == "function":
                tools.append(
                    {
                        "type": "function",
                        "description": tool.get("description"),
                        "name": tool.get("name"),
                        "parameters": tool.get("parameters"),
                        "strict": tool.get("strict"),
                    }
                )
            else:
                tools.append(tool)
        return tools

    def response(self, *, final: bool = True) -> dict[str, Any]:
        """The `response` object [OAS Response]: at the end, or as `response.created` shows it (in progress)."""
        body = self.body
        fmt = _text_format(body)
        status = self.status if final else "in_progress"
        temperature, top_p = body.get("temperature"), body.get("top_p")
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": False,
            "completed_at": self.created + 1 if status == "completed" else None,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": self.row.snapshot(str(body.get("model"))),
            "output": self.output() if final else [],
            "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": "default",
            "store": body.get("store") is not False,
            "temperature": 1.0 if temperature is None else temperature,
            "text": {"format": dict(fmt) if fmt is not None else {"type": "text"}, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": self._tools(),
            "top_logprobs": body.get("top_logprobs") or 0,
            "top_p": 1.0 if top_p is None else top_p,
            "truncation": body.get("truncation") or "disabled",
            "usage": self.usage() if final else None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    # --- the stream -----------------------------------------------------------------------------------------------

    def events(self, final: Mapping[str, Any]) -> list[bytes]:
        """created, in_progress, each item (added, its content or argument deltas, done), then completed or
        incomplete carrying `final` [OAS ResponseStreamEvent]."""
        payloads: list[dict[str, Any]] = []

        def add(kind: str, **fields: Any) -> None:
            payloads.append({"type": kind, "sequence_number": len(payloads), **fields})

        in_progress = self.response(final=False)
        add("response.created", response=in_progress)
        add("response.in_progress", response=in_progress)
        if self.reply.calls:
            for index in range(len(self.reply.calls)):
                self._call_events(index, add)
        else:
            self._message_events(add)
        add("response.incomplete" if self.status == "incomplete" else "response.completed", response=final)
        if self.row.timings:
            payloads[-1]["timings"] = self.timings()
        return [_event(self.row.shaped(p["type"], p)) for p in payloads]

    def timings(self) -> dict[str, Any]:
        """llama.cpp's per-request timings on the final event (measured): token counts and made-up milliseconds."""
        prompt, predicted = self.reply.prompt_tokens, self.reply.completion_tokens
        return {
            "cache_n": 0,
            "prompt_n": prompt,
            "prompt_ms": 1.0,
            "prompt_per_token_ms": 1.0 / max(prompt, 1),
            "prompt_per_second": 1000.0 * prompt,
            "predicted_n": predicted,
            "predicted_ms": 1.0,
            "predicted_per_token_ms": 1.0 / max(predicted, 1),
            "predicted_per_second": 1000.0 * predicted,
        }

    def _message_events(self, add: Any) -> None:
        where = {"item_id": self.message_id, "output_index": 0}
        text = self.reply.text
        add("response.output_item.added", output_index=0, item=self._message(done=False))
        add("response.content_part.added", **where, content_index=0, part=self._text_part(""))
        for piece in _PIECE.findall(text):
            add("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
        add("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
        add("response.content_part.done", **where, content_index=0, part=self._text_part(text))
        add("response.output_item.done", output_index=0, item=self._message(done=True))

    def _call_events(self, index: int, add: Any) -> None:
        item_id = self.calls[index][0]
        call = self.reply.calls[index]
        arguments = call.arguments_json()
        add("response.output_item.added", output_index=index, item=self._function_call(index, done=False))
        for piece in _split(arguments):
            add("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=piece)
        # `name` is in the OAS event [research §2]; the SDK's model does not list it (extra fields are kept).
        add(
            "response.function_call_arguments.done",
            item_id=item_id,
            output_index=index,
            name=call.name,
            arguments=arguments,
        )
        add("response.output_item.done", output_index=index, item=self._function_call(index, done=True))


def _split(text: str, pieces: int = _ARGUMENT_PIECES) -> list[str]:
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _register(rows: Sequence[ResponsesAlias]) -> None:
    for row in rows:
        factory = functools.partial(ResponsesSimulator, row=row)
        register_alias(AliasEntry(row.name, PROTOCOL, row.base_url, factory), replace=True)


_register(RESPONSES_ALIASES)
