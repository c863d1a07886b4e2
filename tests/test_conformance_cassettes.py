"""The cassette format: readable, scrubbed, canonical matching, and streams re-cut on replay."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest
import yaml

from conformance.cassettes import RechunkingTransport, canonical_body, cassette_meta, cut_points, make_vcr

# Replay reads cassettes through the validating reader, which wants the meta block every recording carries.
META = cassette_meta("test", "2026-12-02T00:00:00+00:00")


def test_canonical_body_ignores_key_order_and_spacing() -> None:
    assert canonical_body(b'{"a": 1, "b": [1, 2]}') == canonical_body('{"b":[1,2],"a":1}')
    assert canonical_body(b"data: x\n\n") == "data: x\n\n"
    assert canonical_body(None) is None


def test_cut_points_are_deterministic_varied_and_inside_the_body() -> None:
    points = cut_points(1000, "groq:streaming")
    assert points == cut_points(1000, "groq:streaming")
    assert points != cut_points(1000, "mistral:streaming")
    assert all(0 < p < 1000 for p in points) and points == sorted(set(points))
    assert len({b - a for a, b in itertools.pairwise(points)}) > 3


def _serve(body: bytes, content_type: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type, "x-secret-echo": "k"})

    return httpx.MockTransport(handler)


def test_recorded_cassette_is_readable_and_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-live-0123456789abcdef"
    cassette = tmp_path / "c.yaml"
    body = b'{"id":"x","echo":"' + key.encode() + b'"}'
    recorder = make_vcr(record=True, secrets=[key], rewrite={"http://127.0.0.1:1/v1": "https://api.example.com/v1"},
                        meta={"source": "test"})  # fmt: skip
    with recorder.use_cassette(str(cassette)):
        # vcrpy records at the transport layer: MockTransport is patched like the real one.
        with httpx.Client(transport=_serve(body, "application/json")) as client:
            client.post(
                "http://127.0.0.1:1/v1/chat/completions",
                json={"model": "m", "key": key},
                headers={"Authorization": f"Bearer {key}", "x-portkey-api-key": key},
            )
    text = cassette.read_text()
    assert key not in text
    data = yaml.safe_load(text)
    assert data["meta"] == {"source": "test"}
    interaction = data["interactions"][0]
    assert interaction["request"]["uri"] == "https://api.example.com/v1/chat/completions"
    assert set(interaction["request"]["headers"]) <= {"content-type", "accept"}
    assert interaction["request"]["body"] == {"json": {"model": "m", "key": "[REDACTED]"}}
    assert interaction["response"]["body"] == {"json": {"id": "x", "echo": "[REDACTED]"}}
    assert "x-secret-echo" not in interaction["response"]["headers"]


def test_replay_matches_canonical_json_and_recuts_streams(tmp_path: Path) -> None:
    stream = b"".join(f"data: {i}\n\n".encode() for i in range(50))
    cassette = tmp_path / "s.yaml"
    with make_vcr(record=True, meta=META).use_cassette(str(cassette)):
        with httpx.Client(transport=_serve(stream, "text/event-stream")) as client:
            client.post("http://127.0.0.1:1/x", json={"a": 1, "b": 2})
    assert "|" in cassette.read_text()  # the stream is a literal block, readable as on the wire
    with make_vcr(record=False).use_cassette(str(cassette)) as recorded:
        with RechunkingTransport("seed") as transport, httpx.Client(transport=transport) as client:
            with client.stream("POST", "http://127.0.0.1:1/x", content=b'{"b": 2,  "a": 1}') as response:
                chunks = list(response.iter_bytes())
        assert recorded.all_played
    assert b"".join(chunks) == stream
    assert len(chunks) > 5


def test_replay_refuses_a_changed_body(tmp_path: Path) -> None:
    import vcr.errors

    cassette = tmp_path / "j.yaml"
    with make_vcr(record=True, meta=META).use_cassette(str(cassette)):
        with httpx.Client(transport=_serve(b"{}", "application/json")) as client:
            client.post("http://127.0.0.1:1/x", json={"a": 1})
    with make_vcr(record=False).use_cassette(str(cassette)):
        with RechunkingTransport("s") as transport, httpx.Client(transport=transport) as client:
            with pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException):
                client.post("http://127.0.0.1:1/x", json={"a": 2})
