"""A deterministic stand-in for a language model, shared by every protocol's simulator.

It works on the simulators' own plain dataclasses, never on `allos.types`: a protocol simulator translates its wire
body into a `Prompt`, asks `respond(prompt)` for a `Reply`, and renders the reply in its provider's shape.

What it does, like a model would (and the same answer for the same prompt, always):
- **Tool calls** when tools are offered, the tool choice allows them, and the last user turn asks for one: it names
  a tool, or says to use / call a tool or function. `required` forces a call (of the tool the user names, else the
  first); a named choice forces that tool. Asking for parallel calls ("in parallel", "both", "several", ...) gives
  one call per tool named, or two calls of the one tool, unless parallel calls are switched off.
- **Arguments** are synthesised valid for the tool's JSON Schema (`$ref`, nested objects, arrays, enums, `anyOf`,
  bounds, formats). Strings are taken from the user's words (quoted text, capitalised words such as place names, in
  order), enums prefer a value the user mentions, numbers prefer a number the user wrote.
- **Text** otherwise: after tool results, a sentence that quotes them; `say exactly "X"` says X; `count from 1 to
  5` counts; a request for something long gets a long answer; anything else is echoed (`You said: ...`), so unicode
  comes back intact. JSON output: an instance of the requested schema, or `{"answer": ...}` for plain JSON mode.
- **Stop sequences** cut the text at the first match; **max_tokens** truncates with a `length` finish.
- **Tokens** are whitespace-separated words: deterministic, easy to reason about in tests.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "Call",
    "PlannedCall",
    "Prompt",
    "Reply",
    "Tool",
    "Turn",
    "count_tokens",
    "digest",
    "respond",
    "synthesize",
    "truncate_tokens",
]

ToolMode = Literal["auto", "none", "required", "named"]
Finish = Literal["stop", "length", "tool_calls"]

_WORD = re.compile(r"\S+")
_ASKS_TOOL = re.compile(r"\b(use|call|invoke|run|using|with)\b.{0,40}\b(tools?|functions?)\b|\btools?\b", re.I | re.S)
_ASKS_PARALLEL = re.compile(
    r"\b(parallel|simultaneous(ly)?|at the same time|both|each of|several|multiple|two calls)\b", re.I
)
_ASKS_LONG = re.compile(r"\b(long|story|essay|paragraphs?|explain|describe|detail(ed)?|write|poem|list)\b", re.I)
_SAY = re.compile(
    r"\b(?:say|reply with|respond with|answer with|repeat|output)(?: exactly| only| just)?\s*:?\s*"
    r"[\"“'«](?P<text>.+?)[\"”'»]",
    re.I | re.S,
)
_COUNT = re.compile(r"\bcount (?:from )?(-?\d+) to (-?\d+)\b", re.I)
_QUOTED = re.compile(r"[\"“«](.+?)[\"”»]")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_MAX_COUNT: Final = 1000
_LONG_SENTENCES: Final = 24


@dataclass(frozen=True)
class Tool:
    """A tool on offer: its name, description and JSON Schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, spec: Any) -> Tool | None:
        """The tool a `{name, description, parameters}` object describes; None when it names nothing."""
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            return None
        parameters = spec.get("parameters")
        return cls(
            spec["name"], str(spec.get("description") or ""), parameters if isinstance(parameters, Mapping) else {}
        )


def function_tools(raw: Any) -> tuple[Tool, ...]:
    """`[{"type": "function", "function": {name, description, parameters}}]`: the Chat Completions and Ollama shape."""
    return _function_tools(raw, flat=False)


def flat_function_tools(raw: Any) -> tuple[Tool, ...]:
    """`[{"type": "function", "name", "description", "parameters"}]`: the Responses shape."""
    return _function_tools(raw, flat=True)


