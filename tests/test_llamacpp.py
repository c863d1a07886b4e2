"""llama.cpp's real `llama-server` with the tiny deterministic model: the model file and the server's answers.

The binary is built once per machine by `python scripts/llamacpp.py build` (CI's first step); a missing binary fails
these tests with that command rather than skipping them."""

from __future__ import annotations

import pathlib

import httpx
import pytest

from conformance import llamacpp

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
