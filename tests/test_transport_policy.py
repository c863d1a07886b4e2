"""The retry policy as pure functions: no network, no clock."""

from __future__ import annotations

import email.utils

import pytest

from allos.transport import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    Transport,
    parse_retry_after,
    retry_delay,
    should_retry,
)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (408, {}, True),
        (409, {}, True),
        (429, {}, True),
        (500, {}, True),
        (529, {}, True),
        (400, {}, False),
        (401, {}, False),
        (404, {}, False),
        (422, {}, False),
        (400, {"x-should-retry": "true"}, True),
        (503, {"x-should-retry": "false"}, False),
    ],
)
def test_should_retry(status: int, headers: dict[str, str], expected: bool) -> None:
    assert should_retry(status, headers) is expected


def test_parse_retry_after_reads_every_form() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_parse_retry_after_reads_an_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": header}, now=now) == pytest.approx(30, abs=1)


def test_retry_delay_honours_a_reasonable_server_wait() -> None:
    assert retry_delay(0, {"retry-after": "3"}, jitter=0.5) == 3.0
    assert retry_delay(0, {"retry-after-ms": "10"}, jitter=0.5) == 0.01


def test_retry_delay_ignores_unreasonable_server_waits() -> None:
    too_long = {"retry-after": str(MAX_RETRY_AFTER + 1)}
    assert retry_delay(0, too_long, jitter=0.0) == INITIAL_RETRY_DELAY
    assert retry_delay(0, {"retry-after": "0"}, jitter=0.0) == INITIAL_RETRY_DELAY
    assert retry_delay(0, {"retry-after": "-5"}, jitter=0.0) == INITIAL_RETRY_DELAY


def test_retry_delay_backs_off_exponentially_with_a_cap_and_jitter() -> None:
    delays = [retry_delay(n, {}, jitter=0.0) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, MAX_RETRY_DELAY]
    assert retry_delay(2, {}, jitter=0.999) == pytest.approx(2.0 * 0.75, rel=1e-3)


def test_transport_refuses_negative_retries() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Transport(provider="p", base_url="http://127.0.0.1:1", headers={}, error_factory=None, max_retries=-1)  # type: ignore[arg-type]


def test_transport_repr_hides_headers() -> None:
    transport = Transport(
        provider="p",
        base_url="http://127.0.0.1:1/v1/",
        headers={"Authorization": "Bearer sk-0123456789"},
        error_factory=None,  # type: ignore[arg-type]
    )
    assert "sk-0123456789" not in repr(transport)
    assert transport.base_url == "http://127.0.0.1:1/v1"


def test_should_retry_refuses_a_wait_above_the_cap() -> None:
    too_long = {"retry-after": str(MAX_RETRY_AFTER + 1)}
    assert should_retry(429, too_long) is False
    assert should_retry(503, too_long) is False
    assert should_retry(429, {"retry-after": str(MAX_RETRY_AFTER)}) is True
    assert should_retry(429, {**too_long, "x-should-retry": "true"}) is True  # the server's explicit word wins
