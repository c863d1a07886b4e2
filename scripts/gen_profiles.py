"""Generate `allos/profiles.json`, the pinned model profiles, from a models.dev snapshot. Offline; deterministic.

    python scripts/gen_profiles.py                 # the snapshot's `providers/` folder beside the clone
    python scripts/gen_profiles.py PATH            # a models.dev checkout (or its `providers/` folder)
    python scripts/gen_profiles.py PATH --check    # exit 1 when the committed file differs from what PATH gives

models.dev (https://github.com/anomalyco/models.dev, MIT) keeps one TOML file per provider and model under
`providers/<folder>/models/<model id>.toml`. This script keeps only the fields Allos uses, for the folders that
`ALIASES` maps onto Allos aliases, and writes them with sorted keys so that the same snapshot always gives the same
bytes. Where a folder name differs from the alias, the mapping says so; aliases in `UNPROFILED` have no profiles,
with the reason recorded in the file.

Inheritance: a model file may name a `base_model = "<vendor>/<id>"` and list `base_model_omit` fields. models.dev
keeps base models in a root `models/` folder that a `providers/`-only snapshot does not carry, so the base is read
from the vendor's own provider folder (`providers/<vendor>/models/<id>.toml`) when that file is complete (has no
`base_model` itself); otherwise the model keeps only the fields its own file states, and what it does not state is
unknown (absent from the profile), never guessed. A file whose whole text is a relative path is a symbolic link
stored as text by the snapshot, and is followed.
"""

from __future__ import annotations

import argparse
import functools
import json
import pathlib
import sys
from collections.abc import Mapping
from typing import Any

import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "allos" / "profiles.json"
DEFAULT_SNAPSHOT = ROOT.parent / "shared" / "models-dev"

SNAPSHOT = {
    "repository": "https://github.com/anomalyco/models.dev",
    "commit": "f3fc69229967",
    "date": "2026-07-02",
    "license": "MIT",
}
NOTICE = (
    "Model data from models.dev (https://github.com/anomalyco/models.dev), MIT License, Copyright (c) 2025 models.dev."
    " Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated"
    ' documentation files (the "Software"), to deal in the Software without restriction, including without limitation'
    " the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and"
    " to permit persons to whom the Software is furnished to do so, subject to the following conditions: The above"
    " copyright notice and this permission notice shall be included in all copies or substantial portions of the"
    ' Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT'
    " LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT"
    " SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION"
    " OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER"
    " DEALINGS IN THE SOFTWARE."
)

#: Allos alias -> models.dev provider folder. The folder lists the model ids that the alias's endpoint serves.
ALIASES: Mapping[str, str] = {
    "anthropic": "anthropic",
    "cerebras": "cerebras",
    "deepseek": "deepseek",
    "fireworks": "fireworks-ai",
    "gemini": "google",  # the Gemini API's own model ids, which its OpenAI-compatible endpoint takes as they are
    "groq": "groq",
    "mistral": "mistral",
    "openai": "openai",
    "openai-chat": "openai",  # the same models through Chat Completions
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "together": "togetherai",
    "xai": "xai",
}
#: Aliases without profiles, and why.
UNPROFILED: Mapping[str, str] = {
    "chat_completions": "any OpenAI-compatible server: its models are whatever that server serves",
    "llamacpp": "local server: serves whatever model file it was started with",
    "llamacpp-anthropic": "local server: serves whatever model file it was started with",
    "llamacpp-responses": "local server: serves whatever model file it was started with",
    "lmstudio": "local server: serves whatever model the user loaded",
    "localai": "local server: serves whatever model the user configured",
    "ollama": "local server: serves whatever model the user pulled",
    "portkey": "gateway: the model's provider is chosen per request (x-portkey-provider or a config)",
    "vllm": "local server: serves whatever model it was started with",
}
_MODALITIES = ("audio", "image", "pdf", "text", "video")
_PRICES = ("input", "output", "cache_read", "cache_write")


