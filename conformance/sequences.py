"""Generated sequences as frozen data: the corpus drawn from the strategies, and one attempt of one case on one alias.

Policy:
- The corpus (`conformance/corpus/*.json`, committed) is a seeded draw from `conformance.strategies`, written as
  canonical JSON: the `ChatRequest` fields a caller gives (messages, tools, options), never the model (each alias
  sends its own default) nor `stream` (cases are sent with `chat`). Record and replay read these files, never
  Hypothesis, so they send byte-identical requests whatever Hypothesis version is installed; changing the
  strategies changes the corpus only when someone runs `allos-conform corpus --regenerate`.
- The draw is varied on purpose: cases come from a few capability profiles (plain chat, tools, everything) and are
  picked from a larger pool to cover the most features (parallel calls, error results, nested schemas, many tools,
  unicode, empty text, foreign ids...), then bounded in size so that replaying the corpus stays fast.
- An attempt runs one case through the real Provider and classifies what happened: `accepted` (a 2xx answer that
  parsed), `refused` (Allos refused it before sending, for a documented reason: `InvalidRequestError`, or
  `UnsupportedCapabilityError` for a capability the alias does not declare), `failed` (anything else: a 4xx, an
  answer that does not parse, any other exception), `unavailable` (429, 5xx, no connection), `stale` (replay found
  no matching recording) or `blocked` (an offline attempt that would have sent a request).
"""

from __future__ import annotations

import itertools
import json
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from allos import ChatRequest, Message, get_provider
from allos.capabilities import ALL_CAPABILITIES, Capability
from allos.errors import (
    APIConnectionError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    ServerError,
    UnsupportedCapabilityError,
)
from allos.providers.base import required_capabilities
from allos.providers.registry import ProviderSpec
from allos.types import ImagePart, NamedToolChoice, TextPart

__all__ = [
    "CORPUS_DIR",
    "PROFILES",
    "Attempt",
    "CorpusCase",
    "Wire",
    "attempt",
    "blocking_transport",
    "corpus_manifest",
    "draw_corpus",
    "features",
    "http_transport",
    "load_corpus",
    "write_corpus",
]

CORPUS_DIR: Final = Path(__file__).resolve().parent / "corpus"
CORPUS_SCHEMA_VERSION: Final = 1
DEFAULT_SEED: Final = 20261125
DEFAULT_COUNT: Final = 16
DEFAULT_POOL: Final = 120
# A case bigger than this (canonical JSON) is not kept: one long description or forty tools fit, a 100 KB history
# does not, and every byte is stored once per alias in the cassettes.
MAX_CASE_BYTES: Final = 16_000

_CORE: Final = frozenset(
    {
        Capability.CHAT,
        Capability.SYSTEM_PROMPT,
        Capability.MULTI_TURN,
        Capability.MAX_TOKENS,
        Capability.UNICODE,
        Capability.USAGE,
    }
)
# Capability profiles the corpus is drawn from, with their share of the cases. `core` is what every alias claims,
# `tools` what every alias with tools claims, `full` everything (some aliases then refuse parts of it cleanly).
PROFILES: Final[dict[str, frozenset[Capability]]] = {
    "core": _CORE,
    "tools": _CORE
    | {
        Capability.TOOLS,
        Capability.TOOL_CALL,
        Capability.TOOL_RESULT,
        Capability.TOOL_CHOICE_NONE,
        Capability.HANDOFF,
    },
    "full": ALL_CAPABILITIES,
}
_SHARES: Final = {"core": 1, "tools": 2, "full": 1}
# What some protocol cannot carry, so that Allos refuses it there (Anthropic: temperature above 1, a blank stop
# sequence; Responses: seed, max_tokens under 16): drawn, but not favoured.
_UNPORTABLE: Final = frozenset({"option:temperature>1", "option:seed", "option:max_tokens<16", "option:stop-blank"})


