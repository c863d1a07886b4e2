"""Tools the agent can call. A typed Python function becomes a tool: its name, its docstring's first paragraph as the
description, and a JSON Schema of its parameters derived from the signature (pydantic does the deriving and, at call
time, the validating).

    >>> @tool
    ... def add(a: int, b: int = 1) -> int:
    ...     '''Add two integers.
    ...
    ...     Args:
    ...         a: the first
    ...         b: the second
    ...     '''
    ...     return a + b
    >>> add.spec.parameters["properties"]["a"]
    {'description': 'the first', 'type': 'integer'}
    >>> add.invoke({"a": 2}).content
    '3'
    >>> add.invoke({"a": "two"}).is_error
    True

Policy: a tool never raises into the agent loop. Bad arguments, a `ToolError` and any other exception become a
`ToolResult` with `is_error=True` whose text tells the model what went wrong, so it can try again.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, cast, overload

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ArgsKwargs

from allos.types import ToolSpec

__all__ = ["Tool", "ToolError", "ToolResult", "tool"]

# Google-style "Args:" sections: `name: text` lines, continuation lines indented deeper.
_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$")
_ARG_LINE = re.compile(r"^(\s*)(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")
_MAX_ERRORS_SHOWN = 5


class ToolError(Exception):
    """Raised by a tool for a failure the model should read, e.g. `ToolError("no such file: a.txt")`."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool gives back; `is_error=True` tells the model the call failed."""

    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Tool:
    """A callable the model may use. `needs_approval` makes the agent ask the user first (unless told yes);
    `preview(arguments)` says what the call would do, for that question, and may refuse with a `ToolError`."""

    spec: ToolSpec
    function: Callable[..., Any]
    adapter: TypeAdapter[Any] = field(repr=False, compare=False)
    needs_approval: bool = False
    preview: Callable[[Mapping[str, Any]], str] | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments checked and converted by the signature's types, defaults filled; `ToolError` if invalid."""
        try:
            args, kwargs = self.adapter.validate_python(ArgsKwargs((), dict(arguments)))
        except ValidationError as exc:
            raise ToolError(_describe(exc)) from None
        if args:  # positional-only parameters: give them back by name
            names = list(inspect.signature(self.function).parameters)
            kwargs = {**dict(zip(names, args, strict=False)), **kwargs}
        return dict(kwargs)

    def invoke(self, arguments: Mapping[str, Any]) -> ToolResult:
        """Validate, call, and wrap the outcome; never raises an `Exception` (see the module's policy)."""
        try:
            validated = self.validate(arguments)
        except ToolError as exc:
            return ToolResult(str(exc), is_error=True)
        return self.run(validated)

    def run(self, validated: Mapping[str, Any]) -> ToolResult:
        """Call the function with arguments `validate` returned; its outcome, or its failure, as a result."""
        positional = [
            p.name for p in inspect.signature(self.function).parameters.values() if p.kind is p.POSITIONAL_ONLY
        ]
        args = [validated[name] for name in positional]
        kwargs = {k: v for k, v in validated.items() if k not in positional}
        try:
            return _as_result(self.function(*args, **kwargs))
        except ToolError as exc:
            return ToolResult(str(exc), is_error=True)
        except Exception as exc:
            return ToolResult(f"{type(exc).__name__}: {exc}", is_error=True)


