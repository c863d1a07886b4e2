"""Cassettes: vcrpy recordings of real exchanges, one file per alias x case, safe to commit.

Policy:
- Matching is on method, URL and the *canonical* JSON body (key order and whitespace do not matter, content does), so
  a translation change makes a recording stale instead of silently replaying an old exchange.
- Nothing secret is written: request and response headers are kept only from an allow-list, and every secret value
  in use (the keys the run holds) is replaced in URLs and bodies before anything is written. Recording happens into a
  temporary file that replaces the committed cassette only when the exchange completed, so a failed recording never
  leaves a half-written cassette behind.
- Bodies are stored readable: JSON as YAML mappings, streams as literal text blocks.
- A recording made against a simulator stores the alias's real base URL, so replay is the same whatever the source.
- vcrpy hands a recorded stream back as one chunk; `RechunkingTransport` re-cuts it at varied byte boundaries so that
  stream decoders meet the fragmentation a real network gives.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from allos import __version__
from allos.errors import REDACTED

__all__ = [
    "KEPT_REQUEST_HEADERS",
    "KEPT_RESPONSE_HEADERS",
    "RechunkingTransport",
    "canonical_body",
    "cassette_meta",
    "cut_points",
    "load_cassette",
    "make_vcr",
]

# Allow-lists: a header not named here is dropped before writing (auth headers, cookies, gateway keys, ...).
KEPT_REQUEST_HEADERS = frozenset({"content-type", "accept", "anthropic-version", "anthropic-beta"})
KEPT_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-request-id",
        "request-id",
        "x-ratelimit-limit-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests",
        "x-ratelimit-reset-tokens",
    }
)
_STREAM_TYPES = ("text/event-stream", "application/x-ndjson")


def canonical_body(body: bytes | str | None) -> Any:
    """A body as comparable data: parsed JSON when it is JSON, else the text."""
    if body is None:
        return None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text)
    except ValueError:
        return text


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _body_text(body: Any) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body)


def _request_filter(secrets: Sequence[str], rewrite: Mapping[str, str]) -> Callable[[Any], Any]:
    def before_record_request(request: Any) -> Any:
        uri = request.uri
        for old, new in rewrite.items():
            if uri.startswith(old):
                uri = new + uri[len(old) :]
        request.uri = _redact(uri, secrets)
        for name in list(request.headers):
            if name.lower() not in KEPT_REQUEST_HEADERS:
                del request.headers[name]
        text = _body_text(request.body)
        if text is not None:
            request.body = _redact(text, secrets).encode()
        return request

    return before_record_request


def _response_filter(secrets: Sequence[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.get("headers", {})
        response["headers"] = {k: v for k, v in headers.items() if k.lower() in KEPT_RESPONSE_HEADERS}
        body = response.get("body", {})
        raw = body.get("string")
        text = _body_text(raw)
        if text is not None:  # vcrpy also runs this on load: keep bytes as bytes
            body["string"] = _redact(text, secrets).encode() if isinstance(raw, bytes) else _redact(text, secrets)
        return response

    return before_record_response


def _match_body(r1: Any, r2: Any) -> None:
    if canonical_body(r1.body) != canonical_body(r2.body):
        raise AssertionError("request bodies differ")


def make_vcr(
    *,
    record: bool,
    secrets: Sequence[str] = (),
    rewrite: Mapping[str, str] | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Any:
    """A vcr.VCR configured for the harness: replay-only (`record=False`) or record-all."""
    import vcr

    config = vcr.VCR(
        record_mode="all" if record else "none",
        match_on=["method", "uri", "canonical_body"],
        before_record_request=_request_filter(list(secrets), rewrite or {}),
        before_record_response=_response_filter(list(secrets)),
        decode_compressed_response=True,
        serializer="allos-yaml",
    )
    config.register_matcher("canonical_body", _match_body)
    config.register_serializer("allos-yaml", _Serializer(meta or {}))
    return config


# --- readable YAML ---------------------------------------------------------------------------------------------------


# libyaml's C loader and dumper when PyYAML has them (10x faster on a cassette), else the pure-Python ones.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LiteralDumper(_BaseDumper):  # type: ignore[misc]
    """Multi-line strings (streams) as literal blocks, so a cassette diff reads like the wire."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_LiteralDumper.add_representer(str, _str_presenter)


