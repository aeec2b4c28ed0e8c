"""Known-wrong and known-right implementations for part 1.4: the tests prove the checks tell them apart."""

from __future__ import annotations

import einops
import torch as t

from arena.checking import right, wrong

from . import solutions as ref
from .solutions import fit_linear, get_activations

# ------------------------------------------------------------------ 1️⃣ the algorithm by hand


@wrong("is_balanced_forloop", "counts the brackets but never checks that the running depth stays >= 0")
def is_balanced_forloop_counts_only(parens):
    return parens.count("(") == parens.count(")")


@right("is_balanced_forloop", "a stack of open brackets")
def is_balanced_forloop_stack(parens):
    stack = []
    for char in parens:
        if char == "(":
            stack.append(char)
        elif not stack:
            return False
        else:
            stack.pop()
    return not stack


@wrong("is_balanced_vectorized", "counts the brackets but never checks that the running depth stays >= 0")
def is_balanced_vectorized_counts_only(tokens):
    return bool((tokens == 3).sum() == (tokens == 4).sum())


@wrong("is_balanced_vectorized", "forgets START/END/PAD: every token that is not '(' counts as ')'")
def is_balanced_vectorized_forgets_special(tokens):
    depth = t.cumsum(t.where(tokens == 3, 1, -1), dim=0)
    return bool(depth[-1] == 0) and bool((depth >= 0).all())


@right("is_balanced_vectorized", "masks instead of a look-up table")
def is_balanced_vectorized_masks(tokens):
    depth = ((tokens == 3).long() - (tokens == 4).long()).cumsum(0)
    return bool(depth[-1] == 0 and depth.min() >= 0)


# ------------------------------------------------------------------ 2️⃣ backwards from the logits


@wrong("get_post_final_ln_dir", "balanced minus unbalanced: the direction points the wrong way")
def get_post_final_ln_dir_flipped(model):
    return model.W_U[:, 1] - model.W_U[:, 0]


@wrong("get_ln_fit", "fits without an intercept")
def get_ln_fit_no_intercept(model, data, layernorm, seq_pos=None):
    cache = get_activations(model, data, [f"{layernorm}.hook_in", f"{layernorm}.hook_out"])
    x, y = cache[f"{layernorm}.hook_in"], cache[f"{layernorm}.hook_out"]
    x, y = (x[data.mask.bool()], y[data.mask.bool()]) if seq_pos is None else (x[:, seq_pos], y[:, seq_pos])
    return fit_linear(x, y, intercept=False)


@wrong("get_ln_fit", "fits to hook_normalized, the output before the LN's own weight and bias")
def get_ln_fit_wrong_hook(model, data, layernorm, seq_pos=None):
    cache = get_activations(model, data, [f"{layernorm}.hook_in", f"{layernorm}.hook_normalized"])
    x, y = cache[f"{layernorm}.hook_in"], cache[f"{layernorm}.hook_normalized"]
    x, y = (x[data.mask.bool()], y[data.mask.bool()]) if seq_pos is None else (x[:, seq_pos], y[:, seq_pos])
    return fit_linear(x, y, intercept=True)


@wrong("get_ln_fit", "fits on every position, padding included, whatever seq_pos says")
def get_ln_fit_all_positions(model, data, layernorm, seq_pos=None):
    cache = get_activations(model, data, [f"{layernorm}.hook_in", f"{layernorm}.hook_out"])
    x, y = cache[f"{layernorm}.hook_in"], cache[f"{layernorm}.hook_out"]
    return fit_linear(x.flatten(0, 1), y.flatten(0, 1), intercept=True)


@wrong("get_pre_final_ln_dir", "multiplies by the fit's weight instead of its transpose")
def get_pre_final_ln_dir_untransposed(model, data):
    return ref.get_ln_fit(model, data, "ln_final", seq_pos=0).weight @ ref.get_post_final_ln_dir(model)


