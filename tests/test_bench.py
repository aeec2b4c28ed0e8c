"""Benchmarks of every part run (one quick round) and produce positive ratios."""

from __future__ import annotations

import pytest

from arena.bench import Benchmark, best_time_ms, run_benchmarks
from arena.catalog import all_parts

BENCH_PARTS = [p for p in all_parts() if p.module("bench") is not None]


def test_best_time_measures_something() -> None:
    timing = run_benchmarks([Benchmark("sum", ours=lambda: sum(range(2000)), library=lambda: sum(range(1000)))],
                            repeats=2)[0]
    assert timing.ours_ms > 0 and timing.library_ms > 0
    assert timing.ratio > 1.0  # twice the work takes longer
    assert best_time_ms(lambda: None, repeats=1, min_seconds=0.001) >= 0


@pytest.mark.parametrize("part", BENCH_PARTS, ids=[p.id for p in BENCH_PARTS])
def test_part_benchmarks_run(part) -> None:
    benchmarks = part.module("bench").BENCHMARKS
    assert benchmarks
    for b in benchmarks:  # one call each proves they run; timing itself is for `arena bench`
        b.ours()
        b.library()
