"""The built-in tools: read, write and edit a file, list a directory, run a shell command, in one working directory.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     workspace = Workspace(root)
    ...     print(workspace.write_file("notes.txt", "one\\ntwo\\n"))
    ...     print(workspace.read_file("notes.txt"), end="")
    wrote 2 lines to notes.txt
    one
    two

Policy: a path is resolved (symlinks followed) and refused when it lands outside the working directory, unless the
user allowed that. Writing, editing and running need the user's approval (the agent asks; `--yes` skips the
question); their previews resolve paths and check edits first, so a call that would be refused anyway is never put
to the user. A shell command runs in its own process group with stdin closed, a timeout that kills the whole group,
and an output cap that keeps the head and the tail. Shell commands themselves are not confined to the directory:
the approval is the guard there.
"""

from __future__ import annotations

import difflib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Annotated, Any, Final

from pydantic import Field

from allos.agent.tools import Tool, ToolError, ToolResult, tool

__all__ = ["Workspace"]

DEFAULT_SHELL_TIMEOUT: Final = 60.0
MAX_READ_BYTES: Final = 2_000_000
MAX_LISTED: Final = 1000
# Shell output kept: the first and the last bytes; what lies between is counted, not kept.
SHELL_HEAD_BYTES: Final = 48_000
SHELL_TAIL_BYTES: Final = 16_000
# After the shell exits, how long its output may stay open (a background child holding the pipe) before the group
# is stopped.
_DRAIN_SECONDS: Final = 1.0
_DIFF_LINES: Final = 60