@wrong("get_out_by_components", "stacks all heads first, then all MLPs (not in the order they run)")
def get_out_by_components_heads_first(model, data):
    out = ref.get_out_by_components(model, data)
    return out[[0, 1, 2, 4, 5, 7, 8, 3, 6, 9]]


@wrong("get_out_by_components", "puts each MLP before the attention heads of its layer")
def get_out_by_components_mlp_first(model, data):
    out = ref.get_out_by_components(model, data)
    return out[[0, 3, 1, 2, 6, 4, 5, 9, 7, 8]]


@right("get_out_by_components", "from cache.decompose_resid and cache.stack_head_results")
def get_out_by_components_from_cache(model, data):
    cache = get_activations(model, data, [n for n in model.hook_dict if n.endswith(("hook_z", "hook_mlp_out",
                                                                                    "hook_embed", "hook_pos_embed"))])
    parts = [cache["hook_embed"] + cache["hook_pos_embed"]]
    for layer in range(model.cfg.n_layers):
        z = cache[f"blocks.{layer}.attn.hook_z"]
        for head in range(model.cfg.n_heads):
            parts.append(z[:, :, head] @ model.W_O[layer, head] + model.b_O[layer] / model.cfg.n_heads)
        parts.append(cache[f"blocks.{layer}.hook_mlp_out"])
    return t.stack(parts).detach()


@wrong("get_unbalanced_scores", "mean-centres on all strings instead of the balanced ones")
def get_unbalanced_scores_all_strings(out_by_components, pre_final_ln_dir, isbal):
    scores = out_by_components[:, :, 0] @ pre_final_ln_dir
    return scores - scores.mean(-1, keepdim=True)


@wrong("get_unbalanced_scores", "reads the last position instead of position 0")
def get_unbalanced_scores_last_position(out_by_components, pre_final_ln_dir, isbal):
    scores = out_by_components[:, :, -1] @ pre_final_ln_dir
    return scores - scores[:, isbal].mean(-1, keepdim=True)


@wrong("is_balanced_vectorized_return_both", "reads the string from the wrong end (left to right)")
def return_both_left_to_right(toks):
    step = t.tensor([0, 0, 0, 1, -1])[toks]
    elevation = t.cumsum(step, dim=-1)
    return elevation[:, -1] != 0, elevation.min(-1).values < 0


@wrong("is_balanced_vectorized_return_both", "forgets START/END/PAD: every token that is not '(' counts as ')'")
def return_both_forgets_special(toks):
    step = t.where(toks == 3, -1, 1)
    elevation = t.cumsum(step.flip(-1), dim=-1)
    return elevation[:, -1] != 0, elevation.min(-1).values < 0


@right("is_balanced_vectorized_return_both", "suffix sums computed as total minus prefix sums")
def return_both_suffix_sums(toks):
    step = (toks == 4).long() - (toks == 3).long()
    total = step.sum(-1, keepdim=True)
    suffix = total - t.cumsum(step, -1) + step
    return total[:, 0] != 0, suffix.min(-1).values < 0


# ------------------------------------------------------------------ 3️⃣ the elevation circuit


@wrong("get_WOV", "multiplies in the wrong order (W_O.T @ W_V.T)")
def get_WOV_transposed(model, layer, head):
    return model.W_O[layer, head].T @ model.W_V[layer, head].T


@wrong("get_out_by_neuron", "uses the pre-activation (before the ReLU)")
def get_out_by_neuron_pre(model, data, layer, seq=None):
    pre = get_activations(model, data, f"blocks.{layer}.mlp.hook_pre")
    if seq is not None:
        pre = pre[:, seq]
    return einops.einsum(pre, model.W_out[layer].detach(), "... n, n d -> ... n d")


@wrong("avg_squared_cos_sim", "averages cosines without squaring them (about 0)")
def avg_cos_sim_unsquared(v, n_samples=1000):
    others = t.randn(n_samples, v.shape[0])
    return float(((others @ v) / (others.norm(dim=-1) * v.norm())).mean())
