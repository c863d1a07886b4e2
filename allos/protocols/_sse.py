"""An incremental Server-Sent Events decoder: bytes in, events out, no I/O.

Follows the WHATWG event-stream rules that matter to LLM APIs: lines end in CRLF, LF or CR (a CR at the end of a
chunk waits for the next chunk, in case an LF follows); `:` starts a comment (OpenRouter's `: OPENROUTER PROCESSING`
keep-alives); `data` lines of one event are joined with newlines; a blank line dispatches the event. Splitting on
bytes is safe for UTF-8, whose multi-byte sequences never contain CR or LF, so a character cut between two chunks
is reassembled before it is decoded.

    >>> d = SSEDecoder()
    >>> d.feed(b"event: ping\\ndata: {}\\n") + d.feed(b"\\n")
    [ServerSentEvent(event='ping', data='{}')]
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["SSEDecoder", "ServerSentEvent"]

_LINE_END = re.compile(rb"\r\n|\r|\n")


class ServerSentEvent(NamedTuple):
    event: str | None
    data: str


class SSEDecoder:
    """Feed it chunks as they arrive; call `finish()` at the end of the stream."""

    __slots__ = ("_buffer", "_data", "_event", "_first", "_scanned")

    def __init__(self) -> None:
        # One growing buffer, searched only from where the last search stopped: a long line that arrives in many
        # small chunks costs linear time, not quadratic (each chunk is copied once and scanned once).
        self._buffer = bytearray()
        self._scanned = 0
        self._data: list[str] = []
        self._event: str | None = None
        self._first = True

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        buffer = self._buffer
        buffer += chunk
        if self._first and buffer:
            if len(buffer) < 3 and b"\xef\xbb\xbf".startswith(buffer):
                return []  # maybe the start of a byte-order mark
            self._first = False
            if buffer.startswith(b"\xef\xbb\xbf"):
                del buffer[:3]
        events: list[ServerSentEvent] = []
        start = 0
        size = len(buffer)
        for match in _LINE_END.finditer(buffer, self._scanned):
            if match.end() == size and match.group() == b"\r":  # a lone CR at the end: maybe CRLF
                break
            self._line(bytes(buffer[start : match.start()]), events)
            start = match.end()
        if start:
            del buffer[:start]
        # A trailing CR is looked at again with the next chunk; everything before it had no line end.
        self._scanned = max(len(buffer) - 1, 0) if buffer.endswith(b"\r") else len(buffer)
        return events

    def finish(self) -> list[ServerSentEvent]:
        """Flush what is left: a last line without its newline, and an event without its blank line."""
        events: list[ServerSentEvent] = []
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        for line in _LINE_END.split(rest):
            if line:
                self._line(line, events)
        if self._data:
            events.append(ServerSentEvent(self._event, "\n".join(self._data)))
        self._data, self._event = [], None
        return events

    def _line(self, raw: bytes, events: list[ServerSentEvent]) -> None:
        if not raw:
            if self._data:
                events.append(ServerSentEvent(self._event, "\n".join(self._data)))
            self._data, self._event = [], None
            return
        if raw[0] == 0x3A:  # ":" comment / keep-alive
            return
        line = raw.decode("utf-8", errors="replace")
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None
        # `id` and `retry` are for reconnecting browsers; no LLM API relies on them.
