"""`allos models` and `allos pull`: the local models of a server that manages them (Ollama's native API).

    allos models --provider ollama [--base-url URL]     a table of the server's local models
    allos pull MODEL [--provider ollama] [--base-url URL]  download a model, with a progress bar

Thin functions over `OllamaProvider.list_models()` / `pull_model()`. rich (the `cli` extra) is imported inside them,
so importing `allos.cli` stays cheap. An error prints one line on stderr and exits non-zero, never a traceback:
1 when the server or the request failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from allos.errors import AllosError, APIConnectionError, ConfigurationError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from allos.providers.ollama import LocalModel, OllamaProvider, PullProgress

__all__ = ["models_command", "pull_command"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
_DEFAULT_PROVIDER: Final = "ollama"


class _UsageError(Exception):
    pass


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"allos: {message}", file=sys.stderr)
    return code


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    parser.add_argument("--provider", default=_DEFAULT_PROVIDER, help="an alias that speaks Ollama's native API")
    parser.add_argument("--base-url", default=None, help="the server (default: the alias's base URL)")
    try:
        return parser.parse_args(list(argv))
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed why
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def _provider(args: argparse.Namespace, model: str | None = None) -> OllamaProvider:
    from allos.providers import get_provider
    from allos.providers.ollama import OllamaProvider

    provider = get_provider(args.provider, base_url=args.base_url, model=model)
    if not isinstance(provider, OllamaProvider):
        raise _UsageError(
            f"{args.provider!r} speaks {provider.spec.protocol}, which has no model management;"
            " use a provider that speaks Ollama's native API (--provider ollama)"
        )
    return provider


def _run(action: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except (_UsageError, ConfigurationError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except APIConnectionError as exc:
        return _fail(f"{exc}; is the server running? (`ollama serve` starts Ollama)")
    except AllosError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail(f"{action} interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug or an answer no parser foresaw: one scrubbed line, never a traceback
        from allos.cli.guard import environment_secrets, internal_error

        return _fail(internal_error(exc, environment_secrets(()))[0])


def models_command(argv: Sequence[str]) -> int:
    """`allos models`: print the server's local models as a table; 0 on success."""
    args = _parse(argparse.ArgumentParser(prog="allos models", description="List the local models."), argv)
    if isinstance(args, int):
        return args

    def body() -> int:
        provider = _provider(args)
        try:
            _print_models(provider.list_models(), provider.base_url)
        finally:
            provider.close()
        return EXIT_OK

    return _run("listing", body)


def pull_command(argv: Sequence[str]) -> int:
    """`allos pull MODEL`: download a model with a progress bar; 0 once the server says "success"."""
    parser = argparse.ArgumentParser(prog="allos pull", description="Download a model to the server.")
    parser.add_argument("model", help="the model to pull, e.g. llama3.2 or qwen3:8b")
    parser.add_argument("--insecure", action="store_true", help="allow an insecure (HTTP) registry")
    args = _parse(parser, argv)
    if isinstance(args, int):
        return args

    def body() -> int:
        provider = _provider(args, args.model)
        try:
            _show_pull(provider.pull_model(args.model, insecure=args.insecure), args.model)
        finally:
            provider.close()
        return EXIT_OK

    return _run("pull", body)


# --- rendering ---------------------------------------------------------------------------------------------------


def _human_size(size: int) -> str:
    """Bytes in decimal units, the way `ollama list` shows them: `_human_size(2019393189) == '2.0 GB'`."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _print_models(models: list[LocalModel], base_url: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not models:
        console.print(f"no local models at {base_url}; pull one with: allos pull llama3.2")
        return
    table = Table(title=f"local models at {base_url}", title_justify="left")
    for column in ("name", "size", "modified", "parameters", "quantization", "id"):
        table.add_column(column, justify="right" if column == "size" else "left", no_wrap=column == "name")
    for model in models:
        digest = model.digest.removeprefix("sha256:")[:12]
        modified = model.modified_at.strftime("%Y-%m-%d %H:%M") if model.modified_at else ""
        details = model.details
        table.add_row(
            model.name, _human_size(model.size), modified, details.parameter_size, details.quantization_level, digest
        )
    console.print(table)


def _show_pull(progress_lines: Iterator[PullProgress], model: str) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    console = Console(highlight=False)
    first = next(progress_lines, None)  # the request is sent here: an error status never opens a progress display
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console) as bar:
        tasks: dict[str, TaskID] = {}
        last_status = None
        for line in itertools.chain([first] if first else [], progress_lines):
            if line.digest and line.total:
                _advance(bar, tasks, line)
            elif line.status != last_status and line.status != "success":
                bar.console.print(line.status)
            last_status = line.status
    console.print(f"pulled {model}")


def _advance(bar: Progress, tasks: dict[str, TaskID], line: PullProgress) -> None:
    assert line.digest is not None
    task = tasks.get(line.digest)
    if task is None:
        short = line.digest.removeprefix("sha256:")[:12]
        task = tasks[line.digest] = bar.add_task(f"pulling {short}", total=line.total)
    bar.update(task, total=line.total, completed=line.completed or 0)