class Workspace:
    """The working directory the built-in tools act in, and their limits."""

    def __init__(
        self,
        root: str | os.PathLike[str] = ".",
        *,
        allow_outside: bool = False,
        shell_timeout: float = DEFAULT_SHELL_TIMEOUT,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.allow_outside = allow_outside
        self.shell_timeout = shell_timeout

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r}, allow_outside={self.allow_outside})"

    def tools(self) -> list[Tool]:
        """The five built-in tools, bound to this directory."""
        return [
            tool(self.read_file),
            tool(self.list_directory),
            tool(self.write_file, needs_approval=True, preview=self._preview_write),
            tool(self.edit_file, needs_approval=True, preview=self._preview_edit),
            tool(self.run_shell, needs_approval=True, preview=self._preview_shell),
        ]

    # --- paths -----------------------------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The absolute path for `path` (relative to the root); `ToolError` when it is outside and not allowed."""
        candidate = Path(path).expanduser()
        resolved = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        if not self.allow_outside and not resolved.is_relative_to(self.root):
            raise ToolError(
                f"{path} is outside the working directory {self.root}; only paths inside it may be used"
                " (the user can allow others with --allow-outside)"
            )
        return resolved

    def show(self, path: Path) -> str:
        """`path` as the model and the user should see it: relative to the root when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    # --- the tools (their docstrings are what the model reads) ---------------------------------------------------

    def read_file(self, path: str) -> str:
        """Read a text file (long output is cut in the middle; use run_shell with sed or grep for parts of big files).

        Args:
            path: the file, relative to the working directory
        """
        return self._read_text(self.resolve(path), path) or "(empty file)"

    def list_directory(self, path: str = ".") -> str:
        """List a directory: sub-directories end with '/', files show their size.

        Args:
            path: the directory, relative to the working directory
        """
        directory = self.resolve(path)
        if not directory.is_dir():
            raise ToolError(f"{path} is not a directory" if directory.exists() else f"no such directory: {path}")
        entries = sorted(directory.iterdir(), key=lambda entry: (not entry.is_dir(), entry.name))
        lines = [f"{e.name}/" if e.is_dir() else f"{e.name}  ({_size(e)} bytes)" for e in entries[:MAX_LISTED]]
        if len(entries) > MAX_LISTED:
            lines.append(f"... and {len(entries) - MAX_LISTED} more")
        return "\n".join(lines) or "(empty directory)"

    def write_file(self, path: str, content: str) -> str:
        """Create a file, or replace its whole content (parent directories are created).

        Args:
            path: the file, relative to the working directory
            content: the complete new content
        """
        target = self.resolve(path)
        if target.is_dir():
            raise ToolError(f"{path} is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        return f"wrote {_lines(content)} to {self.show(target)}"

    def edit_file(self, path: str, old_text: str, new_text: str, replace_all: bool = False) -> str:
        """Edit a file by replacing text: old_text must appear exactly once, unless replace_all is true.

        Args:
            path: the file, relative to the working directory
            old_text: the exact text to replace, with enough surrounding lines to be unique
            new_text: the text to put in its place
            replace_all: replace every occurrence instead of exactly one
        """
        target, _, updated, count = self._planned_edit(path, old_text, new_text, replace_all)
        target.write_text(updated, encoding="utf-8")
        return f"replaced {count} occurrence{'s' if count != 1 else ''} in {self.show(target)}"

    def run_shell(self, command: str, timeout: Annotated[float, Field(gt=0)] | None = None) -> ToolResult:
        """Run a shell command in the working directory; its output (stdout and stderr) and exit code come back.

        Args:
            command: the command line, run by /bin/sh
            timeout: seconds before the command is stopped (at most the agent's limit)
        """
        seconds = self.shell_timeout if timeout is None else min(timeout, self.shell_timeout)
        process = subprocess.Popen(
            command,
            shell=True,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout stops the children too
        )
        assert process.stdout is not None
        output = _CappedOutput(process.stdout)
        output.start()
        timed_out = False
        try:
            code = process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            _stop_group(process)
            code, timed_out = process.wait(), True
        if not output.finish(_DRAIN_SECONDS):  # a background child still holds the output open
            _stop_group(process)
            output.finish(_DRAIN_SECONDS)
        text = output.text() or "(no output)"
        if timed_out:
            return ToolResult(f"{text}\n[timed out after {seconds:g} s; the command was stopped]", is_error=True)
        return ToolResult(f"{text}\n[exit code {code}]", is_error=code != 0)

    # --- previews: what the user approves ------------------------------------------------------------------------

    def _preview_write(self, arguments: Mapping[str, Any]) -> str:
        target = self.resolve(arguments["path"])
        content: str = arguments["content"]
        if target.is_dir():
            raise ToolError(f"{arguments['path']} is a directory")
        if not target.exists():
            return f"create {self.show(target)} ({_lines(content)})"
        old = self._read_text(target, arguments["path"])
        return f"replace the content of {self.show(target)}\n{_diff(old, content, self.show(target))}"

    def _preview_edit(self, arguments: Mapping[str, Any]) -> str:
        target, old, updated, _ = self._planned_edit(
            arguments["path"], arguments["old_text"], arguments["new_text"], arguments["replace_all"]
        )
        return f"edit {self.show(target)}\n{_diff(old, updated, self.show(target))}"

    def _preview_shell(self, arguments: Mapping[str, Any]) -> str:
        return f"run a shell command in {self.root}\n$ {arguments['command']}"

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _read_text(self, target: Path, shown: str) -> str:
        if target.is_dir():
            raise ToolError(f"{shown} is a directory; use list_directory")
        try:
            with target.open("rb") as handle:
                data = handle.read(MAX_READ_BYTES + 1)
        except FileNotFoundError:
            raise ToolError(f"no such file: {shown}") from None
        if b"\0" in data[:8192]:
            raise ToolError(f"{shown} is not a text file")
        text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
        if len(data) > MAX_READ_BYTES:
            text += f"\n[... cut: the file is longer than {MAX_READ_BYTES} bytes; read it by lines]"
        return text

    def _planned_edit(self, path: str, old_text: str, new_text: str, replace_all: bool) -> tuple[Path, str, str, int]:
        target = self.resolve(path)
        if not old_text:
            raise ToolError("old_text is empty; give the exact text to replace (use write_file for a new file)")
        old = self._read_text(target, path)
        count = old.count(old_text)
        if count == 0:
            raise ToolError(f"old_text was not found in {path}; read the file and copy the text exactly")
        if count > 1 and not replace_all:
            raise ToolError(
                f"old_text appears {count} times in {path}; include more surrounding text to make it unique,"
                " or set replace_all to true"
            )
        return target, old, old.replace(old_text, new_text), count


class _CappedOutput:
    """Reads a pipe in a thread, keeping its first and last bytes and counting the rest."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._pipe = pipe
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._thread = threading.Thread(target=self._read, name="allos-shell-output", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout: float) -> bool:
        """Wait for the end of the output; False if it is still open after `timeout` seconds."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _read(self) -> None:
        with self._pipe:
            while chunk := self._pipe.read1(65536):  # type: ignore[attr-defined]
                self._feed(chunk)

    def _feed(self, chunk: bytes) -> None:
        self._total += len(chunk)
        room = SHELL_HEAD_BYTES - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            del self._tail[:-SHELL_TAIL_BYTES]

    def text(self) -> str:
        omitted = self._total - len(self._head) - len(self._tail)
        middle = f"\n[... {omitted} bytes of output omitted ...]\n" if omitted > 0 else ""
        return (bytes(self._head).decode(errors="replace") + middle + bytes(self._tail).decode(errors="replace")).strip(
            "\n"
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups of this kind
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _lines(text: str) -> str:
    count = len(text.splitlines())
    return f"{count} line{'s' if count != 1 else ''}"


def _diff(old: str, new: str, name: str) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{name}", f"b/{name}", lineterm=""))
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... ({len(lines) - _DIFF_LINES} more diff lines)"]
    return "\n".join(lines)
