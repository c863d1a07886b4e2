"""Providers: a registry row made live. `get_provider(alias)` is the front door.

Resolution order for every setting: the explicit argument, then the environment (`<KEY_ENV>`,
`<ALIAS>_BASE_URL`, the header variables of the row), then the registry's default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping

import httpx

from allos._sentinel import NOT_GIVEN, NotGiven
from allos.capabilities import Capability
from allos.errors import ConfigurationError
from allos.profiles import resolve_profile
from allos.providers.anthropic import AnthropicProvider
from allos.providers.base import Provider
from allos.providers.chat_completions import ChatCompletionsProvider
from allos.providers.ollama import OllamaProvider
from allos.providers.openai import OpenAIProvider
from allos.providers.registry import (
    OPENAI_COMPATIBLE_PROVIDERS,
    HeaderSpec,
    ProviderSpec,
    get_spec,
    list_providers,
    register_provider,
    unregister_provider,
)
from allos.transport import DEFAULT_MAX_RETRIES, TimeoutTypes

__all__ = [
    "OPENAI_COMPATIBLE_PROVIDERS",
    "AnthropicProvider",
    "ChatCompletionsProvider",
    "HeaderSpec",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "ProviderSpec",
    "get_provider",
    "list_providers",
    "register_provider",
    "unregister_provider",
]

_PROVIDER_CLASSES: dict[str, type[Provider]] = {
    "anthropic": AnthropicProvider,
    "chat_completions": ChatCompletionsProvider,
    "ollama": OllamaProvider,
    "responses": OpenAIProvider,
}


def _env(name: str | None) -> str | None:
    value = os.environ.get(name) if name else None
    return value.strip() or None if value else None


def _api_key(spec: ProviderSpec, api_key: str | None) -> str | None:
    key = api_key or _env(spec.api_key_env)
    if key is None and spec.api_key_required:
        raise ConfigurationError(
            "no API key",
            provider=spec.name,
            hint=f"set {spec.api_key_env} or pass api_key=",
        )
    return key


def _header_values(specs: tuple[HeaderSpec, ...]) -> dict[str, str]:
    values = {}
    for header in specs:
        value = _env(header.env) or header.default
        if value is not None:
            values[header.name] = f"{header.prefix}{value}"
    return values


def _capabilities(alias: str, given: Iterable[Capability | str]) -> frozenset[Capability]:
    try:
        return frozenset(Capability(value) for value in given)
    except ValueError as exc:
        known = ", ".join(c.value for c in Capability)
        raise ConfigurationError(str(exc), provider=alias, hint=f"capabilities are: {known}") from None


def get_provider(
    name: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    max_retries: int = DEFAULT_MAX_RETRIES,
    http_client: httpx.Client | None = None,
    async_http_client: httpx.AsyncClient | None = None,
    capabilities: Iterable[Capability | str] | None = None,
) -> Provider:
    """A ready provider for an alias; explicit arguments win over the environment.

    The model's profile (`allos.profiles.resolve_profile`) adjusts the row's claims where they depend on the model
    (image input, structured output, tool calling) and sets its limits and prices: `provider.capabilities` and
    `provider.profile`. An unprofiled model gets the row's claims. `capabilities` replaces the claims, for this
    provider only and whatever the profile says (a vision model on a local server takes images).

    >>> p = get_provider("mistral", api_key="example-key-123")
    >>> p.spec.base_url, p.model
    ('https://api.mistral.ai/v1', 'mistral-small-latest')
    >>> sorted(get_provider("groq", api_key="example-key-123", capabilities={"chat", "image_input"}).spec.capabilities)
    [<Capability.CHAT: 'chat'>, <Capability.IMAGE_INPUT: 'image_input'>]
    >>> groq = get_provider("groq", api_key="example-key-123", model="meta-llama/llama-4-scout-17b-16e-instruct")
    >>> groq.profile.output_limit, Capability.IMAGE_INPUT in groq.capabilities
    (8192, True)
    """
    spec = get_spec(name)
    explicit = _capabilities(spec.name, capabilities) if capabilities is not None else None
    if explicit is not None:
        spec = dataclasses.replace(spec, capabilities=explicit)
    resolved_url = base_url or _env(spec.base_url_env) or spec.base_url
    if not resolved_url:
        raise ConfigurationError(
            "no base URL",
            provider=spec.name,
            hint=f"pass base_url= (e.g. http://localhost:8000/v1) or set {spec.base_url_env}",
        )
    resolved_model = model or spec.default_model
    if not resolved_model:
        raise ConfigurationError("no model", provider=spec.name, hint="pass model=; this alias has no default model")
    provider_class = _PROVIDER_CLASSES.get(spec.protocol)
    if provider_class is None:
        raise ConfigurationError(f"the {spec.protocol!r} protocol is not available yet", provider=spec.name)
    return provider_class(
        spec,
        model=resolved_model,
        base_url=resolved_url,
        api_key=_api_key(spec, api_key),
        headers={**_header_values(spec.headers), **(headers or {})},
        secret_headers=[h.name for h in spec.headers if h.secret],
        timeout=timeout,
        max_retries=max_retries,
        http_client=http_client,
        async_http_client=async_http_client,
        profile=resolve_profile(spec.name, resolved_model),
        capabilities=explicit,
    )
