"""Tools from typed functions (schema, validation, failures as results) and the built-in workspace tools (paths kept
inside the working directory, edits by unique text, shell commands with a timeout and an output cap)."""

from __future__ import annotations

import os
import socket
import stat
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from allos.agent import ToolError, ToolResult, Workspace, tool
from allos.agent import sandbox as sandbox_module
from allos.agent import workspace as workspace_module
from allos.types import ToolSpec


class Point(BaseModel):
    x: int
    y: int = 0


def test_tool_schema_comes_from_the_signature_and_docstring() -> None:
    @tool
    def forecast(
        city: Annotated[str, "the city, e.g. Paris"],
        days: Annotated[int, Field(ge=1, le=7, description="how many days")] = 3,
        unit: Literal["celsius", "fahrenheit"] = "celsius",
        at: Point | None = None,
    ) -> str:
        """Forecast the weather.

        More detail that is not the description.

        Args:
            unit: the temperature unit
        """
        return city

    assert isinstance(forecast.spec, ToolSpec)
    assert forecast.name == "forecast" and forecast.spec.description == "Forecast the weather."
    schema = forecast.spec.parameters
    assert schema["required"] == ["city"] and schema["additionalProperties"] is False
    assert schema["properties"]["city"] == {"description": "the city, e.g. Paris", "type": "string"}
    assert schema["properties"]["days"] == {
        "default": 3,
        "description": "how many days",
        "maximum": 7,
        "minimum": 1,
        "type": "integer",
    }
    assert schema["properties"]["unit"]["enum"] == ["celsius", "fahrenheit"]
    assert schema["properties"]["unit"]["description"] == "the temperature unit"
    assert "title" not in str(schema)  # generated titles are noise to a model
    assert schema["$defs"]["Point"]["properties"]["x"] == {"type": "integer"}


def test_tool_keeps_a_property_named_title() -> None:
    @tool
    def publish(title: str) -> str:
        """Publish."""
        return title

    assert publish.spec.parameters["properties"] == {"title": {"type": "string"}}


def test_tool_validates_converts_and_fills_defaults() -> None:
    @tool(name="area", needs_approval=True)
    def rectangle(width: int, height: int = 2, origin: Point | None = None) -> dict[str, object]:
        """Area of a rectangle."""
        return {"area": width * height, "origin": origin.x if origin else None}

    assert rectangle.name == "area" and rectangle.needs_approval
    assert rectangle.validate({"width": "3"}) == {"width": 3, "height": 2, "origin": None}
    assert rectangle.invoke({"width": 3, "origin": {"x": 5}}) == ToolResult('{"area": 6, "origin": 5}')


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "invalid arguments: width: Missing required argument"),
        ({"width": "wide"}, "invalid arguments: width: Input should be a valid integer"),
        ({"width": 1, "depth": 2}, "depth: Unexpected keyword argument"),
    ],
    ids=["missing", "wrong-type", "unknown"],
)
def test_tool_bad_arguments_are_an_error_result(arguments: dict[str, object], expected: str) -> None:
    @tool
    def square(width: int) -> int:
        """Square."""
        return width * width

    result = square.invoke(arguments)
    assert result.is_error and expected in result.content


def test_tool_failures_are_results_not_exceptions() -> None:
    @tool
    def explode(reason: str) -> str:
        """Fail."""
        if reason == "tool":
            raise ToolError("no such thing")
        raise KeyError(reason)

    assert explode.invoke({"reason": "tool"}) == ToolResult("no such thing", is_error=True)
    assert explode.invoke({"reason": "other"}) == ToolResult("KeyError: 'other'", is_error=True)


def test_tool_results_from_other_return_types() -> None:
    @tool
    def nothing() -> None:
        """Nothing."""

    @tool
    def explicit() -> ToolResult:
        """Explicit."""
        return ToolResult("partly", is_error=True)

    assert nothing.invoke({}) == ToolResult("done")
    assert explicit.invoke({}) == ToolResult("partly", is_error=True)


def test_tool_needs_annotations_and_no_star_arguments() -> None:
    def untyped(path):  # type: ignore[no-untyped-def]
        return path

    def star(*paths: str) -> str:
        return ""

    with pytest.raises(TypeError, match="'path' needs a type annotation"):
        tool(untyped)
    with pytest.raises(TypeError, match=r"\*paths cannot be described"):
        tool(star)


