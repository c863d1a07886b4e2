"""Timing helpers: interleaved runs, so that drift (CPU frequency, a neighbour's load) hits every contender alike.

Every contender is warmed up first; then each round times one call of every contender, in an order that rotates
from round to round (ABC, BCA, CAB, ...), so no contender always runs right after the same other one. Results are
medians and 90th percentiles of per-call times, in microseconds.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["Stats", "interleave", "interleave_async", "stats"]

Stats = dict[str, float]


def stats(samples_ns: list[int]) -> Stats:
    """Median, 90th percentile, min and count of samples given in nanoseconds, reported in microseconds."""
    ordered = sorted(samples_ns)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return {
        "median_us": statistics.median(ordered) / 1000,
        "p90_us": p90 / 1000,
        "min_us": ordered[0] / 1000,
        "n": float(len(ordered)),
    }


def interleave(contenders: Mapping[str, Callable[[], Any]], *, rounds: int, warmup: int) -> dict[str, list[int]]:
    """Per-call times in nanoseconds for each contender, measured in rotating order."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    samples: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    gc.collect()
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            call = contenders[name]
            start = clock()
            call()
            samples[name].append(clock() - start)
    return samples


async def interleave_async(
    contenders: Mapping[str, Callable[[], Awaitable[Any]]], *, rounds: int, warmup: int
) -> dict[str, list[int]]:
    """`interleave` for coroutines; awaited on the loop that owns the contenders' clients."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            await contenders[name]()
    samples: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    gc.collect()
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            call = contenders[name]
            start = clock()
            await call()
            samples[name].append(clock() - start)
    return samples
