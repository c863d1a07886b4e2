"""The alias table of docs/providers/chat-completions.md, rendered from the registry so the docs cannot drift.

`python scripts/render_docs.py` rewrites the table between its markers; `tests/test_docs.py` fails when the committed
page differs from what the registry renders.
"""

from __future__ import annotations

from allos.capabilities import ALL_CAPABILITIES
from allos.providers.registry import ProviderSpec, list_providers

__all__ = [
    "render_alias_table",
    "render_overview",
    "render_page",
    "render_quirk_sources",
    "render_readme",
    "replace_between_markers",
]

TABLE_MARKERS = ("<!-- BEGIN GENERATED: alias table -->", "<!-- END GENERATED: alias table -->")
QUIRK_MARKERS = ("<!-- BEGIN GENERATED: quirks -->", "<!-- END GENERATED: quirks -->")
OVERVIEW_MARKERS = ("<!-- BEGIN GENERATED: providers -->", "<!-- END GENERATED: providers -->")
_PROTOCOL_PAGES = {
    "chat_completions": "docs/providers/chat-completions.md",
    "responses": "docs/providers/openai.md",
    "anthropic": "docs/providers/anthropic.md",
    "ollama": "docs/providers/ollama.md",
}


def _missing(spec: ProviderSpec) -> str:
    lacking = sorted(str(c) for c in ALL_CAPABILITIES - spec.capabilities)
    return ", ".join(lacking) if lacking else "none"


def render_alias_table(protocol: str = "chat_completions") -> str:
    """A Markdown table of every alias of `protocol`: base URL, key variable, default model, undeclared capabilities."""
    lines = [
        "| alias | default base URL | API key variable | default model | not declared |",
        "|---|---|---|---|---|",
    ]
    for spec in list_providers():
        if spec.protocol != protocol:
            continue
        key = f"`{spec.api_key_env}`" if spec.api_key_env else "none"
        if spec.api_key_env and not spec.api_key_required:
            key += " (optional)"
        url = f"`{spec.base_url}`" if spec.base_url else f"pass `base_url=` or `{spec.base_url_env}`"
        model = f"`{spec.default_model}`" if spec.default_model else "pass `model=`"
        lines.append(f"| `{spec.name}` | {url} | {key} | {model} | {_missing(spec)} |")
    return "\n".join(lines)


def render_quirk_sources(protocol: str = "chat_completions") -> str:
    """Each alias's quirks and extra headers, with the source of each."""
    lines: list[str] = []
    for spec in list_providers():
        sources = spec.quirks.sources if spec.quirks is not None else {}
        if spec.protocol != protocol or not (sources or spec.headers):
            continue
        lines.append(f"- **{spec.name}**")
        for quirk, source in sorted(sources.items()):
            lines.append(f"  - `{quirk}`: {source}")
        for header in spec.headers:
            secret = ", secret" if header.secret else ""
            lines.append(f"  - header `{header.name}` from `{header.env}`{secret}")
    return "\n".join(lines)


def render_overview() -> str:
    """Every alias with its protocol, key variable and page: the README's provider table."""
    lines = ["| alias | protocol | API key variable | where | docs |", "|---|---|---|---|---|"]
    for spec in list_providers():
        key = f"`{spec.api_key_env}`" if spec.api_key_env else "none"
        if spec.api_key_env and not spec.api_key_required:
            key += " (optional)"
        where = "local" if spec.local else ("any URL" if spec.base_url is None else "hosted")
        page = _PROTOCOL_PAGES.get(spec.protocol, "")
        lines.append(f"| `{spec.name}` | {spec.protocol} | {key} | {where} | [{spec.protocol}]({page}) |")
    return "\n".join(lines)


def render_readme(page: str) -> str:
    """The README with its provider table brought up to date with the registry."""
    return replace_between_markers(page, render_overview(), *OVERVIEW_MARKERS)


def render_page(page: str, protocol: str = "chat_completions") -> str:
    """`page` with its generated sections (those it has) brought up to date with the registry."""
    if TABLE_MARKERS[0] in page:
        page = replace_between_markers(page, render_alias_table(protocol), *TABLE_MARKERS)
    if QUIRK_MARKERS[0] in page:
        page = replace_between_markers(page, render_quirk_sources(protocol), *QUIRK_MARKERS)
    return page


def replace_between_markers(page: str, generated: str, begin: str, end: str) -> str:
    """`page` with the text between `begin` and `end` replaced by `generated`."""
    head, sep, rest = page.partition(begin)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"markers {begin!r} / {end!r} not found")
    return f"{head}{begin}\n{generated}\n{end}{tail}"
