"""`OllamaProvider`: Ollama's native API, with the model management that the OpenAI-compatible `/v1` lacks.

Chat goes through `allos.protocols.ollama` like every other protocol. On top of it: `list_models()` (GET
/api/tags), `show_model(name)` (POST /api/show) and `pull_model(name)` (POST /api/pull, progress as it streams),
each with an async twin. Every error leaving these calls is scrubbed of the key like a chat error is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import httpx

from allos._json import loads
from allos.errors import APIConnectionError, IncompleteStreamError, ProviderError, ResponseParseError, scrubbed
from allos.protocols import ollama as wire
from allos.protocols.ollama import LocalModel, ModelInfo, PullProgress
from allos.providers.base import Provider, StreamDecoder
from allos.types import ChatRequest, ChatResponse

__all__ = ["LocalModel", "ModelInfo", "OllamaProvider", "PullProgress"]

_NDJSON = {"accept": "application/x-ndjson"}


class OllamaProvider(Provider):
    """Binds `allos.protocols.ollama` to a registry row, and manages the server's models.

    >>> from allos import get_provider
    >>> get_provider("ollama")
    OllamaProvider(name='ollama', model='llama3.2', base_url='http://localhost:11434')
    """

    protocol: ClassVar[str] = "ollama"
    path: ClassVar[str] = wire.PATH

    quirks_type: ClassVar[type[Any]] = wire.OllamaQuirks
    default_quirks: ClassVar[Any] = wire.DEFAULT_QUIRKS
    # Ollama streams NDJSON, not SSE [ollama docs/api/streaming.mdx].
    stream_accept: ClassVar[str] = "application/x-ndjson"

    @property
    def quirks(self) -> wire.OllamaQuirks:
        quirks: wire.OllamaQuirks = self._quirks
        return quirks

    def _build(self, request: ChatRequest) -> dict[str, Any]:
        return wire.build_request(request, self.quirks, provider=self.spec.name)

    def _parse(self, body: Any) -> ChatResponse:
        return wire.parse_response(body, provider=self.spec.name, key_env=self.spec.api_key_env)

    def _decoder(self) -> StreamDecoder:
        return wire.StreamDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)

    def _error(self, status_code: int, text: str, headers: Mapping[str, str]) -> ProviderError:
        return wire.parse_error(self.spec.name, status_code, text, headers, key_env=self.spec.api_key_env)

    # --- model management ------------------------------------------------------------------------------------------

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return loads(response.content)  # bounded nesting: a deep body is a ValueError, not a RecursionError
        except ValueError as exc:
            snippet = response.text[:200]
            raise ResponseParseError(f"the {what} answer is not JSON: {snippet!r}", provider=self.spec.name) from exc

    def list_models(self) -> list[LocalModel]:
        """The models the server has locally (`GET /api/tags`), in its order."""
        with scrubbed(self._secrets):
            body = self._json(self._transport.get(wire.TAGS_PATH), wire.TAGS_PATH)
            return wire.parse_models(body, provider=self.spec.name)

    async def alist_models(self) -> list[LocalModel]:
        """The async twin of `list_models`."""
        with scrubbed(self._secrets):
            body = self._json(await self._transport.aget(wire.TAGS_PATH), wire.TAGS_PATH)
            return wire.parse_models(body, provider=self.spec.name)

    def show_model(self, name: str | None = None) -> ModelInfo:
        """One model's details (`POST /api/show`); by default the provider's model. An unknown model raises
        `NotFoundError` whose hint says how to pull it."""
        model = name or self.model
        body = self._encode(wire.show_request(model))
        with scrubbed(self._secrets):
            answer = self._json(self._transport.post(wire.SHOW_PATH, body), wire.SHOW_PATH)
            return wire.parse_model_info(model, answer, provider=self.spec.name)

    async def ashow_model(self, name: str | None = None) -> ModelInfo:
        """The async twin of `show_model`."""
        model = name or self.model
        body = self._encode(wire.show_request(model))
        with scrubbed(self._secrets):
            answer = self._json(await self._transport.apost(wire.SHOW_PATH, body), wire.SHOW_PATH)
            return wire.parse_model_info(model, answer, provider=self.spec.name)

    def pull_model(self, name: str | None = None, *, insecure: bool = False) -> Iterator[PullProgress]:
        """Download a model (`POST /api/pull`), yielding its progress line by line; the last has status "success".
        An error line from the server raises the matching ProviderError; a stream cut off before "success" raises
        `IncompleteStreamError`. Nothing is sent until the first iteration."""
        body = self._encode(wire.pull_request(name or self.model, insecure=insecure))
        with scrubbed(self._secrets), self._transport.stream(wire.PULL_PATH, body, _NDJSON) as response:
            decoder = wire.PullDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)
            try:
                for chunk in self._transport.iter_bytes(response):
                    yield from decoder.feed(chunk)
            except APIConnectionError as exc:
                raise IncompleteStreamError(f"the pull was cut off: {exc.message}", provider=self.spec.name) from exc
            yield from decoder.finish()

    async def apull_model(self, name: str | None = None, *, insecure: bool = False) -> AsyncIterator[PullProgress]:
        """The async twin of `pull_model`."""
        body = self._encode(wire.pull_request(name or self.model, insecure=insecure))
        with scrubbed(self._secrets):
            async with self._transport.astream(wire.PULL_PATH, body, _NDJSON) as response:
                decoder = wire.PullDecoder(provider=self.spec.name, key_env=self.spec.api_key_env)
                try:
                    async for chunk in self._transport.aiter_bytes(response):
                        for progress in decoder.feed(chunk):
                            yield progress
                except APIConnectionError as exc:
                    raise IncompleteStreamError(
                        f"the pull was cut off: {exc.message}", provider=self.spec.name
                    ) from exc
                for progress in decoder.finish():
                    yield progress