# --- the corpus -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusCase:
    """One frozen case: `request` is a canonical `ChatRequest` as JSON, without `model` and `stream`.

    >>> case = CorpusCase("gen_00", "core", {"messages": [{"role": "user", "content": "hi"}]})
    >>> case.chat_request("m").messages[0].content
    'hi'
    """

    id: str
    profile: str
    request: Mapping[str, Any]

    def chat_request(self, model: str) -> ChatRequest:
        return ChatRequest.model_validate({**self.request, "model": model})

    @property
    def messages(self) -> tuple[Message, ...]:
        return self.chat_request("m").messages

    @property
    def options(self) -> dict[str, Any]:
        """The keyword options of `Provider.chat` (canonical objects, so nothing is re-interpreted on the way)."""
        request = self.chat_request("m")
        return {name: getattr(request, name) for name in self.request if name not in ("messages", "model", "stream")}

    def needs(self) -> set[Capability]:
        return required_capabilities(self.chat_request("m"))

    def replace(self, request: Mapping[str, Any]) -> CorpusCase:
        return CorpusCase(self.id, self.profile, request)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "profile": self.profile, "request": dict(self.request)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorpusCase:
        return cls(str(data["id"]), str(data.get("profile", "")), dict(data["request"]))

    def size(self) -> int:
        return len(dumps(self.request))


def dumps(value: Any) -> str:
    """The corpus's JSON spelling: UTF-8, control characters escaped, one key per line for readable diffs."""
    return json.dumps(value, ensure_ascii=False, indent=1, allow_nan=False)


def canonical_json(request: ChatRequest) -> dict[str, Any]:
    """A request as corpus data: everything but the defaults, the model and `stream`."""
    data = request.model_dump(mode="json", exclude_none=True)
    for name in ("model", "stream", "tools", "stop", "extra_body"):
        if name in ("model", "stream") or not data.get(name):
            data.pop(name, None)
    for message in data["messages"]:
        if not message.get("tool_calls"):
            message.pop("tool_calls", None)
        if message.get("is_error") is False:
            del message["is_error"]
    return data


def load_corpus(directory: Path = CORPUS_DIR) -> list[CorpusCase]:
    """Every case in `directory`, in id order (the manifest `index.json` is not a case)."""
    cases = []
    for path in sorted(directory.glob("*.json")):
        if path.name == "index.json":
            continue
        cases.append(CorpusCase.from_json(json.loads(path.read_text(encoding="utf-8"))))
    return cases


def corpus_manifest(directory: Path = CORPUS_DIR) -> dict[str, Any]:
    """The corpus's `index.json` (seed, count, Hypothesis version, features per case); {} when there is none."""
    path = directory / "index.json"
    if not path.exists():
        return {}
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def write_corpus(cases: Sequence[CorpusCase], directory: Path, *, seed: int, pool: int) -> list[Path]:
    """Replace the corpus in `directory` with `cases` (one file each) and its manifest; other files are removed."""
    from hypothesis import __version__ as hypothesis_version

    from conformance.results import write_atomic

    directory.mkdir(parents=True, exist_ok=True)
    keep = {f"{case.id}.json" for case in cases} | {"index.json"}
    for old in directory.glob("*.json"):
        if old.name not in keep:
            old.unlink()
    paths = []
    for case in cases:
        path = directory / f"{case.id}.json"
        write_atomic(path, dumps(case.to_json()) + "\n")
        paths.append(path)
    manifest = {
        "schema_version": CORPUS_SCHEMA_VERSION,
        "seed": seed,
        "count": len(cases),
        "pool": pool,
        "drawn_with": f"hypothesis {hypothesis_version}",
        "command": f"allos-conform corpus --regenerate --seed {seed} --count {len(cases)}",
        "cases": {case.id: {"profile": case.profile, "features": sorted(features(case))} for case in cases},
    }
    write_atomic(directory / "index.json", dumps(manifest) + "\n")
    return paths


# --- drawing it -----------------------------------------------------------------------------------------------------


