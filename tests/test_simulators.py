"""The simulators over real HTTP: the framework (start, stop, faults, the serve command), every refusal rule of every
Chat Completions row, and the wire shapes each row promises. One simulator per alias per module."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from conformance.cli import main as conform_main
from conformance.simulators import FAULT_HEADER, Simulator, alias_entry, simulate, simulated_aliases
from conformance.simulators._model import Prompt, Tool, Turn, count_tokens, respond, synthesize
from conformance.simulators.chat_completions_aliases import CHAT_ALIASES
from conformance.simulators.chat_completions_rules import (
    ChatAlias,
    Incoming,
    RejectedFields,
    RequiredHeaders,
    Rule,
)

pytestmark = pytest.mark.network

KEY = "test-key-0123456789"
ROWS = {row.name: row for row in CHAT_ALIASES}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def sims() -> Iterator[dict[str, Simulator]]:
    """Every Chat Completions alias's simulator, started once for the module."""
    started = {name: Simulator(name).start() for name in ROWS}
    yield started
    with ThreadPoolExecutor() as pool:
        list(pool.map(Simulator.stop, started.values()))


# TCP_NODELAY: the client writes headers and body separately; without it each request waits for a delayed ACK.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, transport=httpx.HTTPTransport(socket_options=NODELAY)) as c:
        yield c


def auth_headers(row: ChatAlias, key: str = KEY) -> dict[str, str]:
    headers: dict[str, str] = {}
    if row.auth.header is not None:
        headers[row.auth.header] = f"{row.auth.scheme} {key}".strip()
    if row.name == "portkey":
        headers["x-portkey-provider"] = "openai"
    return headers


def model_of(row: ChatAlias) -> str:
    return sorted(row.models)[0] if row.models else "local-model"


# The registry's default models: each simulator must know its alias's default.
DEFAULT_MODELS = {
    "groq": "llama-3.3-70b-versatile",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "mistral": "mistral-small-latest",
    "deepseek": "deepseek-chat",
    "portkey": "gpt-4o-mini",
    "openrouter": "openai/gpt-4o-mini",
    "fireworks": "accounts/fireworks/models/llama-v3p3-70b-instruct",
    "xai": "grok-3-mini",
    "cerebras": "llama-3.3-70b",
    "perplexity": "sonar",
    "gemini": "gemini-2.5-flash",
    "openai-chat": "gpt-4o-mini",
}


def default_model(row: ChatAlias) -> str:
    return DEFAULT_MODELS.get(row.name, model_of(row))


def takes_tools(row: ChatAlias) -> bool:
    return not any(isinstance(r, RejectedFields) and "tools" in r.fields for r in row.rules)


def base_body(row: ChatAlias) -> dict[str, Any]:
    """A valid request: a tool round trip where the alias takes tools, else a plain chat."""
    if not takes_tools(row):
        return {"model": default_model(row), "messages": [{"role": "user", "content": "Hello there"}]}
    call_id = row.tool_call_id("base", 0)
    return {
        "model": default_model(row),
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."},
            {
                "role": "assistant",
                "content": row.tool_call_content,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "18 degrees"},
        ],
    }


def post(client: httpx.Client, sim: Simulator, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    row = ROWS[sim.alias]
    return client.post(
        f"{sim.base_url}/chat/completions", json=body, headers=auth_headers(row) if headers is None else headers
    )


def sse_payloads(text: str) -> list[Any]:
    out = []
    for line in text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


# --- the framework ---------------------------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_simulated_aliases_cover_every_chat_completions_row() -> None:
    assert set(simulated_aliases("chat_completions")) == set(ROWS)


@pytest.mark.parametrize("alias", sorted(DEFAULT_MODELS))
def test_simulator_knows_the_registry_default_model(alias: str) -> None:
    assert ROWS[alias].accepts_model(DEFAULT_MODELS[alias])


def test_simulator_base_url_has_the_providers_own_base_path(sims: dict[str, Simulator]) -> None:
    assert sims["groq"].base_url.endswith("/openai/v1")
    assert sims["gemini"].base_url.endswith("/v1beta/openai")
    assert sims["openrouter"].base_url.endswith("/api/v1")
    assert sims["fireworks"].base_url.endswith("/inference/v1")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sims["deepseek"].base_url)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sims["perplexity"].base_url)


