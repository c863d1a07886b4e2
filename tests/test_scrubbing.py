"""No secret in an exception that leaves a Provider: its text, its repr, its fields, and its whole chain of causes."""

from __future__ import annotations

import traceback

import pytest
from loopback import LoopbackServer, json_reply

from allos import errors, get_provider
from allos.errors import scrubbed

KEY = "sk-scrub-test-abcdefghijklmnop"


def shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_scrubbed_cuts_a_foreign_cause_that_quotes_the_key() -> None:
    class Quoting(Exception):
        def __str__(self) -> str:  # like pydantic's ValidationError: the text quotes the input, args do not
            return f"bad input {KEY!r}"

    with pytest.raises(errors.ResponseParseError) as caught, scrubbed([KEY]):
        try:
            raise Quoting()
        except Quoting as exc:
            raise errors.ResponseParseError("the answer is not what was promised", provider="p") from exc
    assert KEY not in shown(caught.value)
    assert caught.value.__cause__ is None


def test_scrubbed_redacts_args_along_the_chain() -> None:
    with pytest.raises(errors.ProviderError) as caught, scrubbed([KEY]):
        try:
            try:
                raise ValueError(f"inner {KEY}")
            except ValueError as inner:
                raise KeyError(f"middle {KEY}") from inner
        except KeyError:
            raise errors.ProviderError(f"outer {KEY}", provider="p", request_id=KEY, code=KEY, body=KEY)  # noqa: B904
    error = caught.value
    assert KEY not in shown(error)
    assert KEY not in f"{error.request_id}{error.code}{error.body}"


def test_scrubbed_replaces_a_foreign_exception_that_holds_the_key() -> None:
    with pytest.raises(errors.ResponseParseError) as caught, scrubbed([KEY]):
        raise TypeError(["unhashable", KEY])
    assert KEY not in shown(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_error_answer_echoing_the_key_everywhere_is_scrubbed(
    status: int, loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    body = {"error": {"message": f"bad key {KEY}", "type": KEY, "code": KEY}}
    loopback.push(json_reply(body, status=status, headers={"x-request-id": KEY, "x-should-retry": "false"}))
    with get_provider("groq", api_key=KEY, base_url=loopback.url("/v1"), model="m") as provider:
        with pytest.raises(errors.ProviderError) as caught:
            provider.chat([{"role": "user", "content": "hi"}])
    error = caught.value
    assert KEY not in shown(error)
    assert KEY not in f"{error.request_id}{error.code}{error.error_type}{error.body}"
    assert all(KEY not in record.getMessage() for record in caplog.records if record.name == "allos")
