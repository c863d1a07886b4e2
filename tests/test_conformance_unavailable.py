"""A provider that is rate limited is `unavailable`, not failed, and the cell says how long it asked to wait."""

from __future__ import annotations

from pathlib import Path

import httpx
from loopback import LoopbackServer, json_reply

from allos.providers.registry import get_spec
from conformance.runner import RunConfig, run_case
from conformance.scenarios import cases_for
from conformance.sequences import CorpusCase, attempt

RATE_LIMITED = {
    "error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}
}


def test_rate_limited_case_is_unavailable_with_its_retry_after(loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.push(json_reply(RATE_LIMITED, status=429, headers={"retry-after": "3600"}))
    (case,) = [c for c in cases_for(["chat"]) if c.first.call == "chat"]
    config = RunConfig(mode="live", against="simulator", max_retries=0, cassettes=tmp_path, reports=tmp_path)
    result = run_case(get_spec("groq"), case, config, endpoint=loopback.url("/openai/v1"))
    assert result.status == "unavailable"
    assert "429 RateLimitError: Rate limit reached" in result.reason
    assert "retry after 3600 s" in result.reason
    assert [r.path for r in loopback.requests] == ["/openai/v1/chat/completions"]


def test_rate_limited_case_without_retry_after_is_unavailable_and_says_nothing_more(
    loopback: LoopbackServer, tmp_path: Path
) -> None:
    loopback.push(json_reply(RATE_LIMITED, status=429))
    (case,) = [c for c in cases_for(["chat"]) if c.first.call == "chat"]
    config = RunConfig(mode="live", against="simulator", max_retries=0, cassettes=tmp_path, reports=tmp_path)
    result = run_case(get_spec("groq"), case, config, endpoint=loopback.url("/openai/v1"))
    assert result.status == "unavailable"
    assert "429 RateLimitError" in result.reason and "retry after" not in result.reason


def test_a_rate_limited_generated_case_is_unavailable_with_its_retry_after(loopback: LoopbackServer) -> None:
    """The generated column classifies the same 429 the same way, with the same note on how long to wait."""
    loopback.push(json_reply(RATE_LIMITED, status=429, headers={"retry-after": "3600"}))
    case = CorpusCase("gen_rate", "core", {"messages": [{"role": "user", "content": "hi"}]})
    outcome = attempt(
        get_spec("groq"),
        case,
        httpx.HTTPTransport(),
        base_url=loopback.url("/openai/v1"),
        api_key="sk-test-429-key",
        max_retries=2,
    )
    assert outcome.kind == "unavailable"
    assert "429" in outcome.reason and "retry after 3600 s" in outcome.reason
    assert len(loopback.requests) == 1  # a wait above the cap is not retried
