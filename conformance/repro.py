"""Minimal reproductions: a failing generated case, shrunk, written as one JSON file that one command replays.

Policy:
- Shrinking is a delta reduction over the frozen case (the corpus is data, so there is no Hypothesis choice sequence
  to shrink): drop options, tools, whole turns (an assistant tool-call turn with its results), single calls, then
  simplify what is left (names, reasoning, error flags, descriptions, schemas, long text), keeping every step a
  valid canonical request, for as long as the smaller case still fails *the same way* (same outcome, error class,
  status and provider message, digits and quoted values aside). A failure before sending is shrunk offline; one that
  needs an answer is shrunk against the endpoint that gave it (a simulator, or the live provider with a small
  budget); a failure replayed from a live recording is written as it is.
- `reports/failures/<alias>-<case>.json` holds the exact request (canonical, and the HTTP body Allos sent), the
  answer, where it failed, and the command that replays it. It is written atomically.
- `allos-conform repro FILE` replays it and exits 0 when it no longer fails, 1 when it still fails, 2 when it cannot
  be replayed here (no simulator for the alias, no key, or the recorded answer no longer applies).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from allos.providers.registry import ProviderSpec
from conformance.inputs import InputInvalid, read_json, shown, validation_problem
from conformance.results import write_atomic
from conformance.sequences import Attempt, Blocked, CorpusCase, attempt, blocking_transport, http_transport

__all__ = [
    "REPRO_SCHEMA_VERSION",
    "Endpoint",
    "ReproInvalid",
    "failure_path",
    "forget_failure",
    "load_repro",
    "replay_repro",
    "shrink",
    "write_repro",
]

REPRO_SCHEMA_VERSION: Final = 1
# How many smaller candidates a shrink may send: generous offline and to a simulator, small to a real provider.
BUDGETS: Final = {"offline": 400, "simulator": 300, "provider": 40, "recorded": 0}
EXIT_FIXED, EXIT_STILL_FAILS, EXIT_CANNOT_REPLAY = 0, 1, 2
Where = Literal["offline", "simulator", "provider", "recorded"]


@dataclass(frozen=True)
class Endpoint:
    """Where candidates go: `simulator` with an empty base URL is started on demand."""

    where: Where
    base_url: str
    key: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: Sequence[str] = ()
    max_retries: int = 0

    def send(self, spec: ProviderSpec, case: CorpusCase, transport: httpx.BaseTransport | None = None) -> Attempt:
        return attempt(
            spec, case, transport or http_transport(), base_url=self.base_url, api_key=self.key,
            headers=self.headers, max_retries=self.max_retries,
        )  # fmt: skip


def offline(spec: ProviderSpec, case: CorpusCase) -> Attempt:
    """The case with nothing allowed out: for failures that happen before sending."""
    from conformance.runner import REPLAY_KEY, real_base_url

    return attempt(spec, case, blocking_transport(), base_url=real_base_url(spec), api_key=REPLAY_KEY)


@contextlib.contextmanager
def _started(spec: ProviderSpec, endpoint: Endpoint) -> Iterator[Endpoint]:
    if endpoint.where != "simulator" or endpoint.base_url:
        yield endpoint
        return
    from conformance.simulators import simulate

    with simulate(spec.name) as base_url:
        yield replace(endpoint, base_url=base_url)


# --- what makes two failures the same -------------------------------------------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_DIGITS = re.compile(r"\d+")


def same_failure(a: Attempt, b: Attempt) -> bool:
    """Same outcome, error class, status, sending or not, and provider message (digits and quoted values aside)."""
    return a.signature() == b.signature() and _normalised(a) == _normalised(b)


def _normalised(one: Attempt) -> str:
    text = one.detail or one.reason
    return " ".join(_DIGITS.sub("#", _QUOTED.sub("'…'", text)).split())[:160]


# --- shrinking ------------------------------------------------------------------------------------------------------

Request = dict[str, Any]
_OPTIONS: Final = (
    "tool_choice", "parallel_tool_calls", "max_tokens", "temperature", "top_p", "stop", "seed", "response_format",
)  # fmt: skip


def _units(messages: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Message indices that go together: a turn, or an assistant tool-call turn with the results that follow it."""
    units: list[list[int]] = []
    for index, message in enumerate(messages):
        if message.get("role") == "tool" and units and messages[units[-1][0]].get("tool_calls"):
            units[-1].append(index)
        else:
            units.append([index])
    return units


