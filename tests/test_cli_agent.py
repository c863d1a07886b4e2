"""`allos PROMPT` with typer's CliRunner against the simulators: a task with tool calls on every protocol, the
approval question, sessions handed between providers, and one clear line with a non-zero exit for every error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import BAD_SESSION_KINDS, KEY, bad_session, new_requests, simulators
from typer.testing import CliRunner, Result

from allos import list_providers
from allos.agent import Session
from allos.cli.app import app
from allos.profiles import resolve_profile
from conformance.simulators import Simulator

pytestmark = pytest.mark.network

ALIASES = ("groq", "mistral", "together", "openai", "anthropic", "ollama")
TWO_TOOLS = 'Use both the read_file tool on "notes.txt" and the list_directory tool on "."'


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    with simulators(ALIASES) as started:
        yield started


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("ALLOS_PROVIDER", raising=False)
    monkeypatch.setattr("allos._retry.INITIAL_RETRY_DELAY", 0.001)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("the notes say 42", encoding="utf-8")
    return tmp_path


def allos(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def against(sim: Simulator, workdir: Path) -> list[str]:
    return ["--provider", sim.alias, "--base-url", sim.base_url, "--api-key", KEY, "--workdir", str(workdir)]


def assert_one_error_line(result: Result, code: int, *expected: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("allos: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.stderr


@pytest.mark.parametrize("alias", ["groq", "openai", "anthropic", "ollama"])
def test_a_task_with_tool_calls_completes_on_every_protocol(
    sims: dict[str, Simulator], workdir: Path, alias: str
) -> None:
    sim = sims[alias]
    before = len(sim.requests)
    result = allos(TWO_TOOLS, *against(sim, workdir))
    assert result.exit_code == 0, result.output
    # stdout is the answer alone (it quotes both tool results); the activity is on stderr.
    assert result.stdout == "Here is what the tool returned: the notes say 42; notes.txt  (16 bytes)\n"
    assert "→ read_file(path='notes.txt')" in result.stderr and "→ list_directory(path='.')" in result.stderr
    assert result.stderr.count("✓") == 2
    assert len(new_requests(sim, before)) == 2


def test_writing_asks_first_and_yes_writes(sims: dict[str, Simulator], workdir: Path) -> None:
    result = allos('Use the write_file tool to write "plan.txt"', *against(sims["groq"], workdir), input="y\n")
    assert result.exit_code == 0, result.output
    assert "write_file wants to create plan.txt (1 line)" in result.stderr and "Allow? [y/N]" in result.stderr
    assert (workdir / "plan.txt").exists()


def test_no_is_the_default_answer_and_the_model_hears_it(sims: dict[str, Simulator], workdir: Path) -> None:
    for answer in ("n\n", "\n", ""):  # no, just Enter, end of input
        result = allos('Use the run_shell tool to run "touch ran.txt"', *against(sims["groq"], workdir), input=answer)
        assert result.exit_code == 0, result.output
        assert "Allow? [y/N]" in result.stderr and "✗ the user declined this run_shell call" in result.stderr
        assert "the user declined" in result.stdout and not (workdir / "ran.txt").exists()


def test_yes_flag_skips_the_question(sims: dict[str, Simulator], workdir: Path) -> None:
    result = allos('Use the run_shell tool to run "touch ran.txt"', *against(sims["anthropic"], workdir), "--yes")
    assert result.exit_code == 0 and "Allow?" not in result.output and (workdir / "ran.txt").exists()


def test_no_tools_is_chat_only(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["together"]
    before = len(sim.requests)
    result = allos("Use the read_file tool please", *against(sim, workdir), "--no-tools")
    assert result.exit_code == 0 and result.stdout == "You said: Use the read_file tool please\n"
    assert "tools" not in new_requests(sim, before)[0].json()


def test_a_session_moves_between_providers_and_the_old_endpoint_stays_behind(
    sims: dict[str, Simulator], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = str(workdir / "talk.json")
    groq, together, mistral = sims["groq"], sims["together"], sims["mistral"]
    first = allos('Use the read_file tool to read "notes.txt"', *against(groq, workdir), "--session", session)
    assert first.exit_code == 0, first.output
    groq_seen = len(groq.requests)
    # Switch with no --base-url: the session's Groq URL must not be used for Together.
    monkeypatch.setenv("TOGETHER_API_KEY", KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", together.base_url)
    before = len(together.requests)
    second = allos('Use the list_directory tool on "."', "--provider", "together", "--session", session)
    assert second.exit_code == 0, second.output
    assert len(groq.requests) == groq_seen and len(new_requests(together, before)) == 2
    saved = Session.load(session)
    assert saved.provider == "together" and saved.settings.base_url is None
    assert saved.model == "meta-llama/Llama-3.3-70B-Instruct-Turbo"  # the registry's default, not Groq's model
    # Then Mistral, and a last prompt with no --provider at all: it continues where the session is.
    third = allos('say exactly "three"', *against(mistral, workdir), "--session", session)
    fourth = allos('say exactly "four"', "--api-key", KEY, "--session", session)
    assert (third.stdout, fourth.stdout) == ("three\n", "four\n")
    saved = Session.load(session)
    assert saved.provider == "mistral" and saved.settings.base_url == mistral.base_url
    assert [m.text for m in saved.messages if m.role == "user"][-2:] == ['say exactly "three"', 'say exactly "four"']


def test_interactive_keeps_one_conversation(sims: dict[str, Simulator], workdir: Path) -> None:
    session = workdir / "chat.json"
    prompts = 'Use the read_file tool to read "notes.txt"\n\nsay exactly "second"\nexit\nnever sent\n'
    result = allos(*against(sims["ollama"], workdir), "--interactive", "--session", str(session), input=prompts)
    assert result.exit_code == 0, result.output
    assert "Here is what the tool returned: the notes say 42" in result.stdout and "second\n" in result.stdout
    users = [m.text for m in Session.load(session).messages if m.role == "user"]
    assert users == ['Use the read_file tool to read "notes.txt"', 'say exactly "second"']


def test_max_iterations_is_a_clear_stop_with_exit_3(sims: dict[str, Simulator], workdir: Path) -> None:
    result = allos(
        'Use the read_file tool to read "notes.txt"', *against(sims["groq"], workdir), "--max-iterations", "1"
    )
    assert result.exit_code == 3
    assert "stopped after 1 model calls (max_iterations)" in result.stderr


def test_verbose_shows_tool_output_usage_and_log_lines(sims: dict[str, Simulator], workdir: Path) -> None:
    result = allos('Use the read_file tool to read "notes.txt"', *against(sims["openai"], workdir), "--verbose")
    assert result.exit_code == 0, result.output
    err = result.stderr
    assert "allos.agent: model call 1 of 10: openai (gpt-4o-mini)" in err and "httpx: HTTP Request: POST" in err
    assert "tokens, finish tool_calls" in err and "the notes say 42" in err
    assert "allos: answered after 2 model calls and 1 tool call" in err
    # The session's cost: both calls priced from gpt-4o-mini's profile (the simulator caches nothing here).
    found = re.search(r"(\d+) tokens in, (\d+) out; cost \$([0-9.]+) \(estimated\)", err)
    assert found is not None, err
    prices = resolve_profile("openai", "gpt-4o-mini").prices  # type: ignore[union-attr]
    assert prices is not None
    tokens_in, tokens_out, amount = int(found[1]), int(found[2]), float(found[3])
    assert amount == pytest.approx((tokens_in * prices.input + tokens_out * prices.output) / 1e6, abs=1e-6)


# --- errors: one line, non-zero, never a traceback ---------------------------------------------------------------


def test_missing_key(workdir: Path) -> None:
    assert_one_error_line(allos("hello", "--provider", "groq"), 2, "groq needs an API key: set GROQ_API_KEY")


def test_default_provider_without_a_key_says_what_to_do(workdir: Path) -> None:
    assert_one_error_line(allos("hello"), 2, "openai needs an API key", "--active-providers")


def test_unknown_provider() -> None:
    assert_one_error_line(allos("hello", "--provider", "nope"), 2, "unknown provider 'nope'", "known providers: ")


def test_no_default_model_or_address() -> None:
    assert_one_error_line(allos("hi", "-p", "vllm"), 2, "vllm has no default model: pass --model")
    assert_one_error_line(allos("hi", "-p", "chat_completions"), 2, "pass --base-url or set CHAT_COMPLETIONS_BASE_URL")


def test_provider_errors(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["anthropic"]
    bad_key = allos("hello", "--provider", "anthropic", "--base-url", sim.base_url, "--api-key", "an-invalid-key-123")
    assert_one_error_line(bad_key, 1, "anthropic: 401 AuthenticationError")
    assert "an-invalid-key-123" not in bad_key.output
    sim.inject("500", "500", "500")
    assert_one_error_line(allos("hello", *against(sim, workdir)), 1, "anthropic: 500 ServerError")
    unreachable = allos("hello", "--provider", "ollama", "--base-url", "http://127.0.0.1:9")
    assert_one_error_line(unreachable, 1, "could not reach http://127.0.0.1:9")


def test_bad_session_file_and_missing_prompt(workdir: Path) -> None:
    broken = workdir / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert_one_error_line(allos("hi", "-p", "ollama", "--session", str(broken)), 2, "is not an allos session")
    assert_one_error_line(allos("--provider", "ollama"), 2, "give a prompt")


def test_active_providers_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    monkeypatch.setenv("VLLM_BASE_URL", "http://127.0.0.1:8001/v1")
    result = allos("--active-providers")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[3:] if line.strip()}
    assert rows["groq"][:4] == ["groq", "chat_completions", "GROQ_API_KEY", "set"] and rows["groq"][-1] == "remote"
    assert rows["mistral"][3:5] == ["not", "set"]
    assert rows["ollama"][3:5] == ["not", "needed"] and rows["ollama"][-1] == "local"
    assert "http://127.0.0.1:8001/v1" in result.stdout and "(from VLLM_BASE_URL)" in result.stdout
    assert rows["anthropic"][1] == "anthropic" and rows["openai"][1] == "responses"
    assert KEY not in result.stdout
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{len(list_providers())} providers: 1 with a key set, "), first
    assert re.match(r"\d+ providers: 1 with a key set, \d+ that need none", first), first


def test_session_file_is_json_without_the_key(sims: dict[str, Simulator], workdir: Path) -> None:
    session = workdir / "s.json"
    allos('Use the read_file tool to read "notes.txt"', *against(sims["groq"], workdir), "--session", str(session))
    data = json.loads(session.read_text(encoding="utf-8"))
    assert set(data) == {"version", "provider", "model", "settings", "messages"}
    assert KEY not in session.read_text(encoding="utf-8")


def test_a_stream_cut_mid_answer_ends_the_line_then_says_why(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["groq"]
    sim.inject("cut")
    result = allos("Write a long story about the sea.", *against(sim, workdir), "--session", str(workdir / "s.json"))
    assert_one_error_line(result, 1, "groq: the stream was cut off")
    assert result.stdout.startswith("You said: Write a long story") and result.stdout.endswith("\n")
    assert not (workdir / "s.json").exists()  # a failed run is not saved


def test_a_session_that_is_not_text_is_refused(workdir: Path) -> None:
    binary = workdir / "s.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert_one_error_line(allos("hi", "-p", "ollama", "--session", str(binary)), 2, "not UTF-8 text")


@pytest.mark.parametrize("kind", BAD_SESSION_KINDS)
def test_every_bad_session_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    path = bad_session(tmp_path, kind)
    result = allos("hi", "-p", "ollama", "--session", str(path))
    assert_one_error_line(result, 2, str(path))
    assert "is not an allos session" in result.stderr or "cannot read session" in result.stderr
