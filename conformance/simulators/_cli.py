"""`allos-conform serve --provider ALIAS [--port N]`: one alias's simulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import errno
import sys

from conformance.simulators._framework import FAULTS, MAX_SLOW_SECONDS, Simulator, simulated_aliases

__all__ = ["serve_alias"]


def serve_alias(
    provider: str, *, port: int = 0, fault: str | None = None, retry_after: float = 1.0, slow_seconds: float = 1.0
) -> int:
    """Print the base URL to use and serve until interrupted; 2 (usage) for an unknown alias or fault, a port out of
    range, or one that is taken: one line each, never a traceback."""
    if provider not in simulated_aliases():
        print(f"no simulator for {provider!r}; simulated: {', '.join(simulated_aliases())}", file=sys.stderr)
        return 2
    if fault is not None and fault not in FAULTS:
        print(f"unknown fault {fault!r}; known: {', '.join(sorted(FAULTS))}", file=sys.stderr)
        return 2
    if not 0 <= slow_seconds <= MAX_SLOW_SECONDS:
        print(f"--slow-seconds must be between 0 and {MAX_SLOW_SECONDS:g}", file=sys.stderr)
        return 2
    if not 0 <= port <= 65535:
        print(f"--port must be between 0 and 65535 (0: a free one), not {port}", file=sys.stderr)
        return 2
    simulator = Simulator(
        provider, port=port, fault=fault, retry_after=retry_after, slow_seconds=slow_seconds, log_level="info"
    )

    def ready(sim: Simulator) -> None:
        print(f"{sim.alias} simulator ({sim.entry.protocol}): base URL {sim.base_url}  (Ctrl-C to stop)", flush=True)

    try:
        simulator.serve_forever(on_ready=ready)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE and exc.errno != errno.EACCES:
            raise
        print(_bind_problem(exc, simulator.host, port), file=sys.stderr)
        return 2
    return 0


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; pick another with --port or use --port 0"
    return f"port {port} on {host} needs privileges this user lacks; pick one above 1023 or use --port 0"