def _read(path: pathlib.Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    stripped = text.strip()
    if stripped.endswith(".toml") and "\n" not in stripped and "=" not in stripped:  # a symbolic link stored as text
        return _read((path.parent / stripped).resolve())
    return tomllib.loads(text)


def _base_of(providers: pathlib.Path, data: dict[str, Any]) -> dict[str, Any]:
    """The base model's fields, where the snapshot has a complete file for it; else nothing."""
    vendor, _, model = str(data["base_model"]).partition("/")
    path = providers / vendor / "models" / f"{model}.toml"
    if not path.is_file():
        return {}
    base = _read(path)
    return {} if "base_model" in base else base


def _omit(data: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        data = data.get(key) or {}
    data.pop(leaf, None)


def _merged(providers: pathlib.Path, data: dict[str, Any]) -> dict[str, Any]:
    """`data` over its base model: tables merge key by key, the model's own values win."""
    if "base_model" not in data:
        return data
    merged = json.loads(json.dumps(_base_of(providers, data)))
    for dotted in data.get("base_model_omit", ()):
        _omit(merged, dotted)
    for key, value in data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _reasoning(data: dict[str, Any]) -> dict[str, Any] | None:
    """Effort values, budget range, toggle. `always_on` when the options offer no way to turn reasoning off or leave
    it out: no toggle, no "none" effort and no budget (a budget is a request field; leaving it out is how Anthropic's
    extended thinking stays off: https://docs.claude.com/en/docs/build-with-claude/extended-thinking)."""
    options = data.get("reasoning_options") or []
    if data.get("reasoning") is False or (data.get("reasoning") is None and not options):
        return None
    efforts = list(dict.fromkeys(value for o in options if o.get("type") == "effort" for value in o.get("values", ())))
    budgets = [o for o in options if o.get("type") == "budget_tokens"]
    toggle = any(o.get("type") == "toggle" for o in options)
    result: dict[str, Any] = {"efforts": efforts, "budget": bool(budgets), "toggle": toggle}
    for key in ("min", "max"):
        values = [o[key] for o in budgets if key in o]
        if values:
            result[f"budget_{key}"] = values[0]
    result["always_on"] = not toggle and "none" not in efforts and not budgets
    return result


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    """The fields Allos uses; what the file does not state stays absent (unknown)."""
    profile: dict[str, Any] = {
        key: data[key] for key in ("tool_call", "reasoning", "structured_output", "temperature") if key in data
    }
    if "name" in data:
        profile["name"] = data["name"]
    inputs = (data.get("modalities") or {}).get("input")
    if inputs is not None:
        profile["input"] = sorted(m for m in set(inputs) if m in _MODALITIES)
    limit = data.get("limit") or {}
    for key in ("context", "output"):
        if limit.get(key):  # 0 is "not stated" in a few files
            profile[key] = int(limit[key])
    cost = data.get("cost") or {}
    prices = {key: float(cost[key]) for key in _PRICES if key in cost}
    if "input" in prices and "output" in prices:
        profile["prices"] = prices
    reasoning = _reasoning(data)
    if reasoning is not None:
        profile["reasoning_options"] = reasoning
    return profile


def _folder(providers: pathlib.Path, folder: str) -> dict[str, Any]:
    models = providers / folder / "models"
    if not models.is_dir():
        raise SystemExit(f"no models folder for {folder!r} in {providers}")
    profiles = {}
    for path in sorted(models.rglob("*.toml")):
        model_id = path.relative_to(models).with_suffix("").as_posix()
        profiles[model_id] = _profile(_merged(providers, _read(path)))
    return profiles


def generate(snapshot: pathlib.Path, aliases: Mapping[str, str] = ALIASES) -> str:
    """The file's text for a snapshot (a models.dev checkout or its `providers/` folder)."""
    providers = snapshot / "providers" if (snapshot / "providers").is_dir() else snapshot
    document = {
        "snapshot": SNAPSHOT,
        "notice": NOTICE,
        "generator": "scripts/gen_profiles.py",
        "aliases": dict(aliases),
        "unprofiled": dict(UNPROFILED),
        "models": {folder: _folder(providers, folder) for folder in sorted(set(aliases.values()))},
    }
    return _dumps(document)


def _dumps(document: dict[str, Any]) -> str:
    """Sorted keys, one model per line: compact, and a refresh shows as a readable diff."""
    compact = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    lines = ["{"]
    for key in sorted(document):
        if key != "models":
            lines.append(f"{json.dumps(key)}:{compact(document[key])},")
    lines.append('"models":{')
    folders = sorted(document["models"])
    for index, folder in enumerate(folders):
        lines.append(f"{json.dumps(folder)}:{{")
        models = document["models"][folder]
        rows = [f"{json.dumps(m)}:{compact(models[m])}" for m in sorted(models)]
        lines.append(",\n".join(rows))
        lines.append("}" + ("," if index < len(folders) - 1 else ""))
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshot", nargs="?", type=pathlib.Path, default=DEFAULT_SNAPSHOT)
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args(argv)
    text = generate(args.snapshot)
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print("profiles up to date" if same else f"{OUT} differs from what {args.snapshot} gives")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
