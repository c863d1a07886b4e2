"""The Ollama native simulator over real HTTP: every refusal rule, the decoding errors, every fault, the chat, tags,
show and pull shapes; the official `ollama` SDK as an independent oracle (its client parses every answer and stream,
its response models validate the raw bodies, its `ResponseError` carries the right status); and Allos end to end
(sync, async, stream, async stream, and the model management calls), written apart from the simulator, so agreement
means something."""

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
from conformance.simulators.ollama import OLLAMA_ALIASES, go_json, to_prompt
from conformance.simulators.ollama_rules import (
    CHAT_RULES,
    LIBRARY,
    LOCAL_AT_START,
    Incoming,
    Rule,
    canonical_name,
    error_body,
    go_base64_error,
)

ollama = pytest.importorskip("ollama")
from ollama._types import ChatResponse, ListResponse, ProgressResponse, ShowResponse  # noqa: E402

pytestmark = pytest.mark.network

KEY = "test-key-0123456789"
ROW = OLLAMA_ALIASES[0]
DEFAULT_MODEL = "llama3.2"  # the registry's default for the alias
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
TIME = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}},
}
ASK = "What is the weather in Paris? Use the get_weather tool."
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
JSON_TYPE = "application/json; charset=utf-8"
METRICS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator("ollama") as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, transport=httpx.HTTPTransport(socket_options=NODELAY)) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def base_body() -> dict[str, Any]:
    """A valid tool round trip on the default model: the ask, the assistant's tool call, the tool's result."""
    return {
        "model": DEFAULT_MODEL,
        "stream": False,
        "tools": [WEATHER],
        "messages": [
            {"role": "user", "content": ASK},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
            },
            {"role": "tool", "content": "18 degrees", "tool_name": "get_weather"},
        ],
    }


def post(client: httpx.Client, sim: Simulator, body: Any, path: str = "/api/chat", **kw: Any) -> httpx.Response:
    return client.post(f"{sim.base_url}{path}", json=body, **kw)


def lines(response: httpx.Response) -> list[Any]:
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"error": message}


# --- registration --------------------------------------------------------------------------------------------------


def test_registered_with_the_real_base_and_the_registry_default_model(sim: Simulator) -> None:
    assert simulated_aliases("ollama") == ["ollama"]
    assert sim.base_url == sim.root_url  # http://localhost:11434 has no base path; the SDK adds /api/...
    spec = allos.providers.get_spec("ollama")
    assert ROW.base_url == spec.base_url
    assert canonical_name(spec.default_model or "") in LOCAL_AT_START == ROW.local_at_start


def test_every_rule_cites_a_source_and_is_documented() -> None:
    assert all(rule.source and rule.summary for rule in CHAT_RULES)
    docs = (Path(__file__).parents[1] / "docs" / "simulators.md").read_text(encoding="utf-8")
    section = docs[docs.index("## The Ollama native rules") :]
    for rule in CHAT_RULES:
        assert f"| `{rule.name}` | {rule.summary} |" in section, f"{rule.name} is not in docs/simulators.md"


# --- every refusal rule, over HTTP ----------------------------------------------------------------------------------

RULES = list(enumerate(CHAT_RULES))
LOCAL = {card.name: card for card in LIBRARY if card.name in LOCAL_AT_START}