def test_simulator_stop_frees_the_port_and_the_thread() -> None:
    before = threading.active_count()
    with simulate("mistral") as base_url:
        port = int(base_url.split(":")[2].split("/")[0])
        assert httpx.get(f"{base_url}/models", headers={"authorization": f"Bearer {KEY}"}).status_code == 200
    assert threading.active_count() == before
    with socket.socket() as probe, pytest.raises(OSError):
        probe.settimeout(1)
        probe.connect(("127.0.0.1", port))


@pytest.mark.anyio
async def test_simulator_async_context_manager() -> None:
    async with Simulator("groq") as sim, httpx.AsyncClient() as client:
        answer = await client.get(f"{sim.base_url}/models", headers={"authorization": f"Bearer {KEY}"})
    assert answer.json()["object"] == "list"


def test_simulator_unknown_alias_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="groq"):
        alias_entry("no-such-alias")


def test_simulator_records_requests(sims: dict[str, Simulator], client: httpx.Client) -> None:
    sim = sims["together"]
    post(client, sim, base_body(ROWS["together"]))
    assert sim.requests[-1].path == "/v1/chat/completions"
    assert sim.requests[-1].json()["model"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"


def test_simulator_unknown_path_answers_in_the_providers_shape(
    sims: dict[str, Simulator], client: httpx.Client
) -> None:
    answer = client.post(f"{sims['gemini'].base_url}/nothing-here", json={}, headers=auth_headers(ROWS["gemini"]))
    assert answer.status_code == 404
    assert answer.json()[0]["error"]["status"] == "NOT_FOUND"


# --- faults -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503, 529])
def test_fault_status_in_the_aliases_error_shape(sims: dict[str, Simulator], client: httpx.Client, status: int) -> None:
    row = ROWS["openai-chat"]
    answer = post(client, sims["openai-chat"], base_body(row), {**auth_headers(row), FAULT_HEADER: str(status)})
    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    if status == 429:
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["error"]["code"] == "rate_limit_exceeded"


def test_fault_needs_a_valid_key_first(sims: dict[str, Simulator], client: httpx.Client) -> None:
    answer = client.post(f"{sims['groq'].base_url}/chat/completions", json={}, headers={FAULT_HEADER: "429"})  # no key
    assert answer.status_code == 401


def test_fault_malformed_body(sims: dict[str, Simulator], client: httpx.Client) -> None:
    row = ROWS["groq"]
    answer = post(client, sims["groq"], base_body(row), {**auth_headers(row), FAULT_HEADER: "malformed"})
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()


def test_fault_malformed_stream_line(sims: dict[str, Simulator], client: httpx.Client) -> None:
    row = ROWS["groq"]
    body = {**base_body(row), "stream": True}
    answer = post(client, sims["groq"], body, {**auth_headers(row), FAULT_HEADER: "malformed"})
    with pytest.raises(ValueError):
        sse_payloads(answer.text)


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_cut_drops_the_connection_halfway(sims: dict[str, Simulator], client: httpx.Client, stream: bool) -> None:
    row = ROWS["mistral"]
    body = {
        "model": "mistral-small-latest",
        "stream": stream,
        "messages": [{"role": "user", "content": "a long story"}],
    }
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, sims["mistral"], body, {**auth_headers(row), FAULT_HEADER: "cut"})


