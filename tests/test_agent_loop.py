"""The agent loop over loopback HTTP: against the provider simulators (every protocol, streamed and not), and against
a scripted server for what no well-behaved model does (arguments that are not JSON, unknown tools, endless calls).

The simulators' model calls a tool when the user names it, and answers in text quoting the results after them, so
every prompt here names the tool it wants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_support import KEY, Approvals, RecordingDisplay, config_for, new_requests, simulators
from loopback import LoopbackServer, json_reply

from allos.agent import Agent, AgentConfig, Session, builtin_tools, tool
from allos.errors import ServerError
from allos.types import ToolCall
from conformance.simulators import Simulator

pytestmark = pytest.mark.network

ALIASES = ("groq", "mistral", "openai", "anthropic", "ollama", "perplexity")
READ_NOTES = 'Use the read_file tool to read "notes.txt"'


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    with simulators(ALIASES) as started:
        yield started


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("the notes say 42", encoding="utf-8")
    return tmp_path


def _agent(sim: Simulator, workdir: Path, display: RecordingDisplay | None = None, **settings: Any) -> Agent:
    approve = settings.pop("approve", None)
    tools = settings.pop("tools", None)
    config = config_for(sim, workdir, **settings)
    return Agent(config, tools, display=display or RecordingDisplay(), approve=approve)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "chat"])
@pytest.mark.parametrize("alias", ["groq", "openai", "anthropic", "ollama"])
def test_tool_round_trip_on_every_protocol(sims: dict[str, Simulator], workdir: Path, alias: str, stream: bool) -> None:
    sim = sims[alias]
    before = len(sim.requests)
    display = RecordingDisplay()
    with _agent(sim, workdir, display, stream=stream) as agent:
        result = agent.run(READ_NOTES)
    assert result.stop_reason == "answered" and result.iterations == 2 and result.tool_calls == 1
    assert "the notes say 42" in result.text
    assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert result.messages[2].tool_calls[0].arguments == {"path": "notes.txt"}
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert len(new_requests(sim, before)) == 2
    assert display.of("tool_call") == ["read_file"]
    assert "".join(display.of("text")) == result.text


def test_streamed_text_reaches_the_display_piece_by_piece(sims: dict[str, Simulator], workdir: Path) -> None:
    display = RecordingDisplay()
    with _agent(sims["groq"], workdir, display) as agent:
        result = agent.run("Write a long story about the sea.")
    pieces = display.of("text")
    assert len(pieces) > 5 and "".join(pieces) == result.text
    assert display.events.index(("text", pieces[-1])) < display.events.index(("response", "stop"))


def test_a_failing_tool_goes_back_to_the_model_as_an_error(sims: dict[str, Simulator], workdir: Path) -> None:
    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        raise ConnectionError(f"the lookup service is down for {city}")

    sim = sims["groq"]
    before = len(sim.requests)
    with _agent(sim, workdir, tools=[lookup]) as agent:
        result = agent.run("Use the lookup tool for Paris.")
    tool_message = result.messages[3]
    assert tool_message.is_error and tool_message.content == "ConnectionError: the lookup service is down for Paris"
    sent = new_requests(sim, before)[1].json()["messages"][3]
    assert sent["role"] == "tool" and sent["content"].startswith("Error: ConnectionError")  # the protocol's marker
    assert result.stop_reason == "answered" and "the lookup service is down" in result.text


def test_a_missing_program_is_a_tool_error(sims: dict[str, Simulator], workdir: Path) -> None:
    with _agent(sims["anthropic"], workdir, auto_approve=True) as agent:
        result = agent.run('Use the run_shell tool to run "no-such-program-allos --version"')
    tool_message = result.messages[3]
    assert tool_message.is_error and "not found" in tool_message.text and "[exit code 127]" in tool_message.text
    sent = sims["anthropic"].requests[-1].json()["messages"][-1]["content"][0]
    assert sent["type"] == "tool_result" and sent["is_error"] is True


def test_writing_asks_for_approval_and_a_no_is_told_to_the_model(sims: dict[str, Simulator], workdir: Path) -> None:
    approvals = Approvals(False)
    with _agent(sims["groq"], workdir, approve=approvals) as agent:
        result = agent.run('Use the write_file tool to write "plan.txt"')
    assert [r.tool for r in approvals.asked] == ["write_file"]
    assert approvals.asked[0].preview.startswith("create plan.txt")
    assert not (workdir / "plan.txt").exists()
    assert result.messages[3].is_error and "the user declined" in result.messages[3].text


def test_writing_with_approval_or_yes_writes(sims: dict[str, Simulator], workdir: Path) -> None:
    approvals = Approvals(True)
    with _agent(sims["openai"], workdir, approve=approvals) as agent:
        agent.run('Use the write_file tool to write "plan.txt"')
    assert len(approvals.asked) == 1 and (workdir / "plan.txt").exists()
    (workdir / "plan.txt").unlink()
    never = Approvals()
    with _agent(sims["openai"], workdir, approve=never, auto_approve=True) as agent:
        agent.run('Use the write_file tool to write "plan.txt"')
    assert never.asked == [] and (workdir / "plan.txt").exists()


def test_a_path_outside_is_refused_before_anyone_is_asked(sims: dict[str, Simulator], workdir: Path) -> None:
    approvals = Approvals(True)
    with _agent(sims["groq"], workdir, approve=approvals) as agent:
        result = agent.run('Use the write_file tool to write "../escape.txt"')
    assert approvals.asked == [] and not (workdir.parent / "escape.txt").exists()
    assert "outside the working directory" in result.messages[3].text


def test_max_iterations_stops_clearly_and_the_history_stays_valid(sims: dict[str, Simulator], workdir: Path) -> None:
    display = RecordingDisplay()
    with _agent(sims["groq"], workdir, display, max_iterations=1) as agent:
        result = agent.run(READ_NOTES)
        assert result.stop_reason == "max_iterations" and result.iterations == 1 and result.text == ""
        assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
        assert result.messages[3].is_error and "not run" in result.messages[3].text
        assert any("max_iterations" in notice for notice in display.of("notice"))
        # Mistral refuses a user turn right after a tool turn: the closing note keeps the conversation valid.
        agent.switch_provider("mistral", base_url=sims["mistral"].base_url, api_key=KEY)
        follow_up = agent.run('say exactly "continued"')
    assert follow_up.stop_reason == "answered" and follow_up.text == "continued"


def test_an_alias_without_tools_runs_chat_only(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["perplexity"]
    before = len(sim.requests)
    display = RecordingDisplay()
    with _agent(sim, workdir, display) as agent:
        result = agent.run('Use the read_file tool, then say exactly "no tools here"')
    assert result.text == "no tools here" and result.iterations == 1
    assert "tools" not in new_requests(sim, before)[0].json()
    assert display.of("notice") == ["perplexity does not take tools; running chat-only"]


def test_no_tools_sends_no_tool_definitions(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["groq"]
    before = len(sim.requests)
    with _agent(sim, workdir, tools_enabled=False) as agent:
        result = agent.run(READ_NOTES)
    body = new_requests(sim, before)[0].json()
    assert "tools" not in body and result.iterations == 1
    assert body["messages"][0] == {"role": "system", "content": "You are Allos, a careful, concise assistant."}


def test_a_provider_error_leaves_the_history_as_it_was(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["groq"]
    with _agent(sim, workdir, max_retries=0) as agent:
        agent.run('say exactly "first"')
        kept = list(agent.messages)
        sim.inject("500")
        with pytest.raises(ServerError):
            agent.run(READ_NOTES)
        assert agent.messages == kept
        assert agent.run(READ_NOTES).stop_reason == "answered"


def test_a_provider_error_mid_run_takes_back_the_tool_steps_too(sims: dict[str, Simulator], workdir: Path) -> None:
    sim = sims["groq"]
    display = _FailAfterToolCall(sim)
    with _agent(sim, workdir, display, max_retries=0) as agent:
        with pytest.raises(ServerError):
            agent.run(READ_NOTES)
        assert display.of("tool_call") == ["read_file"] and agent.messages == []


class _FailAfterToolCall(RecordingDisplay):
    """Makes the model call that follows a tool call fail with a 500."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__()
        self.sim = sim

    def tool_call(self, call: ToolCall) -> None:
        super().tool_call(call)
        self.sim.inject("500")


