"""The sgd_path caption's numbers are the end points of the paths the figure draws (recomputed here)."""

from __future__ import annotations

import re

import pytest

from arena.catalog import get_part
from arena.lesson import load_lesson
from course.chapter0_fundamentals.part4_optimization import figures
from course.chapter0_fundamentals.part4_optimization import solutions as ref


def _caption() -> str:
    return next(d.body for d in load_lesson(get_part("0.4")).directives("figure") if d.name == "sgd_path")


def _end(lr: float | None = None, momentum: float | None = None) -> tuple[float, float]:
    kwargs = {} if lr is None else {"lr": lr, "momentum": momentum}
    path = ref.opt_fn_with_sgd(ref.pathological_curvature_loss, figures._start(), **kwargs)
    return float(path[-1, 0]), float(path[-1, 1])


def test_sgd_path_caption_states_the_drawn_end_points() -> None:
    """“it ends near (2.41, 2.29)” / “only reaches (2.06, 1.50)” / “reaches y ≈ −4.8”."""
    caption = _caption()
    points = [tuple(map(float, m)) for m in re.findall(r"\$\((-?[\d.]+), (-?[\d.]+)\)\$", caption)]
    defaults, no_momentum = points[0], points[2]  # points[1] is the starting point (2.5, 2.5)
    assert _end() == pytest.approx(defaults, abs=0.006)
    assert _end(0.1, 0.0) == pytest.approx(no_momentum, abs=0.006)
    y_claim = float(re.search(r"y \\approx (-?[\d.]+)", caption.replace("−", "-")).group(1))
    assert _end(0.1, 0.9)[1] == pytest.approx(y_claim, abs=0.06)
    assert _end(0.1, 0.9)[1] < _end(0.1, 0.0)[1] - 5  # momentum really does go much further
