"""The Anthropic Messages simulator over real HTTP: every refusal rule, auth and version headers, every fault, the
answer and stream shapes; the official `anthropic` SDK as an independent oracle (its clients parse every answer and
stream, its response models validate the raw bodies, its exception classes match every error); and Allos end to end
(sync, async, stream, async stream), written apart from the simulator, so agreement means something."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import allos
from allos import errors
from conformance.simulators import FAULT_HEADER, Simulator, simulated_aliases
from conformance.simulators.anthropic import to_prompt
from conformance.simulators.anthropic_rules import ALIASES, ANTHROPIC, Incoming, Refusal, Rule, error_body

pytestmark = pytest.mark.network

KEY = "test-key-0123456789"
VERSION = "2023-06-01"
MODEL = "claude-sonnet-4-6"  # not on the SDK's deprecation list, so the SDK raises no DeprecationWarning
DEFAULT_MODEL = "claude-sonnet-4-6"  # the registry's default for the alias
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}}}
ASK = "What is the weather in Paris? Use the get_weather tool."
CALL_ID = "toolu_01A09q90qw90lq917835lq9"
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("anthropic") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, transport=httpx.HTTPTransport(socket_options=NODELAY)) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def headers(**extra: str) -> dict[str, str]:
    return {"x-api-key": KEY, "anthropic-version": VERSION, **extra}


def base_body() -> dict[str, Any]:
    """A valid tool round trip: the ask, the assistant's tool_use, the user's tool_result."""
    return {
        "model": DEFAULT_MODEL,
        "max_tokens": 256,
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": ASK},
            {"role": "assistant", "content": [{"type": "tool_use", "id": CALL_ID, "name": "get_weather", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": CALL_ID, "content": "18 degrees"}]},
        ],
    }


def post(client: httpx.Client, sim: Simulator, body: Any, hdrs: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"{sim.base_url}/v1/messages", json=body, headers=headers() if hdrs is None else hdrs)


def assert_error(answer: httpx.Response, expected: Refusal) -> None:
    """The status, and the body exactly, with the same request id in the body and the `request-id` header."""
    assert answer.status_code == expected.status, answer.text
    rid = answer.headers["request-id"]
    assert re.fullmatch(r"req_011C[0-9A-Za-z]{20}", rid)
    assert answer.json() == error_body(expected, rid)


def events(text: str) -> list[tuple[str, Any]]:
    """(event name, parsed data) for every SSE event; the name always equals the data's `type`."""
    out = []
    for raw in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in raw.splitlines())
        payload = json.loads(lines["data"])
        assert payload["type"] == lines["event"]
        out.append((lines["event"], payload))
    return out


# --- registration --------------------------------------------------------------------------------------------------


def test_registered_with_the_real_base_and_the_registry_default_model(sim: Simulator) -> None:
    assert simulated_aliases("anthropic") == sorted(row.name for row in ALIASES)
    assert sim.base_url == sim.root_url  # https://api.anthropic.com has no base path; the SDK adds /v1/messages
    assert ANTHROPIC.base_url == allos.providers.get_spec("anthropic").base_url
    assert allos.providers.get_spec("anthropic").default_model in ANTHROPIC.models


@pytest.mark.parametrize("row", ALIASES, ids=lambda row: row.name)
def test_every_rule_cites_a_source_and_is_documented(row: Any) -> None:
    assert all(rule.source for rule in row.rules)
    assert row.auth.source
    docs = (Path(__file__).parents[1] / "docs" / "simulators.md").read_text(encoding="utf-8")
    section = docs[docs.index(f"#### {row.name} (`{row.base_url}`") :]
    for rule in row.rules:
        assert f"| `{rule.name}` |" in section, f"{rule.name} is not in docs/simulators.md"


# --- every refusal rule, over HTTP --------------------------------------------------------------------------------

RULES = list(enumerate(ANTHROPIC.rules))


@pytest.mark.parametrize(("index", "rule"), RULES, ids=[rule.name for _, rule in RULES])
def test_rule_refuses_with_anthropics_body(sim: Simulator, client: httpx.Client, index: int, rule: Rule) -> None:
    good = base_body()
    assert post(client, sim, good).status_code == 200
    bad = rule.violate(good)
    hdrs = headers(**rule.violation_headers())
    incoming = Incoming(bad, hdrs, ANTHROPIC)
    expected = rule.check(incoming)
    assert expected is not None, "the violation does not break the rule"
    for earlier in ANTHROPIC.rules[:index]:
        assert earlier.check(incoming) is None, f"{earlier.name} refuses first"
    assert_error(post(client, sim, bad, hdrs), expected)


