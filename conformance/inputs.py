"""Reading what a user hands the harness (cassettes, results files, reproductions): one line per problem.

Policy: a file that cannot be used raises `InputInvalid` (a `ValueError`) whose message names the file, the field and
what was expected, e.g. `results file reports/matrix.json is invalid: results[2].status is 'meh', expected one of
...`. The readers check the file itself first (it exists, is a regular file of a sane size, is UTF-8), so a
directory, a FIFO or binary junk is refused before any parser sees it. Nothing here prints or exits: the CLI turns
the message into one line and exit code 2, and the runner into an `invalid` cell.
"""

from __future__ import annotations

import datetime
import json
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ValidationError

__all__ = ["MAX_BYTES", "InputInvalid", "read_json", "read_text", "shown", "validation_problem"]

# A cassette or a results file is at most a few MB; a bound no real one reaches keeps a hostile file cheap to refuse.
MAX_BYTES = 64 * 1024 * 1024


class InputInvalid(ValueError):
    """An input file the harness cannot use; subclasses name the kind of file."""

    what: ClassVar[str] = "file"

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.what} {path} is invalid: {problem}")


def read_text(path: Path, error: type[InputInvalid] = InputInvalid) -> str:
    """The file's text, or `error` saying why there is none (missing, a directory, not a regular file, too large,
    unreadable, empty, not UTF-8)."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise error(path, "it is a directory, expected a file")
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever
            raise error(path, "it is not a regular file")
        if info.st_size > MAX_BYTES:
            raise error(path, f"it is {info.st_size} bytes, more than the {MAX_BYTES} it may have")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(path, "the file does not exist") from None
    except OSError as exc:
        raise error(path, f"it cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not raw.strip():
        raise error(path, "the file is empty")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def read_json(path: Path, error: type[InputInvalid] = InputInvalid) -> Any:
    """The file's JSON, or `error` with the line and column where it stops being JSON."""
    text = read_text(path, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(path, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise error(path, "not valid JSON: nested too deeply") from None


def shown(value: Any) -> str:
    """A value as a message shows it: short scalars as themselves, containers by their kind.

    >>> shown("banana"), shown(5), shown([1]), shown(None)
    ("'banana'", '5', 'a list', 'null')
    """
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if isinstance(value, (int, float)):
        return repr(value)
    names = {dict: "a mapping", list: "a list", bytes: "binary data", datetime.datetime: "a timestamp"}
    return names.get(type(value), f"a {type(value).__name__}")


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def validation_problem(exc: ValidationError, prefix: str = "") -> str:
    """pydantic's first error as one line: `results[2].status is 'meh': input should be 'pass', ... (and 1 more)`."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = _location([*([prefix] if prefix else []), *first["loc"]])
    message = first["msg"][:1].lower() + first["msg"][1:]
    if first["type"] == "missing":
        text = f"{where} is missing"
    elif first["type"] == "extra_forbidden":
        text = f"{where} is not a known field"
    else:
        text = f"{where} is {shown(first.get('input'))}: {message}"
    return text + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
