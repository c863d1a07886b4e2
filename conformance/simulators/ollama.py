"""The Ollama native simulator: `POST /api/chat`, `GET /api/tags`, `POST /api/show`, `POST /api/pull` (and `GET /`),
for the alias `ollama` (`http://localhost:11434`).

A chat request goes: injected status fault -> the body decoded as Go decodes it (empty: `missing request body`;
broken JSON: Go's syntax error) -> the rules of `ollama_rules.CHAT_RULES` in order (the first refusal answers
`{"error": ...}`) -> the shared model (`_model.respond`) -> one JSON object (`"stream": false`) or an NDJSON stream
(`application/x-ndjson`, the default when `stream` is omitted [types.go ChatRequest.Stream "true by default"]):
`done: false` objects carrying thinking, then content deltas, then the tool calls whole, and a final `done: true`
object with `done_reason` and the metrics [docs/api/streaming.mdx; api.md "Chat request (with tools)"].

No key: the local API does not require authentication [ollama docs/api/authentication.mdx], so the simulator reads
no header at all; a key containing "invalid" is accepted like any other (as by the other local servers here).

Each server has its own model store: it starts with `LOCAL_AT_START`, and a pull of a library model adds it, so
`/api/tags` lists it and `/api/chat` accepts it afterwards.

Sources, short forms as in `ollama_rules`: [types.go] `api/types.go`, [routes.go] `server/routes.go`, [api.md]
`docs/api.md`, [errors.mdx] `docs/api/errors.mdx`, [streaming.mdx] `docs/api/streaming.mdx`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from conformance.simulators._ids import derive
from conformance.simulators._model import Call, Prompt, Reply, Turn, count_tokens, digest, function_tools, respond
from conformance.simulators.ollama_rules import (
    CHAT_RULES,
    LIBRARY,
    LOCAL_AT_START,
    Incoming,
    ModelCard,
    Refusal,
    Rule,
    canonical_name,
    error_body,
    first_refusal,
)

__all__ = ["OLLAMA_ALIASES", "OllamaAlias", "OllamaSimulator", "go_json", "go_syntax_error", "to_prompt"]

PROTOCOL: Final = "ollama"
JSON_TYPE: Final = "application/json; charset=utf-8"  # gin's c.JSON [routes.go]
NDJSON_TYPE: Final = "application/x-ndjson"  # [routes.go streamResponse; streaming.mdx]
_PIECE: Final = re.compile(r"\s*\S+(?:\s+$)?|\s+$")  # a token with the space before it, as Ollama streams
# Ollama mints tool call ids as "call_" + 8 characters of [a-z0-9] [routes.go toolCallId].
_CALL_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
_GO_ESCAPES: Final = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_EPOCH_DAY: Final = 20_089  # 2025-01-01, in days since 1970-01-01


# --- Go's JSON, on the way out and on the way in --------------------------------------------------------------------


def go_json(value: Any) -> bytes:
    """`value` as Go's `json.Marshal` writes it: compact, UTF-8 kept, and `<`, `>`, `&`, U+2028, U+2029 escaped
    (Go's HTML-safe default, visible in the docs' `"\\u003c/s\\u003e"` [api.md "Show Model Information"]).

    >>> go_json({"stop": "<|eot_id|>", "text": "héllo & 東京"}).decode()
    '{"stop":"\\\\u003c|eot_id|\\\\u003e","text":"héllo \\\\u0026 東京"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _GO_ESCAPES:
        text = text.replace(char, escaped)  # these characters only ever occur inside JSON strings
    return text.encode()


def _quote_char(char: str) -> str:
    return (
        "'\\''" if char == "'" else ("'\"'" if char == '"' else repr(char) if not char.isprintable() else f"'{char}'")
    )


