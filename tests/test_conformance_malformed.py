"""Malformed cassettes through the real `allos-conform`: each is one matrix cell with a one-line reason naming the
file and the field, never a traceback, and the rest of the run goes on.

Every bad file is written under tmp_path from a copy of a committed cassette; nothing under cassettes/ is touched.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conformance.cassettes import CassetteInvalid, load_cassette
from conformance.cli import app
from conformance.results import EXIT_INVALID

COMMITTED = Path(__file__).resolve().parent.parent / "cassettes" / "groq"
ARGS = ["--providers", "groq", "--capabilities", "chat,multi_turn"]


def _template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((COMMITTED / "chat.yaml").read_text(encoding="utf-8"))
    return data


def _edited(edit: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """A writer of chat.yaml: the committed recording, edited in place by `edit`."""

    def write(path: Path) -> None:
        data = _template()
        edit(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    return write


def _listed(path: Path) -> None:
    path.write_text(yaml.safe_dump([_template()]), encoding="utf-8")


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _first(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = data["interactions"][0]
    return first


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"n": value}
    return value


def _directory(path: Path) -> None:
    path.mkdir()
    (path / "inside.yaml").write_text("meta: {}\n", encoding="utf-8")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _loop(path: Path) -> None:
    path.symlink_to(path)  # a symlink to itself: every read fails (ELOOP), whoever runs the test


def _in_body(line: str) -> Callable[[Path], None]:
    """A writer of the committed recording with `line` added, by hand, to its response's JSON body: YAML that
    `yaml.safe_dump` would never write (a timestamp, an alias)."""

    def write(path: Path) -> None:
        text = (COMMITTED / "chat.yaml").read_text(encoding="utf-8")
        marker = "    body:\n      json:\n"
        at = text.rindex(marker) + len(marker)
        path.write_text(text[:at] + f"        {line}\n" + text[at:], encoding="utf-8")

    return write


# (id, writer of chat.yaml, what the one-line reason must say)
MALFORMED: list[tuple[str, Callable[[Path], None], str]] = [
    ("not-yaml", _text("meta: [\n  source: x\n"), "not valid YAML"),
    ("yaml-tag", _text("meta: !!python/object:os.system 1\n"), "not valid YAML"),
    ("interactions-5", _edited(lambda d: d.update(interactions=5)), "interactions is 5, expected a list"),
    ("interactions-empty", _edited(lambda d: d.update(interactions=[])), "interactions is empty"),
    (
        "top-level-list",
        _listed,
        "the top level is a list, expected a mapping",
    ),
    ("top-level-scalar", _text("just some words\n"), "the top level is 'just some words', expected a mapping"),
    ("interaction-not-mapping", _edited(lambda d: d.update(interactions=["x"])), "interactions[0] is 'x'"),
    ("no-response", _edited(lambda d: _first(d).pop("response")), "interactions[0] has no response"),
    ("no-request", _edited(lambda d: _first(d).pop("request")), "interactions[0] has no request"),
    (
        "code-banana",
        _edited(lambda d: _first(d)["response"]["status"].update(code="banana")),
        "interactions[0].response.status.code is 'banana', expected an integer",
    ),
    (
        "code-out-of-range",
        _edited(lambda d: _first(d)["response"]["status"].update(code=99999)),
        "interactions[0].response.status.code is 99999, expected an HTTP status",
    ),
    (
        "no-status",
        _edited(lambda d: _first(d)["response"].pop("status")),
        "interactions[0].response has no status",
    ),
    (
        "status-message-not-ascii",
        _edited(lambda d: _first(d)["response"]["status"].update(message="Réussi")),
        "interactions[0].response.status.message is 'Réussi', expected ASCII text",
    ),
    (
        "body-an-integer",
        _edited(lambda d: _first(d)["response"].update(body=5)),
        "interactions[0].response.body is 5, expected a mapping",
    ),
    (
        "body-unknown-key",
        _edited(lambda d: _first(d)["response"].update(body={"html": "<p>"})),
        "interactions[0].response.body has 'html', expected one key, json or text",
    ),
    (
        "body-text-not-a-string",
        _edited(lambda d: _first(d)["response"].update(body={"text": [1, 2]})),
        "interactions[0].response.body.text is a list, expected a string",
    ),
    (
        "stream-body-not-text",
        _edited(lambda d: _first(d)["response"]["headers"].update({"content-type": ["text/event-stream"]})),
        "interactions[0].response.body is json, expected text",
    ),
    (
        "json-body-with-a-timestamp",
        _in_body("served_on: 2026-11-25 10:00:00"),
        "interactions[0].response.body.json.served_on is a timestamp, expected a JSON value",
    ),
    (
        "json-body-too-deep",
        _edited(lambda d: _first(d)["response"]["body"]["json"].update(deep=_nested(300))),
        "interactions[0].response.body.json is nested more than 200 levels deep",
    ),
    ("json-body-recursive-alias", _in_body("loop: &a [*a]"), "nested more than 200 levels deep"),
    (
        "header-value-a-number",
        _edited(lambda d: _first(d)["response"]["headers"].update({"x-request-id": [7]})),
        "interactions[0].response.headers.x-request-id[0] is 7, expected a string",
    ),
    (
        "request-unknown-field",
        _edited(lambda d: _first(d)["request"].update(verb="POST")),
        "interactions[0].request has an unknown field 'verb'",
    ),
    ("request-no-uri", _edited(lambda d: _first(d)["request"].pop("uri")), "interactions[0].request has no uri"),
    ("no-meta", _edited(lambda d: d.pop("meta")), "the cassette has no meta"),
    ("meta-a-string", _edited(lambda d: d.update(meta="yesterday")), "meta is 'yesterday', expected a mapping"),
    ("meta-no-source", _edited(lambda d: d["meta"].pop("source")), "meta has no source"),
    ("meta-source-a-number", _edited(lambda d: d["meta"].update(source=3)), "meta.source is 3, expected a"),
    ("version-2", _edited(lambda d: d.update(version=2)), "version is 2, expected 1"),
    (
        "binary-junk",
        lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe"),
        "not UTF-8 text (byte 0x89 at offset 0)",
    ),
    ("empty-file", _text(""), "the file is empty"),
    ("whitespace-only", _text("\n  \n"), "the file is empty"),
    ("a-directory", _directory, "it is a directory, expected a file"),
    ("a-fifo", _fifo, "it is not a regular file"),
    ("unreadable", _loop, "it cannot be read"),
]


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    """groq's chat and multi_turn recordings, copied."""
    root = tmp_path / "cassettes"
    (root / "groq").mkdir(parents=True)
    for name in ("chat.yaml", "chat_async.yaml", "multi_turn.yaml"):
        shutil.copy(COMMITTED / name, root / "groq" / name)
    return root


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize(("write", "expected"), [pytest.param(w, e, id=n) for n, w, e in MALFORMED])
def test_malformed_cassette_is_an_invalid_cell_and_the_run_goes_on(
    cassettes: Path, tmp_path: Path, write: Callable[[Path], None], expected: str
) -> None:
    target = cassettes / "groq" / "chat.yaml"
    target.unlink()
    write(target)
    code, output = _invoke(*ARGS, "--cassettes", str(cassettes), "--reports", str(tmp_path / "reports"))
    assert "Traceback" not in output
    assert code == EXIT_INVALID, output
    cells = {r["capability"]: r for r in json.loads((tmp_path / "reports" / "matrix.json").read_text())["results"]}
    assert cells["multi_turn"]["status"] == "pass"  # the rest of the run went on
    chat = cells["chat"]
    assert chat["status"] == "invalid"
    reason = next(part for part in chat["reason"].split("; ") if part.startswith("chat: "))
    assert reason == f"chat: cassette {target} is invalid: " + reason.split(" is invalid: ", 1)[1]
    assert expected in reason and "\n" not in reason
    assert "--mode record" in chat["command"]
    assert f"! groq / chat: chat: cassette {target} is invalid" in output  # listed under the table, on its line


