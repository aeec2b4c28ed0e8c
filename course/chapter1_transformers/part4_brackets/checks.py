"""Checks for part 1.4: each check_<name> takes the learner's function and raises CheckFailure."""

from __future__ import annotations

import functools

import torch as t

from arena.checking import CheckFailure, expect_close, expect_equal, expect_shape, expect_type, time_limit

from . import solutions as ref
from .data import BracketsDataset, SimpleTokenizer

# Strings where the usual mistakes give the wrong answer: a dip below zero with the right total
# (")(", "())(()"), totals that are off, the empty string, and long ones.
EDGE_CASES = ["", "()", ")(", "((", "))", "(()", "())", "())(()", "(())()", "((()))", "()()()", "(()))(",
              "((())", "(((", ")))", "(()()(()))", "())(" * 5, "(" * 20 + ")" * 20, "()" * 20]


@functools.lru_cache(maxsize=1)
def _data() -> BracketsDataset:
    """A small fixed sample from the part's generator, plus the edge cases."""
    sample = BracketsDataset.generate(100, seed=2024)
    return BracketsDataset(EDGE_CASES + sample.strs)


def _model():
    return ref.load_brackets_model()


def _toks(s: str) -> t.Tensor:
    return SimpleTokenizer().tokenize(s)[0]


# ------------------------------------------------------------------ 1️⃣


def check_is_balanced_forloop(is_balanced_forloop) -> str:
    for s in EDGE_CASES + _data().strs[len(EDGE_CASES):80]:
        want = ref.is_balanced_forloop(s)
        got = is_balanced_forloop(s)
        if got != want:
            hint = (" The number of '(' and ')' is equal, but the depth goes below zero on the way: check it "
                    "after every character, not only at the end.") if s.count("(") == s.count(")") else ""
            raise CheckFailure(f"is_balanced_forloop({s!r}) should be {want}, got {got}.{hint}")
    return f"{len(EDGE_CASES)} edge cases and 60 generated strings"


def check_is_balanced_vectorized(is_balanced_vectorized) -> str:
    for s in EDGE_CASES + _data().strs[len(EDGE_CASES):80]:
        want = ref.is_balanced_forloop(s)
        for toks, form in ((_toks(s), "with START/END"), (SimpleTokenizer().tokenize(s, max_len=40)[0], "padded"),
                           (_toks(s)[1:-1], "brackets only")):
            if len(toks) == 0:
                continue
            got = is_balanced_vectorized(toks)
            if bool(got) != want:
                hint = ""
                if form != "brackets only" and s and is_balanced_vectorized(_toks(s)[1:-1]) == want:
                    hint = (" It is right without the special tokens: START (0), PAD (1) and END (2) must "
                            "count as 0, not as a bracket.")
                elif s.count("(") == s.count(")"):
                    hint = " The counts are equal but the depth dips below zero: look at the running sum."
                raise CheckFailure(f"is_balanced_vectorized on {s!r} ({form}: {toks.tolist()}) should be "
                                   f"{want}, got {bool(got)}.{hint}")
    return "edge cases, with and without START/END/PAD"


# ------------------------------------------------------------------ 2️⃣


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_post_final_ln_dir(get_post_final_ln_dir) -> str:
    model = _model()
    got = get_post_final_ln_dir(model)
    want = ref.get_post_final_ln_dir(model)
    if isinstance(got, t.Tensor) and got.shape == want.shape and t.allclose(got, -want, atol=1e-5):
        raise CheckFailure("get_post_final_ln_dir points the wrong way: it should raise logit 0 (unbalanced) "
                           "minus logit 1 (balanced), i.e. W_U[:, 0] - W_U[:, 1].")
    expect_close(got, want, "get_post_final_ln_dir(model)", atol=1e-5)
    return "W_U[:, 0] - W_U[:, 1]"


