"""Hypothesis properties of the pure Chat Completions functions, on inputs from `conformance.strategies`.

- Every body `build_request` makes, for every alias's quirks, is accepted by the official `openai` SDK's request type
  (an oracle independent of Allos) once the departures that alias's own documentation asks for are undone.
- Tool-call ids stay paired, unique and (for Mistral) well formed after re-mapping; the same request always builds
  the same bytes.
- `parse_request` inverts `build_request` up to the normalisations its docstring lists.
- Streaming equals non-streaming: the same answer rendered as a `chat.completion` body and as an SSE stream, cut at
  any byte, assembles to the same `ChatResponse`, with the same events for every cut.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)

from allos.capabilities import Capability
from allos.errors import IncompleteStreamError
from allos.protocols.chat_completions import (
    DEFAULT_QUIRKS,
    ChatCompletionsQuirks,
    StreamDecoder,
    build_request,
    parse_request,
    parse_response,
)
from allos.providers.registry import OPENAI_COMPATIBLE_PROVIDERS, ProviderSpec
from allos.types import (
    ChatRequest,
    ChatResponse,
    ImagePart,
    Message,
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDone,
)
from conformance.strategies import chat_requests, chunkings, json_values, texts, tool_call_ids, tool_names

ALIASES = sorted(OPENAI_COMPATIBLE_PROVIDERS)


def quirks_of(spec: ProviderSpec) -> ChatCompletionsQuirks:
    return spec.quirks if isinstance(spec.quirks, ChatCompletionsQuirks) else DEFAULT_QUIRKS


@st.composite
def alias_requests(draw: st.DrawFn, *, need: Capability | None = None) -> tuple[str, ChatRequest]:
    """An alias, and a request drawn within what that alias claims."""
    aliases = [a for a in ALIASES if need is None or OPENAI_COMPATIBLE_PROVIDERS[a].supports(need)]
    alias = draw(st.sampled_from(aliases))
    return alias, draw(chat_requests(capabilities=OPENAI_COMPATIBLE_PROVIDERS[alias].capabilities))


# --- the official SDK's request type as an oracle ------------------------------------------------------------------

_NON_STREAMING = pydantic.TypeAdapter(CompletionCreateParamsNonStreaming)
_STREAMING = pydantic.TypeAdapter(CompletionCreateParamsStreaming)


def _drain(value: Any) -> Any:
    """The SDK types `Iterable[...]` fields, which pydantic validates lazily: consume them to validate them."""
    if isinstance(value, Mapping):
        return {key: _drain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | Iterator) or type(value).__name__ == "ValidatorIterator":
        return [_drain(item) for item in value]
    return value


def _tool_choice_any_is_required(body: dict[str, Any]) -> None:
    if body.get("tool_choice") == "any":
        body["tool_choice"] = "required"


def _random_seed_is_seed(body: dict[str, Any]) -> None:
    if "random_seed" in body:
        body["seed"] = body.pop("random_seed")


def _json_object_with_schema(body: dict[str, Any]) -> None:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_object":
        response_format.pop("schema", None)


def _reasoning_content_on_assistant_turns(body: dict[str, Any]) -> None:
    for message in body["messages"]:
        if message["role"] == "assistant":
            message.pop("reasoning_content", None)


# Departures from OpenAI's request type that each alias's own documentation asks for, written from the research
# notes (shared/research/provider-contracts.md section 4), not read from the registry: undone before the check, so
# any other departure fails it.
DOCUMENTED_DEPARTURES: dict[str, tuple[Callable[[dict[str, Any]], None], ...]] = {
    # tool_choice any|required, random_seed [mistralai/client-python chatcompletionrequest.py; litellm mistral]
    "mistral": (_tool_choice_any_is_required, _random_seed_is_seed),
    # required sent as any; json_schema as {type: json_object, schema} [litellm fireworks_ai transformation]
    "fireworks": (_tool_choice_any_is_required, _json_object_with_schema),
    # reasoning_content sent back on tool-call turns [api-docs.deepseek.com/guides/thinking_mode#tool-calls]
    "deepseek": (_reasoning_content_on_assistant_turns,),
}


def _as_reference(alias: str, body: dict[str, Any]) -> dict[str, Any]:
    reference = json.loads(json.dumps(body))
    for undo in DOCUMENTED_DEPARTURES.get(alias, ()):
        undo(reference)
    return reference


@given(case=alias_requests())
def test_build_request_body_matches_the_official_sdk_request_type(case: tuple[str, ChatRequest]) -> None:
    alias, request = case
    body = build_request(request, quirks_of(OPENAI_COMPATIBLE_PROVIDERS[alias]), provider=alias)
    text = json.dumps(body, ensure_ascii=False, allow_nan=False)  # JSON, and nothing JSON cannot say
    assert json.loads(text) == body
    reference = _as_reference(alias, body)
    adapter = _STREAMING if reference.get("stream") else _NON_STREAMING
    # The SDK's TypedDicts ignore unknown keys: comparing what survives validation with what went in catches a
    # field the SDK does not know, a dropped key or a coerced value, not only a wrong type.
    assert _drain(adapter.validate_python(reference)) == reference
    for message in body["messages"]:
        assert "content" in message  # some servers reject a missing content [extended_openai_conversation #456]
        if message["content"] is None:  # null only beside tool_calls [OAS; vercel/ai #14950]
            assert message["role"] == "assistant" and message.get("tool_calls")


try:  # mistralai is a test-only oracle like openai; without it this one check is skipped, not the module
    from mistralai.client.models.chatcompletionrequest import ChatCompletionRequest as MistralRequest
    from mistralai.client.models.chatcompletionstreamrequest import (
        ChatCompletionStreamRequest as MistralStreamRequest,
    )
except ImportError:  # pragma: no cover - depends on the environment
    MistralRequest = MistralStreamRequest = None


@pytest.mark.skipif(MistralRequest is None, reason="the mistralai SDK is not installed")
@given(request=chat_requests(capabilities=OPENAI_COMPATIBLE_PROVIDERS["mistral"].capabilities))
def test_build_request_mistral_body_matches_the_mistral_sdk_request_model(request: ChatRequest) -> None:
    # Mistral's own request model, with nothing undone: random_seed, `any`, no stream_options, no message names.
    body = build_request(request, quirks_of(OPENAI_COMPATIBLE_PROVIDERS["mistral"]), provider="mistral")
    model = (MistralStreamRequest if body.get("stream") else MistralRequest).model_validate(body)
    # Unknown fields are ignored by the SDK's models: what survives must be everything that was sent.
    assert json.loads(model.model_dump_json(by_alias=True, exclude_unset=True)) == json.loads(json.dumps(body))


def test_sdk_oracle_catches_what_it_should() -> None:
    """The oracle is only as good as its failures: a field the SDK does not know and a wrong type both fail."""
    unknown = {"model": "m", "messages": [{"role": "tool", "content": "x", "tool_call_id": "a", "name": "n"}]}
    assert _drain(_NON_STREAMING.validate_python(unknown)) != unknown
    with pytest.raises(pydantic.ValidationError):
        _drain(_NON_STREAMING.validate_python({"model": "m", "messages": [{"role": "user", "content": 5}]}))
    with pytest.raises(pydantic.ValidationError):
        _NON_STREAMING.validate_python({"model": "m", "messages": [], "tool_choice": "any"})
    if MistralRequest is not None:
        seeded = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 1}
        assert json.loads(MistralRequest.model_validate(seeded).model_dump_json(exclude_unset=True)) != seeded


# --- tool-call ids and determinism ----------------------------------------------------------------------------------

_MISTRAL_ID = re.compile(r"[a-zA-Z0-9]{9}")


@given(case=alias_requests(need=Capability.TOOL_RESULT))
def test_build_request_tool_call_ids_stay_paired_unique_and_valid(case: tuple[str, ChatRequest]) -> None:
    alias, request = case
    body = build_request(request, quirks_of(OPENAI_COMPATIBLE_PROVIDERS[alias]), provider=alias)
    called: list[str] = []
    answered: list[str] = []
    for message in body["messages"]:
        if message["role"] == "assistant":
            called.extend(call["id"] for call in message.get("tool_calls", ()))
        if message["role"] == "tool":
            assert message["tool_call_id"] in called  # answers a call made earlier
            answered.append(message["tool_call_id"])
    assert len(set(called)) == len(called)
    assert sorted(answered) == sorted(called)  # the strategy answers every call exactly once
    # Re-mapping is a renaming: one sent id per original id, never two originals on one id, and every answer
    # carries the new name of the id it answered.
    renaming = dict(zip([c.id for m in request.messages for c in m.tool_calls], called, strict=True))
    assert len(set(renaming.values())) == len(renaming)
    assert answered == [renaming[m.tool_call_id] for m in request.messages if m.tool_call_id is not None]
    if alias == "mistral":
        assert all(_MISTRAL_ID.fullmatch(i) for i in called)
        assert all(new == old for old, new in renaming.items() if _MISTRAL_ID.fullmatch(old))  # valid ids kept
    else:
        assert all(new == old for old, new in renaming.items())  # no other alias restricts ids


@given(case=alias_requests())
def test_build_request_same_request_same_bytes(case: tuple[str, ChatRequest]) -> None:
    alias, request = case
    quirks = quirks_of(OPENAI_COMPATIBLE_PROVIDERS[alias])
    twin = ChatRequest.model_validate_json(request.model_dump_json())  # equal, but no object shared
    first = json.dumps(build_request(request, quirks), ensure_ascii=False)
    assert json.dumps(build_request(twin, quirks), ensure_ascii=False) == first


@given(request=chat_requests(capabilities=OPENAI_COMPATIBLE_PROVIDERS["perplexity"].capabilities))
def test_build_request_perplexity_roles_alternate(request: ChatRequest) -> None:
    # "After the (optional) system message(s), user and assistant roles should be alternating." [api-discussion#265]
    body = build_request(request, quirks_of(OPENAI_COMPATIBLE_PROVIDERS["perplexity"]), provider="perplexity")
    turns = [m for m in body["messages"] if m["role"] != "system"]
    assert all(a["role"] != b["role"] for a, b in itertools.pairwise(turns))
    sent = json.dumps(body["messages"], ensure_ascii=False)
    for message in request.messages:  # merged, never dropped
        pieces = message.content if isinstance(message.content, tuple) else [TextPart(text=message.content or "")]
        for piece in pieces:
            assert isinstance(piece, TextPart)  # perplexity claims no image input
            assert json.dumps(piece.text, ensure_ascii=False)[1:-1] in sent


# --- parse_request inverts build_request ----------------------------------------------------------------------------


def _text_of(content: str | tuple[Any, ...] | None) -> str:
    return Message(role="user", content=content).text


def _image_as_sent(part: ImagePart) -> ImagePart:
    match = re.fullmatch(r"data:([^;,]+);base64,(.*)", part.url or "", re.DOTALL)
    return ImagePart(data=match[2], media_type=match[1]) if match else part


def _as_read_back(message: Message) -> Message:
    """The normalisations parse_request's docstring lists, applied to one canonical message."""
    if message.role == "tool":
        text = _text_of(message.content)
        return message.model_copy(update={"content": f"Error: {text}" if message.is_error else text, "is_error": False})
    if message.role == "assistant":
        calls = tuple(ToolCall.from_json(c.id, c.name, c.arguments_json()) for c in message.tool_calls)
        return message.model_copy(
            update={"content": _text_of(message.content) or None, "tool_calls": calls, "reasoning": None}
        )
    if message.role == "system" or message.content is None:
        return message.model_copy(update={"content": _text_of(message.content)})
    if isinstance(message.content, tuple):
        parts = tuple(_image_as_sent(p) if isinstance(p, ImagePart) else p for p in message.content)
        return message.model_copy(update={"content": parts})
    return message


