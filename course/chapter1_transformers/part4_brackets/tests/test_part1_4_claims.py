"""Part 1.4: every claim the lesson makes about the shipped `brackets` model is tested on the shipped file.

Each test quotes the lesson sentence it backs (`test_quoted_sentences_are_in_the_lesson` keeps quotes and
lesson in step); where sensible an untrained model of the same config fails the claim (negative control)."""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

import pytest
import torch as t

from arena.zoo import entry
from course.chapter1_transformers.part4_brackets import analysis
from course.chapter1_transformers.part4_brackets import solutions as ref
from course.chapter1_transformers.part4_brackets.assets import analyse
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
    """The lesson's 2,000 analysis strings (the facts were measured on these)."""
    t.set_num_threads(1)
    return analysis.analysis_data()


@functools.lru_cache(maxsize=1)
def model():
    t.set_num_threads(1)
    return ref.load_brackets_model()


@functools.lru_cache(maxsize=1)
def facts() -> dict:
    return json.loads(analyse.FACTS.read_text(encoding="utf-8"))


def says(sentence: str) -> None:
    assert " ".join(sentence.split()) in LESSON, f"the lesson no longer says: {sentence!r}"


def quoted(test_fn) -> list[str]:
    return [" ".join(q.split()) for q in re.findall(r"“(.+?)”", test_fn.__doc__ or "", flags=re.S)]


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


@functools.lru_cache(maxsize=1)
def failure_table():
    return analysis.failure_table(model(), data())


@functools.lru_cache(maxsize=1)
def ablation():
    return analysis.ablation_at_start(model(), data())


def position_0_activations(name: str, hooks: list | None = None) -> t.Tensor:
    """One hook's activation at position 0, read with a plain hook (independent of the part's helpers)."""
    got = []
    with t.no_grad():
        model().run_with_hooks(data().toks, attention_mask=data().mask,
                               fwd_hooks=(hooks or []) + [(name, lambda x, hook: got.append(x[:, 0].clone()))])
    return got[0]


def least_squares_r2(x: t.Tensor, y: t.Tensor) -> float:
    """R^2 of the least-squares fit y ~ x W + b (torch lstsq with an explicit ones column, in float64)."""
    x, y = x.double(), y.double()
    design = t.cat([x, t.ones(len(x), 1, dtype=t.float64)], 1)
    resid = y - design @ t.linalg.lstsq(design, y).solution
    return 1 - float(resid.pow(2).sum() / (y - y.mean(0)).pow(2).sum())


def test_unembed_has_no_bias():
    """“(the unembedding has no bias in this model)”"""
    assert t.equal(model().b_U, t.zeros_like(model().b_U))


def test_model_answers_at_position_0():
    """The lesson: “The model classifies from **position 0**”. Read there it is right on every analysis string;
    read at the END token it is not a classifier (the training loss only ever saw position 0)."""
    with t.no_grad():
        logits = model()(data().toks, attention_mask=data().mask)
    assert bool((logits[:, 0].argmax(-1).bool() == data().isbal).all())
    end = (data().toks == 2).long().argmax(-1)
    at_end = logits[t.arange(len(data())), end].argmax(-1).bool()
    assert float((at_end == data().isbal).float().mean()) < 0.9


def test_ln_fit_is_good_at_position_0():
    """“on the inputs the model actually sees, the norm varies little, so a linear map with an intercept describes it well”"""
    # independent least squares from the raw hooks
    r2 = least_squares_r2(position_0_activations("ln_final.hook_in"), position_0_activations("ln_final.hook_out"))
    assert r2 == pytest.approx(facts()["ln_final_r2"], abs=2e-4) and r2 > 0.95
    says(f"On the 2,000 analysis strings the fit at position 0 has $R^2 = {facts()['ln_final_r2']}$")
    assert len(data()) == facts()["n_strings"] == 2000


def test_final_mlp_writes_most_of_the_score():
    """“On our model MLP 2, the last MLP, writes most of the score at position 0”"""
    spread = {k: round(v["std"], 2) for k, v in failure_table().items()}
    assert spread == facts()["spread"]
    order = sorted(spread, key=spread.get, reverse=True)
    assert order[:3] == ["mlp 2", "head 2.1", "mlp 1"]
    says(f"its spread is {spread['mlp 2']}, against {spread['head 2.1']} for head 2.1 and {spread['mlp 1']} for "
         "MLP 1, the next largest.")
    # negative control: on an untrained model the same measurement is not decisive
    control = analysis.failure_table(untrained(), data())
    assert control["mlp 2"]["total"] < failure_table()["mlp 2"]["total"]


