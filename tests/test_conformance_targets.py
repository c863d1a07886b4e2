"""allos-conform pointed at a user's endpoint (`--base-url`) and at a user's alias (`--plugin`, entry points).

Every endpoint here is a simulator this test starts in-process on 127.0.0.1 (a free port); the assertions check that
the requests really reached it, and what the written matrix.json and cassettes say about it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from allos.providers.registry import get_spec, list_providers, unregister_provider
from conformance.cli import main
from conformance.plugins import ENTRY_POINT_GROUP
from conformance.simulators._framework import Simulator


def _results(reports: Path) -> list[dict[str, str]]:
    results: list[dict[str, str]] = json.loads((reports / "matrix.json").read_text())["results"]
    return results


@pytest.fixture(scope="module")
def vllm_server() -> Iterator[Simulator]:
    """The vLLM simulator standing in for a user's own vLLM server."""
    with Simulator("vllm") as server:
        yield server


def test_base_url_runs_the_alias_live_against_that_server(vllm_server: Simulator, tmp_path: Path) -> None:
    before = len(vllm_server.state.requests)
    args = ["--providers", "vllm", "--base-url", vllm_server.base_url, "--mode", "live"]
    assert main([*args, "--cassettes", str(tmp_path / "cassettes"), "--reports", str(tmp_path / "reports")]) == 0
    results = _results(tmp_path / "reports")
    declared = {c.value for c in get_spec("vllm").capabilities}
    assert {r["capability"] for r in results if r["status"] == "pass"} == declared
    assert {r["status"] for r in results if r["capability"] not in declared} == {"unsupported"}
    assert {r["source"] for r in results if r["capability"] in declared} == {f"live {vllm_server.base_url}"}
    received = vllm_server.state.requests[before:]
    assert len(received) >= len(declared)
    assert {r.path for r in received} == {"/v1/chat/completions"}
    # vllm has no default model: the run sends the harness's stand-in name, which a vLLM server serving it accepts
    assert {json.loads(r.body)["model"] for r in received} == {"conformance-model"}
    assert not (tmp_path / "cassettes").exists()


def test_base_url_recordings_name_the_endpoint_without_its_userinfo(vllm_server: Simulator, tmp_path: Path) -> None:
    host = vllm_server.base_url.removeprefix("http://")
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    args = ["--providers", "vllm", "--capabilities", "chat,tool_result", "--mode", "record"]
    base_url = f"http://gateway-user:s3cret-pass-0123@{host}"
    assert main([*args, "--base-url", base_url, "--cassettes", str(cassettes), "--reports", str(reports)]) == 0
    meta = yaml.safe_load((cassettes / "vllm" / "tool_result.yaml").read_text())["meta"]
    assert meta["base_url"] == meta["source"] == vllm_server.base_url
    uris = {
        i["request"]["uri"] for p in cassettes.rglob("*.yaml") for i in yaml.safe_load(p.read_text())["interactions"]
    }
    assert uris == {"http://localhost:8000/v1/chat/completions"}  # the alias's own URL: replay needs no option
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert "s3cret-pass-0123" not in path.read_text(encoding="utf-8"), path
    replay = ["--providers", "vllm", "--capabilities", "chat,tool_result", "--cassettes", str(cassettes)]
    assert main([*replay, "--reports", str(tmp_path / "replayed")]) == 0
    assert {r["status"] for r in _results(tmp_path / "replayed")} == {"pass"}


PLUGIN = """
from allos.capabilities import Capability
from allos.providers.registry import ProviderSpec, register_provider

register_provider(ProviderSpec(
    name={alias!r}, protocol="chat_completions", base_url={base_url!r}, api_key_env=None, api_key_required=False,
    capabilities=frozenset({{Capability.CHAT, Capability.TOOLS, Capability.TOOL_CALL, Capability.STREAMING}}),
))
"""


