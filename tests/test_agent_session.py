"""Session files: a faithful JSON round trip, atomic writes (a failure leaves the old file whole and no temporary
file behind), clear errors for files that are not sessions, and provider settings that stay with their provider."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from agent_support import BAD_SESSION_KINDS, bad_session

from allos.agent import Session, SessionError, SessionSettings
from allos.agent import session as session_module
from allos.errors import ConfigurationError
from allos.types import Message, ToolCall

CALL = ToolCall(id="call_1", name="read_file", arguments={"path": "naïve.txt"})
MESSAGES = (
    Message(role="system", content="Be brief."),
    Message(role="user", content="Grüße, 東京 — read it"),
    Message(role="assistant", tool_calls=(CALL,)),
    Message(role="tool", tool_call_id="call_1", content="no such file: naïve.txt", is_error=True),
    Message(role="assistant", content="It is not there.", reasoning="checked the file"),
)
SESSION = Session(
    provider="groq",
    model="llama-3.3-70b-versatile",
    settings=SessionSettings(base_url="http://127.0.0.1:9/openai/v1", max_tokens=200, tools_enabled=False),
    messages=MESSAGES,
)


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    SESSION.save(path)
    assert Session.load(path) == SESSION
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["provider"] == "groq"
    assert data["messages"][2] == {
        "role": "assistant",
        "tool_calls": [{"id": "call_1", "name": "read_file", "arguments": {"path": "naïve.txt"}}],
    }
    assert "東京" in path.read_text(encoding="utf-8")  # unicode written as it is
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "s.json"
    old = Session(provider="mistral", messages=(Message(role="user", content="old"),))
    old.save(path)
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_module.os, failing, crash)
    with pytest.raises(SessionError, match=r"cannot write session .*No space left on device"):
        SESSION.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["s.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "is not an allos session"),
        ('{"version": 2, "provider": "groq"}', "is not an allos session"),
        ('{"version": 1, "provider": "groq", "api_key": "sk-123"}', "is not an allos session"),
        ('{"version": 1, "provider": "groq", "messages": [{"role": "tool"}]}', "is not an allos session"),
    ],
    ids=["not-json", "future-version", "unknown-field", "invalid-message"],
)
def test_what_is_not_a_session_is_refused_clearly(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SessionError, match=expected):
        Session.load(path)
    with pytest.raises(SessionError, match="cannot read session"):
        Session.load(tmp_path / "missing.json")


def test_same_provider_keeps_its_settings_another_drops_them() -> None:
    same = SESSION.config(max_iterations=4)
    assert (same.provider, same.model, same.base_url) == ("groq", "llama-3.3-70b-versatile", SESSION.settings.base_url)
    assert same.max_tokens == 200 and same.tools_enabled is False and same.max_iterations == 4
    moved = SESSION.config(provider="Mistral")
    assert (moved.provider, moved.model, moved.base_url) == ("mistral", None, None)
    assert moved.max_tokens == 200 and moved.tools_enabled is False  # not the provider's: they carry over
    explicit = SESSION.config(provider="anthropic", base_url="http://127.0.0.1:8/", model="claude-haiku-4-5")
    assert (explicit.base_url, explicit.model) == ("http://127.0.0.1:8/", "claude-haiku-4-5")


def test_a_session_for_an_unknown_provider_says_so() -> None:
    with pytest.raises(ConfigurationError, match="unknown provider 'gone'"):
        Session(provider="gone").config()


@pytest.mark.parametrize("kind", BAD_SESSION_KINDS)
def test_every_bad_session_file_is_one_typed_error(tmp_path: Path, kind: str) -> None:
    path = bad_session(tmp_path, kind)
    with pytest.raises(SessionError) as caught:
        Session.load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "is not an allos session" in message or "cannot read session" in message
    assert caught.value.__cause__ is None  # no chained exception to print below it


def test_scrubbed_replaces_secrets_everywhere_and_keeps_the_rest() -> None:
    key = "sk-live-0123456789abcdef"
    call = ToolCall(id="call_1", name="read_file", arguments={"path": f"{key}.txt", key: [key]})
    session = Session(
        provider="groq",
        messages=(
            Message(role="user", content=f"my key is {key}"),
            Message(role="assistant", tool_calls=(call,), reasoning=f"the user said {key}"),
            Message(role="tool", tool_call_id="call_1", content=f"no such file: {key}.txt", is_error=True),
        ),
    )
    scrubbed = session.scrubbed([key, ""])
    assert key not in scrubbed.to_json() and scrubbed.to_json().count("[REDACTED]") == 6
    assert scrubbed.messages[1].tool_calls[0].arguments == {"path": "[REDACTED].txt", "[REDACTED]": ["[REDACTED]"]}
    assert SESSION.scrubbed([key]) is SESSION and session.scrubbed([]) is session