def _check_fit(got, want: ref.LinearFit, what: str) -> None:
    for field in ("weight", "bias", "r2"):
        if not hasattr(got, field):
            raise CheckFailure(f"{what} should return a LinearFit (weight, bias, r2); got {type(got).__name__}")
    if abs(float(got.r2) - want.r2) > 1e-3 or not t.allclose(got.bias, want.bias, atol=1e-3, rtol=1e-3):
        hint = ""
        if t.allclose(got.bias, t.zeros_like(got.bias)) and not t.allclose(want.bias, t.zeros_like(want.bias)):
            hint = " The bias is zero: the fit needs an intercept (a column of ones, or fit_intercept)."
        elif want.r2 - float(got.r2) > 1e-3:
            hint = (" Your fit explains less: is it fitted from the LN's input (hook_in) to its output "
                    "(hook_out, after the LN's weight and bias), at the right positions?")
        raise CheckFailure(f"{what}: expected r2 = {want.r2:.4f} and bias[:3] = {want.bias[:3].tolist()}, got "
                           f"r2 = {float(got.r2):.4f} and bias[:3] = {got.bias[:3].tolist()}.{hint}")
    expect_close(got.weight, want.weight, f"{what}.weight", atol=2e-3, rtol=1e-2)


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_ln_fit(get_ln_fit) -> str:
    model, data = _model(), _data()
    for layernorm, seq_pos in (("ln_final", 0), ("blocks.1.ln2", None)):
        what = f"get_ln_fit(model, data, {layernorm!r}, seq_pos={seq_pos})"
        got = get_ln_fit(model, data, layernorm, seq_pos=seq_pos)
        _check_fit(got, ref.get_ln_fit(model, data, layernorm, seq_pos=seq_pos), what)
    return "ln_final at position 0, blocks.1.ln2 on all real positions"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_pre_final_ln_dir(get_pre_final_ln_dir) -> str:
    model, data = _model(), _data()
    got = get_pre_final_ln_dir(model, data)
    want = ref.get_pre_final_ln_dir(model, data)
    expect_close(got, want, "get_pre_final_ln_dir(model, data)", atol=2e-3, rtol=1e-2)
    return "L^T times the post-LN unbalanced direction"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_out_by_components(get_out_by_components) -> str:
    model, data = _model(), _data()
    got = get_out_by_components(model, data)
    want = ref.get_out_by_components(model, data)
    expect_type(got, t.Tensor, "get_out_by_components(model, data)")
    expect_shape(got, tuple(want.shape), "get_out_by_components(model, data)")
    for i, label in enumerate(ref.COMPONENT_LABELS):
        if not t.allclose(got[i], want[i], atol=1e-4, rtol=1e-3):
            match = [ref.COMPONENT_LABELS[j] for j in range(len(want)) if t.allclose(got[i], want[j], atol=1e-4)]
            also = f" It holds what {match[0]} writes: check the order of the components." if match else ""
            raise CheckFailure(f"get_out_by_components(model, data)[{i}] should be what {label} writes into the "
                               f"residual stream.{also} The order is {', '.join(ref.COMPONENT_LABELS)}.")
    return "ten components, in order, summing to the final residual stream"


def check_get_unbalanced_scores(get_unbalanced_scores) -> str:
    g = t.Generator().manual_seed(0)
    out = t.randn(10, 12, 5, 8, generator=g)
    direction = t.randn(8, generator=g)
    isbal = t.tensor([True, False] * 3 + [True] * 4 + [False] * 2)
    got = get_unbalanced_scores(out, direction, isbal)
    want = ref.get_unbalanced_scores(out, direction, isbal)
    if isinstance(got, t.Tensor) and got.shape == want.shape:
        if t.allclose(got[:, isbal].mean(-1), t.zeros(10), atol=1e-5) is False and t.allclose(
                got.mean(-1), t.zeros(10), atol=1e-5):
            raise CheckFailure("get_unbalanced_scores: your scores average to 0 over *all* strings; subtract the "
                               "mean over the balanced strings only (isbal), so 0 means 'as on a balanced string'.")
    expect_close(got, want, "get_unbalanced_scores(out_by_components, pre_final_ln_dir, isbal)", atol=1e-4)
    return "projection at position 0, centred on the balanced strings"


def check_is_balanced_vectorized_return_both(is_balanced_vectorized_return_both) -> str:
    data = _data()
    got = is_balanced_vectorized_return_both(data.toks)
    want = ref.is_balanced_vectorized_return_both(data.toks)
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailure("is_balanced_vectorized_return_both should return a tuple of two bool tensors "
                           "(total elevation failure, negative failure)")
    names = ("total elevation failure", "negative failure")
    for k in range(2):
        expect_type(got[k], t.Tensor, f"is_balanced_vectorized_return_both(toks)[{k}]")
        expect_shape(got[k], tuple(want[k].shape), f"is_balanced_vectorized_return_both(toks)[{k}]")
        bad = (got[k].bool() != want[k]).nonzero().flatten()
        if len(bad):
            i = int(bad[0])
            s = data.strs[i]
            hint = ""
            if k == 1 and s.count("(") != s.count(")"):
                hint = (" Read from the right, as this exercise asks: going right to left a ')' is +1 and a '(' "
                        "is -1, so the negative failure asks whether some *suffix* has more '(' than ')'.")
            elif k == 0:
                hint = " Are START/END/PAD counted as 0, and is the elevation read over the whole string?"
            raise CheckFailure(f"{names[k]} for {s!r} should be {bool(want[k][i])}, got {bool(got[k][i])}.{hint}")
    return f"{len(data)} strings, padded"


