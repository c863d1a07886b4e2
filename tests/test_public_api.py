"""The public API is a tested artifact: its names are pinned, so a change to them is a decision, not an accident."""

from __future__ import annotations

import allos
import allos.errors
import allos.providers
import allos.providers.registry

PUBLIC = {
    "NOT_GIVEN",
    "Capability",
    "ChatRequest",
    "ChatResponse",
    "HeaderSpec",
    "ImagePart",
    "Message",
    "NamedToolChoice",
    "Provider",
    "ProviderSpec",
    "ReasoningDelta",
    "ResponseFormat",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolSpec",
    "Usage",
    "UsageUpdate",
    "__version__",
    "errors",
    "get_provider",
    "list_providers",
    "register_provider",
    "unregister_provider",
}

ERRORS = {
    "APIConnectionError",
    "APITimeoutError",
    "AllosError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "IncompleteStreamError",
    "InvalidRequestError",
    "MIN_SECRET_LENGTH",
    "ModelLimitError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "ResponseParseError",
    "ServerError",
    "UnsupportedCapabilityError",
    "make_status_error",
    "redact",
    "redact_json",
    "scrubbed",
}


def test_all_is_pinned() -> None:
    assert set(allos.__all__) == PUBLIC


def test_all_names_resolve() -> None:
    for name in allos.__all__:
        assert getattr(allos, name) is not None, name


def test_errors_all_is_pinned() -> None:
    assert set(allos.errors.__all__) == ERRORS
    for name in ERRORS:
        assert hasattr(allos.errors, name)


def test_product_log_names_stay_importable() -> None:
    from allos.providers import ChatCompletionsProvider
    from allos.providers.registry import OPENAI_COMPATIBLE_PROVIDERS

    assert issubclass(ChatCompletionsProvider, allos.Provider)
    assert "groq" in OPENAI_COMPATIBLE_PROVIDERS
    assert OPENAI_COMPATIBLE_PROVIDERS["groq"].protocol == "chat_completions"


def test_error_tree_matches_the_docstring() -> None:
    e = allos.errors
    assert issubclass(e.BadRequestError, e.ProviderError)
    assert issubclass(e.ProviderError, e.AllosError)
    assert issubclass(e.APITimeoutError, e.APIConnectionError)
    assert issubclass(e.APIConnectionError, e.ProviderError)
    assert issubclass(e.IncompleteStreamError, e.ResponseParseError)
    assert issubclass(e.InvalidRequestError, ValueError)
    for name in ("ConfigurationError", "UnsupportedCapabilityError", "ResponseParseError"):
        assert issubclass(getattr(e, name), e.AllosError)
        assert not issubclass(getattr(e, name), e.ProviderError)


def test_package_is_typed() -> None:
    import pathlib

    assert (pathlib.Path(allos.__file__).parent / "py.typed").exists()
