"""Bad paths and bad input files through the real `allos-conform`: one line naming the option or the file and the
field, exit 2, nothing written, never a traceback. `serve` on a taken port likewise (a real socket holds it).

Every bad input is written under tmp_path.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conformance.cli import app
from conformance.results import EXIT_USAGE

COMMITTED = Path(__file__).resolve().parent.parent / "cassettes"
RUN = ["--providers", "groq", "--capabilities", "chat"]


def _invoke(*args: str) -> str:
    """Run the CLI; the output (stdout and stderr) of a usage error, checked to be one line and no traceback."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == EXIT_USAGE, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("allos-conform: ")
    return lines[0]


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


# --- the matrix run's paths -----------------------------------------------------------------------------------------


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    shutil.copytree(COMMITTED / "groq", root / "groq", ignore=shutil.ignore_patterns("generated"))
    return root


def test_reports_pointing_at_a_file_is_one_line_and_writes_nothing(cassettes: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("mine\n", encoding="utf-8")
    before = _files(tmp_path)
    line = _invoke(*RUN, "--cassettes", str(cassettes), "--reports", str(target))
    assert line == f"allos-conform: --reports: {target} is a file; expected a directory"
    assert _files(tmp_path) == before and target.read_text(encoding="utf-8") == "mine\n"


def test_reports_under_a_file_is_one_line(cassettes: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("", encoding="utf-8")
    line = _invoke(*RUN, "--cassettes", str(cassettes), "--reports", str(blocker / "reports"))
    assert (
        line
        == f"allos-conform: --reports: {blocker / 'reports'} is under {blocker}, which is a file; expected a directory"
    )


def test_reports_in_an_unwritable_place_is_one_line(cassettes: Path, tmp_path: Path) -> None:
    # sysfs refuses new files to every user, root included: a place no run can write, on any Linux machine.
    if not Path("/sys/kernel").is_dir():
        pytest.fail("this test needs Linux's /sys")
    line = _invoke(*RUN, "--cassettes", str(cassettes), "--reports", "/sys/kernel/allos-reports")
    assert line.startswith("allos-conform: --reports: /sys/kernel/allos-reports cannot be written (/sys/kernel: ")
    assert not Path("/sys/kernel/allos-reports").exists()


@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_replay_cassettes_that_are_not_a_directory_is_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "cassettes"
    if kind == "a-file":
        path.write_text("", encoding="utf-8")
    line = _invoke(*RUN, "--cassettes", str(path), "--reports", str(tmp_path / "reports"))
    problem = "does not exist" if kind == "missing" else "is not a directory"
    assert (
        line
        == f"allos-conform: --cassettes {path} {problem}; expected the directory of recordings (<alias>/<case>.yaml)"
    )
    assert not (tmp_path / "reports").exists()


def test_record_cassettes_under_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("", encoding="utf-8")
    args = [*RUN, "--mode", "record", "--against", "simulator", "--cassettes", str(blocker / "fresh")]
    line = _invoke(*args, "--reports", str(tmp_path / "reports"))
    assert line.startswith(f"allos-conform: --cassettes: {blocker / 'fresh'} is under {blocker}, which is a file")
    assert not (tmp_path / "reports").exists()


# --- results files: report and merge --------------------------------------------------------------------------------

GOOD_REPORT: dict[str, Any] = {
    "schema_version": 1,
    "generated_at": "2026-12-02T09:00:00+00:00",
    "mode": "replay",
    "allos_version": "0.1.0",
    "results": [{"provider": "groq", "capability": "chat", "status": "pass", "reason": "chat"}],
}


def _report_with(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        data = copy.deepcopy(GOOD_REPORT)
        edit(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    return write


def _write(content: bytes | str) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content if isinstance(content, bytes) else content.encode())


BAD_REPORTS: list[tuple[str, Callable[[Path], None], str]] = [
    ("not-json", _write("{not json"), "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    ("top-level-list", _write("[1, 2]"), "the top level is a list, expected an object with schema_version"),
    ("schema-2", _report_with(lambda d: d.update(schema_version=2)), "schema_version is 2, expected 1"),
    ("no-schema", _report_with(lambda d: d.pop("schema_version")), "schema_version is null, expected 1"),
    ("results-5", _report_with(lambda d: d.update(results=5)), "results is 5: input should be a valid list"),
    (
        "status-meh",
        _report_with(lambda d: d["results"][0].update(status="meh")),
        "results[0].status is 'meh': input should be 'pass', 'fail'",
    ),
    ("no-provider", _report_with(lambda d: d["results"][0].pop("provider")), "results[0].provider is missing"),
    (
        "extra-field",
        _report_with(lambda d: d["results"][0].update(colour="red")),
        "results[0].colour is not a known field",
    ),
    ("binary-junk", _write(b"\x89PNG\r\n\x1a\n\x00\xff"), "not UTF-8 text (byte 0x89 at offset 0)"),
    ("empty", _write(""), "the file is empty"),
    ("deeply-nested", _write("[" * 100_000 + "]" * 100_000), "not valid JSON: nested too deeply"),
]


@pytest.mark.parametrize("command", ["report", "merge"])
@pytest.mark.parametrize(("write", "expected"), [pytest.param(w, e, id=n) for n, w, e in BAD_REPORTS])
def test_bad_results_file_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, command: str, write: Callable[[Path], None], expected: str
) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    _report_with(lambda d: None)(good)
    write(bad)
    line = _invoke(command, str(good), str(bad), "--reports", str(tmp_path / "out"))
    assert line.startswith(f"allos-conform: results file {bad} is invalid: ")
    assert expected in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["report", "merge"])
@pytest.mark.parametrize("kind", ["missing", "a-directory"])
def test_results_file_that_is_not_a_file_is_one_line(tmp_path: Path, command: str, kind: str) -> None:
    path = tmp_path / "matrix.json"
    if kind == "a-directory":
        path.mkdir()
    line = _invoke(command, str(path), "--reports", str(tmp_path / "out"))
    problem = "does not exist" if kind == "missing" else "is a directory"
    assert line == f"allos-conform: FILES {path} {problem}; expected a results file (matrix.json) written by a run"


@pytest.mark.parametrize("command", ["report", "merge"])
def test_report_and_merge_refuse_reports_pointing_at_a_file(tmp_path: Path, command: str) -> None:
    good, target = tmp_path / "good.json", tmp_path / "taken"
    _report_with(lambda d: None)(good)
    target.write_text("mine\n", encoding="utf-8")
    line = _invoke(command, str(good), "--reports", str(target))
    assert line == f"allos-conform: --reports: {target} is a file; expected a directory"
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_a_good_results_file_still_renders(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    _report_with(lambda d: None)(good)
    result = CliRunner().invoke(app, ["merge", str(good), "--reports", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "matrix.json").read_text())["results"][0]["status"] == "pass"


# --- reproductions --------------------------------------------------------------------------------------------------

GOOD_REPRO: dict[str, Any] = {
    "schema_version": 1,
    "alias": "groq",
    "protocol": "chat_completions",
    "case": "gen_00",
    "mode": "replay",
    "where": "offline",
    "written_at": "2026-12-02T09:00:00+00:00",
    "failure": {"kind": "failed", "error": "InvalidRequestError", "status": None, "reason": "was refused"},
    "request": {"model": "m", "canonical": {"messages": [{"role": "user", "content": "hi"}]}, "http": None},
    "answer": None,
    "shrink": {"from": {}, "to": {}, "tried": 0, "steps": 0},
    "command": "allos-conform repro x.json",
}


def _repro_with(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        data = copy.deepcopy(GOOD_REPRO)
        edit(data)
        path.write_text(json.dumps(data), encoding="utf-8")

    return write


BAD_REPROS: list[tuple[str, Callable[[Path], None], str]] = [
    ("not-json", _write("{"), "not valid JSON"),
    ("top-level-list", _write("[]"), "the top level is a list, expected an object"),
    ("schema-7", _repro_with(lambda d: d.update(schema_version=7)), "schema_version is 7, expected 1"),
    ("no-alias", _repro_with(lambda d: d.pop("alias")), "alias is missing"),
    (
        "unknown-alias",
        _repro_with(lambda d: d.update(alias="nope")),
        "alias is 'nope', which is not a registered alias",
    ),
    ("where-moon", _repro_with(lambda d: d.update(where="moon")), "where is 'moon': input should be 'offline'"),
    ("failure-5", _repro_with(lambda d: d.update(failure=5)), "failure is 5"),
    ("no-canonical", _repro_with(lambda d: d["request"].pop("canonical")), "request.canonical is missing"),
    (
        "bad-role",
        _repro_with(lambda d: d["request"]["canonical"]["messages"][0].update(role="wizard")),
        "request.canonical.messages[0]",
    ),
    ("answer-status-x", _repro_with(lambda d: d.update(answer={"status": "x"})), "answer.status is 'x'"),
    ("http-a-string", _repro_with(lambda d: d["request"].update(http="GET /")), "request.http is 'GET /'"),
    ("binary-junk", _write(b"\xff\xfe\x00"), "not UTF-8 text"),
]


@pytest.mark.parametrize(("write", "expected"), [pytest.param(w, e, id=n) for n, w, e in BAD_REPROS])
def test_bad_reproduction_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, write: Callable[[Path], None], expected: str
) -> None:
    path = tmp_path / "groq-gen_00.json"
    write(path)
    line = _invoke("repro", str(path))
    assert line.startswith(f"allos-conform: reproduction {path} is invalid: ")
    assert expected in line


def test_good_reproduction_still_replays(tmp_path: Path) -> None:
    path = tmp_path / "groq-gen_00.json"
    _repro_with(lambda d: None)(path)
    result = CliRunner().invoke(app, ["repro", str(path)])
    assert result.exit_code == 0, result.output  # offline, it no longer fails before sending
    assert "groq gen_00 (offline): no longer fails" in result.output


@pytest.mark.parametrize("kind", ["missing", "a-directory"])
def test_reproduction_that_is_not_a_file_is_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "groq-gen_00.json"
    if kind == "a-directory":
        path.mkdir()
    line = _invoke("repro", str(path))
    problem = "does not exist" if kind == "missing" else "is a directory"
    assert (
        line == f"allos-conform: FILE {path} {problem}; expected a reproduction (reports/failures/<alias>-<case>.json)"
    )


# --- drift ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old", tmp_path / "new"
    for root in (old, new):
        (root / "groq").mkdir(parents=True)
        shutil.copy(COMMITTED / "groq" / "chat.yaml", root / "groq" / "chat.yaml")
    return old, new


def test_drift_with_an_invalid_cassette_is_one_line_naming_it(pair: tuple[Path, Path]) -> None:
    old, new = pair
    data = yaml.safe_load((new / "groq" / "chat.yaml").read_text(encoding="utf-8"))
    data["interactions"][0]["response"]["status"]["code"] = "banana"
    (new / "groq" / "chat.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    line = _invoke("drift", str(old), str(new))
    assert line == (
        f"allos-conform: cassette {new / 'groq' / 'chat.yaml'} is invalid: "
        "interactions[0].response.status.code is 'banana', expected an integer"
    )


def test_drift_with_a_bad_results_file_is_one_line(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    _report_with(lambda d: None)(old)
    _report_with(lambda d: d.update(results=[1]))(new)
    line = _invoke("drift", str(old), str(new))
    assert line.startswith(f"allos-conform: results file {new} is invalid: results[0] is 1")


@pytest.mark.parametrize("which", ["OLD", "NEW"])
def test_drift_with_a_missing_side_is_one_line(pair: tuple[Path, Path], which: str) -> None:
    old, new = pair
    missing = old.parent / "nowhere"
    args = (missing, new) if which == "OLD" else (old, missing)
    line = _invoke("drift", *map(str, args))
    assert line == f"allos-conform: {which} {missing} does not exist; expected a cassette directory or a results file"


def test_drift_of_a_directory_and_a_file_is_one_line(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, _ = pair
    results = tmp_path / "matrix.json"
    _report_with(lambda d: None)(results)
    line = _invoke("drift", str(old), str(results))
    assert line == (
        f"allos-conform: OLD {old} is a directory but NEW {results} is a file; "
        "compare two cassette directories or two results files"
    )


def test_drift_markdown_pointing_at_a_directory_is_one_line(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = pair
    line = _invoke("drift", str(old), str(new), "--markdown", str(tmp_path))
    assert line == f"allos-conform: --markdown: {tmp_path} is a directory; expected a file to write"


# --- serve ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a real, listening socket holds for the test."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    """`allos-conform serve` as its own process, the way a user starts it."""
    script = Path(sys.executable).with_name("allos-conform")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from conformance.cli import main; raise SystemExit(main())"]
    )
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*command, "serve", *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_serve_on_a_taken_port_is_one_line_and_exit_2(taken_port: int) -> None:
    done = _serve("--provider", "groq", "--port", str(taken_port))
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr == f"port {taken_port} on 127.0.0.1 is in use; pick another with --port or use --port 0\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--provider", "nope"], "no simulator for 'nope'; simulated: "),
        (["--provider", "groq", "--port", "70000"], "--port must be between 0 and 65535 (0: a free one), not 70000"),
    ],
    ids=["unknown-provider", "port-out-of-range"],
)
def test_serve_usage_errors_are_one_line_and_exit_2(args: list[str], expected: str) -> None:
    done = _serve(*args)
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(expected)
