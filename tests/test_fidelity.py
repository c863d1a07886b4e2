"""`allos-conform fidelity` through the real CLI against the real simulators: cassettes written here in every flavour
the reader knows, and the real traffic that other projects recorded live (beside the clone, in CI)."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conformance.cli import app
from conformance.fidelity import compare_shapes, shape_of

REPO = Path(__file__).resolve().parents[1]
REAL_TRAFFIC = Path(__file__).resolve().parents[2] / "shared" / "real-traffic"
CHAT = "https://api.openai.com/v1/chat/completions"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
JSON_HEADERS = {"content-type": ["application/json"]}


def _chat_request(model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}


def _chat_answer(**message_extra: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": "Hi!", "refusal": None, **message_extra}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
    }


def _interaction(uri: str, request_body: Any, status: int, response_body: Any, **response: Any) -> dict[str, Any]:
    return {
        "request": {"method": "POST", "uri": uri, "headers": JSON_HEADERS, "body": request_body},
        "response": {"status": {"code": status, "message": "x"}, "headers": JSON_HEADERS, "body": response_body}
        | response,
    }


def _write(path: Path, *interactions: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"interactions": list(interactions), "version": 1}), encoding="utf-8")
    return path


def _flavours(root: Path) -> None:
    dumps = json.dumps
    # Standard vcrpy: string bodies; the answer carries a key path no simulator produces.
    _write(
        root / "standard.yaml",
        _interaction(CHAT, dumps(_chat_request()), 200, {"string": dumps(_chat_answer(fidelity_probe=1))}),
    )
    # JSON bodies stored as mappings; a model the simulator does not know, that the real endpoint accepted.
    _write(root / "mapping.yaml", _interaction(CHAT, _chat_request("no-such-model-x"), 200, _chat_answer()))
    # pydantic-ai's parsed_body (Anthropic, with its version header): a real refusal for a missing max_tokens.
    anthropic = _interaction("https://api.anthropic.com/v1/messages", None, 400, None)
    anthropic["request"] |= {
        "headers": {"content-type": ["application/json"], "anthropic-version": ["2023-06-01"]},
        "parsed_body": {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "hi"}]},
    }
    anthropic["response"].pop("body")
    anthropic["response"]["parsed_body"] = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
    _write(root / "parsed.yaml", anthropic)
    # gzip bytes (!!binary) and Ruby VCR's base64_string.
    gzipped = gzip.compress(dumps(_chat_answer()).encode())
    _write(root / "gzip.yaml", _interaction(CHAT, dumps(_chat_request()), 200, {"string": gzipped}))
    encoded = base64.b64encode(dumps(_chat_answer()).encode()).decode()
    _write(root / "b64.yaml", _interaction(CHAT, dumps(_chat_request()), 200, {"base64_string": encoded}))
    # An SSE stream.
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    stream = "".join(
        f"data: {dumps(chunk | {'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]})}\n\n"
        for delta in ({"role": "assistant", "content": ""}, {"content": "Hi"})
    )
    _write(
        root / "stream.yaml",
        _interaction(CHAT, dumps(_chat_request(stream=True)), 200, {"string": stream + "data: [DONE]\n\n"}),
    )
    # What cannot be measured, one reason each, and a malformed cassette.
    _write(
        root / "apart.yaml",
        _interaction(CHAT, dumps(_chat_request()), 401, {"string": "{}"}),
        _interaction(CHAT, dumps(_chat_request()), 429, {"string": "{}"}),
        _interaction(CHAT, dumps(_chat_request()), 503, {"string": "{}"}),
        _interaction(
            "https://api.openai.com/v1/responses",
            dumps({"model": "gpt-4o-mini", "input": "hi", "previous_response_id": "resp_1"}),
            200,
            {"string": "{}"},
        ),
        _interaction(
            "https://api.openai.com/v1/embeddings", dumps({"model": "m", "input": "x"}), 200, {"string": "{}"}
        ),
        _interaction("https://example.invalid/v1/chat/completions", dumps(_chat_request()), 200, {"string": "{}"}),
    )
    # Portkey routes by a non-secret header: replayed when the recording kept it.
    portkey = _interaction("https://api.portkey.ai/v1/chat/completions", dumps(_chat_request()), 200, _chat_answer())
    portkey["request"]["headers"] = JSON_HEADERS | {"x-portkey-provider": ["openai"]}
    _write(root / "portkey.yaml", portkey)
    (root / "broken.yaml").write_text("interactions: 3\n", encoding="utf-8")
    # The project's own format, recorded against the groq simulator: it must agree in verdict and shape.
    shutil.copy(REPO / "cassettes" / "groq" / "chat.yaml", root / "own.yaml")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["fidelity", *args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fidelity")
    _flavours(root / "cassettes")
    code, output = _run(str(root / "cassettes"), "--out", str(root / "out"))
    assert code == 0, output
    loaded: dict[str, Any] = json.loads((root / "out" / "fidelity.json").read_text(encoding="utf-8"))
    assert (root / "out" / "fidelity.md").read_text(encoding="utf-8").startswith("# Simulator fidelity")
    loaded["root"] = str(root)
    return loaded


def test_fidelity_reads_every_flavour_and_counts_verdicts(report: dict[str, Any]) -> None:
    chat = report["aliases"]["openai-chat"]
    # standard, mapping, gzip, base64, stream: measured; the mapping one's unknown model is the one disagreement.
    assert (chat["measurable"], chat["agreeing"]) == (5, 4)
    assert report["aliases"]["anthropic"] == report["aliases"]["anthropic"] | {"measurable": 1, "agreeing": 1}
    assert report["aliases"]["portkey"] == report["aliases"]["portkey"] | {"measurable": 1, "agreeing": 1}
    assert report["aliases"]["groq"]["agreeing"] == report["aliases"]["groq"]["measurable"] >= 1
    verdicts = [d for d in report["disagreements"] if d["real_status"] != d["sim_status"]]
    assert [(Path(d["where"]).name, d["real_status"], d["sim_status"]) for d in verdicts] == [
        ("mapping.yaml#0", 200, 404)
    ]
    assert "no-such-model-x" in verdicts[0]["sim_body"]


def test_fidelity_reports_a_key_path_the_simulator_never_produces(report: dict[str, Any]) -> None:
    probe = [d for d in report["disagreements"] if Path(d["where"]).name == "standard.yaml#0"]
    assert len(probe) == 1 and "only real: choices[].message.fidelity_probe" in probe[0]["shape"]
    assert report["aliases"]["groq"]["shape_agreeing"] == report["aliases"]["groq"]["shape_compared"] >= 1


def test_fidelity_counts_apart_what_cannot_be_measured(report: dict[str, Any]) -> None:
    assert report["unmeasurable"] == {
        "real 401 (key scrubbed by the recorder)": 1,
        "real 429 (rate limited)": 1,
        "real 5xx": 1,
        "needs server state": 1,
        "non-LLM endpoint (not simulated)": 1,
        "no alias": 1,
    }
    assert [Path(u["cassette"]).name for u in report["unreadable"]] == ["broken.yaml"]


def test_fidelity_exit_codes(report: dict[str, Any], tmp_path: Path) -> None:
    cassettes, out = Path(report["root"]) / "cassettes", str(tmp_path / "out")
    assert _run(str(cassettes), "--out", out, "--min-agreement", "100")[0] == 1
    assert _run(str(cassettes), "--out", out, "--min-agreement", "50")[0] == 0
    assert _run(str(tmp_path / "absent"), "--out", out)[0] == 2
    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    shutil.copy(cassettes / "broken.yaml", only_broken)
    assert _run(str(only_broken), "--out", out)[0] == 2


def test_shapes_compare_key_paths_types_and_event_order() -> None:
    real = shape_of(b'{"a": {"b": 1}, "c": null}')
    assert compare_shapes(real, shape_of(b'{"a": {"b": 2}, "c": "x"}')).agrees  # null fits any type
    diff = compare_shapes(real, shape_of(b'{"a": {"b": "s"}, "d": 1}'))
    assert (diff.only_real, diff.only_simulator, diff.types) == (("c",), ("d",), ("a.b number vs string",))
    one = shape_of(b'event: a\ndata: {"type": "a"}\n\nevent: b\ndata: {"type": "b"}\n\n')
    other = shape_of(b'event: b\ndata: {"type": "b"}\n\nevent: a\ndata: {"type": "a"}\n\n')
    assert one.kinds == ("a", "b") and "events: real a b / simulator b a" in compare_shapes(one, other).order


# Floors measured on 2026-12-02 after the simulators took every documented model name (1102 measurable, 1093
# agreeing, from 983; the run takes about 10 s), less a small margin: a regression fails.
_FLOORS = {"openai-chat": (926, 919), "anthropic": (123, 120), "openai": (44, 42), "openrouter": (2, 2)}


def test_fidelity_on_real_traffic_completes_and_keeps_its_floors(tmp_path: Path) -> None:
    if not REAL_TRAFFIC.is_dir():
        pytest.fail(f"real traffic missing: expected a directory at {REAL_TRAFFIC} (CI places it beside the clone)")
    code, output = _run(str(REAL_TRAFFIC), "--out", str(tmp_path))
    assert code == 0, output
    data = json.loads((tmp_path / "fidelity.json").read_text(encoding="utf-8"))
    total = sum(
        1 for p in REAL_TRAFFIC.rglob("*.yaml") for _ in yaml.load(p.read_text(), Loader=_LOADER)["interactions"]
    )
    assert data["measurable"] + sum(data["unmeasurable"].values()) == total  # every request measured or apart
    assert all(reason for reason in data["unmeasurable"])
    assert data["measurable"] >= 1100 and data["agreeing"] >= 1085
    for alias, (measurable, agreeing) in _FLOORS.items():
        row = data["aliases"][alias]
        assert row["measurable"] >= measurable and row["agreeing"] >= agreeing, (alias, row)
