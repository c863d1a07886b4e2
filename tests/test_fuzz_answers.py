"""Hostile answers over real HTTP: every one gives a parsed response or a typed Allos error, in all four call styles,
and a key the server echoes back never reaches `str`, `repr` or the traceback of the error.

The named cases are the shapes that fuzzing 56,000 calls once turned into pydantic ValidationErrors, TypeErrors,
AttributeErrors and RecursionErrors (issue 11); each is sent by the loopback server (tests/loopback.py) to a provider
of its protocol family. `test_fuzzed_answer_*` mutates the seed answers below (wrong types at every JSON path,
deleted keys, truncation, junk and deeply nested stream lines, non-UTF-8 bytes) under Hypothesis; the `ci` profile
keeps it to a few dozen cases, `HYPOTHESIS_PROFILE=nightly python -m pytest tests/test_fuzz_answers.py` runs
`NIGHTLY_CASES` per family and call style (51,200 calls); `ALLOS_FUZZ_LOG=/tmp/fuzz.log` logs each call's outcome
type, counted with `sort /tmp/fuzz.log | uniq -c` (a hang would be a TimeoutError: each call has a 20 s limit).
"""

from __future__ import annotations

import asyncio
import json
import os
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback import LoopbackServer, Reply
from provider_modes import run

from allos import errors
from allos.providers import Provider, get_provider
from allos.types import ChatResponse, StreamEnd

pytestmark = pytest.mark.network

KEY = "sk-fuzz-0123456789abcdefSECRET"
MODES = ("chat", "achat", "stream", "astream")
FAMILIES = {"groq": "/openai/v1", "openai": "", "anthropic": "", "ollama": ""}
NIGHTLY_CASES = 3200  # per family and call style: 12,800 per family, 51,200 in all
# `ALLOS_FUZZ_LOG=path` appends one line per call (family, mode, outcome type): the counts in the closing note.
FUZZ_LOG = os.environ.get("ALLOS_FUZZ_LOG")

# --- seed answers: one whole answer and one stream per family, in the shapes the providers send -------------------

CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "llama-3.3-70b-versatile",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "model": "gpt-4o-mini",
    "output": [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris."}]},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
    ],
    "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
}
MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": "Paris."}, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 5, "output_tokens": 2},
}
OLLAMA = {
    "model": "llama3.2",
    "message": {"role": "assistant", "content": "Paris.", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
    "done": True,
    "done_reason": "stop",
    "prompt_eval_count": 5,
    "eval_count": 2,
}
BODIES: dict[str, dict[str, Any]] = {"groq": CHAT, "openai": RESPONSE, "anthropic": MESSAGE, "ollama": OLLAMA}


def chat_stream(delta: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]


def sse(events: list[Any], *, done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return ("".join(lines) + ("data: [DONE]\n\n" if done else "")).encode()


def ndjson(lines: list[Any]) -> bytes:
    return "".join(f"{line if isinstance(line, str) else json.dumps(line)}\n" for line in lines).encode()


DEEP = "[" * 100_000 + "]" * 100_000
STREAMS: dict[str, bytes] = {
    "groq": sse(chat_stream({"content": "Paris."})),
    "openai": sse(
        [
            {"type": "response.output_text.delta", "delta": "Paris."},
            {"type": "response.completed", "response": RESPONSE},
        ],
        done=False,
    ),
    "anthropic": sse(
        [
            {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 1}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Paris."}},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
            {"type": "message_stop"},
        ],
        done=False,
    ),
    "ollama": ndjson([{"model": "m", "message": {"content": "Paris."}, "done": False}, {**OLLAMA, "message": {}}]),
}
STREAM_TYPE = {"ollama": "application/x-ndjson"}


def with_path(value: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    """A deep copy of `value` with the field at `path` replaced by `new`."""
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


# --- the hostile cases of issue 11, each by name ------------------------------------------------------------------

Case = tuple[str, str, Callable[[str], Reply]]  # family, modes ("whole" or "stream"), reply for a mode


def whole(body: Any, *, status: int = 200) -> Callable[[str], Reply]:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return lambda mode: Reply(status=status, headers={"content-type": "application/json"}, body=raw)


def streamed(family: str, data: bytes) -> Callable[[str], Reply]:
    content_type = STREAM_TYPE.get(family, "text/event-stream")
    return lambda mode: Reply(headers={"content-type": content_type}, chunks=[data])


HOSTILE: dict[str, tuple[str, Callable[[str], Reply]]] = {
    "chat-id-int": ("groq", whole({**CHAT, "id": 0})),
    "chat-total-tokens-empty-string": ("groq", whole(with_path(CHAT, ("usage", "total_tokens"), ""))),
    "chat-finish-reason-list": ("groq", whole(with_path(CHAT, ("choices", 0, "finish_reason"), [1]))),
    "chat-arguments-int": (
        "groq",
        whole(with_path(CHAT, ("choices", 0, "message", "tool_calls", 0, "function", "arguments"), 0)),
    ),
    "chat-id-echoes-the-key": ("groq", whole({**CHAT, "id": [KEY]})),
    "chat-deep-body": ("groq", whole(DEEP)),
    "chat-deep-error-body": ("groq", whole('{"error": ' + DEEP + "}", status=400)),
    "chat-stream-tool-call-id-negative": (
        "groq",
        streamed("groq", sse(chat_stream({"tool_calls": [{"index": 0, "id": -1, "function": {"name": "f"}}]}))),
    ),
    "chat-stream-deep-data-line": ("groq", streamed("groq", sse([DEEP]))),
    "responses-id-int": ("openai", whole({**RESPONSE, "id": 0})),
    "responses-content-negative": ("openai", whole(with_path(RESPONSE, ("output", 0, "content"), -1))),
    "responses-stream-type-list": ("openai", streamed("openai", sse([{"type": [1]}], done=False))),
    "anthropic-stop-reason-list": ("anthropic", whole({**MESSAGE, "stop_reason": [1]})),
    "anthropic-input-tokens-string": ("anthropic", whole(with_path(MESSAGE, ("usage", "input_tokens"), "x"))),
    "ollama-model-negative": ("ollama", whole({**OLLAMA, "model": -1})),
    "ollama-deep-ndjson-line": ("ollama", streamed("ollama", ndjson([DEEP]))),
}


def provider_for(loopback: LoopbackServer, family: str) -> Provider:
    return get_provider(family, api_key=KEY, base_url=loopback.url(FAMILIES[family]), max_retries=0, timeout=10.0)


def assert_typed_and_secret_free(outcome: list[Any] | BaseException) -> None:
    """A full answer ending in StreamEnd, or an AllosError whose text, repr and traceback hold no key byte run."""
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, errors.AllosError), f"untyped: {type(outcome).__name__}: {outcome}"
        shown = str(outcome) + repr(outcome) + "".join(traceback.format_exception(outcome))
        assert KEY not in shown, "the key reached the error"
        return
    assert isinstance(outcome[-1], StreamEnd) and isinstance(outcome[-1].response, ChatResponse)


async def _one(loopback: LoopbackServer, family: str, mode: str) -> list[Any]:
    provider = provider_for(loopback, family)  # one per call: an async client belongs to one event loop
    try:
        return await asyncio.wait_for(run(provider, mode, [{"role": "user", "content": "hi"}]), timeout=20)
    finally:
        provider.close()
        await provider.aclose()


def call(loopback: LoopbackServer, family: str, mode: str) -> list[Any] | BaseException:
    outcome: list[Any] | BaseException
    try:
        outcome = asyncio.run(_one(loopback, family, mode))
    except Exception as exc:  # the property under test: what kind of exception this is
        outcome = exc
    if FUZZ_LOG:
        with open(FUZZ_LOG, "a") as log:
            log.write(f"{family} {mode} {type(outcome).__name__}\n")
    return outcome


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_answer_is_typed(loopback: LoopbackServer, name: str, mode: str) -> None:
    family, reply = HOSTILE[name]
    loopback.push(reply(mode))
    outcome = call(loopback, family, mode)
    assert_typed_and_secret_free(outcome)
    assert isinstance(outcome, errors.AllosError), "every hostile case is an error"


def test_hostile_answer_names_provider_endpoint_and_path(loopback: LoopbackServer) -> None:
    loopback.push(HOSTILE["chat-arguments-int"][1]("chat"))
    with provider_for(loopback, "groq") as provider, pytest.raises(errors.ResponseParseError) as info:
        provider.chat([{"role": "user", "content": "hi"}])
    assert str(info.value) == (
        "groq: /chat/completions answer: choices[0].message.tool_calls[0].function.arguments is int,"
        " expected a string or object"
    )
    assert info.value.__cause__ is None and info.value.__context__ is None


# --- fuzzed answers -------------------------------------------------------------------------------------------------

WRONG = st.sampled_from([0, -1, "", [1], {}, None, [KEY], 1.5, True])


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found.append((*prefix, key))
        found.extend(paths(inner, (*prefix, key)))
    return found


def _mutated_body(draw: st.DrawFn, family: str) -> bytes:
    body = BODIES[family]
    path = draw(st.sampled_from(paths(body)))
    if draw(st.booleans()):
        copy = json.loads(json.dumps(body))
        target = copy
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
        return json.dumps(copy).encode()
    return json.dumps(with_path(body, path, draw(WRONG))).encode()


def _mutated_stream(draw: st.DrawFn, family: str) -> bytes:
    lines = STREAMS[family].split(b"\n")
    position = draw(st.integers(0, len(lines) - 1))
    junk = draw(st.sampled_from([b"data: " + DEEP.encode(), DEEP.encode(), b"data: \xff\xfe", b"data: [1]", b"\x00"]))
    lines[position] = junk if draw(st.booleans()) else lines[position] + junk
    return b"\n".join(lines)


@st.composite
def mutated(draw: st.DrawFn, family: str) -> tuple[str, bytes]:
    """(content type, body): a mutated whole answer or stream, truncated anywhere, sometimes mislabelled."""
    stream_type = STREAM_TYPE.get(family, "text/event-stream")
    kind = draw(st.sampled_from(["field", "stream", "truncate", "junk"]))
    if kind == "field":
        raw, content_type = _mutated_body(draw, family), "application/json"
    elif kind == "stream":
        raw, content_type = _mutated_stream(draw, family), stream_type
    elif kind == "truncate":
        raw, content_type = draw(
            st.sampled_from([(json.dumps(BODIES[family]).encode(), "application/json"), (STREAMS[family], stream_type)])
        )
        raw = raw[: draw(st.integers(0, len(raw)))]
    else:
        raw = draw(st.sampled_from([b"\xff\xfe\x00", DEEP.encode(), b"data: {}\n\n", b"<html>", STREAMS[family]]))
        content_type = stream_type
    if draw(st.integers(0, 9)) == 0:  # the wrong label: JSON as a stream, a stream as JSON
        content_type = "application/json" if content_type != "application/json" else stream_type
    return content_type, raw


def _cases() -> int:
    return NIGHTLY_CASES if settings().max_examples >= 2000 else settings().max_examples // 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_fuzzed_answer_is_typed(loopback_server: LoopbackServer, family: str, mode: str) -> None:
    @settings(max_examples=_cases(), deadline=None, suppress_health_check=list(HealthCheck))
    @given(answer=mutated(family))
    def check(answer: tuple[str, bytes]) -> None:
        content_type, body = answer
        loopback_server.push(Reply(headers={"content-type": content_type}, body=body))
        assert_typed_and_secret_free(call(loopback_server, family, mode))

    check()
