"""Times from-scratch implementations against the libraries they imitate, in one process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Benchmark:
    name: str
    ours: Callable[[], Any]
    library: Callable[[], Any]
    library_name: str = "torch"


@dataclass(frozen=True)
class Timing:
    name: str
    ours_ms: float
    library_ms: float
    library_name: str

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.library_ms


def best_time_ms(fn: Callable[[], Any], repeats: int = 5, min_seconds: float = 0.2) -> float:
    """The best of `repeats` rounds, each long enough (>= min_seconds / repeats) to be measurable."""
    fn()  # warm-up
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-6)
    inner = max(1, int(min_seconds / repeats / once))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best * 1000


def run_benchmarks(benchmarks: list[Benchmark], repeats: int = 5) -> list[Timing]:
    return [Timing(b.name, best_time_ms(b.ours, repeats), best_time_ms(b.library, repeats), b.library_name)
            for b in benchmarks]
