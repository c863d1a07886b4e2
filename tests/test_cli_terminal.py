"""`allos` in a real terminal (a pseudo-terminal from Python's pty module, nothing to install): the answer appears
while the stream is still open, the approval question is asked and answered on the terminal, an interactive
conversation ends with Ctrl-D, and Ctrl-C stops a run with one line and exit code 130.

The streaming test holds a scripted stream open after its first words, so "streamed" means what a user sees: the
first words are on the screen before the provider has finished answering."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from agent_support import KEY

from conformance.simulators import Simulator

pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX"),
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
# The child makes the pty its controlling terminal, so Ctrl-C typed there reaches it as SIGINT, as in a shell.
_CHILD = (
    "import fcntl, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "from allos.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
_WAIT = 15.0


class Terminal:
    """`allos ARGS` on a pseudo-terminal: `expect` what the screen shows, `type` what a user types."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "CI")}
        env.update(TERM="xterm-256color", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,  # no controlling terminal yet: the child takes the pty
        )
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = _WAIT) -> str:
        """Read until `text` is on the screen (escape codes removed); returns the screen so far."""
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen}")
        return self.screen

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self, timeout: float = _WAIT) -> int:
        """Read to the end; the exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        return self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)

    def _read(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.screen += _ANSI.sub("", data.decode(errors="replace"))
        return bool(data)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("the notes say 42", encoding="utf-8")
    return tmp_path


def _open(terminals: list[Terminal], args: list[str], cwd: Path) -> Terminal:
    terminal = Terminal(args, cwd)
    terminals.append(terminal)
    return terminal


# --- a stream held open after its first words --------------------------------------------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-held",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "held-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class _HeldStream(BaseHTTPRequestHandler):
    """Answers every chat request with "Hello" at once and " world" only after `release` is set."""

    release: threading.Event

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(_chunk({"role": "assistant", "content": "Hello"}))
        self.wfile.flush()
        self.release.wait(_WAIT)
        try:
            self.wfile.write(_chunk({"content": " world"}, finish="stop") + b"data: [DONE]\n\n")
            self.wfile.flush()
        except OSError:  # the client went away (the Ctrl-C test)
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def held_stream() -> Iterator[tuple[str, threading.Event]]:
    release = threading.Event()
    handler = type("Handler", (_HeldStream,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", release
    release.set()
    server.shutdown()
    server.server_close()


def _held_args(url: str) -> list[str]:
    return ["say hello", "--provider", "chat_completions", "--base-url", url, "--model", "held-model", "--no-tools"]


def test_text_appears_while_the_stream_is_still_open(
    terminals: list[Terminal], workdir: Path, held_stream: tuple[str, threading.Event]
) -> None:
    url, release = held_stream
    terminal = _open(terminals, _held_args(url), workdir)
    screen = terminal.expect("Hello")
    assert "world" not in screen and terminal.process.poll() is None  # the provider has not finished yet
    release.set()
    terminal.expect("Hello world")
    assert terminal.finish() == 0


def test_ctrl_c_stops_a_run_with_one_line(
    terminals: list[Terminal], workdir: Path, held_stream: tuple[str, threading.Event]
) -> None:
    url, _ = held_stream
    terminal = _open(terminals, [*_held_args(url), "--session", str(workdir / "s.json")], workdir)
    terminal.expect("Hello")
    terminal.type("\x03")  # Ctrl-C, typed on the terminal
    assert terminal.finish() == 130
    assert "allos: interrupted; this prompt was not added to the conversation" in terminal.screen
    assert "Traceback" not in terminal.screen and not (workdir / "s.json").exists()


# --- approval and an interactive conversation, against a simulator -------------------------------------------------


@pytest.fixture(scope="module")
def groq() -> Iterator[Simulator]:
    with Simulator("groq") as sim:
        yield sim


def test_approval_is_asked_and_answered_on_the_terminal(
    terminals: list[Terminal], workdir: Path, groq: Simulator
) -> None:
    args = ["--provider", "groq", "--base-url", groq.base_url, "--api-key", KEY, "--interactive"]
    terminal = _open(terminals, args, workdir)
    terminal.expect("> ")
    terminal.type('Use the write_file tool to write "plan.txt"\r')
    terminal.expect("write_file wants to create plan.txt (1 line)")
    terminal.expect("Allow? [y/N] ")
    assert not (workdir / "plan.txt").exists()  # nothing is written before the answer
    terminal.type("y\r")
    terminal.expect("Here is what the tool returned: wrote 1 line to plan.txt")
    assert (workdir / "plan.txt").exists()
    terminal.type('Use the run_shell tool to run "touch ran.txt"\r')
    terminal.expect("Allow? [y/N] ")
    terminal.type("\r")  # Enter alone: no
    terminal.expect("the user declined this run_shell call")
    terminal.expect("> ")
    terminal.type("\x04")  # Ctrl-D ends the conversation
    assert terminal.finish() == 0
    assert not (workdir / "ran.txt").exists()
    assert terminal.screen.index("→ write_file") < terminal.screen.index("Allow? [y/N] y")
