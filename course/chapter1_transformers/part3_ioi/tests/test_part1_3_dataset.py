"""Part 1.3: the given IOIDataset builds what the lesson says (equal lengths, right positions, three versions)."""

from __future__ import annotations

import pytest
import torch as t

from course.chapter1_transformers.part3_ioi import solutions as ref
from course.chapter1_transformers.part3_ioi.toy import course_tokenizer
from course.chapter1_transformers.zoo import world


@pytest.fixture(scope="module")
def ioi() -> ref.IOIDataset:
    return ref.IOIDataset.make(course_tokenizer(), 24, seed=3)


def _token_at(ds: ref.IOIDataset, key: str) -> t.Tensor:
    return ds.toks[t.arange(len(ds)), ds.word_idx[key]]


def test_prompts_have_equal_lengths_and_start_with_bos(ioi):
    assert ioi.toks.shape == (24, 16)
    assert (ioi.toks[:, 0] == course_tokenizer().bos_token_id).all()
    assert (ioi.word_idx["end"] == ioi.toks.shape[1] - 1).all()


def test_positions_point_at_the_names(ioi):
    io, s = ioi.answer_tokens[:, 0], ioi.answer_tokens[:, 1]
    assert t.equal(_token_at(ioi, "IO"), io)
    assert t.equal(_token_at(ioi, "S1"), s)
    assert t.equal(_token_at(ioi, "S2"), s)
    assert (io != s).all()
    assert t.equal(ioi.word_idx["S1+1"], ioi.word_idx["S1"] + 1)
    assert (ioi.word_idx["S2"] > ioi.word_idx["S1"]).all() and (ioi.word_idx["S2"] > ioi.word_idx["IO"]).all()


def test_orders_alternate_and_both_templates_are_used(ioi):
    abba = ioi.word_idx["IO"] < ioi.word_idx["S1"]
    assert abba[::2].all() and not abba[1::2].any()
    assert len(ioi.groups()) == 2
    for group in ioi.groups():  # within a template, every word sits at the same position
        for key in ("IO", "S1", "S2", "end"):
            assert len(ioi.word_idx[key][group].unique()) <= 2  # ABBA and BABA swap IO and S1


def test_heldout_words_only(ioi):
    decoded = [ioi.tokenizer.decode([tok]).strip() for tok in ioi.answer_tokens.flatten().tolist()]
    assert set(decoded) <= set(world.HELDOUT_NAMES)
    for prompt in ioi.prompts:
        assert any(f" {place}," in prompt for place in world.HELDOUT_PLACES), prompt
        assert any(f" {obj} " in prompt for obj in world.HELDOUT_OBJECTS), prompt


def test_corrupted_replaces_s2_by_io_and_flips_the_answer(ioi):
    corrupted = ioi.corrupted()
    assert corrupted.toks.shape == ioi.toks.shape
    differs = (corrupted.toks != ioi.toks).nonzero()
    assert t.equal(differs[:, 1], ioi.word_idx["S2"])  # exactly one token changes per prompt: S2
    assert t.equal(corrupted.toks[t.arange(len(ioi)), ioi.word_idx["S2"]], ioi.answer_tokens[:, 0])
    assert t.equal(corrupted.answer_tokens, ioi.answer_tokens.flip(1))


def test_abc_has_three_distinct_fresh_names(ioi):
    abc = ioi.abc()
    rows = t.arange(len(ioi))
    names = t.stack([abc.toks[rows, ioi.word_idx[k]] for k in ("IO", "S1", "S2")], dim=1)
    assert all(len(set(row)) == 3 for row in names.tolist())
    same = abc.toks == ioi.toks
    for key in ("IO", "S1", "S2"):
        same[rows, ioi.word_idx[key]] = True
    assert same.all(), "ABC prompts differ from the clean ones only in the three names"


def test_unequal_lengths_are_refused():
    long_template = "Later, {A} and {B} sat down in the {place}, and {S} {verb} the {obj} {prep} {IO}."
    with pytest.raises(ValueError, match="different token lengths"):
        ref.IOIDataset.make(course_tokenizer(), 4, templates=[ref.TEMPLATES[0], long_template])


def test_training_words_option():
    ds = ref.IOIDataset.make(course_tokenizer(), 6, heldout=False, templates=ref.TEMPLATES[:1])
    decoded = {ds.tokenizer.decode([tok]).strip() for tok in ds.answer_tokens.flatten().tolist()}
    assert decoded <= set(world.train_ioi_names())
