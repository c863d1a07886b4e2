"""llama.cpp's real `llama-server` with the tiny deterministic model: the model file and the server's answers.

The binary is built once per machine by `python scripts/llamacpp.py build` (CI's first step); a missing binary fails
these tests with that command rather than skipping them."""

from __future__ import annotations

import pathlib

import httpx
import pytest

from conformance import llamacpp
from conformance.fidelity import compare_shapes, shape_of
from conformance.simulators import Simulator
from conformance.simulators.anthropic_rules import LLAMACPP_ANTHROPIC
from conformance.simulators.responses_rules import LLAMACPP_RESPONSES

pytestmark = pytest.mark.network


def test_model_is_byte_identical_on_every_run(tmp_path: pathlib.Path) -> None:
    first = llamacpp.write_model(tmp_path / "a.gguf").read_bytes()
    second = llamacpp.write_model(tmp_path / "b.gguf").read_bytes()
    assert first == second
    assert 300_000 < len(first) < 700_000


def _chat(server: llamacpp.Server, **body: object) -> dict[str, object]:
    body.setdefault("messages", [{"role": "user", "content": "hello"}])
    answer = httpx.post(f"{server.base_url}/v1/chat/completions", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    choice: dict[str, object] = answer.json()["choices"][0]
    return choice


def test_plain_chat_gives_the_fixed_reply(llama_server: llamacpp.Server) -> None:
    choice = _chat(llama_server, temperature=1.5)
    assert choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": llamacpp.REPLY}


def test_max_tokens_gives_length(llama_server: llamacpp.Server) -> None:
    assert _chat(llama_server, max_tokens=1)["finish_reason"] == "length"


def test_json_schema_output_matches_the_schema(llama_server: llamacpp.Server) -> None:
    import json

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "n": {"type": "integer"}, "ok": {"type": "boolean"}},
        "required": ["city", "n", "ok"],
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    message = _chat(llama_server, response_format=fmt)["message"]
    assert isinstance(message, dict)
    assert json.loads(message["content"]) == {"city": "a", "n": 1, "ok": True}


def test_required_tool_choice_gives_a_valid_call(llama_server: llamacpp.Server) -> None:
    import json

    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    # parallel_tool_calls false: with parallel calls allowed the grammar never lets this model stop (see the report).
    choice = _chat(llama_server, tools=[tool], tool_choice="required", parallel_tool_calls=False, max_tokens=200)
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert isinstance(message, dict)
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "a"}