@pytest.mark.parametrize(("index", "rule"), RULES, ids=[f"{i}-{rule.name}" for i, rule in RULES])
def test_rule_refuses_with_ollamas_body(sim: Simulator, client: httpx.Client, index: int, rule: Rule) -> None:
    good = base_body()
    assert post(client, sim, good).status_code == 200
    bad = rule.violate(good)
    incoming = Incoming(bad, LOCAL)
    expected = rule.check(incoming)
    assert expected is not None, "the violation does not break the rule"
    for earlier in CHAT_RULES[:index]:
        assert earlier.check(incoming) is None, f"{earlier.name} refuses first"
    answer = post(client, sim, bad)
    assert_error(answer, expected.status, error_body(expected)["error"])


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        # BerriAI/litellm#11273: the OpenAI shape of content is refused by Go's decoder.
        (
            lambda b: b["messages"][0].update(content=[{"type": "text", "text": "hi"}]),
            400,
            "json: cannot unmarshal array into Go struct field ChatRequest.messages.content of type string",
        ),
        # aliasrobotics/cai#76, ollama/ollama#12794: arguments as a JSON string.
        (
            lambda b: b["messages"][1]["tool_calls"][0]["function"].update(arguments='{"city":"Paris"}'),
            400,
            "json: cannot unmarshal string into Go struct field ChatRequest.messages.tool_calls.function.arguments"
            " of type api.ToolCallFunctionArguments",
        ),
        (lambda b: b.pop("model"), 400, "model is required"),
        (lambda b: b.update(model=""), 400, "model is required"),
        (
            lambda b: b.update(model="qwen3.5:4b"),
            404,
            'model "qwen3.5:4b" not found, try pulling it first',
        ),
        (lambda b: b.update(think=True), 400, '"llama3.2" does not support thinking'),
        (lambda b: b.update(think="high"), 400, '"llama3.2" does not support thinking'),
        (
            lambda b: b.update(think="extreme"),
            400,
            'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
        ),
        (lambda b: b.update(model="gemma3"), 400, "registry.ollama.ai/library/gemma3:latest does not support tools"),
        (lambda b: b.update(options={"num_predict": "ten"}), 500, 'option "num_predict" must be of type integer'),
        (lambda b: b.update(options={"stop": "END"}), 500, 'option "stop" must be of type array'),
        (lambda b: b.update(options={"temperature": True}), 500, 'option "temperature" must be of type float32'),
        (lambda b: b.update(format="xml"), 400, 'invalid format: expected "json" or a valid JSON schema'),
        (
            lambda b: b.update(stream="yes"),
            400,
            "json: cannot unmarshal string into Go struct field ChatRequest.stream of type bool",
        ),
        (lambda b: b["messages"][0].update(images=["a b"]), 400, "illegal base64 data at input byte 1"),
        (lambda b: b.update(top_logprobs=21), 400, "top_logprobs must be between 0 and 20"),
    ],
    ids=[
        "content-array", "arguments-string", "no-model", "empty-model", "unknown-model", "think-unsupported",
        "think-level-unsupported", "think-value", "tools-unsupported", "option-int", "option-stop", "option-float",
        "format", "stream-type", "image-base64", "top-logprobs",
    ],
)  # fmt: skip
def test_rule_exact_answers(sim: Simulator, client: httpx.Client, change: Any, status: int, message: str) -> None:
    body = base_body()
    change(body)
    assert_error(post(client, sim, body), status, message)


def test_accepted_as_ollama_accepts_them(sim: Simulator, client: httpx.Client) -> None:
    """Go ignores unknown fields; the server does not pair tool calls with results; null content and arguments
    decode to zero values; names are case-insensitive with an optional tag, library namespace and host; an unknown
    option is only logged; think false is fine on any model."""
    body = base_body()
    body.update(tool_choice="required", keep_alive="5m", think=False, options={"temperature": 0, "seed": 7, "nope": 1})
    body["messages"][0]["name"] = "ignored"
    body["messages"].append({"role": "tool", "content": "orphan result", "tool_name": "get_time"})
    body["messages"][1]["content"] = None
    assert post(client, sim, body).status_code == 200
    for name in ("LLAMA3.2", "llama3.2:latest", "library/llama3.2", "registry.ollama.ai/library/llama3.2:latest"):
        assert post(client, sim, {**base_body(), "model": name}).json()["model"] == name  # echoed as sent


def test_decoding_errors_in_gos_words(sim: Simulator, client: httpx.Client) -> None:
    url = f"{sim.base_url}/api/chat"
    assert_error(client.post(url, content=b""), 400, "missing request body")
    assert_error(client.post(url, content=b'{"model": "llama3.2", '), 400, "unexpected EOF")
    assert_error(
        client.post(url, content=b"{model: 1}"), 400, "invalid character 'm' looking for beginning of object key string"
    )
    assert_error(
        client.post(url, content=b'{"model": "a" "b"}'), 400, "invalid character '\"' after object key:value pair"
    )
    assert_error(
        client.post(url, content=b"[1]"), 400, "json: cannot unmarshal array into Go value of type api.ChatRequest"
    )
    assert_error(client.post(url, content=b"null"), 400, "model is required")


def test_base64_errors_where_go_finds_them() -> None:
    assert [go_base64_error(s) for s in (PIXEL, "", "aGk=", "aGk", "a===", "aGk=\n", "aG\nk=")] == [
        None, None, None, 0, 1, None, None,
    ]  # fmt: skip


def test_no_key_is_read_and_an_invalid_one_is_accepted(sim: Simulator, client: httpx.Client) -> None:
    """The local API does not require authentication (docs/api/authentication.mdx): the convention's "invalid" key is
    accepted like any other, as by the other local servers."""
    for headers in ({}, {"authorization": f"Bearer {KEY}"}, {"authorization": "Bearer invalid-key-0123456789"}):
        assert post(client, sim, base_body(), headers=headers).status_code == 200


