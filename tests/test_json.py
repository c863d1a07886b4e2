"""`allos._json.loads`: jiter's speed with exactly `json.loads`'s results and errors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from allos._json import loads

# Inputs where jiter and json.loads part ways on their own; loads must always side with json.loads.
EDGE_CASES = [
    b'{"s": "\\ud800"}',  # lone surrogate escape: json.loads keeps it, jiter refuses
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    '{"a": 1}'.encode("utf-16"),  # UTF-16, which json.loads detects
    b'{"a": 1e400}',
    b'{"a": 1, "a": 2}',
    b"[NaN, Infinity, -Infinity]",
    b"123456789012345678901234567890",
    b'"\\ud83d\\ude42"',
    '{"text": "café 日本 🙂"}',
]
MALFORMED = [b"{} x", b'{"s": "a\nb"}', b"[1,]", b'{"a": 01}', b"", b'{"a": "\xff"}']


def _same(left: Any, right: Any) -> bool:
    return repr(left) == repr(right) or (isinstance(left, float) and math.isnan(left) and math.isnan(right))


@pytest.mark.parametrize("data", EDGE_CASES, ids=repr)
def test_loads_matches_json_loads(data: bytes | str) -> None:
    assert _same(loads(data), json.loads(data))


@pytest.mark.parametrize("data", MALFORMED, ids=repr)
def test_loads_raises_what_json_loads_raises(data: bytes) -> None:
    with pytest.raises(ValueError) as expected:
        json.loads(data)
    with pytest.raises(type(expected.value)) as got:
        loads(data)
    assert str(got.value) == str(expected.value)