@given(request=chat_requests())
def test_parse_request_inverts_build_request(request: ChatRequest) -> None:
    body = build_request(request)
    expected = request.model_copy(update={"messages": tuple(_as_read_back(m) for m in request.messages)})
    assert parse_request(body) == expected
    assert build_request(parse_request(body)) == body


def test_parse_request_normalisations_are_the_documented_ones() -> None:
    """Each normalisation of parse_request, on one example."""
    request = ChatRequest(
        model="m",
        messages=[
            Message(role="system", content=(TextPart(text="a"), TextPart(text="b"))),
            Message(role="user", content=None),
            Message(role="user", content=(ImagePart(url="data:image/png;base64,AAAA"),)),
            Message(role="assistant", content="", tool_calls=[ToolCall(id="c", name="f")], reasoning="r"),
            Message(role="tool", tool_call_id="c", content="boom", is_error=True),
        ],
        stream=True,
    )
    assert parse_request(build_request(request)).messages == (
        Message(role="system", content="ab"),
        Message(role="user", content=""),
        Message(role="user", content=(ImagePart(data="AAAA", media_type="image/png"),)),
        Message(role="assistant", content=None, tool_calls=[ToolCall(id="c", name="f")]),
        Message(role="tool", tool_call_id="c", content="Error: boom"),
    )
    assert parse_request(build_request(request)).extra_body == {}