def test_rule_missing_max_tokens_exact_body(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    del body["max_tokens"]
    answer = post(client, sim, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}


def test_rule_unanswered_tool_use_exact_message(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    body["messages"][2] = {"role": "user", "content": "and now?"}
    assert post(client, sim, body).json()["error"]["message"] == (
        f"messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: {CALL_ID}."
        " Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )


def test_rule_tool_results_lead_the_next_message(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    result = body["messages"][2]["content"][0]
    body["messages"][2]["content"] = [{"type": "text", "text": "here you go"}, result]
    assert "were found without `tool_result` blocks" in post(client, sim, body).json()["error"]["message"]
    body["messages"][2]["content"] = [result, {"type": "text", "text": "here you go"}]
    assert post(client, sim, body).status_code == 200


def test_rule_orphan_tool_result_exact_message(sim: Simulator, client: httpx.Client) -> None:
    body = {**base_body(), "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_015cqXRmSf7tsfMgJ9ibV1z3", "content": "x"}
    ]}]}  # fmt: skip
    assert post(client, sim, body).json()["error"]["message"] == (
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_015cqXRmSf7tsfMgJ9ibV1z3."
        " Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    )


def test_rule_sampling_fields_by_api_version(sim: Simulator, client: httpx.Client) -> None:
    chat = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    for name, value in (("temperature", 1.0), ("top_p", 0.9), ("top_k", 5)):
        assert post(client, sim, {**chat, name: value}).status_code == 200  # 2023-06-01 takes them
        answer = post(client, sim, {**chat, name: value}, headers(**{"anthropic-version": "2026-10-21"}))
        assert answer.status_code == 400
        assert answer.json()["error"]["message"] == f"{name}: Extra inputs are not permitted"


def test_rule_unknown_field_and_unknown_model(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, {**base_body(), "context_management": {}})
    assert answer.json()["error"]["message"] == "context_management: Extra inputs are not permitted"
    answer = post(client, sim, {**base_body(), "model": "sonnet4"})
    assert answer.status_code == 404
    assert answer.json()["error"] == {"type": "not_found_error", "message": "model: sonnet4"}


def test_rule_system_role_only_on_models_that_take_it(sim: Simulator, client: httpx.Client) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "system", "content": "Answer in French."}]
    answer = post(client, sim, {"model": MODEL, "max_tokens": 32, "messages": messages})
    assert answer.json()["error"]["message"].startswith('messages: Unexpected role "system".')
    assert post(client, sim, {"model": "claude-opus-4-8", "max_tokens": 32, "messages": messages}).status_code == 200
    first = [messages[1], messages[0]]
    assert post(client, sim, {"model": "claude-opus-4-8", "max_tokens": 32, "messages": first}).status_code == 400


def test_rule_tool_definitions(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, {**base_body(), "tools": [{**WEATHER, "name": "x" * 65}]})
    assert (
        answer.json()["error"]["message"] == "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
    )
    no_schema = {k: v for k, v in WEATHER.items() if k != "input_schema"}
    answer = post(client, sim, {**base_body(), "tools": [WEATHER, no_schema]})
    assert answer.json()["error"]["message"] == "tools.1.custom.input_schema: Field required"