def _draw_pool(capabilities: frozenset[Capability], seed: int, size: int) -> list[ChatRequest]:
    """`size` requests from `chat_requests`, deterministic for a seed and a Hypothesis version."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from conformance.strategies import chat_requests

    drawn: list[ChatRequest] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=size,
        database=None,
        derandomize=False,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(chat_requests(capabilities=capabilities, stream=False))
    def collect(request: ChatRequest) -> None:
        drawn.append(request)

    collect()
    return drawn


def draw_corpus(seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT, *, pool: int = DEFAULT_POOL) -> list[CorpusCase]:
    """A fresh corpus: for each profile, a pool of drawn requests, of which the ones covering the most features
    (ties: the smaller) are kept. Ids are `gen_01`, `gen_02`, ... in profile order."""
    total = sum(_SHARES.values())
    quotas = {name: max(1, count * share // total) for name, share in _SHARES.items()}
    quotas["tools"] += count - sum(quotas.values())  # rounding goes to the biggest profile
    chosen: list[tuple[str, dict[str, Any]]] = []
    for offset, (profile, capabilities) in enumerate(PROFILES.items()):
        candidates: dict[str, dict[str, Any]] = {}
        for request in _draw_pool(capabilities, seed + offset, pool):
            data = canonical_json(request)
            text = dumps(data)
            if len(text.encode()) <= MAX_CASE_BYTES:
                candidates.setdefault(text, data)  # Hypothesis repeats itself: identical draws count once
        picked = _most_varied([CorpusCase("", profile, data) for data in candidates.values()], quotas[profile])
        chosen += [(profile, dict(case.request)) for case in picked]
    return [CorpusCase(f"gen_{n:02d}", profile, dict(data)) for n, (profile, data) in enumerate(chosen, start=1)]


def _most_varied(cases: Sequence[CorpusCase], count: int) -> list[CorpusCase]:
    """A greedy pick for variety: each feature is worth less every time a picked case already has it; every 4 KB
    costs a point (so a huge case must bring a lot) and each option that some protocol cannot carry costs two (such
    a case is refused there, and tests nothing else). Cases with the same features count once (the smallest)."""
    distinct: dict[frozenset[str], CorpusCase] = {}
    for case in sorted(cases, key=CorpusCase.size):
        distinct.setdefault(frozenset(features(case)), case)
    remaining = list(distinct.items())
    seen: dict[str, int] = {}
    picked: list[CorpusCase] = []

    def score(item: tuple[frozenset[str], CorpusCase]) -> float:
        marks, case = item
        unportable = len(marks & _UNPORTABLE)
        return sum(1 / (1 + seen.get(mark, 0)) for mark in marks) - case.size() / 4000 - 2 * unportable

    while remaining and len(picked) < count:
        best = max(remaining, key=score)
        remaining.remove(best)
        picked.append(best[1])
        for mark in best[0]:
            seen[mark] = seen.get(mark, 0) + 1
    return picked


def _schema_features(schema: Any, out: set[str], depth: int = 0) -> None:
    if isinstance(schema, dict):
        if "enum" in schema:
            out.add("schema:enum")
        kind = schema.get("type")
        if isinstance(kind, list):
            out.add("schema:nullable")
        if kind == "array":
            out.add("schema:array")
        if kind == "object" and depth > 0:
            out.add("schema:nested-object")
        if schema.get("additionalProperties") is False:
            out.add("schema:closed")
        if schema.get("required") == []:
            out.add("schema:empty-required")
        for key in ("properties",):
            for sub in (schema.get(key) or {}).values():
                _schema_features(sub, out, depth + 1)
        _schema_features(schema.get("items"), out, depth + 1)


def _text_features(text: str, out: set[str]) -> None:
    if text == "":
        out.add("text:empty")
    elif not text.strip():
        out.add("text:whitespace")
    if len(text) > 1000:
        out.add("text:long")
    if any(ord(c) > 0xFFFF for c in text):
        out.add("text:astral")
    elif any(ord(c) > 127 for c in text):
        out.add("text:non-ascii")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        out.add("text:control")
    if text.strip().startswith(("{", "[")):
        out.add("text:json-like")


def _id_feature(call_id: str) -> str:
    for prefix in ("call_", "toolu_01", "function-call-"):
        if call_id.startswith(prefix):
            return f"id:{prefix.rstrip('_-')}"
    return "id:alnum9" if len(call_id) == 9 and call_id.isalnum() else "id:other"


def _message_features(message: Message, out: set[str]) -> None:
    if isinstance(message.content, tuple):
        out.add("content:parts")
        for part in message.content:
            if isinstance(part, ImagePart):
                out.add("content:image")
            elif isinstance(part, TextPart):
                _text_features(part.text, out)
    elif isinstance(message.content, str):
        _text_features(message.content, out)
    if message.name:
        out.add("message:name")
    if message.reasoning:
        out.add("message:reasoning")
    if message.tool_calls:
        out.add("tools:call")
        out.add("assistant:null-content" if message.content is None else "assistant:content-with-calls")
        if len(message.tool_calls) > 1:
            out.add("tools:parallel-calls")
        out.update(_id_feature(call.id) for call in message.tool_calls)
    if message.is_error:
        out.add("tools:error-result")


def features(case: CorpusCase) -> set[str]:
    """What a case exercises, as short labels: used to pick a varied corpus and listed in its manifest.

    >>> sorted(features(CorpusCase("x", "core", {"messages": [{"role": "user", "content": ""}]})))
    ['text:empty', 'turns:1']
    """
    request = case.chat_request("m")
    out: set[str] = set()
    roles = [m.role for m in request.messages]
    out.add(f"turns:{min(roles.count('user'), 3)}")
    if "system" in roles:
        out.add("system")
    if any(a == b == "user" for a, b in itertools.pairwise(roles)):
        out.add("user-user")
    for message in request.messages:
        _message_features(message, out)
    _option_features(request, out)
    return out


def _option_features(request: ChatRequest, out: set[str]) -> None:
    if request.tools:
        out.add("tools:many" if len(request.tools) >= 16 else "tools:some")
        for tool in request.tools:
            _schema_features(tool.parameters, out)
            _text_features(tool.description, out)
            if tool.strict is not None:
                out.add("tools:strict")
    if isinstance(request.tool_choice, NamedToolChoice):
        out.add("tool_choice:named")
    elif request.tool_choice is not None:
        out.add(f"tool_choice:{request.tool_choice}")
    for name in ("parallel_tool_calls", "top_p", "seed"):
        if getattr(request, name) is not None:
            out.add(f"option:{name}")
    if request.max_tokens is not None:
        out.add("option:max_tokens<16" if request.max_tokens < 16 else "option:max_tokens")
    if request.temperature is not None:
        out.add("option:temperature>1" if request.temperature > 1 else "option:temperature")
    if request.stop:
        out.add("option:stop-blank" if any(not stop.strip() for stop in request.stop) else "option:stop")
    if request.response_format is not None:
        out.add(f"format:{request.response_format.type}")


# --- one attempt ----------------------------------------------------------------------------------------------------

Kind = Literal["accepted", "refused", "failed", "unavailable", "stale", "blocked"]


class Blocked(Exception):
    """Raised by the offline transport: the attempt would have sent a request."""


def http_transport() -> httpx.HTTPTransport:
    """A real transport; the TLS context is shared (loading the CA bundle costs more than a simulator's answer)."""
    from conformance.cassettes import _ssl_context

    return httpx.HTTPTransport(verify=_ssl_context())


def blocking_transport() -> httpx.MockTransport:
    """A transport that lets nothing out: an offline attempt that gets this far would have been sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise Blocked(f"would send {request.method} {request.url}")

    return httpx.MockTransport(handler)


@dataclass
class Wire:
    """What went over the wire in one attempt, seen through httpx event hooks (so also through vcrpy)."""

    method: str | None = None
    url: str | None = None
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    sent: int = 0

    def on_request(self, request: httpx.Request) -> None:
        self.sent += 1
        self.method, self.url = request.method, str(request.url)
        self.request_body = request.content.decode("utf-8", errors="replace")

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        self.status = response.status_code
        kept = ("content-type", "retry-after", "x-request-id", "request-id")
        self.response_headers = {k: v for k, v in response.headers.items() if k.lower() in kept}
        self.response_body = response.text

    def client(self, transport: httpx.BaseTransport, *, timeout: float = 60) -> httpx.Client:
        hooks: dict[str, list[Callable[..., Any]]] = {"request": [self.on_request], "response": [self.on_response]}
        return httpx.Client(transport=transport, event_hooks=hooks, timeout=timeout)


@dataclass(frozen=True)
class Attempt:
    """How one case went on one alias, with the wire evidence."""

    case: CorpusCase
    kind: Kind
    reason: str = ""
    error: str | None = None
    status: int | None = None
    wire: Wire = field(default_factory=Wire)
    # What the provider said (its message, type and code) or where Allos failed: tells one failure from another.
    detail: str = ""

    @property
    def sent(self) -> bool:
        return self.wire.sent > 0

    def signature(self) -> tuple[str, str | None, int | None, bool]:
        """What makes two failures the same failure (for shrinking): kind, error class, status, sent or not."""
        return self.kind, self.error, self.status, self.sent


def _classify(spec: ProviderSpec, case: CorpusCase, exc: BaseException, wire: Wire) -> Attempt:
    name = type(exc).__name__
    if type(exc).__module__.startswith("vcr") and "CannotOverwrite" in name:
        return Attempt(case, "stale", "the request no longer matches its recording", name, wire=wire)
    if isinstance(exc, Blocked):
        return Attempt(case, "blocked", str(exc), name, wire=wire)
    if isinstance(exc, UnsupportedCapabilityError) and wire.sent == 0:
        if exc.capability in {c.value for c in spec.capabilities}:
            refusal = f"declared {exc.capability}, yet Allos refused it: {exc.message}"
            return Attempt(case, "failed", refusal, name, wire=wire, detail=refusal)
        return Attempt(case, "refused", exc.message, name, wire=wire)
    if isinstance(exc, InvalidRequestError) and wire.sent == 0:
        return Attempt(case, "refused", exc.message, name, wire=wire)
    if isinstance(exc, ProviderError):
        # What the provider said, without the request id and the hint: the same answer reads the same every time.
        said = f"{exc.status_code} {name}: {exc.message}" if exc.status_code is not None else f"{name}: {exc.message}"
        said += wait_note(exc)
        kind: Kind = "unavailable" if isinstance(exc, (RateLimitError, ServerError, APIConnectionError)) else "failed"
        detail = f"{exc.error_type or ''}|{exc.code or ''}|{exc.message}"
        return Attempt(case, kind, said, name, exc.status_code, wire=wire, detail=detail)
    where = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return Attempt(case, "failed", f"{where}{at}", name, wire=wire, detail=f"{name}{at}")


def wait_note(exc: ProviderError) -> str:
    """For a 429, how long the provider asked to wait (the transport does not retry past its cap), so a reader of
    an unavailable cell knows whether a later run can succeed; "" otherwise.

    >>> wait_note(RateLimitError("slow down", provider="p", retry_after=3600.0))
    ' (rate limited; the provider asks to retry after 3600 s)'
    """
    if isinstance(exc, RateLimitError) and isinstance(exc.retry_after, (int, float)):
        return f" (rate limited; the provider asks to retry after {exc.retry_after:g} s)"
    return ""


def attempt(
    spec: ProviderSpec,
    case: CorpusCase,
    transport: httpx.BaseTransport,
    *,
    base_url: str,
    api_key: str | None,
    headers: Mapping[str, str] | None = None,
    max_retries: int = 0,
) -> Attempt:
    """Send `case` to `spec`'s alias through the real Provider over `transport` (`chat`, the alias's default model)
    and classify the outcome. Never raises for what the case does: that is the outcome."""
    wire = Wire()
    with wire.client(transport) as client:
        provider = get_provider(
            spec.name,
            model=spec.default_model or "conformance-model",
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            headers=dict(headers or {}),
            http_client=client,
        )
        try:
            provider.chat(list(case.messages), **case.options)
        except Exception as exc:  # the harness's job: whatever escapes is the outcome
            return _classify(spec, case, exc, wire)
    return Attempt(case, "accepted", wire=wire)


def summary(attempts: Iterable[Attempt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for one in attempts:
        counts[one.kind] = counts.get(one.kind, 0) + 1
    return counts
