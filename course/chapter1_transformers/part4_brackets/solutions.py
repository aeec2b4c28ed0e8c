"""Reference solutions for part 1.4: a balanced-bracket classifier, taken apart from the logits backwards."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import einops
import torch as t
from jaxtyping import Bool, Float, Int
from torch import Tensor

from course.chapter1_transformers.part4_brackets.data import (  # noqa: F401 - used in the lesson
    CLOSE,
    END,
    KINDS,
    MAX_LEN,
    N_CTX,
    OPEN,
    PAD,
    START,
    BracketsDataset,
    SimpleTokenizer,
    attention_mask,
    generate_strings,
    random_dyck,
)

# ------------------------------------------------------------------ 1️⃣ the model, the data, the algorithm


@functools.lru_cache(maxsize=1)
def load_brackets_model():
    """The shipped `brackets` model (a TransformerBridge in eval mode), loaded once per process."""
    from arena.resources import load_course_model

    return load_course_model("brackets")


def run_model(model, data: BracketsDataset) -> Float[Tensor, "batch 2"]:
    """The model's logits over (unbalanced, balanced), read at position 0, with the padding masked."""
    with t.no_grad():
        return model(data.toks, attention_mask=data.mask)[:, 0]


def is_balanced_forloop(parens: str) -> bool:
    """True if every "(" in `parens` is closed by a later ")" (and no ")" comes before its "(")."""
    # SOLUTION
    depth = 0
    for char in parens:
        depth += 1 if char == "(" else -1
        if depth < 0:
            return False
    return depth == 0
    # END SOLUTION


def is_balanced_vectorized(tokens: Int[Tensor, "seq_len"]) -> bool:
    """The same test on token ids (START = 0, PAD = 1, END = 2, "(" = 3, ")" = 4), without a Python loop.
    START, END and PAD may appear anywhere and count as nothing."""
    # SOLUTION
    step = t.tensor([0, 0, 0, 1, -1])[tokens]
    depth = t.cumsum(step, dim=0)
    return bool(depth[-1] == 0) and bool((depth >= 0).all())
    # END SOLUTION


# ------------------------------------------------------------------ 2️⃣ moving backwards from the logits


def get_activations(model, data: BracketsDataset, names: str | list[str]):
    """Cached activations for `names` (one name -> its tensor; a list -> the ActivationCache)."""
    with t.no_grad():
        _, cache = model.run_with_cache(data.toks, attention_mask=data.mask,
                                        names_filter=[names] if isinstance(names, str) else names)
    return cache[names] if isinstance(names, str) else cache


def get_post_final_ln_dir(model) -> Float[Tensor, "d_model"]:
    """The direction in the output of the final LayerNorm that pushes the logits towards "unbalanced":
    the logit difference (unbalanced - balanced) is this vector dotted with the LN output."""
    # SOLUTION
    return model.W_U[:, 0] - model.W_U[:, 1]
    # END SOLUTION


@dataclass
class LinearFit:
    """y ~= x @ weight.T + bias, fitted by least squares; r2 is the fraction of y's variance explained."""

    weight: Float[Tensor, "d_out d_in"]
    bias: Float[Tensor, "d_out"]
    r2: float


def fit_linear(x: Float[Tensor, "n d_in"], y: Float[Tensor, "n d_out"], intercept: bool = True) -> LinearFit:
    """Least squares (in float64) of y on x, with a constant column when `intercept`."""
    x64, y64 = x.double(), y.double()
    design = t.cat([x64, t.ones(len(x64), 1, dtype=t.float64)], dim=1) if intercept else x64
    solution = t.linalg.lstsq(design, y64, driver="gelsd").solution  # (d_in [+1], d_out)
    residual = y64 - design @ solution
    r2 = 1 - float(residual.pow(2).sum() / (y64 - y64.mean(0)).pow(2).sum())
    bias = solution[-1] if intercept else t.zeros(y.shape[1], dtype=t.float64)
    return LinearFit(weight=solution[:x.shape[1]].T.float(), bias=bias.float(), r2=r2)