# --- the workspace ---------------------------------------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    (tmp_path / "notes.txt").write_text("alpha\nbeta\nalpha\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    return Workspace(tmp_path, shell_timeout=5)


def test_builtin_tools_have_schemas_and_approval_where_they_change_things(workspace: Workspace) -> None:
    tools = {t.name: t for t in workspace.tools()}
    assert sorted(tools) == ["edit_file", "list_directory", "read_file", "run_shell", "write_file"]
    assert {name for name, t in tools.items() if t.needs_approval} == {"write_file", "edit_file", "run_shell"}
    for item in tools.values():
        assert item.spec.parameters["type"] == "object" and item.spec.description
    assert tools["edit_file"].spec.parameters["required"] == ["path", "old_text", "new_text"]


def test_paths_outside_the_workdir_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path.parent / "outside.txt"
    tools = {t.name: t for t in workspace.tools()}
    for path in ("../outside.txt", str(outside), "src/../../outside.txt", "~/x", f"{tmp_path}/../outside.txt"):
        result = tools["read_file"].invoke({"path": path})
        assert result.is_error and "outside the working directory" in result.content, path
    with pytest.raises(ToolError, match="outside"):
        tools["write_file"].preview({"path": "../x.txt", "content": ""})  # type: ignore[misc]
    assert workspace.read_file("src/../notes.txt") == workspace.read_file(str(tmp_path / "notes.txt"))
    allowed = Workspace(tmp_path, allow_outside=True)
    outside.write_text("far away", encoding="utf-8")
    assert allowed.read_file(str(outside)) == "far away"