def _chunks(size: int) -> Iterator[tuple[int, int]]:
    """(start, end) slices to try removing: halves, quarters, ... single items (delta debugging's order)."""
    width = size // 2 or 1
    while True:
        for start in range(0, size, width):
            yield start, min(size, start + width)
        if width == 1:
            return
        width //= 2


def _without_units(request: Request) -> Iterator[Request]:
    messages = request["messages"]
    units = _units(messages)
    for start, end in _chunks(len(units)):
        drop = {i for unit in units[start:end] for i in unit}
        kept = [m for i, m in enumerate(messages) if i not in drop]
        if kept:
            yield {**request, "messages": kept}


def _without_tools(request: Request) -> Iterator[Request]:
    tools = request.get("tools") or []
    for start, end in _chunks(len(tools)):
        kept = tools[:start] + tools[end:]
        smaller = {**request, "tools": kept} if kept else {k: v for k, v in request.items() if k != "tools"}
        names = {tool["name"] for tool in kept}
        choice = smaller.get("tool_choice")
        if (isinstance(choice, dict) and choice.get("name") not in names) or (choice and not kept):
            smaller.pop("tool_choice", None)
        if not kept:
            smaller.pop("parallel_tool_calls", None)
        yield smaller


def _without_options(request: Request) -> Iterator[Request]:
    present = [name for name in _OPTIONS if name in request]
    if len(present) > 1:
        yield {k: v for k, v in request.items() if k not in present}
    for name in present:
        yield {k: v for k, v in request.items() if k != name}


def _without_single_calls(request: Request) -> Iterator[Request]:
    messages = request["messages"]
    for index, message in enumerate(messages):
        calls = message.get("tool_calls") or []
        for call in calls if len(calls) > 1 else []:
            kept = [
                dict(m, tool_calls=[c for c in calls if c is not call]) if i == index else m
                for i, m in enumerate(messages)
                if m.get("tool_call_id") != call["id"] or m.get("role") != "tool"
            ]
            yield {**request, "messages": kept}


