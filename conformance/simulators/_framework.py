"""The protocol-agnostic part of the simulators: a registry of simulated aliases, the fault plan, the pieces of an
answer that every protocol shares (JSON bodies, chunked streams, faults applied to both), and `Simulator`, which
serves one alias on 127.0.0.1 with uvicorn in a background thread.

A protocol adds its simulator by subclassing `AliasSimulator` (routes, its provider's error body, how an error and
a broken line look inside its stream) and calling `register_alias` for every alias that speaks it; see
docs/simulators.md. Nothing here knows a wire format.

Faults (header `x-sim-fault`, or `Simulator.inject(...)` for the next requests, or `fault=` for every request):

    429           the alias's rate-limit error, with `Retry-After` (seconds, `retry_after=`)
    500 503 529   the alias's server error with that status
    malformed     200 with a body (or one stream line) that is not JSON
    cut           the body or stream stops halfway and the connection is dropped
    stream-error  200, half the stream, then the protocol's in-stream error event
    slow          the answer starts after `slow_seconds` (capped at MAX_SLOW_SECONDS)

The order is auth, then the fault, then validation: a 429 needs a valid key, as at the real providers.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

__all__ = [
    "FAULTS",
    "FAULT_HEADER",
    "MAX_SLOW_SECONDS",
    "PROTOCOL_MODULES",
    "AliasEntry",
    "AliasSimulator",
    "ChunkedResponse",
    "Exchange",
    "Received",
    "Simulator",
    "SimulatorState",
    "alias_entry",
    "asimulate",
    "base_path_of",
    "register_alias",
    "simulate",
    "simulated_aliases",
]

# Longer than httpx's default keepalive_expiry (5 s): see `_config`.
_KEEP_ALIVE_SECONDS = 15

FAULT_HEADER: Final = "x-sim-fault"
FAULTS: Final = frozenset({"429", "500", "503", "529", "malformed", "cut", "stream-error", "slow"})
STATUS_FAULTS: Final = frozenset({"429", "500", "503", "529"})
MAX_SLOW_SECONDS: Final = 30.0
_STARTUP_TIMEOUT: Final = 10.0

# Protocol modules that register their aliases when imported. A new protocol's simulator adds its module here.
PROTOCOL_MODULES: Final[tuple[str, ...]] = (
    "conformance.simulators.chat_completions",
    "conformance.simulators.anthropic",
    "conformance.simulators.responses",
    "conformance.simulators.ollama",
)


# --- state shared by a simulator and its handlers ---------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """A request the simulator received. Header names are lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class SimulatorState:
    """Settings and what happened, shared between the test thread and the server thread."""

    fault: str | None = None
    retry_after: float = 1.0
    slow_seconds: float = 1.0
    requests: list[Received] = field(default_factory=list)
    _queued: deque[str] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        _check_fault(self.fault)
        if not 0 <= self.slow_seconds <= MAX_SLOW_SECONDS:
            raise ValueError(f"slow_seconds must be between 0 and {MAX_SLOW_SECONDS}")

    def inject(self, *faults: str) -> None:
        for fault in faults:
            _check_fault(fault)
        with self._lock:
            self._queued.extend(faults)

    def record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    def take_fault(self, headers: Mapping[str, str]) -> str | None:
        """The fault for this request: the header wins, then the queue, then the server-wide setting."""
        asked = headers.get(FAULT_HEADER)
        if asked:
            return asked.strip().lower()
        with self._lock:
            if self._queued:
                return self._queued.popleft()
        return self.fault


def _check_fault(fault: str | None) -> None:
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}")


