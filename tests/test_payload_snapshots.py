"""The translated request body for every alias x scenario, snapshotted with syrupy.

A change in translation shows as a readable JSON diff in tests/__snapshots__/; accept it with
`python -m pytest tests/test_payload_snapshots.py --snapshot-update`. Follow-up steps (a tool round trip) are built
from a canned answer, so the snapshot also pins how each alias sends a tool call and its result back.
"""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from allos import ChatResponse, ToolCall, get_provider, list_providers
from allos.errors import AllosError
from conformance.scenarios import CASES, Step

CANNED = ChatResponse(
    provider="canned",
    finish_reason="tool_calls",
    tool_calls=(ToolCall(id="call_canned_0001", name="get_weather", arguments={"city": "Paris"}),),
)


def _payload(alias: str, step: Step) -> Any:
    provider = get_provider(alias, api_key="snapshot-key-0123456789", base_url="http://127.0.0.1:9/v1", model="m")
    try:
        return provider.payload(list(step.messages), stream=step.call in ("stream", "astream"), **step.options)
    except AllosError as exc:
        return f"refused: {type(exc).__name__}: {exc.message}"


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("alias", [spec.name for spec in list_providers()])
def test_payloads_per_alias(alias: str, json_snapshot: SnapshotAssertion) -> None:
    payloads: dict[str, Any] = {}
    for case in CASES:
        payloads[case.id] = _payload(alias, case.first)
        if case.follow_up is not None:
            payloads[f"{case.id}/follow_up"] = _payload(alias, case.follow_up(case.first, CANNED))
    assert payloads == json_snapshot
