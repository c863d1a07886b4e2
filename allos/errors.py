"""Every error Allos raises, and the one factory that turns an HTTP error status into the right one.

    AllosError
    ├── ConfigurationError          unknown alias, missing key, missing model: says what to set
    ├── InvalidRequestError         a request the protocol cannot express (also a ValueError)
    │   └── ModelLimitError         more than the model's profile allows (max_tokens above its output limit)
    ├── UnsupportedCapabilityError  the alias declares it cannot do what was asked
    ├── ResponseParseError          a body that is not what the protocol promises
    │   └── IncompleteStreamError   a stream cut off before its end; `partial` keeps what arrived
    └── ProviderError               the provider answered with an error (provider, status_code, request_id)
        ├── BadRequestError         400, 422
        ├── AuthenticationError     401
        ├── PermissionDeniedError   403
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── RateLimitError          429 (retry_after)
        ├── ServerError             5xx and 529 overloaded
        └── APIConnectionError      no answer at all
            └── APITimeoutError

Policy: `str()` of every error names the provider and, where there is one, what to do next. No error ever
carries an API key: the provider scrubs every secret it holds from an error before the error leaves it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from allos.types import ChatResponse

__all__ = [
    "MIN_SECRET_LENGTH",
    "APIConnectionError",
    "APITimeoutError",
    "AllosError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "IncompleteStreamError",
    "InvalidRequestError",
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
]

REDACTED = "[REDACTED]"
# Shorter values are not worth scrubbing (and would mangle ordinary text): no real API key is this short.
MIN_SECRET_LENGTH = 8


class AllosError(Exception):
    """The root of every Allos error."""

    def __init__(self, message: str, *, provider: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.provider = provider
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{self.provider}: {self.message}" if self.provider else self.message
        return f"{text} ({self.hint})" if self.hint else text

    def _scrub(self, secrets: Iterable[str]) -> None:
        """Replace every secret value in this error's text, in place."""
        values = [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH]
        if not values:
            return
        self.message = redact(self.message, values)
        if self.hint:
            self.hint = redact(self.hint, values)
        self.args = tuple(redact(a, values) if isinstance(a, str) else a for a in self.args)


class ConfigurationError(AllosError):
    """Allos cannot be set up as asked: an unknown alias, a missing API key or model."""


class InvalidRequestError(AllosError, ValueError):
    """The request cannot be expressed in the target protocol; nothing was sent."""


class ModelLimitError(InvalidRequestError):
    """The request asks more than the model's profile allows (`field`, `requested`, `limit`, `model`); nothing was
    sent."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        field: str,
        requested: int,
        limit: int,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.model = model
        self.field = field
        self.requested = requested
        self.limit = limit


class UnsupportedCapabilityError(AllosError):
    """The alias declares that it cannot do what the request asks; nothing was sent."""

    def __init__(self, message: str, *, provider: str, capability: str, hint: str | None = None) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.capability = capability


class ResponseParseError(AllosError):
    """The provider's answer is not what its protocol promises."""


class IncompleteStreamError(ResponseParseError):
    """A stream ended before its end; `partial` is what had arrived, assembled."""

    def __init__(self, message: str, *, provider: str, partial: ChatResponse | None = None) -> None:
        super().__init__(message, provider=provider)
        self.partial = partial

    def _scrub(self, secrets: Iterable[str]) -> None:
        # `partial` holds text the server sent, which can echo a key back (a proxy, a model repeating its prompt).
        values = list(secrets)
        super()._scrub(values)
        if self.partial is not None:
            dumped = self.partial.model_dump(mode="json")
            cleaned = redact_json(dumped, values)
            if cleaned != dumped:
                self.partial = type(self.partial).model_validate(cleaned)


class ProviderError(AllosError):
    """The provider answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.status_code = status_code
        self.error_type = error_type
        self.code = code
        self.request_id = request_id
        self.body = body

    def _scrub(self, secrets: Iterable[str]) -> None:
        values = list(secrets)
        super()._scrub(values)
        for name in ("body", "request_id", "code", "error_type"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, redact(value, values))

    def __str__(self) -> str:
        status = f"{self.status_code} " if self.status_code is not None else ""
        details = [
            f"{k}={v}"
            for k, v in (("type", self.error_type), ("code", self.code), ("request_id", self.request_id))
            if v
        ]
        text = f"{self.provider}: {status}{type(self).__name__}: {self.message}"
        if details:
            text += f" [{', '.join(details)}]"
        return f"{text} ({self.hint})" if self.hint else text


class BadRequestError(ProviderError):
    """400 or 422: the provider refused the request's content."""