def _container_at(doc: str, pos: int) -> str:
    """The innermost open container (`{` or `[`) at `pos`, scanning outside strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in doc[:pos]:
        if in_string:
            escaped = not escaped and char == "\\"
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def go_syntax_error(doc: str, error: json.JSONDecodeError) -> str:
    """Go's `encoding/json` wording for the syntax error Python found (the position is Python's).

    >>> go_syntax_error('{"model": ', json.JSONDecodeError("Expecting value", '{"model": ', 10))
    'unexpected EOF'
    >>> go_syntax_error('{model: 1}', json.JSONDecodeError("Expecting property name", '{model: 1}', 1))
    "invalid character 'm' looking for beginning of object key string"
    """
    pos = error.pos
    if pos >= len(doc.rstrip()) or error.msg.startswith("Unterminated string"):
        return "unexpected EOF"
    char = _quote_char(doc[pos])
    if error.msg.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if error.msg.startswith("Expecting ':'"):
        return f"invalid character {char} after object key"
    if error.msg.startswith("Expecting ','"):
        where = "object key:value pair" if _container_at(doc, pos) == "{" else "array element"
        return f"invalid character {char} after {where}"
    if error.msg.startswith("Extra data"):
        return f"invalid character {char} after top-level value"
    if error.msg.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    return f"invalid character {char} looking for beginning of value"


def _decode(raw: bytes) -> tuple[dict[str, Any], Refusal | None]:
    """The body as gin's ShouldBindJSON sees it: empty is `missing request body` (io.EOF) [routes.go], broken JSON
    Go's syntax error, a non-object Go's type error; `null` decodes to the zero request."""
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return {}, Refusal(400, "missing request body")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, Refusal(400, go_syntax_error(text, exc))
    if body is None:
        return {}, None
    if not isinstance(body, dict):
        kind = "array" if isinstance(body, list) else "string" if isinstance(body, str) else "number"
        kind = "bool" if isinstance(body, bool) else kind
        return {}, Refusal(400, f"json: cannot unmarshal {kind} into Go value of type api.ChatRequest")
    return body, None


# --- wire -> the model's prompt -------------------------------------------------------------------------------------


def _turn(message: Mapping[str, Any]) -> Turn:
    calls = []
    for position, raw in enumerate(message.get("tool_calls") or []):
        function = raw.get("function") if isinstance(raw, Mapping) else None
        if isinstance(function, Mapping):
            arguments = function.get("arguments") or {}
            call_id = raw.get("id") or f"call_{position}"
            calls.append(Call(str(call_id), str(function.get("name") or ""), json.dumps(arguments)))
    call_id = message.get("tool_call_id") or message.get("tool_name")
    role = str(message.get("role") or "").lower()  # roles are lower-cased on decode (research section 5)
    return Turn(role, str(message.get("content") or ""), tuple(calls), str(call_id) if call_id else None)


def to_prompt(body: Mapping[str, Any]) -> Prompt:
    """The model's view of a (valid) `/api/chat` body. Ollama has no tool_choice (auto is its behaviour) and no
    parallel switch [types.go ChatRequest]; `options.num_predict` (> 0) is the budget and `options.stop` the stop
    strings [types.go Options]; `format` "json" or a schema asks for JSON [api.md]."""
    messages = body.get("messages") or []
    options = body.get("options") if isinstance(body.get("options"), Mapping) else {}
    assert isinstance(options, Mapping)
    num_predict = options.get("num_predict")
    budget = None
    if isinstance(num_predict, (int, float)) and not isinstance(num_predict, bool) and num_predict > 0:
        budget = int(num_predict)  # -1 (the default) and -2 mean no limit
    stops = tuple(s for s in options.get("stop") or () if isinstance(s, str))
    fmt = body.get("format")
    return Prompt(
        turns=tuple(_turn(m) for m in messages if isinstance(m, Mapping)),
        tools=function_tools(body.get("tools")),
        max_tokens=budget,
        stop=stops,
        json_output=fmt == "json" or isinstance(fmt, Mapping),
        json_schema=fmt if isinstance(fmt, Mapping) else None,
    )


# --- the alias row --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OllamaAlias:
    """One Ollama-speaking alias: where it lives, the library it pulls from, what it has at start, its rules."""

    name: str
    base_url: str
    library: tuple[ModelCard, ...]
    local_at_start: tuple[str, ...]
    rules: tuple[Rule, ...]
    sources: Mapping[str, str] = field(default_factory=dict)


OLLAMA_ALIASES: Final[tuple[OllamaAlias, ...]] = (
    OllamaAlias(
        name="ollama",
        base_url="http://localhost:11434",
        library=LIBRARY,
        local_at_start=LOCAL_AT_START,
        rules=CHAT_RULES,
        sources={
            "auth": "docs/api/authentication.mdx: the local API does not require authentication (no key is read)",
            "errors": 'docs/api/errors.mdx: {"error": "..."}; mid-stream errors are an NDJSON line after a 200',
            "stream": "api/types.go ChatRequest.Stream: true by default; docs/api/streaming.mdx: NDJSON",
            "tool_calls": "docs/api.md: tool calls whole, arguments an object; routes.go toolCallId: call_ + 8",
            "metrics": "api/types.go Metrics: durations in nanoseconds, omitted when zero",
            "tags": "docs/api.md List Local Models; routes.go ListHandler (most recently modified first)",
            "show": "docs/api.md Show Model Information; routes.go ShowHandler (404 model 'x' not found)",
            "pull": "docs/api.md Pull a Model; 'pull model manifest: file does not exist' for an unknown name",
        },
    ),
)


# --- time, ids, metrics ---------------------------------------------------------------------------------------------


def _timestamp(nanoseconds: int) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's time.Time marshals (`2025-01-31T12:00:00.5Z`)."""
    import datetime

    seconds, nanos = divmod(nanoseconds, 1_000_000_000)
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _call_id(seed: str, index: int) -> str:
    number = int(derive(seed, "call", index), 16)
    chars = []
    for _ in range(8):
        number, digit = divmod(number, len(_CALL_ID_ALPHABET))
        chars.append(_CALL_ID_ALPHABET[digit])
    return "call_" + "".join(chars)


