"""What the agent shows and asks while it works: a `Display` it reports to, and an approver it asks before a tool
that writes or runs.

The library's defaults are plain text: the answer on stdout as it streams, tool activity and questions on stderr
(so `allos "..." > answer.txt` keeps only the answer). The `allos` CLI plugs in its rich display instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

from allos.errors import MIN_SECRET_LENGTH, redact, redact_json

if TYPE_CHECKING:
    from allos.agent.tools import ToolResult
    from allos.types import ChatResponse, ToolCall

__all__ = [
    "ApprovalRequest",
    "Approver",
    "Display",
    "PlainDisplay",
    "ScrubbingDisplay",
    "ask_on_terminal",
    "brief_arguments",
    "first_line",
]

_ARGUMENT_CHARS = 80


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call waiting for the user's yes: `preview` says what it would do (first line a summary)."""

    tool: str
    arguments: Mapping[str, Any]
    preview: str


Approver = Callable[[ApprovalRequest], bool]


class Display:
    """Receives what happens during a run. Every method does nothing here: subclass and override what you show."""

    def text(self, delta: str) -> None:
        """Answer text, as it arrives."""

    def end_text(self) -> None:
        """The text of one model call is complete."""

    def tool_call(self, call: ToolCall) -> None:
        """A tool call is about to run (after approval, if it needed one)."""

    def tool_result(self, call: ToolCall, result: ToolResult) -> None:
        """A tool call's result, as it goes back to the model."""

    def response(self, response: ChatResponse) -> None:
        """One model call is done (usage, finish reason)."""

    def notice(self, message: str) -> None:
        """Something the user should know: a limit reached, tools switched off."""


class ScrubbingDisplay(Display):
    """Wraps another display and replaces every known secret in what it is given (answer text, tool arguments and
    results, notices) before it is shown: a model or a tool (`cat .env`) may repeat the key.

    Streamed text can split a secret across deltas, so the longest tail of the text that could still grow into a
    secret is held back until the next delta shows it is not one, or until `end_text`. `secrets` may be extended
    after construction (the CLI learns the key once the config is built).
    """

    def __init__(self, inner: Display, secrets: list[str]) -> None:
        self.inner = inner
        self.secrets = secrets
        self._held = ""

    def _values(self) -> list[str]:
        return [s for s in self.secrets if len(s) >= MIN_SECRET_LENGTH]

    def text(self, delta: str) -> None:
        values = self._values()
        if not values:
            self._release()
            self.inner.text(delta)
            return
        pending = redact(self._held + delta, values)
        keep = _held_tail(pending, values)
        self._held = pending[len(pending) - keep :] if keep else ""
        shown = pending[: len(pending) - keep]
        if shown:
            self.inner.text(shown)

    def _release(self) -> None:
        if self._held:
            held, self._held = self._held, ""
            self.inner.text(held)

    def end_text(self) -> None:
        self._release()
        self.inner.end_text()

    def tool_call(self, call: ToolCall) -> None:
        self._release()
        values = self._values()
        if values:
            call = call.model_copy(update={"arguments": redact_json(call.arguments, values)})
        self.inner.tool_call(call)

    def tool_result(self, call: ToolCall, result: ToolResult) -> None:
        values = self._values()
        if values:
            call = call.model_copy(update={"arguments": redact_json(call.arguments, values)})
            result = replace(result, content=redact(result.content, values))
        self.inner.tool_result(call, result)

    def response(self, response: ChatResponse) -> None:
        self.inner.response(response)

    def notice(self, message: str) -> None:
        self._release()
        self.inner.notice(redact(message, self._values()))


def _held_tail(text: str, secrets: list[str]) -> int:
    """The length of the longest end of `text` that is the start of a secret (0 when none is).

    >>> _held_tail("the key is sk-ab", ["sk-abcdef123"]), _held_tail("done.", ["sk-abcdef123"])
    (5, 0)
    """
    longest = 0
    for secret in secrets:
        for size in range(min(len(secret) - 1, len(text)), longest, -1):
            if text.endswith(secret[:size]):
                longest = size
                break
    return longest


class PlainDisplay(Display):
    """Plain text: the answer to `out` (stdout), activity and notices to `err` (stderr)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out, self._err = out, err
        self._mid_line = False

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def text(self, delta: str) -> None:
        if delta:
            self.out.write(delta)
            self.out.flush()
            self._mid_line = not delta.endswith("\n")

    def end_text(self) -> None:
        if self._mid_line:
            self.out.write("\n")
            self.out.flush()
            self._mid_line = False

    def tool_call(self, call: ToolCall) -> None:
        self.err.write(f"-> {call.name}({brief_arguments(call.arguments)})\n")

    def tool_result(self, call: ToolCall, result: ToolResult) -> None:
        self.err.write(f"   {'error' if result.is_error else 'ok'}: {first_line(result.content)}\n")

    def notice(self, message: str) -> None:
        self.err.write(f"allos: {message}\n")


def ask_on_terminal(request: ApprovalRequest) -> bool:
    """Ask on stderr, read the answer from stdin; anything but y/yes (end of input included) is a no."""
    summary, _, detail = request.preview.partition("\n")
    sys.stderr.write(f"{request.tool} wants to {summary}\n{detail + chr(10) if detail else ''}Allow? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    return answer.strip().lower() in ("y", "yes")


def brief_arguments(arguments: Mapping[str, Any]) -> str:
    """Arguments as one short line: `brief_arguments({"path": "a.txt"}) == "path='a.txt'"`."""
    parts = []
    for name, value in arguments.items():
        text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{name}={text if len(text) <= _ARGUMENT_CHARS else text[: _ARGUMENT_CHARS - 3] + '...'}")
    return ", ".join(parts)


def first_line(text: str, limit: int = 100) -> str:
    """The first non-empty line, shortened: what a one-line summary of a tool result shows."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."
