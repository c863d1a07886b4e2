"""The CLI's last guard: an exception no command handled (a bug, or a provider answer a parser did not foresee)
becomes one line on stderr, scrubbed of every secret, instead of a traceback.

    >>> internal_error(ValueError("bad id sk-secret-0123456789"), ["sk-secret-0123456789"])
    ['internal error: ValueError: bad id [REDACTED]']

Policy: the line is `internal error: <type>: <message>`; a pydantic `ValidationError` is summarised from its errors
without their input values (pydantic shows a long value cut in the middle, so a key in it would leak in two pieces
that exact-match redaction cannot find). Every other message keeps its first line, cut at 300 characters, with each
secret and every run of 8 or more characters taken from a secret replaced by `[REDACTED]`. `verbose` adds where it
was raised in Allos (file, line, function: never locals or arguments).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from allos.errors import REDACTED, redact

__all__ = ["environment_secrets", "internal_error", "scrub"]

_MAX_MESSAGE: Final = 300
_MIN_FRAGMENT: Final = 8
_PACKAGE_ROOT: Final = Path(__file__).resolve().parent.parent.parent


def internal_error(exc: BaseException, secrets: Iterable[str], *, verbose: bool = False) -> list[str]:
    """The lines (without the `allos: ` prefix) that report `exc`; see the module's policy."""
    values = [secret for secret in secrets if secret]
    lines = [f"internal error: {type(exc).__name__}: {scrub(_message(exc), values)}"]
    if verbose and exc.__traceback__ is not None:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [frame for frame in frames if Path(frame.filename).is_relative_to(_PACKAGE_ROOT / "allos")]
        frame = (ours or frames)[-1]  # the innermost line of Allos itself, where there is one
        where = f"{_short(frame.filename)}:{frame.lineno} in {frame.name}"
        lines.append(scrub(f"internal error: raised at {where} (a bug in allos: please report it)", values))
    return lines


def scrub(text: str, secrets: Sequence[str]) -> str:
    """`text` with each secret, and every run of at least 8 characters found in a secret, replaced."""
    text = redact(text, secrets)
    pieces = [secret for secret in secrets if len(secret) >= _MIN_FRAGMENT]
    if not pieces:
        return text
    out: list[str] = []
    start = 0
    while start < len(text):
        end = start
        while end < len(text) and any(text[start : end + 1] in piece for piece in pieces):
            end += 1
        if end - start >= _MIN_FRAGMENT:
            out.append(REDACTED)
            start = end
        else:
            out.append(text[start])
            start += 1
    return "".join(out)


def environment_secrets(argv: Sequence[str]) -> list[str]:
    """The secrets a command line may have brought: every `*_API_KEY` variable and `--api-key`'s value."""
    values = [value.strip() for name, value in os.environ.items() if name.endswith("_API_KEY") and value.strip()]
    for index, arg in enumerate(argv):
        if arg == "--api-key" and index + 1 < len(argv):
            values.append(argv[index + 1])
        elif arg.startswith("--api-key="):
            values.append(arg.split("=", 1)[1])
    return values


def _message(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        first = problems[0] if problems else None
        where = ".".join(str(part) for part in first["loc"]) if first else ""
        detail = (f": {where}: " if where else ": ") + first["msg"] if first else ""
        count = exc.error_count()
        return f"{count} validation error{'s' if count != 1 else ''} for {exc.title}{detail}"
    text = str(exc)
    first_line = text.splitlines()[0] if text else ""
    return first_line[:_MAX_MESSAGE] + ("..." if len(first_line) > _MAX_MESSAGE else "")


def _short(filename: str) -> str:
    path = Path(filename)
    return str(path.relative_to(_PACKAGE_ROOT)) if path.is_relative_to(_PACKAGE_ROOT) else path.name
