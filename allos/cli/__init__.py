"""The `allos` command. The agent loop and its CLI arrive with the agent issue; until then this entry point says so
and exits cleanly rather than crashing."""

from __future__ import annotations

import sys

__all__ = ["main"]

_COMING = """allos {version}: the provider layer is ready; the agent CLI is coming.

What works today, from Python:
    from allos import get_provider, Message
    provider = get_provider("groq")            # key from GROQ_API_KEY
    print(provider.chat([Message(role="user", content="Hello")]).text)

Known providers: {providers}
"""


def main(argv: list[str] | None = None) -> int:
    from allos import __version__, list_providers

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--version", "-V"):
        print(f"allos {__version__}")
        return 0
    if args and args[0] in ("models", "pull"):  # model management (Ollama): allos/cli/models.py
        from allos.cli.models import models_command, pull_command

        return (models_command if args[0] == "models" else pull_command)(args[1:])
    names = ", ".join(spec.name for spec in list_providers())
    print(_COMING.format(version=__version__, providers=names))
    return 0 if not args or args[0] in ("--help", "-h") else 2