def _readable(body: Any) -> Any:
    text = _body_text(body)
    if text is None:
        return None
    parsed = canonical_body(text)
    return {"json": parsed} if not isinstance(parsed, str) else {"text": text}


def _wire(body: Any) -> str | None:
    if body is None:
        return None
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False, separators=(",", ":"))
    return str(body["text"])


class _Serializer:
    """vcrpy serializer: JSON bodies as mappings, everything else as text, plus a `meta` block."""

    def __init__(self, meta: Mapping[str, Any]) -> None:
        self.meta = dict(meta)

    def serialize(self, cassette: dict[str, Any]) -> str:
        interactions = []
        for item in cassette["interactions"]:
            request = dict(item["request"])
            request["body"] = _readable(request.get("body"))
            response = dict(item["response"])
            response["body"] = _readable(response.get("body", {}).get("string"))
            interactions.append({"request": request, "response": response})
        data = {"meta": self.meta, "interactions": interactions, "version": cassette.get("version", 1)}
        return yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False, width=120)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        data = yaml.load(text, Loader=_Loader) or {}
        interactions = []
        for item in data.get("interactions", []):
            request = dict(item["request"])
            body = _wire(request.get("body"))
            request["body"] = body.encode() if body is not None else None
            response = dict(item["response"])
            response["body"] = {"string": (_wire(response.get("body")) or "").encode()}
            interactions.append({"request": request, "response": response})
        return {"interactions": interactions, "version": data.get("version", 1)}


def cassette_meta(source: str, recorded_at: str) -> dict[str, Any]:
    return {"source": source, "recorded_at": recorded_at, "allos_version": __version__}


def load_cassette(path: Path) -> dict[str, Any]:
    """The raw YAML of a cassette (meta and interactions), for reports and drift."""
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    return loaded


# --- re-chunking recorded streams ----------------------------------------------------------------------------------


def cut_points(size: int, seed: str) -> list[int]:
    """Deterministic, varied cut positions in a body of `size` bytes: 1 to 64 bytes apart, some cuts mid-character.

    >>> cut_points(10, "x") == cut_points(10, "x")
    True
    """
    rng = random.Random(seed)
    points: list[int] = []
    position = 0
    while True:
        position += rng.choice((1, 2, 3, 5, 7, 11, 16, 31, 64))
        if position >= size:
            return points
        points.append(position)


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, body: bytes, points: Sequence[int]) -> None:
        bounds = [0, *points, len(body)]
        self._chunks = [body[a:b] for a, b in itertools.pairwise(bounds)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    async def __aiter__(self) -> Any:
        for chunk in self._chunks:
            yield chunk


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~65 ms; one context serves every transport of the run.
    return ssl.create_default_context()


class RechunkingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wraps the real transports (which vcrpy patches) and re-cuts streamed bodies at varied boundaries."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._sync = httpx.HTTPTransport(verify=_ssl_context())
        self._async = httpx.AsyncHTTPTransport(verify=_ssl_context())

    def _recut(self, response: httpx.Response, body: bytes) -> httpx.Response:
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Chunks(body, cut_points(len(body), f"{self._seed}:{len(body)}")),
            extensions=response.extensions,
        )

    def _is_stream(self, response: httpx.Response) -> bool:
        content_type: str = response.headers.get("content-type", "")
        return content_type.startswith(_STREAM_TYPES)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._sync.handle_request(request)
        if not self._is_stream(response):
            return response
        assert isinstance(response.stream, httpx.SyncByteStream)
        body = b"".join(response.stream)
        response.stream.close()
        return self._recut(response, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._async.handle_async_request(request)
        if not self._is_stream(response):
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        body = b"".join([part async for part in response.stream])
        await response.stream.aclose()
        return self._recut(response, body)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()