# ------------------------------------------------------------------ 3️⃣


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_attn_probs(get_attn_probs) -> str:
    model, data = _model(), _data()
    for layer, head in ((0, 1), (2, 0)):
        got = get_attn_probs(model, data, layer, head)
        expect_close(got, ref.get_attn_probs(model, data, layer, head),
                     f"get_attn_probs(model, data, {layer}, {head})", atol=1e-5)
    return "padded keys get no attention"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_WOV(get_WOV) -> str:
    model = _model()
    for layer, head in ((0, 0), (2, 1)):
        got = get_WOV(model, layer, head)
        want = ref.get_WOV(model, layer, head)
        if isinstance(got, t.Tensor) and got.shape == want.shape and t.allclose(
                got, model.W_O[layer, head].T @ model.W_V[layer, head].T, atol=1e-5):
            raise CheckFailure(f"get_WOV(model, {layer}, {head}) is transposed: with row vectors, x @ W_V @ W_O.")
        expect_close(got, want, f"get_WOV(model, {layer}, {head})", atol=1e-5)
    return "W_V @ W_O"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_pre_head_dir(get_pre_head_dir) -> str:
    model, data = _model(), _data()
    got = get_pre_head_dir(model, data, 2, 0, 1)
    expect_close(got, ref.get_pre_head_dir(model, data, 2, 0, 1), "get_pre_head_dir(model, data, 2, 0, 1)",
                 atol=2e-3, rtol=1e-2)
    return "through W_OV and the ln1 fit"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_out_by_neuron(get_out_by_neuron) -> str:
    model, data = _model(), _data()[:40]
    for seq in (None, 1):
        got = get_out_by_neuron(model, data, 1, seq) if seq is not None else get_out_by_neuron(model, data, 1)
        expect_close(got, ref.get_out_by_neuron(model, data, 1, seq), f"get_out_by_neuron(model, data, 1, {seq})",
                     atol=1e-4)
    return "all positions and one position"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_out_by_neuron_in_dir(get_out_by_neuron_in_dir) -> str:
    model, data = _model(), _data()
    direction = ref.get_pre_final_ln_dir(model, data)
    got = get_out_by_neuron_in_dir(model, data, direction, 1)
    expect_close(got, ref.get_out_by_neuron_in_dir(model, data, direction, 1),
                 "get_out_by_neuron_in_dir(model, data, pre_final_ln_dir, 1)", atol=1e-4, rtol=1e-3)
    return "matches get_out_by_neuron @ direction"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_get_q_and_k_for_given_input(get_q_and_k_for_given_input) -> str:
    model = _model()
    for s, layer, head in (("(()", 0, 0), ("())(()", 1, 1)):
        got = get_q_and_k_for_given_input(model, s, layer, head)
        want = ref.get_q_and_k_for_given_input(model, s, layer, head)
        for k, name in enumerate(("q", "k")):
            expect_close(got[k], want[k], f"{name} of get_q_and_k_for_given_input(model, {s!r}, {layer}, {head})",
                         atol=1e-4)
    return "two strings, two heads"


@time_limit(60)  # the first check to run loads the model (TransformerLens import + boot)
def check_cos_sim_with_MLP_weights(cos_sim_with_MLP_weights) -> str:
    model = _model()
    v = t.randn(model.cfg.d_model, generator=t.Generator().manual_seed(1))
    got = cos_sim_with_MLP_weights(model, v, 1)
    expect_close(got, ref.cos_sim_with_MLP_weights(model, v, 1), "cos_sim_with_MLP_weights(model, v, 1)", atol=1e-5)
    return "cosine with the rows of W_out[1]"


def check_avg_squared_cos_sim(avg_squared_cos_sim) -> str:
    for d in (4, 56):
        v = t.randn(d, generator=t.Generator().manual_seed(d))
        got = float(avg_squared_cos_sim(v, n_samples=20000))
        if abs(got - 1 / d) > 0.15 / d:
            raise CheckFailure(f"avg_squared_cos_sim for a vector in {d} dimensions should be close to 1/{d} = "
                               f"{1 / d:.4f}; got {got:.4f}. Are the cosines squared, and normalised by both norms?")
    expect_equal(isinstance(got, float), True, "avg_squared_cos_sim returns a float")
    return "about 1/d in 4 and 56 dimensions"