def test_symlinks_are_refused_at_every_name(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret", encoding="utf-8")
    (tmp_path / "out").symlink_to(outside)  # a directory link leaving the workdir
    (tmp_path / "in").symlink_to(tmp_path / "src")  # one that stays inside: refused all the same
    (tmp_path / "file-link").symlink_to(outside / "secret.txt")
    tools = {t.name: t for t in workspace.tools()}
    calls = [
        ("read_file", {"path": "out/secret.txt"}, "out is a symbolic link"),
        ("read_file", {"path": "in/x.txt"}, "in is a symbolic link"),
        ("read_file", {"path": "file-link"}, "file-link is a symbolic link"),
        ("list_directory", {"path": "out"}, "out is a symbolic link"),
        ("write_file", {"path": "out/new.txt", "content": "x"}, "out is a symbolic link"),
        ("write_file", {"path": "file-link", "content": "x"}, "file-link is a symbolic link"),
        ("edit_file", {"path": "file-link", "old_text": "outside", "new_text": "x"}, "file-link is a symbolic"),
    ]
    for name, arguments, expected in calls:
        result = tools[name].invoke(arguments)
        assert result.is_error and expected in result.content, (name, arguments, result)
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_text(encoding="utf-8") == "outside secret"
    listing = workspace.list_directory()
    assert "out  (symbolic link, not followed)" in listing and "file-link  (symbolic link, not followed)" in listing


def test_fifos_sockets_and_devices_are_refused_never_waited_on(workspace: Workspace, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        tools = {t.name: t for t in workspace.tools()}
        for name in ("pipe", "sock"):
            kind = "a FIFO" if name == "pipe" else "a socket"
            for tool_name, arguments in [
                ("read_file", {"path": name}),
                ("write_file", {"path": name, "content": "x"}),
                ("edit_file", {"path": name, "old_text": "a", "new_text": "b"}),
            ]:
                result = tools[tool_name].invoke(arguments)
                assert result.is_error and f"{name} is {kind}, not a regular file" in result.content, result
            assert tools["list_directory"].invoke({"path": name}).content.endswith("is not a directory")
        assert "pipe  (FIFO)" in workspace.list_directory() and "sock  (socket)" in workspace.list_directory()
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)  # still the FIFO: nothing was written over it
    device = Workspace(tmp_path, allow_outside=True).read_file
    with pytest.raises(ToolError, match="/dev/null is a character device, not a regular file"):
        device("/dev/null")


def test_read_and_list(workspace: Workspace, tmp_path: Path) -> None:
    assert workspace.read_file("notes.txt") == "alpha\nbeta\nalpha\n"
    assert workspace.list_directory() == "src/\nnotes.txt  (17 bytes)"
    assert workspace.list_directory("src") == "(empty directory)"
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    tools = {t.name: t for t in workspace.tools()}
    assert tools["read_file"].invoke({"path": "blob.bin"}) == ToolResult("blob.bin is not a text file", is_error=True)
    assert tools["read_file"].invoke({"path": "gone.txt"}) == ToolResult("no such file: gone.txt", is_error=True)
    assert tools["read_file"].invoke({"path": "src"}).content == "src is a directory; use list_directory"
    assert tools["list_directory"].invoke({"path": "nope"}).content == "no such directory: nope"


def test_write_creates_parents_and_previews_a_diff(workspace: Workspace, tmp_path: Path) -> None:
    assert workspace._preview_write({"path": "a/b.txt", "content": "x\ny\n"}) == "create a/b.txt (2 lines)"
    assert workspace.write_file("a/b.txt", "x\ny\n") == "wrote 2 lines to a/b.txt"
    assert (tmp_path / "a" / "b.txt").read_text(encoding="utf-8") == "x\ny\n"
    preview = workspace._preview_write({"path": "a/b.txt", "content": "x\nz\n"})
    assert preview.splitlines()[0] == "replace the content of a/b.txt" and "-y" in preview and "+z" in preview


def test_edit_replaces_unique_text_only(workspace: Workspace, tmp_path: Path) -> None:
    edit = {t.name: t for t in workspace.tools()}["edit_file"]
    twice = edit.invoke({"path": "notes.txt", "old_text": "alpha", "new_text": "gamma"})
    assert twice.is_error and "appears 2 times" in twice.content
    missing = edit.invoke({"path": "notes.txt", "old_text": "delta", "new_text": "x"})
    assert missing.is_error and "was not found" in missing.content
    assert edit.invoke({"path": "notes.txt", "old_text": "beta", "new_text": "BETA"}).content == (
        "replaced 1 occurrence in notes.txt"
    )
    everywhere = {"path": "notes.txt", "old_text": "alpha", "new_text": "A", "replace_all": True}
    assert "-alpha" in workspace._preview_edit(edit.validate(everywhere))
    assert edit.invoke(everywhere).content == "replaced 2 occurrences in notes.txt"
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "A\nBETA\nA\n"


def test_edit_refuses_a_file_over_the_read_cap_and_leaves_it_whole(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workspace_module, "MAX_READ_BYTES", 1000)
    big = tmp_path / "big.txt"
    big.write_bytes(b"ab\n" * 1000)
    before = big.read_bytes()
    edit = {t.name: t for t in workspace.tools()}["edit_file"]
    result = edit.invoke({"path": "big.txt", "old_text": "ab", "new_text": "x", "replace_all": True})
    assert result.is_error and "big.txt is larger than 1000 bytes" in result.content and "\n" not in result.content
    assert big.read_bytes() == before
    with pytest.raises(ToolError, match="larger than 1000 bytes"):
        workspace._preview_edit({"path": "big.txt", "old_text": "ab", "new_text": "x", "replace_all": True})
    assert workspace.read_file("big.txt").endswith("[... cut: the file is longer than 1000 bytes; read it by lines]")


def test_edit_refuses_text_that_is_not_utf8_and_leaves_it_whole(workspace: Workspace, tmp_path: Path) -> None:
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café crème\n".encode("latin-1"))
    result = workspace.edit_file
    with pytest.raises(ToolError, match=r"latin.txt is not valid UTF-8 \(byte 0xe9 at offset 3\)"):
        result("latin.txt", "crème", "cream")
    assert latin.read_bytes() == "café crème\n".encode("latin-1")
    assert "shown as U+FFFD; edit_file will refuse this file" in workspace.read_file("latin.txt")


def test_edit_changes_only_the_bytes_asked_bom_and_crlf_kept(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "win.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\r\nthree\r\n")
    assert workspace.edit_file("win.txt", "two", "2") == "replaced 1 occurrence in win.txt"
    assert path.read_bytes() == b"\xef\xbb\xbfone\r\n2\r\nthree\r\n"
    # Text with bare line ends, as a model often sends it, matches and is written with the file's CRLF.
    assert workspace.edit_file("win.txt", "2\nthree\n", "2\n3\n") == "replaced 1 occurrence in win.txt"
    assert path.read_bytes() == b"\xef\xbb\xbfone\r\n2\r\n3\r\n"
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"a\r\nb\nc\r\n")  # mixed line ends: exact matching only
    with pytest.raises(ToolError, match="was not found"):
        workspace.edit_file("mixed.txt", "a\nb", "x")


