"""The analysis behind every claim the lesson makes about the shipped `brackets` model.

Each function measures one thing on the model and returns plain numbers; the lesson's sentences name
what these functions find, and tests/test_part1_4_claims.py asserts each sentence against them (and an
untrained model of the same config as a negative control). Nothing here is an exercise."""

from __future__ import annotations

import functools

import torch as t
from jaxtyping import Bool, Float
from torch import Tensor

from . import solutions as sol
from .data import CLOSE, OPEN, BracketsDataset

N_ANALYSIS = 2000
ANALYSIS_SEED = 99


@functools.lru_cache(maxsize=2)
def analysis_data(n: int = N_ANALYSIS, seed: int = ANALYSIS_SEED) -> BracketsDataset:
    return BracketsDataset.generate(n, seed)


def failure_classes(data: BracketsDataset) -> dict[str, Bool[Tensor, "batch"]]:
    """balanced / total elevation failure (right-to-left total != 0) / negative failure only (total = 0)."""
    total, negative = sol.is_balanced_vectorized_return_both(data.toks)
    return {"balanced": ~total & ~negative, "total": total, "negative_only": negative & ~total}


def component_scores(model, data: BracketsDataset) -> Float[Tensor, "component batch"]:
    out = sol.get_out_by_components(model, data)
    return sol.get_unbalanced_scores(out, sol.get_pre_final_ln_dir(model, data), data.isbal).detach()


def separation(scores: Float[Tensor, "batch"], positive: Tensor, negative: Tensor) -> float:
    """How far (in standard deviations of the balanced strings) the mean of `positive` sits above `negative`."""
    scores = scores.detach()
    spread = scores[negative].std().clamp_min(1e-6)
    return float((scores[positive].mean() - scores[negative].mean()) / spread)


def failure_table(model, data: BracketsDataset | None = None) -> dict[str, dict[str, float]]:
    """For each component: how strongly its unbalanced score separates each failure class from balanced."""
    data = analysis_data() if data is None else data
    scores = component_scores(model, data)
    classes = failure_classes(data)
    table = {}
    for label, row in zip(sol.COMPONENT_LABELS, scores, strict=True):
        table[label] = {
            "total": separation(row, classes["total"], classes["balanced"]),
            "negative_only": separation(row, classes["negative_only"], classes["balanced"]),
            "std": float(row.detach().std()),
        }
    return table


def detector_heads(model, data: BracketsDataset | None = None) -> dict[str, str]:
    """The head whose output best separates each failure class from balanced strings."""
    table = failure_table(model, data)
    heads = [k for k in table if k.startswith("head")]
    return {cls: max(heads, key=lambda h: table[h][cls]) for cls in ("total", "negative_only")}


def open_proportion(data: BracketsDataset, side: str) -> Float[Tensor, "batch seq"]:
    """At each position i, the fraction of '(' among the brackets at positions >= i ("right") or <= i ("left");
    NaN where there is no bracket on that side."""
    is_open, is_bracket = (data.toks == OPEN).float(), ((data.toks == OPEN) | (data.toks == CLOSE)).float()
    if side == "right":
        opens, brackets = is_open.flip(-1).cumsum(-1).flip(-1), is_bracket.flip(-1).cumsum(-1).flip(-1)
    else:
        opens, brackets = is_open.cumsum(-1), is_bracket.cumsum(-1)
    return opens / brackets.where(brackets > 0, t.tensor(float("nan")))


def head_outputs(model, data: BracketsDataset, layer: int) -> Float[Tensor, "head batch seq d_model"]:
    z = sol.get_activations(model, data, f"blocks.{layer}.attn.hook_z")
    return t.einsum("bshd,hdm->hbsm", z, model.W_O[layer].detach())


def proportion_fit(model, layer: int, head: int, side: str, data: BracketsDataset | None = None) -> float:
    """R^2 of reading the open proportion (at every bracket position) linearly off the head's output there."""
    data = analysis_data() if data is None else data
    out = head_outputs(model, data, layer)[head]
    prop = open_proportion(data, side)
    keep = ((data.toks == OPEN) | (data.toks == CLOSE)) & ~prop.isnan()
    fit = sol.fit_linear(out[keep], prop[keep][:, None], intercept=True)
    return fit.r2


def proportion_heads(model, data: BracketsDataset | None = None) -> dict[str, float]:
    """R^2 of proportion_fit for every head of layer 0 and each side."""
    return {f"{layer}.{head} {side}": proportion_fit(model, layer, head, side, data)
            for layer in (0,) for head in range(model.cfg.n_heads) for side in ("left", "right")}


def attention_to_side(model, layer: int, head: int, data: BracketsDataset | None = None) -> dict[str, float]:
    """Mean attention from each bracket position to keys on its left (< i), itself, and its right (> i);
    and how uniform the attention to the right is (1 = exactly uniform over the keys > i... END included)."""
    data = analysis_data() if data is None else data
    pattern = sol.get_attn_probs(model, data, layer, head)
    n = pattern.shape[-1]
    q, k = t.arange(n)[:, None], t.arange(n)[None]
    queries = ((data.toks == OPEN) | (data.toks == CLOSE))
    sides = {"left": (k < q), "self": (k == q), "right": (k > q)}
    return {name: float((pattern * m).sum(-1)[queries].mean()) for name, m in sides.items()}


def neuron_alignment(model, data: BracketsDataset, layer: int, direction: Tensor, top: int = 5) -> list[tuple[int, float]]:
    """The neurons of MLP `layer` whose output (summed over strings, at position 1) moves most along direction."""
    out = sol.get_out_by_neuron_in_dir(model, data, direction, layer)[:, 1]
    spread = out.std(0)
    order = spread.argsort(descending=True)[:top]
    return [(int(i), float(spread[i])) for i in order]