def _simpler_text(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        texts = [part.get("text", "") for part in value if isinstance(part, dict)]
        if all(part.get("type") == "text" for part in value if isinstance(part, dict)):
            yield "".join(texts)
        for index in range(len(value)) if len(value) > 1 else []:
            yield value[:index] + value[index + 1 :]
    elif isinstance(value, str) and len(value) > 1:
        yield value[: len(value) // 2]


def _simpler_messages(request: Request) -> Iterator[Request]:
    messages = request["messages"]
    for index, message in enumerate(messages):
        optional = [name for name in ("name", "reasoning", "is_error") if name in message]
        variants: list[dict[str, Any]] = [{k: v for k, v in message.items() if k != name} for name in optional]
        variants += [dict(message, content=text) for text in _simpler_text(message.get("content"))]
        for call_index, call in enumerate(message.get("tool_calls") or []):
            if call.get("arguments"):
                calls = list(message["tool_calls"])
                calls[call_index] = {**call, "arguments": {}}
                variants.append(dict(message, tool_calls=calls))
        for variant in variants:
            yield {**request, "messages": [*messages[:index], variant, *messages[index + 1 :]]}


def _simpler_tools(request: Request) -> Iterator[Request]:
    tools = request.get("tools") or []
    for index, tool in enumerate(tools):
        variants: list[dict[str, Any]] = []
        if tool.get("description"):
            variants.append({**tool, "description": ""})
        if "strict" in tool:
            variants.append({k: v for k, v in tool.items() if k != "strict"})
        properties = tool.get("parameters", {}).get("properties") or {}
        if properties:
            variants.append({**tool, "parameters": {"type": "object", "properties": {}}})
        for name in properties if len(properties) > 1 else []:
            parameters = dict(tool["parameters"])
            parameters["properties"] = {k: v for k, v in properties.items() if k != name}
            if "required" in parameters:
                parameters["required"] = [r for r in parameters["required"] if r != name]
            variants.append({**tool, "parameters": parameters})
        for variant in variants:
            yield {**request, "tools": [*tools[:index], variant, *tools[index + 1 :]]}


_MOVES: Final[tuple[Callable[[Request], Iterator[Request]], ...]] = (
    _without_options,
    _without_tools,
    _without_units,
    _without_single_calls,
    _simpler_messages,
    _simpler_tools,
)


def _well_formed(request: Request) -> bool:
    """A valid canonical request in the strategies' sense: it validates, the first turn after the system prompt is
    a user's, it ends on a user turn or tool results, and every call is answered once, right after its turn."""
    try:
        messages = CorpusCase("", "", request).messages
    except (ValidationError, KeyError):
        return False
    turns = [m for m in messages if m.role != "system"]
    if not turns or turns[0].role != "user" or turns[-1].role not in ("user", "tool"):
        return False
    pending: set[str] = set()
    for message in messages:
        if message.role == "tool":
            if message.tool_call_id not in pending:
                return False
            pending.discard(message.tool_call_id or "")
            continue
        if pending:
            return False
        pending = {call.id for call in message.tool_calls}
    return not pending


def shrink(
    case: CorpusCase, still_fails: Callable[[CorpusCase], bool], budget: int
) -> tuple[CorpusCase, dict[str, Any]]:
    """The smallest case reachable by the moves above that `still_fails`, within `budget` tries; and the counts."""
    current = dict(case.request)
    tried = steps = 0
    progress = True
    while progress and tried < budget:
        progress = False
        for move in _MOVES:
            for candidate in move(current):
                if candidate == current or not _well_formed(candidate):
                    continue
                tried += 1
                if still_fails(case.replace(candidate)):
                    current, progress, steps = candidate, True, steps + 1
                    break
                if tried >= budget:
                    break
            if progress or tried >= budget:
                break
    return case.replace(current), {"tried": tried, "steps": steps}


# --- the reproduction file ------------------------------------------------------------------------------------------


def failure_path(directory: Path, alias: str, case_id: str) -> Path:
    return directory / f"{alias}-{case_id}.json"


def forget_failure(directory: Path, alias: str, case_id: str) -> None:
    """A case that no longer fails has no reproduction."""
    failure_path(directory, alias, case_id).unlink(missing_ok=True)


def _body(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@contextlib.contextmanager
def _runner(
    spec: ProviderSpec, endpoint: Endpoint | None
) -> Iterator[tuple[Where, Callable[[CorpusCase], Attempt], str]]:
    """(where, a function that runs one case there, the base URL that answers there)."""
    if endpoint is None:
        yield "offline", functools.partial(offline, spec), ""
        return
    with _started(spec, endpoint) as started:
        yield started.where, functools.partial(started.send, spec), started.base_url


def _shrunk(spec: ProviderSpec, failed: Attempt, endpoint: Endpoint | None) -> tuple[Attempt, dict[str, Any], Where]:
    """The failure, shrunk where it can be judged; with the shrink counts and where the final attempt ran (its
    URL given as the alias's real one)."""
    if endpoint is not None and endpoint.where == "recorded":
        return failed, {"tried": 0, "steps": 0, "note": "not shrunk: only the recorded answer shows it"}, "recorded"
    with _runner(spec, endpoint) as (where, run, base_url):
        first = failed if where == "offline" else run(failed.case)
        if not same_failure(first, failed):
            note = f"not shrunk: the {where} does not fail this way; the recorded answer does"
            return failed, {"tried": 0, "steps": 0, "note": note}, "recorded"
        small, counts = shrink(failed.case, lambda case: same_failure(run(case), failed), BUDGETS[where])
        final = first if small.request == failed.case.request else run(small)
        if not same_failure(final, failed):  # a flaky endpoint: keep the case that did fail this way
            final, counts = first, {**counts, "note": "the shrunk case did not fail again; the original is kept"}
    url = final.wire.url
    if url is not None and base_url and url.startswith(base_url):
        from conformance.runner import real_base_url

        final.wire.url = real_base_url(spec) + url[len(base_url) :]
    return final, counts, where


def write_repro(spec: ProviderSpec, failed: Attempt, directory: Path, *, mode: str, endpoint: Endpoint | None) -> Path:
    """Shrink `failed` and write its reproduction; returns the file's path."""
    from allos.errors import redact

    final, counts, where = _shrunk(spec, failed, endpoint)
    path = failure_path(directory, spec.name, failed.case.id)
    secrets = list(endpoint.secrets) if endpoint is not None else []
    wire = final.wire
    data = {
        "schema_version": REPRO_SCHEMA_VERSION,
        "alias": spec.name,
        "protocol": spec.protocol,
        "case": failed.case.id,
        "mode": mode,
        "where": where,
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "failure": {"kind": final.kind, "error": final.error, "status": final.status, "reason": final.reason},
        "request": {
            "model": spec.default_model or "conformance-model",
            "canonical": final.case.request,
            "http": {"method": wire.method, "url": wire.url, "body": _body(wire.request_body)} if wire.sent else None,
        },
        "answer": (
            {"status": wire.status, "headers": wire.response_headers, "body": _body(wire.response_body)}
            if wire.status is not None
            else None
        ),
        "shrink": {"from": _size(failed.case), "to": _size(final.case), **counts},
        "command": f"allos-conform repro {path}",
    }
    text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False)
    write_atomic(path, redact(text, secrets) + "\n")
    return path


def _size(case: CorpusCase) -> dict[str, int]:
    request = case.request
    options = sum(1 for name in _OPTIONS if name in request)
    return {"messages": len(request["messages"]), "tools": len(request.get("tools") or []), "options": options}


# --- replaying one --------------------------------------------------------------------------------------------------


class ReproInvalid(InputInvalid):
    """A reproduction file that cannot be replayed as written: one line naming the file and the field."""

    what = "reproduction"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Failure(_Loose):
    error: str | None = None
    status: int | None = None


class _Http(_Loose):
    method: str | None
    url: str | None
    body: Any = None


class _Request(_Loose):
    canonical: dict[str, Any]
    http: _Http | None


class _Answer(_Loose):
    status: int
    headers: dict[str, str] | None = None
    body: Any = None


class _ReproFile(_Loose):
    """What `replay_repro` reads of a reproduction (`write_repro` writes more; the rest is for people)."""

    schema_version: int
    alias: str
    case: str
    where: Where
    failure: _Failure
    request: _Request
    answer: _Answer | None


def load_repro(path: Path) -> dict[str, Any]:
    """A reproduction file, validated; `ReproInvalid` names the file and the field (the canonical request included:
    it must still be a valid `ChatRequest`, and the alias a registered one)."""
    from allos.errors import ConfigurationError
    from allos.providers.registry import get_spec

    data = read_json(path, ReproInvalid)
    if not isinstance(data, dict):
        raise ReproInvalid(path, f"the top level is {shown(data)}, expected an object")
    if data.get("schema_version") != REPRO_SCHEMA_VERSION:
        raise ReproInvalid(path, f"schema_version is {shown(data.get('schema_version'))}, expected 1")
    try:
        _ReproFile.model_validate(data)
        CorpusCase(data["case"], "repro", data["request"]["canonical"]).chat_request("m")
    except ValidationError as exc:
        prefix = "request.canonical" if exc.title == "ChatRequest" else ""
        raise ReproInvalid(path, validation_problem(exc, prefix)) from None
    try:
        get_spec(data["alias"])
    except ConfigurationError:
        raise ReproInvalid(path, f"alias is {shown(data['alias'])}, which is not a registered alias") from None
    return data


class RequestChanged(Blocked):
    """Replaying a recorded answer: Allos now builds a different request, so the answer no longer applies."""


def _recorded_transport(data: Mapping[str, Any]) -> httpx.MockTransport:
    from conformance.cassettes import canonical_body

    http, answer = data["request"]["http"], data["answer"]

    def handler(request: httpx.Request) -> httpx.Response:
        if http is None or answer is None or canonical_body(request.content) != http["body"]:
            raise RequestChanged("Allos now builds a different request than the recorded one")
        body = answer["body"]
        content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return httpx.Response(answer["status"], headers=answer.get("headers") or {}, content=content.encode())

    return httpx.MockTransport(handler)


def replay_repro(path: Path, against: str | None = None) -> tuple[int, str]:
    """Replay a reproduction: (exit code, what happened). `against` defaults to where it failed."""
    import os

    from allos.providers.registry import get_spec
    from conformance.runner import SIMULATOR_HEADERS, real_base_url

    data = load_repro(path)
    spec = get_spec(data["alias"])
    case = CorpusCase(data["case"], "repro", data["request"]["canonical"])
    where = against or data["where"]
    if where == "offline":
        outcome = offline(spec, case)
    elif where == "recorded":
        outcome = attempt(spec, case, _recorded_transport(data), base_url=real_base_url(spec), api_key="replay-key")
    elif where == "simulator":
        from conformance.simulators import simulated_aliases

        if spec.name not in simulated_aliases():
            return EXIT_CANNOT_REPLAY, f"{spec.name} has no simulator; try --against recorded or provider"
        endpoint = Endpoint("simulator", "", f"sim-{spec.name}-key-0123456789", SIMULATOR_HEADERS.get(spec.name, {}))
        with _started(spec, endpoint) as started:
            outcome = started.send(spec, case)
    elif where == "provider":
        key = os.environ.get(spec.api_key_env or "") or None
        if key is None and spec.api_key_required:
            return EXIT_CANNOT_REPLAY, f"set {spec.api_key_env} to replay it against {spec.name}"
        outcome = attempt(spec, case, http_transport(), base_url=real_base_url(spec), api_key=key)
    else:
        return EXIT_CANNOT_REPLAY, f"--against must be offline, recorded, simulator or provider, not {where!r}"
    return _verdict(outcome, data, where)


def _verdict(outcome: Attempt, data: Mapping[str, Any], where: str) -> tuple[int, str]:
    was = data["failure"]
    head = f"{data['alias']} {data['case']} ({where})"
    if outcome.kind == "failed":
        same = outcome.error == was.get("error") and outcome.status == was.get("status")
        how = "still fails" if same else f"fails differently (was {was.get('error')} {was.get('status') or ''})"
        return EXIT_STILL_FAILS, f"{head}: {how}: {outcome.reason}"
    if outcome.kind == "blocked" and isinstance(outcome.error, str) and outcome.error == RequestChanged.__name__:
        return EXIT_CANNOT_REPLAY, f"{head}: {outcome.reason}; check it with --against simulator or provider"
    if outcome.kind in ("unavailable", "stale"):
        return EXIT_CANNOT_REPLAY, f"{head}: could not be judged: {outcome.reason}"
    if outcome.kind == "blocked":
        return EXIT_FIXED, f"{head}: no longer fails before sending (it would now be sent; try --against simulator)"
    return EXIT_FIXED, f"{head}: no longer fails ({outcome.kind}{': ' + outcome.reason if outcome.reason else ''})"
