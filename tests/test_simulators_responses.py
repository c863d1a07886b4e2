"""The OpenAI Responses simulator (alias `openai`) over real HTTP: every refusal rule, auth, every fault, the answer
and stream shapes, stored responses and `previous_response_id`; the official `openai` SDK as an independent oracle
(its client parses every answer and stream, its response and event models validate the raw bodies, its exception
classes match every error); and Allos end to end (sync, async, stream, async stream), written apart from the
simulator, so agreement means something."""

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
from conformance.simulators.chat_completions_rules import OPENAI_ERRORS, Refusal
from conformance.simulators.responses import to_prompt
from conformance.simulators.responses_rules import (
    ITEM_FIELDS,
    OPENAI_RESPONSES,
    RESPONSE_FIELDS,
    RESPONSES_ALIASES,
    Incoming,
    Rule,
)

openai = pytest.importorskip("openai")
from openai.types.responses import Response, ResponseStreamEvent  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402

pytestmark = pytest.mark.network

KEY = "test-key-0123456789"
ROW = OPENAI_RESPONSES
MODEL = "gpt-4o-mini"  # the registry's default for the alias
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
    "strict": False,
}
TIME = {
    "type": "function",
    "name": "get_time",
    "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    "strict": False,
}
ASK = "What is the weather in Paris? Use the get_weather tool."
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
EVENTS = TypeAdapter(ResponseStreamEvent)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("openai") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, transport=httpx.HTTPTransport(socket_options=NODELAY)) as c:
        yield c


@pytest.fixture
def oai(sim: Simulator) -> Iterator[Any]:
    import httpx2

    http = httpx2.Client(transport=httpx2.HTTPTransport(socket_options=NODELAY))
    with openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0, http_client=http) as sdk:
        yield sdk


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def auth(key: str = KEY, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", **extra}


def base_body() -> dict[str, Any]:
    """A valid tool round trip: the ask, the model's function_call, its output."""
    return {
        "model": MODEL,
        "instructions": "Be brief.",
        "tools": [json.loads(json.dumps(WEATHER))],
        "max_output_tokens": 64,
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": ASK}]},
            {"type": "function_call", "call_id": "call_base", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "call_base", "output": "18 degrees"},
        ],
    }


def post(client: httpx.Client, sim: Simulator, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(f"{sim.base_url}/responses", json=body, headers=auth() if headers is None else headers)


def assert_error(answer: httpx.Response, expected: Refusal) -> None:
    """The status, the body exactly in OpenAI's shape, and an `x-request-id`."""
    assert answer.status_code == expected.status, answer.text
    assert answer.json() == OPENAI_ERRORS.render(expected)
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert re.fullmatch(r"req_[0-9a-f]{32}", answer.headers["x-request-id"])


def events(text: str) -> list[dict[str, Any]]:
    """The parsed data of every SSE event; the `event:` name always equals the data's `type`."""
    out = []
    for raw in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in raw.splitlines())
        payload = json.loads(lines["data"])
        assert payload["type"] == lines["event"]
        out.append(payload)
    return out


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


# --- registration and contract data -------------------------------------------------------------------------------


def test_registered_with_the_registry_base_path_and_default_model(sim: Simulator) -> None:
    spec = allos.providers.get_spec("openai")
    assert simulated_aliases("responses") == sorted(row.name for row in RESPONSES_ALIASES)
    assert sim.base_url.endswith("/v1") and sim.entry.protocol == "responses"
    assert ROW.base_url == spec.base_url
    assert ROW.accepts_model(spec.default_model)


@pytest.mark.parametrize("row", RESPONSES_ALIASES, ids=lambda row: row.name)
def test_every_rule_cites_a_source_and_is_documented(row: Any) -> None:
    assert all(rule.source for rule in row.rules)
    assert row.auth.source and all(row.sources.values())
    docs = (Path(__file__).parents[1] / "docs" / "simulators.md").read_text(encoding="utf-8")
    section = docs[docs.index(f"#### {row.name} (`{row.base_url}`") :]
    for rule in row.rules:
        assert f"| `{rule.name}` |" in section, f"{rule.name} is not in docs/simulators.md"


