"""The `allos` command: an agent that works with any provider (`allos PROMPT`), the provider table
(`allos --active-providers`), and model management for servers that have it (`allos models`, `allos pull`).

typer and rich (the `cli` extra) are imported when a command runs, never by `import allos`.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `allos` script; returns the exit code. See `allos --help`."""
    from allos.cli.app import run_app

    return run_app(argv)