def test_gins_own_answers_for_unknown_paths_and_methods(sim: Simulator, client: httpx.Client) -> None:
    missing = client.get(f"{sim.base_url}/api/nope")
    assert (missing.status_code, missing.text, missing.headers["content-type"]) == (
        404, "404 page not found", "text/plain; charset=utf-8",
    )  # fmt: skip
    wrong = client.get(f"{sim.base_url}/api/chat")
    assert (wrong.status_code, wrong.text) == (405, "405 method not allowed")
    assert client.get(f"{sim.base_url}/").text == "Ollama is running"


# --- chat shapes ------------------------------------------------------------------------------------------------------


def test_stream_is_the_default_ndjson_with_a_final_object(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": 'say exactly "hi there you"'}]}
    answer = post(client, sim, body)
    assert answer.headers["content-type"] == "application/x-ndjson"
    assert answer.text.endswith("\n") and "\n\n" not in answer.text
    objects = lines(answer)
    *deltas, final = objects
    assert [d["message"] for d in deltas] == [
        {"role": "assistant", "content": "hi"},
        {"role": "assistant", "content": " there"},
        {"role": "assistant", "content": " you"},
    ]
    assert all(d["done"] is False and set(d) == {"model", "created_at", "message", "done"} for d in deltas)
    assert final["message"] == {"role": "assistant", "content": ""}
    assert list(final)[:5] == ["model", "created_at", "message", "done_reason", "done"]
    assert final["done"] is True and final["done_reason"] == "stop" and all(final[m] > 0 for m in METRICS)
    assert final["eval_count"] == 3
    assert final["total_duration"] > final["load_duration"] + final["prompt_eval_duration"] + final["eval_duration"]
    stamps = [o["created_at"] for o in objects]
    assert stamps == sorted(stamps) and all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", s) for s in stamps
    )


