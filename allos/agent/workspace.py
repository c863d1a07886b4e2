"""The built-in tools: read, write and edit a file, list a directory, run a shell command, in one working directory.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     workspace = Workspace(root)
    ...     print(workspace.write_file("notes.txt", "one\\ntwo\\n"))
    ...     print(workspace.read_file("notes.txt"), end="")
    wrote 2 lines to notes.txt
    one
    two

Policy: a path names a file below the working directory and is refused when it lies outside, unless the user
allowed that; it is found and opened race-free, refusing symbolic links, FIFOs, sockets and devices
(`allos.agent.sandbox`). Edits work on exact bytes: a file the tools cannot write back byte for byte (over the read
cap, not UTF-8) is refused, not rewritten; writes are atomic and keep the file's mode. Writing, editing and running
need the user's approval (the agent asks; `--yes` skips the question); their previews resolve paths and check edits
first, so a call that would be refused anyway is never put to the user. A shell command runs in its own process
group with stdin closed, a timeout that kills the whole group, and an output cap that keeps the head and the tail.
Shell commands themselves are not confined to the directory: the approval is the guard there.
"""

from __future__ import annotations

import codecs
import difflib
import os
import signal
import stat
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Final

from pydantic import Field

from allos.agent.sandbox import MissingParent, Place, Sandbox, check_writable, outside_error
from allos.agent.tools import Tool, ToolError, ToolResult, tool

__all__ = ["Workspace"]

DEFAULT_SHELL_TIMEOUT: Final = 60.0
MAX_READ_BYTES: Final = 2_000_000
MAX_LISTED: Final = 1000
# A NUL byte in the first bytes marks a binary file.
_BINARY_SNIFF: Final = 8192
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
        self._sandbox = Sandbox(self.root, allow_outside=allow_outside)
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
        """The absolute path for `path` (relative to the root), by name; `ToolError` when it is outside and not
        allowed. What the tools open is found race-free by `allos.agent.sandbox`, not from this string."""
        if self.allow_outside:
            candidate = Path(path).expanduser()
            return Path(os.path.realpath(candidate if candidate.is_absolute() else self.root / candidate))
        names = self._sandbox.names(path)
        if names is None:
            raise outside_error(path, self.root)
        return self.root.joinpath(*names)

    # --- the tools (their docstrings are what the model reads) ---------------------------------------------------

    def read_file(self, path: str) -> str:
        """Read a text file (long output is cut in the middle; use run_shell with sed or grep for parts of big files).

        Args:
            path: the file, relative to the working directory
        """
        with self._sandbox.place(path) as place:
            data = self._sandbox.read(place, limit=MAX_READ_BYTES + 1)
        return _as_text(data, place.shown) or "(empty file)"

    def list_directory(self, path: str = ".") -> str:
        """List a directory: sub-directories end with '/', files show their size.

        Args:
            path: the directory, relative to the working directory
        """
        with self._sandbox.place(path) as place:
            fd = self._sandbox.open_directory(place)
            try:
                with os.scandir(fd) as scan:
                    entries = sorted((_entry(e) for e in scan), key=lambda entry: (not entry[1], entry[0]))
            finally:
                os.close(fd)
        lines = [text for _, _, text in entries[:MAX_LISTED]]
        if len(entries) > MAX_LISTED:
            lines.append(f"... and {len(entries) - MAX_LISTED} more")
        return "\n".join(lines) or "(empty directory)"

    def write_file(self, path: str, content: str) -> str:
        """Create a file, or replace its whole content (parent directories are created).

        Args:
            path: the file, relative to the working directory
            content: the complete new content
        """
        data = _encode(content, "content")
        with self._sandbox.place(path, create_parents=True) as place:
            self._sandbox.replace(place, data)
        return f"wrote {_lines(content)} to {place.shown}"

    def edit_file(self, path: str, old_text: str, new_text: str, replace_all: bool = False) -> str:
        """Edit a file by replacing text: old_text must appear exactly once, unless replace_all is true.

        Args:
            path: the file, relative to the working directory
            old_text: the exact text to replace, with enough surrounding lines to be unique
            new_text: the text to put in its place
            replace_all: replace every occurrence instead of exactly one
        """
        with self._sandbox.place(path) as place:
            edit = self._planned_edit(place, old_text, new_text, replace_all)
            self._sandbox.replace(place, edit.updated)
        count = edit.count
        return f"replaced {count} occurrence{'s' if count != 1 else ''} in {place.shown}"

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
        path, content = arguments["path"], arguments["content"]
        _encode(content, "content")
        try:
            with self._sandbox.place(path) as place:  # creates nothing: a preview only looks
                old = self._sandbox.existing(place)
                if old is not None:
                    check_writable(place.shown, old)
                    data = self._sandbox.read(place, limit=MAX_READ_BYTES + 1)
        except MissingParent:
            old = None
        if old is None:
            return f"create {self._shown(path)} ({_lines(content)})"
        if len(data) > MAX_READ_BYTES or b"\0" in data[:_BINARY_SNIFF]:
            return f"replace the content of {place.shown} ({old.st_size} bytes, not shown) with {_lines(content)}"
        old_text = data.decode("utf-8", errors="replace")
        return f"replace the content of {place.shown}\n{_diff(old_text, content, place.shown)}"

    def _preview_edit(self, arguments: Mapping[str, Any]) -> str:
        with self._sandbox.place(arguments["path"]) as place:
            edit = self._planned_edit(place, arguments["old_text"], arguments["new_text"], arguments["replace_all"])
        old, new = edit.original.decode("utf-8"), edit.updated.decode("utf-8")
        return f"edit {place.shown}\n{_diff(old, new, place.shown)}"

    def _preview_shell(self, arguments: Mapping[str, Any]) -> str:
        return f"run a shell command in {self.root}\n$ {arguments['command']}"

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _shown(self, path: str) -> str:
        if self.allow_outside:
            real = self.resolve(path)
            return str(real.relative_to(self.root)) if real.is_relative_to(self.root) else str(real)
        return "/".join(self._sandbox.names(path) or ()) or "."

    def _planned_edit(self, place: Place, old_text: str, new_text: str, replace_all: bool) -> _Edit:
        """The edit of the file at `place`, in exact bytes; `ToolError` for anything that would not be lossless."""
        if not old_text:
            raise ToolError("old_text is empty; give the exact text to replace (use write_file for a new file)")
        info = self._sandbox.existing(place)
        if info is not None:
            check_writable(place.shown, info)
        data = self._sandbox.read(place, limit=MAX_READ_BYTES + 1)
        _check_editable(data, place.shown)
        old, new = _encode(old_text, "old_text"), _encode(new_text, "new_text")
        count = data.count(old)
        if count == 0 and _crlf_only(data) and b"\n" in old and b"\r" not in old:
            # A CRLF file and text with bare line ends: match and write in the file's own line ends.
            old, new = old.replace(b"\n", b"\r\n"), new.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            count = data.count(old)
        if count == 0:
            raise ToolError(f"old_text was not found in {place.shown}; read the file and copy the text exactly")
        if count > 1 and not replace_all:
            raise ToolError(
                f"old_text appears {count} times in {place.shown}; include more surrounding text to make it unique,"
                " or set replace_all to true"
            )
        return _Edit(data, data.replace(old, new), count)


