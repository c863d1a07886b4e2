"""SSEDecoder: line ends, comments, multi-line data, BOM, and chunk boundaries anywhere (even inside a character)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allos.protocols._sse import ServerSentEvent, SSEDecoder
from conformance.strategies import chunkings


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.finish())
    return events


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_sse_decoder_accepts_every_line_end(newline: bytes) -> None:
    stream = b"data: one" + newline + newline + b"event: ping" + newline + b"data: two" + newline + newline
    assert decode(stream) == [ServerSentEvent(None, "one"), ServerSentEvent("ping", "two")]


def test_sse_decoder_mixed_line_ends_in_one_stream() -> None:
    assert decode(b"data: a\r\n\ndata: b\r\rdata: c\n\r\n") == [
        ServerSentEvent(None, "a"),
        ServerSentEvent(None, "b"),
        ServerSentEvent(None, "c"),
    ]


def test_sse_decoder_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    # The LF completes the CRLF of the data line; a second line end would dispatch.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r") == []
    assert decoder.feed(b"\ndata: y\r\n\r\n") == [ServerSentEvent(None, "x"), ServerSentEvent(None, "y")]
    assert decoder.finish() == []


def test_sse_decoder_dispatches_as_soon_as_a_crlf_blank_line_arrives() -> None:
    # A complete CRLF at the end of a chunk is not a lone CR: holding it back would delay every event of a CRLF
    # server by one chunk, and the last one until the connection closes.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\n\r\n") == [ServerSentEvent(None, "a")]
    assert decoder.feed(b"data: b\r\n") == []
    assert decoder.feed(b"\r\n") == [ServerSentEvent(None, "b")]


def test_sse_decoder_cr_at_chunk_end_followed_by_text_is_a_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\rdata: y\r\r") == [ServerSentEvent(None, "x")]
    assert decoder.finish() == [ServerSentEvent(None, "y")]


def test_sse_decoder_crlf_split_between_chunks_is_one_line_end() -> None:
    # Were "\r" and "\n" two line ends, the blank line between them would dispatch "a" and "b" separately.
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r\n") == [ServerSentEvent(None, "a\nb")]


def test_sse_decoder_skips_comments_and_keepalives() -> None:
    stream = b": OPENROUTER PROCESSING\n\n:\n: keep-alive\ndata: {}\n\n: OPENROUTER PROCESSING\n\n"
    assert decode(stream) == [ServerSentEvent(None, "{}")]


def test_sse_decoder_joins_multiline_data_with_newlines() -> None:
    assert decode(b"data: first\ndata:second\ndata:  third\ndata\n\n") == [
        ServerSentEvent(None, "first\nsecond\n third\n")
    ]


def test_sse_decoder_event_name_applies_to_one_event_only() -> None:
    stream = b"event: message_start\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"
    assert decode(stream) == [
        ServerSentEvent("message_start", "1"),
        ServerSentEvent(None, "2"),
        ServerSentEvent(None, "3"),
    ]


def test_sse_decoder_ignores_id_retry_and_unknown_fields() -> None:
    assert decode(b"id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n") == [ServerSentEvent(None, "x")]


def test_sse_decoder_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\n\r\n\nevent: lonely\n\n") == []


def test_sse_decoder_strips_a_leading_bom_even_split_across_chunks() -> None:
    stream = b"\xef\xbb\xbfdata: x\n\n"
    assert decode(stream) == [ServerSentEvent(None, "x")]
    assert decode(*bytewise(stream)) == [ServerSentEvent(None, "x")]


def test_sse_decoder_strips_only_the_first_bom() -> None:
    # Only a BOM at the very start of the stream is a BOM; later, the bytes belong to the line.
    assert decode(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent(None, "a")]
    assert decode(b"data: \xef\xbb\xbfb\n\n") == [ServerSentEvent(None, "\ufeffb")]


def test_sse_decoder_flushes_an_event_missing_its_final_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.finish() == [ServerSentEvent(None, "[DONE]")]


def test_sse_decoder_flushes_a_last_line_ending_in_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\r") == []
    assert decoder.finish() == [ServerSentEvent(None, "last")]


def test_sse_decoder_reassembles_utf8_characters_split_across_chunks() -> None:
    text = "é 東 🎉"
    stream = f"data: {text}\n\n".encode()
    assert decode(*bytewise(stream)) == [ServerSentEvent(None, text)]


def test_sse_decoder_finish_resets_state() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"event: x\ndata: 1")
    assert decoder.finish() == [ServerSentEvent("x", "1")]
    assert decoder.finish() == []


# --- property: chunk boundaries never change the events -----------------------------------------------------------

_FIELD_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
_NEWLINES = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A well-formed stream (events with names, multi-line data and comments, any line end, maybe a BOM) and the
    events it carries."""
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    expected: list[ServerSentEvent] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            out += [b":", draw(_FIELD_TEXT).encode(), draw(_NEWLINES)]
        name = None
        if draw(st.booleans()):
            name = draw(_FIELD_TEXT)
            out += [b"event: ", name.encode(), draw(_NEWLINES)]
        lines = []
        for line in draw(st.lists(_FIELD_TEXT, min_size=1, max_size=3)):
            space = draw(st.sampled_from(["", " "]))
            out += [b"data:", (space + line).encode(), draw(_NEWLINES)]
            lines.append((space + line)[1:] if (space + line).startswith(" ") else space + line)
        # A blank line right after a CR must not start with LF: the two would make one CRLF line end.
        out.append(draw(st.sampled_from([b"\r", b"\r\n"])) if out[-1] == b"\r" else draw(_NEWLINES))
        expected.append(ServerSentEvent(name or None, "\n".join(lines)))
    return b"".join(out), expected


@given(case=sse_streams(), data=st.data())
def test_sse_decoder_events_do_not_depend_on_chunk_boundaries(
    case: tuple[bytes, list[ServerSentEvent]], data: st.DataObject
) -> None:
    stream, expected = case
    chunks = data.draw(chunkings(stream), label="chunks")
    assert decode(stream) == expected
    assert decode(*chunks) == expected
    assert decode(*bytewise(stream)) == expected
    # Events are dispatched as soon as their blank line is complete, not when the stream ends.
    decoder = SSEDecoder()
    early = [event for chunk in chunks for event in decoder.feed(chunk)]
    if not stream.endswith(b"\r"):
        assert early == expected
