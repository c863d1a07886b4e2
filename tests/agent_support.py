"""Shared by the agent and CLI tests: a display that records what it was shown, the test key, simulators that start
once per module and stop in parallel, and session files that are not sessions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from allos.agent import AgentConfig, ApprovalRequest, Display, ToolResult
from allos.types import ChatResponse, ToolCall
from conformance.simulators import Received, Simulator

KEY = "test-key-0123456789-agent"  # accepted by every simulator; long enough to be scrubbed wherever it appears


class RecordingDisplay(Display):
    """Everything the agent showed, in order: ("text", delta), ("tool_call", name), ("tool_result", result), ..."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def text(self, delta: str) -> None:
        if delta:
            self.events.append(("text", delta))

    def tool_call(self, call: ToolCall) -> None:
        self.events.append(("tool_call", call.name))

    def tool_result(self, call: ToolCall, result: ToolResult) -> None:
        self.events.append(("tool_result", result))

    def response(self, response: ChatResponse) -> None:
        self.events.append(("response", response.finish_reason))

    def notice(self, message: str) -> None:
        self.events.append(("notice", message))

    def of(self, kind: str) -> list[Any]:
        return [value for event, value in self.events if event == kind]


class Approvals:
    """An approver that answers from a script and remembers what it was asked."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> bool:
        self.asked.append(request)
        return self.answers.pop(0) if self.answers else False


@contextmanager
def simulators(aliases: Iterable[str]) -> Iterator[dict[str, Simulator]]:
    started: dict[str, Simulator] = {}
    try:
        for alias in aliases:
            started[alias] = Simulator(alias).start()
        yield started
    finally:
        with ThreadPoolExecutor() as pool:
            list(pool.map(Simulator.stop, started.values()))


def config_for(sim: Simulator, workdir: Path, **settings: Any) -> AgentConfig:
    """A config that talks to `sim` with the test key, working in `workdir`."""
    values: dict[str, Any] = {"provider": sim.alias, "base_url": sim.base_url, "api_key": KEY, "workdir": workdir}
    return AgentConfig(**{**values, **settings})


def new_requests(sim: Simulator, since: int) -> list[Received]:
    """The chat requests `sim` received after the first `since`."""
    return [r for r in sim.requests[since:] if r.method == "POST"]


# --- session files that are not sessions ---------------------------------------------------------------------------

BAD_SESSIONS = {
    "nested-too-deep": b'{"version": 1, "provider": "groq", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "top-level-list": b'[{"version": 1, "provider": "groq"}]',
    "messages-not-a-list": b'{"version": 1, "provider": "groq", "messages": 5}',
    "settings-wrong-type": b'{"version": 1, "provider": "groq", "settings": {"max_tokens": "many"}}',
    "a-number": b"42",
    "not-utf8": b'{"version": 1, "provider": "gr\xff\xfeoq"}',
    "empty": b"",
}


def bad_session(tmp_path: Path, kind: str) -> Path:
    """A file (or something else) at a session path that is not a session."""
    path = tmp_path / f"{kind}.json"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # a writer never comes: reading it must not wait for one
    elif kind == "below-a-file":
        (tmp_path / "plain").write_text("x", encoding="utf-8")
        path = tmp_path / "plain" / "s.json"  # unreadable: its directory is a file (root reads any mode)
    else:
        path.write_bytes(BAD_SESSIONS[kind])
    return path


BAD_SESSION_KINDS = [*BAD_SESSIONS, "directory", "fifo", "below-a-file"]
