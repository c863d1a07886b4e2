"""`allos-conform`: the friendly door over the conformance runner (typer + rich).

Exit codes: 0 every declared capability passed; 1 a declared capability failed; 2 usage error (a bad option, path or
input file: one line, nothing written); 3 cassettes are stale or missing; 4 a cassette is invalid (and nothing
failed). The same runner backs the pytest suite (tests/test_conformance_replay.py).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from conformance.inputs import InputInvalid
from conformance.results import EXIT_USAGE, Report, Result, exit_code, load_report, merge_reports, write_atomic

if TYPE_CHECKING:
    from conformance.runner import RunConfig

__all__ = ["app", "main"]

HELP = """Prove, alias by alias and capability by capability, which providers really work with Allos.

Replays the committed cassettes by default (offline, no keys). Exit codes: 0 every declared capability passed,
1 one failed, 2 usage error, 3 cassettes stale or missing, 4 a cassette invalid."""

app = typer.Typer(
    help=HELP, invoke_without_command=True, no_args_is_help=False, add_completion=False, rich_markup_mode=None
)


def make_console(stderr: bool = False) -> Console:
    """The one console factory: honours NO_COLOR and COLUMNS, and a sane width in CI logs."""
    width = None if os.environ.get("COLUMNS") or not os.environ.get("CI") else 200
    return Console(stderr=stderr, width=width, highlight=False)


def _split(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def _fail_usage(message: str) -> typer.Exit:
    typer.echo(f"allos-conform: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def _validate(providers: list[str] | None, capabilities: list[str] | None) -> None:
    from allos import Capability
    from allos.errors import ConfigurationError
    from allos.providers.registry import get_spec, list_providers

    for name in providers or []:
        try:
            get_spec(name)
        except ConfigurationError:
            aliases = ", ".join(spec.name for spec in list_providers())
            raise _fail_usage(
                f"unknown provider {name!r} (known: {aliases}); an alias your code registers with "
                "register_provider(...) reaches allos-conform through --plugin MODULE or an 'allos.providers' "
                "entry point"
            ) from None
    known = {c.value for c in Capability}
    for capability in capabilities or []:
        if capability not in known:
            raise _fail_usage(f"unknown capability {capability!r}; known: {', '.join(sorted(known))}")


# --- paths given on the command line: checked before anything runs, so a bad one costs one line and writes nothing


def _output_dir(option: str, path: Path) -> None:
    """`path` is a directory this command may write into, or one it can create."""
    existing = path
    while not existing.exists() and not existing.is_symlink():
        existing = existing.parent
    if not existing.is_dir():
        kind = "a file" if existing.is_file() else "not a directory"
        where = f"{path} is {kind}" if existing == path else f"{path} is under {existing}, which is {kind}"
        raise _fail_usage(f"{option}: {where}; expected a directory")
    try:
        with tempfile.TemporaryFile(dir=existing):  # the one reliable test of writability (root, read-only mounts)
            pass
    except OSError as exc:
        raise _fail_usage(f"{option}: {path} cannot be written ({existing}: {exc.strerror or exc})") from None


def _output_file(option: str, path: Path) -> None:
    if path.is_dir():
        raise _fail_usage(f"{option}: {path} is a directory; expected a file to write")
    _output_dir(option, path.parent)


def _input(label: str, path: Path, *, expected: str, directory: bool = False) -> None:
    """`path` exists and is a directory (`directory=True`) or a regular file; `label` names the argument."""
    if not path.exists():
        raise _fail_usage(f"{label} {path} does not exist; expected {expected}")
    if directory and not path.is_dir():
        raise _fail_usage(f"{label} {path} is not a directory; expected {expected}")
    if not directory and path.is_dir():
        raise _fail_usage(f"{label} {path} is a directory; expected {expected}")
    if not directory and not path.is_file():
        raise _fail_usage(f"{label} {path} is not a regular file; expected {expected}")


def _load_plugins(modules: list[str] | None) -> None:
    from conformance.plugins import PluginError, load_plugins

    try:
        load_plugins(modules or [])
    except PluginError as exc:
        raise _fail_usage(str(exc)) from None


def _check_base_url(base_url: str, providers: list[str] | None, mode: str, against: str) -> None:
    """`--base-url` names one alias's endpoint in a run that calls it; the URL itself is never echoed with userinfo."""
    from urllib.parse import urlsplit

    from conformance.runner import public_url

    if mode == "replay":
        raise _fail_usage("--base-url needs --mode live or --mode record; replay reads cassettes, not an endpoint")
    if against == "simulator":
        raise _fail_usage("--base-url and --against simulator both choose the endpoint; give one of them")
    if providers is None or len(providers) != 1:
        given = "every alias" if providers is None else f"{len(providers)} aliases"
        raise _fail_usage(f"--base-url applies to exactly one alias; --providers names {given}")
    try:
        parts = urlsplit(base_url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a port that is not a number, or out of range
        ok = False
    if not ok:
        raise _fail_usage(f"--base-url must be an http:// or https:// URL with a host, not {public_url(base_url)!r}")


def _run_paths(mode: str, cassettes: Path, reports: Path) -> None:
    if mode == "replay":
        _input("--cassettes", cassettes, expected="the directory of recordings (<alias>/<case>.yaml)", directory=True)
    elif mode == "record":
        _output_dir("--cassettes", cassettes)
    _output_dir("--reports", reports)


RESULTS_FILE = "a results file (matrix.json) written by a run"


def write_reports(report: Report, directory: Path) -> list[Path]:
    from conformance.matrix import render_html, render_markdown

    paths = [directory / "matrix.json", directory / "matrix.md", directory / "matrix.html"]
    write_atomic(paths[0], report.model_dump_json(indent=2) + "\n")
    write_atomic(paths[1], render_markdown(report))
    write_atomic(paths[2], render_html(report))
    return paths


def _show(report: Report) -> None:
    from conformance.matrix import render_rich

    render_rich(report, make_console())


@app.callback()
def run(
    ctx: typer.Context,
    providers: Annotated[str | None, typer.Option(help="Comma-separated aliases (default: all).")] = None,
    capabilities: Annotated[str | None, typer.Option(help="Comma-separated capabilities (default: all).")] = None,
    mode: Annotated[str, typer.Option(help="replay (cassettes only), record, or live.")] = "replay",
    against: Annotated[str, typer.Option(help="provider (the real endpoints) or simulator.")] = "provider",
    k: Annotated[str | None, typer.Option("-k", help="Only cases whose id contains this text.")] = None,
    cassettes: Annotated[Path, typer.Option(help="Cassette directory.")] = Path("cassettes"),
    reports: Annotated[Path, typer.Option(help="Where matrix.json/.md/.html are written.")] = Path("reports"),
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Send the one selected alias's requests here in live and record mode (your vLLM, a gateway)."
        ),
    ] = None,
    plugin: Annotated[
        list[str] | None, typer.Option(help="Import this module first; it may register aliases (repeatable).")
    ] = None,
) -> None:
    """Run the matrix (the default command)."""
    if ctx.invoked_subcommand is not None:
        return
    from conformance.runner import RunConfig
    from conformance.runner import run as run_matrix

    if mode not in ("replay", "record", "live"):
        raise _fail_usage(f"--mode must be replay, record or live, not {mode!r}")
    if against not in ("provider", "simulator"):
        raise _fail_usage(f"--against must be provider or simulator, not {against!r}")
    _load_plugins(plugin)
    names, caps = _split(providers), _split(capabilities)
    _validate(names, caps)
    if base_url is not None:
        _check_base_url(base_url, names, mode, against)
    _run_paths(mode, cassettes, reports)
    simulate: Callable[[str], AbstractContextManager[str]] | None = None
    if against == "simulator":
        from conformance.simulators import simulate
    config = RunConfig(
        mode=mode,  # type: ignore[arg-type]
        against=against,  # type: ignore[arg-type]
        providers=names,
        capabilities=caps,
        pattern=k,
        cassettes=cassettes,
        reports=reports,
        base_url=base_url,
        simulate=simulate,
    )
    report = _run_with_progress(config, run_matrix)
    _show(report)
    for path in write_reports(report, reports):
        typer.echo(f"wrote {path}")
    raise typer.Exit(exit_code(report.results))


