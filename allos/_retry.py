"""The retry policy as pure functions: which answers are worth another attempt, and how long to wait first.

Shared by the transport (which loops over them) and the protocols' error parsers (which read `Retry-After` into
`RateLimitError.retry_after`), so that `allos/protocols/` never imports the I/O module.

Policy (the official SDKs', so users meet no surprise; openai-python `src/openai/_base_client.py` and
`src/openai/_constants.py`): retry 408, 409, 429 and 5xx, never another 4xx; a server's `x-should-retry: true|false`
overrides the status. The wait honours `retry-after-ms`, then `Retry-After` (seconds or an HTTP date) when it is
positive and at most `MAX_RETRY_AFTER`; a server that asks for a longer wait is not retried at all (its error goes to
the caller with `retry_after` set, so the caller decides). Otherwise the wait is exponential backoff from
`INITIAL_RETRY_DELAY`, capped at `MAX_RETRY_DELAY`, with up to 25% jitter.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Final

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "asks_too_long",
    "parse_retry_after",
    "retry_delay",
    "should_retry",
]

INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
MAX_RETRY_AFTER: Final = 60.0
_RETRYABLE_STATUSES: Final = frozenset({408, 409, 429})


def should_retry(status_code: int, headers: Mapping[str, str]) -> bool:
    """Whether an error answer is worth another attempt.

    >>> should_retry(429, {}), should_retry(400, {}), should_retry(400, {"x-should-retry": "true"})
    (True, False, True)
    >>> should_retry(429, {"retry-after": "300"})  # the server asked for more than we would wait
    False
    """
    override = headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    if asks_too_long(headers):
        return False
    return status_code in _RETRYABLE_STATUSES or status_code >= 500


def asks_too_long(headers: Mapping[str, str]) -> bool:
    """Whether the server asked for a wait above `MAX_RETRY_AFTER`.

    >>> asks_too_long({"retry-after": "61"}), asks_too_long({"retry-after": "60"}), asks_too_long({})
    (True, False, False)
    """
    asked = parse_retry_after(headers)
    return asked is not None and asked > MAX_RETRY_AFTER


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
    except (TypeError, ValueError, IndexError, OverflowError):
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
