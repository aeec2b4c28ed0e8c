"""The numbers lesson 0.2 states about the recorded SimpleMLP run come from assets/mlp_loss.json."""

from __future__ import annotations

import json
from pathlib import Path

from course.chapter0_fundamentals.part2_cnns import figures

PART_DIR = Path(__file__).resolve().parents[1]
RECORD = json.loads((PART_DIR / "assets" / "mlp_loss.json").read_text())
LESSON = " ".join((PART_DIR / "lesson.md").read_text().split())


def test_lesson_accuracy_is_the_recorded_one() -> None:
    """"three epochs take seconds and reach about 89% test accuracy (the recorded reference run ...)\""""
    assert f"reach about {round(RECORD['accuracy'] * 100)}% test accuracy" in LESSON
    assert RECORD["epochs"] == 3 and "three epochs" in LESSON


def test_recorded_run_learned_something() -> None:
    """Negative control for the claim: an untrained net (chance, 10%) and a flat curve would fail here."""
    assert RECORD["accuracy"] > 0.5
    losses = RECORD["losses"]
    assert abs(losses[0] - 2.30) < 0.1 and sum(losses[-20:]) / 20 < 0.6 * losses[0]


def test_figure_title_quotes_the_record() -> None:
    assert f"{RECORD['accuracy']:.1%}" in figures.mlp_loss_curve().layout.title.text


def test_views_and_copies_section_measures_what_it_says() -> None:
    """"The storage sizes are exact: 100,000,000 bytes kept for the slice, 40 for the clone.\""""
    import torch as t

    big = t.zeros(25_000_000)
    small = big[:10]
    del big
    kept, cloned = small.untyped_storage().nbytes(), small.clone().untyped_storage().nbytes()
    assert f"{kept:,} bytes kept for the slice, {cloned} for the clone" in LESSON
    assert small._base is not None and small.clone()._base is None


def test_views_and_copies_lists_are_right() -> None:
    """The lesson's lists of views and copies, checked on a (3, 4) tensor."""
    import torch as t

    x = t.arange(12.0).reshape(3, 4)

    def shares(y: t.Tensor) -> bool:
        return y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()

    views = [x[1], x[:, 1:3], x[::2], x.T, x.transpose(0, 1), x.permute(1, 0), x.view(4, 3), x.expand(2, 3, 4),
             x.unsqueeze(0), x.narrow(1, 0, 2), x.unfold(1, 2, 1), x.as_strided((2,), (1,)), x.detach(),
             x.reshape(4, 3), x.flatten(), x.float()]
    copies = [x[[0, 2]], x[x > 5], x.clone(), x.T.contiguous(), x.T.reshape(12), x + 0, x.double()]
    assert all(shares(y) for y in views)
    assert not any(shares(y) for y in copies)
