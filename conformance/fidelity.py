"""Fidelity: real requests recorded against live endpoints, replayed against the simulators, verdicts compared.

`allos-conform fidelity CASSETTES...` reads cassettes of any common flavour (`_cassette_flavours`), maps each
request's host and path to an alias through the registry's base URLs (a host that several aliases share is told
apart by the simulators' routes: `/v1/responses` is `openai`, `/v1/chat/completions` is `openai-chat`), replays the
request against that alias's simulator (one server per alias for the whole run, a dummy key in the alias's auth
header, only the non-secret headers kept by `conformance.cassettes.KEPT_REQUEST_HEADERS`), and compares:

- the verdict (accepted 2xx, or refused), and when both refuse the status code and the error body's shape;
- when both accept, the answer's shape (`shape_of`, a pure function): JSON key paths with their types; for streams
  the event kinds, their order and each kind's key paths.

What cannot be measured is counted apart with its reason: a real 401/403 (the recorder scrubbed the key), 429, 5xx,
a request that needs server state (`previous_response_id`, stored files), an endpoint no simulator serves, a host no
alias has. A malformed cassette is one line of the report. Exit: 0, or 1 when `--min-agreement` is not met.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from conformance._cassette_flavours import CassetteUnreadable, Recorded, read_cassette
from conformance.cassettes import KEPT_REQUEST_HEADERS
from conformance.drift import FREE_FORM

__all__ = [
    "Outcome",
    "Shape",
    "ShapeDiff",
    "Summary",
    "compare_shapes",
    "render_markdown",
    "run_fidelity",
    "shape_of",
    "summarise",
]

# A key that the simulators accept and never mistake for a secret (a key containing "invalid" is refused).
FIDELITY_KEY: Final = "fidelity-key-not-a-secret"
_TIMEOUT: Final = 30.0
_SHORT: Final = 300
_WORKERS: Final = 8
# Anthropic sends `ping` events at any point of a stream [docs.anthropic.com/en/docs/build-with-claude/streaming]:
# their position says nothing about the simulator.
_UNORDERED_KINDS: Final = frozenset({"ping"})
_STATE_KEYS: Final = frozenset({"previous_response_id", "conversation", "file_id", "container"})


# --- shapes (pure) ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """An answer's shape: `kinds` (stream events in order, repeats collapsed; empty for a JSON body) and `paths`
    (key path -> JSON types seen there; a stream's paths are prefixed with the event kind)."""

    kinds: tuple[str, ...]
    paths: Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class ShapeDiff:
    only_real: tuple[str, ...] = ()
    only_simulator: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    order: str = ""

    @property
    def agrees(self) -> bool:
        return not (self.only_real or self.only_simulator or self.types or self.order)

    def short(self) -> str:
        parts = [f"only real: {', '.join(self.only_real)}"] if self.only_real else []
        parts += [f"only simulator: {', '.join(self.only_simulator)}"] if self.only_simulator else []
        parts += [f"types: {', '.join(self.types)}"] if self.types else []
        return "; ".join([*parts, *([self.order] if self.order else [])])


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def key_paths(value: Any, prefix: str = "") -> dict[str, set[str]]:
    """Every key path of a JSON value with its types; arrays as `[]`; free-form values (tool arguments, schemas,
    metadata) typed but not descended into.

    >>> key_paths({"a": [{"b": 1}]})
    {'.': {'object'}, 'a': {'array'}, 'a[].': {'object'}, 'a[].b': {'number'}}
    """
    paths: dict[str, set[str]] = {}
    _walk(value, prefix, paths)
    return paths


def _walk(value: Any, path: str, paths: dict[str, set[str]]) -> None:
    paths.setdefault(path if path and not path.endswith("]") else path + ".", set()).add(_json_type(value))
    if path.rsplit(".", 1)[-1].removesuffix("[]") in FREE_FORM:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            _walk(item, f"{path}.{name}" if path and not path.endswith(".") else f"{path}{name}", paths)
    elif isinstance(value, list):
        for item in value:
            _walk(item, f"{path}[]", paths)


def _events(text: str) -> Iterator[tuple[str, Any]]:
    """(kind, payload) per event of an SSE or NDJSON body; `[DONE]` is a kind with no payload."""
    if "data:" not in text:
        for line in text.splitlines():
            with contextlib.suppress(ValueError):
                payload = json.loads(line)
                yield _kind(None, payload), payload
        return
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if not data:
            continue
        joined = "\n".join(data)
        try:
            payload = json.loads(joined)
        except ValueError:
            yield (joined if joined == "[DONE]" else "non-json"), None
            continue
        yield _kind(name, payload), payload


def _kind(name: str | None, payload: Any) -> str:
    if name:
        return name
    if isinstance(payload, dict):
        if "error" in payload:
            return "error"
        for key in ("type", "object"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
        if "done" in payload:
            return "done" if payload["done"] else "chunk"
    return "chunk"


def is_stream(content_type: str, body: bytes) -> bool:
    if content_type.startswith(("text/event-stream", "application/x-ndjson")):
        return True
    head = body.lstrip()[:6]
    return head.startswith((b"event:", b"data:"))


def shape_of(body: bytes, content_type: str = "") -> Shape:
    """The shape of an answer body (JSON, SSE or NDJSON).

    >>> shape_of(b'data: {"x": 1}\\n\\ndata: [DONE]\\n\\n').kinds
    ('chunk', '[DONE]')
    """
    text = body.decode("utf-8", errors="replace")
    if not is_stream(content_type, body):
        try:
            value = json.loads(text)
        except ValueError:
            if not content_type.startswith("application/x-ndjson") and not _is_ndjson(text):
                return Shape((), {".": frozenset({"non-json"})})
        else:
            return Shape((), {k: frozenset(v) for k, v in key_paths(value).items()})
    kinds: list[str] = []
    paths: dict[str, set[str]] = {}
    for kind, payload in _events(text):
        if kind not in _UNORDERED_KINDS and (not kinds or kinds[-1] != kind):
            kinds.append(kind)
        if payload is not None:
            for path, types in key_paths(payload, f"{kind}:").items():
                paths.setdefault(path, set()).update(types)
    return Shape(tuple(kinds), {k: frozenset(v) for k, v in paths.items()})


def _is_ndjson(text: str) -> bool:
    """Several lines, each a JSON document (Ollama's stream when the recorder dropped the content type)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return False
    try:
        for line in lines:
            json.loads(line)
    except ValueError:
        return False
    return True


def compare_shapes(real: Shape, simulated: Shape) -> ShapeDiff:
    """What differs between the real answer's shape and the simulator's. `null` is compatible with any type (a
    nullable field); a stream's kinds must come in the same order.

    >>> compare_shapes(shape_of(b'{"a": 1, "b": null}'), shape_of(b'{"a": 2}')).only_real
    ('b',)
    """
    only_real = tuple(sorted(set(real.paths) - set(simulated.paths)))
    only_sim = tuple(sorted(set(simulated.paths) - set(real.paths)))
    types = []
    for path in sorted(set(real.paths) & set(simulated.paths)):
        a, b = real.paths[path] - {"null"}, simulated.paths[path] - {"null"}
        if a and b and not a & b:
            types.append(f"{path} {'|'.join(sorted(a))} vs {'|'.join(sorted(b))}")
    order = ""
    if real.kinds != simulated.kinds:
        order = f"events: real {' '.join(real.kinds) or '(json)'} / simulator {' '.join(simulated.kinds) or '(json)'}"
    return ShapeDiff(only_real, only_sim, tuple(types), order)


# --- routing: which alias, or why not measurable -------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    alias: str
    scheme: str
    netloc: str
    base_path: str


def _routes() -> list[_Route]:
    from allos import list_providers

    routes = []
    for spec in list_providers():
        if spec.base_url:
            url = urlsplit(spec.base_url)
            routes.append(_Route(spec.name, url.scheme, _netloc(url.scheme, url.netloc), url.path.rstrip("/")))
    return routes


def _netloc(scheme: str, netloc: str) -> str:
    default = {"https": ":443", "http": ":80"}.get(scheme, "")
    return netloc.lower().removesuffix(default)


def _served(alias: str, method: str, path: str) -> bool:
    """Whether the alias's simulator has a route for this method and path (the simulators' own route table)."""
    from conformance.simulators._framework import SimulatorState, alias_entry, simulated_aliases

    if alias not in simulated_aliases():
        return False
    for route in alias_entry(alias).factory(SimulatorState()).routes():
        regex = getattr(route, "path_regex", None)
        methods = getattr(route, "methods", None) or set()
        if regex is not None and regex.match(path) and method in methods:
            return True
    return False


class Router:
    """Host and path to an alias, through the registry's base URLs and the simulators' routes (cached)."""

    def __init__(self) -> None:
        self._routes = _routes()
        self._cache: dict[tuple[str, str, str], tuple[str | None, str]] = {}

    def resolve(self, method: str, uri: str) -> tuple[str | None, str]:
        """(alias, "") when measurable; (alias or None, reason) when not."""
        url = urlsplit(uri)
        key = (method, _netloc(url.scheme, url.netloc), url.path)
        if key not in self._cache:
            self._cache[key] = self._resolve(*key)
        return self._cache[key]

    def _resolve(self, method: str, netloc: str, path: str) -> tuple[str | None, str]:
        on_host = [r for r in self._routes if r.netloc == netloc]
        if not on_host:
            return None, "no alias"
        under = [r for r in on_host if path == r.base_path or path.startswith(r.base_path + "/")]
        if not under:
            return on_host[0].alias, "endpoint no alias serves"
        served = [r.alias for r in under if _served(r.alias, method, path)]
        if not served:
            return under[0].alias, "non-LLM endpoint (not simulated)"
        if method == "GET" and path.rstrip("/").rsplit("/", 1)[-1].startswith(("resp_", "msg_", "file")):
            return served[0], "needs server state"
        return sorted(served)[0], ""


def _needs_state(body: Any) -> bool:
    if isinstance(body, dict):
        for key, value in body.items():
            if key in _STATE_KEYS and value not in (None, "", [], {}):
                return True
            if key == "type" and value == "item_reference":
                return True
            if _needs_state(value):
                return True
    elif isinstance(body, list):
        return any(_needs_state(item) for item in body)
    return False


def unmeasurable_reason(recorded: Recorded) -> str:
    """Why a real answer says nothing about the simulator ("" when it does)."""
    status = recorded.status
    if status in (401, 403):
        return f"real {status} (key scrubbed by the recorder)"
    if status == 429:
        return "real 429 (rate limited)"
    if status >= 500:
        return "real 5xx"
    if recorded.request_body:
        try:
            body = json.loads(recorded.request_body)
        except ValueError:
            return "request body not JSON"
        if _needs_state(body):
            return "needs server state"
    return ""


# --- outcomes -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One recorded request: where it went, and either why it is not measurable or both answers compared."""

    where: str
    alias: str | None
    reason: str = ""
    real_status: int = 0
    sim_status: int = 0
    real_body: str = ""
    sim_body: str = ""
    shape: str = ""
    shape_agrees: bool | None = None

    @property
    def measured(self) -> bool:
        return not self.reason

    @property
    def verdict_agrees(self) -> bool:
        return (200 <= self.real_status < 300) == (200 <= self.sim_status < 300)


def _short(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(text) <= _SHORT else text[:_SHORT] + "..."


def _replay_headers(recorded: Recorded, alias: str) -> dict[str, str]:
    from allos.providers.registry import get_spec

    spec = get_spec(alias)
    # The harness's allow-list, plus the alias's own non-secret headers (Portkey's routing) when they were recorded.
    kept = KEPT_REQUEST_HEADERS | {h.name.lower() for h in spec.headers if not h.secret}
    headers = {k: v for k, v in recorded.request_headers.items() if k in kept and k != "accept"}
    if spec.api_key_required:
        headers[spec.auth_header.lower()] = f"{spec.auth_scheme} {FIDELITY_KEY}".strip()
    return headers


def compare(recorded: Recorded, alias: str, response: httpx.Response) -> Outcome:
    """The comparison of one real answer with the simulator's answer to the same request."""
    real_ok, sim_ok = 200 <= recorded.status < 300, 200 <= response.status_code < 300
    diff: ShapeDiff | None = None
    if real_ok == sim_ok:
        real = shape_of(recorded.response_body, recorded.response_headers.get("content-type", ""))
        sim = shape_of(response.content, response.headers.get("content-type", ""))
        diff = compare_shapes(real, sim)
    return Outcome(
        where=recorded.where,
        alias=alias,
        real_status=recorded.status,
        sim_status=response.status_code,
        real_body=_short(recorded.response_body),
        sim_body=_short(response.content),
        shape=diff.short() if diff else "",
        shape_agrees=diff.agrees if diff else None,
    )


class Replayer:
    """One simulator per alias for the whole run, started on first use."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self._roots: dict[str, str] = {}
        self._lock = threading.Lock()
        self._client = stack.enter_context(httpx.Client(timeout=_TIMEOUT))

    def _root(self, alias: str) -> str:
        from conformance.simulators import Simulator

        with self._lock:
            if alias not in self._roots:
                self._roots[alias] = self._stack.enter_context(Simulator(alias)).root_url
            return self._roots[alias]

    def replay(self, recorded: Recorded, alias: str) -> Outcome:
        url = urlsplit(recorded.uri)
        target = self._root(alias) + url.path + (f"?{url.query}" if url.query else "")
        try:
            response = self._client.request(
                recorded.method, target, content=recorded.request_body, headers=_replay_headers(recorded, alias)
            )
        except httpx.HTTPError as exc:
            return Outcome(recorded.where, alias, real_status=recorded.status, sim_body=f"simulator failed: {exc}")
        return compare(recorded, alias, response)


# --- the run ------------------------------------------------------------------------------------------------------


def cassette_files(paths: Iterable[Path]) -> list[Path]:
    """The cassettes under the given paths (files as given; directories searched for .yaml, .yml, .json)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        else:
            found.append(path)
    return found


@dataclass
class Summary:
    """A run's outcomes, the cassettes that could not be read, and how long it took."""

    outcomes: list[Outcome] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def measured(self, alias: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.measured and alias in (None, o.alias)]

    def agreement(self, alias: str | None = None) -> float:
        measured = self.measured(alias)
        return 100.0 * sum(o.verdict_agrees for o in measured) / len(measured) if measured else 100.0

    def aliases(self) -> list[str]:
        return sorted({o.alias for o in self.outcomes if o.alias and o.measured})

    def unmeasurable(self, alias: str | None = None) -> Counter[str]:
        return Counter(o.reason for o in self.outcomes if not o.measured and (alias is None or o.alias == alias))

    def disagreements(self) -> list[Outcome]:
        return [o for o in self.measured() if not o.verdict_agrees or o.shape_agrees is False]


def run_fidelity(paths: Sequence[Path]) -> Summary:
    """Read every cassette under `paths`, replay what is measurable, and compare."""
    started = time.monotonic()
    summary = Summary()
    router = Router()
    with contextlib.ExitStack() as stack:
        replayer = Replayer(stack)
        # The simulators answer in milliseconds but each exchange waits on the loopback round trip: a few at once.
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=_WORKERS))
        pending: list[Future[Outcome]] = []
        for path in cassette_files(paths):
            try:
                recorded = read_cassette(path)
            except CassetteUnreadable as exc:
                summary.unreadable.append((str(path), str(exc)))
                continue
            pending += [pool.submit(_outcome, item, router, replayer) for item in recorded]
        summary.outcomes = [future.result() for future in pending]
    summary.seconds = time.monotonic() - started
    return summary


