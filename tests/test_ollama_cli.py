"""`allos models` and `allos pull` against the loopback server: a table, a progress bar, and one clear line with a
non-zero exit on every error (never a traceback)."""

from __future__ import annotations

import pytest
from loopback import LoopbackServer, json_reply, unused_port
from test_ollama_http import PULL, TAGS, ndjson_reply

from allos.cli import main

pytestmark = pytest.mark.network


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pinned width and no colour, so output is the same on every machine."""
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr("allos._retry.INITIAL_RETRY_DELAY", 0.001)  # the CLI keeps the default retries


def test_models_prints_a_table(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.push(json_reply(TAGS))
    assert main(["models", "--provider", "ollama", "--base-url", loopback.url()]) == 0
    out = capsys.readouterr().out
    assert (loopback.requests[0].method, loopback.requests[0].path) == ("GET", "/api/tags")
    for cell in ("llama3.2:latest", "2.0 GB", "3.2B", "Q4_K_M", "a80c4f17acd5", "2025-05-04"):
        assert cell in out


def test_models_when_there_are_none(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.push(json_reply({"models": []}))
    assert main(["models", "--base-url", loopback.url()]) == 0
    out = capsys.readouterr().out
    assert "no local models" in out and "allos pull llama3.2" in out


def test_pull_shows_progress_and_succeeds(loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    loopback.push(ndjson_reply(PULL))
    assert main(["pull", "llama3.2", "--base-url", loopback.url()]) == 0
    out = capsys.readouterr().out
    assert loopback.requests[0].json() == {"model": "llama3.2", "stream": True}
    for text in ("pulling manifest", "pulling dde5aa3fc5ff", "verifying sha256 digest", "pulled llama3.2"):
        assert text in out


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["pull", "nope"], 1, "file does not exist"),
        (["models"], 1, "500 ServerError: broken"),
        (["models", "--provider", "groq"], 2, "no model management"),
        (["models", "--provider", "no-such-alias"], 2, "unknown provider 'no-such-alias'"),
        (["pull"], 2, "the following arguments are required: model"),
    ],
    ids=["pull-error-line", "models-500", "not-ollama", "unknown-alias", "pull-without-model"],
)
def test_errors_print_one_line_and_exit_non_zero(
    loopback: LoopbackServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    code: int,
    expected: str,
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test-0123456789")
    if argv == ["pull", "nope"]:
        loopback.push(
            ndjson_reply([{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}])
        )
    if argv == ["models"]:
        loopback.push(json_reply({"error": "broken"}, status=500, headers={"x-should-retry": "false"}))
    assert main([*argv, "--base-url", loopback.url()]) == code
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    if code == 1:
        assert err.count("\n") == 1 and err.startswith("allos: ")


def test_server_not_running_says_how_to_start_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--base-url", f"http://127.0.0.1:{unused_port()}"]) == 1
    err = capsys.readouterr().err
    assert "could not reach" in err and "ollama serve" in err and err.count("\n") == 1


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "--help"]) == 0
    assert "usage: allos pull" in capsys.readouterr().out
