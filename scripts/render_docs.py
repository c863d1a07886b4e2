"""Rewrite the generated parts of docs/providers/chat-completions.md from the registry."""

from __future__ import annotations

import pathlib

from allos.providers._docs import render_page

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "providers" / "chat-completions.md"

if __name__ == "__main__":
    PAGE.write_text(render_page(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE}")
