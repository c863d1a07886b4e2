"""llama.cpp's `llama-server` for Allos: `build` (pinned sdist, cached binary), `model` (the tiny deterministic GGUF),
`serve` (start on a free 127.0.0.1 port until interrupted)."""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

from conformance import llamacpp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/llamacpp.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build llama-server once and cache it (or reuse the cached one)")
    model = commands.add_parser("model", help="write the tiny deterministic model")
    model.add_argument("path", nargs="?", type=pathlib.Path, default=None)
    serve = commands.add_parser("serve", help="start the server on a free port until Ctrl-C")
    serve.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return _build()
        if args.command == "model":
            path = llamacpp.write_model(args.path or llamacpp.model_path())
            print(f"wrote {path} ({path.stat().st_size} bytes)")
            return 0
        return _serve(args.port)
    except llamacpp.BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _build() -> int:
    target = llamacpp.binary_path()
    if target.exists() and llamacpp.template_path().exists():
        print(f"reusing cached llama-server at {target}")
        return 0
    print("building llama-server (first run on this machine, ~10 min)...", flush=True)
    started = time.monotonic()
    llamacpp.build()
    print(f"built {target} in {time.monotonic() - started:.0f} s")
    return 0


def _serve(port: int | None) -> int:
    binary = llamacpp.binary_path()
    if not binary.exists():
        raise llamacpp.BuildError(f"{binary} is not built; run: {llamacpp.build_command()}")
    with llamacpp.Server(binary, llamacpp.ready_model(), port=port) as server:
        print(f"llama-server ready at {server.base_url}/v1 in {server.started_in:.2f} s; Ctrl-C stops it", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
