"""The committed cassettes, replayed under pytest: one test per alias x capability, the same runner as the CLI.

`python -m pytest tests/test_conformance_replay.py -k mistral` works like `allos-conform --providers mistral`; a
failing cell names its reason and, when stale, the command that re-records it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from allos import Capability, list_providers
from conformance.runner import RunConfig, aggregate, run_case
from conformance.scenarios import cases_for

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
CAPABILITIES = sorted({case.capability for case in cases_for()}, key=list(Capability).index)


@pytest.mark.parametrize("capability", CAPABILITIES, ids=str)
@pytest.mark.parametrize("alias", [spec.name for spec in list_providers()])
def test_replay(alias: str, capability: Capability) -> None:
    spec = next(s for s in list_providers() if s.name == alias)
    config = RunConfig(cassettes=CASSETTES)
    results = [run_case(spec, case, config) for case in cases_for([capability.value])]
    (cell,) = aggregate(results)
    if capability in spec.capabilities:
        assert cell.status == "pass", f"{cell.reason}" + (f"\n  refresh: {cell.command}" if cell.command else "")
    else:
        assert cell.status == "unsupported", cell.reason
