"""Part 1.1: every statement the lesson makes about course-gpt or the recorded training run, tested against
the shipped files. Each test's docstring quotes the lesson's sentence; the last test checks that every
quoted sentence is still in the lesson."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

from course.chapter1_transformers.part1_transformer_from_scratch import checks, figures
from course.chapter1_transformers.part1_transformer_from_scratch import solutions as ref
from course.chapter1_transformers.zoo.corpus import corpus_text

PART = Path(__file__).resolve().parents[1]
LESSON = (PART / "lesson.md").read_text(encoding="utf-8")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _course_gpt():
    if not checks.reference_is_course_gpt():
        pytest.fail("course-gpt is not shipped (zoo/weights/course-gpt has no card): `arena train course-gpt`")
    return checks.reference_model()


# ------------------------------------------------------------------ the tokenizer


def test_tokenizer_prefix_space_and_pieces() -> None:
    """Our tokenizer adds a space in front of every text (`add_prefix_space`), so
    a name at the very start is the same token as in the middle of a sentence"""
    tok = checks.tokenizer()
    assert tok.encode("Mary gave a ball to John.") == tok.encode(" Mary gave a ball to John.")
    assert len(tok.encode(" Mary")) == 1 and tok.encode(" Mary") == tok.encode("Tom and Mary")[-1:]
    # control: capitals and numbers the corpus lacks fall apart into pieces
    assert len(tok.encode(" MARY")) > 1 and len(tok.encode(" 12345")) > 1


# ------------------------------------------------------------------ course-gpt


def test_demo_transformer_reproduces_course_gpt() -> None:
    """load into it and give the same logits, up to float rounding."""
    model = _course_gpt()
    tokens = checks.prompt_tokens()
    with torch.no_grad():
        diff = (ref.demo_from_reference(model)(tokens) - model(tokens)).abs().max().item()
        assert diff < 1e-4
        # negative control: a DemoTransformer that did not get the weights is far off
        torch.manual_seed(0)
        fresh = ref.DemoTransformer(ref.config_from_reference(model))
        assert (fresh(tokens) - model(tokens)).abs().max().item() > 1.0


def test_course_gpt_ties_unembedding_and_has_no_bias() -> None:
    """course-gpt ties $W_U$ to $W_E^T$ (as GPT-2 does) and has no unembedding bias: `b_U` loads as zeros."""
    w = _course_gpt().tl_parameters()
    assert torch.equal(w["unembed.W_U"], w["embed.W_E"].T)
    assert torch.count_nonzero(w["unembed.b_U"]) == 0
    assert torch.count_nonzero(w["blocks.0.attn.b_O"]) > 0  # control: trained biases are not zero


# ------------------------------------------------------------------ the recorded training run


def _first_step_below(rows: list[dict], level: float) -> int | None:
    return next((r["step"] for r in rows if r["val_loss"] < level), None)


def test_recorded_run_learns_unigrams_then_bigrams() -> None:
    """The model first learns which tokens are common — its loss falls to the
    unigram line within the first few dozen steps — then which token follows which: it crosses the
    bigram line later, and then keeps going below it"""
    run = figures.recorded_run()
    rows, base = run["history"], run["baselines"]
    assert rows[0]["step"] == 0 and rows[0]["val_loss"] > base["unigram"]  # untrained: above the unigram line
    unigram_step = _first_step_below(rows, base["unigram"] + 0.05)
    bigram_step = _first_step_below(rows, base["bigram"])
    assert unigram_step is not None and unigram_step <= 75
    assert bigram_step is not None and bigram_step > unigram_step
    after = [r["val_loss"] for r in rows if r["step"] >= bigram_step]
    assert all(v < base["bigram"] for v in after)
    assert after[-1] < after[0]


def test_recorded_samples_go_from_nothing_to_sentences() -> None:
    """early on the model's best
    guess after a full stop is the end of the text, so the continuation is empty; by the end of the run it
    writes on, in the corpus's style, for a whole new sentence and more."""
    run = figures.recorded_run()
    prompt, samples = run["config"]["sample_prompt"], run["samples"]
    tok = checks.tokenizer()
    assert samples[0]["step"] == 0 and samples[0]["text"] != prompt  # control: untrained, it babbles
    early = [s for s in samples if 0 < s["step"] <= 75]
    assert early and all(s["text"] == prompt for s in early)
    continuation = samples[-1]["text"][len(prompt):]
    late = tok.encode(continuation)
    whole, rest = continuation.split(".", 1)  # a whole new sentence, then more
    assert len(late) >= 15 and len(set(late)) >= 8 and len(whole.split()) >= 4 and rest.strip(), continuation
    known = set(re.findall(r"[A-Za-z]+", corpus_text(2_000, seed=7)))
    assert all(word in known for word in re.findall(r"[A-Za-z]+", continuation)), continuation


@pytest.mark.slow
def test_recording_script_reproduces_the_file() -> None:
    from course.chapter1_transformers.part1_transformer_from_scratch.assets.record_training import (
        RunConfig,
        record,
    )

    shipped = figures.recorded_run()
    assert shipped["config"] == {**RunConfig().__dict__, "sample_steps": list(RunConfig().sample_steps)}
    again = record(steps=RunConfig().eval_every, out=None)
    assert again["baselines"] == shipped["baselines"]
    for got, want in zip(again["history"][:2], shipped["history"][:2], strict=True):
        assert got["step"] == want["step"]
        assert got["val_loss"] == pytest.approx(want["val_loss"], abs=2e-3)


# ------------------------------------------------------------------ the quotes are in the lesson


def test_quoted_sentences_are_in_the_lesson() -> None:
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    quotes = [ast.get_docstring(f) for f in tree.body if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    quotes = [q for q in quotes if q]
    assert len(quotes) >= 5
    lesson = _norm(LESSON)
    for quote in quotes:
        assert _norm(quote) in lesson, quote
