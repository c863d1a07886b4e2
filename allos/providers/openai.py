"""`OpenAIProvider`: OpenAI through its native Responses protocol (`POST {base_url}/responses`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from allos.errors import ProviderError
from allos.protocols import responses as wire
from allos.providers.base import Provider, StreamDecoder
from allos.types import ChatRequest, ChatResponse

__all__ = ["OpenAIProvider"]


class OpenAIProvider(Provider):
    """Binds `allos.protocols.responses` to a registry row (alias `openai`); quirks come from `spec.quirks`.

    `chat(messages, previous_response_id=answer.id)` continues a conversation the server stored: only the messages
    after the last assistant turn are sent.

    >>> from allos import get_provider
    >>> get_provider("openai", api_key="sk-example-key-123")
    OpenAIProvider(name='openai', model='gpt-4o-mini', base_url='https://api.openai.com/v1')
    """

    protocol: ClassVar[str] = "responses"
    path: ClassVar[str] = wire.PATH

    quirks_type: ClassVar[type[Any]] = wire.ResponsesQuirks
    default_quirks: ClassVar[Any] = wire.DEFAULT_QUIRKS

    @property
    def quirks(self) -> wire.ResponsesQuirks:
        quirks: wire.ResponsesQuirks = self._quirks
        return quirks

    def _build(self, request: ChatRequest) -> dict[str, Any]:
        return wire.build_request(request, self.quirks, provider=self.spec.name)

    def _parse(self, body: Any) -> ChatResponse:
        return wire.parse_response(body, provider=self.spec.name)

    def _decoder(self) -> StreamDecoder:
        return wire.StreamDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)

    def _error(self, status_code: int, text: str, headers: Mapping[str, str]) -> ProviderError:
        return wire.parse_error(self.spec.name, status_code, text, headers, key_env=self.spec.api_key_env)
