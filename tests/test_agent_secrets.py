"""The API key never leaves memory: not into a session file, a log line (every logger, at DEBUG), a repr, a str, a
serialisation, or the CLI's output. Checked on real runs against a simulator that really received the key, by
reading what was written, never by reading the code."""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import KEY, RecordingDisplay, config_for, simulators
from loopback import LoopbackServer, json_reply
from typer.testing import CliRunner

from allos.agent import Agent, AgentConfig, Session
from allos.cli.app import app
from conformance.simulators import Simulator

pytestmark = pytest.mark.network

HEADER_SECRET = "pk-virtual-secret-0123456789"


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    with simulators(["groq", "anthropic"]) as started:
        yield started


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("nothing secret here", encoding="utf-8")
    return tmp_path


def _received_key(sim: Simulator) -> bool:
    headers = sim.requests[-1].headers
    return KEY in headers.get("authorization", "") or headers.get("x-api-key") == KEY


@pytest.mark.parametrize("alias", ["groq", "anthropic"])
def test_key_never_reaches_a_session_file_a_log_or_a_repr(
    sims: dict[str, Simulator], workdir: Path, caplog: pytest.LogCaptureFixture, alias: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: allos, httpx, httpcore
    config = config_for(sims[alias], workdir, headers={"x-extra": HEADER_SECRET}, auto_approve=True)
    path = workdir / "session.json"
    with Agent(config, display=RecordingDisplay()) as agent:
        agent.run('Use the read_file tool to read "notes.txt"')
        agent.session().save(path)
        session, provider_repr = agent.session(), repr(agent.provider)
    assert _received_key(sims[alias])  # the key was really used...
    assert len(caplog.records) > 5  # ...and the run really logged
    written = {
        "session file": path.read_text(encoding="utf-8"),
        "log": caplog.text + "".join(record.getMessage() for record in caplog.records),
        "repr(config)": repr(config),
        "str(config)": str(config),
        "model_dump": str(config.model_dump()),
        "model_dump_json": config.model_dump_json(),
        "pickle": pickle.dumps(config).decode("latin-1"),
        "repr(session)": repr(session),
        "session json": session.to_json(),
        "repr(provider)": provider_repr,
    }
    for where, text in written.items():
        assert KEY not in text, where
        assert HEADER_SECRET not in text, where
    assert config.api_key is not None and config.api_key.get_secret_value() == KEY  # still usable in memory
    restored = pickle.loads(pickle.dumps(config))
    assert restored.api_key is None and restored.headers == {} and restored.provider == alias


def test_a_loaded_session_needs_the_key_again(sims: dict[str, Simulator], workdir: Path) -> None:
    path = workdir / "session.json"
    with Agent(config_for(sims["groq"], workdir), display=RecordingDisplay()) as agent:
        agent.run('say exactly "hi"')
        agent.session().save(path)
    assert Session.load(path).config().api_key is None


def test_switching_provider_drops_the_key_and_headers() -> None:
    config = AgentConfig(provider="groq", api_key=KEY, headers={"x-extra": HEADER_SECRET})
    moved = config.with_provider("mistral")
    assert moved.api_key is None and moved.headers == {}


@pytest.mark.parametrize("via", ["--api-key", "environment"])
def test_cli_never_prints_or_saves_the_key(
    sims: dict[str, Simulator], workdir: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    session = workdir / "cli.json"
    key_args = ["--api-key", KEY] if via == "--api-key" else []
    if via == "environment":
        monkeypatch.setenv("GROQ_API_KEY", KEY)
    args = ["--provider", "groq", "--base-url", sims["groq"].base_url, "--workdir", str(workdir)]
    result = CliRunner().invoke(
        app,
        ['Use the read_file tool to read "notes.txt"', *args, *key_args, "--session", str(session), "--verbose"],
    )
    assert result.exit_code == 0, result.output
    assert _received_key(sims["groq"]) and "allos.agent: config: AgentConfig(provider='groq'" in result.stderr
    assert KEY not in result.output and KEY not in session.read_text(encoding="utf-8")


def _completion(text: str | None = None, call: tuple[str, str] | None = None) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": text}
    if call is not None:
        message["tool_calls"] = [
            {"id": "call_1", "type": "function", "function": {"name": call[0], "arguments": call[1]}}
        ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def test_a_session_scrubs_a_key_the_provider_echoed(loopback: LoopbackServer, workdir: Path) -> None:
    # The model answers with the key verbatim: in a tool call's arguments, then (through the tool's result, which
    # names the missing file) in a tool result, then in its text.
    loopback.push(
        json_reply(_completion(call=("read_file", json.dumps({"path": f"{KEY}.txt"})))),
        json_reply(_completion(text=f"Your key is {KEY}; the header is {HEADER_SECRET}.")),
    )
    config = AgentConfig(
        provider="chat_completions",
        base_url=loopback.url("/v1"),
        model="scripted",
        api_key=KEY,
        headers={"x-extra": HEADER_SECRET},
        workdir=workdir,
        stream=False,
        max_retries=0,
    )
    path = workdir / "session.json"
    with Agent(config, display=RecordingDisplay()) as agent:
        result = agent.run("what is my key?")
        agent.session().save(path)
    assert loopback.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY in result.text and KEY in result.messages[3].text  # really echoed: it is in memory, as it came
    text = path.read_text(encoding="utf-8")
    assert KEY not in text and HEADER_SECRET not in text
    saved = Session.load(path).messages
    assert saved[2].tool_calls[0].arguments == {"path": "[REDACTED].txt"}
    assert saved[3].text == "no such file: [REDACTED].txt"
    assert saved[4].text == "Your key is [REDACTED]; the header is [REDACTED]."