def test_whole_answer_when_stream_is_false(sim: Simulator, client: httpx.Client) -> None:
    answer = post(
        client, sim, {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": False}
    )
    assert answer.headers["content-type"] == JSON_TYPE
    body = answer.json()
    assert list(body) == ["model", "created_at", "message", "done_reason", "done", *METRICS]
    assert body["message"] == {"role": "assistant", "content": "You said: hi"} and body["model"] == DEFAULT_MODEL
    assert body["prompt_eval_count"] >= 2 and body["eval_count"] == 3


def test_tool_calls_arrive_whole_with_ollamas_ids(sim: Simulator, client: httpx.Client) -> None:
    ask = {"model": DEFAULT_MODEL, "tools": [WEATHER], "messages": [{"role": "user", "content": ASK}]}
    whole = post(client, sim, {**ask, "stream": False}).json()
    assert whole["message"]["content"] == "" and whole["done_reason"] == "stop"  # stop, even with tool calls
    [call] = whole["message"]["tool_calls"]
    assert re.fullmatch(r"call_[a-z0-9]{8}", call["id"])
    assert call["function"] == {"index": 0, "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
    *deltas, final = lines(post(client, sim, ask))
    [with_calls] = [d for d in deltas if "tool_calls" in d["message"]]
    assert with_calls["done"] is False and with_calls["message"]["tool_calls"] == whole["message"]["tool_calls"]
    assert final["done_reason"] == "stop" and "tool_calls" not in final["message"]
    parallel = {**ask, "tools": [WEATHER, TIME], "stream": False}
    parallel["messages"] = [{"role": "user", "content": "Use get_weather for Paris and get_time, in parallel."}]
    calls = post(client, sim, parallel).json()["message"]["tool_calls"]
    assert [(c["function"]["index"], c["function"]["name"]) for c in calls] == [(0, "get_weather"), (1, "get_time")]
    assert len({c["id"] for c in calls}) == 2


def test_text_after_a_tool_result(sim: Simulator, client: httpx.Client) -> None:
    answer = post(client, sim, base_body()).json()
    assert answer["message"]["content"] == "Here is what the tool returned: 18 degrees"
    assert "tool_calls" not in answer["message"]


def test_num_predict_stop_json_and_unicode(sim: Simulator, client: httpx.Client) -> None:
    def ask(text: str, **extra: Any) -> Any:
        body = {"model": DEFAULT_MODEL, "stream": False, "messages": [{"role": "user", "content": text}], **extra}
        return post(client, sim, body).json()

    long = ask("write a long story", options={"num_predict": 5})
    assert long["done_reason"] == "length" and long["eval_count"] == 5
    assert long["message"]["content"] == "You said: write a long"
    assert ask("write a long story", options={"num_predict": -1})["done_reason"] == "stop"
    stopped = ask("count from 1 to 9", options={"stop": ["4"]})
    assert stopped["message"]["content"] == "1, 2, 3, " and stopped["done_reason"] == "stop"
    assert json.loads(ask("A cat, in JSON please", format="json")["message"]["content"]) == {
        "answer": "You said: A cat, in JSON please"
    }
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    cat = json.loads(ask("A cat called Tom", format=schema)["message"]["content"])
    assert set(cat) == {"name", "age"} and isinstance(cat["age"], int)
    text = "Répète : héllo wörld — 東京 🌸 <b>&"
    raw = post(client, sim, {"model": DEFAULT_MODEL, "stream": False, "messages": [{"role": "user", "content": text}]})
    assert raw.json()["message"]["content"] == f"You said: {text}"
    assert "東京 🌸 \\u003cb\\u003e\\u0026" in raw.text  # UTF-8 kept, <, > and & escaped as Go's encoder does


def test_thinking_model_thinks_unless_told_not_to(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": "qwen3", "messages": [{"role": "user", "content": "hi"}]}
    objects = lines(post(client, sim, body))
    thinking = "".join(o["message"].get("thinking", "") for o in objects)
    content = "".join(o["message"]["content"] for o in objects)
    assert thinking and content == "You said: hi"
    first_content = next(i for i, o in enumerate(objects) if o["message"]["content"])
    assert all("thinking" not in o["message"] for o in objects[first_content:])  # thinking comes first
    whole = post(client, sim, {**body, "stream": False, "think": "low"}).json()
    assert whole["message"]["thinking"] == thinking and whole["eval_count"] == objects[-1]["eval_count"]
    assert "thinking" not in post(client, sim, {**body, "stream": False, "think": False}).json()["message"]


def test_same_request_same_bytes_and_load_unload(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": DEFAULT_MODEL, "tools": [WEATHER], "messages": [{"role": "user", "content": ASK}]}
    assert post(client, sim, body).content == post(client, sim, body).content
    load = post(client, sim, {"model": DEFAULT_MODEL, "messages": []})
    assert load.headers["content-type"] == JSON_TYPE  # one object, even though stream defaults to true
    assert load.json()["done_reason"] == "load" and load.json()["message"] == {"role": "assistant", "content": ""}
    unload = post(client, sim, {"model": DEFAULT_MODEL, "messages": [], "keep_alive": 0}).json()
    assert unload["done_reason"] == "unload" and "eval_count" not in unload


def test_prompt_translation() -> None:
    prompt = to_prompt(
        {
            **base_body(),
            "options": {"num_predict": 12.9, "stop": ["x", 3]},
            "format": {"type": "object"},
        }
    )
    assert [t.role for t in prompt.turns] == ["user", "assistant", "tool"]
    assert prompt.turns[1].calls[0].name == "get_weather" and json.loads(prompt.turns[1].calls[0].arguments) == {
        "city": "Paris"
    }
    assert prompt.max_tokens == 12 and prompt.stop == ("x",) and prompt.json_schema == {"type": "object"}
    assert to_prompt({"model": "m", "options": {"num_predict": -2}}).max_tokens is None
    assert go_json({"a": "\u2028"}) == b'{"a":"\\u2028"}'


# --- tags, show, pull -------------------------------------------------------------------------------------------------


def test_tags_list_the_local_models_newest_first(sim: Simulator, client: httpx.Client) -> None:
    answer = client.get(f"{sim.base_url}/api/tags")
    assert answer.headers["content-type"] == JSON_TYPE
    models = answer.json()["models"]
    names = [m["name"] for m in models]
    assert set(LOCAL_AT_START) <= set(names) and "llama3.2:latest" in names
    assert [m["modified_at"] for m in models] == sorted((m["modified_at"] for m in models), reverse=True)
    llama = next(m for m in models if m["name"] == "llama3.2:latest")
    assert list(llama) == ["name", "model", "modified_at", "size", "digest", "details"]
    assert re.fullmatch(r"[0-9a-f]{64}", llama["digest"]) and llama["size"] > 10**9
    assert llama["details"] == {
        "parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
        "parameter_size": "3.2B", "quantization_level": "Q4_K_M",
    }  # fmt: skip
    ListResponse.model_validate(answer.json())


def test_show_a_known_model_and_refuse_the_rest(sim: Simulator, client: httpx.Client) -> None:
    shown = post(client, sim, {"model": "llama3.2"}, "/api/show")
    body = shown.json()
    assert set(body) >= {"modelfile", "parameters", "template", "details", "model_info", "capabilities"}
    assert body["capabilities"] == ["completion", "tools"] and body["model_info"]["llama.context_length"] == 131072
    assert "\\u003c|eot_id|\\u003e" in shown.text  # the stop strings, escaped as Go writes them
    assert post(client, sim, {"name": "qwen3"}, "/api/show").json()["capabilities"] == [
        "completion",
        "tools",
        "thinking",
    ]
    ShowResponse.model_validate(body)
    assert_error(post(client, sim, {"model": "nope"}, "/api/show"), 404, "model 'nope' not found")
    assert_error(post(client, sim, {}, "/api/show"), 400, "model is required")
    assert_error(client.post(f"{sim.base_url}/api/show", content=b""), 400, "missing request body")


def test_pull_streams_progress_then_the_model_is_local(client: httpx.Client) -> None:
    with Simulator("ollama") as fresh:  # pulls change the server's store: a server of its own
        assert_error(post(client, fresh, {"model": "llama3.2:1b", "messages": []}), 404,
                     'model "llama3.2:1b" not found, try pulling it first')  # fmt: skip
        answer = post(client, fresh, {"model": "llama3.2:1b"}, "/api/pull")
        assert answer.headers["content-type"] == "application/x-ndjson"
        progress = lines(answer)
        statuses = [p["status"] for p in progress]
        assert statuses[0] == "pulling manifest" and statuses[-3:] == [
            "verifying sha256 digest", "writing manifest", "success",
        ]  # fmt: skip
        layers = [p for p in progress if p["status"].startswith("pulling ") and p["status"] != "pulling manifest"]
        assert all(p["status"] == f"pulling {p['digest'][7:19]}" and p["digest"].startswith("sha256:") for p in layers)
        first_layer = [p.get("completed", 0) for p in layers if p["digest"] == layers[0]["digest"]]
        assert first_layer == sorted(first_layer) and first_layer[-1] == layers[0]["total"]
        for item in progress:
            ProgressResponse.model_validate(item)
        tags = client.get(f"{fresh.base_url}/api/tags").json()["models"]
        assert tags[0]["name"] == "llama3.2:1b"  # the newest
        assert post(client, fresh, {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}],
                                    "stream": False}).status_code == 200  # fmt: skip
        assert post(client, fresh, {"model": "smollm2:135m", "stream": False}, "/api/pull").json() == {
            "status": "success"
        }
        unknown = post(client, fresh, {"model": "no-such-model"}, "/api/pull")
        assert unknown.status_code == 200
        assert lines(unknown) == [{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]
        assert_error(
            post(client, fresh, {"model": "no-such-model", "stream": False}, "/api/pull"),
            500,
            "pull model manifest: file does not exist",
        )
        assert_error(post(client, fresh, {}, "/api/pull"), 400, "invalid model name")
    with Simulator("ollama") as other:  # state is per server
        assert "llama3.2:1b" not in [m["name"] for m in client.get(f"{other.base_url}/api/tags").json()["models"]]


# --- faults -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("429", "too many requests, please try again later (simulator text)"),
        ("500", "an error was encountered while running the model"),
        ("503", "server busy, please try again.  maximum pending requests exceeded"),
        ("529", "server overloaded, please try again (simulator text)"),
    ],
)
def test_fault_status_in_ollamas_error_shape(sim: Simulator, client: httpx.Client, fault: str, message: str) -> None:
    answer = post(client, sim, base_body(), headers={FAULT_HEADER: fault})
    assert_error(answer, int(fault), message)
    if fault == "429":
        assert answer.headers["retry-after"] == "1"
    assert_error(client.get(f"{sim.base_url}/api/tags", headers={FAULT_HEADER: fault}), int(fault), message)


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_malformed(sim: Simulator, client: httpx.Client, stream: bool) -> None:
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "write a long story"}], "stream": stream}
    answer = post(client, sim, body, headers={FAULT_HEADER: "malformed"})
    assert answer.status_code == 200
    if not stream:
        with pytest.raises(json.JSONDecodeError):
            answer.json()
        return
    texts = answer.text.splitlines()
    broken = [t for t in texts if not _is_json(t)]
    assert len(broken) == 1 and json.loads(texts[-1])["done"] is True  # a broken line, then the rest


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("stream", [False, True], ids=["body", "stream"])
def test_fault_cut_drops_the_connection_halfway(sim: Simulator, client: httpx.Client, stream: bool) -> None:
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "write a long story"}], "stream": stream}
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, sim, body, headers={FAULT_HEADER: "cut"})


