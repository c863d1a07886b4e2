"""Aliases from user code reach `allos-conform`: plugin modules and the `allos.providers` entry point group.

Policy: before a run resolves its providers, every entry point in the group `allos.providers` is loaded, then every
`--plugin MODULE` is imported, in the order given. A plugin registers its rows at import time with
`allos.providers.registry.register_provider(...)`; an entry point may instead name a function (`package.mod:setup`),
which is called with no arguments. Importing twice is harmless (Python imports a module once per process). A plugin
that fails, for whatever reason, raises `PluginError`, whose one-line message names it; the CLI prints it and exits 2.

A package declares its aliases in its own `pyproject.toml`:

    [project.entry-points."allos.providers"]
    my-gateway = "my_package.allos_aliases"
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
from collections.abc import Sequence

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_plugins"]

ENTRY_POINT_GROUP = "allos.providers"


class PluginError(Exception):
    """A plugin module or entry point that could not be loaded; the message is one line and names it."""


def load_plugins(modules: Sequence[str] = ()) -> list[str]:
    """Load the group's entry points, then import `modules`; returns what was loaded, in order.

    >>> load_plugins(["json"])[-1]
    'json'
    """
    loaded = [_load_entry_point(entry) for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a user's module may fail in any way; the run must say which and stop
            raise PluginError(f"--plugin {name!r} failed to import: {_one_line(exc)}") from exc
        loaded.append(name)
    return loaded


def _load_entry_point(entry: importlib.metadata.EntryPoint) -> str:
    label = f"entry point {entry.name!r} ({entry.value}) in group {ENTRY_POINT_GROUP!r}"
    try:
        target = entry.load()
        if not inspect.ismodule(target) and callable(target):
            target()
    except Exception as exc:  # as above: a third-party package's failure is named, never a traceback
        raise PluginError(f"{label} failed to load: {_one_line(exc)}") from exc
    return entry.value


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
