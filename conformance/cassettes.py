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
- One validating reader (`load_cassette`) stands at the loading boundary, for replay (vcrpy loads through it) as for
  reports and drift: a file that is not a cassette (not YAML, the wrong structure at any level, not UTF-8, empty, a
  directory, unreadable) raises `CassetteInvalid`, one line that names the file and the field, never a traceback.
- vcrpy hands a recorded stream back as one chunk; `RechunkingTransport` re-cuts it at varied byte boundaries so that
  stream decoders meet the fragmentation a real network gives.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import json
import math
import random
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx
import yaml

from allos import __version__
from allos.errors import REDACTED
from conformance.inputs import InputInvalid, read_text, shown

__all__ = [
    "KEPT_REQUEST_HEADERS",
    "KEPT_RESPONSE_HEADERS",
    "CassetteInvalid",
    "RechunkingTransport",
    "canonical_body",
    "cassette_meta",
    "cut_points",
    "load_cassette",
    "make_vcr",
    "parse_cassette",
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
    config.register_persister(_Persister)
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
        return _vcr_form(parse_cassette(text, "<text>"))


def _vcr_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """A validated cassette in vcrpy's own shape: bodies back on the wire, headers as lists."""
    interactions = []
    for item in data["interactions"]:
        request, response = item["request"], item["response"]
        body = _wire(request.get("body"))
        interactions.append(
            {
                "request": {
                    "method": request["method"],
                    "uri": request["uri"],
                    "body": body.encode() if body is not None else None,
                    "headers": _header_lists(request.get("headers")),
                },
                "response": {
                    "status": {"code": response["status"]["code"], "message": response["status"].get("message") or ""},
                    "headers": _header_lists(response.get("headers")),
                    "body": {"string": (_wire(response.get("body")) or "").encode()},
                },
            }
        )
    return {"interactions": interactions, "version": data.get("version", 1)}


def _header_lists(headers: Mapping[str, Any] | None) -> dict[str, list[str]]:
    return {name: [value] if isinstance(value, str) else list(value) for name, value in (headers or {}).items()}


class _Persister:
    """vcrpy's file persister, reading through `load_cassette`: an invalid cassette raises instead of replaying as
    an empty one (vcrpy treats an empty or undecodable file as missing, and logs a traceback)."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> tuple[list[Any], list[dict[str, Any]]]:
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.request import Request

        path = Path(cassette_path)
        if not path.exists() and not path.is_symlink():
            raise CassetteNotFoundError()  # recording into a fresh file
        data = _vcr_form(load_cassette(path))
        requests = [Request._from_dict(item["request"]) for item in data["interactions"]]
        return requests, [item["response"] for item in data["interactions"]]

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: dict[str, Any], serializer: Any) -> None:
        from vcr.persisters.filesystem import FilesystemPersister

        FilesystemPersister.save_cassette(cassette_path, cassette_dict, serializer)


def cassette_meta(source: str, recorded_at: str) -> dict[str, Any]:
    """Where a recording came from. A source on this machine that says what build it is (llama.cpp's llama-server
    at `GET /props`) is named in `server`, so a recording tells which server version produced it; readers that do not
    know the field ignore it."""
    meta: dict[str, Any] = {"source": source, "recorded_at": recorded_at, "allos_version": __version__}
    server = _local_server(source)
    if server is not None:
        meta["server"] = server
    return meta


@functools.lru_cache(maxsize=16)
def _local_server(source: str) -> str | None:
    from urllib.parse import urlsplit

    from conformance.llamacpp import reported_build

    url = urlsplit(source)
    if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None  # hosted providers and simulators are not asked anything
    return reported_build(f"{url.scheme}://{url.netloc}")


# --- reading, validated ----------------------------------------------------------------------------------------------


def load_cassette(path: Path) -> dict[str, Any]:
    """The validated YAML of a cassette (meta and interactions); `CassetteInvalid` names the file and the field.

    >>> load_cassette(Path("cassettes/groq/chat.yaml"))["meta"]["source"]  # doctest: +SKIP
    'simulator groq'
    """
    return parse_cassette(read_text(path, CassetteInvalid), path)


def parse_cassette(text: str, path: Path | str) -> dict[str, Any]:
    """A cassette's text, parsed and checked against the shape `_Serializer` writes."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = f" at line {exc.problem_mark.line + 1}, column {exc.problem_mark.column + 1}" if exc.problem_mark else ""
        raise CassetteInvalid(path, f"not valid YAML: {exc.problem or exc.context}{mark}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # a bad timestamp is a ValueError
        raise CassetteInvalid(path, f"not valid YAML: {_first_line(exc)}") from None
    try:
        return _check_cassette(data)
    except _Problem as problem:
        raise CassetteInvalid(path, str(problem)) from None


class CassetteInvalid(InputInvalid):
    """A file that cannot be used as a cassette: one line naming the file, the field and what was expected."""

    what = "cassette"


class _Problem(Exception):
    """Raised by the checks below; `parse_cassette` adds the file's name."""


# Bounds that no recording reaches keep a hostile file (deep nesting, YAML aliases that fan out) cheap to refuse.
_MAX_DEPTH = 200
_MAX_VALUES = 2_000_000
_REQUEST_FIELDS = ("method", "uri", "body", "headers")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _wrong(where: str, value: Any, expected: str) -> NoReturn:
    raise _Problem(f"{where or 'the top level'} is {shown(value)}, expected {expected}")


def _mapping(value: Any, where: str, expected: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        _wrong(where, value, expected)
    return value


def _field(mapping: Mapping[Any, Any], name: str, where: str) -> Any:
    if name not in mapping:
        raise _Problem(f"{where or 'the cassette'} has no {name}")
    return mapping[name]


def _text(value: Any, where: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value):
        _wrong(where, value, "a string" if empty else "a non-empty string")
    return value


def _check_cassette(data: Any) -> dict[str, Any]:
    top = _mapping(data, "", "a mapping with meta and interactions")
    interactions = _field(top, "interactions", "")
    if not isinstance(interactions, list):
        _wrong("interactions", interactions, "a list of recorded exchanges")
    if not interactions:
        raise _Problem("interactions is empty, expected at least one recorded exchange")
    _check_meta(_field(top, "meta", ""))
    version = top.get("version", 1)
    if version != 1 or isinstance(version, bool):
        _wrong("version", version, "1")
    for index, item in enumerate(interactions):
        where = f"interactions[{index}]"
        exchange = _mapping(item, where, "a mapping with request and response")
        _check_request(_field(exchange, "request", where), f"{where}.request")
        _check_response(_field(exchange, "response", where), f"{where}.response")
    return top


def _check_meta(value: Any) -> None:
    meta = _mapping(value, "meta", "a mapping with source, recorded_at and allos_version")
    _text(_field(meta, "source", "meta"), "meta.source", empty=False)
    recorded_at = _field(meta, "recorded_at", "meta")
    if not isinstance(recorded_at, (str, datetime.date)):  # a hand-written, unquoted date is still a date
        _wrong("meta.recorded_at", recorded_at, "a date and time")
    _text(_field(meta, "allos_version", "meta"), "meta.allos_version", empty=False)


def _check_request(value: Any, where: str) -> None:
    request = _mapping(value, where, "a mapping with method, uri, body and headers")
    unknown = [name for name in request if name not in _REQUEST_FIELDS]
    if unknown:
        raise _Problem(f"{where} has an unknown field {shown(unknown[0])}; expected only {', '.join(_REQUEST_FIELDS)}")
    _text(_field(request, "method", where), f"{where}.method", empty=False)
    _text(_field(request, "uri", where), f"{where}.uri", empty=False)
    _check_headers(request.get("headers"), f"{where}.headers")
    _check_body(request.get("body"), f"{where}.body", stream=None)


def _check_response(value: Any, where: str) -> None:
    response = _mapping(value, where, "a mapping with status, headers and body")
    status = _mapping(_field(response, "status", where), f"{where}.status", "a mapping with code and message")
    code = _field(status, "code", f"{where}.status")
    if not isinstance(code, int) or isinstance(code, bool):
        _wrong(f"{where}.status.code", code, "an integer")
    if not 100 <= code <= 599:
        _wrong(f"{where}.status.code", code, "an HTTP status from 100 to 599")
    message = status.get("message")
    if message is not None and (not isinstance(message, str) or not message.isascii()):
        _wrong(f"{where}.status.message", message, "ASCII text (an HTTP reason phrase)")
    headers = _check_headers(response.get("headers"), f"{where}.headers")
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), [""])
    stream = next((t for t in _STREAM_TYPES if str(_first(content_type)).startswith(t)), None)
    _check_body(response.get("body"), f"{where}.body", stream=stream)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _check_headers(value: Any, where: str) -> dict[Any, Any]:
    if value is None:
        return {}
    headers = _mapping(value, where, "a mapping of header names to lists of values")
    for name, values in headers.items():
        if not isinstance(name, str):
            raise _Problem(f"{where} has the header name {shown(name)}, expected a string")
        listed = values if isinstance(values, list) else [values]
        for index, item in enumerate(listed):
            if not isinstance(item, str):
                at = f"{where}.{name}" + (f"[{index}]" if isinstance(values, list) else "")
                _wrong(at, item, "a string")
    return headers


def _check_body(value: Any, where: str, *, stream: str | None) -> None:
    if value is None and stream is None:
        return
    body = _mapping(value, where, "a mapping with one key, json or text")
    if len(body) != 1 or next(iter(body)) not in ("json", "text"):
        keys = ", ".join(shown(key) for key in body) or "no key"
        raise _Problem(f"{where} has {keys}, expected one key, json or text")
    if "text" in body:
        _text(body["text"], f"{where}.text")
    elif stream is not None:
        raise _Problem(f"{where} is json, expected text: a {stream} answer is stored as its wire text")
    else:
        _check_json(body["json"], f"{where}.json")


def _check_json(value: Any, where: str) -> None:
    """Every value JSON can carry, and nothing else (YAML also has timestamps, sets and binary); iterative, bounded,
    so a deep or self-referencing YAML document costs nothing to refuse."""
    stack: list[tuple[Any, Any, int]] = [(value, where, 0)]  # the path is built only for a message
    seen = 0
    while stack:
        item, path, depth = stack.pop()
        seen += 1
        if depth > _MAX_DEPTH or seen > _MAX_VALUES:
            limit = f"nested more than {_MAX_DEPTH} levels deep" if depth > _MAX_DEPTH else "too large"
            raise _Problem(f"{where} is {limit}")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise _Problem(f"{_path(path)} has the key {shown(key)}, expected a string")
                stack.append((child, (path, f".{key}"), depth + 1))
        elif isinstance(item, list):
            stack.extend((child, (path, f"[{index}]"), depth + 1) for index, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            _wrong(_path(path), item, "a finite number")
        elif item is not None and not isinstance(item, (str, int, float)):
            _wrong(_path(path), item, "a JSON value")


def _path(path: Any) -> str:
    parts: list[str] = []
    while isinstance(path, tuple):
        path, part = path
        parts.append(part)
    return str(path) + "".join(reversed(parts))


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