def _pieces(text: str) -> list[str]:
    """Stream deltas that join back to `text` exactly.

    >>> _pieces("That's a  fantastic question! ")
    ["That's", ' a', '  fantastic', ' question! ']
    """
    return _PIECE.findall(text)


# --- the model's reply -> Ollama's shapes -----------------------------------------------------------------------------


class _Render:
    """One reply in Ollama's shapes [types.go ChatResponse, Message, ToolCall, Metrics]. Pure: same input, same
    bytes."""

    def __init__(self, body: Mapping[str, Any], reply: Reply, thinking: str, seed: str) -> None:
        self.body = body
        self.reply = reply
        self.thinking = thinking
        self.seed = seed
        self.model = str(body.get("model"))
        self.start = (_EPOCH_DAY * 86_400 + int(seed[:8], 16) % 31_536_000) * 1_000_000_000 + int(seed[8:14], 16)

    def created_at(self, step: int) -> str:
        return _timestamp(self.start + step * 17_304_212)

    def calls(self) -> list[dict[str, Any]]:
        """Whole tool calls: an id, and the function with its index, name and arguments as an object."""
        return [
            {
                "id": _call_id(self.seed, i),
                "function": {"index": i, "name": call.name, "arguments": dict(call.arguments)},
            }
            for i, call in enumerate(self.reply.calls)
        ]

    def done_reason(self) -> str:
        # Ollama says "stop" for a finished turn, tool calls included; "length" when num_predict ran out
        # [types.go ChatResponse.DoneReason; api.md "Chat request (with tools)"].
        return "length" if self.reply.finish == "length" else "stop"

    def metrics(self) -> dict[str, int]:
        """The final object's counts and durations (nanoseconds), zero ones omitted [types.go Metrics omitempty]."""
        prompt = self.reply.prompt_tokens
        generated = self.reply.completion_tokens + count_tokens(self.thinking)
        load, prompt_ns, eval_ns = 48_211_334, prompt * 1_287_500, generated * 21_093_750
        values = {
            "total_duration": load + prompt_ns + eval_ns + 3_517_209,
            "load_duration": load,
            "prompt_eval_count": prompt,
            "prompt_eval_duration": prompt_ns,
            "eval_count": generated,
            "eval_duration": eval_ns,
        }
        return {key: value for key, value in values.items() if value}

    def _object(self, step: int, message: Mapping[str, Any], *, done: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "created_at": self.created_at(step), "message": dict(message)}
        if done:
            out["done_reason"] = self.done_reason()
        out["done"] = done
        if done:
            out.update(self.metrics())
        return out

    def whole(self) -> dict[str, Any]:
        """The `"stream": false` answer: the content and thinking joined, the tool calls, then the final fields."""
        message: dict[str, Any] = {"role": "assistant", "content": self.reply.text}
        if self.thinking:
            message["thinking"] = self.thinking
        if self.reply.calls:
            message["tool_calls"] = self.calls()
        return self._object(0, message, done=True)

    def chunks(self) -> list[bytes]:
        """The NDJSON stream: thinking deltas, content deltas, the tool calls whole in one `done: false` object,
        then the `done: true` object with an empty content, `done_reason` and the metrics."""
        objects: list[dict[str, Any]] = []
        for piece in _pieces(self.thinking):
            objects.append(
                self._object(len(objects), {"role": "assistant", "content": "", "thinking": piece}, done=False)
            )
        for piece in _pieces(self.reply.text):
            objects.append(self._object(len(objects), {"role": "assistant", "content": piece}, done=False))
        if self.reply.calls:
            tool_message = {"role": "assistant", "content": "", "tool_calls": self.calls()}
            objects.append(self._object(len(objects), tool_message, done=False))
        objects.append(self._object(len(objects), {"role": "assistant", "content": ""}, done=True))
        return [go_json(item) + b"\n" for item in objects]


