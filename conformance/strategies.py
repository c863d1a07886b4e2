"""Hypothesis strategies for canonical requests: tool schemas, tool lists, arguments, conversations, `ChatRequest`s.

Policy:
- Every strategy draws only *valid* canonical values, the kind a caller may legitimately send: tool names match
  `^[a-zA-Z0-9_-]{1,64}$` and are unique within a request, tool arguments satisfy their tool's schema, a `strict`
  tool or response format has a schema that strict mode accepts (`strict_form`), every tool call in a conversation
  is answered by exactly one tool message before the next user turn, and tool-call ids are unique within a
  conversation. A property that fails on a draw has found a bug, never an invalid input.
- The strategies describe the canonical model and nothing else: they never read the registry's quirks, so the
  properties built on them can find departures that nobody wrote down. What an alias *claims* (its capabilities)
  may narrow what is drawn (`chat_requests(capabilities=...)`): drawing a request the alias says it cannot serve
  would test the refusal, not the translation.
- Draws are deliberately varied where providers differ (ids in OpenAI, Anthropic, Mistral and arbitrary formats;
  empty, unicode and long strings; nested schemas with enums and arrays; sometimes dozens of tools) and bounded so
  that one draw takes milliseconds: properties run on every test run.

The conformance harness reuses these strategies to freeze a seeded corpus (`conformance/corpus/`), so changing what
they draw changes the corpus: regenerate it in the same change.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import string
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from hypothesis import strategies as st

from allos.capabilities import ALL_CAPABILITIES, Capability
from allos.types import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    NamedToolChoice,
    ResponseFormat,
    TextPart,
    ToolCall,
    ToolChoice,
    ToolSpec,
)

__all__ = [
    "arguments_for",
    "chat_requests",
    "chunkings",
    "conversations",
    "descriptions",
    "json_schemas",
    "json_values",
    "strict_form",
    "texts",
    "tool_call_ids",
    "tool_calls",
    "tool_names",
    "tool_spec_lists",
    "tool_specs",
]

_ALNUM: Final = string.ascii_letters + string.digits
_NAME_ALPHABET: Final = _ALNUM + "_-"
_PROPERTY_ALPHABET: Final = string.ascii_lowercase + string.digits + "_"
# Any character UTF-8 can carry: lone surrogates cannot be encoded, so they can never be on the wire.
_UNICODE: Final = st.characters(codec="utf-8")

# Strings that have broken real adapters: empty, non-Latin scripts, combining and joined emoji, right-to-left text,
# JSON and SSE metacharacters, lone line ends.
_AWKWARD_TEXTS: Final = (
    "",
    " ",
    "Weather in Paris?",
    "Température en °C — « précise »",
    "東京の天気は\uff1f",  # a full-width question mark
    "emoji 🌦️ and a family 👩\u200d👩\u200d👧",
    "שלום, עולם (right to left)",
    "quotes \" ' and a backslash \\",
    "line\nbreaks\r\nand\rcarriage\treturns",
    "data: [DONE]\n\n",
    ": OPENROUTER PROCESSING",
    '{"looks": "like json"}',
    "e\u0301 combining accent, \u200b zero width space",
    "\x00 nul and \x7f del",
)
_MODELS: Final = ("gpt-4o-mini", "llama-3.3-70b-versatile", "mistral-small-latest", "accounts/fireworks/models/m")
_MEDIA_TYPES: Final = ("image/png", "image/jpeg", "image/gif", "image/webp")


# --- text ------------------------------------------------------------------------------------------------------------


@functools.cache
def texts(*, min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text: awkward fixed samples or arbitrary unicode; `min_size=1` for fields that must not be empty.

    Example: `@given(texts(min_size=1))`.
    """
    samples = [s for s in _AWKWARD_TEXTS if min_size <= len(s) <= max_size]
    return st.one_of(st.sampled_from(samples), st.text(_UNICODE, min_size=min_size, max_size=max_size))


@functools.cache
def descriptions() -> st.SearchStrategy[str]:
    """Descriptions of tools and schema properties: empty, unicode, or long (a few thousand characters)."""
    long = st.text(_UNICODE, min_size=1, max_size=8).map(lambda seed: (seed + " ") * 400)
    return st.one_of(texts(), long)