def test_switching_provider_mid_session_keeps_the_history_and_drops_the_old_endpoint(
    sims: dict[str, Simulator], workdir: Path
) -> None:
    groq, mistral = sims["groq"], sims["mistral"]
    with _agent(groq, workdir) as agent:
        agent.run(READ_NOTES)
        groq_count = len(groq.requests)
        mistral_before = len(mistral.requests)
        agent.switch_provider("mistral", base_url=mistral.base_url, api_key=KEY)
        assert agent.config.model is None and agent.provider.model == "mistral-small-latest"
        result = agent.run('Use the list_directory tool on "."')
    assert result.stop_reason == "answered" and "notes.txt" in result.text
    assert len(groq.requests) == groq_count  # nothing more went to the old provider
    sent = new_requests(mistral, mistral_before)[-1].json()["messages"]
    ids = [call["id"] for m in sent for call in m.get("tool_calls") or []]
    assert len(ids) == 2 and all(len(i) == 9 and i.isalnum() for i in ids)  # Groq's call id re-mapped for Mistral


def test_a_saved_session_continues_on_another_provider_without_its_base_url(
    sims: dict[str, Simulator], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workdir / "session.json"
    with _agent(sims["groq"], workdir, max_tokens=300) as agent:
        agent.run(READ_NOTES)
        agent.session().save(path)
    saved = Session.load(path)
    assert saved.provider == "groq" and saved.model == "llama-3.3-70b-versatile"
    assert saved.settings.base_url == sims["groq"].base_url and saved.settings.max_tokens == 300
    # Same provider: the session's endpoint is used again.
    assert saved.config().base_url == sims["groq"].base_url
    # Another provider: the Groq endpoint and model stay behind; the settings that are not the provider's carry over.
    moved = Agent.from_session(saved, display=RecordingDisplay(), provider="anthropic", workdir=workdir)
    assert moved.config.base_url is None and moved.config.model is None and moved.config.max_tokens == 300
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert moved.provider.base_url == "https://api.anthropic.com"  # the registry's, never the Groq simulator's
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sims["anthropic"].base_url)
    moved.switch_provider("anthropic")  # picks the environment up afresh
    with moved:
        result = moved.run('Use the read_file tool to read "notes.txt" again')
    assert result.stop_reason == "answered" and len(moved.messages) == 9


