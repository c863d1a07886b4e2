"""Moving bytes: httpx, sync and async, with retries and timeouts. No knowledge of any wire format.

Retry policy (the same as the official SDKs, so users meet no surprise; the pure rules are in `allos._retry`): at
most `max_retries` extra attempts (default 2) on 408, 409, 429, 5xx and on connection errors or timeouts; never on
another 4xx, and never when the server asks for a wait above `MAX_RETRY_AFTER` (that error reaches the caller with
`retry_after` set). A non-streaming call whose body breaks off or stalls mid-way is retried like a connection error;
a stream is retried only before its first byte. No httpx exception leaves this module: a network failure is an
`APIConnectionError` (or `APITimeoutError`) saying whether the server answered at all, and a body that is not in its
declared content-encoding is a `ResponseParseError`. Sources: openai-python `src/openai/_base_client.py` and
`src/openai/_constants.py`, anthropic-sdk-python (same policy).

Clients are created lazily and under a lock, so threads that share a provider share one connection pool.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

import httpx

from allos._retry import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    parse_retry_after,
    retry_delay,
    should_retry,
)
from allos._sentinel import NOT_GIVEN, NotGiven
from allos.errors import (
    AllosError,
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    ResponseParseError,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "Transport",
    "parse_retry_after",
    "retry_delay",
    "should_retry",
]

logger = logging.getLogger("allos")

DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_TIMEOUT: Final = httpx.Timeout(600.0, connect=5.0)
TimeoutTypes = float | httpx.Timeout | None
# Turns an error answer (status, body text, headers) into the protocol's ProviderError.
ErrorFactory = Callable[[int, str, Mapping[str, str]], ProviderError]


class Transport:
    """One provider's HTTP client: base URL, default headers, timeout and retries. Sync and async share the policy.

    Clients are created lazily (so an async-only user never opens a sync pool) and closed by `close()` /
    `aclose()` unless they were injected, in which case their owner closes them.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        error_factory: ErrorFactory,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.provider = provider
        self.base_url = _checked_base_url(provider, base_url.rstrip("/"))
        _check_headers(provider, headers)
        self.max_retries = max_retries
        self._headers = dict(headers)
        self._error_factory = error_factory
        self._timeout = timeout
        self._client = http_client
        self._async_client = async_http_client
        self._owns_client = http_client is None
        self._owns_async_client = async_http_client is None
        self._random = random.Random()
        self._client_lock = threading.Lock()
        # Parsing a URL string is a third of what httpx spends building a request (~25 us): parse each URL once.
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:  # headers hold the key: never shown
        return f"Transport(provider={self.provider!r}, base_url={self.base_url!r}, max_retries={self.max_retries})"

    # --- clients -----------------------------------------------------------------------------------------------

    def _timeout_for_client(self) -> Any:
        return DEFAULT_TIMEOUT if isinstance(self._timeout, NotGiven) else self._timeout

    @property
    def client(self) -> httpx.Client:
        # Double-checked under a lock: threads sharing a provider share one pool, which `close()` then closes.
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(timeout=self._timeout_for_client())
        return self._client

    @property
    def async_client(self) -> httpx.AsyncClient:
        if self._async_client is None:
            with self._client_lock:
                if self._async_client is None:
                    self._async_client = httpx.AsyncClient(timeout=self._timeout_for_client())
        return self._async_client

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._owns_async_client and self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    # --- building blocks shared by both paths ------------------------------------------------------------------

    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        path: str,
        body: bytes,
        headers: Mapping[str, str],
        method: str = "POST",
    ) -> httpx.Request:
        merged = {**self._headers, **headers} if headers else self._headers
        timeout: Any = httpx.USE_CLIENT_DEFAULT if isinstance(self._timeout, NotGiven) else self._timeout
        content = body if method == "POST" else None  # a GET carries no body
        try:
            return client.build_request(method, self._url(path), content=content, headers=merged, timeout=timeout)
        except (httpx.InvalidURL, UnicodeEncodeError):
            # Per-request headers and paths come from the protocols; the values may hold a key, so no cause is kept.
            _check_headers(self.provider, merged)
            raise InvalidRequestError(
                f"the request to {self.base_url}{path} cannot be written as HTTP", provider=self.provider
            ) from None

    def _url(self, path: str) -> httpx.URL:
        text = f"{self.base_url}{path}"  # keyed on the text, so a changed `base_url` is never served stale
        url = self._urls.get(text)
        if url is None:
            url = self._urls[text] = httpx.URL(text)
        return url

    def _connection_error(self, exc: httpx.TransportError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"no answer within the timeout ({type(exc).__name__})",
                provider=self.provider,
                hint="raise timeout= or check that the endpoint is up",
            )
        return APIConnectionError(
            f"could not reach {self.base_url} ({type(exc).__name__})",
            provider=self.provider,
            hint="check base_url and the network",
        )

    def _body_error(self, exc: httpx.HTTPError, response: httpx.Response) -> AllosError:
        """The server answered, then its body failed: cut, too slow, or not in the encoding it declared."""
        status = response.status_code
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"the {status} answer's body did not arrive within the timeout ({type(exc).__name__})",
                provider=self.provider,
                hint="raise timeout= or retry later",
            )
        if isinstance(exc, httpx.TransportError):
            return APIConnectionError(
                f"the connection broke while reading the {status} answer's body ({type(exc).__name__})",
                provider=self.provider,
                hint="retry later; the server or a proxy cut the answer short",
            )
        encoding = response.headers.get("content-encoding", "identity")
        return ResponseParseError(
            f"the {status} answer's body is not valid {encoding!r} as its content-encoding says ({type(exc).__name__})",
            provider=self.provider,
        )

    def _request_error(self, exc: httpx.HTTPError) -> AllosError:
        """An httpx failure that is no network trouble (a bad URL, a redirect loop): not worth a retry."""
        if isinstance(exc, httpx.TransportError):
            return self._connection_error(exc)
        return APIConnectionError(
            f"the request to {self.base_url} failed ({type(exc).__name__})",
            provider=self.provider,
            hint="check base_url",
        )

    def _closed_stream(self, exc: httpx.StreamError) -> APIConnectionError:
        return APIConnectionError(
            f"the answer's stream was closed before it was read to its end ({type(exc).__name__})",
            provider=self.provider,
            hint="read a stream inside the block or loop that opened it",
        )

    def _unsendable(self, headers: Mapping[str, str] | None) -> AllosError:
        # h11 refused to write the request (its message quotes the offending header, which may be the key): our
        # side's fault, not the network's, so it is never retried and its text is not kept. A header value HTTP
        # cannot carry is named precisely; anything else (a header name h11 refuses) gets the general message.
        _check_headers(self.provider, {**self._headers, **(headers or {})})
        return InvalidRequestError(
            f"the request to {self.base_url} could not be written as HTTP (LocalProtocolError)",
            provider=self.provider,
            hint="check the headers and base_url for line breaks or control characters",
        )

    def _status_error(self, response: httpx.Response) -> ProviderError:
        error = self._error_factory(response.status_code, response.text, response.headers)
        if isinstance(error, RateLimitError) and error.retry_after is None:
            error.retry_after = parse_retry_after(response.headers)
        return error

    def _next_delay(self, retries_done: int, headers: Mapping[str, str]) -> float:
        return retry_delay(retries_done, headers, self._random.random())

    def _log_retry(self, reason: str, delay: float, retries_done: int) -> None:
        logger.info(
            "%s: retrying after %s in %.3fs (retry %d of %d)",
            self.provider,
            reason,
            delay,
            retries_done + 1,
            self.max_retries,
        )

    # --- sync ------------------------------------------------------------------------------------------------------

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST with retries; returns a successful, fully read response or raises a ProviderError."""
        with self.stream(path, body, headers, _read=True) as response:
            return response

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET with retries (listings such as Ollama's /api/tags); a fully read response or a ProviderError."""
        with self.stream(path, b"", headers, _read=True, _method="GET") as response:
            return response

    @contextmanager
    def stream(
        self,
        path: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        _read: bool = False,
        _method: str = "POST",
    ) -> Iterator[httpx.Response]:
        """POST with retries; yields a successful response whose body is still to be read (or read, with `_read`:
        then a body cut mid-way or too slow is retried like a connection error)."""
        client = self.client
        for retries_done in range(self.max_retries + 1):
            last = retries_done == self.max_retries
            request = self._build(client, path, body, headers or {}, _method)
            try:
                response = client.send(request, stream=True)
            except httpx.LocalProtocolError:
                raise self._unsendable(headers) from None
            except httpx.TransportError as exc:
                if last:
                    raise self._connection_error(exc) from exc
                self._sleep(retries_done, {}, type(exc).__name__)
                continue
            except httpx.HTTPError as exc:
                raise self._request_error(exc) from exc
            broken: httpx.TransportError | None = None
            try:
                if response.is_success:
                    broken = self._read_or_failure(response) if _read else None
                    if broken is None:
                        yield response
                        return
                else:
                    self._read(response)
                reason = self._retry_reason(response, broken, last)
            finally:
                response.close()
            self._sleep(retries_done, response.headers if broken is None else {}, reason)

    def _retry_reason(self, response: httpx.Response, broken: httpx.TransportError | None, last: bool) -> str:
        """Why this attempt is worth another (for the log), or the error it ends in: a body that broke off, or an
        error status (read whole) that the policy does not retry."""
        if broken is not None:
            if last:
                raise self._body_error(broken, response) from broken
            return f"{type(broken).__name__} in the body"
        if last or not should_retry(response.status_code, response.headers):
            raise self._status_error(response)
        return str(response.status_code)

    def _sleep(self, retries_done: int, headers: Mapping[str, str], reason: str) -> None:
        delay = self._next_delay(retries_done, headers)
        self._log_retry(reason, delay, retries_done)
        time.sleep(delay)

    def _read_or_failure(self, response: httpx.Response) -> httpx.TransportError | None:
        """Read the whole body; a network failure on the way is returned (the caller may retry), others raised."""
        try:
            response.read()
        except httpx.TransportError as exc:
            return exc
        except httpx.HTTPError as exc:  # DecodingError: a corrupt gzip or deflate body
            raise self._body_error(exc, response) from exc
        return None

    def _read(self, response: httpx.Response) -> None:
        broken = self._read_or_failure(response)
        if broken is not None:
            raise self._body_error(broken, response) from broken

    def iter_bytes(self, response: httpx.Response) -> Iterator[bytes]:
        """The body of a streaming response, with network and decoding failures mapped to Allos errors."""
        try:
            yield from response.iter_bytes()
        except httpx.HTTPError as exc:
            raise self._body_error(exc, response) from exc
        except httpx.StreamError as exc:  # StreamClosed: read after the response was closed
            raise self._closed_stream(exc) from None

    # --- async -----------------------------------------------------------------------------------------------------

    async def apost(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        async with self.astream(path, body, headers, _read=True) as response:
            return response

    async def aget(self, path: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        async with self.astream(path, b"", headers, _read=True, _method="GET") as response:
            return response

    @asynccontextmanager
    async def astream(
        self,
        path: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        _read: bool = False,
        _method: str = "POST",
    ) -> AsyncIterator[httpx.Response]:
        client = self.async_client
        for retries_done in range(self.max_retries + 1):
            last = retries_done == self.max_retries
            request = self._build(client, path, body, headers or {}, _method)
            try:
                response = await client.send(request, stream=True)
            except httpx.LocalProtocolError:
                raise self._unsendable(headers) from None
            except httpx.TransportError as exc:
                if last:
                    raise self._connection_error(exc) from exc
                await self._asleep(retries_done, {}, type(exc).__name__)
                continue
            except httpx.HTTPError as exc:
                raise self._request_error(exc) from exc
            broken = None
            try:
                if response.is_success:
                    broken = await self._aread_or_failure(response) if _read else None
                    if broken is None:
                        yield response
                        return
                else:
                    await self._aread(response)
                reason = self._retry_reason(response, broken, last)
            finally:
                await response.aclose()
            await self._asleep(retries_done, response.headers if broken is None else {}, reason)

    async def _asleep(self, retries_done: int, headers: Mapping[str, str], reason: str) -> None:
        delay = self._next_delay(retries_done, headers)
        self._log_retry(reason, delay, retries_done)
        await asyncio.sleep(delay)

    async def _aread_or_failure(self, response: httpx.Response) -> httpx.TransportError | None:
        try:
            await response.aread()
        except httpx.TransportError as exc:
            return exc
        except httpx.HTTPError as exc:
            raise self._body_error(exc, response) from exc
        return None

    async def _aread(self, response: httpx.Response) -> None:
        broken = await self._aread_or_failure(response)
        if broken is not None:
            raise self._body_error(broken, response) from broken

    async def aiter_bytes(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise self._body_error(exc, response) from exc
        except httpx.StreamError as exc:
            raise self._closed_stream(exc) from None


# --- configuration checks, once per provider ---------------------------------------------------------------------

_ILLEGAL_IN_HEADER: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")


def _checked_base_url(provider: str, base_url: str) -> str:
    """The base URL, if httpx can send to it: http or https, with a host."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        problem = str(exc)
    else:
        if url.scheme in ("http", "https") and url.host:
            return base_url
        problem = "it needs http:// or https:// and a host"
    raise ConfigurationError(
        f"base_url {_public_url(base_url)!r} is not a URL Allos can send to: {problem}",
        provider=provider,
        hint="pass base_url= (or set the alias's *_BASE_URL) like https://host/v1",
    ) from None


def _public_url(base_url: str) -> str:
    # A URL may carry credentials (https://user:token@host): never repeat them.
    return re.sub(r"//[^/@]*@", "//[REDACTED]@", base_url)


def _check_headers(provider: str, headers: Mapping[str, str]) -> None:
    """Refuse header values HTTP cannot carry, naming the header and the position but never the value (it is often
    the API key, and a key read from a file with its trailing newline is the usual cause)."""
    for name, value in headers.items():
        bad = _ILLEGAL_IN_HEADER.search(value)
        if bad is not None:
            what = "a line break" if bad.group() in "\r\n" else "a control character"
        elif (bad := _NON_ASCII.search(value)) is not None:
            what = "a non-ASCII character"
        else:
            continue
        raise ConfigurationError(
            f"the {name} header holds {what} at position {bad.start()} of {len(value)}; HTTP cannot send it",
            provider=provider,
            hint="check the API key or header value for a trailing newline or pasted characters",
        )