def get_ln_fit(model, data: BracketsDataset, layernorm: str, seq_pos: int | None = None) -> LinearFit:
    """Fit a linear map (with an intercept) from a LayerNorm's input to its output (after its weight and bias).

    `layernorm` names the LN module: "ln_final", "blocks.1.ln2", ... Fit on position `seq_pos` of every
    string, or on every real (non-padding) position when `seq_pos` is None."""
    # SOLUTION
    cache = get_activations(model, data, [f"{layernorm}.hook_in", f"{layernorm}.hook_out"])
    x, y = cache[f"{layernorm}.hook_in"], cache[f"{layernorm}.hook_out"]
    if seq_pos is None:
        real = data.mask.bool()
        x, y = x[real], y[real]
    else:
        x, y = x[:, seq_pos], y[:, seq_pos]
    return fit_linear(x, y, intercept=True)
    # END SOLUTION


def get_pre_final_ln_dir(model, data: BracketsDataset) -> Float[Tensor, "d_model"]:
    """The unbalanced direction in the residual stream *before* the final LayerNorm, at position 0:
    the vector d with  (residual at 0) . d  ~=  logit(unbalanced) - logit(balanced)  + constant."""
    # SOLUTION
    fit = get_ln_fit(model, data, "ln_final", seq_pos=0)
    return fit.weight.T @ get_post_final_ln_dir(model)
    # END SOLUTION


COMPONENT_LABELS = ["embeddings", "head 0.0", "head 0.1", "mlp 0", "head 1.0", "head 1.1", "mlp 1",
                    "head 2.0", "head 2.1", "mlp 2"]


def get_out_by_components(model, data: BracketsDataset) -> Float[Tensor, "component=10 batch seq d_model"]:
    """What each component writes into the residual stream, in this order: the embeddings (token +
    position), head 0.0, head 0.1, MLP 0, head 1.0, head 1.1, MLP 1, head 2.0, head 2.1, MLP 2.

    A head's output is its z vectors times its W_O, plus an equal share (b_O / n_heads) of the layer's
    output bias, so the ten components add up exactly to the final residual stream."""
    # SOLUTION
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    names = ["hook_embed", "hook_pos_embed"] + [f"blocks.{layer}.{hook}" for layer in range(n_layers)
                                                 for hook in ("attn.hook_z", "hook_mlp_out")]
    cache = get_activations(model, data, names)
    parts = [cache["hook_embed"] + cache["hook_pos_embed"]]
    for layer in range(n_layers):
        heads = einops.einsum(cache[f"blocks.{layer}.attn.hook_z"], model.W_O[layer],
                              "batch seq head d_head, head d_head d_model -> head batch seq d_model")
        parts.extend(heads + model.b_O[layer] / n_heads)
        parts.append(cache[f"blocks.{layer}.hook_mlp_out"])
    return t.stack(parts).detach()
    # END SOLUTION


def get_unbalanced_scores(out_by_components: Float[Tensor, "component batch seq d_model"],
                          pre_final_ln_dir: Float[Tensor, "d_model"],
                          isbal: Bool[Tensor, "batch"]) -> Float[Tensor, "component batch"]:
    """Each component's output at position 0 projected on the unbalanced direction, minus the mean of the
    same projection over the *balanced* strings (so 0 means "as on a typical balanced string")."""
    # SOLUTION
    scores = out_by_components[:, :, 0] @ pre_final_ln_dir
    return scores - scores[:, isbal].mean(-1, keepdim=True)
    # END SOLUTION


def is_balanced_vectorized_return_both(
    toks: Int[Tensor, "batch seq"],
) -> tuple[Bool[Tensor, "batch"], Bool[Tensor, "batch"]]:
    """(total elevation failure, negative failure) for each string, reading right to left (the published convention).

    Reading from the right, a ")" raises the elevation by 1 and a "(" lowers it. Total elevation failure:
    the whole string does not end at 0. Negative failure: some suffix has more "(" than ")", i.e. the
    right-to-left elevation goes below 0 somewhere. START, END and PAD count as nothing."""
    # SOLUTION
    step = t.tensor([0, 0, 0, -1, 1])[toks]
    elevation = t.cumsum(step.flip(-1), dim=-1)
    total_elevation_failure = elevation[:, -1] != 0
    negative_failure = elevation.min(-1).values < 0
    return total_elevation_failure, negative_failure
    # END SOLUTION


