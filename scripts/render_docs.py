"""Rewrite the generated parts of the docs from the registry: the README's provider table and the alias table of
docs/providers/chat-completions.md."""

from __future__ import annotations

import pathlib

from allos.providers._docs import render_page, render_readme

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = {ROOT / "README.md": render_readme, ROOT / "docs" / "providers" / "chat-completions.md": render_page}

if __name__ == "__main__":
    for path, render in PAGES.items():
        path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {path}")
