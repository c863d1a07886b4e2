"""Contract drift: what changed in the providers' answers between two runs, alias by alias.

`allos-conform drift OLD NEW` takes two cassette directories (the committed ones and a fresh recording) or two
results files. From cassettes it infers, per alias and endpoint, the *shape* of every answer: each field's path
(`choices[].message.tool_calls[].function.name`) with the JSON types seen there, the values seen in enum-like
fields (`finish_reason`, `object`, `type`, ...), the response headers that matter, and the status of every recorded
exchange. Then it says what appeared, disappeared or changed:

    groq: usage.queue_time appeared (number)  [POST /openai/v1/chat/completions, 2xx]
    mistral: status 400 -> 422 for error_unknown_model

Streams are read event by event (SSE `data:` payloads under `chunk.` or `event[<name>].`, NDJSON lines under
`line.`). Free-form values (tool arguments and inputs, JSON Schemas, metadata) are typed but not descended into: their
keys are the caller's, not the provider's. Only recordings found on both sides are compared; the others are counted
(a nightly run without a provider's key has no fresh recordings of it). From results files, it reports cells whose
status changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from conformance.cassettes import load_cassette
from conformance.results import load_report

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Change",
    "Observed",
    "compare_dirs",
    "compare_observed",
    "compare_paths",
    "compare_reports",
    "observe",
    "render_markdown_drift",
    "render_rich_drift",
]

# Fields whose values form a small vocabulary worth watching.
ENUM_KEYS: Final = frozenset(
    {"object", "type", "role", "finish_reason", "stop_reason", "done_reason", "status", "code", "event"}
)
# Values whose keys belong to the caller (tool arguments, schemas) or are open-ended (metadata).
FREE_FORM: Final = frozenset({"arguments", "input", "parameters", "properties", "schema", "json_schema", "metadata"})
_MAX_ENUM_LENGTH: Final = 40


@dataclass
class Shape:
    """Everything seen in the answers of one alias x endpoint x kind (2xx, error, stream)."""

    types: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, set[str]] = field(default_factory=dict)
    headers: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Observed:
    """The shapes of a cassette directory, and the status of every recorded exchange."""

    shapes: dict[tuple[str, str], Shape] = field(default_factory=dict)
    statuses: dict[tuple[str, str], list[int]] = field(default_factory=dict)


@dataclass(frozen=True, order=True)
class Change:
    """One difference (`note=True`: something not compared, said so rather than hidden)."""

    alias: str
    what: str
    change: str
    where: str = ""
    note: bool = False

    def __str__(self) -> str:
        where = f"  [{self.where}]" if self.where else ""
        return f"{self.alias}: {self.what} {self.change}{where}"


# --- reading shapes -------------------------------------------------------------------------------------------------


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _walk(value: Any, path: str, shape: Shape) -> None:
    shape.types.setdefault(path or ".", set()).add(_json_type(value))
    key = path.rsplit(".", 1)[-1].removesuffix("[]")
    if isinstance(value, str) and key in ENUM_KEYS and len(value) <= _MAX_ENUM_LENGTH:
        shape.values.setdefault(path, set()).add(value)
    if key in FREE_FORM:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            _walk(item, f"{path}.{name}" if path else str(name), shape)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", shape)


def _stream_events(text: str) -> Iterator[tuple[str, Any]]:
    """(prefix, payload) for each event of an SSE or NDJSON body; non-JSON payloads (`[DONE]`) are skipped."""
    if "data:" not in text:
        for line in text.splitlines():
            try:
                yield "line", json.loads(line)
            except ValueError:
                continue
        return
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        try:
            payload = json.loads("\n".join(data))
        except ValueError:
            continue
        yield (f"event[{event}]" if event else "chunk"), payload


def _kind(status: int, content_type: str) -> str:
    if content_type.startswith(("text/event-stream", "application/x-ndjson")):
        return "stream"
    return "2xx" if status < 400 else "error"


def _observe_interaction(alias: str, interaction: Mapping[str, Any], observed: Observed) -> int:
    request, response = interaction.get("request", {}), interaction.get("response", {})
    status = int((response.get("status") or {}).get("code", 0))
    headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
    content_type = str(_first(headers.get("content-type", ""))).split(";")[0].strip()
    endpoint = f"{request.get('method', '?')} {urlsplit(str(request.get('uri', ''))).path}"
    kind = _kind(status, content_type)
    shape = observed.shapes.setdefault((alias, f"{endpoint}, {kind}"), Shape())
    for name, value in headers.items():
        shape.headers.setdefault(name, set()).add(str(_first(value)).split(";")[0] if name == "content-type" else "*")
    body = response.get("body") or {}
    if "json" in body:
        _walk(body["json"], "", shape)
    elif kind == "stream":
        for prefix, payload in _stream_events(str(body.get("text", ""))):
            _walk(payload, prefix, shape)
    elif "text" in body:
        shape.types.setdefault(".", set()).add("text")
    return status


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def cassettes_in(directory: Path) -> set[Path]:
    """Every cassette under `directory`, relative to it (`<alias>/<case>.yaml`, `<alias>/generated/<case>.yaml`)."""
    found = set()
    for path in directory.rglob("*.yaml"):
        relative = path.relative_to(directory)
        if len(relative.parts) >= 2 and not any(part.startswith(".") for part in relative.parts):
            found.add(relative)
    return found


def observe(directory: Path, only: Iterable[Path] | None = None) -> Observed:
    """The shapes of the cassettes under `directory` (all of them, or the relative paths in `only`)."""
    observed = Observed()
    for relative in sorted(cassettes_in(directory) if only is None else only):
        alias = relative.parts[0]
        case = str(relative.with_suffix("").relative_to(alias))
        interactions = load_cassette(directory / relative).get("interactions", [])
        observed.statuses[(alias, case)] = [_observe_interaction(alias, item, observed) for item in interactions]
    return observed


# --- comparing ------------------------------------------------------------------------------------------------------


def _types(values: Iterable[str]) -> str:
    return "|".join(sorted(values))


def _compare_shape(alias: str, where: str, old: Shape, new: Shape) -> Iterator[Change]:
    for path in sorted(new.types.keys() - old.types.keys()):
        yield Change(alias, path, f"appeared ({_types(new.types[path])})", where)
    for path in sorted(old.types.keys() - new.types.keys()):
        yield Change(alias, path, f"disappeared (was {_types(old.types[path])})", where)
    for path in sorted(old.types.keys() & new.types.keys()):
        if old.types[path] != new.types[path]:
            yield Change(alias, path, f"changed type {_types(old.types[path])} -> {_types(new.types[path])}", where)
    for path in sorted(old.values.keys() & new.values.keys()):
        for value in sorted(new.values[path] - old.values[path]):
            yield Change(alias, path, f"has a new value {value!r}", where)
    for name in sorted(new.headers.keys() - old.headers.keys()):
        yield Change(alias, f"header {name}", "appeared", where)
    for name in sorted(old.headers.keys() - new.headers.keys()):
        yield Change(alias, f"header {name}", "disappeared", where)
    for name in sorted(old.headers.keys() & new.headers.keys()):
        if old.headers[name] != new.headers[name] and "*" not in old.headers[name] | new.headers[name]:
            yield Change(alias, f"header {name}", f"{_types(old.headers[name])} -> {_types(new.headers[name])}", where)


def compare_dirs(old: Path, new: Path) -> list[Change]:
    """Every change between two cassette directories, read from the recordings both have (a case recorded on one
    side only, e.g. one that was rate limited tonight, would otherwise look like fields that disappeared)."""
    before, after = cassettes_in(old), cassettes_in(new)
    common = before & after
    changes: list[Change] = []
    for side, only in (("OLD", before - after), ("NEW", after - before)):
        counts: dict[str, int] = {}
        for relative in only:
            counts[relative.parts[0]] = counts.get(relative.parts[0], 0) + 1
        for alias, count in sorted(counts.items()):
            changes.append(Change(alias, f"{count} recording(s)", f"only in {side}, not compared", note=True))
    return changes + compare_observed(observe(old, common), observe(new, common))


def compare_observed(old: Observed, new: Observed) -> list[Change]:
    """Every change between two observations of the same recordings."""
    changes: list[Change] = []
    for key in sorted(old.shapes.keys() | new.shapes.keys()):
        alias, where = key
        if key not in old.shapes:
            changes.append(Change(alias, "answers", "appeared", where))
        elif key not in new.shapes:
            changes.append(Change(alias, "answers", "disappeared", where))
        else:
            changes.extend(_compare_shape(alias, where, old.shapes[key], new.shapes[key]))
    for (alias, case), statuses in sorted(new.statuses.items()):
        before = old.statuses.get((alias, case))
        if before is not None and before != statuses:
            changes.append(Change(alias, "status", f"{_statuses(before)} -> {_statuses(statuses)} for {case}"))
    return changes


def _statuses(codes: Sequence[int]) -> str:
    return ", ".join(str(code) for code in codes) or "none"


def compare_reports(old: Path, new: Path) -> list[Change]:
    """Cells whose status changed between two results files (and cells found on one side only)."""
    before = {(r.provider, r.capability): r for r in load_report(old).results}
    after = {(r.provider, r.capability): r for r in load_report(new).results}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        alias, capability = key
        if key not in before:
            changes.append(Change(alias, capability, f"appeared ({after[key].status})"))
        elif key not in after:
            changes.append(Change(alias, capability, f"disappeared (was {before[key].status})"))
        elif before[key].status != after[key].status:
            change = f"{before[key].status} -> {after[key].status}"
            reason = after[key].reason
            changes.append(Change(alias, capability, f"{change}: {reason}" if reason else change))
    return changes


def compare_paths(old: Path, new: Path) -> list[Change]:
    """Two cassette directories, or two results files."""
    if old.is_dir() and new.is_dir():
        return compare_dirs(old, new)
    if old.is_file() and new.is_file():
        return compare_reports(old, new)
    raise ValueError(f"compare two cassette directories or two results files: {old}, {new}")


# --- rendering ------------------------------------------------------------------------------------------------------


def _by_alias(changes: Sequence[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.alias, []).append(change)
    return grouped


def render_rich_drift(changes: Sequence[Change], console: Console, *, old: Path, new: Path) -> None:
    from rich.markup import escape

    drifted = [c for c in changes if not c.note]
    console.print(f"[bold]Contract drift[/] {escape(str(old))} -> {escape(str(new))}: {len(drifted)} change(s)")
    for alias, group in _by_alias(changes).items():
        console.print(f"[bold]{escape(alias)}[/]")
        for change in group:
            where = f"  [dim]\\[{escape(change.where)}][/]" if change.where else ""
            console.print(f"  {escape(change.what)} {escape(change.change)}{where}", highlight=False)


def render_markdown_drift(changes: Sequence[Change], *, old: Path, new: Path) -> str:
    drifted = [c for c in changes if not c.note]
    lines = ["# Contract drift", "", f"`{old}` -> `{new}`: {len(drifted)} change(s).", ""]
    for alias, group in _by_alias(changes).items():
        lines += [f"## {alias}", ""]
        for change in group:
            where = f" ({change.where})" if change.where else ""
            text = f"{change.change}{where}".replace("|", "\\|")
            lines.append(f"- `{change.what}` {text}")
        lines.append("")
    if not changes:
        lines += ["No drift: every answer has the shape it had.", ""]
    return "\n".join(lines)