def test_custom_tool_beside_the_builtins(sims: dict[str, Simulator], workdir: Path) -> None:
    calls: list[tuple[str, int]] = []

    @tool
    def get_weather(city: str, days: int = 1) -> dict[str, object]:
        """Current weather for a city."""
        calls.append((city, days))
        return {"city": city, "sky": "clear"}

    config = config_for(sims["ollama"], workdir)
    with Agent(config, [*builtin_tools(config), get_weather], display=RecordingDisplay()) as agent:
        result = agent.run("Use the get_weather tool for Lisbon.")
    assert calls == [("Lisbon", 1)] and '"sky": "clear"' in result.text


def test_duplicate_tool_names_are_refused(workdir: Path) -> None:
    config = AgentConfig(provider="groq", workdir=workdir)
    with pytest.raises(ValueError, match="two tools are named 'read_file'"):
        Agent(config, [*builtin_tools(config), *builtin_tools(config)[:1]])


# --- a scripted model: what no well-behaved model does ---------------------------------------------------------------


def _completion(*calls: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    tool_calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
        for i, (name, arguments) in enumerate(calls)
    ]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def _scripted(loopback: LoopbackServer, workdir: Path, **settings: Any) -> Agent:
    config = AgentConfig(
        provider="chat_completions",
        base_url=loopback.url("/v1"),
        model="scripted",
        workdir=workdir,
        stream=False,
        max_retries=0,
        **settings,
    )
    return Agent(config, display=RecordingDisplay(), approve=Approvals())


