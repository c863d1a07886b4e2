"""The provider docs are generated from the registry; the committed page must match what it renders."""

from __future__ import annotations

import pathlib

from allos.providers._docs import render_page, render_readme
from allos.providers.registry import OPENAI_COMPATIBLE_PROVIDERS

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "providers" / "chat-completions.md"


def test_chat_completions_page_matches_registry() -> None:
    committed = PAGE.read_text(encoding="utf-8")
    assert render_page(committed) == committed, "run: python scripts/render_docs.py"


def test_chat_completions_page_lists_every_alias() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for alias, spec in OPENAI_COMPATIBLE_PROVIDERS.items():
        assert f"| `{alias}` |" in page
        if spec.base_url:
            assert spec.base_url in page


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'python -m pip install -e ".[dev]" && allos-conform' in readme
    tests = 'python -m pip install -e ".[dev]" && python scripts/llamacpp.py build && python -m pytest'
    assert tests in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci, "CI runs the README's test command verbatim"


def test_readme_provider_table_matches_registry() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert render_readme(readme) == readme, "run: python scripts/render_docs.py"
    from allos import list_providers

    for spec in list_providers():
        assert f"| `{spec.name}` | {spec.protocol} |" in readme