def _run_with_progress(config: RunConfig, run_matrix: Callable[..., Report]) -> Report:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from conformance.generated import generated_cases
    from conformance.scenarios import cases_for

    per_alias = len(cases_for(config.capabilities, config.pattern)) + (1 if generated_cases(config) else 0)
    total = len(config.specs()) * per_alias
    console = make_console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{config.mode} run", total=total)

        def advance(result: Result) -> None:
            progress.update(task, advance=1, description=f"{config.mode}: {result.provider}")

        return run_matrix(config, advance)


@app.command()
def report(
    files: Annotated[list[Path], typer.Argument(help="Results files (matrix.json) to render; several are merged.")],
    reports: Annotated[Path | None, typer.Option(help="Also write matrix.json/.md/.html here.")] = None,
) -> None:
    """Re-render a results file (or several, merged) without running anything."""
    if reports is not None:
        _output_dir("--reports", reports)
    merged = _load_all(files)
    _show(merged)
    if reports is not None:
        for path in write_reports(merged, reports):
            typer.echo(f"wrote {path}")
    raise typer.Exit(exit_code(merged.results))


@app.command()
def merge(
    files: Annotated[list[Path], typer.Argument(help="Results files from several CI jobs.")],
    reports: Annotated[Path, typer.Option(help="Where the merged matrix.json/.md/.html are written.")] = Path(
        "reports"
    ),
) -> None:
    """Combine results from several CI jobs (one per provider) into one matrix."""
    _output_dir("--reports", reports)
    merged = _load_all(files)
    for path in write_reports(merged, reports):
        typer.echo(f"wrote {path}")
    raise typer.Exit(exit_code(merged.results))


def _load_all(files: list[Path]) -> Report:
    for path in files:
        _input("FILES", path, expected=RESULTS_FILE)
    loaded = []
    for path in files:
        try:
            loaded.append(load_report(path))
        except InputInvalid as exc:
            raise _fail_usage(str(exc)) from None
    return merge_reports(loaded)