def test_known_fields_are_the_sdks_request_fields() -> None:
    """The rule's field list equals `ResponseCreateParams` of the installed SDK (the oracle it was copied from)."""
    from openai.types.responses import response_create_params as params

    fields = set(params.ResponseCreateParamsStreaming.__annotations__)
    for cls in params.ResponseCreateParamsBase.__mro__:
        fields |= set(getattr(cls, "__annotations__", {}))
    assert fields == RESPONSE_FIELDS
    assert not {"stop", "seed", "max_tokens", "response_format", "messages"} & RESPONSE_FIELDS


def test_item_fields_are_the_sdks_item_fields() -> None:
    from openai.types.responses import (
        easy_input_message_param,
        response_function_tool_call_param,
        response_input_param,
        response_output_message_param,
    )

    message = (
        set(easy_input_message_param.EasyInputMessageParam.__annotations__)
        | set(response_input_param.Message.__annotations__)
        | set(response_output_message_param.ResponseOutputMessageParam.__annotations__)
    )
    assert ITEM_FIELDS["message"] == message
    assert ITEM_FIELDS["function_call"] == set(
        response_function_tool_call_param.ResponseFunctionToolCallParam.__annotations__
    )
    assert ITEM_FIELDS["function_call_output"] == set(response_input_param.FunctionCallOutput.__annotations__)


# --- every refusal rule, over HTTP --------------------------------------------------------------------------------

RULES = list(enumerate(ROW.rules))


@pytest.mark.parametrize(("index", "rule"), RULES, ids=[rule.name for _, rule in RULES])
def test_rule_refuses_with_openais_body(sim: Simulator, client: httpx.Client, index: int, rule: Rule) -> None:
    good = base_body()
    assert post(client, sim, good).status_code == 200
    bad = rule.violate(good)
    incoming = Incoming(bad, {}, ROW, {})
    expected = rule.check(incoming)
    assert expected is not None, "the violation does not break the rule"
    for earlier in ROW.rules[:index]:
        assert earlier.check(incoming) is None, f"{earlier.name} refuses first"
    assert_error(post(client, sim, bad), expected)


def test_rule_stop_is_no_field(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, {"model": MODEL, "input": "count to 20", "stop": ["11"]})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": {
            "message": "Unknown parameter: 'stop'.",
            "type": "invalid_request_error",
            "param": "stop",
            "code": "unknown_parameter",
        }
    }


def test_rule_max_output_tokens_minimum_exact_body(sim: Simulator, client: httpx.Client) -> None:
    assert post(client, sim, {"model": MODEL, "input": "hi", "max_output_tokens": 16}).status_code == 200
    answer = post(client, sim, {"model": MODEL, "input": "hi", "max_output_tokens": 10})
    assert error_of(answer) == {
        "message": "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10"
        " instead.",
        "type": "invalid_request_error",
        "param": "max_output_tokens",
        "code": "integer_below_min_value",
    }