def _function_tools(raw: Any, *, flat: bool) -> tuple[Tool, ...]:
    tools = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        if flat and item.get("type") != "function":
            continue
        tool = Tool.from_wire(item if flat else item.get("function"))
        if tool is not None:
            tools.append(tool)
    return tuple(tools)


@dataclass(frozen=True)
class Call:
    """A tool call already in the conversation (an assistant turn's)."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True)
class Turn:
    """One message: `role` is system, user, assistant or tool; a tool turn answers `call_id`."""

    role: str
    text: str = ""
    calls: tuple[Call, ...] = ()
    call_id: str | None = None


@dataclass(frozen=True)
class Prompt:
    """Everything the model looks at. `forced_tool` is the tool a named choice forces."""

    turns: tuple[Turn, ...]
    tools: tuple[Tool, ...] = ()
    tool_mode: ToolMode = "auto"
    forced_tool: str | None = None
    parallel_tool_calls: bool = True
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    json_output: bool = False
    json_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PlannedCall:
    """A tool call the model makes; the protocol mints its id in the provider's format."""

    name: str
    arguments: Mapping[str, Any]

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """The model's answer. `stop_sequence` is the stop string that ended the text, if one did."""

    text: str
    calls: tuple[PlannedCall, ...]
    finish: Finish
    prompt_tokens: int
    completion_tokens: int
    stop_sequence: str | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


# --- tokens and ids ----------------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Whitespace-separated words.

    >>> count_tokens("héllo  wörld ✓")
    3
    """
    return len(_WORD.findall(text))


def truncate_tokens(text: str, limit: int) -> str:
    """The first `limit` tokens of `text`, spacing kept.

    >>> truncate_tokens("one two three", 2)
    'one two'
    """
    if limit <= 0:
        return ""
    matches = list(_WORD.finditer(text))
    return text if len(matches) <= limit else text[: matches[limit - 1].end()]


def digest(value: Any) -> str:
    """A stable hex digest of any JSON value: the seed of every id, so the same request gets the same ids."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- the model ---------------------------------------------------------------------------------------------------


def respond(prompt: Prompt) -> Reply:
    """The answer to `prompt`.

    >>> reply = respond(Prompt(turns=(Turn("user", "Hello, Zürich!"),)))
    >>> reply.text, reply.finish
    ('You said: Hello, Zürich!', 'stop')
    """
    prompt_tokens = _prompt_tokens(prompt)
    calls = _plan_calls(prompt)
    if calls:
        used = sum(count_tokens(call.arguments_json()) + 1 for call in calls)
        return Reply("", calls, "tool_calls", prompt_tokens, used)
    text = _text(prompt)
    stop_sequence = None
    cut = _first_stop(text, prompt.stop)
    if cut is not None:
        text, stop_sequence = text[: cut[0]], cut[1]
    finish: Finish = "stop"
    if prompt.max_tokens is not None and count_tokens(text) > prompt.max_tokens:
        text, finish, stop_sequence = truncate_tokens(text, prompt.max_tokens), "length", None
    return Reply(text, (), finish, prompt_tokens, count_tokens(text), stop_sequence)


def _prompt_tokens(prompt: Prompt) -> int:
    total = 0
    for turn in prompt.turns:
        total += 1 + count_tokens(turn.text) + sum(count_tokens(c.arguments) + 1 for c in turn.calls)
    for tool in prompt.tools:
        total += 1 + count_tokens(tool.description) + count_tokens(json.dumps(tool.parameters))
    return max(total, 1)


def _last_user(prompt: Prompt) -> str:
    for turn in reversed(prompt.turns):
        if turn.role == "user":
            return turn.text
    return ""


def _trailing_tool_results(prompt: Prompt) -> list[Turn]:
    results: list[Turn] = []
    for turn in reversed(prompt.turns):
        if turn.role != "tool":
            break
        results.append(turn)
    return results[::-1]