def _thinking(prompt: Prompt, reply: Reply) -> str:
    """What a thinking model reasons before it answers: short and deterministic."""
    if reply.calls:
        names = ", ".join(dict.fromkeys(call.name for call in reply.calls))
        return f"The user wants something a tool can give. I should call {names}."
    if prompt.turns and prompt.turns[-1].role == "tool":
        return "The tool has answered. I will report what it returned."
    return "The user wrote to me. I will answer the last message directly."


def _keep_alive_zero(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str) and re.fullmatch(r"0+(\.0+)?(ns|us|µs|ms|s|m|h)?", value.strip()) is not None


# --- the simulator ----------------------------------------------------------------------------------------------------

_PULL_EPOCH: Final = (_EPOCH_DAY + 151) * 86_400 * 1_000_000_000  # 2025-06-01: pulled models are the newest
_PULL_STEPS: Final = 4


class OllamaSimulator(AliasSimulator):
    """One Ollama server: its routes, its model store (per server, changed by pulls) and its rules."""

    protocol = PROTOCOL

    def __init__(self, state: SimulatorState, *, row: OllamaAlias) -> None:
        super().__init__(state)
        self.row = row
        self.base_path = base_path_of(row.base_url)
        self.library = {card.name: card for card in row.library}
        self.local: dict[str, ModelCard] = {name: self.library[name] for name in row.local_at_start}
        self._pulled_at: dict[str, str] = {}

    def routes(self) -> list[BaseRoute]:
        base = self.base_path
        return [
            Route(f"{base}/", self.root, methods=["GET", "HEAD"]),
            Route(f"{base}/api/chat", self.chat, methods=["POST"]),
            Route(f"{base}/api/tags", self.tags, methods=["GET", "HEAD"]),
            Route(f"{base}/api/show", self.show, methods=["POST"]),
            Route(f"{base}/api/pull", self.pull, methods=["POST"]),
        ]

    # --- errors ---------------------------------------------------------------------------------------------------

    def error(self, refusal: Refusal) -> Response:
        return Response(go_json(error_body(refusal)), status_code=refusal.status, headers={"content-type": JSON_TYPE})

    def fault_response(self, status: int) -> Response:
        messages = {
            429: "too many requests, please try again later (simulator text)",  # 429 listed in [errors.mdx]
            500: "an error was encountered while running the model",  # [errors.mdx] example
            503: "server busy, please try again.  maximum pending requests exceeded",  # server/sched.go ErrMaxQueue
        }
        return self.error(Refusal(status, messages.get(status, "server overloaded, please try again (simulator text)")))

    def not_found(self, request: Request) -> Response:
        # gin's own answers for an unknown path and (HandleMethodNotAllowed) a known path with another method.
        known = {route.path for route in self.routes() if isinstance(route, Route)}
        if request.url.path in known:
            return Response("405 method not allowed", status_code=405, media_type="text/plain")
        return Response("404 page not found", status_code=404, media_type="text/plain")

    def stream_error_chunk(self) -> bytes:
        return go_json({"error": "an error was encountered while running the model"}) + b"\n"  # [errors.mdx]

    def malformed_chunk(self) -> bytes:
        return b'{"model":"llama3.2","created_at":"2025-01-31T12:00:00Z","message":{"role":"assistant","content":"tru\n'

    def _json(self, exchange: Exchange, value: Any) -> Response:
        return self.send_json(exchange, go_json(value), headers={"content-type": JSON_TYPE})

    def _card(self, name: Any) -> ModelCard | None:
        canonical = canonical_name(name) if isinstance(name, str) else None
        return self.local.get(canonical) if canonical is not None else None

    # --- endpoints ------------------------------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        await self.begin(request)
        return Response("Ollama is running", media_type="text/plain")  # [routes.go GenerateRoutes]

    async def tags(self, request: Request) -> Response:
        """`GET /api/tags`: the local models, most recently modified first [routes.go ListHandler; api.md]."""
        exchange = await self.begin(request)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        cards = sorted(self.local.values(), key=self._modified_at, reverse=True)
        models = [
            {
                "name": card.name,
                "model": card.name,
                "modified_at": self._modified_at(card),
                "size": card.size,
                "digest": card.digest,
                "details": card.details(),
            }
            for card in cards
        ]
        return self._json(exchange, {"models": models})

    def _modified_at(self, card: ModelCard) -> str:
        return self._pulled_at.get(card.name, card.modified_at)

    async def show(self, request: Request) -> Response:
        """`POST /api/show`: one local model's details, 404 for any other [routes.go ShowHandler; api.md]."""
        exchange = await self.begin(request)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        body, refusal = _decode(exchange.body)
        if refusal is not None:
            return self.error(Refusal(refusal.status, refusal.message.replace("api.ChatRequest", "api.ShowRequest")))
        name = body.get("model") or body.get("name")  # `name` is the deprecated spelling [types.go ShowRequest]
        if not isinstance(name, str) or not name:
            return self.error(Refusal(400, "model is required"))
        card = self._card(name)
        if card is None:
            return self.error(Refusal(404, f"model '{name}' not found"))
        return self._json(exchange, self._show_body(card))

    def _show_body(self, card: ModelCard) -> dict[str, Any]:
        blob = card.layers()[0][0].replace(":", "-")
        parameters = "\n".join(
            f"PARAMETER {line.split(maxsplit=1)[0]} {line.split(maxsplit=1)[1]}"
            for line in card.parameters.splitlines()
        )
        modelfile = (
            '# Modelfile generated by "ollama show"\n'
            "# To build a new Modelfile based on this, replace FROM with:\n"
            f"# FROM {card.name}\n\n"
            f"FROM /root/.ollama/models/blobs/{blob}\n"
            f'TEMPLATE """{card.template}"""\n'
            f"{parameters}\n"
        )
        return {
            "modelfile": modelfile,
            "parameters": card.parameters,
            "template": card.template,
            "details": card.details(),
            "model_info": card.model_info(),
            "capabilities": list(card.capabilities),
            "modified_at": self._modified_at(card),
        }

    async def pull(self, request: Request) -> Response:
        """`POST /api/pull`: progress lines, then the model is local [api.md "Pull a Model"; routes.go PullHandler]."""
        exchange = await self.begin(request)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        body, refusal = _decode(exchange.body)
        if refusal is not None:
            return self.error(Refusal(refusal.status, refusal.message.replace("api.ChatRequest", "api.PullRequest")))
        raw_name = body.get("model") or body.get("name")
        name = canonical_name(raw_name) if isinstance(raw_name, str) else None
        if name is None:
            return self.error(Refusal(400, "invalid model name"))  # errtypes.InvalidModelNameErrMsg [routes.go]
        card = self.library.get(name)
        lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
        if card is None:
            failure = "pull model manifest: file does not exist"
            if body.get("stream") is False:
                return self.error(Refusal(500, failure))  # waitForStream: an error without a status is a 500
            lines.append({"error": failure})
        else:
            lines += self._progress(card)
            self.local[card.name] = card
            self._pulled_at[card.name] = _timestamp(_PULL_EPOCH + len(self._pulled_at) * 1_000_000_000)
            if body.get("stream") is False:
                return self._json(exchange, {"status": "success"})
        return self.send_stream(exchange, [go_json(line) + b"\n" for line in lines], media_type=NDJSON_TYPE)

    @staticmethod
    def _progress(card: ModelCard) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []
        for layer_digest, total in card.layers():
            status = f"pulling {layer_digest[7:19]}"  # the short digest [server/download.go]
            lines.append({"status": status, "digest": layer_digest, "total": total})
            steps = _PULL_STEPS if total > 1_000_000 else 1
            for step in range(1, steps + 1):
                lines.append(
                    {"status": status, "digest": layer_digest, "total": total, "completed": total * step // steps}
                )
        lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        return lines

    async def chat(self, request: Request) -> Response:
        exchange = await self.begin(request)
        faulted = self.status_fault(exchange)
        if faulted is not None:
            return faulted
        body, refusal = _decode(exchange.body)
        if refusal is not None:
            return self.error(refusal)
        incoming = Incoming(body, self.local)
        refusal = first_refusal(self.row.rules, incoming)
        if refusal is not None:
            return self.error(refusal)
        card = incoming.card
        assert card is not None  # KnownModel passed
        # The same request gets the same answer and ids, streamed or not.
        seed = digest({"alias": self.row.name, "body": {k: v for k, v in body.items() if k != "stream"}})
        if not incoming.messages:
            return self._load(exchange, body, seed)
        prompt = to_prompt(body)
        reply = respond(prompt)
        thinks = "thinking" in card.capabilities and body.get("think") is not False  # on by default [routes.go]
        render = _Render(body, reply, _thinking(prompt, reply) if thinks else "", seed)
        if body.get("stream") is False:
            return self._json(exchange, render.whole())
        return self.send_stream(exchange, render.chunks(), media_type=NDJSON_TYPE)

    def _load(self, exchange: Exchange, body: Mapping[str, Any], seed: str) -> Response:
        """No messages: the model is loaded (or, with keep_alive 0, unloaded); one JSON object either way
        [api.md "Load a model", "Unload a model"; routes.go ChatHandler]."""
        reason = "unload" if _keep_alive_zero(body.get("keep_alive")) else "load"
        render = _Render(body, respond(Prompt(turns=())), "", seed)
        answer = {
            "model": render.model,
            "created_at": render.created_at(0),
            "message": {"role": "assistant", "content": ""},
            "done_reason": reason,
            "done": True,
        }
        return self._json(exchange, answer)


def _register(rows: Sequence[OllamaAlias]) -> None:
    for row in rows:
        factory = functools.partial(OllamaSimulator, row=row)
        register_alias(AliasEntry(row.name, PROTOCOL, row.base_url, factory), replace=True)


_register(OLLAMA_ALIASES)
