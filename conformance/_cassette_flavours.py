"""Reading recorded exchanges from cassettes of every common flavour, into one plain record.

Flavours read:
- the project's own (`conformance/cassettes.py`: a `meta` block, bodies as `{json: ...}` / `{text: ...}`), through
  that module's own serializer;
- standard vcrpy YAML: request `body` a string (or `!!binary` bytes), response `body: {string: ...}`;
- bodies stored as JSON mappings (request `body: {model: ...}`, response `body: {json-object}`);
- `parsed_body` beside or instead of `body` (pydantic-ai's JSON body serializer);
- gzip bodies (bytes with the gzip magic, whatever the headers say), base64 bodies (`base64_string`, Ruby VCR's
  field, or a base64 text of a gzip body);
- vcrpy's JSON serializer (a `.json` file with the same structure).

A cassette that cannot be read raises `CassetteUnreadable` with the reason; the caller reports it as one line.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.cassettes import make_vcr

__all__ = ["CassetteUnreadable", "Recorded", "read_cassette"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_WRAPPER_KEYS = frozenset({"string", "base64_string", "encoding"})
_GZIP_MAGIC = b"\x1f\x8b"


class CassetteUnreadable(ValueError):
    """A cassette that is not one of the flavours read here (the message says why)."""


@dataclass(frozen=True)
class Recorded:
    """One recorded exchange: the real request and the real answer. Header names are lower-cased."""

    cassette: Path
    index: int
    method: str
    uri: str
    request_headers: Mapping[str, str]
    request_body: bytes | None
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes

    @property
    def where(self) -> str:
        return f"{self.cassette}#{self.index}"


def read_cassette(path: Path) -> list[Recorded]:
    """Every exchange in the cassette at `path`, whatever its flavour."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteUnreadable(f"cannot read: {exc}") from None
    data = _parse(path, text)
    interactions = data.get("interactions")
    if not isinstance(interactions, list):
        raise CassetteUnreadable("no `interactions` list")
    return [_recorded(path, index, item) for index, item in enumerate(interactions)]


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise CassetteUnreadable(f"not YAML/JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise CassetteUnreadable("not a mapping at the top")
    if "meta" in data:  # the project's own format: its serializer knows how bodies are stored
        serializer = make_vcr(record=False).serializers["allos-yaml"]
        try:
            own: dict[str, Any] = serializer.deserialize(text)
        except (KeyError, TypeError, AttributeError) as exc:
            raise CassetteUnreadable(f"project cassette without {exc}") from None
        return own
    return data


def _recorded(path: Path, index: int, item: Any) -> Recorded:
    try:
        request, response = item["request"], item["response"]
        return Recorded(
            cassette=path,
            index=index,
            method=str(request["method"]).upper(),
            uri=str(request["uri"]),
            request_headers=_headers(request.get("headers")),
            request_body=_body(request, is_response=False),
            status=_status(response),
            response_headers=_headers(response.get("headers")),
            response_body=_body(response, is_response=True) or b"",
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteUnreadable(f"interaction {index}: {type(exc).__name__} {exc}") from None


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    headers = {}
    for name, value in raw.items():
        first = value[0] if isinstance(value, list) and value else value
        headers[str(name).lower()] = "" if first is None or isinstance(first, list) else str(first)
    return headers


def _status(response: Mapping[str, Any]) -> int:
    status = response.get("status", response.get("status_code"))
    if isinstance(status, Mapping):
        status = status.get("code")
    return int(status)


def _body(part: Mapping[str, Any], *, is_response: bool) -> bytes | None:
    if "parsed_body" in part:
        return _as_json_bytes(part["parsed_body"])
    body = part.get("body")
    if isinstance(body, Mapping) and (set(body) <= _WRAPPER_KEYS and body):
        if "base64_string" in body:
            return _decoded(base64.b64decode(str(body["base64_string"])))
        body = body.get("string")
    elif isinstance(body, Mapping | list) and not (is_response and body == {}):
        return _as_json_bytes(body)
    if body is None or body == {}:
        return None
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8")
    return _decoded(_unbase64(raw))


def _as_json_bytes(value: Any) -> bytes:
    if isinstance(value, str | bytes):
        return value.encode() if isinstance(value, str) else value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _unbase64(raw: bytes) -> bytes:
    # A gzip body kept as base64 text starts with "H4sI" (the base64 of the gzip magic); nothing else is guessed.
    if raw.startswith(b"H4sI"):
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            return raw
    return raw


def _decoded(raw: bytes) -> bytes:
    if raw.startswith(_GZIP_MAGIC):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error):
            return raw
    return raw
