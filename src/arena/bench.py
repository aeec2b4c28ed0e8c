"""Times from-scratch implementations against the libraries they imitate, in one process."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
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


@dataclass(frozen=True)
class Comparison:
    """One benchmark timed for the learner's implementation, the reference and the library."""

    name: str
    yours_ms: float | None  # None: not run (no file) or it raised; `yours_note` says why
    reference_ms: float
    library_ms: float
    library_name: str
    yours_note: str = ""


def load_bench_with(part: Any, solutions: ModuleType) -> ModuleType:
    """A fresh copy of a part's bench.py in which `from . import solutions` gives `solutions`
    (the learner's module) instead of the reference solutions."""
    package = importlib.import_module(part.module_name)
    key = f"{part.module_name}.solutions"
    saved_module, saved_attr = sys.modules.get(key), package.__dict__.get("solutions")
    sys.modules[key] = solutions
    package.solutions = solutions
    try:
        spec = importlib.util.spec_from_file_location(f"{part.module_name}._learner_bench", part.path / "bench.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved_module is not None:
            sys.modules[key] = saved_module
        else:
            sys.modules.pop(key, None)
        if saved_attr is not None:
            package.solutions = saved_attr
        else:
            package.__dict__.pop("solutions", None)
    return module


def _timed_or_note(fn: Callable[[], Any], repeats: int) -> tuple[float | None, str]:
    try:
        return best_time_ms(fn, repeats), ""
    except NotImplementedError:
        return None, "not implemented"
    except Exception as err:  # noqa: BLE001 - the learner's mistake is a note in the table, not a crash
        return None, f"error: {type(err).__name__}"


def compare_benchmarks(reference: list[Benchmark], yours: list[Benchmark] | None,
                       repeats: int = 5) -> list[Comparison]:
    """Time the learner's version (if any), the reference and the library of every benchmark."""
    by_name = {b.name: b for b in yours or []}
    rows = []
    for b in reference:
        mine = by_name.get(b.name)
        yours_ms, note = _timed_or_note(mine.ours, repeats) if mine is not None else (None, "")
        rows.append(Comparison(b.name, yours_ms, best_time_ms(b.ours, repeats), best_time_ms(b.library, repeats),
                               b.library_name, note))
    return rows
