"""Rendering a `Report` as the compatibility matrix: a rich table, Markdown, and one self-contained HTML page.

Aliases are rows, capabilities are columns in the order of `allos.Capability`; every cell shows a status symbol,
and everything that is not a pass is listed underneath with its reason and the evidence behind it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from allos import Capability
from conformance.results import STATUSES, Report, Result, Status

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["LEGEND", "SYMBOLS", "capability_columns", "render_html", "render_markdown", "render_rich", "rich_table"]

SYMBOLS: dict[Status, str] = {
    "pass": "✓",
    "fail": "✗",
    "unsupported": "-",
    "stale": "⟳",
    "invalid": "!",
    "skipped": "·",
    "unavailable": "?",
}
LEGEND: dict[Status, str] = {
    "pass": "verified: the exchange was sent and the answer checked",
    "fail": "declared supported, but the check failed",
    "unsupported": "declared unsupported by the registry; Allos refuses it cleanly",
    "stale": "the recording no longer matches the request: re-record it",
    "invalid": "the cassette file is not a valid cassette (the reason names the field): re-record or repair it",
    "skipped": "not run (no key in live or record mode)",
    "unavailable": "the provider was down or out of quota",
}
# Rich styles as named constants (STYLE.md).
STYLES: dict[Status, str] = {
    "pass": "green",
    "fail": "bold red",
    "unsupported": "dim",
    "stale": "yellow",
    "invalid": "bold yellow",
    "skipped": "dim",
    "unavailable": "magenta",
}
# Column headings short enough for a terminal; the full names are listed under the table and used in Markdown/HTML.
_SHORT = {
    "chat": "chat",
    "system_prompt": "sys",
    "multi_turn": "multi",
    "max_tokens": "max",
    "stop_sequences": "stop",
    "tools": "tools",
    "tool_call": "call",
    "tool_result": "res",
    "parallel_tool_calls": "par",
    "tool_choice_none": "tc:no",
    "tool_choice_required": "tc:rq",
    "tool_choice_named": "tc:nm",
    "streaming": "strm",
    "streaming_tool_calls": "s:tl",
    "usage": "usage",
    "stream_usage": "s:use",
    "unicode": "uni",
    "json_mode": "json",
    "structured_output": "schem",
    "image_input": "image",
    "reasoning": "reas",
    "error_mapping": "errs",
    "handoff": "hand",
    "generated_sequences": "gen",
}


def capability_columns(report: Report) -> list[str]:
    """The capabilities present in the report, in the enum's order (unknown ones last, sorted)."""
    present = {r.capability for r in report.results}
    ordered = [c.value for c in Capability if c.value in present]
    return ordered + sorted(present - set(ordered))


def _symbol(result: Result) -> str:
    """The cell's text: its status symbol, and its note when it has one (generated sequences: `✓ 14/14`)."""
    return f"{SYMBOLS[result.status]} {result.note}" if result.note else SYMBOLS[result.status]


def _command_label(result: Result) -> str:
    return "replay" if result.repro else "refresh"


def _problems(report: Report) -> list[Result]:
    return [r for r in report.results if r.status in ("fail", "invalid", "stale", "unavailable")]


def _summary(report: Report) -> str:
    counts = report.counts()
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])


# --- terminal --------------------------------------------------------------------------------------------------------


