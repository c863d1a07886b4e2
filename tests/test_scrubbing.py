"""No secret in an exception that leaves a Provider: its text, its repr, its fields, and its whole chain of causes."""

from __future__ import annotations

import json
import traceback

import pytest
from loopback import LoopbackServer, Reply, json_reply
from provider_modes import opened, run

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


# --- every family, every call style ------------------------------------------------------------------------------

MODES = ("chat", "achat", "stream", "astream")
# alias -> (base URL path on the loopback, an error body of that protocol's shape echoing the key)
FAMILIES: dict[str, tuple[str, dict[str, object]]] = {
    "groq": ("/v1", {"error": {"message": f"bad key {KEY}", "type": KEY, "code": KEY}}),
    "openai": ("/v1", {"error": {"message": f"bad key {KEY}", "type": KEY, "code": KEY, "param": KEY}}),
    "anthropic": ("", {"type": "error", "error": {"type": KEY, "message": f"bad key {KEY}"}}),
    "ollama": ("", {"error": f"bad key {KEY}"}),
}
# A 200 whose fields are of the wrong type and hold the key: the parser's error must not quote it.
HOSTILE_200 = {"id": [KEY], "model": {"name": KEY}, "type": [KEY], "object": [KEY], "message": [KEY]}


def _line(body: dict[str, object], alias: str) -> bytes:
    text = json.dumps(body)
    return f"{text}\n".encode() if alias == "ollama" else f"data: {text}\n\n".encode()


def _stream_reply(alias: str, body: dict[str, object]) -> Reply:
    kind = "application/x-ndjson" if alias == "ollama" else "text/event-stream"
    return Reply(headers={"content-type": kind}, chunks=[_line(body, alias)])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alias", list(FAMILIES))
@pytest.mark.parametrize("answer", ["error-401", "error-500", "wrong-types-200"])
async def test_no_family_and_no_call_style_lets_the_key_out(
    alias: str, mode: str, answer: str, loopback: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    path, error_body = FAMILIES[alias]
    headers = {"x-request-id": KEY, "request-id": KEY, "x-should-retry": "false"}
    if answer == "wrong-types-200":
        reply = (
            json_reply(HOSTILE_200, headers=headers) if mode in ("chat", "achat") else _stream_reply(alias, HOSTILE_200)
        )
    else:
        reply = json_reply(error_body, status=int(answer.split("-")[1]), headers=headers)
    loopback.push(reply)
    provider = get_provider(alias, api_key=KEY, base_url=loopback.url(path), model="m", max_retries=0)
    async with opened(provider):
        with pytest.raises(errors.AllosError) as caught:
            await run(provider, mode, [{"role": "user", "content": "hi"}])
    assert len(loopback.requests) == 1 and KEY in str(loopback.requests[0].headers)  # the key was really sent
    error = caught.value
    assert KEY not in shown(error), shown(error)
    if isinstance(error, errors.ProviderError):
        assert KEY not in f"{error.request_id}{error.code}{error.error_type}{error.body}"
    if isinstance(error, errors.IncompleteStreamError) and error.partial is not None:
        assert KEY not in error.partial.model_dump_json()
    # Allos's own log lines. httpcore's DEBUG trace repeats the response headers the server chose to echo; the CLI
    # never shows that logger, and its --verbose redacts the allos and httpx lines it does show.
    assert all(KEY not in record.getMessage() for record in caplog.records if record.name.startswith("allos"))
