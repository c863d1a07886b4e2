"""Reading an answer of unknown shape: typed getters that name the JSON path of what is wrong.

Every protocol reads the provider's JSON through `Obj`, never with bare `dict.get`, so a field of the wrong type
becomes one `ResponseParseError` that says which provider, which endpoint, which field and what was expected, e.g.

    groq: /chat/completions answer: choices[0].message.tool_calls[0].function.arguments is int, expected a string
    or object

and never a `TypeError`, `AttributeError` or pydantic `ValidationError` further down. Policy: a field that is absent
or `null` reads as its default (servers omit what they do not have); a field that is present with the wrong type is
an error. Messages name types, never values: a value may be a key the server echoed back. The one place that turns
a pydantic `ValidationError` (a backstop: readers validate first) into a `ResponseParseError` is `guarded`; it keeps
the error's location and message and drops its input values, and it chains nothing.

    >>> body = Obj.root({"choices": [{"index": "0"}]}, Answer("groq", "/chat/completions answer"))
    >>> body.objects("choices")[0].integer("index")
    Traceback (most recent call last):
    ...
    allos.errors.ResponseParseError: groq: /chat/completions answer: choices[0].index is str, expected an integer
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, NoReturn, TypeVar

from pydantic import ValidationError

from allos import _json
from allos.errors import ResponseParseError

__all__ = ["Answer", "Obj", "assert_never", "guarded", "kind_of"]

T = TypeVar("T")

_SNIPPET: Final = 120
_KINDS: Final[dict[type, str]] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    dict: "object",
    type(None): "null",
}


def assert_never(value: NoReturn) -> NoReturn:
    """The end of an exhaustive dispatch: mypy proves it unreachable; at run time it names what slipped through.
    (`typing.assert_never` is 3.11+, and typing_extensions is not a dependency.)"""
    raise AssertionError(f"unhandled case: {type(value).__name__}")


def kind_of(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages: `kind_of([1]) == 'list'`."""
    return _KINDS.get(type(value)) or ("object" if isinstance(value, Mapping) else type(value).__name__)


def snippet(text: str | bytes) -> str:
    """A short repr of raw text for a message; scrubbing removes known secrets from what remains."""
    if isinstance(text, bytes):
        text = text[: _SNIPPET * 4].decode("utf-8", errors="replace")
    return repr(text[:_SNIPPET]) + ("..." if len(text) > _SNIPPET else "")


class Answer:
    """Who sent the value being read and what it was: `Answer("groq", "/chat/completions stream event 3")`."""

    __slots__ = ("provider", "top", "what")

    def __init__(self, provider: str, what: str, *, top: str = "the body") -> None:
        self.provider = provider
        self.what = what
        self.top = top  # what the value at the empty path is called in messages

    def error(self, path: str, problem: str) -> ResponseParseError:
        return ResponseParseError(f"{self.what}: {path or self.top} {problem}", provider=self.provider)

    def loads(self, data: str | bytes) -> Any:
        """Parse JSON text; not JSON, or nested too deep, is a ResponseParseError (nothing chained)."""
        try:
            return _json.loads(data)
        except _json.JSONDepthError:
            problem = f"is nested deeper than {_json.MAX_DEPTH} levels"
        except ValueError:
            problem = f"is not JSON: {snippet(data)}"
        raise ResponseParseError(f"{self.what} {problem}", provider=self.provider)


class Obj:
    """A JSON object at a path of an answer, read through typed getters."""

    __slots__ = ("answer", "data", "path")

    def __init__(self, data: Mapping[str, Any], path: str, answer: Answer) -> None:
        self.data = data
        self.path = path
        self.answer = answer

    @classmethod
    def root(cls, value: Any, answer: Answer) -> Obj:
        """The whole answer, which must be an object."""
        if not isinstance(value, Mapping):
            raise answer.error("", f"is {kind_of(value)}, not an object: expected a JSON object")
        return cls(value, "", answer)

    def where(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | int, problem: str) -> ResponseParseError:
        """What is wrong with the field `key` of this object."""
        return self.answer.error(self.where(key), problem)

    def fail(self, problem: str) -> ResponseParseError:
        """What is wrong with this object itself."""
        return self.answer.error(self.path, problem)

    def wrong(self, key: str, expected: str) -> ResponseParseError:
        return self.error(key, f"is {kind_of(self.data[key])}, expected {expected}")

    # --- untyped access, for what is passed on whole (raw bodies, error payloads) -----------------------------------

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def __contains__(self, key: str) -> bool:
        return self.data.get(key) is not None

    # --- typed getters: absent or null -> None (or the default); the wrong type -> ResponseParseError ---------------

    def string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.wrong(key, "a string")

    def text(self, key: str) -> str:
        """A string field where absent means empty."""
        return self.string(key) or ""

    def integer(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise self.wrong(key, "an integer")

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.wrong(key, "a boolean")

    def obj(self, key: str) -> Obj | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.wrong(key, "an object")
        return Obj(value, self.where(key), self.answer)

    def array(self, key: str) -> list[Any] | None:
        value = self.data.get(key)
        if value is None or isinstance(value, list):
            return value
        raise self.wrong(key, "a list")

    def objects(self, key: str, *, skip_others: bool = False) -> list[Obj]:
        """A list of objects; an item that is not one is an error, or skipped with `skip_others` (where a protocol
        documents that it ignores what it does not know)."""
        path = self.where(key)
        out = []
        for position, item in enumerate(self.array(key) or ()):
            if isinstance(item, Mapping):
                out.append(Obj(item, f"{path}[{position}]", self.answer))
            elif not skip_others:
                raise self.answer.error(f"{path}[{position}]", f"is {kind_of(item)}, expected an object")
        return out

    def arguments(self, key: str) -> str | None:
        """Tool-call arguments: JSON text, or an object some servers send in its place (re-encoded as text)."""
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            return json.dumps(value, ensure_ascii=False)
        raise self.wrong(key, "a string or object")

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "the answer"


def validation_error(exc: ValidationError, provider: str, what: str) -> ResponseParseError:
    """A ResponseParseError from a ValidationError: where and what, never the input values (they may hold a key)."""
    problems = [f"{_location(error['loc'])}: {error['msg']}" for error in exc.errors(include_input=False)[:3]]
    return ResponseParseError(f"{what} does not fit the canonical model: {'; '.join(problems)}", provider=provider)


def guarded(provider: str, what: str, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, with a ValidationError turned into a ResponseParseError that chains nothing."""
    try:
        return function(*args)
    except ValidationError as exc:
        error = validation_error(exc, provider, what)
    raise error  # outside the except clause: the ValidationError (and its input values) is not the context
