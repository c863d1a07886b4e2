"""A loopback HTTP/1.1 server that answers every POST at once with a fixed `chat.completion` body.

It runs in its own process (`LoopbackServer` starts this file as a script), so it never competes with the client
for the GIL, and it does as little as HTTP allows: find the end of the headers, read `Content-Length` bytes, write
one precomputed answer, keep the connection alive. The answer is the same bytes for every client, so the three
clients under test parse exactly the same body.

This file imports nothing from the package, so it starts quickly as a plain script.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LoopbackServer", "completion_body", "messages_body"]


def completion_body() -> dict[str, Any]:
    """The fixed answer: one tool call plus usage, shaped like OpenAI's `chat.completion` [OAS]."""
    return {
        "id": "chatcmpl-bench-0001",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_bench",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_abc123",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": json.dumps({"city": "Paris", "unit": "celsius", "days": 3}),
                            },
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 82,
            "completion_tokens": 18,
            "total_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    }


def messages_body() -> dict[str, Any]:
    """The same answer shaped like Anthropic's Messages `message` [anthropic-sdk-python types/message.py]."""
    return {
        "id": "msg_01BenchAnswer000000000000",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01BenchCall0000000000000",
                "name": "get_weather",
                "input": {"city": "Paris", "unit": "celsius", "days": 3},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 82, "output_tokens": 18, "cache_read_input_tokens": 0},
    }


def _answer(body_data: dict[str, Any] | None = None) -> bytes:
    body = json.dumps(body_data or completion_body(), separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


class _Http(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining, just enough for httpx and httpx2 clients."""

    answer = _answer()
    messages_answer = _answer(messages_body())

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            total = end + 4 + _content_length(bytes(self.buffer[:end]))
            if len(self.buffer) < total:
                return
            request_line = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[:total]
            assert self.transport is not None
            # POST /v1/messages gets Anthropic's shape; every other path the Chat Completions answer.
            self.transport.write(self.messages_answer if b" /v1/messages" in request_line else self.answer)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    # The parent closes our stdin to stop us: no signals, no orphan if the parent dies.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


class LoopbackServer:
    """`with LoopbackServer() as server: ... server.base_url ...` — the server process lives inside the block."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LoopbackServer:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip():
            self._process.kill()
            raise RuntimeError("the loopback server did not start")
        self.port = int(line)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process = self._process
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


if __name__ == "__main__":
    asyncio.run(_serve())
