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


def test_bench_times_the_learners_file_next_to_the_reference(tmp_path) -> None:
    """`arena bench 0.2` times the learner's file ("yours"), with the reference as a second column."""
    from arena.bench import compare_benchmarks, load_bench_with
    from arena.catalog import get_part
    from arena.stubs import make_stub_module
    from arena.worker import load_learner_module
    from tests.helpers import learner_file

    part = get_part("0.2")
    reference = part.module("bench").BENCHMARKS[:1]
    stub = tmp_path / "stub" / "exercises.py"
    stub.parent.mkdir()
    stub.write_text(make_stub_module(part))
    stub_bench = load_bench_with(part, load_learner_module(stub)).BENCHMARKS[:1]
    (row,) = compare_benchmarks(reference, stub_bench, repeats=1)
    assert row.yours_ms is None and row.yours_note == "not implemented"
    assert row.reference_ms > 0 and row.library_ms > 0
    (tmp_path / "mine").mkdir()
    mine = learner_file(tmp_path / "mine" / "exercises.py", part_id="0.2")
    (row,) = compare_benchmarks(reference, load_bench_with(part, load_learner_module(mine)).BENCHMARKS[:1], repeats=1)
    assert row.yours_ms is not None and row.yours_ms > 0 and not row.yours_note
    assert part.module("bench").ref is part.module("solutions")  # the reference bench is untouched
