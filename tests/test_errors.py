"""The error factory and the secret scrubbing, as pure functions."""

from __future__ import annotations

import pytest

from allos import errors
from allos.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
    make_status_error,
    redact,
    scrubbed,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (529, ServerError),
        (402, ProviderError),
        (413, ProviderError),
    ],
)
def test_make_status_error_picks_the_class(status: int, cls: type[ProviderError]) -> None:
    error = make_status_error("groq", status, "boom")
    assert type(error) is cls
    assert error.status_code == status
    assert str(error).startswith(f"groq: {status} {cls.__name__}: boom")


def test_authentication_error_says_which_variable_to_check() -> None:
    error = make_status_error("mistral", 401, "Unauthorized", key_env="MISTRAL_API_KEY", request_id="req_1")
    assert "MISTRAL_API_KEY" in str(error)
    assert "request_id=req_1" in str(error)


def test_rate_limit_error_carries_retry_after() -> None:
    error = make_status_error("groq", 429, "slow down", retry_after=2.5)
    assert isinstance(error, RateLimitError) and error.retry_after == 2.5


def test_redact_replaces_every_occurrence_and_ignores_short_values() -> None:
    assert redact("k=sk-0123456789 again sk-0123456789", ["sk-0123456789"]) == "k=[REDACTED] again [REDACTED]"
    assert redact("a short one: abc", ["abc"]) == "a short one: abc"


def test_scrubbed_cleans_message_args_hint_and_body() -> None:
    key = "sk-secret-0123456789"
    with pytest.raises(AuthenticationError) as info, scrubbed([key]):
        raise make_status_error("groq", 401, f"Incorrect API key provided: {key}", body=f'{{"key": "{key}"}}')
    error = info.value
    for text in (str(error), repr(error), error.message, error.body or "", *map(str, error.args)):
        assert key not in text
    assert "[REDACTED]" in str(error)


def test_scrubbed_cleans_an_allos_cause_too() -> None:
    key = "sk-secret-0123456789"
    with pytest.raises(errors.IncompleteStreamError) as info, scrubbed([key]):
        try:
            raise errors.APIConnectionError(f"reset while sending {key}", provider="groq")
        except errors.APIConnectionError as exc:
            raise errors.IncompleteStreamError(f"cut off: {exc.message}", provider="groq") from exc
    assert key not in str(info.value) and key not in str(info.value.__cause__)


def test_every_error_names_its_provider() -> None:
    samples: list[errors.AllosError] = [
        errors.ConfigurationError("no key", provider="groq"),
        errors.UnsupportedCapabilityError("no tools", provider="perplexity", capability="tools"),
        errors.ResponseParseError("not JSON", provider="together"),
        errors.APITimeoutError("slow", provider="xai"),
    ]
    for error in samples:
        assert error.provider is not None and str(error).startswith(f"{error.provider}:")