def test_a_bad_request_gets_a_typed_400(llama_server: llamacpp.Server) -> None:
    answer = httpx.post(f"{llama_server.base_url}/v1/chat/completions", json={"messages": "nope"}, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"


# --- the other two endpoints, and their simulator rows against the real answers -------------------------------------

#: simulator row -> (path, a valid body): no key, no anthropic-version header, a model name the server never loaded.
ENDPOINTS: dict[str, tuple[str, dict[str, object]]] = {
    LLAMACPP_ANTHROPIC.name: ("/v1/messages", {"model": "any-name", "messages": [{"role": "user", "content": "hi"}]}),
    LLAMACPP_RESPONSES.name: ("/v1/responses", {"model": "any-name", "input": "hi"}),
    "llamacpp": ("/v1/chat/completions", {"model": "any-name", "messages": [{"role": "user", "content": "hi"}]}),
}
BROKEN = [
    (row.name, rule.violate(dict(ENDPOINTS[row.name][1])))
    for row in (LLAMACPP_ANTHROPIC, LLAMACPP_RESPONSES)
    for rule in row.rules
] + [(LLAMACPP_RESPONSES.name, {"model": "any-name", "input": 5})]


def _both(alias: str, body: dict[str, object], server: llamacpp.Server) -> tuple[httpx.Response, httpx.Response]:
    path = ENDPOINTS[alias][0]
    real = httpx.post(f"{server.base_url}{path}", json=body, timeout=30)
    with Simulator(alias) as sim:
        simulated = httpx.post(f"{sim.root_url}{path}", json=body, timeout=30)
    return real, simulated


@pytest.mark.parametrize("alias", ENDPOINTS)
def test_simulator_row_accepts_what_the_server_accepts(alias: str, llama_server: llamacpp.Server) -> None:
    real, simulated = _both(alias, ENDPOINTS[alias][1], llama_server)
    assert (real.status_code, simulated.status_code) == (200, 200), (real.text, simulated.text)


@pytest.mark.parametrize(("alias", "body"), BROKEN, ids=lambda value: value if isinstance(value, str) else "")
def test_simulator_row_refuses_as_the_server_does(
    alias: str, body: dict[str, object], llama_server: llamacpp.Server
) -> None:
    real, simulated = _both(alias, body, llama_server)
    assert real.status_code == simulated.status_code >= 400
    assert real.json() == simulated.json()  # {"error": {"code", "message", "type"}}, word for word


#: where each endpoint takes its output budget
BUDGET = {LLAMACPP_ANTHROPIC.name: "max_tokens", LLAMACPP_RESPONSES.name: "max_output_tokens", "llamacpp": "max_tokens"}


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
@pytest.mark.parametrize("alias", ENDPOINTS)
def test_simulator_row_answers_in_the_servers_shape(alias: str, stream: bool, llama_server: llamacpp.Server) -> None:
    body: dict[str, object] = {**ENDPOINTS[alias][1], BUDGET[alias]: 50, "stream": stream}
    if stream and alias == "llamacpp":
        body["stream_options"] = {"include_usage": True}  # as Allos asks: the usage chunk carries the timings
    real, simulated = _both(alias, body, llama_server)
    shapes = [shape_of(r.content, r.headers.get("content-type", "")) for r in (real, simulated)]
    diff = compare_shapes(*shapes)
    assert diff.agrees, diff.short()


def test_responses_simulator_row_says_completed_for_a_cut_reply(llama_server: llamacpp.Server) -> None:
    body = {**ENDPOINTS[LLAMACPP_RESPONSES.name][1], "max_output_tokens": 1}
    real, simulated = _both(LLAMACPP_RESPONSES.name, body, llama_server)
    assert real.json()["output"][0]["content"][0]["text"] == llamacpp.REPLY[:1]
    assert real.json()["status"] == simulated.json()["status"] == "completed"


def test_messages_ignores_the_output_format(llama_server: llamacpp.Server) -> None:
    # Why llamacpp-anthropic leaves structured_output unclaimed.
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = {**ENDPOINTS[LLAMACPP_ANTHROPIC.name][1], "max_tokens": 50}
    body["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    answer = httpx.post(f"{llama_server.base_url}/v1/messages", json=body, timeout=30).json()
    assert answer["content"] == [{"type": "text", "text": llamacpp.REPLY}]


@pytest.mark.parametrize(
    "fmt", [{"type": "json_object"}, {"type": "json_schema", "name": "x", "schema": {"type": "object"}}]
)
def test_responses_ignores_the_text_format(fmt: dict[str, object], llama_server: llamacpp.Server) -> None:
    # Why llamacpp-responses leaves json_mode and structured_output unclaimed.
    body = {**ENDPOINTS[LLAMACPP_RESPONSES.name][1], "text": {"format": fmt}}
    answer = httpx.post(f"{llama_server.base_url}/v1/responses", json=body, timeout=30).json()
    assert answer["output"][0]["content"][0]["text"] == llamacpp.REPLY


def test_the_server_reports_the_pinned_build(llama_server: llamacpp.Server) -> None:
    # What recordings carry in meta.server (conformance.cassettes.cassette_meta).
    assert llamacpp.reported_build(llama_server.base_url) == (
        f"llama-server (llama-cpp-python {llamacpp.VERSION}, llama.cpp commit {llamacpp.COMMIT})"
    )
    assert llamacpp.reported_build("http://127.0.0.1:9") is None
