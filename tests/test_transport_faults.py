"""The transport against servers that misbehave on real sockets: bodies cut or stalled mid-way, resets, corrupt
content-encodings, a Retry-After longer than we wait, and threads racing to create the client.

Retry waits are shortened through the policy's constant (the waits themselves are pure and tested in
test_transport_policy.py); everything else is real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator

import httpx
import pytest
from loopback import LoopbackServer, Reply, json_reply, sse_reply
from provider_modes import opened, run

from allos import errors, get_provider
from allos.providers import Provider
from allos.transport import Transport
from allos.types import StreamEnd

MODES = ("chat", "achat", "stream", "astream")
BODY_MODES = ("chat", "achat")  # calls that read the whole body before answering
USER = {"role": "user", "content": "hi"}
KEY = "sk-fault-test-0123456789"
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
JSON = {"content-type": "application/json"}


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("allos._retry.INITIAL_RETRY_DELAY", 0.001)


def provider_at(url: str, **kwargs: object) -> Provider:
    return get_provider("groq", api_key=KEY, base_url=url, model="m", **kwargs)  # type: ignore[arg-type]


def cut_body() -> Reply:
    """A 200 whose chunked body stops after its first chunk: the server answered, then the connection broke."""
    return Reply(headers=JSON, chunks=[b'{"id": "chatcmpl-1", ', b'"object": "chat.completion"}'], cut_after=1)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", BODY_MODES)
async def test_transport_retries_a_body_cut_mid_way(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(cut_body(), json_reply(ANSWER))
    async with opened(provider_at(loopback.url("/v1"), max_retries=2)) as provider:
        events = await run(provider, mode, [USER])
    assert isinstance(events[-1], StreamEnd) and events[-1].response.text == "ok"
    assert len(loopback.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", BODY_MODES)
async def test_transport_body_cut_every_time_says_the_server_answered(mode: str, loopback: LoopbackServer) -> None:
    loopback.push(cut_body(), cut_body())
    async with opened(provider_at(loopback.url("/v1"), max_retries=1)) as provider:
        with pytest.raises(errors.APIConnectionError) as caught:
            await run(provider, mode, [USER])
    assert len(loopback.requests) == 2
    assert "broke while reading the 200 answer's body" in str(caught.value)
    assert "could not reach" not in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("mode", MODES)
async def test_transport_corrupt_encoding_is_a_parse_error(mode: str, encoding: str, loopback: LoopbackServer) -> None:
    headers = {"content-encoding": encoding}
    junk = b"\x1f\x8b\x08\x00this is not deflate data at all"
    if mode in ("stream", "astream"):
        loopback.push(Reply(headers={**headers, "content-type": "text/event-stream"}, chunks=[junk]))
    else:
        loopback.push(Reply(headers={**headers, **JSON}, body=junk))
    async with opened(provider_at(loopback.url("/v1"), max_retries=2)) as provider:
        with pytest.raises(errors.ResponseParseError) as caught:
            await run(provider, mode, [USER])
    assert f"not valid {encoding!r}" in str(caught.value)
    assert str(caught.value).startswith("groq: ")
    assert len(loopback.requests) == 1  # the server answered: a corrupt body is not retried


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_transport_does_not_retry_a_retry_after_above_the_cap(mode: str, loopback: LoopbackServer) -> None:
    body = {"error": {"message": "slow down", "type": "rate_limit"}}
    loopback.push(json_reply(body, status=429, headers={"retry-after": "300"}), json_reply(ANSWER))
    async with opened(provider_at(loopback.url("/v1"), max_retries=2)) as provider:
        with pytest.raises(errors.RateLimitError) as caught:
            await run(provider, mode, [USER])
    assert caught.value.retry_after == 300.0
    assert len(loopback.requests) == 1
    loopback.reset()  # the second reply was never asked for


# --- raw sockets: a reset and a stall mid-body -----------------------------------------------------------------------


class _RawServer:
    """Answers each connection with a 200 whose body stops half-way: then resets (RST) or stalls until released."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.connections = 0
        self.release = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        if self.fault == "trickle":
            self._trickle(conn)
            return
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n"
            conn.sendall(head + b'{"id": "chatcmpl-1", "object": ')
            if self.fault == "reset":
                # Let the client read the head first: Linux drops received-but-unread bytes when the RST lands, so
                # an immediate reset could reach a slow client before its headers do (then the server "never
                # answered", which is another test's case).
                self.release.wait(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.release.wait(10)  # bounded: the test releases it at teardown

    def _trickle(self, conn: socket.socket) -> None:
        """A whole, valid answer, one byte at a time: each read waits a little, the whole takes longer than the
        timeout, which httpx applies per read (as the official SDKs do)."""
        with conn:
            request = conn.recv(65536)
            streaming = b'"stream": true' in request or b'"stream":true' in request
            if streaming:
                chunk = {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
                }
                body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                kind = b"text/event-stream"
            else:
                body, kind = json.dumps(ANSWER).encode(), b"application/json"
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ncontent-length: %d\r\n\r\n" % len(body))
            for index in range(len(body)):
                if self.release.wait(0.002):
                    return
                conn.sendall(body[index : index + 1])

    def __enter__(self) -> _RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._sock.close()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_transport_reads_an_answer_that_trickles_in_byte_by_byte(mode: str) -> None:
    with _RawServer("trickle") as server:
        async with opened(provider_at(server.url, max_retries=0, timeout=0.25)) as provider:
            events = await run(provider, mode, [USER])
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.response.text == "ok"
    assert server.connections == 1


@pytest.mark.anyio
@pytest.mark.parametrize("encoding", ["br", "zstd", "x-unknown"])
@pytest.mark.parametrize("mode", MODES)
async def test_transport_an_encoding_httpx_cannot_decode_is_a_parse_error(
    mode: str, encoding: str, loopback: LoopbackServer
) -> None:
    """Allos asks for gzip and deflate only (no brotli or zstd installed): a body in another encoding reaches the
    parser as bytes it cannot read, which is a typed error naming the provider, sent once."""
    junk = b"\x8b\x05\x80not what it claims to be\x03"
    kind = "text/event-stream" if mode in ("stream", "astream") else "application/json"
    loopback.push(Reply(headers={"content-encoding": encoding, "content-type": kind}, chunks=[junk]))
    async with opened(provider_at(loopback.url("/v1"), max_retries=2)) as provider:
        with pytest.raises(errors.ResponseParseError) as caught:
            await run(provider, mode, [USER])
    assert str(caught.value).startswith("groq: ")
    assert len(loopback.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", BODY_MODES)
async def test_transport_retries_a_reset_mid_body(mode: str) -> None:
    with _RawServer("reset") as server:
        async with opened(provider_at(server.url, max_retries=2)) as provider:
            with pytest.raises(errors.APIConnectionError) as caught:
                await run(provider, mode, [USER])
    assert server.connections == 3
    assert "while reading the 200 answer's body" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", BODY_MODES)
async def test_transport_retries_a_body_that_stalls(mode: str) -> None:
    with _RawServer("stall") as server:
        async with opened(provider_at(server.url, max_retries=1, timeout=0.3)) as provider:
            with pytest.raises(errors.APITimeoutError) as caught:
                await run(provider, mode, [USER])
    assert server.connections == 2
    assert "body did not arrive within the timeout" in str(caught.value)


# --- one client for every thread --------------------------------------------------------------------------------------


def _transport(base_url: str = "http://127.0.0.1:9") -> Transport:
    return Transport(provider="p", base_url=base_url, headers={}, error_factory=_never)


def _never(status: int, text: str, headers: object) -> errors.ProviderError:
    raise AssertionError("no error answer expected")


@pytest.fixture
def many_threads() -> Iterator[int]:
    yield 8


def test_transport_creates_one_client_for_racing_threads(many_threads: int) -> None:
    transport = _transport()
    barrier = threading.Barrier(many_threads)
    seen: list[httpx.Client] = []

    def grab() -> None:
        barrier.wait()
        seen.append(transport.client)

    threads = [threading.Thread(target=grab) for _ in range(many_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in seen}) == 1
    transport.close()
    assert seen[0].is_closed


def test_threads_sharing_a_provider_leave_no_connection_open_after_close(loopback: LoopbackServer) -> None:
    loopback.push(*(json_reply(ANSWER) for _ in range(8)))
    provider = provider_at(loopback.url("/v1"))
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        provider.chat([USER])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client = provider._transport.client
    provider.close()
    assert client.is_closed
    assert len(loopback.requests) == 8


def test_stream_body_is_still_mapped_not_retried(loopback: LoopbackServer) -> None:
    """A stream is retried only before its first byte: a cut mid-stream is an IncompleteStreamError, sent once."""
    loopback.push(sse_reply([b'{"id": "c", "choices": []}'], cut_after=1))
    with provider_at(loopback.url("/v1"), max_retries=2) as provider, pytest.raises(errors.IncompleteStreamError):
        list(provider.stream([USER]))
    assert len(loopback.requests) == 1


# --- what HTTP cannot send: refused before anything leaves, never retried, never quoting the value ---------------


@pytest.mark.parametrize(
    ("key", "what"),
    [
        (KEY + "\n", "a line break"),  # a key read from a file with its trailing newline
        (KEY[:6] + "\r" + KEY[6:], "a line break"),
        (KEY + "é", "a non-ASCII character"),
        (KEY[:3] + "\x00" + KEY[3:], "a control character"),
    ],
)
def test_a_key_http_cannot_carry_is_a_configuration_error_without_the_key(
    key: str, what: str, loopback: LoopbackServer
) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        get_provider("groq", api_key=key, base_url=loopback.url("/v1"), model="m")
    text = str(caught.value) + repr(caught.value) + str(caught.getrepr(chain=True))
    assert what in str(caught.value) and "Authorization header" in str(caught.value)
    assert KEY[6:] not in text  # no piece of the key, in the message, the repr or the printed chain
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert loopback.requests == []


@pytest.mark.parametrize(
    "base_url", ["http://[::1/v1", "ht!tp://x y/v1", "127.0.0.1:8080/v1", "file:///etc/passwd", "https://"]
)
def test_a_base_url_httpx_cannot_send_to_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=r"base_url .* is not a URL Allos can send to") as caught:
        provider_at(base_url)
    assert caught.value.provider == "groq"


def test_a_base_url_with_credentials_is_not_repeated_in_its_error() -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        provider_at("ftp://user:" + KEY + "@host/v1")
    assert KEY not in str(caught.value) and "[REDACTED]@host" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_header_h11_refuses_is_an_invalid_request_sent_once_never_retried(
    mode: str, loopback: LoopbackServer
) -> None:
    """A header name HTTP forbids (from a registered row's HeaderSpec, say) is our side's fault, not the network's."""
    provider = provider_at(loopback.url("/v1"), max_retries=2)
    provider._transport._headers["x bad name"] = KEY
    async with opened(provider):
        with pytest.raises(errors.InvalidRequestError, match="could not be written as HTTP") as caught:
            await run(provider, mode, [USER])
    assert KEY not in str(caught.value) and caught.value.__cause__ is None
    assert loopback.requests == []


@pytest.mark.parametrize("extra", [{"x-trace": "a\nb"}, {"x-trace": "café"}])
def test_extra_headers_http_cannot_carry_are_refused_naming_the_header(
    extra: dict[str, str], loopback: LoopbackServer
) -> None:
    with provider_at(loopback.url("/v1")) as provider, pytest.raises(errors.ConfigurationError, match="x-trace"):
        provider.chat([USER], extra_headers=extra)
    assert loopback.requests == []


def test_reading_a_stream_after_its_response_closed_is_a_typed_error(loopback: LoopbackServer) -> None:
    loopback.push(sse_reply([b'{"id": "c", "choices": []}']))
    transport = _transport(loopback.url("/v1"))
    with transport.stream("/chat/completions", b"{}") as response:
        pass
    with pytest.raises(errors.APIConnectionError, match="closed before it was read"):
        list(transport.iter_bytes(response))
    transport.close()