def test_fault_stream_error_after_a_200(sims: dict[str, Simulator], client: httpx.Client) -> None:
    row = ROWS["openrouter"]
    body = {"model": "openai/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "a long story"}]}
    answer = post(client, sims["openrouter"], body, {**auth_headers(row), FAULT_HEADER: "stream-error"})
    assert answer.status_code == 200
    payloads = sse_payloads(answer.text)
    assert payloads[-1] == {"error": {"code": 502, "message": "Provider returned error"}}
    assert "[DONE]" not in answer.text


def test_fault_slow_first_byte_is_bounded_and_configurable() -> None:
    with Simulator("deepseek", fault="slow", slow_seconds=0.3) as sim, httpx.Client() as client:
        started = time.monotonic()
        answer = post(client, sim, base_body(ROWS["deepseek"]))
        assert answer.status_code == 200
        assert time.monotonic() - started >= 0.3
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                f"{sim.base_url}/chat/completions",
                json=base_body(ROWS["deepseek"]),
                headers=auth_headers(ROWS["deepseek"]),
                timeout=0.05,
            )
    with pytest.raises(ValueError, match="slow_seconds"):
        Simulator("deepseek", slow_seconds=3600)


def test_fault_queue_then_normal(client: httpx.Client) -> None:
    with Simulator("cerebras", retry_after=2) as sim:
        sim.inject("429", "503")
        statuses = [post(client, sim, base_body(ROWS["cerebras"])).status_code for _ in range(3)]
        assert statuses == [429, 503, 200]
        assert sim.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_fault_unknown_name_is_the_simulators_own_400(sims: dict[str, Simulator], client: httpx.Client) -> None:
    answer = post(client, sims["groq"], {}, {**auth_headers(ROWS["groq"]), FAULT_HEADER: "explode"})
    assert answer.status_code == 400 and answer.text.startswith("simulator:")
    with pytest.raises(ValueError, match="unknown fault"):
        Simulator("groq", fault="explode")


# --- auth ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias", sorted(ROWS))
def test_auth_missing_and_invalid_key(sims: dict[str, Simulator], client: httpx.Client, alias: str) -> None:
    row = ROWS[alias]
    body = base_body(row)
    no_key = {k: v for k, v in auth_headers(row).items() if k != row.auth.header}
    bad_key = auth_headers(row, "an-invalid-key-123")
    if row.auth.header is None:  # local servers take any key, or none
        assert post(client, sims[alias], body, no_key).status_code == 200
        assert post(client, sims[alias], body, bad_key).status_code == 200
        return
    for headers, expected in ((no_key, row.auth.missing), (bad_key, row.auth.invalid)):
        assert expected is not None
        answer = post(client, sims[alias], body, headers)
        assert answer.status_code == expected.status
        assert answer.json() == (expected.shape or row.errors).render(expected)


# --- every refusal rule, over HTTP --------------------------------------------------------------------------------

RULE_CASES = [(row.name, i, rule) for row in CHAT_ALIASES for i, rule in enumerate(row.rules)]


@pytest.mark.parametrize(("alias", "index", "rule"), RULE_CASES, ids=[f"{a}-{r.name}" for a, _, r in RULE_CASES])
def test_rule_refuses_with_the_providers_body(
    sims: dict[str, Simulator], client: httpx.Client, alias: str, index: int, rule: Rule
) -> None:
    row = ROWS[alias]
    assert rule.source, f"{alias} {rule.name} cites no source"
    good = base_body(row)
    assert post(client, sims[alias], good).status_code == 200
    bad = rule.violate(good)
    headers = auth_headers(row)
    if isinstance(rule, RequiredHeaders):
        headers = {k: v for k, v in headers.items() if k not in rule.headers}
    expected = rule.check(Incoming(bad, headers, row))
    assert expected is not None, "the violation does not break the rule"
    for earlier in row.rules[:index]:
        assert earlier.check(Incoming(bad, headers, row)) is None, f"{earlier.name} refuses first"
    answer = post(client, sims[alias], bad, headers)
    assert answer.status_code == expected.status
    assert answer.json() == (expected.shape or row.errors).render(expected)