@app.command()
def serve(
    provider: Annotated[str, typer.Option(help="The alias to simulate, e.g. mistral.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free one).")] = 0,
    fault: Annotated[str | None, typer.Option(help="Inject this fault into every request.")] = None,
    retry_after: Annotated[float, typer.Option(help="Seconds in Retry-After for the 429 fault.")] = 1.0,
    slow_seconds: Annotated[float, typer.Option(help="Delay of the slow fault.")] = 1.0,
) -> None:
    """Serve one provider's simulator on 127.0.0.1 until interrupted, printing the base URL to use."""
    from conformance.simulators._cli import serve_alias

    raise typer.Exit(serve_alias(provider, port=port, fault=fault, retry_after=retry_after, slow_seconds=slow_seconds))


@app.command()
def corpus(
    regenerate: Annotated[bool, typer.Option(help="Draw the corpus afresh from the strategies, rewrite it.")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the draw (default: the corpus's own).")] = None,
    count: Annotated[int | None, typer.Option(help="How many cases (default: the corpus's own).")] = None,
    directory: Annotated[Path | None, typer.Option(help="Corpus directory (default: conformance/corpus).")] = None,
) -> None:
    """Show the frozen corpus of generated sequences, or rebuild it with --regenerate (then re-record)."""
    from conformance.generated import corpus_command

    raise typer.Exit(corpus_command(make_console(), regenerate=regenerate, seed=seed, count=count, directory=directory))


@app.command()
def repro(
    file: Annotated[Path, typer.Argument(help="A reproduction: reports/failures/<alias>-<case>.json.")],
    against: Annotated[
        str | None, typer.Option(help="offline, recorded, simulator or provider (default: where it failed).")
    ] = None,
) -> None:
    """Replay a minimal reproduction: exit 0 when it no longer fails, 1 when it still does, 2 when it cannot run."""
    from conformance.repro import replay_repro

    _input("FILE", file, expected="a reproduction (reports/failures/<alias>-<case>.json)")
    try:
        code, message = replay_repro(file, against)
    except InputInvalid as exc:
        raise _fail_usage(str(exc)) from None
    except (OSError, ValueError, KeyError) as exc:
        raise _fail_usage(f"cannot replay {file}: {exc}") from None
    typer.echo(message)
    raise typer.Exit(code)


@app.command()
def drift(
    old: Annotated[Path, typer.Argument(help="The reference: a cassette directory or a results file.")],
    new: Annotated[Path, typer.Argument(help="The fresh one, of the same kind.")],
    markdown: Annotated[Path | None, typer.Option(help="Also write the report as Markdown here.")] = None,
    fail_on_drift: Annotated[bool, typer.Option(help="Exit 1 when anything drifted.")] = False,
) -> None:
    """What changed in the providers' answers: fields, types, enum values, statuses and headers, per alias."""
    from conformance.drift import compare_paths, render_markdown_drift, render_rich_drift

    _drift_paths(old, new, markdown)
    try:
        changes = compare_paths(old, new)
    except (OSError, ValueError) as exc:
        raise _fail_usage(str(exc)) from None
    render_rich_drift(changes, make_console(), old=old, new=new)
    if markdown is not None:
        write_atomic(markdown, render_markdown_drift(changes, old=old, new=new))
        typer.echo(f"wrote {markdown}")
    raise typer.Exit(1 if changes and fail_on_drift else 0)


@app.command()
def fidelity(
    cassettes: Annotated[list[Path], typer.Argument(help="Cassettes recorded live (files or directories).")],
    out: Annotated[Path, typer.Option(help="Where fidelity.json and fidelity.md are written.")] = Path(
        "reports/fidelity"
    ),
    min_agreement: Annotated[
        float | None, typer.Option(help="Exit 1 when fewer than this % of measurable verdicts agree.")
    ] = None,
) -> None:
    """Replay real recorded requests against the simulators: verdicts, statuses and shapes compared, per alias."""
    from conformance.fidelity import fidelity_command

    raise typer.Exit(fidelity_command(make_console(), cassettes, out, min_agreement))


def _drift_paths(old: Path, new: Path, markdown: Path | None) -> None:
    expected = "a cassette directory or a results file"
    for label, path in (("OLD", old), ("NEW", new)):
        if not path.exists():
            raise _fail_usage(f"{label} {path} does not exist; expected {expected}")
        if not path.is_dir() and not path.is_file():
            raise _fail_usage(f"{label} {path} is not a regular file; expected {expected}")
    if old.is_dir() != new.is_dir():
        kinds = {True: "a directory", False: "a file"}
        raise _fail_usage(
            f"OLD {old} is {kinds[old.is_dir()]} but NEW {new} is {kinds[new.is_dir()]}; "
            "compare two cassette directories or two results files"
        )
    if markdown is not None:
        _output_file("--markdown", markdown)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `allos-conform` script; returns the exit code (usage errors print one line, exit 2)."""
    try:
        app(args=sys.argv[1:] if argv is None else argv, prog_name="allos-conform")
    except SystemExit as exc:  # typer/click always end with SystemExit in standalone mode
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    return 0
