"""`allos-conform`. The harness arrives with its own issue; until then this entry point lists what it will check
(every registered alias and the capabilities it declares) and exits cleanly."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from allos import Capability, list_providers

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "serve":  # `allos-conform serve --provider ALIAS`: a provider simulator on 127.0.0.1
        from conformance.simulators._cli import serve

        return serve(args[1:])
    print("allos-conform: the conformance harness is coming; these are the claims it will check.\n")
    width = max(len(spec.name) for spec in list_providers())
    for spec in list_providers():
        declared = len(spec.capabilities)
        print(f"  {spec.name:<{width}}  {spec.protocol:<16}  {declared}/{len(Capability)} capabilities declared")
    return 0 if not args or args[0] in ("--help", "-h") else 2