def test_direct_attribution_names_head_1_0():
    """“By direct attribution, head 1.0 is the best detector of both failure classes”"""
    table = failure_table()
    assert analysis.detector_heads(model(), data()) == {"total": "head 1.0", "negative_only": "head 1.0"}
    sep = {k: {c: round(v[c], 1) for c in ("total", "negative_only")} for k, v in table.items()}
    assert sep == facts()["separation"]
    says(f"its scores on them sit {sep['head 1.0']['negative_only']} standard deviations (of its balanced scores) "
         f"above the balanced mean, against {sep['head 1.0']['total']} for total failures.")
    assert sep["head 2.1"]["negative_only"] < 0 and sorted(v["std"] for v in table.values())[-2] == table["head 2.1"]["std"]
    says(f"yet its direct score moves the *other* way: −{abs(sep['head 2.1']['negative_only'])} on negative failures.")


def test_ablation_detectors():
    """“Two heads stand out on our model, and neither is head 1.0”"""
    table = {k: {c: round(v[c], 3) for c in v} for k, v in ablation().items()}
    assert table == facts()["ablation_at_start"]
    h00, h21, h10 = table["head 0.0"], table["head 2.1"], table["head 1.0"]
    assert h00["total"] < 0.8 and h00["negative_only"] == 1.0  # 0.0: total failures only
    assert h21["negative_only"] < 0.8 and h21["total"] > 0.9   # 2.1: negative failures mostly
    assert min(h10.values()) > 0.98                             # 1.0: not needed
    says(f"the model is right on only {pct(h00['total'])} of the total failures, and still on "
         f"{pct(h00['negative_only'])} of the negative-only failures.")
    says(f"the model is right on {pct(h21['negative_only'])} of the negative-only failures (and {pct(h21['total'])} "
         "of the total failures).")
    says(f"ablating it at position 0 leaves at least {pct(min(h10.values()))} of every class right.")
    # the worst class of every other head stays above 94 % except head 0.1 (balanced strings), which the lesson
    # does not name as a detector
    for head, row in table.items():
        if head not in ("head 0.0", "head 2.1", "head 0.1"):
            assert min(row.values()) > 0.98, head


def test_reading_direction_does_not_matter_for_the_classes():
    """“that split is the same from either end. Our model, as section 3️⃣ shows, has no preferred end.”"""
    toks = data().toks
    step = (toks == 3).long() - (toks == 4).long()
    ltr_dip = step.cumsum(-1).min(-1).values < 0
    total, rtl_dip = ref.is_balanced_vectorized_return_both(toks)
    assert t.equal(ltr_dip & ~total, rtl_dip & ~total)
    assert not t.equal(ltr_dip, rtl_dip)  # but with unequal counts the directions differ


def test_head_0_0_is_the_whole_string_open_proportion_head():
    """“Our model does **not** read one side.” and “head 0.0 is an open-proportion head for the whole string, at position 0”"""
    f = facts()
    sides = {k: round(v, 2) for k, v in analysis.attention_to_side(model(), 0, 0, data()).items()}
    assert sides == f["sides_0_0"] and sides["left"] > 0.4 and sides["right"] > 0.4
    side_r2 = round(max(analysis.proportion_heads(model(), data()).values()), 2)
    assert side_r2 == f["side_proportion_r2_max"] and side_r2 < 0.5
    says(f"head 0.0 splits its attention between the left ({sides['left']}) and the right ({sides['right']}), and no "
         f"layer-0 head's output gives the share of `(` on one side ($R^2 \\le$ {side_r2}).")
    # attention from position 0, read from the raw pattern hook
    pattern = position_0_activations("blocks.0.attn.hook_pattern")[:, 0]  # (batch, key) for head 0.0
    brackets = (data().toks == 3) | (data().toks == 4)
    rel = (pattern * data().mask.sum(-1, keepdim=True))[brackets]
    q05, q95 = round(float(rel.quantile(0.05)), 2), round(float(rel.quantile(0.95)), 2)
    to_open = round(float((pattern * (data().toks == 3)).sum(-1).mean()), 2)
    to_close = round(float((pattern * (data().toks == 4)).sum(-1).mean()), 2)
    assert (q05, q95, to_open, to_close) == tuple(f["start_attention_0_0"][k] for k in ("q05", "q95", "to_open", "to_close"))
    assert 0.75 < q05 and q95 < 1.25
    says(f"(90 % of the brackets get between {q05} and {q95} times the uniform share $1/n$), {to_open} of its "
         f"attention on `(` and {to_close} on `)` on average")
    # the share of "(" read off head 0.0's output at position 0 (z @ W_O from the raw hook)
    z = position_0_activations("blocks.0.attn.hook_z")[:, 0]
    out = z @ model().W_O[0, 0].detach()
    share = ((data().toks == 3).sum(-1) / brackets.sum(-1))[:, None]
    r2 = round(least_squares_r2(out, share), 3)
    fits = {k: round(v, 3) for k, v in analysis.open_share_fit_at_start(model(), data()).items()}
    assert r2 == pytest.approx(fits["head 0.0"], abs=2e-3) and fits == f["open_share_r2"]
    assert max(fits, key=fits.get) == "head 0.0" and r2 > 0.9
    says(f"the share of `(` in the string can be read off its output at position 0 with $R^2 = {fits['head 0.0']}$")
    # negative control: an untrained head 0.0 is no such reader
    assert analysis.open_share_fit_at_start(untrained(), data())["head 0.0"] < r2