class AuthenticationError(ProviderError):
    """401: the key is missing, wrong or revoked."""


class PermissionDeniedError(ProviderError):
    """403: the key may not use this resource."""


class NotFoundError(ProviderError):
    """404: unknown model or endpoint."""


class ConflictError(ProviderError):
    """409: a conflicting concurrent change."""


class RateLimitError(ProviderError):
    """429: too many requests or tokens; `retry_after` in seconds when the provider said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """5xx (and Anthropic's 529 overloaded): the provider failed; retrying may help."""


class APIConnectionError(ProviderError):
    """No HTTP answer at all: refused, reset, DNS or TLS failure."""


class APITimeoutError(APIConnectionError):
    """The provider did not answer within the timeout."""


_STATUS_CLASSES: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}

_STATUS_HINTS: dict[type[ProviderError], str] = {
    AuthenticationError: "check the API key{key_hint}",
    PermissionDeniedError: "the key lacks access to this model or endpoint",
    NotFoundError: "check the model name and base URL",
    RateLimitError: "slow down or retry later",
    ServerError: "the provider failed; retry later",
}


def status_error_class(status_code: int) -> type[ProviderError]:
    """The error class for an HTTP status: `status_error_class(529) is ServerError`."""
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, ProviderError)


def make_status_error(
    provider: str,
    status_code: int,
    message: str,
    *,
    error_type: str | None = None,
    code: str | None = None,
    request_id: str | None = None,
    body: str | None = None,
    retry_after: float | None = None,
    key_env: str | None = None,
) -> ProviderError:
    """The one factory from an HTTP error answer to the right `ProviderError` subclass.

    >>> str(make_status_error("groq", 401, "Invalid API Key", key_env="GROQ_API_KEY"))
    'groq: 401 AuthenticationError: Invalid API Key (check the API key in GROQ_API_KEY)'
    """
    cls = status_error_class(status_code)
    template = _STATUS_HINTS.get(cls)
    hint = template.format(key_hint=f" in {key_env}" if key_env else "") if template else None
    fields: dict[str, Any] = {
        "provider": provider,
        "status_code": status_code,
        "error_type": error_type,
        "code": code,
        "request_id": request_id,
        "body": body,
        "hint": hint,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **fields)
    return cls(message, **fields)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in `text`.

    >>> redact("bad key sk-0123456789", ["sk-0123456789"])
    'bad key [REDACTED]'
    """
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_json(value: Any, secrets: Iterable[str]) -> Any:
    """`redact` applied to every string (keys included) inside a JSON-like value.

    >>> redact_json({"note": ["key sk-0123456789"]}, ["sk-0123456789"])
    {'note': ['key [REDACTED]']}
    """
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact(k, secrets): redact_json(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(item, secrets) for item in value]
    return value


@contextmanager
def scrubbed(secrets: Iterable[str]) -> Iterator[None]:
    """Scrub `secrets` from any error that leaves the block and from its whole chain of causes and contexts.

    Allos errors are scrubbed in place. Another exception in the chain (a library's, such as pydantic's
    ValidationError, whose text quotes the input) is cut out of the chain when its text still holds a secret after
    its string arguments were redacted; an exception like that leaving the block itself becomes a
    ResponseParseError, so that no secret reaches `str`, `repr` or a printed traceback.
    """
    try:
        yield
    except Exception as exc:
        values = [s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH]
        if not values:
            raise
        _scrub_chain(exc, values)
        if isinstance(exc, AllosError) or not _holds(exc, values):
            raise
        raise ResponseParseError(f"an unexpected {type(exc).__name__} whose text held a secret (withheld)") from None


def _scrub_chain(exc: BaseException, secrets: list[str]) -> None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        _scrub_one(current, secrets)
        for link in ("__cause__", "__context__"):
            linked = getattr(current, link)
            if linked is not None and id(linked) not in seen:
                _scrub_one(linked, secrets)
                if not isinstance(linked, AllosError) and _holds(linked, secrets):
                    setattr(current, link, None)
                    current.__suppress_context__ = True
        current = current.__cause__ or current.__context__


def _scrub_one(exc: BaseException, secrets: list[str]) -> None:
    if isinstance(exc, AllosError):
        exc._scrub(secrets)
        return
    try:
        exc.args = tuple(redact(a, secrets) if isinstance(a, str) else a for a in exc.args)
    except (AttributeError, TypeError):  # an exception type that refuses new args: judged by its text alone
        pass


def _holds(exc: BaseException, secrets: list[str]) -> bool:
    try:
        text = f"{exc}\n{exc!r}"
    except Exception:  # an exception whose str itself fails cannot be shown either way
        return True
    return any(secret in text for secret in secrets)