def rich_table(report: Report, columns: Sequence[str] | None = None, *, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    columns = capability_columns(report) if columns is None else columns
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    table.add_column("alias", style="bold", no_wrap=True)
    for capability in columns:
        table.add_column(_SHORT.get(capability, capability), justify="center", no_wrap=True)
    for provider in report.providers():
        cells = []
        for capability in columns:
            result = report.cell(provider, capability)
            cells.append("" if result is None else f"[{STYLES[result.status]}]{_symbol(result)}[/]")
        table.add_row(provider, *cells)
    return table


def _column_groups(report: Report, width: int) -> list[list[str]]:
    """Capability columns split so that each table fits `width` (a narrow terminal gets two or three tables)."""
    alias_width = max((len(p) for p in report.providers()), default=5) + 3
    groups: list[list[str]] = [[]]
    used = alias_width
    for capability in capability_columns(report):
        notes = [len(_symbol(r)) for r in report.results if r.capability == capability]
        need = max(len(_SHORT.get(capability, capability)), *notes, 1) + 3  # padding and the column separator
        if groups[-1] and used + need > width:
            groups.append([])
            used = alias_width
        groups[-1].append(capability)
        used += need
    return groups


def render_rich(report: Report, console: Console) -> None:
    from rich.markup import escape

    console.print(f"[bold]Allos conformance matrix[/] ({report.mode}): {_summary(report)}")
    for group in _column_groups(report, console.width):
        console.print(rich_table(report, group))
    console.print("  ".join(f"[{STYLES[s]}]{SYMBOLS[s]}[/] {s}" for s in STATUSES))
    shown = capability_columns(report)
    console.print(
        "columns: " + ", ".join(f"{_SHORT.get(c, c)}={c}" for c in shown if _SHORT.get(c, c) != c),
        style="dim",
        highlight=False,
    )
    problems = _problems(report)
    if problems:
        console.print()
        console.print("[bold]Not passing[/]")
        for result in problems:
            line = f"  [{STYLES[result.status]}]{SYMBOLS[result.status]}[/] {result.provider} / {result.capability}: "
            console.print(line + escape(result.reason), markup=True, highlight=False)
            if result.command:
                console.print(f"      {_command_label(result)}: {result.command}", markup=False, highlight=False)


# --- Markdown --------------------------------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    columns = capability_columns(report)
    lines = [
        f"# Allos conformance matrix ({report.mode})",
        "",
        f"Generated {report.generated_at} by Allos {report.allos_version}: {_summary(report)}.",
        "",
        "| alias | " + " | ".join(_SHORT.get(c, c) for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for provider in report.providers():
        cells = []
        for capability in columns:
            result = report.cell(provider, capability)
            cells.append("" if result is None else _symbol(result))
        lines.append(f"| {provider} | " + " | ".join(cells) + " |")
    lines += ["", "Legend: " + "; ".join(f"{SYMBOLS[s]} {s}: {LEGEND[s]}" for s in STATUSES), ""]
    lines += ["Columns: " + ", ".join(f"{_SHORT.get(c, c)} = `{c}`" for c in columns if _SHORT.get(c, c) != c), ""]
    problems = _problems(report)
    if problems:
        lines += ["## Not passing", ""]
        for result in problems:
            evidence = f" (cassette `{result.cassette}`)" if result.cassette else ""
            refresh = f" Refresh: `{result.command}`" if result.command else ""
            if result.repro:
                refresh = f" Reproduction: [{result.repro}]({result.repro}), replay: `{result.command}`"
            lines.append(
                f"- {SYMBOLS[result.status]} **{result.provider}** / `{result.capability}`: "
                f"{_md_escape(result.reason)}{evidence}{refresh}"
            )
        lines.append("")
    generated = [r for r in report.results if r.capability == "generated_sequences" and r.note is not None]
    if generated:
        lines += ["## Generated sequences", ""]
        lines += [f"- **{r.provider}**: {_md_escape(r.reason)}" for r in generated]
        lines.append("")
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:center}
th.alias,td.alias{text-align:left;font-weight:600}
thead th{position:sticky;top:0;background:#fafafa;writing-mode:vertical-rl;transform:rotate(180deg)}
thead th.alias{writing-mode:horizontal-tb;transform:none}
.pass{background:#e6f4ea;color:#137333}.fail{background:#fce8e6;color:#a50e0e;font-weight:700}
.unsupported{color:#888}.stale{background:#fef7e0;color:#8a6100}.skipped{color:#aaa}.unavailable{color:#7b1fa2}
.invalid{background:#fde7c8;color:#8a3b00;font-weight:700}
li{margin:.2rem 0}code{background:#f4f4f4;padding:0 .2rem}
"""


def _html_cell(result: Result | None) -> str:
    if result is None:
        return "<td></td>"
    title = html.escape(" — ".join(p for p in (result.status, result.reason, result.cassette or "") if p))
    return f'<td class="{result.status}" title="{title}">{html.escape(_symbol(result))}</td>'


def _html_rows(report: Report, columns: Sequence[str]) -> list[str]:
    rows = []
    for provider in report.providers():
        cells = "".join(_html_cell(report.cell(provider, c)) for c in columns)
        rows.append(f'<tr><td class="alias">{html.escape(provider)}</td>{cells}</tr>')
    return rows


def render_html(report: Report) -> str:
    """One self-contained page: inline CSS, no scripts, readable from disk without a server."""
    columns = capability_columns(report)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    legend = "".join(
        f'<li><span class="{s}">{SYMBOLS[s]}</span> <b>{s}</b>: {html.escape(LEGEND[s])}</li>' for s in STATUSES
    )
    problems = "".join(
        f'<li><span class="{r.status}">{SYMBOLS[r.status]}</span> <b>{html.escape(r.provider)}</b> / '
        f"<code>{html.escape(r.capability)}</code>: {html.escape(r.reason)}"
        + (f" <small>(cassette <code>{html.escape(r.cassette)}</code>)</small>" if r.cassette else "")
        + (f' <a href="{html.escape(r.repro)}">reproduction</a>' if r.repro else "")
        + (f"<br><small>{_command_label(r)}: <code>{html.escape(r.command)}</code></small>" if r.command else "")
        + "</li>"
        for r in _problems(report)
    )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Allos conformance matrix ({html.escape(report.mode)})</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>Allos conformance matrix <small>({html.escape(report.mode)})</small></h1>",
            f"<p>Generated {html.escape(report.generated_at)} by Allos {html.escape(report.allos_version)}: "
            f"{html.escape(_summary(report))}.</p>",
            f'<table><thead><tr><th class="alias">alias</th>{head}</tr></thead><tbody>',
            *_html_rows(report, columns),
            "</tbody></table>",
            f"<h2>Legend</h2><ul>{legend}</ul>",
            f"<h2>Not passing</h2><ul>{problems}</ul>" if problems else "",
            "</body></html>",
        ]
    )
