"""The transport parses each request URL once; the cache must never outlive a change of `base_url`."""

from __future__ import annotations

import httpx

from allos.errors import ProviderError
from allos.transport import Transport


def _factory(status: int, text: str, headers: object) -> ProviderError:
    raise AssertionError("no error expected")


def _transport(base_url: str) -> Transport:
    return Transport(provider="p", base_url=base_url, headers={}, error_factory=_factory)


def test_transport_url_is_parsed_once_per_path() -> None:
    transport = _transport("http://127.0.0.1:1/v1/")
    first = transport._url("/chat/completions")
    assert first == httpx.URL("http://127.0.0.1:1/v1/chat/completions")
    assert transport._url("/chat/completions") is first
    assert transport._url("/models") == httpx.URL("http://127.0.0.1:1/v1/models")


def test_transport_url_follows_a_changed_base_url() -> None:
    transport = _transport("http://127.0.0.1:1/v1")
    transport._url("/chat/completions")
    transport.base_url = "http://127.0.0.1:2/v2"
    assert transport._url("/chat/completions") == httpx.URL("http://127.0.0.1:2/v2/chat/completions")


def test_transport_builds_requests_with_the_cached_url() -> None:
    transport = _transport("http://127.0.0.1:1/v1")
    with httpx.Client() as client:
        request = transport._build(client, "/chat/completions", b"{}", {})
    assert str(request.url) == "http://127.0.0.1:1/v1/chat/completions"
    assert request.method == "POST"