def test_bad_arguments_and_unknown_tools_go_back_as_errors(loopback: LoopbackServer, workdir: Path) -> None:
    loopback.push(
        json_reply(
            _completion(
                ("read_file", '{"path": "notes.txt"'),  # cut short: not JSON
                ("read_file", '{"file": "notes.txt"}'),  # the wrong argument
                ("delete_everything", "{}"),  # no such tool
                ("read_file", '["notes.txt"]'),  # JSON, but not an object
            )
        ),
        json_reply(_completion(text="I will try again differently.")),
    )
    with _scripted(loopback, workdir) as agent:
        result = agent.run("read the notes")
    errors = [m for m in result.messages if m.role == "tool"]
    assert all(m.is_error for m in errors) and len(errors) == 4
    assert "the arguments are not a JSON object (not valid JSON" in errors[0].text
    assert "path: Missing required argument" in errors[1].text and "file: Unexpected keyword" in errors[1].text
    assert errors[2].text.startswith("there is no tool named 'delete_everything'; the tools are: read_file,")
    assert "not a JSON object" in errors[3].text
    sent = loopback.requests[1].json()["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "tool", "tool", "tool"]
    assert sent[2]["tool_calls"][0]["function"]["arguments"] == '{"path": "notes.txt"'  # sent back as it came
    assert result.stop_reason == "answered"


def test_a_model_that_never_stops_calling_tools_is_stopped(loopback: LoopbackServer, workdir: Path) -> None:
    loopback.push(*[json_reply(_completion(("list_directory", "{}"))) for _ in range(3)])
    with _scripted(loopback, workdir, max_iterations=3) as agent:
        result = agent.run("look around forever")
    assert result.stop_reason == "max_iterations" and result.iterations == 3 and result.tool_calls == 2
    assert len(loopback.requests) == 3
    assert result.usage.input_tokens == 9 and result.usage.total_tokens == 15
    last_tool, note = result.messages[-2], result.messages[-1]
    assert last_tool.is_error and "stopped at its limit of 3 model calls" in last_tool.text
    assert note.role == "assistant" and "list_directory were not run" in note.text


def test_a_long_tool_result_is_cut_in_the_middle(loopback: LoopbackServer, workdir: Path) -> None:
    (workdir / "big.txt").write_text("A" * 5000 + "B" * 5000, encoding="utf-8")
    loopback.push(
        json_reply(_completion(("read_file", json.dumps({"path": "big.txt"})))), json_reply(_completion(text="ok"))
    )
    with _scripted(loopback, workdir, max_output_chars=1000) as agent:
        result = agent.run("read big.txt")
    content = result.messages[3].text
    assert len(content) == 1000 and content.startswith("A") and content.endswith("B")
    assert "[... 9000 characters cut ...]" in content


def test_run_usage_sums_costs_while_every_call_has_one() -> None:
    from allos.agent.loop import _add
    from allos.types import Cost, Usage

    billed = Usage(input_tokens=10, output_tokens=2, cached_input_tokens=4, cost=Cost(amount=0.5, source="billed"))
    estimated = Usage(input_tokens=1, output_tokens=1, cost=Cost(amount=0.25, source="estimated"))
    unknown = Usage(input_tokens=1, output_tokens=1)
    total = _add(_add(Usage(), billed), billed)
    assert total.cost == Cost(amount=1.0, source="billed") and total.cached_input_tokens == 8
    assert _add(total, estimated).cost == Cost(amount=1.25, source="estimated")
    assert _add(total, unknown).cost is None  # a partial sum would read as the whole run's cost
    assert _add(_add(Usage(), unknown), billed).cost is None
    assert _add(Usage(), unknown).reasoning_tokens is None
