"""The agent CLI end to end against llama.cpp's real server: `allos` as a subprocess, as a person runs it."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conformance import llamacpp

pytestmark = pytest.mark.network


def _allos(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    # The installed console script, the way a person runs it.
    command = [str(pathlib.Path(sys.executable).with_name("allos")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("alias", "path", "key"),
    [("chat_completions", "/v1", ()), ("anthropic", "", ("--api-key", "x")), ("openai", "/v1", ("--api-key", "x"))],
)
def test_a_plain_answer(
    alias: str, path: str, key: tuple[str, ...], llama_server: llamacpp.Server, tmp_path: pathlib.Path
) -> None:
    done = _allos("hello", "-p", alias, "-m", "tiny", *key, "--base-url", llama_server.base_url + path, cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, llamacpp.REPLY), done.stderr


def test_a_session_continued(llama_server: llamacpp.Server, tmp_path: pathlib.Path) -> None:
    common = ("-p", "chat_completions", "-m", "tiny", "--base-url", f"{llama_server.base_url}/v1", "-s", "s.json")
    for prompt in ("hello", "again"):
        done = _allos(prompt, *common, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    messages = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["messages"]
    assert [(m["role"], m.get("content")) for m in messages[1:]] == [
        ("user", "hello"),
        ("assistant", llamacpp.REPLY),
        ("user", "again"),
        ("assistant", llamacpp.REPLY),
    ]


def test_an_error_answer_is_one_line_and_exit_1(llama_server: llamacpp.Server, tmp_path: pathlib.Path) -> None:
    done = _allos(
        "hello", "-p", "chat_completions", "-m", "tiny", "--base-url", f"{llama_server.base_url}/nope", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "404" in done.stderr and "Traceback" not in done.stderr