def _plan_calls(prompt: Prompt) -> tuple[PlannedCall, ...]:
    if not prompt.tools or prompt.tool_mode == "none":
        return ()
    user = _last_user(prompt)
    by_name = {tool.name: tool for tool in prompt.tools}
    mentioned = _mentioned_tools(user, prompt.tools)
    if prompt.tool_mode == "named":
        chosen = [by_name[prompt.forced_tool]] if prompt.forced_tool in by_name else [prompt.tools[0]]
    elif prompt.tool_mode == "required":
        chosen = mentioned or [prompt.tools[0]]
    elif _trailing_tool_results(prompt) or not (mentioned or _ASKS_TOOL.search(user)):
        return ()  # auto: after tool results, or when nobody asked for a tool, the model answers in text
    else:
        chosen = mentioned or [prompt.tools[0]]
    parallel = prompt.parallel_tool_calls and bool(_ASKS_PARALLEL.search(user))
    if not parallel:
        chosen = chosen[:1]
    elif len(chosen) == 1 and prompt.tool_mode != "named":
        chosen = chosen * 2
    words = _candidates(user, prompt.tools)
    return tuple(
        PlannedCall(tool.name, _arguments(tool.parameters, words, user, offset=i)) for i, tool in enumerate(chosen)
    )


def _mentioned_tools(text: str, tools: Sequence[Tool]) -> list[Tool]:
    lowered = text.lower()
    found = [(lowered.find(tool.name.lower()), tool) for tool in tools if tool.name.lower() in lowered]
    return [tool for _, tool in sorted(found, key=lambda pair: pair[0])]


def _candidates(text: str, tools: Sequence[Tool]) -> list[str]:
    """Strings the user offered, in order: quoted text first, then capitalised words (place names, ...)."""
    names = {tool.name.lower() for tool in tools}
    words = [m.group(1) for m in _QUOTED.finditer(text)]
    for position, match in enumerate(_WORD.finditer(text)):
        word = match.group().strip(".,;:!?()[]{}\"'“”«»")
        if position and word[:1].isupper() and word.lower() not in names and word not in words and word != "I":
            words.append(word)
    return words


def _arguments(schema: Mapping[str, Any], words: Sequence[str], user: str, *, offset: int) -> dict[str, Any]:
    value = synthesize(schema, words=[*words[offset:], *words[:offset]], context=user)
    return value if isinstance(value, dict) else {"value": value}


def _text(prompt: Prompt) -> str:
    results = _trailing_tool_results(prompt)
    if results:
        quoted = "; ".join(turn.text for turn in results)
        return f"Here is what the tool returned: {quoted}"
    user = _last_user(prompt)
    if prompt.json_schema is not None:
        return json.dumps(synthesize(prompt.json_schema, words=_candidates(user, ()), context=user), ensure_ascii=False)
    if prompt.json_output:
        return json.dumps({"answer": _plain(prompt, user)}, ensure_ascii=False)
    return _plain(prompt, user)


def _plain(prompt: Prompt, user: str) -> str:
    said = _SAY.search(user)
    if said:
        return said.group("text")
    counted = _COUNT.search(user)
    if counted:
        start, end = int(counted.group(1)), int(counted.group(2))
        step = 1 if end >= start else -1
        numbers = range(start, end + step, step)
        return ", ".join(str(n) for n in list(numbers)[:_MAX_COUNT])
    system = next((t.text for t in prompt.turns if t.role == "system" and _SAY.search(t.text)), None)
    if system is not None:
        found = _SAY.search(system)
        assert found is not None
        return found.group("text")
    text = f"You said: {user}" if user else "Hello."
    if _ASKS_LONG.search(user):
        text += "".join(f" This is sentence {n} of a long answer." for n in range(1, _LONG_SENTENCES + 1))
    return text


def _first_stop(text: str, stops: Sequence[str]) -> tuple[int, str] | None:
    hits = [(text.find(stop), stop) for stop in stops if stop and stop in text]
    return min(hits) if hits else None


