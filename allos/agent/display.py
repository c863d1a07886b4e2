"""What the agent shows and asks while it works: a `Display` it reports to, and an approver it asks before a tool
that writes or runs.

The library's defaults are plain text: the answer on stdout as it streams, tool activity and questions on stderr
(so `allos "..." > answer.txt` keeps only the answer). The `allos` CLI plugs in its rich display instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from allos.agent.tools import ToolResult
    from allos.types import ChatResponse, ToolCall

__all__ = [
    "ApprovalRequest",
    "Approver",
    "Display",
    "PlainDisplay",
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