def _outcome(recorded: Recorded, router: Router, replayer: Replayer) -> Outcome:
    alias, reason = router.resolve(recorded.method, recorded.uri)
    reason = reason or unmeasurable_reason(recorded)
    if reason or alias is None:
        return Outcome(recorded.where, alias, reason=reason or "no alias", real_status=recorded.status)
    return replayer.replay(recorded, alias)


# --- reports ------------------------------------------------------------------------------------------------------


def summarise(summary: Summary) -> dict[str, Any]:
    """The JSON report: per alias the counts, then every disagreement and every unreadable cassette."""
    aliases = {}
    for alias in summary.aliases():
        measured = summary.measured(alias)
        both = [o for o in measured if o.shape_agrees is not None]
        aliases[alias] = {
            "measurable": len(measured),
            "agreeing": sum(o.verdict_agrees for o in measured),
            "agreement_pct": round(summary.agreement(alias), 1),
            "status_agreeing": sum(o.real_status == o.sim_status for o in measured),
            "shape_compared": len(both),
            "shape_agreeing": sum(bool(o.shape_agrees) for o in both),
            "unmeasurable": dict(summary.unmeasurable(alias)),
        }
    return {
        "measurable": len(summary.measured()),
        "agreeing": sum(o.verdict_agrees for o in summary.measured()),
        "agreement_pct": round(summary.agreement(), 1),
        "seconds": round(summary.seconds, 1),
        "aliases": aliases,
        "unmeasurable": dict(summary.unmeasurable()),
        "unreadable": [{"cassette": path, "reason": reason} for path, reason in summary.unreadable],
        "disagreements": [asdict(o) for o in summary.disagreements()],
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: Summary) -> str:
    data = summarise(summary)
    lines = [
        "# Simulator fidelity",
        "",
        f"{data['agreeing']} of {data['measurable']} measurable real requests got the real verdict "
        f"({data['agreement_pct']}%).",
        "",
        "| alias | measurable | agreeing | % | same status | shape agreeing | unmeasurable |",
        "|---|---|---|---|---|---|---|",
    ]
    for alias, row in data["aliases"].items():
        apart = ", ".join(f"{reason}: {n}" for reason, n in sorted(row["unmeasurable"].items())) or "-"
        lines.append(
            f"| {alias} | {row['measurable']} | {row['agreeing']} | {row['agreement_pct']} | {row['status_agreeing']}"
            f" | {row['shape_agreeing']}/{row['shape_compared']} | {_md(apart)} |"
        )
    lines += ["", "## Not measurable", ""]
    lines += [f"- {_md(reason)}: {n}" for reason, n in sorted(data["unmeasurable"].items())] or ["- none"]
    lines += ["", "## Unreadable cassettes", ""]
    lines += [f"- `{u['cassette']}`: {_md(u['reason'])}" for u in data["unreadable"]] or ["- none"]
    lines += ["", "## Disagreements", ""]
    for o in summary.disagreements():
        lines.append(f"- `{o.where}` ({o.alias}): real {o.real_status}, simulator {o.sim_status}")
        if o.shape:
            lines.append(f"  - shape: {_md(o.shape)}")
        lines.append(f"  - real: `{_md(o.real_body[:160])}`")
        lines.append(f"  - simulator: `{_md(o.sim_body[:160])}`")
    return "\n".join(lines) + "\n"