# --- streaming equals non-streaming ---------------------------------------------------------------------------------

_NATIVE_FINISH = ("stop", "length", "tool_calls", "content_filter", "eos", "model_length", "", "end_turn", "new")


def _pieces(draw: st.DrawFn, text: str) -> list[str]:
    """`text` cut into consecutive pieces (some empty), the way a server streams it."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """One assistant answer as a provider would produce it (raw wire values, not canonical ones)."""
    count = draw(st.integers(0, 3))
    ids = draw(st.lists(tool_call_ids(), min_size=count, max_size=count, unique=True))
    arguments = st.one_of(
        st.tuples(st.dictionaries(texts(max_size=6), json_values(max_leaves=3), max_size=3), st.booleans()).map(
            lambda pair: json.dumps(pair[0], ensure_ascii=pair[1])
        ),
        st.sampled_from(["", '{"city": "Par', "[1, 2]", "{} trailing"]),
    )
    usage = {"prompt_tokens": draw(st.integers(0, 10**6)), "completion_tokens": draw(st.integers(0, 10**6))}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if draw(st.booleans()):
        usage["prompt_tokens_details"] = {"cached_tokens": draw(st.integers(0, 100))}
        usage["completion_tokens_details"] = {"reasoning_tokens": draw(st.integers(0, 100))}
    return {
        "id": draw(st.sampled_from(["chatcmpl-1", "gen-1", "o-1"])),
        "model": draw(st.sampled_from(["gpt-4o-mini", "llama-3.3-70b", "mistral-small"])),
        "text": draw(texts()),
        "reasoning": draw(st.none() | texts(min_size=1)),
        "refusal": draw(st.none() | texts(min_size=1)),
        "calls": [(i, draw(tool_names()), draw(arguments)) for i in ids],
        "finish": draw(st.sampled_from(_NATIVE_FINISH) | st.none()),
        "usage": draw(st.none() | st.just(usage)),
    }


def completion_body(answer: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer["text"] or None, "refusal": answer["refusal"]}
    if answer["calls"]:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": name, "arguments": args}}
            for i, name, args in answer["calls"]
        ]
    if answer["reasoning"] is not None:
        message["reasoning_content"] = answer["reasoning"]
    body: dict[str, Any] = {
        "id": answer["id"],
        "object": "chat.completion",
        "created": 1,
        "model": answer["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": answer["finish"], "logprobs": None}],
    }
    if answer["usage"] is not None:
        body["usage"] = answer["usage"]
    return body


@st.composite
def sse_renderings(draw: st.DrawFn, answer: dict[str, Any]) -> bytes:
    """The same answer as a stream of `chat.completion.chunk`s, in one of the dialects servers speak."""
    dialect = draw(st.sampled_from(["openai", "groq", "gemini", "usage-with-finish"]))
    head = {"id": answer["id"], "object": "chat.completion.chunk", "created": 1, "model": answer["model"]}

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return {**head, "choices": choices, **extra}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"reasoning_content": p}) for p in _pieces(draw, answer["reasoning"] or "")]
    chunks += [chunk({"content": p}) for p in _pieces(draw, answer["text"])]
    chunks += [chunk({"refusal": p}) for p in _pieces(draw, answer["refusal"] or "") if p]
    for index, (call_id, name, arguments) in enumerate(answer["calls"]):
        if dialect == "gemini":  # whole calls, no index [python-genai#2868]
            function = {"name": name, "arguments": arguments}
            chunks.append(chunk({"tool_calls": [{"id": call_id, "type": "function", "function": function}]}))
            continue
        first, *rest = _pieces(draw, arguments)
        start = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": first}}
        chunks.append(chunk({"tool_calls": [start]}))
        chunks += [chunk({"tool_calls": [{"index": index, "function": {"arguments": p}}]}) for p in rest]
    usage = answer["usage"]
    if dialect == "groq":
        chunks.append(chunk({}, answer["finish"], x_groq={"id": "req_1", "usage": usage}))
    elif dialect == "usage-with-finish":
        chunks.append(chunk({}, answer["finish"], usage=usage))
    else:
        chunks.append(chunk({}, answer["finish"]))
        if usage is not None:
            chunks.append(chunk(None, usage=usage))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [f"data: {json.dumps(c, ensure_ascii=False)}{newline}{newline}" for c in chunks]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), f": OPENROUTER PROCESSING{newline}{newline}")
    if answer["finish"] is None or draw(st.booleans()):  # without a finish reason, only [DONE] ends it
        lines.append(f"data: [DONE]{newline}{newline}")
    return "".join(lines).encode()


def _decode(chunks: list[bytes]) -> list[StreamEvent]:
    decoder = StreamDecoder(provider="test")
    events: list[StreamEvent] = []
    for piece in chunks:
        events.extend(decoder.feed(piece))
    events.extend(decoder.finish())
    return events


def _without_raw(response: ChatResponse) -> ChatResponse:
    return response.model_copy(update={"raw": {}})


@given(answer=answers(), data=st.data())
def test_stream_decoder_assembles_what_parse_response_reads(answer: dict[str, Any], data: st.DataObject) -> None:
    stream = data.draw(sse_renderings(answer), label="stream")
    expected = parse_response(completion_body(answer), provider="test")
    events = _decode([stream])
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert _without_raw(end.response) == _without_raw(expected)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == expected.text
    assert [e.tool_call for e in events if isinstance(e, ToolCallDone)] == list(expected.tool_calls)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == (expected.reasoning or "")
    for chunks in (data.draw(chunkings(stream), label="chunks"), [stream[i : i + 1] for i in range(len(stream))]):
        assert _decode(chunks) == events


@given(answer=answers(), data=st.data())
def test_stream_decoder_cut_anywhere_is_complete_or_incomplete(answer: dict[str, Any], data: st.DataObject) -> None:
    """A connection can drop at any byte: the decoder then either has the whole answer (only the usage chunk or
    [DONE] may be missing) or raises IncompleteStreamError with a prefix of it, never anything else."""
    stream = data.draw(sse_renderings(answer), label="stream")
    cut = data.draw(st.integers(0, len(stream) - 1), label="cut")
    expected = parse_response(completion_body(answer), provider="test")
    try:
        end = _decode([stream[:cut]])[-1]
    except IncompleteStreamError as exc:
        assert exc.partial is not None
        assert expected.text.startswith(exc.partial.text)
        assert len(exc.partial.tool_calls) <= len(expected.tool_calls)
        assert exc.partial.finish_reason in ("other", expected.finish_reason)
    else:
        assert isinstance(end, StreamEnd)
        assert (end.response.text, end.response.tool_calls) == (expected.text, expected.tool_calls)
        assert end.response.finish_reason == expected.finish_reason