@overload
def tool(
    function: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    preview: Callable[[Mapping[str, Any]], str] | None = None,
) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    preview: Callable[[Mapping[str, Any]], str] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    needs_approval: bool = False,
    preview: Callable[[Mapping[str, Any]], str] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a tool of a typed function: `@tool`, `@tool(needs_approval=True)`, or `tool(function)`.

    Every parameter needs a type annotation; describe one with `Annotated[str, "what it is"]`, with
    `Annotated[str, Field(description=...)]`, or in the docstring's `Args:` section. The function returns text, a
    `ToolResult`, or anything JSON can encode.
    """

    def make(fn: Callable[..., Any]) -> Tool:
        doc_description, arg_docs = _parse_docstring(inspect.getdoc(fn) or "")
        capture = _capturing_signature(fn, arg_docs)
        adapter: TypeAdapter[Any] = TypeAdapter(cast(Any, capture))
        spec = ToolSpec(
            name=name or fn.__name__,
            description=description if description is not None else doc_description,
            parameters=_clean_schema(adapter.json_schema()),
        )
        return Tool(spec, fn, adapter, needs_approval=needs_approval, preview=preview)

    return make(function) if function is not None else make


# --- deriving the schema -------------------------------------------------------------------------------------------


def _capturing_signature(fn: Callable[..., Any], arg_docs: Mapping[str, str]) -> Callable[..., Any]:
    """A function with `fn`'s resolved signature that returns its validated arguments instead of running."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {fn.__name__}: *{parameter.name} cannot be described by a JSON Schema")
        if parameter.name not in hints:
            raise TypeError(f"tool {fn.__name__}: parameter {parameter.name!r} needs a type annotation")
        annotation = _described(hints[parameter.name], arg_docs.get(parameter.name))
        parameters.append(parameter.replace(annotation=annotation))

    def capture(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return args, kwargs

    capture.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=inspect.Signature.empty
    )
    capture.__annotations__ = {p.name: p.annotation for p in parameters}
    capture.__name__ = capture.__qualname__ = fn.__name__
    return capture


def _described(annotation: Any, doc: str | None) -> Any:
    """`Annotated[T, "text"]` made pydantic's `Field(description="text")`; else the docstring's text, if any."""
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        texts = [e for e in extras if isinstance(e, str)]
        others = [e for e in extras if not isinstance(e, str)]
        text = texts[0] if texts else None
        if text is None and not any(getattr(e, "description", None) for e in others):
            text = doc
        parts = (base, *others, Field(description=text))
        return cast(Any, Annotated)[parts] if text else annotation
    return Annotated[annotation, Field(description=doc)] if doc else annotation


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The first paragraph, and the `Args:` section as name -> text."""
    paragraphs = doc.strip().split("\n\n")
    first = " ".join(line.strip() for line in paragraphs[0].splitlines()) if paragraphs[0] else ""
    if _ARGS_HEADER.match(first):
        first = ""
    args: dict[str, str] = {}
    current: str | None = None
    indent: int | None = None
    in_args = False
    for line in doc.splitlines():
        if _ARGS_HEADER.match(line):
            in_args, current, indent = True, None, None
            continue
        if not in_args:
            continue
        match = _ARG_LINE.match(line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent, current = len(match.group(1)), match.group(2)
            args[current] = match.group(3).strip()
        elif current is not None and line.strip() and indent is not None and len(line) - len(line.lstrip()) > indent:
            args[current] = f"{args[current]} {line.strip()}".strip()
        elif line.strip():
            in_args = False  # the next section
    return first, args


def _clean_schema(schema: Any, *, in_properties: bool = False) -> Any:
    """pydantic's schema without its generated `title`s (noise to a model); property names are kept as they are."""
    if isinstance(schema, dict):
        return {
            key: _clean_schema(value, in_properties=key in ("properties", "$defs") and not in_properties)
            for key, value in schema.items()
            if in_properties or not (key == "title" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [_clean_schema(item) for item in schema]
    return schema


# --- results -------------------------------------------------------------------------------------------------------


def _as_result(value: Any) -> ToolResult:
    if isinstance(value, ToolResult):
        return value
    if isinstance(value, str):
        return ToolResult(value)
    if value is None:
        return ToolResult("done")
    return ToolResult(json.dumps(value, ensure_ascii=False, default=str))


def _describe(exc: ValidationError) -> str:
    """A validation error as a model can act on it: which argument, what is wrong."""
    problems = []
    for error in exc.errors()[:_MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        problems.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - _MAX_ERRORS_SHOWN
    suffix = f"; and {more} more" if more > 0 else ""
    return "invalid arguments: " + "; ".join(problems) + suffix
