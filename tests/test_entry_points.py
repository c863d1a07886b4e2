"""The console scripts exist and never crash, even before their full features land."""

from __future__ import annotations

from pathlib import Path

import pytest

from allos import list_providers
from allos.cli import main as allos_main
from conformance.cli import main as conform_main


def test_allos_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert allos_main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("allos 0.")


def test_allos_without_arguments_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert allos_main([]) == 0
    out = capsys.readouterr().out
    assert "Usage: allos" in out and "--active-providers" in out and "--provider groq" in out
    for command in ("ask", "models", "pull"):
        assert f"  {command} " in out


def test_allos_unknown_arguments_exit_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert allos_main(["do", "something"]) == 2


def test_allos_conform_without_cassettes_reports_stale_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    (tmp_path / "none").mkdir()  # an empty cassette directory (a missing one is a usage error, exit 2)
    code = conform_main(["--cassettes", str(tmp_path / "none"), "--reports", str(tmp_path / "reports"), "-k", "chat"])
    assert code == 3  # stale: nothing recorded there
    out = capsys.readouterr().out
    for spec in list_providers():
        assert spec.name in out
    assert (tmp_path / "reports" / "matrix.json").exists()
