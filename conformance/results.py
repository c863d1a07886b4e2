"""Results are data: one `Result` per alias x capability, written as `reports/matrix.json` and merged across jobs.

The file format is versioned (`schema_version`); reports are rendered from these files alone, so a CI job can
publish its results and another can merge and render them without re-running anything.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from allos import __version__
from conformance.inputs import InputInvalid, read_json, shown, validation_problem

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "Report",
    "ReportInvalid",
    "Result",
    "Status",
    "exit_code",
    "load_report",
    "merge_reports",
    "write_atomic",
]

SCHEMA_VERSION = 1
Status = Literal["pass", "fail", "unsupported", "stale", "invalid", "skipped", "unavailable"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "unsupported", "stale", "invalid", "skipped", "unavailable")
Mode = Literal["replay", "record", "live"]

# Exit codes, documented in --help and docs/conformance.md.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STALE = 3
EXIT_INVALID = 4


class Result(BaseModel):
    """One cell of the matrix, with the evidence behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    capability: str
    status: Status
    reason: str = ""
    source: str = ""
    duration_s: float = 0.0
    cassette: str | None = None
    snapshot: str | None = None
    command: str | None = None
    # Short text shown beside the symbol (the generated-sequences cell's "accepted/sent"), and the reproduction of a
    # failure, relative to the reports directory (reports/failures/<alias>-<case>.json).
    note: str | None = None
    repro: str | None = None


class Report(BaseModel):
    """A run's results and where they came from."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    generated_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    mode: str = "replay"
    allos_version: str = __version__
    results: list[Result] = Field(default_factory=list)

    def cell(self, provider: str, capability: str) -> Result | None:
        for result in self.results:
            if result.provider == provider and result.capability == capability:
                return result
        return None

    def providers(self) -> list[str]:
        return sorted({r.provider for r in self.results})

    def counts(self) -> Mapping[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts


def exit_code(results: Iterable[Result]) -> int:
    """0 when every declared capability passed; 1 when one failed; 4 when a cassette is not a valid cassette file;
    3 when a cassette is stale or missing.

    A failure outranks the rest: a broken translation must not hide behind a bad recording. A broken file outranks
    staleness: re-recording a stale cassette is routine, a corrupt one means something wrote it badly.
    """
    statuses = {r.status for r in results}
    if "fail" in statuses:
        return EXIT_FAILED
    if "invalid" in statuses:
        return EXIT_INVALID
    if "stale" in statuses:
        return EXIT_STALE
    return EXIT_OK


class ReportInvalid(InputInvalid):
    """A results file that cannot be read as a `Report`: one line naming the file and the field."""

    what = "results file"


def load_report(path: Path) -> Report:
    """A results file, validated; `ReportInvalid` names the file and the first field that is wrong."""
    data = read_json(path, ReportInvalid)
    if not isinstance(data, dict):
        raise ReportInvalid(path, f"the top level is {shown(data)}, expected an object with schema_version and results")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ReportInvalid(path, f"schema_version is {shown(version)}, expected {SCHEMA_VERSION}")
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        raise ReportInvalid(path, validation_problem(exc)) from None


def merge_reports(reports: Iterable[Report]) -> Report:
    """One report from several (e.g. one CI job per provider): later reports win for the same cell."""
    cells: dict[tuple[str, str], Result] = {}
    modes: list[str] = []
    for report in reports:
        modes.append(report.mode)
        for result in report.results:
            cells[(result.provider, result.capability)] = result
    mode = modes[0] if len(set(modes)) == 1 else "mixed"
    return Report(mode=mode, results=sorted(cells.values(), key=lambda r: (r.provider, r.capability)))


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a crash never leaves a truncated file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