def render_rich(summary: Summary, console: Any) -> None:
    """The table, then every verdict disagreement (shape-only ones are counted; the files list them all)."""
    from rich.table import Table

    data = summarise(summary)
    table = Table(title="Simulator fidelity on real traffic")
    for column in ("alias", "measurable", "agreeing", "%", "same status", "shape", "apart"):
        table.add_column(column, no_wrap=True)
    for alias, row in data["aliases"].items():
        table.add_row(
            alias,
            str(row["measurable"]),
            str(row["agreeing"]),
            f"{row['agreement_pct']:.1f}",
            str(row["status_agreeing"]),
            f"{row['shape_agreeing']}/{row['shape_compared']}",
            str(sum(row["unmeasurable"].values())),
        )
    console.print(table)
    say = functools.partial(console.print, markup=False)  # cassette names carry brackets
    disagreements = summary.disagreements()
    for o in (o for o in disagreements if not o.verdict_agrees):
        say(f"{o.where} ({o.alias}): real {o.real_status} / simulator {o.sim_status}: {o.sim_body[:120]}")
    shape_only = sum(o.verdict_agrees for o in disagreements)
    say(f"{shape_only} answers with the right verdict differ in shape (listed in fidelity.md/.json)")
    for reason, count in sorted(data["unmeasurable"].items()):
        say(f"not measurable: {reason}: {count}")
    for path, reason in summary.unreadable:
        say(f"unreadable: {path}: {reason}")
    say(f"{data['agreeing']} of {data['measurable']} agree ({data['agreement_pct']}%) in {data['seconds']}s")


def write_fidelity_reports(summary: Summary, directory: Path) -> list[Path]:
    from conformance.results import write_atomic

    paths = [directory / "fidelity.json", directory / "fidelity.md"]
    write_atomic(paths[0], json.dumps(summarise(summary), indent=2, ensure_ascii=False) + "\n")
    write_atomic(paths[1], render_markdown(summary))
    return paths


def fidelity_command(console: Any, paths: Sequence[Path], out: Path, min_agreement: float | None) -> int:
    """The `fidelity` subcommand's body: 2 (usage) when a path is missing or nothing is readable."""
    import sys

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"allos-conform: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    summary = run_fidelity(paths)
    if not summary.outcomes:
        print("allos-conform: no readable cassette under the given paths", file=sys.stderr)
        return 2
    render_rich(summary, console)
    for path in write_fidelity_reports(summary, out):
        print(f"wrote {path}")
    return 1 if min_agreement is not None and summary.agreement() < min_agreement else 0