@functools.cache
def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (finite numbers only: JSON has no NaN or infinity)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**53), max_value=2**53),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(max_size=12),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(texts(max_size=8), children, max_size=3),
        ),
        max_leaves=max_leaves,
    )


# --- JSON Schemas for tool parameters -------------------------------------------------------------------------------


@functools.cache
def _property_names() -> st.SearchStrategy[str]:
    identifiers = st.text(_PROPERTY_ALPHABET, min_size=1, max_size=12)
    return st.one_of(identifiers, st.sampled_from(("città", "名前", "with space", "kebab-case", "CamelCase")))


def _described(schema: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Sometimes add a `description` to a schema."""
    return st.tuples(schema, st.none() | descriptions()).map(
        lambda pair: pair[0] if pair[1] is None else {**pair[0], "description": pair[1]}
    )


@functools.cache
def _leaf_schemas() -> st.SearchStrategy[dict[str, Any]]:
    enum_texts = st.lists(texts(max_size=12), min_size=1, max_size=5, unique=True)
    enum_ints = st.lists(st.integers(-1000, 1000), min_size=1, max_size=5, unique=True)
    return _described(
        st.one_of(
            st.just({"type": "string"}),
            enum_texts.map(lambda values: {"type": "string", "enum": values}),
            st.just({"type": ["string", "null"]}),
            st.just({"type": "integer"}),
            enum_ints.map(lambda values: {"type": "integer", "enum": values}),
            st.just({"type": "number"}),
            st.just({"type": "boolean"}),
        )
    )


@st.composite
def _object_schemas(draw: st.DrawFn, children: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    properties = draw(st.dictionaries(_property_names(), children, max_size=5))
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    names = list(properties)
    flags = draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    required = [name for name, flag in zip(names, flags, strict=True) if flag]
    empty_required: bool = bool(names) and draw(st.booleans())  # `"required": []` is valid, and spelled by some
    if required or empty_required:
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    description = draw(st.none() | descriptions())
    if description is not None:
        schema["description"] = description
    return schema


def _array_schemas(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return _described(children.map(lambda items: {"type": "array", "items": items}))


@functools.cache
def json_schemas(*, max_leaves: int = 8) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON Schema for a tool's arguments: always an object, with nested objects and arrays, enums, nullable
    strings, `required` lists and descriptions (empty, unicode, long).

    Example: `@given(json_schemas())` then `arguments_for(schema)` draws arguments that satisfy it.
    """
    nested = st.recursive(
        _leaf_schemas(),
        lambda children: st.one_of(_array_schemas(children), _object_schemas(children)),
        max_leaves=max_leaves,
    )
    return _object_schemas(nested)


def strict_form(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` as strict mode demands it: every object closed (`additionalProperties: false`) and every property
    required, at any depth [platform.openai.com/docs/guides/structured-outputs#supported-schemas]. A strict tool or
    response format with a looser schema is not a valid request: the provider refuses it (400).

    >>> strict_form({"type": "object", "properties": {"a": {"type": "string"}}})
    {'type': 'object', 'properties': {'a': {'type': 'string'}}, 'required': ['a'], 'additionalProperties': False}
    """
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: strict_form(sub) for name, sub in out["properties"].items()}
    if isinstance(out.get("items"), Mapping):
        out["items"] = strict_form(out["items"])
    if out.get("type") == "object" or "properties" in out:
        out["required"] = list(out.get("properties", {}))
        out["additionalProperties"] = False
    return out


def _values_for(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([_values_for({**schema, "type": one}) for one in kind])
    if kind == "string":
        return texts(max_size=20)
    if kind == "integer":
        return st.integers(min_value=-(10**12), max_value=10**12)
    if kind == "number":
        return st.integers(-1000, 1000) | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_values_for(schema.get("items", {})), max_size=3)
    if kind == "object":
        return arguments_for(schema)
    return json_values(max_leaves=3)


def arguments_for(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments valid for an object schema drawn by `json_schemas()`: every required property present, optional
    ones sometimes, enums respected. (It understands that subset of JSON Schema, not all of it.)

    Example: `arguments_for({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})`.
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: _values_for(sub) for name, sub in properties.items() if name in required},
        optional={name: _values_for(sub) for name, sub in properties.items() if name not in required},
    )


# --- tools -----------------------------------------------------------------------------------------------------------


@functools.cache
def tool_names() -> st.SearchStrategy[str]:
    """Names every protocol accepts: `^[a-zA-Z0-9_-]{1,64}$`, from one character to the full 64."""
    return st.one_of(
        st.sampled_from(("get_weather", "search", "run-shell", "A", "x" * 64)),
        st.text(_NAME_ALPHABET, min_size=1, max_size=64),
    )


_SIMPLE_LEAVES: Final = (
    {"type": "string"},
    {"type": "string", "enum": ["celsius", "fahrenheit"]},
    {"type": "integer"},
    {"type": "number", "description": "a number"},
    {"type": "boolean"},
    {"type": "array", "items": {"type": "string"}},
)


@functools.cache
def _flat_schemas() -> st.SearchStrategy[dict[str, Any]]:
    properties = st.dictionaries(_property_names(), st.sampled_from(_SIMPLE_LEAVES), max_size=3)
    return properties.map(lambda props: {"type": "object", "properties": props, "required": sorted(props)[:1]})


@st.composite
def tool_specs(draw: st.DrawFn, *, simple: bool = False) -> ToolSpec:
    """One tool; `simple=True` draws a small flat schema (for long tool lists that must stay fast to draw)."""
    parameters = draw(_flat_schemas() if simple else json_schemas())
    strict = draw(st.sampled_from((None, True, False)))
    return ToolSpec(
        name=draw(tool_names()),
        description=draw(texts() if simple else descriptions()),
        parameters=strict_form(parameters) if strict else parameters,
        strict=strict,
    )


def tool_spec_lists(*, min_size: int = 0, max_size: int = 4, many: bool = True) -> st.SearchStrategy[list[ToolSpec]]:
    """Tools with unique names: usually up to `max_size`, and with `many=True` sometimes 16 to 40 of them.

    Example: `@given(tool_spec_lists(min_size=1))`.
    """
    few = st.lists(tool_specs(), min_size=min_size, max_size=max_size, unique_by=lambda tool: tool.name)
    if not many:
        return few
    lots = st.lists(tool_specs(simple=True), min_size=16, max_size=40, unique_by=lambda tool: tool.name)
    return st.one_of(few, few, few, lots)  # listed thrice: many tools in about a quarter of the draws


@functools.cache
def tool_call_ids() -> st.SearchStrategy[str]:
    """Ids in the formats providers mint (OpenAI `call_...`, Anthropic `toolu_01...`, Mistral's 9 alphanumerics,
    Gemini-style `function-call-...`) and arbitrary non-empty strings (local servers, other gateways)."""

    def alnum(size: int) -> st.SearchStrategy[str]:
        return st.text(_ALNUM, min_size=size, max_size=size)

    return st.one_of(
        alnum(24).map(lambda s: f"call_{s}"),
        alnum(22).map(lambda s: f"toolu_01{s}"),
        alnum(9),
        st.integers(0, 2**63).map(lambda n: f"function-call-{n}"),
        texts(min_size=1, max_size=40),
    )


@st.composite
def tool_calls(draw: st.DrawFn, tools: Sequence[ToolSpec] = (), *, call_id: str | None = None) -> ToolCall:
    """A call of one of `tools` with arguments valid for its schema (any tool name and object when none given)."""
    identifier = call_id if call_id is not None else draw(tool_call_ids())
    if tools:
        tool = draw(st.sampled_from(list(tools)))
        return ToolCall(id=identifier, name=tool.name, arguments=draw(arguments_for(tool.parameters)))
    arguments = draw(st.dictionaries(texts(max_size=8), json_values(max_leaves=3), max_size=3))
    return ToolCall(id=identifier, name=draw(tool_names()), arguments=arguments)


# --- conversations ---------------------------------------------------------------------------------------------------


@st.composite
def _images(draw: st.DrawFn) -> ImagePart:
    if draw(st.booleans()):
        return ImagePart(url=f"https://example.com/images/{draw(st.integers(0, 999))}.png")
    data = base64.b64encode(draw(st.binary(min_size=1, max_size=24))).decode("ascii")
    return ImagePart(data=data, media_type=draw(st.sampled_from(_MEDIA_TYPES)))


@functools.cache
def _names() -> st.SearchStrategy[str | None]:
    """The advisory `name` of a system, user or assistant turn (tool turns have none in the reference [OAS])."""
    return st.none() | st.none() | tool_names()


@functools.cache
def _text_parts() -> st.SearchStrategy[tuple[ContentPart, ...]]:
    return st.lists(texts().map(lambda text: TextPart(text=text)), min_size=1, max_size=3).map(tuple)


@functools.cache
def _user_content(*, images: bool) -> st.SearchStrategy[str | tuple[ContentPart, ...]]:
    options: list[st.SearchStrategy[str | tuple[ContentPart, ...]]] = [texts(), texts(), _text_parts()]
    if images:
        parts = st.one_of(texts().map(lambda text: TextPart(text=text)), _images())
        options.append(st.lists(parts, min_size=1, max_size=3).map(tuple))
    return st.one_of(options)


class _IdPool:
    """Keeps the tool-call ids of one conversation unique."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, draw: st.DrawFn) -> str:
        candidate = draw(tool_call_ids())
        if candidate in self.used:  # rare in practice, frequent while shrinking: make it unique, keep it drawn
            candidate = f"{candidate}_{len(self.used)}"
        self.used.add(candidate)
        return candidate


def _tool_step(draw: st.DrawFn, tools: Sequence[ToolSpec], ids: _IdPool) -> list[Message]:
    """One assistant turn with 1..4 tool calls, then one tool message answering each (in any order)."""
    count = draw(st.integers(1, 4))
    calls = tuple(draw(tool_calls(tools, call_id=ids.take(draw))) for _ in range(count))
    assistant = Message(
        role="assistant",
        content=draw(st.sampled_from((None, ""))) if draw(st.booleans()) else draw(texts()),
        tool_calls=calls,
        reasoning=draw(st.none() | texts(min_size=1)),
    )
    answers = [
        Message(
            role="tool",
            tool_call_id=call.id,
            content=draw(texts() | _text_parts() | json_values(max_leaves=3).map(json.dumps)),
            is_error=draw(st.booleans()),
        )
        for call in draw(st.permutations(calls))
    ]
    return [assistant, *answers]


def _assistant_text(draw: st.DrawFn) -> Message:
    return Message(
        role="assistant", content=draw(texts()), reasoning=draw(st.none() | texts(min_size=1)), name=draw(_names())
    )


@st.composite
def conversations(
    draw: st.DrawFn,
    tools: Sequence[ToolSpec] = (),
    *,
    system: bool = True,
    tool_turns: bool = True,
    images: bool = False,
    max_rounds: int = 3,
) -> tuple[Message, ...]:
    """A valid conversation that ends where a request ends: on a user turn or on tool results.

    An optional system turn, then rounds of: a user turn (text, unicode, "", text parts, images when `images`),
    then nothing (two user turns in a row), an assistant text, or 1..2 tool steps (calls of `tools`, each answered
    by a tool message, some with `is_error=True`) and perhaps an assistant text. Ids are unique across the whole
    conversation.

    Example: `@given(conversations(tools=[ToolSpec(name="get_weather")]))`.
    """
    messages: list[Message] = []
    if system and draw(st.booleans()):
        messages.append(Message(role="system", content=draw(texts() | _text_parts()), name=draw(_names())))
    ids = _IdPool()
    rounds = draw(st.integers(1, max_rounds))
    for number in range(rounds):
        messages.append(Message(role="user", content=draw(_user_content(images=images)), name=draw(_names())))
        last = number == rounds - 1
        kinds = ["none", "tools"] if last else ["none", "text", "tools"]
        kind = draw(st.sampled_from(kinds if tool_turns else kinds[:-1] or ["none"]))
        if kind == "text":
            messages.append(_assistant_text(draw))
        elif kind == "tools":
            for _ in range(draw(st.integers(1, 2))):
                messages.extend(_tool_step(draw, tools, ids))
            if not last and draw(st.booleans()):
                messages.append(_assistant_text(draw))
    return tuple(messages)


# --- requests --------------------------------------------------------------------------------------------------------


def _tool_choices(tools: Sequence[ToolSpec], capabilities: Collection[Capability]) -> st.SearchStrategy[ToolChoice]:
    choices: list[st.SearchStrategy[ToolChoice]] = [st.just("auto")]
    if Capability.TOOL_CHOICE_NONE in capabilities:
        choices.append(st.just("none"))
    if Capability.TOOL_CHOICE_REQUIRED in capabilities:
        choices.append(st.just("required"))
    if Capability.TOOL_CHOICE_NAMED in capabilities:
        choices.append(st.sampled_from([NamedToolChoice(name=tool.name) for tool in tools]))
    return st.one_of(choices)


def _response_formats(capabilities: Collection[Capability]) -> st.SearchStrategy[ResponseFormat | None]:
    options: list[st.SearchStrategy[ResponseFormat | None]] = [st.none(), st.just(ResponseFormat(type="text"))]
    if Capability.JSON_MODE in capabilities:
        options.append(st.just(ResponseFormat(type="json_object")))
    if Capability.STRUCTURED_OUTPUT in capabilities:
        strictness = st.sampled_from((None, True, False))
        options.append(
            st.builds(
                lambda name, schema, strict: ResponseFormat(
                    type="json_schema", name=name, json_schema=strict_form(schema) if strict else schema, strict=strict
                ),
                tool_names(),
                json_schemas(max_leaves=4),
                strictness,
            )
        )
    return st.one_of(options)


def _maybe(draw: st.DrawFn, allowed: bool, values: st.SearchStrategy[Any]) -> Any:
    """A value from `values` some of the time, when the capability allows it; otherwise None."""
    return draw(st.none() | values) if allowed else None


@st.composite
def chat_requests(
    draw: st.DrawFn,
    *,
    capabilities: Collection[Capability] = ALL_CAPABILITIES,
    stream: bool | None = None,
    max_rounds: int = 3,
) -> ChatRequest:
    """A valid `ChatRequest` that uses only what `capabilities` allows (by default, anything): optional tools,
    tool_choice, parallel_tool_calls, max_tokens, stop, temperature, top_p, seed and response_format over a
    conversation from `conversations()`. `stream=None` draws it (when streaming is allowed).

    Example: `@given(chat_requests(capabilities=get_spec("mistral").capabilities))`.
    """
    can = set(capabilities)
    # Tools in a stream need streaming_tool_calls as well: a row that claims tools but not that gets them unstreamed.
    streams_tools = Capability.STREAMING_TOOL_CALLS in can
    tools_allowed = Capability.TOOLS in can and (stream is not True or streams_tools)
    tools = draw(tool_spec_lists(min_size=1)) if tools_allowed and draw(st.booleans()) else []
    messages = draw(
        conversations(
            tools,
            system=Capability.SYSTEM_PROMPT in can,
            tool_turns=Capability.TOOL_RESULT in can,
            images=Capability.IMAGE_INPUT in can,
            max_rounds=max_rounds if Capability.MULTI_TURN in can else 1,
        )
    )
    if stream is None:
        stream = Capability.STREAMING in can and (not tools or streams_tools) and draw(st.booleans())
    return ChatRequest(
        model=draw(st.sampled_from(_MODELS) | st.text(_UNICODE, min_size=1, max_size=30)),
        messages=messages,
        tools=tuple(tools),
        tool_choice=_maybe(draw, bool(tools), _tool_choices(tools, can)),
        parallel_tool_calls=_maybe(draw, bool(tools) and Capability.PARALLEL_TOOL_CALLS in can, st.booleans()),
        max_tokens=_maybe(draw, Capability.MAX_TOKENS in can, st.integers(1, 8192)),
        temperature=_maybe(draw, True, st.floats(0, 2)),
        top_p=_maybe(draw, True, st.floats(0, 1)),
        stop=draw(st.lists(texts(min_size=1, max_size=10), max_size=4)) if Capability.STOP_SEQUENCES in can else (),
        seed=_maybe(draw, True, st.integers(0, 2**31 - 1)),
        response_format=draw(_response_formats(can)),
        stream=stream,
    )


# --- transport -------------------------------------------------------------------------------------------------------


def chunkings(data: bytes, *, max_cuts: int = 12) -> st.SearchStrategy[list[bytes]]:
    """`data` cut at arbitrary byte boundaries (inside a line end or a UTF-8 character too, and with empty chunks):
    how a network may deliver a stream. The chunks always join back to `data`.

    Example: `data.draw(chunkings(b"data: {}\\n\\n"))`.
    """

    def cut(points: list[int]) -> list[bytes]:
        bounds = [0, *sorted(points), len(data)]
        return [data[start:end] for start, end in itertools.pairwise(bounds)]

    return st.lists(st.integers(0, len(data)), max_size=max_cuts).map(cut)