def test_fault_stream_error_line_after_a_200(sim: Simulator, client: httpx.Client) -> None:
    body = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "write a long story"}]}
    answer = post(client, sim, body, headers={FAULT_HEADER: "stream-error"})
    assert answer.status_code == 200
    objects = lines(answer)
    assert objects[-1] == {"error": "an error was encountered while running the model"}  # [errors.mdx]
    assert not any(o.get("done") for o in objects) and len(objects) > 2
    pulled = lines(post(client, sim, {"model": "llama3.2"}, "/api/pull", headers={FAULT_HEADER: "stream-error"}))
    assert "error" in pulled[-1] and pulled[0] == {"status": "pulling manifest"}


def test_fault_slow_first_byte_queue_and_unknown_name(client: httpx.Client) -> None:
    with Simulator("ollama", slow_seconds=0.3) as slow:
        slow.inject("slow", "500")
        started = time.perf_counter()
        assert post(client, slow, base_body()).status_code == 200
        assert time.perf_counter() - started >= 0.3
        assert post(client, slow, base_body()).status_code == 500
        assert post(client, slow, base_body()).status_code == 200
        typo = post(client, slow, base_body(), headers={FAULT_HEADER: "teapot"})
        assert typo.status_code == 400 and typo.text.startswith("simulator:")


