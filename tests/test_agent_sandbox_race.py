"""The workdir sandbox under a racing swapper: another process keeps turning a directory inside the working directory
into a symbolic link to a directory outside it, and the file the tools use into a link to a secret outside, while
read_file, write_file, edit_file and list_directory run in a loop. No call may read the secret, list the outside
directory, or write anything outside (checked byte for byte, inode for inode, at the end).

The swapper is a separate process (real concurrency, not threads taking turns on the GIL); it stops by itself after a
bounded number of swaps or seconds, and when the test asks it to. The counts are printed (`pytest -s`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allos.agent import ToolError, Workspace

ATTEMPTS = 1500  # rounds; each round is four tool calls
SECRET = "SECRET-outside-the-workdir-5f1c"
ONLY_OUTSIDE = "only-outside-0c7e.txt"

# Swaps, as fast as it can: the directory `d` <-> a link to `outside`, and `d/target.txt` <-> a link to the secret.
_SWAPPER = textwrap.dedent(
    """
    import os, shutil, sys, time
    work, outside, stop = sys.argv[1:4]
    d, real = os.path.join(work, "d"), os.path.join(work, "d.real")
    target, kept = os.path.join(real, "target.txt"), os.path.join(real, "target.real")

    def restore():
        # The tools create files and directories as they go (a `d` of their own while the real one is away):
        # put the real ones back and carry on.
        if os.path.islink(d):
            os.unlink(d)
        if os.path.isdir(real):
            if os.path.isdir(d):
                shutil.rmtree(d)
            os.rename(real, d)
        here, aside = os.path.join(d, "target.txt"), os.path.join(d, "target.real")
        if os.path.islink(here):
            os.unlink(here)
        if os.path.exists(aside):
            if os.path.exists(here):
                os.unlink(here)
            os.rename(aside, here)

    deadline, swaps = time.monotonic() + 60, 0
    print("started", flush=True)
    while swaps < 2_000_000 and time.monotonic() < deadline:
        if swaps % 64 == 0 and os.path.exists(stop):
            break
        swaps += 1
        try:
            os.rename(d, real)
            os.symlink(outside, d)
            os.rename(target, kept)
            os.symlink(os.path.join(outside, "target.txt"), target)
            os.unlink(d)
            os.symlink(os.path.join(outside, "target.txt"), d)  # the directory's name as a link to a file, too
            os.unlink(d)
            os.rename(real, d)
            os.unlink(os.path.join(d, "target.txt"))
            os.rename(os.path.join(d, "target.real"), os.path.join(d, "target.txt"))
        except OSError:
            for _ in range(100):  # the tools may be writing into what is being put back: try again
                try:
                    restore()
                    break
                except OSError:
                    pass
    restore()
    print(swaps, flush=True)
    """
)


@dataclass
class RaceCounts:
    attempts: int
    outcomes: Counter[str]
    escapes: list[str]
    swaps: int


def race(workspace: Any, work: Path, outside: Path, attempts: int = ATTEMPTS) -> RaceCounts:
    """Run the four tools `attempts` times against the swapper; what happened, escapes listed."""
    stop = work.parent / f"{work.name}.stop"
    swapper = subprocess.Popen(
        [sys.executable, "-c", _SWAPPER, str(work), str(outside), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outcomes: Counter[str] = Counter()
    escapes: list[str] = []
    try:
        assert swapper.stdout is not None and swapper.stdout.readline() == "started\n"
        for round_ in range(attempts):
            for name, call in _calls(workspace, round_):
                try:
                    text = str(call())
                except ToolError as exc:
                    outcomes[f"{name}: {_reason(str(exc))}"] += 1
                    continue
                except OSError as exc:  # the old implementation's failures; the new one answers ToolError
                    outcomes[f"{name}: OSError {exc.strerror}"] += 1
                    continue
                outcomes[f"{name}: ok"] += 1
                if SECRET in text or ONLY_OUTSIDE in text:
                    escapes.append(f"{name} read outside: {text[:80]!r}")
    finally:
        stop.touch()
        out, err = swapper.communicate(timeout=60)
        stop.unlink()
    assert swapper.returncode == 0, err
    escapes += _written_outside(outside)
    return RaceCounts(attempts * 4, outcomes, escapes, int(out.split()[-1]))


def _calls(workspace: Any, round_: int) -> list[tuple[str, Any]]:
    flip = ("A", "B") if round_ % 2 == 0 else ("B", "A")
    return [
        ("read_file", lambda: workspace.read_file("d/target.txt")),
        ("list_directory", lambda: workspace.list_directory("d")),
        ("write_file", lambda: workspace.write_file(f"d/written-{round_ % 7}.txt", "inside\n")),
        ("edit_file", lambda: workspace.edit_file("d/target.txt", f"marker {flip[0]}", f"marker {flip[1]}")),
    ]


def _reason(message: str) -> str:
    for reason in ("symbolic link", "no such", "not found", "not a directory", "is a directory", "hard links"):
        if reason in message:
            return reason
    return message


def _written_outside(outside: Path) -> list[str]:
    found = []
    if sorted(os.listdir(outside)) != sorted(["target.txt", ONLY_OUTSIDE]):
        found.append(f"files appeared outside: {sorted(os.listdir(outside))}")
    target = outside / "target.txt"
    if target.read_text(encoding="utf-8") != f"{SECRET} marker A\n" or os.stat(target).st_ino != _INODES[outside]:
        found.append("the outside target was changed or replaced")
    return found


_INODES: dict[Path, int] = {}


def make_race_dirs(base: Path) -> tuple[Path, Path]:
    work, outside = base / "work", base / "outside"
    (work / "d").mkdir(parents=True)
    outside.mkdir()
    (work / "d" / "target.txt").write_text("marker A\n", encoding="utf-8")
    (outside / "target.txt").write_text(f"{SECRET} marker A\n", encoding="utf-8")
    (outside / ONLY_OUTSIDE).write_text(SECRET, encoding="utf-8")
    _INODES[outside] = os.stat(outside / "target.txt").st_ino
    return work, outside


def test_no_escape_under_a_racing_swapper(tmp_path: Path) -> None:
    work, outside = make_race_dirs(tmp_path)
    counts = race(Workspace(work), work, outside)
    print(f"\nsandbox race: {counts.attempts} tool calls, {counts.swaps} swaps, {len(counts.escapes)} escapes")
    for outcome, number in sorted(counts.outcomes.items()):
        print(f"  {number:6d}  {outcome}")
    assert counts.escapes == []
    assert counts.attempts >= 6000 and sum(counts.outcomes.values()) == counts.attempts
    # The race really ran: calls met a swapped-in link (and were refused), and calls went through between swaps.
    assert sum(n for outcome, n in counts.outcomes.items() if outcome.endswith("symbolic link")) > 0
    assert sum(n for outcome, n in counts.outcomes.items() if outcome.endswith(": ok")) > 0
    assert not [outcome for outcome in counts.outcomes if "OSError" in outcome]  # every refusal is a ToolError