@pytest.fixture
def gateway() -> Iterator[Simulator]:
    """A generic OpenAI-compatible server standing in for a user's gateway."""
    with Simulator("chat_completions") as server:
        yield server


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for plugin modules; what they register and import is undone afterwards."""
    directory = tmp_path / "plugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    aliases, modules = {s.name for s in list_providers()}, set(sys.modules)
    yield directory
    for spec in list_providers():
        if spec.name not in aliases:
            unregister_provider(spec.name)
    for name in set(sys.modules) - modules:
        if name.startswith("allos_test_plugin"):
            del sys.modules[name]


def _run_alias(alias: str, out: Path, *extra: str) -> int:
    args = ["--providers", alias, "--capabilities", "chat,tool_call,streaming,json_mode", "--mode", "live", *extra]
    return main([*args, "--cassettes", str(out / "cassettes"), "--reports", str(out / "reports")])


def test_plugin_module_registers_an_alias_that_reaches_the_matrix(
    gateway: Simulator, plugin_dir: Path, tmp_path: Path
) -> None:
    (plugin_dir / "allos_test_plugin_gw.py").write_text(PLUGIN.format(alias="my-gateway", base_url=gateway.base_url))
    assert _run_alias("my-gateway", tmp_path, "--plugin", "allos_test_plugin_gw") == 0
    cells = {r["capability"]: r for r in _results(tmp_path / "reports") if r["provider"] == "my-gateway"}
    assert {c: r["status"] for c, r in cells.items()} == {
        "chat": "pass", "tool_call": "pass", "streaming": "pass", "json_mode": "unsupported"}  # fmt: skip
    assert cells["chat"]["source"] == f"live {gateway.base_url}"
    assert {r.path for r in gateway.state.requests} == {"/v1/chat/completions"}


def test_entry_point_group_loads_an_installed_packages_aliases(
    gateway: Simulator, plugin_dir: Path, tmp_path: Path
) -> None:
    (plugin_dir / "allos_test_plugin_ep.py").write_text(PLUGIN.format(alias="my-ep-gateway", base_url=gateway.base_url))
    dist = plugin_dir / "allos_test_plugin_ep-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: allos-test-plugin-ep\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nmy-ep-gateway = allos_test_plugin_ep\n")
    assert _run_alias("my-ep-gateway", tmp_path) == 0
    assert {r["provider"] for r in _results(tmp_path / "reports")} == {"my-ep-gateway"}
    assert gateway.state.requests


def _one_line_usage_error(args: list[str], reports: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main([*args, "--reports", str(reports)]) == 2, args
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("allos-conform: "), err
    assert not reports.exists(), args  # refused before anything ran
    return err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--providers", "vllm,ollama", "--base-url", "http://127.0.0.1:9/v1", "--mode", "live"], "exactly one alias"),
        (["--base-url", "http://127.0.0.1:9/v1", "--mode", "record"], "exactly one alias"),
        (["--providers", "vllm", "--base-url", "http://127.0.0.1:9/v1"], "replay reads cassettes"),
        (
            ["--providers", "vllm", "--base-url", "http://127.0.0.1:9/v1", "--mode", "live", "--against", "simulator"],
            "--against simulator",
        ),
        (["--providers", "vllm", "--base-url", "ftp://u:hidden-pw@127.0.0.1/v1", "--mode", "live"], "ftp://127.0.0.1"),
        (["--plugin", "allos_test_plugin_absent", "--providers", "vllm"], "'allos_test_plugin_absent' failed"),
        (["--providers", "my-unregistered-gateway"], "--plugin MODULE or an 'allos.providers' entry point"),
    ],
    ids=["two-aliases", "every-alias", "replay", "with-simulator", "not-http", "plugin-missing", "unknown-alias"],
)
def test_bad_targets_are_one_line_usage_errors(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_usage_error(args, tmp_path / "reports", capsys)
    assert expected in err
    assert "hidden-pw" not in err


def test_a_plugin_that_raises_or_a_broken_entry_point_is_named_in_one_line(
    plugin_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (plugin_dir / "allos_test_plugin_bad.py").write_text("raise RuntimeError('boom\\nsecond line')\n")
    err = _one_line_usage_error(["--plugin", "allos_test_plugin_bad"], tmp_path / "a", capsys)
    assert "'allos_test_plugin_bad' failed to import: RuntimeError: boom second line" in err
    dist = plugin_dir / "allos_test_plugin_gone-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: allos-test-plugin-gone\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ngone = allos_test_plugin_gone\n")
    err = _one_line_usage_error(["--providers", "vllm"], tmp_path / "b", capsys)
    assert "entry point 'gone' (allos_test_plugin_gone) in group 'allos.providers' failed to load" in err
