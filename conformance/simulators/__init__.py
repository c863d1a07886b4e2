"""Provider simulators: local HTTP servers on 127.0.0.1 that answer and refuse the way each provider does.

    >>> from conformance.simulators import Simulator, simulate
    >>> with simulate("groq") as base_url:              # http://127.0.0.1:PORT/openai/v1
    ...     pass
    >>> with Simulator("mistral", fault="429") as sim:  # every request answered 429 with Retry-After
    ...     sim.base_url.endswith("/v1")
    True

Each protocol has one simulator module configured per alias by data rows that encode the provider's documented
contract on their own (never Allos's registry or adapters). See docs/simulators.md for the conventions (keys,
faults) and how to add a protocol.
"""

from __future__ import annotations

from conformance.simulators._framework import (
    FAULT_HEADER,
    FAULTS,
    MAX_SLOW_SECONDS,
    AliasEntry,
    AliasSimulator,
    Received,
    Simulator,
    alias_entry,
    asimulate,
    register_alias,
    simulate,
    simulated_aliases,
)

__all__ = [
    "FAULTS",
    "FAULT_HEADER",
    "MAX_SLOW_SECONDS",
    "AliasEntry",
    "AliasSimulator",
    "Received",
    "Simulator",
    "alias_entry",
    "asimulate",
    "register_alias",
    "simulate",
    "simulated_aliases",
]
