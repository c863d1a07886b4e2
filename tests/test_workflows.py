"""The GitHub workflows: valid against GitHub's workflow schema, and shaped the way docs/conformance.md says.

The schema check is check-jsonschema with its vendored copy of SchemaStore's github-workflow schema (offline, no
download); the structural checks read the YAML: pull requests run exactly `bash .ci/run`, the nightly run has one
live job per hosted alias with that alias's key from the repository secrets, and a report job that merges, writes
the job summary, reports drift, uploads the evidence and fails when a declared capability broke.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from allos import list_providers

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CI, NIGHTLY = WORKFLOWS / "ci.yml", WORKFLOWS / "nightly.yml"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def _schema_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema (the dev extra) validates the workflows")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    return subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, timeout=120, check=False)


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    result = _schema_check(CI, NIGHTLY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(CI.read_text(encoding="utf-8").replace("runs-on:", "runs_on:"), encoding="utf-8")
    assert _schema_check(broken).returncode != 0


def test_ci_runs_exactly_what_ci_runs_on_pull_requests() -> None:
    workflow = _load(CI)
    assert "pull_request" in workflow["on"]
    (job,) = workflow["jobs"].values()
    assert _runs(job) == ["bash .ci/run"]
    assert (ROOT / ".ci" / "run").exists()


def test_nightly_has_a_live_job_per_hosted_alias_with_its_key_from_the_secrets() -> None:
    workflow = _load(NIGHTLY)
    assert "schedule" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    live = workflow["jobs"]["live"]
    assert live["strategy"]["fail-fast"] is False
    rows = {row["alias"]: row["secret"] for row in live["strategy"]["matrix"]["include"]}
    hosted = {spec.name: spec.api_key_env for spec in list_providers() if not spec.local and spec.api_key_required}
    assert rows == hosted
    assert live["env"]["KEY_VALUE"] == "${{ secrets[matrix.secret] }}"
    (command,) = [run for run in _runs(live) if "allos-conform" in run]
    assert (
        '--providers "$ALIAS" --mode record --cassettes live/fresh-cassettes --reports "live/reports/$ALIAS"' in command
    )
    assert 'if [ -n "$KEY_VALUE" ]' in command  # an absent secret leaves the variable unset: the alias is skipped
    upload = [step for step in live["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload and upload[0]["if"] == "always()" and upload[0]["with"]["path"] == "live/"


def test_nightly_report_merges_summarises_reports_drift_uploads_and_fails_on_a_broken_capability() -> None:
    report = _load(NIGHTLY)["jobs"]["report"]
    assert report["needs"] == "live" and report["if"] == "always()"
    runs = "\n".join(_runs(report))
    assert "allos-conform merge" in runs
    assert 'cat reports/matrix.md >> "$GITHUB_STEP_SUMMARY"' in runs
    assert "allos-conform drift cassettes artifacts/fresh-cassettes --markdown reports/drift.md" in runs
    uploads = {step["with"]["name"]: step["with"]["path"] for step in report["steps"] if "upload-artifact" in str(step)}
    assert uploads == {"conformance-report": "reports/", "fresh-cassettes": "artifacts/fresh-cassettes/"}
    last = report["steps"][-1]
    assert last["run"].strip() == 'exit "${{ steps.merge.outputs.code }}"' and "if" not in last
