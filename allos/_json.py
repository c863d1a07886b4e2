"""JSON parsing on the hot path: pydantic-core's parser (jiter), with the standard library's as the reference, and a
bound on nesting so that no answer can exhaust the stack.

`loads` returns exactly what `json.loads` returns for every input `json.loads` accepts that is nested at most
`MAX_DEPTH` levels, and raises what it raises for every input it rejects: jiter answers the common case (about 2.5x
faster on a `chat.completion` body), and any input jiter refuses (a byte-order mark, UTF-16, a lone surrogate escape,
malformed JSON, nesting deeper than jiter's own limit of about 200) goes to `json.loads`, whose answer or error is the
one returned. A document nested deeper than `MAX_DEPTH` raises `JSONDepthError` (a `ValueError`) instead of the
`RecursionError` the standard library would raise: real answers nest a dozen levels, a hostile one thousands.
pydantic-core is already a dependency, through pydantic.

    >>> loads(b'{"a": [1, 2.5, null]}')
    {'a': [1, 2.5, None]}
    >>> loads("[" * 100_000)
    Traceback (most recent call last):
    ...
    allos._json.JSONDepthError: JSON nested deeper than 512 levels
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from pydantic_core import from_json

__all__ = ["MAX_DEPTH", "JSONDepthError", "loads", "nesting_exceeds"]

# Far above any real answer (a Chat Completions body nests about 6 levels, tool arguments rarely 20), and far below
# the interpreter's recursion limit (1000), which the standard library's decoder counts against.
MAX_DEPTH: Final = 512

# A JSON string, escapes included, written as an unrolled loop so the match is linear in the length.
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET: Final = re.compile(r"[\[\]{}]")


class JSONDepthError(ValueError):
    """A JSON document nested deeper than `MAX_DEPTH` levels."""


def nesting_exceeds(data: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than `limit`; stops at the first level past it.

    >>> nesting_exceeds('[["]]]]]]"]]', limit=2), nesting_exceeds("[[[]]]", limit=2)
    (False, True)
    """
    # Latin-1 maps bytes one to one, and UTF-8 never uses ASCII bytes inside a multi-byte character: quotes,
    # backslashes and brackets stay where they were.
    text = data if isinstance(data, str) else data.decode("latin-1")
    if text.count("[") + text.count("{") <= limit:
        return False  # C-speed shortcut: too few openers to nest that deep
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False


def loads(data: str | bytes) -> Any:
    """Parse one JSON document, with the semantics of `json.loads` up to `MAX_DEPTH` levels of nesting."""
    try:
        return from_json(data, cache_strings="keys")
    except ValueError:
        pass  # outside the except clause: jiter's error is not chained to the one below
    if nesting_exceeds(data):
        raise JSONDepthError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(data)
    except RecursionError:  # only when the caller's own stack is already deep
        pass
    raise JSONDepthError(f"JSON nested too deep for the stack ({MAX_DEPTH} levels allowed)")
