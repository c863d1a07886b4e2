"""A scriptable HTTP/1.1 server on 127.0.0.1 for integration tests: real sockets, no network, no new dependencies.

A test queues the replies the server gives, in order, one per request, and afterwards reads what the server received:

    >>> server = LoopbackServer().start()
    >>> server.push(json_reply({"ok": True}, headers={"x-request-id": "req_1"}))
    >>> import httpx
    >>> with httpx.Client() as client:
    ...     client.post(server.url("/v1/chat/completions"), json={"model": "m"}).json()
    {'ok': True}
    >>> server.requests[0].path, server.requests[0].json()
    ('/v1/chat/completions', {'model': 'm'})
    >>> server.stop()

A reply is a status, headers and either a whole body (sent with Content-Length, so the connection stays alive) or a
list of chunks, each written and flushed on its own, framed with chunked transfer encoding or delimited by closing
the connection. `cut_after=N` drops the connection after N chunks, leaving a chunked body unterminated (the client
sees a protocol error) or a close-delimited one merely short. `release=threading.Event()` holds the reply until the
test sets the event, so timeouts are tested without sleeping; the `loopback` fixture sets every pending event when
the test ends. A request with nothing queued gets a 500 and is recorded in `unscripted`, which the fixture checks.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

__all__ = [
    "LoopbackServer",
    "RecordedRequest",
    "Reply",
    "json_reply",
    "sse_reply",
    "unused_port",
]

# How long a held reply waits for its event at most: a safety net so a forgotten event never hangs the suite.
# Tests never rely on it expiring; the fixture releases every event at teardown.
_HOLD_LIMIT = 30.0
_UNSCRIPTED_BODY = b'{"error": {"message": "loopback: no reply was scripted for this request"}}'


@dataclass(frozen=True)
class Reply:
    """One scripted answer. `chunks` (streaming) wins over `body`."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Sequence[bytes] | None = None
    framing: Literal["chunked", "close"] = "chunked"
    cut_after: int | None = None
    release: threading.Event | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def json_reply(
    payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None, release: threading.Event | None = None
) -> Reply:
    """A JSON answer with Content-Length."""
    return Reply(
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        body=json.dumps(payload).encode(),
        release=release,
    )


def sse_reply(
    events: Iterable[Mapping[str, Any] | str],
    *,
    done: bool = True,
    framing: Literal["chunked", "close"] = "chunked",
    cut_after: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An SSE stream, one chunk per event: a mapping is sent as `data: <json>`, a string line as it is (comments,
    raw `data:` lines). `done` appends `data: [DONE]`."""
    chunks = [(f"data: {json.dumps(e)}\n\n" if isinstance(e, Mapping) else f"{e}\n\n").encode("utf-8") for e in events]
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return Reply(
        headers={"content-type": "text/event-stream", "cache-control": "no-cache", **(headers or {})},
        chunks=chunks,
        framing=framing,
        cut_after=cut_after,
    )


def unused_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, chunked encoding: what real providers speak
    disable_nagle_algorithm = True  # small writes go out at once: no 40 ms delayed-ACK stalls per chunk
    server: _Server

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not access logs
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = RecordedRequest(self.command, self.path, headers, body)
        reply = self.server.owner._take(request)
        if reply.release is not None:
            reply.release.wait(_HOLD_LIMIT)
        try:
            self._send(reply)
        except OSError:  # the client gave up (a timeout test): nothing left to answer
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.chunks is None:
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
            return
        chunked = reply.framing == "chunked"
        self.send_header("transfer-encoding" if chunked else "connection", "chunked" if chunked else "close")
        self.end_headers()
        self.wfile.flush()
        for position, chunk in enumerate(reply.chunks):
            if reply.cut_after is not None and position >= reply.cut_after:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            self.wfile.flush()
        else:
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
        self.close_connection = True  # close-delimited end, or a cut: the connection goes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # recorded for debugging, not printed
        self.owner.errors.append(repr(sys.exc_info()[1]))


class LoopbackServer:
    """The server and its script. Thread-safe: handlers run in their own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.unscripted: list[RecordedRequest] = []
        self.errors: list[str] = []
        self._held: list[threading.Event] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    def url(self, path: str = "") -> str:
        """`http://127.0.0.1:<port><path>`."""
        return f"http://127.0.0.1:{self.port}{path}"

    def push(self, *replies: Reply) -> None:
        """Queue replies, answered in order, one per request."""
        with self._lock:
            self._replies.extend(replies)
            self._held.extend(r.release for r in replies if r.release is not None)

    def release_all(self) -> None:
        """Let every held reply go (teardown)."""
        with self._lock:
            held, self._held = self._held, []
        for event in held:
            event.set()

    def reset(self) -> None:
        """Forget the script and what was received."""
        self.release_all()
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self.unscripted.clear()
            self.errors.clear()

    def _take(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
            self.unscripted.append(request)
        return Reply(status=500, headers={"content-type": "application/json"}, body=_UNSCRIPTED_BODY)
