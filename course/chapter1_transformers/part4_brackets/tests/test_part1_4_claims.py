"""Part 1.4: every claim the lesson makes about the shipped `brackets` model is tested on the shipped file.

Each test quotes the lesson sentence it backs (`test_quoted_sentences_are_in_the_lesson` keeps quotes and
lesson in step); where sensible an untrained model of the same config fails the claim (negative control)."""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pytest
import torch as t

from arena.zoo import entry
from course.chapter1_transformers.part4_brackets import analysis
from course.chapter1_transformers.part4_brackets import solutions as ref
from course.chapter1_transformers.part4_brackets.assets import train as trainer

PART = Path(ref.__file__).parent
LESSON = " ".join((PART / "lesson.md").read_text(encoding="utf-8").split())

pytestmark = pytest.mark.skipif(not entry("brackets").card_path.exists(),
                                reason="brackets is not trained yet (`arena train brackets`)")


@functools.lru_cache(maxsize=1)
def untrained():
    return trainer.build_model(seed=0).eval()


@functools.lru_cache(maxsize=1)
def data():
    t.set_num_threads(1)
    return analysis.analysis_data(1000, analysis.ANALYSIS_SEED)


def quoted(test_fn) -> list[str]:
    return [" ".join(q.split()) for q in re.findall(r"“(.+?)”", test_fn.__doc__ or "", flags=re.S)]


def test_unembed_has_no_bias():
    """“(the unembedding has no bias in this model)”"""
    model = ref.load_brackets_model()
    assert t.equal(model.b_U, t.zeros_like(model.b_U))


def test_final_mlp_writes_most_of_the_score():
    """“On a model like this one the MLP of the last layer usually writes most of the score at position 0”"""
    table = analysis.failure_table(ref.load_brackets_model(), data())
    assert max(table, key=lambda k: table[k]["std"]) == "mlp 2"
    # negative control: on an untrained model the same measurement is not decisive
    control = analysis.failure_table(untrained(), data())
    assert control["mlp 2"]["total"] < table["mlp 2"]["total"]


def test_ln_fit_is_good_at_position_0():
    """“on the inputs the model actually sees, the norm varies little, so a linear map with an intercept describes it well”"""
    fit = ref.get_ln_fit(ref.load_brackets_model(), data(), "ln_final", seq_pos=0)
    assert fit.r2 > 0.95


def test_quoted_sentences_are_in_the_lesson():
    module = sys.modules[__name__]
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_") and n != "test_quoted_sentences_are_in_the_lesson"]
    quotes = [q for fn in tests for q in quoted(fn)]
    assert quotes
    for q in quotes:
        assert q in LESSON, f"the lesson no longer says: {q!r}"
