"""Conversations that move between providers: a history made on alias A, serialised for alias B, is valid for B and
keeps every tool result attached to its call.

"Made on A" means its tool-call ids are in the format A's provider mints (OpenAI `call_...`, Anthropic `toolu_01...`,
Mistral's 9 alphanumerics, Ollama's short ids, ...), plus ids no provider would accept as they are. The checks read
B's wire body on its own terms (tool_calls/tool_call_id, tool_use/tool_result, function_call/function_call_output,
Ollama's tool_name), written here from each protocol's documentation, not from the adapters.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allos import Capability, Message, ToolSpec, get_provider, list_providers
from allos.errors import InvalidRequestError
from conformance.strategies import conversations

ALIASES = sorted(spec.name for spec in list_providers() if Capability.HANDOFF in spec.capabilities)
_ALNUM = string.ascii_letters + string.digits

# Each source's id format [research notes: provider-contracts.md sections 1-5; Ollama ids as its simulator mints].
MINTERS: dict[str, Callable[[int], str]] = {
    "openai": lambda n: f"call_{_word(n, 24)}",
    "anthropic": lambda n: f"toolu_01{_word(n, 22)}",
    "mistral": lambda n: _word(n, 9),
    "ollama": lambda n: f"call_{_word(n, 8).lower()}",
    "gemini": lambda n: f"function-call-{n}",
    "foreign": lambda n: f"tool:{n}/üñí code" + "x" * 70,  # no provider accepts this one as it is
}
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
MISTRAL_ID = re.compile(r"^[a-zA-Z0-9]{9}$")
TOOLS = [ToolSpec(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}})]


def _word(seed: int, size: int) -> str:
    value = int.from_bytes(hashlib.sha256(str(seed).encode()).digest(), "big")
    chars = []
    for _ in range(size):
        value, digit = divmod(value, 62)
        chars.append(_ALNUM[digit])
    return "".join(chars)


def _reminted(history: tuple[Message, ...], mint: Callable[[int], str]) -> list[Message]:
    """The same conversation with every id replaced by one in the source's format, consistently."""
    mapping: dict[str, str] = {}

    def new(old: str) -> str:
        return mapping.setdefault(old, mint(len(mapping)))

    out = []
    for message in history:
        calls = tuple(call.model_copy(update={"id": new(call.id)}) for call in message.tool_calls)
        answered = new(message.tool_call_id) if message.tool_call_id is not None else None
        out.append(message.model_copy(update={"tool_calls": calls, "tool_call_id": answered}))
    return out


# --- reading the target's wire body ---------------------------------------------------------------------------------


def _pairs_chat(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    calls, results = [], []
    for message in body["messages"]:
        calls += [call["id"] for call in message.get("tool_calls") or []]
        if message["role"] == "tool":
            assert message["tool_call_id"] in calls, "a tool result points at no earlier call"
            results.append(message["tool_call_id"])
    return calls, results


def _pairs_anthropic(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    calls, results = [], []
    previous: list[str] = []
    for message in body["messages"]:
        blocks = message["content"] if isinstance(message["content"], list) else []
        here = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        answered = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
        # Each tool_result answers a tool_use of the message just before [anthropics/claude-code#5989].
        assert set(answered) <= set(previous), "a tool_result does not answer the previous turn's tool_use"
        assert not previous or set(previous) <= set(answered), "a tool_use is left unanswered"
        calls += here
        results += answered
        previous = here
    assert all(ANTHROPIC_ID.match(i) for i in calls), calls
    return calls, results


def _pairs_responses(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    calls, results = [], []
    for item in body["input"] if isinstance(body["input"], list) else []:
        if item.get("type") == "function_call":
            calls.append(item["call_id"])
        elif item.get("type") == "function_call_output":
            assert item["call_id"] in calls, "a function_call_output points at no earlier function_call"
            results.append(item["call_id"])
    assert all(1 <= len(i) <= 64 for i in calls), calls  # call_id: 1-64 characters [openai-openapi]
    return calls, results


def _pairs_ollama(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    names: dict[str, str] = {}
    calls, results = [], []
    for message in body["messages"]:
        for call in message.get("tool_calls") or []:
            calls.append(call.get("id", ""))
            names[call.get("id", "")] = call["function"]["name"]
        if message["role"] == "tool":
            # Ollama pairs a result with its call by tool name [ollama docs/api.md]; the id, when sent, must agree.
            assert message["tool_name"] in names.values()
            if message.get("tool_call_id"):
                assert names.get(message["tool_call_id"]) == message["tool_name"]
                results.append(message["tool_call_id"])
    return calls, results


READERS = {
    "chat_completions": _pairs_chat,
    "anthropic": _pairs_anthropic,
    "responses": _pairs_responses,
    "ollama": _pairs_ollama,
}


# Refusals a target documents for content, not for ids or pairing (Anthropic: a last user turn left empty once blank
# text is dropped [anthropics/claude-code#6774]).
ALLOWED_REFUSALS = ("non-whitespace", "no content", "empty")


def _check(target: str, history: list[Message], *, strict: bool) -> None:
    provider = get_provider(target, api_key="handoff-key-0123456789", base_url="http://127.0.0.1:9/v1", model="m")
    try:
        body = provider.payload(history, tools=TOOLS)
    except InvalidRequestError as exc:
        assert not strict and any(word in exc.message for word in ALLOWED_REFUSALS), exc.message
        return
    calls, results = READERS[provider.spec.protocol](body)
    assert len(set(calls)) == len(calls), f"ids collide after re-mapping: {calls}"
    assert len(set(results)) == len(results)
    if target == "mistral":
        assert all(MISTRAL_ID.match(i) for i in calls), calls


@given(
    history=conversations(tools=TOOLS, system=True, max_rounds=3),
    source=st.sampled_from(sorted(MINTERS)),
    target=st.sampled_from(ALIASES),
)
def test_handoff_any_source_to_any_alias_keeps_results_attached(
    history: tuple[Message, ...], source: str, target: str
) -> None:
    _check(target, _reminted(history, MINTERS[source]), strict=False)


_FIXED = (
    Message(role="system", content="Be brief."),
    Message(role="user", content="Weather in Paris and Tokyo? Use get_weather."),
    Message(
        role="assistant",
        tool_calls=[
            {"id": "a", "name": "get_weather", "arguments": {"city": "Paris"}},
            {"id": "b", "name": "get_weather", "arguments": {"city": "Tokyo"}},
        ],
    ),
    Message(role="tool", tool_call_id="a", content="sunny"),
    Message(role="tool", tool_call_id="b", content="rain", is_error=False),
    Message(role="assistant", content="Sunny in Paris, rain in Tokyo."),
    Message(role="user", content="And tomorrow? Use get_weather again."),
    Message(role="assistant", tool_calls=[{"id": "c", "name": "get_weather", "arguments": {"city": "Paris"}}]),
    Message(role="tool", tool_call_id="c", content="the service is down", is_error=True),
)


@pytest.mark.parametrize("target", ALIASES)
@pytest.mark.parametrize("source", sorted(MINTERS))
def test_handoff_every_ordered_pair(source: str, target: str) -> None:
    _check(target, _reminted(_FIXED, MINTERS[source]), strict=True)
