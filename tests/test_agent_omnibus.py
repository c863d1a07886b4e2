"""The omnibus flow: one conversation handed Groq -> Mistral -> Together -> OpenAI -> Anthropic, a different tool
called on every leg, saved to a session file and loaded again at every handoff, each leg against its provider's
simulator over loopback HTTP.

Every simulator checks the whole history it receives with its provider's own rules (Mistral's nine-character call
ids and role order, OpenAI Responses' function_call / function_call_output pairing, Anthropic's tool_use /
tool_result blocks), so a leg that passes means that provider accepted everything the earlier ones produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import KEY, RecordingDisplay, config_for, new_requests, simulators

from allos.agent import Agent, Session
from conformance.simulators import Simulator

pytestmark = pytest.mark.network

LEGS = (
    ("groq", 'Use the read_file tool to read "notes.txt"', "read_file"),
    ("mistral", 'Use the list_directory tool on "."', "list_directory"),
    ("together", 'Use the write_file tool to write "summary.txt"', "write_file"),
    ("openai", 'Use the edit_file tool on "notes.txt" to replace "42" with "43"', "edit_file"),
    ("anthropic", 'Use the run_shell tool to run "cat notes.txt summary.txt"', "run_shell"),
)


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    with simulators(alias for alias, _, _ in LEGS) as started:
        yield started


def test_omnibus_groq_mistral_together_openai_anthropic(sims: dict[str, Simulator], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the answer is 42\n", encoding="utf-8")
    path = tmp_path / "omnibus.json"
    seen_before = {alias: len(sim.requests) for alias, sim in sims.items()}
    for number, (alias, prompt, tool_name) in enumerate(LEGS):
        sim = sims[alias]
        if number == 0:
            agent = Agent(config_for(sim, tmp_path, auto_approve=True), display=RecordingDisplay())
        else:  # the handoff: the session file, loaded on the next provider
            agent = Agent.from_session(
                Session.load(path),
                display=RecordingDisplay(),
                provider=alias,
                base_url=sim.base_url,
                api_key=KEY,
                workdir=tmp_path,
                auto_approve=True,
            )
        with agent:
            result = agent.run(prompt)
            agent.session().save(path)
        assert result.stop_reason == "answered", alias
        tool_messages = [m for m in result.messages if m.role == "tool"]
        assert [m.is_error for m in tool_messages] == [False], (alias, tool_messages)
        calls = [c.name for m in result.messages for c in m.tool_calls]
        assert calls == [tool_name], alias
        assert len(new_requests(sim, seen_before[alias])) == 2, alias  # the call, then the answer to its result

    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "the answer is 43\n"
    assert (tmp_path / "summary.txt").exists()
    final = Session.load(path)
    assert final.provider == "anthropic" and final.settings.base_url == sims["anthropic"].base_url
    names = [c.name for m in final.messages for c in m.tool_calls]
    assert names == [tool for _, _, tool in LEGS]
    assert [m.role for m in final.messages].count("user") == len(LEGS)
    assert "the answer is 43" in final.messages[-1].text  # Anthropic quoting the shell's output of the edited file
    # Every provider saw the conversation so far: Anthropic's last request carries every earlier leg's tool result.
    last = sims["anthropic"].requests[-1].json()
    results = [b for m in last["messages"] if isinstance(m["content"], list) for b in m["content"]]
    assert sum(1 for block in results if block.get("type") == "tool_result") == len(LEGS)
    assert KEY not in path.read_text(encoding="utf-8")