def test_rule_mistral_tool_call_id_exact_body(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = base_body(ROWS["mistral"])
    body["messages"][1]["tool_calls"][0]["id"] = "call_0fypS1hVX"
    body["messages"][2]["tool_call_id"] = "call_0fypS1hVX"
    answer = post(client, sims["mistral"], body)
    assert answer.status_code == 400
    assert answer.json() == {
        "object": "error",
        "message": "Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9.",
        "type": "invalid_function_call",
        "param": None,
        "code": "3280",
    }


def test_rule_mistral_rejects_unknown_fields_with_422(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {**base_body(ROWS["mistral"]), "stream": True, "stream_options": {"include_usage": True}}
    answer = post(client, sims["mistral"], body)
    assert answer.status_code == 422
    detail = answer.json()["message"]["detail"][0]
    assert detail["type"] == "extra_forbidden" and detail["loc"] == ["body", "stream_options"]


def test_rule_mistral_user_after_tool(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = base_body(ROWS["mistral"])
    body["messages"].append({"role": "user", "content": "thanks"})
    answer = post(client, sims["mistral"], body)
    assert (answer.status_code, answer.json()["code"]) == (400, "3230")
    assert answer.json()["message"] == "Unexpected role 'user' after role 'tool'"


def test_rule_openai_unanswered_tool_calls(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = base_body(ROWS["openai-chat"])
    body["messages"] = body["messages"][:2]
    answer = post(client, sims["openai-chat"], body)
    assert answer.status_code == 400
    assert "did not have response messages" in answer.json()["error"]["message"]


def test_rule_groq_unsupported_fields(sims: dict[str, Simulator], client: httpx.Client) -> None:
    for extra in ({"logprobs": True}, {"logit_bias": {"1": 2}}, {"top_logprobs": 2}, {"n": 2}):
        answer = post(client, sims["groq"], {**base_body(ROWS["groq"]), **extra})
        assert answer.status_code == 400, extra
        assert set(answer.json()["error"]) >= {"message", "type"}
    named = base_body(ROWS["groq"])
    named["messages"][0]["name"] = "alice"
    assert post(client, sims["groq"], named).status_code == 400


def test_rule_perplexity_alternation_exact_body(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {"model": "sonar", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    answer = post(client, sims["perplexity"], body)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "message": "After the (optional) system message(s), user and assistant roles should be alternating.",
            "type": "invalid_message",
            "code": 400,
        }
    }


def test_rule_gemini_errors_are_a_json_array(sims: dict[str, Simulator], client: httpx.Client) -> None:
    answer = post(client, sims["gemini"], {**base_body(ROWS["gemini"]), "web_search_options": {}})
    assert answer.status_code == 400
    assert answer.json()[0]["error"]["status"] == "INVALID_ARGUMENT"
    assert 'Unknown name "web_search_options"' in answer.json()[0]["error"]["message"]


def test_rule_openrouter_numeric_code(sims: dict[str, Simulator], client: httpx.Client) -> None:
    answer = post(client, sims["openrouter"], {**base_body(ROWS["openrouter"]), "model": "gpt-4o-mini"})
    assert answer.json() == {"error": {"message": "gpt-4o-mini is not a valid model ID", "code": 400}}


def test_rule_openai_reasoning_models_take_max_completion_tokens(
    sims: dict[str, Simulator], client: httpx.Client
) -> None:
    body = {**base_body(ROWS["openai-chat"]), "model": "o4-mini"}
    assert post(client, sims["openai-chat"], {**body, "max_completion_tokens": 50}).status_code == 200
    answer = post(client, sims["openai-chat"], {**body, "max_tokens": 50})
    assert answer.json()["error"]["code"] == "unsupported_parameter"


def test_rule_local_servers_take_any_model(sims: dict[str, Simulator], client: httpx.Client) -> None:
    for alias in ("vllm", "lmstudio", "localai", "chat_completions"):
        body = {"model": "whatever/gguf-7b", "messages": [{"role": "user", "content": "hi"}]}
        assert post(client, sims[alias], body, {}).status_code == 200


# --- shapes --------------------------------------------------------------------------------------------------------


def test_shape_same_request_same_answer(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = base_body(ROWS["fireworks"])
    first, second = post(client, sims["fireworks"], body), post(client, sims["fireworks"], body)
    assert first.content == second.content


def test_shape_request_id_headers(sims: dict[str, Simulator], client: httpx.Client) -> None:
    assert post(client, sims["openai-chat"], base_body(ROWS["openai-chat"])).headers["x-request-id"].startswith("req_")
    assert "mistral-correlation-id" in post(client, sims["mistral"], base_body(ROWS["mistral"])).headers


def test_shape_stream_tool_call_fragments_by_index(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Use get_weather for Paris and Tokyo in parallel."}],
    }
    payloads = sse_payloads(post(client, sims["openai-chat"], body).text)
    fragments = [tc for p in payloads for c in p["choices"] for tc in c["delta"].get("tool_calls", [])]
    assert {f["index"] for f in fragments} == {0, 1}
    heads = [f for f in fragments if "id" in f]
    assert [h["function"]["name"] for h in heads] == ["get_weather", "get_weather"]
    args = {i: "".join(f["function"].get("arguments", "") for f in fragments if f["index"] == i) for i in (0, 1)}
    assert [json.loads(a)["city"] for a in args.values()] == ["Paris", "Tokyo"]
    assert payloads[-1]["choices"] == [] and payloads[-1]["usage"]["total_tokens"] > 0
    assert all(p["usage"] is None for p in payloads[:-1])


def test_shape_groq_x_groq_usage(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {"model": "llama-3.3-70b-versatile", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    payloads = sse_payloads(post(client, sims["groq"], body).text)
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"
    assert payloads[-1]["x_groq"]["usage"]["completion_tokens"] == 3


def test_shape_mistral_stream_usage_and_whole_tool_calls(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {
        "model": "mistral-small-latest",
        "stream": True,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "Use get_weather for Paris"}],
    }
    payloads = sse_payloads(post(client, sims["mistral"], body).text)
    calls = [tc for p in payloads for tc in p["choices"][0]["delta"].get("tool_calls", [])]
    assert len(calls) == 1 and re.fullmatch(r"[a-zA-Z0-9]{9}", calls[0]["id"])
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert payloads[-1]["usage"]["prompt_tokens"] > 0


def test_shape_gemini_stream_omits_index_and_finishes_stop(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {**base_body(ROWS["gemini"]), "stream": True}
    body["messages"] = body["messages"][:1]
    payloads = sse_payloads(post(client, sims["gemini"], body).text)
    calls = [tc for p in payloads for tc in p["choices"][0]["delta"].get("tool_calls", [])]
    assert calls and all("index" not in c for c in calls)
    assert payloads[-1]["choices"][0]["finish_reason"] == "stop"


def test_shape_openrouter_comments_and_together_eos(sims: dict[str, Simulator], client: httpx.Client) -> None:
    body = {"model": "openai/gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    assert post(client, sims["openrouter"], body).text.startswith(": OPENROUTER PROCESSING\n\n")
    together = {"model": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "messages": [{"role": "user", "content": "hi"}]}
    assert post(client, sims["together"], together).json()["choices"][0]["finish_reason"] == "eos"


def test_shape_unicode_echoed_and_usage_counted(sims: dict[str, Simulator], client: httpx.Client) -> None:
    text = "Grüße aus Zürich — 東京 🌸"
    answer = post(client, sims["deepseek"], {"model": "deepseek-chat", "messages": [{"role": "user", "content": text}]})
    assert answer.json()["choices"][0]["message"]["content"] == f"You said: {text}"
    usage = answer.json()["usage"]
    assert usage["completion_tokens"] == count_tokens(f"You said: {text}")
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


# --- the model ----------------------------------------------------------------------------------------------------


def _prompt(text: str, **options: Any) -> Prompt:
    tools = (Tool("get_weather", "", WEATHER["function"]["parameters"]), Tool("get_time", "", {}))
    return Prompt(turns=(Turn("user", text),), tools=tools, **options)


def test_model_calls_a_tool_only_when_asked() -> None:
    assert respond(_prompt("Hello!")).calls == ()
    assert [c.name for c in respond(_prompt("Please use a tool")).calls] == ["get_weather"]
    assert [c.name for c in respond(_prompt("What does get_time say?")).calls] == ["get_time"]
    assert respond(_prompt("use get_time", tool_mode="none")).calls == ()


def test_model_tool_choice_forces_a_call() -> None:
    assert [c.name for c in respond(_prompt("Hello!", tool_mode="required")).calls] == ["get_weather"]
    forced = respond(_prompt("Hello!", tool_mode="named", forced_tool="get_time"))
    assert [c.name for c in forced.calls] == ["get_time"] and forced.finish == "tool_calls"


def test_model_parallel_calls_unless_switched_off() -> None:
    both = respond(_prompt("Call get_weather and get_time in parallel"))
    assert [c.name for c in both.calls] == ["get_weather", "get_time"]
    assert len(respond(_prompt("Call get_weather and get_time in parallel", parallel_tool_calls=False)).calls) == 1


def test_model_text_after_tool_results() -> None:
    turns = (Turn("user", "use get_weather"), Turn("assistant", calls=()), Turn("tool", "18 °C", call_id="x"))
    reply = respond(Prompt(turns=turns, tools=(Tool("get_weather"),)))
    assert reply.calls == () and "18 °C" in reply.text


def test_model_stop_and_max_tokens() -> None:
    counted = respond(Prompt(turns=(Turn("user", "count from 1 to 10"),), stop=("4",)))
    assert (counted.text, counted.finish, counted.stop_sequence) == ("1, 2, 3, ", "stop", "4")
    long = respond(Prompt(turns=(Turn("user", "write a long story"),), max_tokens=7))
    assert long.finish == "length" and long.completion_tokens == 7 == count_tokens(long.text)


def test_model_json_output() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 2, "maxItems": 3},
            "score": {"type": "integer", "minimum": 5, "maximum": 9},
            "nested": {"$ref": "#/$defs/Inner"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "number", "exclusiveMinimum": 0}]},
        },
        "required": ["name", "tags", "score", "nested"],
        "$defs": {"Inner": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}},
    }
    data = json.loads(respond(Prompt(turns=(Turn("user", "a person"),), json_schema=schema, json_output=True)).text)
    assert set(data) == {"name", "tags", "score", "nested", "maybe"}
    assert len(data["tags"]) == 2 and set(data["tags"]) <= {"a", "b"}
    assert 5 <= data["score"] <= 9 and data["nested"] == {"ok": True} and data["maybe"] > 0
    assert json.loads(respond(Prompt(turns=(Turn("user", "hi"),), json_output=True)).text) == {"answer": "You said: hi"}


def test_model_arguments_use_the_users_words() -> None:
    args = synthesize(WEATHER["function"]["parameters"], words=["Zürich"], context="in fahrenheit")
    assert args == {"city": "Zürich", "unit": "fahrenheit"}


def test_model_say_exactly() -> None:
    assert respond(Prompt(turns=(Turn("user", 'Say exactly: "ünïcödé ✓"'),))).text == "ünïcödé ✓"


# --- the serve command --------------------------------------------------------------------------------------------


def test_serve_command_prints_the_base_url_and_serves() -> None:
    code = "from conformance.cli import main; main(['serve', '--provider', 'groq', '--port', '0'])"
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            base_url = re.search(r"http://127\.0\.0\.1:\d+/openai/v1", line)
            assert base_url, line
            answer = httpx.get(f"{base_url.group()}/models", headers={"authorization": f"Bearer {KEY}"})
            assert answer.status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def test_serve_command_refuses_an_unknown_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert conform_main(["serve", "--provider", "nope"]) == 2
    assert "groq" in capsys.readouterr().err