# --- JSON Schema -> a valid instance -----------------------------------------------------------------------------

_FORMATS: Final = {
    "date": "2025-01-31",
    "date-time": "2025-01-31T12:00:00Z",
    "time": "12:00:00",
    "email": "someone@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}


class _Synth:
    """One synthesis pass: walks the schema, taking strings from `words` in order."""

    def __init__(self, root: Mapping[str, Any], words: Sequence[str], context: str) -> None:
        self.root = root
        self.words: Iterator[str] = iter(words)
        self.context = context
        self.numbers = [float(n) for n in _NUMBER.findall(context)]

    def value(self, schema: Any, name: str, depth: int = 0) -> Any:
        if not isinstance(schema, Mapping) or depth > 12:
            return self.string({}, name)
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.enum(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"] or schema[key]
                return self.value(options[0], name, depth + 1)
        if schema.get("allOf"):
            return self.value(_merge_all_of(schema, self.resolve), name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind in ("integer", "number"):
            return self.number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 20:
            target: Any = self.root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) and part else target
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**(target if isinstance(target, Mapping) else {}), **rest}
            seen += 1
        return schema

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        out: dict[str, Any] = {}
        for key in [*properties, *[r for r in required if r not in properties]]:
            out[key] = self.value(properties.get(key, {}), key, depth + 1)
        return out

    def array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 1))
        high = schema.get("maxItems")
        count = max(low, 1) if high is None else min(max(low, 1), int(high))
        prefix = schema.get("prefixItems") or []
        items = [self.value(p, name, depth + 1) for p in prefix[:count]]
        while len(items) < count:
            items.append(self.value(schema.get("items", {}), name, depth + 1))
        if schema.get("uniqueItems"):
            unique = []
            for item in items:
                if item not in unique:
                    unique.append(item)
            items = unique
        return items

    def number(self, schema: Mapping[str, Any], *, integer: bool) -> int | float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if isinstance(schema.get("exclusiveMinimum"), (int, float)):
            low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
        if isinstance(schema.get("exclusiveMaximum"), (int, float)):
            high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
        picks = [n for n in self.numbers if (low is None or n >= low) and (high is None or n <= high)]
        value: float = picks[0] if picks else 1
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        multiple = schema.get("multipleOf")
        if isinstance(multiple, (int, float)) and multiple > 0:
            value = round(value / multiple) * multiple
        return int(value) if integer else float(value)

    def enum(self, options: Sequence[Any]) -> Any:
        lowered = self.context.lower()
        for option in options:
            if isinstance(option, str) and option and re.search(rf"\b{re.escape(option.lower())}\b", lowered):
                return option
        return options[0]

    def string(self, schema: Mapping[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        text = next(self.words, None) or f"example {name}".strip()
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if len(text) < low:
            text = text + "x" * (low - len(text))
        if high is not None:
            text = text[: int(high)]
        return text


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["null"]
        kind = kinds[0]
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _merge_all_of(schema: Mapping[str, Any], resolve: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or [])
    for part in schema["allOf"]:
        part = resolve(part) if isinstance(part, Mapping) else {}
        properties.update(part.get("properties") or {})
        required += [r for r in part.get("required") or () if r not in required]
        for key, value in part.items():
            merged.setdefault(key, value)
    merged["properties"], merged["required"] = properties, required
    if properties:
        merged.setdefault("type", "object")
    return merged


def synthesize(schema: Mapping[str, Any], *, words: Sequence[str] = (), context: str = "") -> Any:
    """An instance valid for `schema`, strings taken from `words` in order.

    >>> synthesize({"type": "object", "properties": {"city": {"type": "string"},
    ...     "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city"]},
    ...     words=["Paris"], context="in fahrenheit please")
    {'city': 'Paris', 'unit': 'fahrenheit'}
    """
    return _Synth(schema, words, context).value(schema, "")
