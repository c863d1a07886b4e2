"""`allos` against a provider whose answers are wrong in ways a parser may not foresee, some of them echoing the key:
whatever the answer, the command prints one line on stderr and exits 1, with no traceback and no byte run of the key
(neither whole nor in the two pieces pydantic leaves when it cuts a long value in the middle). Over real HTTP to the
loopback server, through typer's CliRunner and through a real `allos` process.

The parsers turn every bad answer into a `ResponseParseError`; the CLI's own guard must hold should anything else
escape (a bug). That is tested by making one step after the HTTP answer fail the way the parsers used to: a pydantic
`ValidationError` whose input is the provider's text, which echoes the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from loopback import LoopbackServer, Reply, json_reply, sse_reply
from typer.testing import CliRunner

from allos.cli.app import app
from allos.cli.guard import internal_error, scrub

pytestmark = pytest.mark.network

# Long, so that pydantic's repr of a value holding it is cut in the middle.
KEY = "sk-hostile-" + "0123456789abcdef" * 4


def _completion(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return {**body, **overrides}


def _chunk(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    return {**body, **overrides}


def _call(arguments: Any) -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": arguments}}],
    }
    return _completion(choices=[{"index": 0, "message": message, "finish_reason": "tool_calls"}])


def _delta_call(call_id: Any) -> dict[str, Any]:
    return {"index": 0, "id": call_id, "type": "function", "function": {"name": "read_file", "arguments": "{}"}}


HOSTILE: dict[str, Reply] = {
    "id-is-a-list-holding-the-key": json_reply(_completion(id=[KEY])),
    "model-is-the-key-in-an-object": json_reply(_completion(model={"name": KEY})),
    "finish-reason-unhashable": json_reply(
        _completion(choices=[{"index": 0, "message": {"role": "assistant", "content": KEY}, "finish_reason": [KEY]}])
    ),
    "usage-not-a-number": json_reply(_completion(usage={"prompt_tokens": KEY, "completion_tokens": 1})),
    "tool-arguments-a-number": json_reply(_call(0)),
    "stream-chunk-id-is-the-key": sse_reply([_chunk(id=[KEY])]),
    "stream-tool-call-id-is-the-key": sse_reply(
        [_chunk(choices=[{"index": 0, "delta": {"tool_calls": [_delta_call([KEY])]}, "finish_reason": None}])]
    ),
}


def _args(loopback: LoopbackServer, tmp: str) -> list[str]:
    return [
        "read notes.txt",
        "--provider",
        "chat_completions",
        "--base-url",
        loopback.url("/v1"),
        "--model",
        "scripted",
        "--api-key",
        KEY,
        "--workdir",
        tmp,
        "--yes",
    ]


def _assert_one_clean_line(code: int, stdout: str, stderr: str) -> None:
    assert code == 1, (code, stdout, stderr)
    for where, text in (("stdout", stdout), ("stderr", stderr)):
        assert "Traceback" not in text, where
        assert scrub(text, [KEY]) == text, f"a run of the key in {where}: {text!r}"
    assert stderr.startswith("allos: ") and stderr.count("\n") == 1, stderr


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("allos._retry.INITIAL_RETRY_DELAY", 0.001)


@pytest.mark.parametrize("answer", list(HOSTILE))
def test_a_hostile_answer_is_one_line_without_the_key(
    loopback: LoopbackServer, tmp_path: Any, answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.push(HOSTILE[answer])
    result = CliRunner().invoke(app, _args(loopback, str(tmp_path)))
    assert loopback.requests[0].headers["authorization"] == f"Bearer {KEY}"  # the key was really sent
    assert result.exception is None or isinstance(result.exception, SystemExit)
    _assert_one_clean_line(result.exit_code, result.stdout, result.stderr)


# A bug stand-in: rendering the answer validates its raw body as a number, as a parser of old validated a field.
_BUG = (
    "from pydantic import TypeAdapter\n"
    "from allos.cli.render import RichDisplay\n"
    "RichDisplay.response = lambda self, response: TypeAdapter(int).validate_python(response.raw)\n"
)


def _echo_the_key() -> Reply:
    """A valid answer that carries the key in a field nobody shows (it stays in `ChatResponse.raw`)."""
    return json_reply(_completion(system_fingerprint=KEY))


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
def test_an_exception_escaping_the_agent_is_one_scrubbed_line(
    loopback: LoopbackServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, verbose: bool
) -> None:
    from allos.cli.render import RichDisplay

    monkeypatch.setattr(RichDisplay, "response", RichDisplay.response)  # put back after the test
    exec(_BUG, {})  # the same patch the subprocess test applies
    loopback.push(_echo_the_key())
    result = CliRunner().invoke(app, [*_args(loopback, str(tmp_path)), *(["--verbose"] if verbose else [])])
    lines = result.stderr.splitlines()
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert scrub(result.output, [KEY]) == result.output
    expected = "allos: internal error: ValidationError: 1 validation error for int: Input should be a valid integer"
    if verbose:
        assert expected in lines and "allos: internal error: raised at " in result.stderr
    else:
        assert lines == [expected]


def test_a_hostile_answer_through_a_real_allos_process(loopback: LoopbackServer, tmp_path: Any) -> None:
    loopback.push(HOSTILE["id-is-a-list-holding-the-key"])
    loopback.push(_echo_the_key())
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    code = "import sys; from allos.cli import main; sys.exit(main(sys.argv[1:]))"
    for prelude in ("", _BUG):  # a typed parse error, then an exception nothing expects
        done = subprocess.run(
            [sys.executable, "-c", prelude + code, *_args(loopback, str(tmp_path)), "--verbose"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert scrub(done.stderr + done.stdout, [KEY]) == done.stderr + done.stdout
        assert done.stderr.splitlines()[-1].startswith("allos: ")
    assert "allos: internal error: ValidationError: 1 validation error for int" in done.stderr


def test_internal_error_names_the_type_and_hides_the_key() -> None:
    from pydantic import BaseModel, ValidationError

    class Answer(BaseModel):
        id: str

    with pytest.raises(ValidationError) as caught:
        Answer.model_validate({"id": [KEY]})
    assert KEY[:20] in str(caught.value)  # pydantic itself shows the key's head...
    lines = internal_error(caught.value, [KEY], verbose=True)
    assert (
        lines[0] == "internal error: ValidationError: 1 validation error for Answer: id: Input should be a valid string"
    )
    assert lines[1].startswith("internal error: raised at ") and "(a bug in allos: please report it)" in lines[1]
    assert all(scrub(line, [KEY]) == line for line in lines)
    cut = f"input_value='{KEY[:24]}...{KEY[-24:]}'"
    assert scrub(cut, [KEY]) == "input_value='[REDACTED]...[REDACTED]'"


def _text_chunks(text: str, size: int) -> list[dict[str, Any]]:
    return [
        _chunk(choices=[{"index": 0, "delta": {"content": text[i : i + size]}, "finish_reason": None}])
        for i in range(0, len(text), size)
    ]


@pytest.mark.parametrize("size", [1, 7, 500], ids=["char-by-char", "split-key", "one-delta"])
def test_a_model_or_a_tool_repeating_the_key_never_shows_it(loopback: LoopbackServer, tmp_path: Any, size: int) -> None:
    """The model says the key (streamed in pieces that split it) and reads a file holding it: the terminal shows
    [REDACTED] where the key was, and every other character as it came."""
    (tmp_path / "secrets.txt").write_text(f"OPENAI_API_KEY={KEY}\n")
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": ""}}
    arguments = json.dumps({"path": "secrets.txt"})
    loopback.push(
        sse_reply(
            [
                *_text_chunks(f"The key is {KEY}. Reading s", size),
                _chunk(choices=[{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]),
                _chunk(
                    choices=[
                        {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}}
                    ]
                ),
                _chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
            ]
        ),
        sse_reply(
            [
                *_text_chunks(f"It says {KEY}", size),
                _chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            ]
        ),
    )
    result = CliRunner().invoke(app, [*_args(loopback, str(tmp_path)), "--verbose"])
    assert result.exit_code == 0, result.output
    assert len(loopback.requests) == 2 and KEY in loopback.requests[1].body.decode()  # the tool really read it
    for where, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert scrub(text, [KEY]) == text, f"a run of the key in {where}: {text!r}"
    assert result.stdout == "The key is [REDACTED]. Reading s\nIt says [REDACTED]\n"
    assert "OPENAI_API_KEY=[REDACTED]" in result.stderr  # --verbose shows the tool result, scrubbed
