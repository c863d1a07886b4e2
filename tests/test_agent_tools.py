"""Tools from typed functions (schema, validation, failures as results) and the built-in workspace tools (paths kept
inside the working directory, edits by unique text, shell commands with a timeout and an output cap)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from allos.agent import ToolError, ToolResult, Workspace, tool
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
    (tmp_path / "link").symlink_to(tmp_path.parent)
    tools = {t.name: t for t in workspace.tools()}
    for path in ("../outside.txt", str(outside), "link/outside.txt", "~/x"):
        result = tools["read_file"].invoke({"path": path})
        assert result.is_error and "outside the working directory" in result.content, path
    with pytest.raises(ToolError, match="outside"):
        tools["write_file"].preview({"path": "../x.txt", "content": ""})  # type: ignore[misc]
    allowed = Workspace(tmp_path, allow_outside=True)
    outside.write_text("far away", encoding="utf-8")
    assert allowed.read_file(str(outside)) == "far away"


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
