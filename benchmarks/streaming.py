"""Stream decoding: a long recorded Chat Completions SSE stream through Allos' decoder and through the openai SDK's.

The stream (`_fixtures.sse_stream`) is built in memory: text deltas, then tool calls streamed as indexed argument
fragments, a finish chunk, a usage-only chunk and `[DONE]`. It is decoded from a list of bytes objects, so no
network is involved, in two framings: one read per event (a model streaming token by token) and 16 KiB reads (a
fast server whose bytes arrive in bulk).

What each contender does, per stream:

- `allos StreamDecoder`: `feed(bytes)` for every read then `finish()`: SSE framing, `json.loads` of every event,
  canonical events (`TextDelta`, `ToolCallDelta`, `ToolCallDone`, `UsageUpdate`), tool calls assembled and their
  arguments parsed, and a final `StreamEnd` carrying the whole `ChatResponse`.
- `openai SDK chunks`: exactly the loop of `openai.Stream.__stream__` for `chat.completions.create(stream=True)`
  with the SDK's defaults: `client._make_sse_decoder().iter_bytes(...)`, the `[DONE]` check, `sse.json()`, the
  in-band `error` check and `client._process_response_data(..., cast_to=ChatCompletionChunk)` (which, without
  `_strict_response_validation`, is `construct_type`, i.e. no validation). It yields chunk models and assembles
  nothing: the user would still have to join text and tool-call fragments.
- `openai SDK chunks + accumulate`: the above plus `ChatCompletionStreamState.handle_chunk` for every chunk and
  `get_final_completion()` at the end: what `client.chat.completions.stream(...)` does to give events and a final
  completion, the closest equivalent of Allos' work. It also parses the partial JSON of tool arguments at every
  fragment, which Allos does not (Allos parses each call's arguments once, when the call is complete).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import httpx2
import openai
from openai._streaming import Stream
from openai._utils import is_mapping
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from allos.protocols.chat_completions import StreamDecoder
from allos.types import StreamEnd
from benchmarks._fixtures import rechunk, sse_stream
from benchmarks._timing import interleave, stats

__all__ = ["run"]

BASELINE = "openai SDK chunks"


def _allos(chunks: list[bytes]) -> int:
    decoder = StreamDecoder(provider="bench")
    count = 0
    last = None
    for chunk in chunks:
        events = decoder.feed(chunk)
        if events:
            count += len(events)
            last = events[-1]
    events = decoder.finish()
    if events:
        count += len(events)
        last = events[-1]
    if not isinstance(last, StreamEnd):
        raise AssertionError("the Allos stream did not end with StreamEnd")
    return count


def _sdk_chunks(client: openai.OpenAI, response: httpx2.Response, chunks: list[bytes]) -> list[ChatCompletionChunk]:
    """The body of `openai.Stream.__stream__` (legacy stream mode, the default for chat completions)."""
    decoder = client._make_sse_decoder()
    process = client._process_response_data
    out = []
    for sse in decoder.iter_bytes(iter(chunks)):
        if sse.data.startswith("[DONE]"):
            break
        data = sse.json()
        if is_mapping(data) and data.get("error"):
            raise AssertionError("unexpected error event")
        out.append(process(data=data, cast_to=ChatCompletionChunk, response=response))
    return out


def _sdk_accumulate(client: openai.OpenAI, response: httpx2.Response, chunks: list[bytes]) -> int:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    count = 0
    for chunk in _sdk_chunks(client, response, chunks):
        count += len(list(state.handle_chunk(chunk)))
    state.get_final_completion()
    return count


def _check_same_stream(client: openai.OpenAI, response: httpx2.Response, chunks: list[bytes]) -> None:
    """The SDK must agree with Allos about what the stream says, or the comparison is meaningless."""
    decoder = StreamDecoder(provider="bench")
    events = [e for chunk in chunks for e in decoder.feed(chunk)] + decoder.finish()
    end = events[-1]
    assert isinstance(end, StreamEnd)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for chunk in _sdk_chunks(client, response, chunks):
        state.handle_chunk(chunk)
    message = state.get_final_completion().choices[0].message
    if (message.content or "") != end.response.text:
        raise AssertionError("Allos and the SDK disagree on the streamed text")
    sdk_calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
    allos_calls = [(c.name, c.arguments_json()) for c in end.response.tool_calls]
    if [name for name, _ in sdk_calls] != [name for name, _ in allos_calls]:
        raise AssertionError("Allos and the SDK disagree on the streamed tool calls")


def run(*, text_chunks: int, tool_calls: int, fragments_per_call: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Events per second for each decoder, on the same stream, in two framings."""
    events, sse_events = sse_stream(text_chunks, tool_calls, fragments_per_call)
    framings = {"one read per event": events, "16 KiB reads": rechunk(events, 16 * 1024)}
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-bench", max_retries=0)
    response = httpx2.Response(200, request=httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))
    results: dict[str, Any] = {}
    try:
        for framing, chunks in framings.items():
            _check_same_stream(client, response, chunks)
            contenders: dict[str, Callable[[], Any]] = {
                "allos StreamDecoder": partial(_allos, chunks),
                BASELINE: partial(_sdk_chunks, client, response, chunks),
                "openai SDK chunks + accumulate": partial(_sdk_accumulate, client, response, chunks),
            }
            samples = interleave(contenders, rounds=rounds, warmup=warmup)
            rows = {name: stats(values) for name, values in samples.items()}
            for row in rows.values():
                row["events_per_s"] = sse_events / (row["median_us"] / 1e6)
            base = rows[BASELINE]["events_per_s"]
            for row in rows.values():
                row["speed_vs_sdk_chunks"] = row["events_per_s"] / base
            results[framing] = {"reads": len(chunks), "results": rows}
    finally:
        client.close()
    size = sum(len(e) for e in events)
    return {
        "unit": "microseconds per stream; events_per_s",
        "sse_events": sse_events,
        "bytes": size,
        "rounds": rounds,
        "framings": results,
        "stream_class": f"{Stream.__module__}.{Stream.__qualname__}",
    }
