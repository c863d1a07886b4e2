"""`AnthropicProvider`: the Anthropic Messages protocol bound to a registry row."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from allos.errors import ProviderError
from allos.protocols import anthropic as wire
from allos.providers.base import Provider, StreamDecoder
from allos.types import ChatRequest, ChatResponse

if TYPE_CHECKING:
    from allos.providers.registry import ProviderSpec

__all__ = ["AnthropicProvider"]

_VERSION_HEADER = "anthropic-version"


class AnthropicProvider(Provider):
    """Binds `allos.protocols.anthropic` to a registry row: `x-api-key` auth (from the row) and the pinned
    `anthropic-version` header (the row's default, `ANTHROPIC_VERSION`, or `headers=`; `DEFAULT_API_VERSION` when
    none gives one, since the API refuses a request without it). The body is built for the version actually sent.

    >>> from allos import get_provider
    >>> get_provider("anthropic", api_key="sk-ant-example-key")
    AnthropicProvider(name='anthropic', model='claude-sonnet-4-6', base_url='https://api.anthropic.com')
    """

    protocol: ClassVar[str] = "anthropic"
    path: ClassVar[str] = wire.PATH

    quirks_type: ClassVar[type[Any]] = wire.AnthropicQuirks
    default_quirks: ClassVar[Any] = wire.DEFAULT_QUIRKS

    def __init__(self, spec: ProviderSpec, **kwargs: Any) -> None:
        # The row's default comes first and `headers=` after it, perhaps spelled in another case: the last one wins,
        # and only it is sent.
        headers = dict(kwargs.get("headers") or {})
        versions = [name for name in headers if name.lower() == _VERSION_HEADER]
        self._sent_version = headers[versions[-1]] if versions else None
        for name in versions[:-1]:
            del headers[name]
        super().__init__(spec, **{**kwargs, "headers": headers})
        if self._sent_version and self._sent_version != self.quirks.api_version:
            self._quirks = dataclasses.replace(self.quirks, api_version=self._sent_version)

    @property
    def quirks(self) -> wire.AnthropicQuirks:
        quirks: wire.AnthropicQuirks = self._quirks
        return quirks

    def _default_headers(self) -> dict[str, str]:
        headers = super()._default_headers()
        if self._sent_version is None:
            headers[_VERSION_HEADER] = self.quirks.api_version
        return headers

    def _build(self, request: ChatRequest) -> dict[str, Any]:
        return wire.build_request(request, self.quirks, provider=self.spec.name)

    def _parse(self, body: Any) -> ChatResponse:
        return wire.parse_response(body, provider=self.spec.name)

    def _decoder(self) -> StreamDecoder:
        return wire.StreamDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)

    def _error(self, status_code: int, text: str, headers: Mapping[str, str]) -> ProviderError:
        return wire.parse_error(self.spec.name, status_code, text, headers, key_env=self.spec.api_key_env)