@dataclass(frozen=True)
class Exchange:
    """One request as a protocol handler sees it: the parsed request, its raw body and the fault it carries."""

    request: Request
    body: bytes
    fault: str | None

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    def json_object(self) -> dict[str, Any] | None:
        """The body as a JSON object; None when it is empty, not JSON, or JSON but not an object."""
        try:
            body = json.loads(self.body or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None


# --- responses that know about faults ---------------------------------------------------------------------------


class ChunkedResponse(Response):
    """A body sent as separate chunks, each flushed on its own; `stop_after` sends only that many chunks and then
    drops the connection (uvicorn closes it when the app returns without finishing the body)."""

    def __init__(
        self,
        chunks: Sequence[bytes],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        stop_after: int | None = None,
        content_length: int | None = None,
    ) -> None:
        super().__init__(status_code=status_code, headers=dict(headers or {}), media_type=media_type)
        if content_length is None:
            del self.headers["content-length"]
        else:
            self.headers["content-length"] = str(content_length)
        self.chunks = list(chunks)
        self.stop_after = stop_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for position, chunk in enumerate(self.chunks):
            if self.stop_after is not None and position >= self.stop_after:
                return  # unfinished on purpose: the client sees the connection drop mid-body
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0)  # let a client that hung up be noticed, rather than writing into a closed socket
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _half(count: int) -> int:
    return max(1, count // 2)


class AliasSimulator(ABC):
    """One alias's simulator. A protocol subclasses this once and configures it per alias with data.

    Subclasses provide the routes (full paths, base path included), the provider's error answer for a fault
    status, and what an error and a broken line look like inside the protocol's stream. Handlers call `begin`
    first, `status_fault` after their auth check, and finish with `send_json` or `send_stream`, which apply the
    body faults.
    """

    protocol: str = ""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    @abstractmethod
    def routes(self) -> list[BaseRoute]: ...

    @abstractmethod
    def fault_response(self, status: int) -> Response:
        """The provider's error answer for an injected 429/500/503/529 (without Retry-After: added here)."""

    @abstractmethod
    def not_found(self, request: Request) -> Response:
        """The provider's answer for an unknown path or method."""

    @abstractmethod
    def stream_error_chunk(self) -> bytes:
        """The error event the protocol sends inside a 200 stream."""

    @abstractmethod
    def malformed_chunk(self) -> bytes:
        """A stream line whose payload is not JSON."""

    # --- the shared steps ---------------------------------------------------------------------------------------

    async def begin(self, request: Request) -> Exchange:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.state.record(Received(request.method, request.url.path, headers, body))
        fault = self.state.take_fault(headers)
        if fault == "slow":
            await asyncio.sleep(min(self.state.slow_seconds, MAX_SLOW_SECONDS))
        return Exchange(request, body, fault)

    def status_fault(self, exchange: Exchange) -> Response | None:
        """The injected error answer, if the request carries a status fault; an unknown fault name is a 400 from
        the simulator itself (a test typo should not look like a provider's answer)."""
        fault = exchange.fault
        if fault is None or fault not in FAULTS:
            if fault is not None:
                return Response(f"simulator: unknown fault {fault!r}", status_code=400, media_type="text/plain")
            return None
        if fault not in STATUS_FAULTS:
            return None
        response = self.fault_response(int(fault))
        if fault == "429":
            response.headers["retry-after"] = _seconds(self.state.retry_after)
        return response

    def send_json(self, exchange: Exchange, body: bytes, *, headers: Mapping[str, str] | None = None) -> Response:
        """A 200 JSON body, broken as the fault asks (malformed: half the JSON; cut: half, then the line drops)."""
        if exchange.fault == "malformed":
            body = body[: _half(len(body))]
        elif exchange.fault == "cut":
            half = _half(len(body))
            return ChunkedResponse(
                [body[:half], body[half:]],
                headers=headers,
                media_type="application/json",
                stop_after=1,
                content_length=len(body),
            )
        return Response(body, headers=dict(headers or {}), media_type="application/json")

    def send_stream(
        self,
        exchange: Exchange,
        chunks: Sequence[bytes],
        *,
        media_type: str = "text/event-stream",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A 200 stream, broken as the fault asks: cut (half, then the connection drops), stream-error (half, then
        the protocol's error event), malformed (half, then a line that is not JSON, then the rest)."""
        chunks = list(chunks)
        stop_after = None
        half = _half(len(chunks))
        if exchange.fault == "cut":
            stop_after = half
        elif exchange.fault == "stream-error":
            chunks = [*chunks[:half], self.stream_error_chunk()]
        elif exchange.fault == "malformed":
            chunks = [*chunks[:half], self.malformed_chunk(), *chunks[half:]]
        all_headers = {"cache-control": "no-cache", **(headers or {})}
        return ChunkedResponse(chunks, headers=all_headers, media_type=media_type, stop_after=stop_after)

    def app(self) -> Starlette:
        """The ASGI app: the routes, and unknown paths answered in the provider's shape."""

        async def unknown(request: Request, exc: Exception) -> Response:
            return self.not_found(request)

        return Starlette(routes=self.routes(), exception_handlers={HTTPException: unknown})


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- the alias registry -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AliasEntry:
    """A simulated alias: its protocol, the provider's real base URL (whose path the simulator serves) and the
    factory of its handler."""

    alias: str
    protocol: str
    real_base_url: str
    factory: Callable[[SimulatorState], AliasSimulator]

    @property
    def base_path(self) -> str:
        return base_path_of(self.real_base_url)


def base_path_of(url: str) -> str:
    """The path part of a base URL, without a trailing slash: `/openai/v1` for `https://api.groq.com/openai/v1`."""
    return urlsplit(url).path.rstrip("/")


_ALIASES: dict[str, AliasEntry] = {}
_loaded = False


def register_alias(entry: AliasEntry, *, replace: bool = False) -> None:
    """Make an alias simulatable. Protocol modules call this at import time for every row they define."""
    if entry.alias in _ALIASES and not replace:
        raise ValueError(f"alias {entry.alias!r} already has a simulator")
    _ALIASES[entry.alias] = entry


_LOAD_LOCK = threading.Lock()


def _load() -> None:
    # Threads (a live run starts one simulator per alias concurrently) must not see a half-filled registry.
    global _loaded
    with _LOAD_LOCK:
        if not _loaded:
            for module in PROTOCOL_MODULES:
                importlib.import_module(module)
            _loaded = True


def simulated_aliases(protocol: str | None = None) -> list[str]:
    """Every alias with a simulator (of one protocol, if given), sorted."""
    _load()
    return sorted(name for name, entry in _ALIASES.items() if protocol in (None, entry.protocol))


def alias_entry(alias: str) -> AliasEntry:
    _load()
    entry = _ALIASES.get(alias)
    if entry is None:
        raise KeyError(f"no simulator for alias {alias!r}; simulated: {', '.join(simulated_aliases())}")
    return entry


# --- the server ---------------------------------------------------------------------------------------------------


class Simulator:
    """One alias's simulator on 127.0.0.1, served by uvicorn in a background thread.

    >>> with Simulator("groq") as sim:
    ...     sim.base_url.startswith("http://127.0.0.1:"), sim.base_url.endswith("/openai/v1")
    (True, True)

    `fault` applies to every request; `inject(...)` queues faults for the next requests; a request's own
    `x-sim-fault` header wins over both. `requests` lists what was received. `port=0` picks a free port.
    """

    def __init__(
        self,
        alias: str,
        *,
        fault: str | None = None,
        retry_after: float = 1.0,
        slow_seconds: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "critical",
    ) -> None:
        self.entry = alias_entry(alias)
        self.alias = alias
        self.state = SimulatorState(fault=fault, retry_after=retry_after, slow_seconds=slow_seconds)
        self.handler = self.entry.factory(self.state)
        self.app = self.handler.app()
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._socket is not None else "stopped"
        return f"Simulator({self.alias!r}, {where})"

    # --- addresses ------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the simulator is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT`: what SDKs that add the path themselves take (groq, mistralai)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The root plus the provider's own base path (`/v1`, `/openai/v1`, ...): what `base_url=` takes."""
        return self.root_url + self.entry.base_path

    # --- faults and what was received -----------------------------------------------------------------------------

    def inject(self, *faults: str) -> Simulator:
        """Queue faults for the next requests, one each, in order."""
        self.state.inject(*faults)
        return self

    @property
    def requests(self) -> list[Received]:
        return self.state.requests

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        return sock

    def _config(self, *, log_config: Any) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            log_level=self._log_level,
            log_config=log_config,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            # uvicorn and httpx both drop an idle connection after 5 s by default, so a client could send on a
            # connection the server was closing at that moment and get a reset. Keeping it open longer on this side
            # means the client always lets go first.
            timeout_keep_alive=_KEEP_ALIVE_SECONDS,
        )

    def start(self) -> Simulator:
        """Start serving; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        self._socket = self._bind()
        self._server = uvicorn.Server(self._config(log_config=None))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"simulator-{self.alias}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.alias} simulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and release the thread and the socket. Safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def serve_forever(self, on_ready: Callable[[Simulator], None] | None = None) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C, SIGTERM): the `allos-conform serve` command."""
        self._socket = self._bind()
        try:
            if on_ready is not None:
                on_ready(self)
            server = uvicorn.Server(self._config(log_config=uvicorn.config.LOGGING_CONFIG))
            server.run(sockets=[self._socket])
        finally:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> Simulator:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)


@contextlib.contextmanager
def simulate(alias: str, **settings: Any) -> Iterator[str]:
    """Serve `alias` for the duration of the block; yields its base URL on the simulator.

    >>> with simulate("mistral") as base_url:
    ...     base_url.endswith("/v1")
    True
    """
    with Simulator(alias, **settings) as simulator:
        yield simulator.base_url


@contextlib.asynccontextmanager
async def asimulate(alias: str, **settings: Any) -> AsyncIterator[str]:
    """The async twin of `simulate` (the server still runs in its own thread)."""
    async with Simulator(alias, **settings) as simulator:
        yield simulator.base_url
