"""`allos-conform serve --provider ALIAS [--port N]`: one alias's simulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from conformance.simulators._framework import FAULTS, MAX_SLOW_SECONDS, Simulator, simulated_aliases

__all__ = ["serve"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="allos-conform serve", description="Serve one provider's simulator on 127.0.0.1 until interrupted."
    )
    parser.add_argument("--provider", required=True, help="the alias to simulate, e.g. mistral")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--fault", choices=sorted(FAULTS), help="inject this fault into every request")
    parser.add_argument("--retry-after", type=float, default=1.0, help="seconds in Retry-After for the 429 fault")
    parser.add_argument(
        "--slow-seconds", type=float, default=1.0, help=f"delay of the slow fault (at most {MAX_SLOW_SECONDS:g})"
    )
    return parser


def serve(argv: list[str]) -> int:
    """Parse `argv`, print the base URL to use, and serve until interrupted. 2 on a usage error."""
    args = _parser().parse_args(argv)
    if args.provider not in simulated_aliases():
        print(f"no simulator for {args.provider!r}; simulated: {', '.join(simulated_aliases())}", file=sys.stderr)
        return 2
    simulator = Simulator(
        args.provider,
        port=args.port,
        fault=args.fault,
        retry_after=args.retry_after,
        slow_seconds=args.slow_seconds,
        log_level="info",
    )

    def ready(sim: Simulator) -> None:
        print(f"{sim.alias} simulator ({sim.entry.protocol}): base URL {sim.base_url}  (Ctrl-C to stop)", flush=True)

    simulator.serve_forever(on_ready=ready)
    return 0
