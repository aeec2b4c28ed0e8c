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


def test_resnet_from_scratch_section_quotes_the_model() -> None:
    """The bonus section's numbers about our ResNet34: parameter count, and the 8x8 / 1x1 sizes the
    ImageNet stem leaves of a 32x32 CIFAR image."""
    import torch

    from course.chapter0_fundamentals.part3_resnets.solutions import ResNet34

    text = " ".join(get_part("0.4").path.joinpath("lesson.md").read_text().split())
    model = ResNet34(n_classes=10)
    n_params = sum(p.numel() for p in model.parameters())
    assert f"{n_params:,} parameters of our ResNet34" in text
    with torch.no_grad():
        after_stem = model.in_layers(torch.zeros(1, 3, 32, 32))
        last = model.residual_layers(after_stem)
    assert tuple(after_stem.shape[-2:]) == (8, 8) and "to 8×8 before the first residual block" in text
    assert tuple(last.shape[-2:]) == (1, 1) and "a single 1×1 position" in text