def class_accuracy(model, data: BracketsDataset, hooks: list | None = None) -> dict[str, float]:
    """Accuracy per failure class (balanced / total / negative_only), optionally with forward hooks."""
    with t.no_grad():
        logits = model.run_with_hooks(data.toks, attention_mask=data.mask, fwd_hooks=hooks or [])[:, 0]
    right = logits.argmax(-1).bool() == data.isbal
    return {name: float(right[mask].float().mean()) for name, mask in failure_classes(data).items()}


def mean_ablation_hook(data: BracketsDataset, layer: int, head: int, positions: str = "all"):
    """A hook on blocks.{layer}.attn.hook_z replacing one head's z by its mean over the balanced strings
    (per position), at every position or only at position 0."""
    def hook(z, hook):
        balanced = data.isbal
        mean = z[balanced, :, head].mean(0, keepdim=True)
        z = z.clone()
        if positions == "all":
            z[:, :, head] = mean
        else:
            z[:, 0, head] = mean[:, 0]
        return z
    return (f"blocks.{layer}.attn.hook_z", hook)


def ablation_table(model, data: BracketsDataset | None = None) -> dict[str, dict[str, float]]:
    """Accuracy per failure class with each head mean-ablated (all positions), and with none ("none")."""
    data = analysis_data() if data is None else data
    table = {"none": class_accuracy(model, data)}
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            table[f"head {layer}.{head}"] = class_accuracy(model, data, [mean_ablation_hook(data, layer, head)])
    return table


def top_neurons(model, data: BracketsDataset | None = None, layer: int = 2, seq: int = 0,
                top: int = 5) -> dict[str, object]:
    """The neurons of MLP `layer` whose output at position `seq`, projected on the unbalanced direction,
    varies most across strings; and the share of the MLP's variance (there) that these neurons carry."""
    data = analysis_data() if data is None else data
    direction = sol.get_pre_final_ln_dir(model, data)
    per_neuron = sol.get_out_by_neuron_in_dir(model, data, direction, layer)[:, seq].detach()
    spread = per_neuron.std(0)
    order = spread.argsort(descending=True)
    chosen = per_neuron[:, order[:top]].sum(-1)
    total = per_neuron.sum(-1)
    r2 = 1 - float((total - chosen - (total - chosen).mean()).pow(2).mean() / (total - total.mean()).pow(2).mean())
    return {"neurons": [int(i) for i in order[:top]], "spread": [float(spread[i]) for i in order[:top]],
            "share_of_variance": r2, "n_active": int((spread > 0.05 * spread.max()).sum())}


# ------------------------------------------------------------------ what the lesson's findings rest on


def open_share(data: BracketsDataset) -> Float[Tensor, "batch"]:
    """The share of '(' among all the brackets of each string (0.5 exactly when the counts are equal)."""
    opens = (data.toks == OPEN).sum(-1).float()
    return opens / ((data.toks == OPEN) | (data.toks == CLOSE)).sum(-1).float()


def open_share_fit_at_start(model, data: BracketsDataset | None = None) -> dict[str, float]:
    """R^2 of reading the string's share of '(' linearly off each head's output at position 0."""
    data = analysis_data() if data is None else data
    share = open_share(data)[:, None]
    return {f"head {layer}.{head}": sol.fit_linear(head_outputs(model, data, layer)[head][:, 0], share).r2
            for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)}


def start_attention_to_brackets(model, layer: int, head: int, data: BracketsDataset | None = None
                                ) -> dict[str, float]:
    """How evenly the head attends from position 0 over the string: each bracket's attention times the
    number of real tokens (1 = exactly uniform), its 5th and 95th percentiles, and the total attention on
    '(' and on ')'."""
    data = analysis_data() if data is None else data
    pattern = sol.get_attn_probs(model, data, layer, head)[:, 0]
    brackets = (data.toks == OPEN) | (data.toks == CLOSE)
    relative = (pattern * data.mask.sum(-1, keepdim=True))[brackets]
    return {"q05": float(relative.quantile(0.05)), "q95": float(relative.quantile(0.95)),
            "to_open": float((pattern * (data.toks == OPEN)).sum(-1).mean()),
            "to_close": float((pattern * (data.toks == CLOSE)).sum(-1).mean())}


def ablation_at_start(model, data: BracketsDataset | None = None) -> dict[str, dict[str, float]]:
    """Accuracy per failure class with each head's z mean-ablated (over balanced strings) at position 0 only."""
    data = analysis_data() if data is None else data
    return {f"head {layer}.{head}": class_accuracy(model, data, [mean_ablation_hook(data, layer, head, "0")])
            for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)}


def neuron_firing(model, data: BracketsDataset, layer: int, neuron: int, hooks: list | None = None
                  ) -> dict[str, float]:
    """The share of strings of each failure class on which one MLP neuron is active (> 0) at position 0."""
    acts = []

    def grab(post, hook):
        acts.append(post[:, 0, neuron].detach().clone())

    with t.no_grad():
        model.run_with_hooks(data.toks, attention_mask=data.mask,
                             fwd_hooks=(hooks or []) + [(f"blocks.{layer}.mlp.hook_post", grab)])
    on = acts[0] > 0
    classes = failure_classes(data)
    return {"balanced": float(on[classes["balanced"]].float().mean()),
            "unbalanced": float(on[~classes["balanced"]].float().mean()),
            "negative_only": float(on[classes["negative_only"]].float().mean())}