def test_edit_count_is_true_of_the_bytes_written(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    original = "αβ-αβ-αβαβ\n東京 αβ\n".encode()
    path.write_bytes(original)
    report = workspace.edit_file("many.txt", "αβ", "Ω", replace_all=True)
    assert (
        report
        == f"replaced {original.count('αβ'.encode())} occurrences in many.txt"
        == "replaced 5 occurrences in many.txt"
    )
    assert path.read_bytes() == original.replace("αβ".encode(), "Ω".encode())
    with pytest.raises(ToolError, match="lone surrogate"):
        workspace.edit_file("many.txt", "Ω", "\ud800")


def test_writes_are_atomic_and_keep_the_mode(workspace: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo one\n", encoding="utf-8")
    script.chmod(0o751)
    workspace.edit_file("run.sh", "one", "two")
    assert stat.S_IMODE(script.stat().st_mode) == 0o751 and script.read_text(encoding="utf-8") == "echo two\n"
    workspace.write_file("run.sh", "echo three\n")
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    umask = os.umask(0o022)
    os.umask(umask)
    workspace.write_file("fresh.txt", "new\n")
    assert stat.S_IMODE((tmp_path / "fresh.txt").stat().st_mode) == 0o666 & ~umask
    assert sorted(os.listdir(tmp_path)) == ["fresh.txt", "notes.txt", "run.sh", "src"]  # no temporary file left


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_whole(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    before = (tmp_path / "notes.txt").read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sandbox_module.os, failing, crash)
    write = {t.name: t for t in workspace.tools()}["write_file"]
    result = write.invoke({"path": "notes.txt", "content": "new"})
    assert result.is_error and "No space left on device" in result.content
    assert (tmp_path / "notes.txt").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["notes.txt", "src"]


def test_hard_links_read_but_never_written(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-linked.txt"
    outside.write_text("shared bytes\n", encoding="utf-8")
    os.link(outside, tmp_path / "linked.txt")
    assert workspace.read_file("linked.txt") == "shared bytes\n"  # indistinguishable from a file of its own
    tools = {t.name: t for t in workspace.tools()}
    for name, arguments in [
        ("write_file", {"path": "linked.txt", "content": "x"}),
        ("edit_file", {"path": "linked.txt", "old_text": "shared", "new_text": "x"}),
    ]:
        result = tools[name].invoke(arguments)
        assert result.is_error and "linked.txt has 2 hard links; writing it would split them" in result.content
    assert outside.read_text(encoding="utf-8") == "shared bytes\n" and os.stat(outside).st_nlink == 2


def test_shell_output_exit_code_and_missing_program(workspace: Workspace) -> None:
    assert workspace.run_shell("echo out; echo err >&2") == ToolResult("out\nerr\n[exit code 0]")
    assert workspace.run_shell("exit 3") == ToolResult("(no output)\n[exit code 3]", is_error=True)
    missing = workspace.run_shell("no-such-program-allos --flag")
    assert missing.is_error and "not found" in missing.content and "[exit code 127]" in missing.content
    assert workspace.run_shell("cat") == ToolResult("(no output)\n[exit code 0]")  # stdin is closed, never the tty


def test_shell_timeout_stops_the_whole_process_group(workspace: Workspace, tmp_path: Path) -> None:
    started = time.monotonic()
    result = workspace.run_shell(f"sleep 30 & echo $! > {tmp_path}/child.pid; sleep 30", timeout=0.5)
    assert time.monotonic() - started < 5
    assert result.is_error and "[timed out after 0.5 s; the command was stopped]" in result.content
    child = int((tmp_path / "child.pid").read_text(encoding="utf-8"))
    deadline = time.monotonic() + 2
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child), "the background child outlived the timeout"


def test_shell_background_child_holding_the_output_is_stopped(workspace: Workspace) -> None:
    started = time.monotonic()
    result = workspace.run_shell("sleep 30 & echo started")
    assert result == ToolResult("started\n[exit code 0]") and time.monotonic() - started < 5


def test_shell_output_is_capped_head_and_tail(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workspace_module, "SHELL_HEAD_BYTES", 100)
    monkeypatch.setattr(workspace_module, "SHELL_TAIL_BYTES", 50)
    script = "import sys; sys.stdout.write('H' * 100 + 'M' * 100000 + 'T' * 50)"
    result = workspace.run_shell(f'{sys.executable} -c "{script}"')
    head, _, rest = result.content.partition("\n[... 100000 bytes of output omitted ...]\n")
    assert head == "H" * 100 and rest == "T" * 50 + "\n[exit code 0]"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True