def test_rule_chat_completions_shapes_are_refused(sim: Simulator, client: httpx.Client) -> None:
    chat_tool = {"model": MODEL, "input": "hi", "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert error_of(post(client, sim, chat_tool))["message"] == "Missing required parameter: 'tools[0].name'."
    chat_message = {"model": MODEL, "input": [{"role": "tool", "tool_call_id": "call_1", "content": "x"}]}
    assert error_of(post(client, sim, chat_message))["param"] == "input[0].role"
    for name in ("max_tokens", "response_format", "messages", "seed"):
        assert error_of(post(client, sim, {"model": MODEL, "input": "hi", name: 1}))["code"] == "unknown_parameter"
    nested = {"model": MODEL, "input": [{"role": "user", "content": "hi", "name": "ada"}]}
    assert error_of(post(client, sim, nested))["message"] == "Unknown parameter: 'input[0].name'."


def test_rule_assistant_history_takes_string_or_output_text(sim: Simulator, client: httpx.Client) -> None:
    def history(content: Any) -> dict[str, Any]:
        turns = [{"role": "user", "content": "I am Ada."}, {"role": "assistant", "content": content}]
        return {"model": MODEL, "input": [*turns, {"role": "user", "content": "Who am I?"}]}

    assert post(client, sim, history("Hello Ada!")).status_code == 200
    assert post(client, sim, history([{"type": "output_text", "text": "Hello Ada!"}])).status_code == 200
    answer = post(client, sim, history([{"type": "input_text", "text": "Hello Ada!"}]))
    assert error_of(answer) == {
        "message": "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.",
        "type": "invalid_request_error",
        "param": "input[1].content[0]",
        "code": "invalid_value",
    }


def test_rule_item_ids_must_be_the_servers(sim: Simulator, client: httpx.Client) -> None:
    body = base_body()
    body["input"][1]["id"] = "fc_" + "1" * 48
    assert post(client, sim, body).status_code == 200
    body["input"][1]["id"] = "call_base"
    assert error_of(post(client, sim, body))["message"] == (
        "Invalid 'input[1].id': 'call_base'. Expected an ID that begins with 'fc'."
    )


def test_rule_strict_tools_need_closed_schemas(sim: Simulator, client: httpx.Client) -> None:
    strict: dict[str, Any] = {**WEATHER, "strict": True}
    body = {"model": MODEL, "input": ASK, "tools": [strict]}
    assert error_of(post(client, sim, body)) == {
        "message": "Invalid schema for function 'get_weather': In context=(), 'additionalProperties' is required to"
        " be supplied and to be false.",
        "type": "invalid_request_error",
        "param": "tools[0].parameters",
        "code": "invalid_function_parameters",
    }
    strict["parameters"] = {**strict["parameters"], "additionalProperties": False}
    assert "Missing 'unit'" in error_of(post(client, sim, body))["message"]
    strict["parameters"]["required"] = ["city", "unit"]
    assert post(client, sim, body).json()["output"][0]["type"] == "function_call"
    fmt = {"type": "json_schema", "name": "cat", "strict": True, "schema": {"type": "object", "properties": {}}}
    answer = post(client, sim, {"model": MODEL, "input": "a cat", "text": {"format": fmt}})
    assert error_of(answer)["code"] == "invalid_json_schema"


def test_rule_previous_response_must_be_stored(sim: Simulator, client: httpx.Client) -> None:
    kept = post(client, sim, {"model": MODEL, "input": "remember me"}).json()["id"]
    assert post(client, sim, {"model": MODEL, "input": "and now?", "previous_response_id": kept}).status_code == 200
    unstored = post(client, sim, {"model": MODEL, "input": "forget me", "store": False}).json()
    assert unstored["store"] is False
    answer = post(client, sim, {"model": MODEL, "input": "and now?", "previous_response_id": unstored["id"]})
    assert error_of(answer) == {
        "message": f"Previous response with id '{unstored['id']}' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }


def test_rule_tool_pairing_reaches_into_the_stored_response(sim: Simulator, client: httpx.Client) -> None:
    first = post(client, sim, {"model": MODEL, "input": ASK, "tools": [WEATHER]}).json()
    call_id = first["output"][0]["call_id"]
    follow = {"model": MODEL, "tools": [WEATHER], "previous_response_id": first["id"]}
    unanswered = post(client, sim, {**follow, "input": "never mind"})
    assert error_of(unanswered) == {
        "message": f"No tool output found for function call {call_id}.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    orphan = {"type": "function_call_output", "call_id": "call_nothing", "output": "x"}
    assert error_of(post(client, sim, {**follow, "input": [orphan]})) == {
        "message": "No tool call found for function call output with call_id call_nothing.",
        "type": "invalid_request_error",
        "param": "input",
        "code": None,
    }
    answered = post(client, sim, {**follow, "input": [{**orphan, "call_id": call_id, "output": "18 degrees"}]})
    assert answered.json()["output"][0]["content"][0]["text"] == "Here is what the tool returned: 18 degrees"


# --- auth -------------------------------------------------------------------------------------------------------


def test_auth_missing_and_invalid_key(sim: Simulator, client: httpx.Client) -> None:
    missing, invalid = ROW.auth.missing, ROW.auth.invalid
    assert missing is not None and invalid is not None
    assert_error(post(client, sim, base_body(), {}), missing)
    assert_error(post(client, sim, base_body(), auth("an-invalid-key-123")), invalid)
    assert error_of(post(client, sim, base_body(), auth("an-invalid-key-123")))["code"] == "invalid_api_key"
    assert client.get(f"{sim.base_url}/models").status_code == 401


def test_unknown_model_and_path(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, {"model": "allos-no-such-model", "input": "hi"})
    assert answer.status_code == 404 and error_of(answer)["code"] == "model_not_found"
    missing = client.post(f"{sim.base_url}/chat/completions", json={}, headers=auth())
    assert missing.status_code == 404 and error_of(missing)["message"] == "Invalid URL (POST /v1/chat/completions)"


# --- faults ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503, 529])
def test_fault_status_in_openais_shape(sim: Simulator, client: httpx.Client, status: int) -> None:
    answer = post(client, sim, base_body(), auth(**{FAULT_HEADER: str(status)}))
    assert answer.status_code == status
    assert set(error_of(answer)) == {"message", "type", "param", "code"}
    if status == 429:
        assert answer.headers["retry-after"] == "1" and error_of(answer)["code"] == "rate_limit_exceeded"
    else:
        assert error_of(answer)["type"] == "server_error"


def test_fault_needs_a_valid_key_first(sim: Simulator, client: httpx.Client) -> None:
    assert post(client, sim, base_body(), {FAULT_HEADER: "429"}).status_code == 401


def test_fault_malformed_body_and_stream_line(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, base_body(), auth(**{FAULT_HEADER: "malformed"}))
    assert answer.status_code == 200
    with pytest.raises(ValueError):
        answer.json()
    streamed = post(client, sim, {**base_body(), "stream": True}, auth(**{FAULT_HEADER: "malformed"}))
    with pytest.raises(ValueError):
        events(streamed.text)


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_cut_drops_the_connection_halfway(sim: Simulator, client: httpx.Client, stream: bool) -> None:
    body = {"model": MODEL, "input": "write a long story", "stream": stream}
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, sim, body, auth(**{FAULT_HEADER: "cut"}))


def test_fault_stream_error_event_after_a_200(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": MODEL, "input": "write a long story", "stream": True}
    answer = post(client, sim, body, auth(**{FAULT_HEADER: "stream-error"}))
    assert answer.status_code == 200
    payloads = events(answer.text)
    last = payloads[-1]
    assert last["type"] == "error" and last["code"] == "server_is_overloaded"
    assert last["error"] == {
        "type": "service_unavailable_error",
        "code": "server_is_overloaded",
        "message": "Our servers are currently overloaded. Please try again later.",
        "param": None,
    }
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert not any(p["type"].startswith("response.completed") for p in payloads) and "[DONE]" not in answer.text
    EVENTS.validate_python(last)


def test_fault_slow_first_byte_and_the_queue() -> None:
    with Simulator("openai", slow_seconds=0.3) as sim, httpx.Client() as client:
        sim.inject("slow", "429")
        started = time.monotonic()
        assert post(client, sim, base_body()).status_code == 200
        assert time.monotonic() - started >= 0.3
        assert [post(client, sim, base_body()).status_code for _ in range(2)] == [429, 200]


def test_faulted_answers_are_not_stored(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": MODEL, "input": "a stored answer?", "stream": True}
    cut = post(client, sim, body, auth(**{FAULT_HEADER: "stream-error"}))
    response_id = events(cut.text)[0]["response"]["id"]
    assert client.get(f"{sim.base_url}/responses/{response_id}", headers=auth()).status_code == 404
    post(client, sim, body)
    assert client.get(f"{sim.base_url}/responses/{response_id}", headers=auth()).json()["status"] == "completed"


# --- shapes -------------------------------------------------------------------------------------------------------


def test_shape_response_ids_usage_and_determinism(sim: Simulator, client: httpx.Client) -> None:
    text = "Grüße aus Zürich — 東京 🌸"
    first = post(client, sim, {"model": MODEL, "input": text})
    assert first.content == post(client, sim, {"model": MODEL, "input": text}).content
    assert re.fullmatch(r"req_[0-9a-f]{32}", first.headers["x-request-id"])
    body = Response.model_validate(first.json())
    assert re.fullmatch(r"resp_[0-9a-f]{48}", body.id) and body.object == "response"
    assert body.status == "completed" and body.model == "gpt-4o-mini-2024-07-18"
    assert body.output_text == f"You said: {text}"
    message = first.json()["output"][0]
    assert re.fullmatch(r"msg_[0-9a-f]{48}", message["id"]) and message["status"] == "completed"
    assert message["content"][0] == {"type": "output_text", "annotations": [], "logprobs": [], "text": body.output_text}
    assert body.usage is not None and body.usage.total_tokens == body.usage.input_tokens + body.usage.output_tokens
    assert "output_text" not in first.json()  # an SDK convenience, never on the wire


def test_shape_max_output_tokens_gives_incomplete(sim: Simulator, client: httpx.Client) -> None:
    body = post(client, sim, {"model": MODEL, "input": "write a long story", "max_output_tokens": 16}).json()
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete" and body["usage"]["output_tokens"] == 16
    assert body["completed_at"] is None


def test_shape_tool_calls_parallel_named_none_required(sim: Simulator, client: httpx.Client) -> None:
    both = {"model": MODEL, "input": "Call get_weather for Paris and Tokyo in parallel.", "tools": [WEATHER]}
    calls = post(client, sim, both).json()["output"]
    assert [json.loads(c["arguments"])["city"] for c in calls] == ["Paris", "Tokyo"]
    assert all(re.fullmatch(r"fc_[0-9a-f]{48}", c["id"]) for c in calls)
    assert all(re.fullmatch(r"call_[0-9A-Za-z]{24}", c["call_id"]) for c in calls)
    assert len(post(client, sim, {**both, "parallel_tool_calls": False}).json()["output"]) == 1
    choice = {"type": "function", "name": "get_time"}
    named = {"model": MODEL, "input": "hello", "tools": [WEATHER, TIME], "tool_choice": choice}
    answer = post(client, sim, named).json()
    assert answer["output"][0]["name"] == "get_time" and answer["tool_choice"] == choice
    none = post(client, sim, {"model": MODEL, "input": ASK, "tools": [WEATHER], "tool_choice": "none"}).json()
    assert none["output"][0]["type"] == "message"
    required = {"model": MODEL, "input": "hello", "tools": [WEATHER], "tool_choice": "required"}
    assert post(client, sim, required).json()["output"][0]["type"] == "function_call"


def test_shape_json_output_and_instructions(sim: Simulator, client: httpx.Client) -> None:
    plain = {"model": MODEL, "input": "a cat as JSON", "text": {"format": {"type": "json_object"}}}
    assert json.loads(post(client, sim, plain).json()["output"][0]["content"][0]["text"]) == {
        "answer": "You said: a cat as JSON"
    }
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "cat", "schema": schema, "strict": True}
    answer = post(client, sim, {"model": MODEL, "input": "Describe a cat", "text": {"format": fmt}}).json()
    assert set(json.loads(answer["output"][0]["content"][0]["text"])) == {"name", "age"}
    assert answer["text"]["format"] == fmt
    said = {"model": MODEL, "instructions": 'Say exactly "PINEAPPLE"', "input": "hello"}
    first = post(client, sim, said).json()
    assert first["output"][0]["content"][0]["text"] == "PINEAPPLE" and first["instructions"] == said["instructions"]
    # Instructions are not carried over from the previous response [OAS CreateResponse.instructions].
    second = post(client, sim, {"model": MODEL, "input": "hi again", "previous_response_id": first["id"]}).json()
    assert second["output"][0]["content"][0]["text"] == "You said: hi again" and second["instructions"] is None


def test_shape_stream_events_in_order(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": MODEL, "input": "hello there"}
    whole = post(client, sim, body).json()
    payloads = events(post(client, sim, {**body, "stream": True}).text)
    kinds = [p["type"] for p in payloads]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert payloads[0]["response"]["status"] == "in_progress" and payloads[0]["response"]["output"] == []
    assert "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta") == "You said: hello there"
    final = payloads[-1]["response"]
    # The stream is another request (`stream: true`), so its ids differ; everything else is the same.
    assert [{**item, "id": None} for item in final["output"]] == [{**item, "id": None} for item in whole["output"]]
    assert final["usage"] == whole["usage"] and final["status"] == whole["status"] == "completed"
    for payload in payloads:
        EVENTS.validate_python(payload)


def test_shape_streamed_tool_calls_and_incomplete(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": MODEL, "input": "Call get_weather for Paris and Tokyo in parallel.", "tools": [WEATHER]}
    payloads = events(post(client, sim, {**body, "stream": True}).text)
    for index, city in enumerate(["Paris", "Tokyo"]):
        added = next(p for p in payloads if p["type"] == "response.output_item.added" and p["output_index"] == index)
        assert added["item"]["arguments"] == "" and added["item"]["status"] == "in_progress"
        pieces = [
            p["delta"]
            for p in payloads
            if p["type"] == "response.function_call_arguments.delta" and p["output_index"] == index
        ]
        done = next(
            p for p in payloads if p["type"] == "response.function_call_arguments.done" and p["output_index"] == index
        )
        assert "".join(pieces) == done["arguments"] and json.loads(done["arguments"])["city"] == city
        assert done["item_id"] == added["item"]["id"] and done["name"] == "get_weather"
    short = {"model": MODEL, "input": "write a long story", "max_output_tokens": 16, "stream": True}
    tail = events(post(client, sim, short).text)
    assert tail[-1]["type"] == "response.incomplete" and tail[-1]["response"]["status"] == "incomplete"
    for payload in payloads + tail:
        EVENTS.validate_python(payload)


def test_to_prompt_reads_history_instructions_and_outputs() -> None:
    prompt = to_prompt(base_body())
    assert [t.role for t in prompt.turns] == ["system", "user", "assistant", "tool"]
    assert prompt.turns[2].calls[0].id == "call_base" and prompt.turns[3].text == "18 degrees"
    assert prompt.max_tokens == 64 and prompt.tools[0].name == "get_weather"


# --- the openai SDK as the oracle -----------------------------------------------------------------------------------


def test_sdk_chat_body_validates_and_parses(oai: Any) -> None:
    raw = oai.responses.with_raw_response.create(model=MODEL, input="Grüße, 東京!", instructions="Be kind.")
    Response.model_validate(json.loads(raw.content))
    answer = raw.parse()
    assert answer.output_text == "You said: Grüße, 東京!" and answer.usage.output_tokens == 4
    assert oai.responses.retrieve(answer.id).output_text == answer.output_text
    assert MODEL in [m.id for m in oai.models.list()]


def test_sdk_tool_round_trip_both_ways(oai: Any) -> None:
    first = oai.responses.create(model=MODEL, input=ASK, tools=[WEATHER])
    call = first.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris", "unit": "celsius"}
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "18 degrees"}
    chained = oai.responses.create(model=MODEL, previous_response_id=first.id, input=[result], tools=[WEATHER])
    assert chained.output_text == "Here is what the tool returned: 18 degrees"
    replayed = [{"role": "user", "content": ASK}, call.model_dump(exclude_none=True), result]
    whole = oai.responses.create(model=MODEL, input=replayed, tools=[WEATHER], store=False)
    assert whole.output_text == chained.output_text and whole.store is False


def test_sdk_streams_text_and_tool_calls(oai: Any) -> None:
    with oai.responses.create(model=MODEL, input="write a long story", stream=True) as stream:
        seen = list(stream)
    assert seen[-1].type == "response.completed"
    assert "".join(e.delta for e in seen if e.type == "response.output_text.delta") == seen[-1].response.output_text
    with oai.responses.stream(model=MODEL, input=ASK, tools=[WEATHER]) as helper:
        final = helper.get_final_response()
    assert final.output[0].name == "get_weather" and json.loads(final.output[0].arguments)["city"] == "Paris"


ERROR_CASES = [
    ({"api_key": "invalid-key-123"}, "AuthenticationError"),
    ({"model": "nope"}, "NotFoundError"),
    ({"extra_body": {"stop": ["x"]}}, "BadRequestError"),
    ({"previous_response_id": "resp_unknown"}, "BadRequestError"),
    ({"max_output_tokens": 8}, "BadRequestError"),
    ({"fault": "429"}, "RateLimitError"),
    ({"fault": "500"}, "InternalServerError"),
    ({"fault": "503"}, "InternalServerError"),
    ({"fault": "529"}, "InternalServerError"),
]


@pytest.mark.parametrize(("case", "exception"), ERROR_CASES, ids=[f"{e}-{i}" for i, (_, e) in enumerate(ERROR_CASES)])
def test_sdk_maps_every_error(sim: Simulator, case: dict[str, Any], exception: str) -> None:
    options = {k: v for k, v in case.items() if k not in ("api_key", "fault", "model")}
    fault = {FAULT_HEADER: case["fault"]} if "fault" in case else None
    with openai.OpenAI(base_url=sim.base_url, api_key=case.get("api_key", KEY), max_retries=0) as sdk:
        with pytest.raises(getattr(openai, exception)) as caught:
            sdk.responses.create(model=case.get("model", MODEL), input="hi", extra_headers=fault, **options)
    assert caught.value.request_id.startswith("req_")
    if case.get("fault") == "429":
        assert caught.value.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("fault", ["stream-error", "malformed", "cut"])
def test_sdk_sees_broken_streams(sim: Simulator, fault: str) -> None:
    expected = {"stream-error": openai.APIError, "malformed": json.JSONDecodeError, "cut": Exception}[fault]
    with openai.OpenAI(base_url=sim.base_url, api_key=KEY, max_retries=0) as sdk:
        with pytest.raises(expected) as caught:
            stream = sdk.responses.create(
                model=MODEL, input="write a long story", stream=True, extra_headers={FAULT_HEADER: fault}
            )
            with stream:
                list(stream)
    if fault == "stream-error":
        assert "overloaded" in str(caught.value)


# --- Allos against the simulator ------------------------------------------------------------------------------------

TOOL = {"name": "get_weather", "description": "Current weather", "parameters": WEATHER["parameters"]}


@pytest.fixture
def provider(sim: Simulator) -> Iterator[Any]:
    http = httpx.Client(transport=httpx.HTTPTransport(socket_options=NODELAY))
    with allos.get_provider("openai", base_url=sim.base_url, api_key=KEY, max_retries=0, http_client=http) as p:
        yield p
    http.close()


def _history(call: Any) -> list[Any]:
    return [
        allos.Message(role="user", content=ASK),
        allos.Message(role="assistant", tool_calls=[call]),
        allos.Message(role="tool", tool_call_id=call.id, content="18 degrees"),
    ]


def test_allos_tool_round_trip_sync_and_stream(provider: Any) -> None:
    ask = [allos.Message(role="user", content=ASK)]
    first = provider.chat(ask, tools=[TOOL])
    assert first.finish_reason == "tool_calls" and first.id.startswith("resp_")
    call = first.tool_calls[0]
    assert call.name == "get_weather" and call.arguments["city"] == "Paris" and call.id.startswith("call_")
    second = provider.chat(_history(call), tools=[TOOL])
    assert second.text == "Here is what the tool returned: 18 degrees" and second.finish_reason == "stop"
    streamed = list(provider.stream(ask, tools=[TOOL]))[-1].response
    assert streamed.tool_calls[0].arguments == call.arguments and streamed.finish_reason == "tool_calls"
    answer = list(provider.stream(_history(call), tools=[TOOL]))[-1].response
    assert answer.text == second.text and answer.usage.output_tokens > 0
    chained = provider.chat(_history(call), tools=[TOOL], previous_response_id=first.id)
    assert chained.text == second.text


@pytest.mark.anyio
async def test_allos_tool_round_trip_async_and_async_stream(sim: Simulator) -> None:
    async with allos.get_provider("openai", base_url=sim.base_url, api_key=KEY, max_retries=0) as provider:
        ask = [allos.Message(role="user", content=ASK)]
        first = await provider.achat(ask, tools=[TOOL])
        call = first.tool_calls[0]
        second = await provider.achat(_history(call), tools=[TOOL])
        assert "18 degrees" in second.text
        events_seen = [event async for event in provider.astream(ask, tools=[TOOL])]
        assert events_seen[-1].response.tool_calls[0].arguments == call.arguments
        final = [event async for event in provider.astream(_history(call), tools=[TOOL])][-1].response
        assert final.text == second.text


def test_allos_length_finish_and_errors(sim: Simulator, provider: Any) -> None:
    long = provider.chat([allos.Message(role="user", content="write a long story")], max_tokens=16)
    assert long.finish_reason == "length" and long.usage.output_tokens == 16
    with allos.get_provider("openai", base_url=sim.base_url, api_key="invalid-key-123456", max_retries=0) as bad:
        with pytest.raises(errors.AuthenticationError):
            bad.chat([allos.Message(role="user", content="hi")])
    with pytest.raises(errors.NotFoundError):
        provider.chat([allos.Message(role="user", content="hi")], model="allos-no-such-model")
    with pytest.raises(errors.BadRequestError):
        provider.chat([allos.Message(role="user", content="hi")], previous_response_id="resp_unknown")


@pytest.mark.parametrize(
    ("fault", "call", "error"),
    [
        ("stream-error", "stream", errors.ServerError),  # server_is_overloaded inside a 200 stream
        ("cut", "stream", errors.IncompleteStreamError),
        ("malformed", "chat", errors.ResponseParseError),
        ("429", "chat", errors.RateLimitError),
        ("529", "stream", errors.ServerError),
    ],
)
def test_allos_maps_every_fault(sim: Simulator, fault: str, call: str, error: type[Exception]) -> None:
    with allos.get_provider(
        "openai", base_url=sim.base_url, api_key=KEY, max_retries=0, headers={FAULT_HEADER: fault}
    ) as provider:
        ask = [allos.Message(role="user", content="write a long story")]
        with pytest.raises(error) as caught:
            provider.chat(ask) if call == "chat" else list(provider.stream(ask))
    if fault == "429":
        assert isinstance(caught.value, errors.RateLimitError) and caught.value.retry_after == 1
