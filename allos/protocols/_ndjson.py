"""An incremental newline-delimited JSON (NDJSON) decoder: bytes in, JSON values out, no I/O.

Ollama streams `application/x-ndjson`: one JSON object per line, `\\n`-terminated [ollama docs/api/streaming.mdx].
The decoder keeps a line that is cut between two chunks until its newline arrives (splitting on bytes is safe for
UTF-8, whose multi-byte sequences never contain a newline byte), skips blank lines, tolerates `\\r\\n`, and `finish()`
decodes a last line that came without its newline. A line that is not JSON raises `ResponseParseError`: a stream
that breaks its framing cannot be trusted further.

    >>> d = NDJSONDecoder()
    >>> d.feed(b'{"a": 1}\\n{"b"') + d.feed(b': 2}\\n\\n{"c": 3}') + d.finish()
    [{'a': 1}, {'b': 2}, {'c': 3}]
"""

from __future__ import annotations

from typing import Any

from allos import _json
from allos.errors import ResponseParseError

__all__ = ["NDJSONDecoder"]


class NDJSONDecoder:
    """Feed it chunks as they arrive; call `finish()` at the end of the stream."""

    __slots__ = ("_buffer", "_scanned", "provider")

    def __init__(self, *, provider: str | None = None) -> None:
        self.provider = provider
        # As in the SSE decoder: one growing buffer, searched for a newline only in what the last search did not
        # see, so a long line in many chunks costs linear time.
        self._buffer = bytearray()
        self._scanned = 0

    def feed(self, chunk: bytes) -> list[Any]:
        buffer = self._buffer
        buffer += chunk
        end = buffer.rfind(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(buffer)
            return []
        lines = bytes(buffer[:end]).split(b"\n")
        del buffer[: end + 1]
        self._scanned = 0
        return [value for value in map(self._decode, lines) if value is not _BLANK]

    def finish(self) -> list[Any]:
        """Decode what is left: a last line without its newline."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        value = self._decode(rest)
        return [] if value is _BLANK else [value]

    def _decode(self, line: bytes) -> Any:
        line = line.strip()  # "\r" of CRLF servers, stray spaces between objects
        if not line:
            return _BLANK
        try:
            return _json.loads(line)
        except _json.JSONDepthError:
            problem = f"is nested deeper than {_json.MAX_DEPTH} levels"
        except ValueError:
            problem = f"is not JSON: {line[:200].decode('utf-8', errors='replace')!r}"
        raise ResponseParseError(f"a stream line {problem}", provider=self.provider)


_BLANK: Any = object()
