"""`ChatCompletionsProvider`: the universal adapter, for every alias that speaks OpenAI-compatible Chat Completions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from allos.errors import ProviderError
from allos.protocols import chat_completions as wire
from allos.providers.base import Provider, StreamDecoder
from allos.types import ChatRequest, ChatResponse

__all__ = ["ChatCompletionsProvider"]


class ChatCompletionsProvider(Provider):
    """Binds `allos.protocols.chat_completions` to a registry row; quirks come from `spec.quirks`.

    >>> from allos import get_provider
    >>> get_provider("groq", api_key="gsk-example-key", model="llama-3.3-70b-versatile")
    ChatCompletionsProvider(name='groq', model='llama-3.3-70b-versatile', base_url='https://api.groq.com/openai/v1')
    """

    protocol: ClassVar[str] = "chat_completions"
    path: ClassVar[str] = wire.PATH

    quirks_type: ClassVar[type[Any]] = wire.ChatCompletionsQuirks
    default_quirks: ClassVar[Any] = wire.DEFAULT_QUIRKS

    @property
    def quirks(self) -> wire.ChatCompletionsQuirks:
        quirks: wire.ChatCompletionsQuirks = self._quirks
        return quirks

    def _build(self, request: ChatRequest) -> dict[str, Any]:
        return wire.build_request(request, self.quirks, provider=self.spec.name)

    def _parse(self, body: Any) -> ChatResponse:
        return wire.parse_response(body, provider=self.spec.name)

    def _decoder(self) -> StreamDecoder:
        return wire.StreamDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)

    def _error(self, status_code: int, text: str, headers: Mapping[str, str]) -> ProviderError:
        return wire.parse_error(
            self.spec.name, status_code, text, headers, key_env=self.spec.api_key_env, quirks=self.quirks
        )
