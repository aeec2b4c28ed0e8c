"""Numbers lesson 0.3 states in its softmax / cross-entropy section come from figures.softmax_numbers()."""

from __future__ import annotations

import math
from pathlib import Path

import torch as t

from course.chapter0_fundamentals.part3_resnets import figures

LESSON = " ".join((Path(__file__).resolve().parents[1] / "lesson.md").read_text().split())


def test_softmax_caption_numbers() -> None:
    """"Four logits (2, 1, -1, 0.5) give softmax probabilities (0.61, 0.22, 0.03, 0.14); with label 0 the loss is
    -log 0.61 = 0.495.\""""
    numbers = figures.softmax_numbers()
    logits = ", ".join(f"{z:g}" for z in numbers["logits"])
    probs = ", ".join(f"{p:.2f}" for p in numbers["probs"])
    assert f"Four logits $({logits})$ give softmax probabilities $({probs})$" in LESSON
    assert f"$-\\log {numbers['probs'][0]:.2f} = {numbers['loss']:.3f}$" in LESSON
    assert abs(numbers["loss"] + math.log(numbers["probs"][0])) < 1e-6


def test_cross_entropy_is_kl_to_one_hot_and_lse_is_stable() -> None:
    """"minimising the cross-entropy is minimising the KL divergence"; the log-sum-exp identity avoids overflow."""
    logits, labels = t.tensor([[2.0, 1.0, -1.0, 0.5]]), t.tensor([0])
    ce = t.nn.functional.cross_entropy(logits, labels)
    kl = t.nn.functional.kl_div(t.log_softmax(logits, -1), t.nn.functional.one_hot(labels, 4).float(),
                                reduction="sum")
    assert t.allclose(ce, kl)
    z = t.tensor([1000.0, 0.0])
    assert t.isnan(z.exp() / z.exp().sum()).any()  # the naive form overflows...
    assert t.allclose(t.logsumexp(z, 0), z.max() + (z - z.max()).exp().sum().log())  # ...the shifted one does not
