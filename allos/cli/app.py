"""The `allos` typer app: `allos PROMPT [OPTIONS]` (the `ask` command, the default), `allos models`, `allos pull`,
and the root flags `--active-providers` and `--version`.

A thin layer: each command parses its options and hands them to a library function (`allos.cli.ask.run_ask`,
`allos.cli.models`). `models` and `pull` keep their own argparse parsing (their usage and error lines are part of
their contract), so typer forwards their arguments untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from typer.core import TyperGroup

__all__ = ["app", "run_app"]

DEFAULT_COMMAND: Final = "ask"
# The root's own options; anything else that starts a command line goes to the default command.
_ROOT_OPTIONS: Final = frozenset({"--version", "-V", "--active-providers", "--help", "-h"})

HELP = """Run an agent with any LLM provider: it reads files, edits them and runs commands to answer.

\b
  allos "list the files here" --provider groq
  allos "fix the failing test" --provider anthropic --session work.json --interactive
  allos --active-providers

`allos PROMPT [OPTIONS]` is short for `allos ask PROMPT [OPTIONS]`: see `allos ask --help` for every option.
Writing files and running commands ask for approval unless --yes is given."""


class _DefaultCommandGroup(TyperGroup):
    """`allos PROMPT ...` means `allos ask PROMPT ...`: a command line that starts with neither a command nor a root
    option goes to the default command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's own click or click itself
        if args and args[0] not in self.commands and args[0] not in _ROOT_OPTIONS:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultCommandGroup,
    help=HELP,
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # a traceback's locals could show a key
)


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", "-V", help="Print the version and exit.")] = False,
    active_providers: Annotated[
        bool,
        typer.Option(
            "--active-providers", help="Show every provider: protocol, key variable, key set or not, base URL."
        ),
    ] = False,
) -> None:
    if version:
        from allos import __version__

        typer.echo(f"allos {__version__}")
        raise typer.Exit(0)
    if active_providers:
        from allos.cli.render import make_console, providers_table
        from allos.providers import list_providers

        console = make_console()
        console.print(providers_table(list_providers(), width=console.width))
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@app.command(DEFAULT_COMMAND)
def ask(
    prompt: Annotated[str | None, typer.Argument(help="What to do, in words.", show_default=False)] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", "-p", help="A provider alias (allos --active-providers lists them)."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="The model (default: the alias's).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Another endpoint for the alias, e.g. a local server.")] = None,
    api_key: Annotated[str | None, typer.Option(help="The key (default: the alias's key variable).")] = None,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="At most this many tokens per answer.")] = None,
    max_iterations: Annotated[
        int | None, typer.Option(min=1, help="At most this many model calls per prompt (default 10).")
    ] = None,
    no_tools: Annotated[bool, typer.Option("--no-tools", help="Chat only: send no tool definitions.")] = False,
    session: Annotated[
        Path | None, typer.Option("--session", "-s", help="Load the conversation from FILE and save it back.")
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Keep the conversation going, prompt after prompt.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Write files and run commands without asking.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tool output, usage and log lines.")] = False,
    workdir: Annotated[
        Path, typer.Option(exists=True, file_okay=False, help="The directory the tools work in.")
    ] = Path("."),
    allow_outside: Annotated[
        bool, typer.Option("--allow-outside", help="Let file tools use paths outside the working directory.")
    ] = False,
) -> None:
    """Ask the agent to do something (the default command).

    `allos PROMPT` is `allos ask PROMPT`. The answer streams to stdout; tool activity and questions go to stderr.
    Exit codes: 0 answered, 1 provider error, 2 usage or setup error, 3 stopped at --max-iterations, 130 interrupted.
    """
    from allos.cli.ask import AskOptions, run_ask

    options = AskOptions(
        prompt=prompt,
        provider=provider,
        model=model,
        base_url=base_url,
        api_key=api_key,
        max_tokens=max_tokens,
        max_iterations=max_iterations,
        no_tools=no_tools,
        session=session,
        interactive=interactive,
        yes=yes,
        verbose=verbose,
        workdir=workdir,
        allow_outside=allow_outside,
    )
    raise typer.Exit(run_ask(options))


_FORWARDED: Final[dict[str, Any]] = {"ignore_unknown_options": True, "allow_extra_args": True}


@app.command(context_settings=_FORWARDED, add_help_option=False)
def models(ctx: typer.Context) -> None:
    """List a server's local models (Ollama).

    allos models [--provider ollama] [--base-url URL]
    """
    from allos.cli.models import models_command

    raise typer.Exit(models_command(ctx.args))


@app.command(context_settings=_FORWARDED, add_help_option=False)
def pull(ctx: typer.Context) -> None:
    """Download a model to a server (Ollama).

    allos pull MODEL [--provider ollama] [--base-url URL] [--insecure]
    """
    from allos.cli.models import pull_command

    raise typer.Exit(pull_command(ctx.args))


def run_app(argv: list[str] | None = None) -> int:
    """Run the app on `argv` (default: the process's arguments); returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="allos")
    except SystemExit as exc:  # typer/click end with SystemExit in standalone mode
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except Exception as exc:  # what no command caught: one scrubbed line, never typer's traceback
        from allos.cli.guard import environment_secrets, internal_error

        verbose = "--verbose" in args or "-v" in args
        for line in internal_error(exc, environment_secrets(args), verbose=verbose):
            sys.stderr.write(f"allos: {line}\n")
        return 1
    return 0