# ------------------------------------------------------------------ 3️⃣ the elevation circuit


def get_attn_probs(model, data: BracketsDataset, layer: int, head: int) -> Float[Tensor, "batch q k"]:
    """The attention pattern of one head (padding masked), for every string in `data`."""
    # SOLUTION
    return get_activations(model, data, f"blocks.{layer}.attn.hook_pattern")[:, head]
    # END SOLUTION


def get_WOV(model, layer: int, head: int) -> Float[Tensor, "d_model d_model"]:
    """The OV circuit of one head as a (d_model, d_model) matrix: a residual vector x at the source
    position becomes x @ W_OV in the destination's residual stream (biases aside)."""
    # SOLUTION
    return model.W_V[layer, head] @ model.W_O[layer, head]
    # END SOLUTION


def get_pre_head_dir(model, data: BracketsDataset, layer: int, head: int, seq_pos: int) -> Float[Tensor, "d_model"]:
    """The direction in the residual stream *before* `layer`'s ln1, at source position `seq_pos`, that makes
    the head write along the unbalanced direction (to position 0) when it attends there."""
    # SOLUTION
    head_out_dir = get_WOV(model, layer, head) @ get_pre_final_ln_dir(model, data)
    fit = get_ln_fit(model, data, f"blocks.{layer}.ln1", seq_pos=seq_pos)
    return fit.weight.T @ head_out_dir
    # END SOLUTION


def get_out_by_neuron(model, data: BracketsDataset, layer: int,
                      seq: int | None = None) -> Float[Tensor, "batch *seq neuron d_model"]:
    """What each neuron of MLP `layer` writes into the residual stream: its activation times its output
    vector W_out[layer][neuron]. All positions, or only position `seq` (then there is no seq axis)."""
    # SOLUTION
    post = get_activations(model, data, f"blocks.{layer}.mlp.hook_post")
    if seq is not None:
        post = post[:, seq]
    return einops.einsum(post, model.W_out[layer].detach(), "... neuron, neuron d_model -> ... neuron d_model")
    # END SOLUTION


def get_out_by_neuron_in_dir(model, data: BracketsDataset, direction: Float[Tensor, "d_model"], layer: int
                             ) -> Float[Tensor, "batch seq neuron"]:
    """get_out_by_neuron projected on `direction`, without building the (batch, seq, neuron, d_model) tensor."""
    # SOLUTION
    post = get_activations(model, data, f"blocks.{layer}.mlp.hook_post")
    return post * (model.W_out[layer].detach() @ direction)
    # END SOLUTION


def get_q_and_k_for_given_input(model, parens: str, layer: int, head: int
                                ) -> tuple[Float[Tensor, "seq d_head"], Float[Tensor, "seq d_head"]]:
    """The queries and keys of one head for one bracket string (tokenised with START and END, no padding)."""
    # SOLUTION
    data = BracketsDataset([parens])
    width = len(parens) + 2
    data.toks, data.mask = data.toks[:, :width], data.mask[:, :width]
    cache = get_activations(model, data, [f"blocks.{layer}.attn.hook_q", f"blocks.{layer}.attn.hook_k"])
    return cache[f"blocks.{layer}.attn.hook_q"][0, :, head], cache[f"blocks.{layer}.attn.hook_k"][0, :, head]
    # END SOLUTION


def cos_sim_with_MLP_weights(model, v: Float[Tensor, "d_model"], layer: int) -> Float[Tensor, "d_mlp"]:
    """Cosine similarity of v with each neuron's output vector (the rows of W_out[layer])."""
    # SOLUTION
    w_out = model.W_out[layer].detach()
    return (w_out @ v) / (w_out.norm(dim=-1) * v.norm())
    # END SOLUTION


def avg_squared_cos_sim(v: Float[Tensor, "d_model"], n_samples: int = 1000) -> float:
    """The mean squared cosine similarity of v with n_samples random (Gaussian) vectors: the baseline a
    squared cosine similarity must beat to mean anything (about 1 / d_model)."""
    # SOLUTION
    others = t.randn(n_samples, v.shape[0])
    cos = (others @ v) / (others.norm(dim=-1) * v.norm())
    return float(cos.pow(2).mean())
    # END SOLUTION