@dataclass(frozen=True)
class _Edit:
    original: bytes
    updated: bytes
    count: int  # occurrences of old_text's bytes replaced: data.count(old) is data.replace's own count


def _as_text(data: bytes, shown: str) -> str:
    """What read_file shows: the text, cut at the cap, with a note where bytes are not UTF-8."""
    if b"\0" in data[:_BINARY_SNIFF]:
        raise ToolError(f"{shown} is not a text file")
    cut = len(data) > MAX_READ_BYTES
    data = data[:MAX_READ_BYTES]
    text = data.decode("utf-8", errors="replace")
    notes = []
    if _invalid_utf8(data, complete=not cut):
        notes.append("[some bytes are not valid UTF-8 and are shown as U+FFFD; edit_file will refuse this file]")
    if cut:
        notes.append(f"[... cut: the file is longer than {MAX_READ_BYTES} bytes; read it by lines]")
    return text + "".join(f"\n{note}" for note in notes)


def _check_editable(data: bytes, shown: str) -> None:
    """`ToolError` unless `data` can be edited and written back byte for byte."""
    if len(data) > MAX_READ_BYTES:
        raise ToolError(
            f"{shown} is larger than {MAX_READ_BYTES} bytes, more than edit_file reads, so it cannot be edited"
            " losslessly; use run_shell (sed, a script) for big files"
        )
    if b"\0" in data[:_BINARY_SNIFF]:
        raise ToolError(f"{shown} is not a text file; edit_file edits UTF-8 text only")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{shown} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); edit_file edits"
            " UTF-8 text only and would change bytes it was not asked to: use run_shell for this file"
        ) from None


def _invalid_utf8(data: bytes, *, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return True
    return False


def _crlf_only(data: bytes) -> bool:
    return b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")


def _encode(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError(f"{what} holds a character UTF-8 cannot encode (a lone surrogate); send valid text") from None


def _entry(entry: os.DirEntry[str]) -> tuple[str, bool, str]:
    """A listing line for `entry`, never following a link (sort key: name, is a directory)."""
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return entry.name, False, f"{entry.name}  (unreadable)"
    if stat.S_ISDIR(info.st_mode):
        return entry.name, True, f"{entry.name}/"
    if stat.S_ISLNK(info.st_mode):
        return entry.name, False, f"{entry.name}  (symbolic link, not followed)"
    if not stat.S_ISREG(info.st_mode):
        return entry.name, False, f"{entry.name}  ({_kind(info.st_mode)})"
    return entry.name, False, f"{entry.name}  ({info.st_size} bytes)"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


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


def _lines(text: str) -> str:
    count = len(text.splitlines())
    return f"{count} line{'s' if count != 1 else ''}"


def _diff(old: str, new: str, name: str) -> str:
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{name}", f"b/{name}", lineterm=""))
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... ({len(lines) - _DIFF_LINES} more diff lines)"]
    return "\n".join(lines)
