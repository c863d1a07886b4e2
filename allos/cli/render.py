"""What the `allos` CLI shows: one console factory, the agent's rich display, the approval question, and the table
of providers.

Streams: the answer goes to stdout as it arrives; tool activity, notices, questions and errors go to stderr, so
`allos "..." > answer.txt` keeps only the answer. Styles are named constants; NO_COLOR and COLUMNS are honoured.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from allos.agent.display import ApprovalRequest, Display, brief_arguments, first_line

if TYPE_CHECKING:
    from allos.agent.tools import ToolResult
    from allos.providers.registry import ProviderSpec
    from allos.types import ChatResponse, ToolCall

__all__ = ["RichDisplay", "TerminalApprover", "make_console", "provider_rows", "providers_table"]

STYLE_TOOL: Final = "bold cyan"
STYLE_OK: Final = "green"
STYLE_ERROR: Final = "red"
STYLE_NOTICE: Final = "yellow"
STYLE_DIM: Final = "dim"
_VERBOSE_RESULT_CHARS: Final = 2000


def make_console(stderr: bool = False) -> Console:
    """The one console factory: honours NO_COLOR and COLUMNS, and a sane width in CI logs."""
    width = None if os.environ.get("COLUMNS") or not os.environ.get("CI") else 200
    return Console(stderr=stderr, width=width, highlight=False, emoji=False)


class RichDisplay(Display):
    """The answer streamed raw to stdout; tool calls, results and notices in colour on stderr."""

    def __init__(self, out: Console, err: Console, *, verbose: bool = False) -> None:
        self.out, self.err, self.verbose = out, err, verbose
        self._mid_line = False

    def text(self, delta: str) -> None:
        if delta:  # raw text, never parsed as markup: the model's brackets are its own
            self.out.file.write(delta)
            self.out.file.flush()
            self._mid_line = not delta.endswith("\n")

    def end_text(self) -> None:
        if self._mid_line:
            self.out.file.write("\n")
            self.out.file.flush()
            self._mid_line = False

    def tool_call(self, call: ToolCall) -> None:
        self.err.print(f"[{STYLE_TOOL}]→ {escape(call.name)}[/]({escape(brief_arguments(call.arguments))})")

    def tool_result(self, call: ToolCall, result: ToolResult) -> None:
        mark, style = ("✗", STYLE_ERROR) if result.is_error else ("✓", STYLE_OK)
        self.err.print(f"  [{style}]{mark}[/] [{STYLE_DIM}]{escape(first_line(result.content))}[/]")
        if self.verbose:
            content = result.content[:_VERBOSE_RESULT_CHARS]
            self.err.print(content, style=STYLE_DIM, markup=False, highlight=False)

    def response(self, response: ChatResponse) -> None:
        if self.verbose:
            usage = response.usage
            self.err.print(
                f"[{STYLE_DIM}]{escape(response.provider)} {escape(response.model or '')}: {usage.input_tokens} in,"
                f" {usage.output_tokens} out tokens, finish {response.finish_reason}[/]"
            )

    def notice(self, message: str) -> None:
        self.err.print(f"[{STYLE_NOTICE}]allos:[/] {escape(message)}")


class TerminalApprover:
    """Asks on stderr and reads the answer from stdin: y or yes runs the call; anything else (end of input
    included) declines it, and the model is told so."""

    def __init__(self, err: Console) -> None:
        self.err = err

    def __call__(self, request: ApprovalRequest) -> bool:
        summary, _, detail = request.preview.partition("\n")
        self.err.print(f"[{STYLE_NOTICE}]{escape(request.tool)}[/] wants to {escape(summary)}")
        if detail:
            self.err.print(detail, markup=False, highlight=False, style=STYLE_DIM)
        try:
            answer = self.err.input(escape("Allow? [y/N] "))
        except EOFError:
            answer = ""
        if not _is_terminal(sys.stdin):  # nothing echoed the answer: show it, so the log reads as it happened
            self.err.print(answer.strip() or "(no answer: no)", markup=False, highlight=False)
        return answer.strip().lower() in ("y", "yes")


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


# --- the providers table -------------------------------------------------------------------------------------------


def provider_rows(specs: Iterable[ProviderSpec]) -> list[tuple[str, str, str, str, str, str]]:
    """One row per alias: alias, protocol, key variable, key state, base URL, where. Reads the environment."""
    rows: list[tuple[str, str, str, str, str, str]] = []
    for spec in specs:
        key_env = spec.api_key_env or ""
        if key_env and os.environ.get(key_env, "").strip():
            key_state = "set"
        else:
            key_state = "not needed" if not spec.api_key_required else "not set"
        override = os.environ.get(spec.base_url_env or "", "").strip()
        if override:
            base_url = f"{override} (from {spec.base_url_env})"
        else:
            base_url = spec.base_url or "none (pass --base-url)"
        where = "local" if spec.local else ("any URL" if spec.base_url is None else "remote")
        rows.append((spec.name, spec.protocol, key_env or "-", key_state, base_url, where))
    return rows


def providers_table(specs: Iterable[ProviderSpec], width: int = 200) -> Table:
    """The `allos --active-providers` table; below 110 columns it leaves out the base URLs rather than fold them."""
    rows = provider_rows(specs)
    with_key = sum(1 for row in rows if row[3] == "set")
    keyless = sum(1 for row in rows if row[3] == "not needed")
    title = f"{len(rows)} providers: {with_key} with a key set, {keyless} that need none"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    wide = width >= 110
    columns = ("alias", "protocol", "key variable", "key", "base URL", "where")
    for column in columns:
        if wide or column != "base URL":
            table.add_column(column, no_wrap=column not in ("base URL", "key variable"), overflow="fold")
    styles = {"set": STYLE_OK, "not set": STYLE_ERROR, "not needed": STYLE_DIM}
    for alias, protocol, key_env, key_state, base_url, where in rows:
        cells = [alias, protocol, key_env, f"[{styles[key_state]}]{key_state}[/]", escape(base_url), escape(where)]
        table.add_row(*(cells if wide else cells[:4] + cells[5:]))
    return table