# --- the official SDK as the oracle -----------------------------------------------------------------------------------


@pytest.fixture
def sdk(sim: Simulator) -> Iterator[Any]:
    with ollama.Client(host=sim.root_url, transport=httpx.HTTPTransport(socket_options=NODELAY)) as c:
        yield c


def test_sdk_chat_whole_and_streamed(sim: Simulator, sdk: Any) -> None:
    answer = sdk.chat(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "Grüße, 東京!"}])
    assert answer.message.content == "You said: Grüße, 東京!" and answer.done_reason == "stop"
    assert sim.requests[-1].json()["stream"] is False  # the SDK asks for a whole answer by default
    ChatResponse.model_validate(json.loads(go_json(answer.model_dump(exclude_none=True))))
    parts = list(
        sdk.chat(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "write a long story"}], stream=True)
    )
    assert "".join(p.message.content or "" for p in parts).startswith("You said: write a long story")
    assert parts[-1].done and parts[-1].eval_count > 0 and not any(p.done for p in parts[:-1])
    raw = httpx.post(
        f"{sim.base_url}/api/chat", json={"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}]}
    )
    for item in lines(raw):
        ChatResponse.model_validate(item)
    thinking = sdk.chat(model="qwen3", messages=[{"role": "user", "content": "hi"}], think=True)
    assert thinking.message.thinking and thinking.message.content == "You said: hi"


def test_sdk_tool_call_round_trip_and_streamed_calls(sdk: Any) -> None:
    messages: list[Any] = [{"role": "user", "content": ASK}]
    first = sdk.chat(model=DEFAULT_MODEL, messages=messages, tools=[WEATHER])
    call = first.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.function.arguments["city"] == "Paris"
    messages += [first.message, {"role": "tool", "content": "18 degrees", "tool_name": call.function.name}]
    second = sdk.chat(model=DEFAULT_MODEL, messages=messages, tools=[WEATHER])
    assert "18 degrees" in second.message.content
    streamed = [p for p in sdk.chat(model=DEFAULT_MODEL, messages=messages[:1], tools=[WEATHER], stream=True)]
    calls = [c for p in streamed if p.message.tool_calls for c in p.message.tool_calls]
    assert [c.function.arguments for c in calls] == [call.function.arguments]


def test_sdk_lists_shows_and_pulls(client: httpx.Client) -> None:
    with Simulator("ollama") as fresh, ollama.Client(host=fresh.root_url) as sdk:
        assert {m.model for m in sdk.list().models} == set(LOCAL_AT_START)
        shown = sdk.show("llama3.2")
        assert shown.capabilities == ["completion", "tools"] and shown.details.family == "llama"
        assert shown.modelinfo["general.architecture"] == "llama"
        progress = list(sdk.pull("llama3.2:1b", stream=True))
        assert progress[-1].status == "success" and any(p.completed == p.total and p.total for p in progress)
        assert sdk.pull("smollm2:135m").status == "success"
        assert {"llama3.2:1b", "smollm2:135m"} <= {m.model for m in sdk.list().models}


@pytest.mark.anyio
async def test_async_sdk_chat_and_stream(sim: Simulator) -> None:
    async with ollama.AsyncClient(host=sim.root_url) as sdk:
        answer = await sdk.chat(model=DEFAULT_MODEL, messages=[{"role": "user", "content": ASK}], tools=[WEATHER])
        assert answer.message.tool_calls[0].function.name == "get_weather"
        parts = [
            p
            async for p in await sdk.chat(
                model=DEFAULT_MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
        ]
        assert "".join(p.message.content for p in parts) == "You said: hi"


SDK_ERRORS = [
    ("unknown-model", {"model": "nope"}, {}, 404),
    ("think-value", {"think": "extreme"}, {}, 400),
    ("think", {"think": True}, {}, 400),
    ("option-type", {"options": {"num_predict": "ten"}}, {}, 500),
    ("rate-limit", {}, {FAULT_HEADER: "429"}, 429),
    ("server-error", {}, {FAULT_HEADER: "500"}, 500),
    ("busy", {}, {FAULT_HEADER: "503"}, 503),
]


@pytest.mark.parametrize(("case", "call", "extra_headers", "status"), SDK_ERRORS, ids=[e[0] for e in SDK_ERRORS])
def test_sdk_maps_every_error_to_response_error(
    sim: Simulator, case: str, call: dict[str, Any], extra_headers: dict[str, str], status: int
) -> None:
    settings = {"model": DEFAULT_MODEL, "messages": [{"role": "user", "content": "hi"}], **call}
    with ollama.Client(host=sim.root_url, headers=extra_headers) as sdk:
        with pytest.raises(ollama.ResponseError) as caught:
            sdk.chat(**settings)
        assert caught.value.status_code == status
        with pytest.raises(ollama.ResponseError) as streamed:
            list(sdk.chat(**settings, stream=True))
        assert streamed.value.status_code == status  # the status comes before the stream starts


def test_sdk_types_agree_with_the_decoding_rules() -> None:
    """The SDK's own request types refuse what Go's decoder refuses: content that is not a string, arguments that are
    not an object."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ollama.Message(role="user", content=[{"type": "text", "text": "hi"}])
    with pytest.raises(ValidationError):
        ollama.Message.ToolCall.Function(name="get_weather", arguments='{"city": "Paris"}')
    ollama.Message.model_validate(base_body()["messages"][1])  # and accept the simulator's valid history


def test_sdk_sees_mid_stream_errors_and_management_errors(sim: Simulator) -> None:
    with ollama.Client(host=sim.root_url, headers={FAULT_HEADER: "stream-error"}) as sdk:
        with pytest.raises(ollama.ResponseError, match="an error was encountered") as caught:
            list(
                sdk.chat(model=DEFAULT_MODEL, messages=[{"role": "user", "content": "write a long story"}], stream=True)
            )
        assert caught.value.status_code == -1  # an error line after the 200: the SDK has no status to give
    with ollama.Client(host=sim.root_url) as sdk:
        with pytest.raises(ollama.ResponseError) as shown:
            sdk.show("nope")
        assert shown.value.status_code == 404 and shown.value.error == "model 'nope' not found"
        with pytest.raises(ollama.ResponseError, match="file does not exist"):
            list(sdk.pull("no-such-model", stream=True))
        with pytest.raises(ollama.ResponseError) as pulled:
            sdk.pull("no-such-model")
        assert pulled.value.status_code == 500


# --- Allos end to end -----------------------------------------------------------------------------------------------

TOOL = {"name": "get_weather", "description": "Current weather", "parameters": WEATHER["function"]["parameters"]}


def _history(call: Any) -> list[Any]:
    return [
        allos.Message(role="user", content=ASK),
        allos.Message(role="assistant", tool_calls=[call]),
        allos.Message(role="tool", tool_call_id=call.id, content="18 degrees"),
    ]


@pytest.fixture
def provider(sim: Simulator) -> Iterator[Any]:
    with allos.get_provider("ollama", base_url=sim.base_url, api_key=KEY, max_retries=0) as p:
        yield p


def test_allos_tool_round_trip_sync_and_stream(sim: Simulator, provider: Any) -> None:
    ask = [allos.Message(role="user", content=ASK)]
    first = provider.chat(ask, tools=[TOOL])
    assert first.finish_reason == "tool_calls" and first.native_finish_reason == "stop"
    call = first.tool_calls[0]
    assert call.name == "get_weather" and call.arguments["city"] == "Paris" and call.id.startswith("call_")
    sent = sim.requests[-1].json()
    assert sent["stream"] is False and sent["model"] == DEFAULT_MODEL
    second = provider.chat(_history(call), tools=[TOOL])
    assert second.text == "Here is what the tool returned: 18 degrees" and second.finish_reason == "stop"
    assert sim.requests[-1].json()["messages"][2]["tool_name"] == "get_weather"
    assert second.usage.input_tokens > 0 and second.usage.output_tokens > 0
    streamed = list(provider.stream(ask, tools=[TOOL]))[-1].response
    assert streamed.tool_calls == first.tool_calls and streamed.finish_reason == "tool_calls"
    answer = list(provider.stream(_history(call), tools=[TOOL]))[-1].response
    assert answer.text == second.text and answer.usage == second.usage
    assert sim.requests[-1].headers["accept"] == "application/x-ndjson"


@pytest.mark.anyio
async def test_allos_tool_round_trip_async_and_async_stream(sim: Simulator) -> None:
    async with allos.get_provider("ollama", base_url=sim.base_url, api_key=KEY, max_retries=0) as provider:
        ask = [allos.Message(role="user", content=ASK)]
        first = await provider.achat(ask, tools=[TOOL])
        call = first.tool_calls[0]
        assert first.finish_reason == "tool_calls" and call.arguments == {"city": "Paris", "unit": "celsius"}
        second = await provider.achat(_history(call), tools=[TOOL])
        assert "18 degrees" in second.text
        streamed = [event async for event in provider.astream(ask, tools=[TOOL])][-1].response
        assert streamed.tool_calls == first.tool_calls
        answer = [event async for event in provider.astream(_history(call), tools=[TOOL])][-1].response
        assert answer.text == second.text and answer.finish_reason == "stop"


def test_allos_model_management_against_the_simulator() -> None:
    with Simulator("ollama") as fresh, allos.get_provider("ollama", base_url=fresh.base_url, max_retries=0) as provider:
        assert {m.name for m in provider.list_models()} == set(LOCAL_AT_START)
        info = provider.show_model()
        assert info.capabilities == ("completion", "tools") and info.details.family == "llama"
        progress = list(provider.pull_model("llama3.2:1b"))
        assert progress[-1].status == "success" and progress[1].fraction == 0
        assert "llama3.2:1b" in {m.name for m in provider.list_models()}
        with pytest.raises(errors.NotFoundError) as missing:
            provider.show_model("nope")
        assert missing.value.status_code == 404
        with pytest.raises(errors.NotFoundError, match="file does not exist"):
            list(provider.pull_model("no-such-model"))


@pytest.mark.parametrize(
    ("options", "extra_headers", "error"),
    [
        ({"model": "qwen3.5:4b"}, {}, errors.NotFoundError),
        ({}, {FAULT_HEADER: "429"}, errors.RateLimitError),
        ({}, {FAULT_HEADER: "500"}, errors.ServerError),
        ({}, {FAULT_HEADER: "503"}, errors.ServerError),
    ],
    ids=["unknown-model", "429", "500", "503"],
)
def test_allos_maps_the_simulators_errors(
    sim: Simulator, options: dict[str, Any], extra_headers: dict[str, str], error: type[Exception]
) -> None:
    with allos.get_provider("ollama", base_url=sim.base_url, api_key=KEY, max_retries=0, **options) as provider:
        with pytest.raises(error) as caught:
            provider.chat([{"role": "user", "content": "hi"}], extra_headers=extra_headers)
    if isinstance(caught.value, errors.NotFoundError):
        assert "allos pull qwen3.5:4b" in (caught.value.hint or "")


def test_allos_mid_stream_error_and_bad_key(sim: Simulator) -> None:
    with allos.get_provider("ollama", base_url=sim.base_url, api_key="invalid-key-0123456789", max_retries=0) as p:
        assert p.chat([{"role": "user", "content": "hi"}]).text == "You said: hi"  # no auth: the key is not read
        with pytest.raises(errors.ServerError) as caught:
            list(
                p.stream(
                    [{"role": "user", "content": "write a long story"}], extra_headers={FAULT_HEADER: "stream-error"}
                )
            )
        assert caught.value.status_code is None
        with pytest.raises(errors.IncompleteStreamError):
            list(p.stream([{"role": "user", "content": "write a long story"}], extra_headers={FAULT_HEADER: "cut"}))
