"""The numbers lesson 0.5 states come from assets/mlp_run.json (made by assets/make_mlp_run.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from course.chapter0_fundamentals.part5_backprop import solutions as ref

PART_DIR = Path(__file__).resolve().parents[1]
RECORD = json.loads((PART_DIR / "assets" / "mlp_run.json").read_text())
LESSON = " ".join((PART_DIR / "lesson.md").read_text().split())  # line breaks as spaces


def test_lesson_quotes_the_recorded_training_run() -> None:
    """"the recorded reference run (...) reached 92.2% in 4.3 s, on an x86_64 machine with 2 cores ...\""""
    claim = f"reached {RECORD['accuracy']:.1%} in {RECORD['seconds']:.1f} s, on an x86_64 machine"
    assert claim in LESSON
    assert "x86_64" in RECORD["machine"] and "2 cores" in RECORD["machine"]
    assert f"about {round(RECORD['accuracy'] * 100)}% test accuracy" in LESSON


def test_lesson_quotes_the_recorded_benchmark() -> None:
    """"the reference took 8.20 ms per step and PyTorch 6.08 ms: 1.3 times slower\""""
    bench = RECORD["bench"]
    ratio = bench["ours_ms"] / bench["torch_ms"]
    claim = f"took {bench['ours_ms']:.2f} ms per step and PyTorch {bench['torch_ms']:.2f} ms: {ratio:.1f} times"
    assert claim in LESSON


def test_recorded_accuracy_is_reproduced(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-runs the recorded training (seeded, offline digits, about 300 steps) and gets its accuracy."""
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    _, losses, accuracy, _ = ref.train_mlp(**RECORD["run"])
    assert len(losses) == RECORD["steps"]
    assert abs(accuracy - RECORD["accuracy"]) <= 0.005
    np.testing.assert_allclose(losses[:5], RECORD["losses"][:5], rtol=1e-3)


def test_an_untrained_model_does_not_reach_the_recorded_accuracy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: the accuracy test above can fail."""
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    np.random.seed(0)
    _, _, x_test, y_test, _ = ref.mnist_arrays()
    assert ref.accuracy(ref.MLP(), x_test, y_test) < RECORD["accuracy"] - 0.5
