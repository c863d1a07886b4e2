"""Rewrite the generated parts of the docs from the registry: the README's provider table and the alias tables and
quirk lists of the provider pages."""

from __future__ import annotations

import functools
import pathlib

from allos.providers._docs import render_page, render_readme

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROVIDERS = ROOT / "docs" / "providers"
PAGES = {
    ROOT / "README.md": render_readme,
    PROVIDERS / "chat-completions.md": functools.partial(render_page, protocol="chat_completions"),
    PROVIDERS / "anthropic.md": functools.partial(render_page, protocol="anthropic"),
    PROVIDERS / "openai.md": functools.partial(render_page, protocol="responses"),
    PROVIDERS / "ollama.md": functools.partial(render_page, protocol="ollama"),
}

if __name__ == "__main__":
    for path, render in PAGES.items():
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {path}")