def test_mlp2_neurons_are_key_value_features():
    """“Read them as key–value pairs”"""
    f = facts()
    top = analysis.top_neurons(model(), data(), layer=2, seq=0)
    assert top["neurons"] == f["mlp2_top"] == [51, 20, 36, 53, 32]
    assert round(top["share_of_variance"], 3) == f["mlp2_top_share"]
    says(f"the top five neurons of MLP 2 are 51, 20, 36, 53 and 32, and together they carry "
         f"{pct(f['mlp2_top_share'])} of MLP 2's variance along the unbalanced direction at position 0.")
    post = position_0_activations("blocks.2.mlp.hook_post")
    on = post > 0
    bal = data().isbal
    n51 = (float(on[bal, 51].float().mean()), float(on[~bal, 51].float().mean()))
    n20 = (float(on[bal, 20].float().mean()), float(on[~bal, 20].float().mean()))
    assert (round(n51[0], 3), round(n51[1], 3)) == (f["neuron_51"]["balanced"], f["neuron_51"]["unbalanced"])
    assert (round(n20[0], 3), round(n20[1], 3)) == (f["neuron_20"]["balanced"], f["neuron_20"]["unbalanced"])
    says(f"Its key fires at position 0 on {pct(n51[0])} of the balanced strings and on {pct(n51[1])} of the "
         "unbalanced ones.")
    says(f"it fires on {pct(n20[1])} of the unbalanced strings and on none of the balanced ones.")
    assert n20[0] == 0.0
    direction = ref.get_pre_final_ln_dir(model(), data()).detach()
    w = model().W_out[2, 51].detach()
    cos = float(w @ direction / (w.norm() * direction.norm()))
    assert round(cos, 2) == f["neuron_51_cos"] < 0
    ratio = round(cos ** 2 * 56, 1)
    assert ratio == f["neuron_51_sq_cos_over_baseline"] > 2
    says(f"cosine −{abs(f['neuron_51_cos'])}, a squared cosine {ratio} times the random baseline $1/56$.")


def test_head_2_1_switches_neuron_51_off():
    """“Head 2.1 works by switching neuron 51 off.”"""
    hook = analysis.mean_ablation_hook(data(), 2, 1, "0")
    post = position_0_activations("blocks.2.mlp.hook_post", [hook])
    neg = analysis.failure_classes(data())["negative_only"]
    share = float((post[neg, 51] > 0).float().mean())
    assert round(share, 3) == facts()["neuron_51_with_2_1_ablated"]["negative_only"] and share > 0.2
    says(f"neuron 51 fires on {pct(share)} of the negative-only failures, which the model then calls balanced.")


def test_quoted_sentences_are_in_the_lesson():
    module = sys.modules[__name__]
    tests = [getattr(module, n) for n in dir(module) if n.startswith("test_") and n != "test_quoted_sentences_are_in_the_lesson"]
    quotes = [q for fn in tests for q in quoted(fn)]
    assert quotes
    for q in quotes:
        assert q in LESSON, f"the lesson no longer says: {q!r}"
