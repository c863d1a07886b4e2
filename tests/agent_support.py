"""Shared by the agent and CLI tests: a display that records what it was shown, the test key, and simulators that
start once per module and stop in parallel."""

from __future__ import annotations

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
