"""The two-slider optimizer figure of lesson 0.4: every path it can show is opt_fn_with_sgd's."""

from __future__ import annotations

import json
import re

import torch as t

from arena.plotting import HTMLFigure
from course.chapter0_fundamentals.part4_optimization import figures
from course.chapter0_fundamentals.part4_optimization import solutions as ref


def test_slider_figure_holds_every_grid_path_and_offline_plotly() -> None:
    fig = figures.optimizer_sliders()
    assert isinstance(fig, HTMLFigure)
    assert 'id="opt-lr"' in fig.html and 'id="opt-m"' in fig.html
    assert "<script src=\"http" not in fig.html  # plotly.js is inlined: the page works offline
    table = json.loads(re.search(r"const paths = (\{.*?\}), lrs = ", fig.html, re.S).group(1))
    assert len(table) == len(figures.SLIDER_LRS) * len(figures.SLIDER_MOMENTA)
    for lr, m in [(0.001, 0.98), (0.1, 0.0), (0.3, 0.95)]:
        want = ref.opt_fn_with_sgd(ref.pathological_curvature_loss, t.tensor(figures.START, requires_grad=True),
                                   lr=lr, momentum=m)
        got = table[f"{lr:g}|{m:g}"]
        assert t.allclose(t.tensor([got["x"], got["y"]]).T, want, atol=1e-5)
    # Negative control: two different settings give different paths (the sliders change something).
    assert table["0.001|0.98"]["y"][-1] != table["0.1|0.9"]["y"][-1]