def test_every_committed_cassette_passes_the_validating_reader() -> None:
    paths = sorted(COMMITTED.parent.rglob("*.yaml"))
    assert len(paths) > 100
    for path in paths:
        assert load_cassette(path)["interactions"], path


def test_invalid_cassette_message_is_one_line_and_typed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    data = copy.deepcopy(_template())
    data["interactions"][0]["response"]["status"]["code"] = "banana"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(CassetteInvalid) as caught:
        load_cassette(path)
    assert str(caught.value) == (
        f"cassette {path} is invalid: interactions[0].response.status.code is 'banana', expected an integer"
    )
    assert isinstance(caught.value, ValueError) and caught.value.path == str(path)


def test_invalid_generated_cassette_makes_the_generated_cell_invalid(tmp_path: Path) -> None:
    root = tmp_path / "cassettes"
    shutil.copytree(COMMITTED / "generated", root / "groq" / "generated")
    case = sorted((root / "groq" / "generated").glob("*.yaml"))[0]
    case.write_text("interactions: 5\n", encoding="utf-8")
    args = ["--providers", "groq", "--capabilities", "generated_sequences", "-k", case.stem]
    code, output = _invoke(*args, "--cassettes", str(root), "--reports", str(tmp_path / "reports"))
    assert "Traceback" not in output
    assert code == EXIT_INVALID, output
    (cell,) = json.loads((tmp_path / "reports" / "matrix.json").read_text())["results"]
    assert cell["status"] == "invalid"
    assert f"cassette {case} is invalid: interactions is 5, expected a list" in cell["reason"]