def test_rule_tool_use_id_pattern_exact_message(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    body["messages"][1]["content"][0]["id"] = "functions.get_weather:0"
    assert post(client, sim, body).json()["error"]["message"] == (
        "messages.1.content.0.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
    )


def test_rule_text_blocks_and_content(sim: Simulator, client: httpx.Client) -> None:
    def message_of(messages: list[dict[str, Any]]) -> str:
        answer = post(client, sim, {"model": MODEL, "max_tokens": 32, "messages": messages})
        return "" if answer.status_code == 200 else str(answer.json()["error"]["message"])

    hi = {"role": "user", "content": "hi"}
    assert message_of([{"role": "user", "content": [{"type": "text", "text": ""}]}]) == (
        "messages: text content blocks must be non-empty"
    )
    assert message_of([{"role": "user", "content": "  \n"}]) == (
        "messages: text content blocks must contain non-whitespace text"
    )
    spaced = [{"type": "text", "text": " "}, {"type": "text", "text": "hi"}]
    assert message_of([{"role": "user", "content": spaced}]) == ""  # whitespace next to text passes
    assert message_of([hi, {"role": "assistant", "content": ""}, hi]) == (
        "messages.1: all messages must have non-empty content except for the optional final assistant message"
    )
    assert message_of([hi, {"role": "assistant", "content": ""}]) == ""  # the optional final assistant message
    assert message_of([hi, {"role": "assistant", "content": "The answer is"}]) == ""  # a prefill
    assert message_of([hi, {"role": "assistant", "content": "The answer is "}]) == (
        "messages: final assistant content cannot end with trailing whitespace"
    )


def test_rule_stop_sequences_and_error_results(sim: Simulator, client: httpx.Client) -> None:
    chat = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    answer = post(client, sim, {**chat, "stop_sequences": [""]})
    assert answer.json()["error"]["message"] == "stop_sequences: each stop sequence must be non-empty"
    answer = post(client, sim, {**chat, "stop_sequences": ["\n\n"]})
    assert answer.json()["error"]["message"] == "stop_sequences: each stop sequence must contain non-whitespace"
    body = base_body()
    body["messages"][2]["content"][0] = {"type": "tool_result", "tool_use_id": CALL_ID, "is_error": True, "content": []}
    assert post(client, sim, body).json()["error"]["message"] == (
        "messages.2.content.0.tool_result: content cannot be empty if `is_error` is true"
    )
    body["messages"][2]["content"][0]["content"] = "the weather service is down"
    assert "the weather service is down" in post(client, sim, body).json()["content"][0]["text"]


def test_rule_openai_style_tool_role_refused(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    body["messages"][2] = {"role": "tool", "tool_call_id": CALL_ID, "content": "18 degrees"}
    answer = post(client, sim, body)
    assert answer.status_code == 400 and answer.json()["error"]["message"].startswith("messages.2.role:")


# --- auth, version header, size, paths ---------------------------------------------------------------------------


def test_auth_missing_invalid_bearer_and_forbidden(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    auth = ANTHROPIC.auth
    assert_error(post(client, sim, body, {"anthropic-version": VERSION}), auth.missing)
    assert_error(post(client, sim, body, headers(**{"x-api-key": "an-invalid-key-123"})), auth.invalid_api_key)
    bearer = {"anthropic-version": VERSION, "authorization": "Bearer an-invalid-key-123"}
    assert_error(post(client, sim, body, bearer), auth.invalid_bearer)
    assert post(client, sim, body, {**bearer, "authorization": f"Bearer {KEY}"}).status_code == 200
    assert post(client, sim, body, {**bearer, "x-api-key": KEY}).status_code == 200  # x-api-key wins over Bearer
    forbidden = post(client, sim, body, headers(**{"x-api-key": "forbidden-key-123"}))
    assert_error(forbidden, auth.forbidden)
    assert forbidden.json()["error"]["type"] == "permission_error"


def test_version_header_required_and_known(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, base_body(), {"x-api-key": KEY})
    assert_error(answer, Refusal(400, "anthropic-version: header is required"))
    answer = post(client, sim, base_body(), headers(**{"anthropic-version": "2024-01-01"}))
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"


def test_request_too_large_is_413(sim: Simulator, client: httpx.Client) -> None:
    huge = b'{"pad":"' + b"x" * ANTHROPIC.max_body_bytes + b'"}'
    answer = client.post(f"{sim.base_url}/v1/messages", content=huge, headers=headers())
    assert answer.status_code == 413 and answer.json()["error"]["type"] == "request_too_large"


def test_bad_json_and_unknown_path(sim: Simulator, client: httpx.Client) -> None:
    answer = client.post(f"{sim.base_url}/v1/messages", content=b"{nope", headers=headers())
    assert answer.status_code == 400 and answer.json()["type"] == "error"
    answer = client.post(f"{sim.base_url}/v1/nothing-here", json={}, headers=headers())
    assert_error(answer, Refusal(404, "Not Found", "not_found_error"))


# --- faults ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit_error"), (500, "api_error"), (503, "api_error"), (529, "overloaded_error")],
)
def test_fault_status_in_anthropics_error_shape(sim: Simulator, client: httpx.Client, status: int, kind: str) -> None:
    answer = post(client, sim, base_body(), headers(**{FAULT_HEADER: str(status)}))
    assert answer.status_code == status
    assert answer.json()["type"] == "error" and answer.json()["error"]["type"] == kind
    assert answer.json()["request_id"] == answer.headers["request-id"]
    if status == 429:
        assert answer.headers["retry-after"] == "1"
        assert "anthropic-ratelimit-requests-reset" in answer.headers


def test_fault_needs_a_valid_key_first(sim: Simulator, client: httpx.Client) -> None:
    assert post(client, sim, base_body(), {FAULT_HEADER: "529", "anthropic-version": VERSION}).status_code == 401


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_malformed(sim: Simulator, client: httpx.Client, stream: bool) -> None:
    body = {"model": MODEL, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    answer = post(client, sim, body, headers(**{FAULT_HEADER: "malformed"}))
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        events(answer.text) if stream else answer.json()


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_cut_drops_the_connection_halfway(sim: Simulator, client: httpx.Client, stream: bool) -> None:
    body = {"model": MODEL, "max_tokens": 512, "stream": stream, "messages": [{"role": "user", "content": "a story"}]}
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, sim, body, headers(**{FAULT_HEADER: "cut"}))


def test_fault_stream_error_event_after_a_200(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": MODEL, "max_tokens": 512, "stream": True, "messages": [{"role": "user", "content": "a story"}]}
    answer = post(client, sim, body, headers(**{FAULT_HEADER: "stream-error"}))
    assert answer.status_code == 200
    parsed = events(answer.text)
    assert parsed[0][0] == "message_start"
    assert parsed[-1] == ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert "message_stop" not in answer.text


def test_fault_slow_first_byte_and_queue(client: httpx.Client) -> None:
    with Simulator("anthropic", fault="slow", slow_seconds=0.3) as slow:
        started = time.monotonic()
        assert post(client, slow, base_body()).status_code == 200
        assert time.monotonic() - started >= 0.3
    with Simulator("anthropic") as queued:
        queued.inject("529", "429")
        assert [post(client, queued, base_body()).status_code for _ in range(3)] == [529, 429, 200]


# --- shapes ------------------------------------------------------------------------------------------------------


def test_shape_message_body_ids_and_usage(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, {**base_body(), "messages": [{"role": "user", "content": ASK}]})
    message = answer.json()
    assert re.fullmatch(r"msg_01[0-9A-Za-z]{22}", message["id"])
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", DEFAULT_MODEL)
    (block,) = message["content"]
    assert block["type"] == "tool_use" and re.fullmatch(r"toolu_01[0-9A-Za-z]{22}", block["id"])
    assert block["input"] == {"city": "Paris", "unit": "celsius"}  # an object, valid for the schema
    assert (message["stop_reason"], message["stop_sequence"]) == ("tool_use", None)
    usage = message["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_creation_input_tokens"] == usage["cache_read_input_tokens"] == 0
    assert answer.headers["request-id"].startswith("req_011C")


def test_shape_same_request_same_answer(sim: Simulator, client: httpx.Client) -> None:
    first, second = post(client, sim, base_body()), post(client, sim, base_body())
    assert first.content == second.content
    assert "18 degrees" in first.json()["content"][0]["text"] and first.json()["stop_reason"] == "end_turn"


def test_shape_stream_events_in_order_with_cumulative_usage(sim: Simulator, client: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 256,
        "stream": True,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Use get_weather for Paris and Tokyo in parallel."}],
    }
    answer = post(client, sim, body)
    assert answer.headers["content-type"].startswith("text/event-stream")
    parsed = events(answer.text)
    names = [name for name, _ in parsed]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"] and "[DONE]" not in answer.text
    start = parsed[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    heads = [p["content_block"] for n, p in parsed if n == "content_block_start"]
    assert [h["name"] for h in heads] == ["get_weather", "get_weather"] and all(h["input"] == {} for h in heads)
    for index, city in enumerate(("Paris", "Tokyo")):
        pieces = [
            p["delta"]["partial_json"]
            for n, p in parsed
            if n == "content_block_delta" and p["index"] == index and p["delta"]["type"] == "input_json_delta"
        ]
        assert len([p for p in pieces if p]) >= 2  # the input arrives in several pieces
        assert json.loads("".join(pieces))["city"] == city
    delta = parsed[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"]["input_tokens"] == start["usage"]["input_tokens"] and delta["usage"]["output_tokens"] > 1


def test_shape_tool_choice_variants(sim: Simulator, client: httpx.Client) -> None:
    hello = [{"role": "user", "content": "Hello there!"}]
    body = {"model": MODEL, "max_tokens": 64, "tools": [WEATHER, TIME], "messages": hello}

    def names(**extra: Any) -> list[str]:
        content = post(client, sim, {**body, **extra}).json()["content"]
        return [b["name"] for b in content if b["type"] == "tool_use"]

    assert names() == []
    assert names(tool_choice={"type": "any"}) == ["get_weather"]
    assert names(tool_choice={"type": "tool", "name": "get_time"}) == ["get_time"]
    ask = [{"role": "user", "content": "Use get_weather and get_time in parallel"}]
    assert names(messages=ask) == ["get_weather", "get_time"]
    assert names(messages=ask, tool_choice={"type": "auto", "disable_parallel_tool_use": True}) == ["get_weather"]
    assert names(messages=ask, tool_choice={"type": "none"}) == []


def test_shape_stop_sequence_max_tokens_json_and_unicode(sim: Simulator, client: httpx.Client) -> None:
    def ask(text: str, **extra: Any) -> dict[str, Any]:
        body = {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": text}], **extra}
        answer: dict[str, Any] = post(client, sim, body).json()
        return answer

    stopped = ask("count from 1 to 20", stop_sequences=["11"])
    assert (stopped["stop_reason"], stopped["stop_sequence"]) == ("stop_sequence", "11")
    assert "11" not in stopped["content"][0]["text"]
    cut = ask("write a long story", max_tokens=16)
    assert cut["stop_reason"] == "max_tokens" and cut["usage"]["output_tokens"] == 16
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}  # fmt: skip
    structured = ask("Describe a cat", output_config={"format": {"type": "json_schema", "schema": schema}})
    assert set(json.loads(structured["content"][0]["text"])) == {"name", "age"}
    text = "Grüße aus Zürich — 東京 🌸"
    assert ask(text)["content"][0]["text"] == f"You said: {text}"
    system = ask("hi", system=[{"type": "text", "text": 'Say exactly "ünïcödé ✓"'}])
    assert system["content"][0]["text"] == "ünïcödé ✓"


def test_prompt_translation_keeps_results_images_and_system() -> None:
    body = base_body()
    body["system"] = "Be brief."
    body["messages"][2]["content"].append({"type": "text", "text": "thanks"})
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}
    body["messages"][0] = {"role": "user", "content": [{"type": "text", "text": ASK}, image]}
    prompt = to_prompt(body)
    assert [t.role for t in prompt.turns] == ["system", "user", "assistant", "tool", "user"]
    assert prompt.turns[3].call_id == CALL_ID and prompt.turns[3].text == "18 degrees"
    assert prompt.turns[2].calls[0].name == "get_weather" and prompt.max_tokens == 256


# --- the official SDK as an oracle ---------------------------------------------------------------------------------

anthropic = pytest.importorskip("anthropic")


@pytest.fixture
def sdk(sim: Simulator) -> Iterator[Any]:
    with anthropic.Anthropic(base_url=sim.base_url, api_key=KEY, max_retries=0) as c:
        yield c


def test_sdk_sends_its_own_version_and_bearer_and_parses_a_chat(sim: Simulator, sdk: Any) -> None:
    from anthropic.types import Message

    raw = sdk.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Grüße, 東京!"}]
    )
    received = sim.requests[-1]
    assert received.headers["authorization"] == f"Bearer {KEY}"  # SDK 2.x sends the key as Bearer
    assert received.headers["anthropic-version"] == "2026-10-21"
    Message.model_validate(json.loads(raw.http_response.content))
    message = raw.parse()
    assert message.content[0].text == "You said: Grüße, 東京!" and message.stop_reason == "end_turn"
    assert raw.headers["request-id"].startswith("req_")


def test_sdk_tool_call_round_trip(sdk: Any) -> None:
    from anthropic.types import Message

    ask = [{"role": "user", "content": ASK}]
    raw = sdk.messages.with_raw_response.create(model=MODEL, max_tokens=256, messages=ask, tools=[WEATHER])
    Message.model_validate(json.loads(raw.http_response.content))
    first = raw.parse()
    call = first.content[0]
    assert first.stop_reason == "tool_use" and call.input["city"] == "Paris"
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 degrees"}]}
    second = sdk.messages.create(
        model=MODEL, max_tokens=256, messages=[*ask, first.to_param(), result], tools=[WEATHER]
    )
    assert "18 degrees" in second.content[0].text


def test_sdk_streams_text_and_tool_use(sdk: Any) -> None:
    from anthropic.types import (
        RawContentBlockDeltaEvent,
        RawContentBlockStartEvent,
        RawContentBlockStopEvent,
        RawMessageDeltaEvent,
        RawMessageStartEvent,
        RawMessageStopEvent,
    )

    models = {
        "message_start": RawMessageStartEvent,
        "content_block_start": RawContentBlockStartEvent,
        "content_block_delta": RawContentBlockDeltaEvent,
        "content_block_stop": RawContentBlockStopEvent,
        "message_delta": RawMessageDeltaEvent,
        "message_stop": RawMessageStopEvent,
    }
    with sdk.messages.stream(
        model=MODEL, max_tokens=512, messages=[{"role": "user", "content": "write a long story"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith("You said: write a long story") and final.content[0].text == text
    assert final.usage.output_tokens > 1 and final.stop_reason == "end_turn"
    ask = [{"role": "user", "content": "Use get_weather for Paris and Tokyo in parallel."}]
    with sdk.messages.stream(model=MODEL, max_tokens=256, messages=ask, tools=[WEATHER]) as stream:
        for event in stream:
            if event.type in models:
                models[event.type].model_validate(event.model_dump())
        final = stream.get_final_message()
    assert [b.input["city"] for b in final.content] == ["Paris", "Tokyo"] and final.stop_reason == "tool_use"


@pytest.mark.anyio
async def test_async_sdk_chat(sim: Simulator) -> None:
    async with anthropic.AsyncAnthropic(base_url=sim.base_url, api_key=KEY, max_retries=0) as client:
        message = await client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "You said: hi"


SDK_ERRORS = [
    ({"api_key": "invalid-key-123"}, {}, "AuthenticationError", 401),
    ({"api_key": "forbidden-key-123"}, {}, "PermissionDeniedError", 403),
    ({}, {"model": "claude-nope"}, "NotFoundError", 404),
    ({}, {"extra_body": {"temperature": 0.5}}, "BadRequestError", 400),  # the SDK's own version refuses it
    ({}, {"extra_headers": {FAULT_HEADER: "429"}}, "RateLimitError", 429),
    ({}, {"extra_headers": {FAULT_HEADER: "500"}}, "InternalServerError", 500),
    ({}, {"extra_headers": {FAULT_HEADER: "503"}}, "ServiceUnavailableError", 503),
    ({}, {"extra_headers": {FAULT_HEADER: "529"}}, "OverloadedError", 529),
]


@pytest.mark.parametrize(("client_kw", "call_kw", "exception", "status"), SDK_ERRORS, ids=[e[2] for e in SDK_ERRORS])
def test_sdk_maps_every_error_to_its_class(
    sim: Simulator, client_kw: dict[str, Any], call_kw: dict[str, Any], exception: str, status: int
) -> None:
    from anthropic.types.shared import ErrorResponse

    options = {"api_key": KEY, **client_kw}
    with anthropic.Anthropic(base_url=sim.base_url, max_retries=0, **options) as client:
        with pytest.raises(getattr(anthropic, exception)) as caught:
            client.messages.create(
                **{"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **call_kw}
            )
    assert caught.value.status_code == status
    assert caught.value.request_id == caught.value.body["request_id"]
    ErrorResponse.model_validate(caught.value.body)


def test_sdk_sees_the_mid_stream_error_and_the_413(sim: Simulator, sdk: Any) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        with sdk.messages.stream(
            model=MODEL,
            max_tokens=512,
            messages=[{"role": "user", "content": "write a long story"}],
            extra_headers={FAULT_HEADER: "stream-error"},
        ) as stream:
            list(stream)
    assert caught.value.type == "overloaded_error"
    huge = "x" * ANTHROPIC.max_body_bytes
    with pytest.raises(anthropic.RequestTooLargeError):
        sdk.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": huge}])


# --- Allos end to end ----------------------------------------------------------------------------------------------

TOOL = {"name": "get_weather", "description": "Current weather", "parameters": WEATHER["input_schema"]}


@pytest.fixture
def provider(sim: Simulator) -> Iterator[Any]:
    with allos.get_provider("anthropic", base_url=sim.base_url, api_key=KEY, max_retries=0) as p:
        yield p


def _history(call: Any) -> list[Any]:
    return [
        allos.Message(role="user", content=ASK),
        allos.Message(role="assistant", tool_calls=[call]),
        allos.Message(role="tool", tool_call_id=call.id, content="18 degrees"),
    ]


def test_allos_tool_round_trip_sync_and_stream(sim: Simulator, provider: Any) -> None:
    ask = [allos.Message(role="user", content=ASK)]
    first = provider.chat(ask, tools=[TOOL])
    assert first.finish_reason == "tool_calls" and first.tool_calls[0].arguments["city"] == "Paris"
    assert sim.requests[-1].headers["x-api-key"] == KEY
    call = first.tool_calls[0]
    second = provider.chat(_history(call), tools=[TOOL])
    assert "18 degrees" in second.text and second.finish_reason == "stop" and second.usage.output_tokens > 0
    streamed = list(provider.stream(ask, tools=[TOOL]))[-1].response
    assert streamed.tool_calls[0].arguments == call.arguments and streamed.finish_reason == "tool_calls"
    answer = list(provider.stream(_history(streamed.tool_calls[0]), tools=[TOOL]))[-1].response
    assert answer.text == second.text and answer.usage == second.usage


@pytest.mark.anyio
async def test_allos_tool_round_trip_async_and_async_stream(sim: Simulator) -> None:
    async with allos.get_provider("anthropic", base_url=sim.base_url, api_key=KEY, max_retries=0) as provider:
        ask = [allos.Message(role="user", content=ASK)]
        first = await provider.achat(ask, tools=[TOOL])
        call = first.tool_calls[0]
        assert first.finish_reason == "tool_calls" and call.name == "get_weather"
        second = await provider.achat(_history(call), tools=[TOOL])
        assert "18 degrees" in second.text
        streamed = [event async for event in provider.astream(ask, tools=[TOOL])][-1].response
        assert streamed.tool_calls[0].arguments == call.arguments
        answer = [event async for event in provider.astream(_history(call), tools=[TOOL])][-1].response
        assert answer.text == second.text


def test_allos_pinned_to_2026_10_21_agrees_with_the_simulator(sim: Simulator) -> None:
    """Allos refuses sampling fields under the new version before sending; what it does send is accepted."""
    version = {"anthropic-version": "2026-10-21"}
    with allos.get_provider(
        "anthropic", base_url=sim.base_url, api_key=KEY, max_retries=0, headers=version
    ) as provider:
        assert provider.chat([{"role": "user", "content": "hi"}]).text == "You said: hi"
        assert sim.requests[-1].headers["anthropic-version"] == "2026-10-21"
        with pytest.raises(errors.InvalidRequestError):
            provider.chat([{"role": "user", "content": "hi"}], temperature=0.5)
        with pytest.raises(errors.BadRequestError, match="top_k: Extra inputs are not permitted"):
            provider.chat([{"role": "user", "content": "hi"}], extra_body={"top_k": 5})


@pytest.mark.parametrize(
    ("options", "extra_headers", "error"),
    [
        ({"api_key": "invalid-key-123456"}, {}, errors.AuthenticationError),
        ({"model": "claude-nope"}, {}, errors.NotFoundError),
        ({}, {FAULT_HEADER: "529"}, errors.ServerError),
        ({}, {FAULT_HEADER: "429"}, errors.RateLimitError),
    ],
)
def test_allos_maps_the_simulators_errors(
    sim: Simulator, options: dict[str, Any], extra_headers: dict[str, str], error: type[Exception]
) -> None:
    settings = {"api_key": KEY, **options}
    with allos.get_provider("anthropic", base_url=sim.base_url, max_retries=0, **settings) as provider:
        with pytest.raises(error):
            provider.chat([{"role": "user", "content": "hi"}], extra_headers=extra_headers)
