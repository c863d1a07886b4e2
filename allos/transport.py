"""Moving bytes: httpx, sync and async, with retries and timeouts. No knowledge of any wire format.

Retry policy (the same as the official SDKs, so users meet no surprise): at most `max_retries` extra attempts
(default 2) on 408, 409, 429, 5xx and on connection errors or timeouts; never on another 4xx. A server's
`x-should-retry: true|false` overrides the status. The wait honours `retry-after-ms`, then `Retry-After` (seconds
or an HTTP date) when it is positive and at most `MAX_RETRY_AFTER`; otherwise it is exponential backoff from
`INITIAL_RETRY_DELAY`, capped at `MAX_RETRY_DELAY`, with up to 25% jitter. A stream is retried only before its first
byte. Sources: openai-python `_base_client.py` / `_constants.py`, anthropic-sdk-python (same policy).

The retry decisions are pure functions (`should_retry`, `parse_retry_after`, `retry_delay`) so they are tested
without a network; `Transport` only loops over them.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final

import httpx

from allos._sentinel import NOT_GIVEN, NotGiven
from allos.errors import APIConnectionError, APITimeoutError, ProviderError

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
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
MAX_RETRY_AFTER: Final = 60.0
_RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})

TimeoutTypes = float | httpx.Timeout | None
# Turns an error answer (status, body text, headers) into the protocol's ProviderError.
ErrorFactory = Callable[[int, str, Mapping[str, str]], ProviderError]


def should_retry(status_code: int, headers: Mapping[str, str]) -> bool:
    """Whether an error answer is worth another attempt.

    >>> should_retry(429, {}), should_retry(400, {}), should_retry(400, {"x-should-retry": "true"})
    (True, False, True)
    """
    override = headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    return status_code in _RETRYABLE_STATUSES or status_code >= 500


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `Retry-After`; None when absent or unreadable.

    >>> parse_retry_after({"retry-after-ms": "250"}), parse_retry_after({"retry-after": "2"})
    (0.25, 2.0)
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment.timestamp() - (time.time() if now is None else now)


def retry_delay(retries_done: int, headers: Mapping[str, str], jitter: float) -> float:
    """Seconds to wait before the next attempt. `jitter` in [0, 1) is drawn by the caller, so this stays pure.

    >>> retry_delay(0, {"retry-after": "3"}, 0.9), retry_delay(0, {}, 0.0), retry_delay(10, {}, 0.0)
    (3.0, 0.5, 8.0)
    """
    asked = parse_retry_after(headers)
    if asked is not None and 0 < asked <= MAX_RETRY_AFTER:
        return asked
    backoff = min(INITIAL_RETRY_DELAY * 2.0**retries_done, MAX_RETRY_DELAY)
    return backoff * (1 - 0.25 * jitter)


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
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self._headers = dict(headers)
        self._error_factory = error_factory
        self._timeout = timeout
        self._client = http_client
        self._async_client = async_http_client
        self._owns_client = http_client is None
        self._owns_async_client = async_http_client is None
        self._random = random.Random()
        # Parsing a URL string is a third of what httpx spends building a request (~25 us): parse each URL once.
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:  # headers hold the key: never shown
        return f"Transport(provider={self.provider!r}, base_url={self.base_url!r}, max_retries={self.max_retries})"

    # --- clients -----------------------------------------------------------------------------------------------

    def _timeout_for_client(self) -> Any:
        return DEFAULT_TIMEOUT if isinstance(self._timeout, NotGiven) else self._timeout

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout_for_client())
        return self._client

    @property
    def async_client(self) -> httpx.AsyncClient:
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
        return client.build_request(method, self._url(path), content=content, headers=merged, timeout=timeout)

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

    def _status_error(self, response: httpx.Response) -> ProviderError:
        return self._error_factory(response.status_code, response.text, response.headers)

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
        """POST with retries; yields a successful response whose body is still to be read."""
        client = self.client
        for retries_done in range(self.max_retries + 1):
            last = retries_done == self.max_retries
            request = self._build(client, path, body, headers or {}, _method)
            try:
                response = client.send(request, stream=True)
            except httpx.TransportError as exc:
                if last:
                    raise self._connection_error(exc) from exc
                delay = self._next_delay(retries_done, {})
                self._log_retry(type(exc).__name__, delay, retries_done)
                time.sleep(delay)
                continue
            try:
                if response.is_success:
                    if _read:
                        self._read(response)
                    yield response
                    return
                self._read(response)
                if last or not should_retry(response.status_code, response.headers):
                    raise self._status_error(response)
            finally:
                response.close()
            delay = self._next_delay(retries_done, response.headers)
            self._log_retry(str(response.status_code), delay, retries_done)
            time.sleep(delay)

    def _read(self, response: httpx.Response) -> None:
        try:
            response.read()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc

    def iter_bytes(self, response: httpx.Response) -> Iterator[bytes]:
        """The body of a streaming response, with network failures mapped to Allos errors."""
        try:
            yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc

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
            except httpx.TransportError as exc:
                if last:
                    raise self._connection_error(exc) from exc
                delay = self._next_delay(retries_done, {})
                self._log_retry(type(exc).__name__, delay, retries_done)
                await asyncio.sleep(delay)
                continue
            try:
                if response.is_success:
                    if _read:
                        await self._aread(response)
                    yield response
                    return
                await self._aread(response)
                if last or not should_retry(response.status_code, response.headers):
                    raise self._status_error(response)
            finally:
                await response.aclose()
            delay = self._next_delay(retries_done, response.headers)
            self._log_retry(str(response.status_code), delay, retries_done)
            await asyncio.sleep(delay)

    async def _aread(self, response: httpx.Response) -> None:
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc

    async def aiter_bytes(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
