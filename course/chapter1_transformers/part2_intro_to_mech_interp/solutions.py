"""Part 1.2: TransformerLens and induction heads (reference solutions, in lesson order)."""

from __future__ import annotations

import functools
import math

import einops
import torch as t
import transformer_lens.utilities as utils
from jaxtyping import Bool, Float, Int
from torch import Tensor
from tqdm.auto import tqdm
from transformer_lens import ActivationCache, FactoredMatrix
from transformer_lens.hook_points import HookPoint

from arena.resources import load_course_model

# Section 1 works on the course's own GPT-2-architecture model. After `arena fetch gpt2` (online, once)
# set BASICS_MODEL = "gpt2" to do the same on GPT-2 small; nothing else changes.
BASICS_MODEL = "course-gpt"
INDUCTION_MODEL = "attn-only-2l"

def load_basics_model(name: str = BASICS_MODEL):
    """The model of section 1: course-gpt (offline) or GPT-2 small ("gpt2", after `arena fetch gpt2`)."""
    return load_course_model(name)

def load_induction_model(processed: bool = False):
    """The shipped two-layer attention-only model. `processed=True` folds the LayerNorm gains into the
    next weights and centres the weights that write to the residual stream (same outputs, simpler maths)."""
    model = load_course_model(INDUCTION_MODEL)
    if processed:
        model.enable_compatibility_mode()
    return model

def _checkpoints_file():
    from arena.zoo import entry

    return entry(INDUCTION_MODEL).dir / "checkpoints.safetensors"


def load_checkpoint(step: int, processed: bool = False):
    """attn-only-2l as it was at a training step that `assets/attn-only-2l/checkpoints.safetensors` kept."""
    from safetensors import safe_open

    model = load_course_model(INDUCTION_MODEL)
    with safe_open(str(_checkpoints_file()), "pt") as fh:
        prefix = f"step{step}/"
        state = {k[len(prefix):]: fh.get_tensor(k).float() for k in fh.keys() if k.startswith(prefix)}
    if not state:
        raise KeyError(f"no checkpoint for step {step}; kept steps: {checkpoint_steps()}")
    model.load_state_dict(state, strict=True)
    if processed:
        model.enable_compatibility_mode()
    return model

def checkpoint_steps() -> list[int]:
    from safetensors import safe_open

    with safe_open(str(_checkpoints_file()), "pt") as fh:
        return [int(s) for s in fh.metadata()["steps"].split(",")]

# ------------------------------------------------------------------ 1️⃣ TransformerLens basics

def guessed_correctly(logits: Float[Tensor, "seq d_vocab"], tokens: Int[Tensor, "seq"]) -> Bool[Tensor, "seq-1"]:
    """For each position but the last: is the model's top guess the token that actually comes next?"""
    # SOLUTION
    return logits[:-1].argmax(dim=-1) == tokens[1:]
    # END SOLUTION

def pattern_from_qk(q: Float[Tensor, "seq n_heads d_head"],
                    k: Float[Tensor, "seq n_heads d_head"]) -> Float[Tensor, "n_heads seq_q seq_k"]:
    """The attention pattern of every head, recomputed from its queries and keys (one prompt, causal)."""
    # SOLUTION
    seq, d_head = q.shape[0], q.shape[-1]
    scores = einops.einsum(q, k, "seq_q h d, seq_k h d -> h seq_q seq_k") / math.sqrt(d_head)
    future = t.triu(t.ones(seq, seq, dtype=t.bool, device=q.device), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    # END SOLUTION

# ------------------------------------------------------------------ 2️⃣ Finding induction heads

DETECTOR_THRESHOLD = 0.4

def _heads_above(scores: Float[Tensor, "n_heads"], layer: int, threshold: float) -> list[str]:
    return [f"{layer}.{head}" for head in t.nonzero(scores > threshold).flatten().tolist()]

def current_attn_detector(cache: ActivationCache, threshold: float = DETECTOR_THRESHOLD) -> list[str]:
    """Heads ("layer.head") whose mean attention from each token to itself is above `threshold`.

    `cache` comes from one prompt with `remove_batch_dim=True`: `cache["pattern", layer]` is [head, q, k]."""
    # SOLUTION
    heads = []
    for layer in range(cache.model.cfg.n_layers):
        scores = cache["pattern", layer].diagonal(dim1=-2, dim2=-1).mean(dim=-1)
        heads += _heads_above(scores, layer, threshold)
    return heads
    # END SOLUTION

def prev_attn_detector(cache: ActivationCache, threshold: float = DETECTOR_THRESHOLD) -> list[str]:
    """Heads whose mean attention from each token (from position 1 on) to the token before it is above `threshold`."""
    # SOLUTION
    heads = []
    for layer in range(cache.model.cfg.n_layers):
        scores = cache["pattern", layer].diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=-1)
        heads += _heads_above(scores, layer, threshold)
    return heads
    # END SOLUTION

def first_attn_detector(cache: ActivationCache, threshold: float = DETECTOR_THRESHOLD) -> list[str]:
    """Heads whose mean attention from each token to the first token (BOS) is above `threshold`."""
    # SOLUTION
    heads = []
    for layer in range(cache.model.cfg.n_layers):
        scores = cache["pattern", layer][:, :, 0].mean(dim=-1)
        heads += _heads_above(scores, layer, threshold)
    return heads
    # END SOLUTION

def generate_repeated_tokens(model, seq_len: int, batch: int = 1) -> Int[Tensor, "batch 1+2*seq_len"]:
    """BOS, then `seq_len` uniformly random tokens (never BOS itself), then the same tokens again."""
    # SOLUTION
    bos = t.full((batch, 1), model.tokenizer.bos_token_id, dtype=t.long)
    half = t.randint(0, model.cfg.d_vocab - 1, (batch, seq_len), dtype=t.long)
    half = half + (half >= model.tokenizer.bos_token_id).long()  # skip the BOS id
    return t.cat([bos, half, half], dim=-1)
    # END SOLUTION

def run_and_cache_model_repeated_tokens(model, seq_len: int, batch: int = 1) -> tuple[
        Int[Tensor, "batch 1+2*seq_len"], Float[Tensor, "batch 1+2*seq_len d_vocab"], ActivationCache]:
    """Generate repeated random tokens, run the model on them and cache every activation."""
    # SOLUTION
    tokens = generate_repeated_tokens(model, seq_len, batch)
    logits, cache = model.run_with_cache(tokens)
    return tokens, logits, cache
    # END SOLUTION

def get_log_probs(logits: Float[Tensor, "batch seq d_vocab"],
                  tokens: Int[Tensor, "batch seq"]) -> Float[Tensor, "batch seq-1"]:
    """Log-probability the model gave, at each position, to the token that actually came next."""
    log_probs = logits.log_softmax(dim=-1)
    return log_probs[:, :-1].gather(dim=-1, index=tokens[:, 1:, None])[..., 0]

def induction_attn_detector(cache: ActivationCache, threshold: float = DETECTOR_THRESHOLD) -> list[str]:
    """Heads whose mean attention from each token of the second copy to the token after its first
    occurrence is above `threshold`. The cache is of BOS + seq_len tokens + the same seq_len tokens."""
    # SOLUTION
    heads = []
    for layer in range(cache.model.cfg.n_layers):
        pattern = cache["pattern", layer]
        seq_len = (pattern.shape[-1] - 1) // 2
        # query seq_len+1+i (second copy) -> key 2+i (after the first occurrence at 1+i)
        scores = pattern[:, seq_len + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1).mean(dim=-1)
        heads += _heads_above(scores, layer, threshold)
    return heads
    # END SOLUTION

# ------------------------------------------------------------------ 3️⃣ Hooks

def induction_scores(model, seq_len: int = 50, batch: int = 10) -> Float[Tensor, "n_layers n_heads"]:
    """Every head's induction score on `batch` fresh repeated random sequences, read by a hook on the pattern:
    mean attention from each token of the second copy to the token after its first occurrence."""
    # SOLUTION
    tokens = generate_repeated_tokens(model, seq_len, batch)
    scores = t.zeros(model.cfg.n_layers, model.cfg.n_heads)

    def score_hook(pattern: Float[Tensor, "batch head q k"], hook: HookPoint, layer: int) -> None:
        stripe = pattern[..., seq_len + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1)  # [batch, head, seq_len]
        scores[layer] = stripe.mean(dim=(0, -1))

    model.run_with_hooks(tokens, return_type=None, fwd_hooks=[
        (utils.get_act_name("pattern", layer), functools.partial(score_hook, layer=layer))
        for layer in range(model.cfg.n_layers)])
    return scores
    # END SOLUTION

def head_results(z: Float[Tensor, "... seq n_heads d_head"],
                 W_O: Float[Tensor, "n_heads d_head d_model"]) -> Float[Tensor, "... seq n_heads d_model"]:
    """What each head writes into the residual stream: its z times its own slice of W_O (no bias)."""
    # SOLUTION
    return einops.einsum(z, W_O, "... seq h d_head, h d_head d_model -> ... seq h d_model")
    # END SOLUTION

def logit_attribution(embed: Float[Tensor, "seq d_model"], l1_results: Float[Tensor, "seq n_heads d_model"],
                      l2_results: Float[Tensor, "seq n_heads d_model"], W_U: Float[Tensor, "d_model d_vocab"],
                      tokens: Int[Tensor, "seq"]) -> Float[Tensor, "seq-1 1+2*n_heads"]:
    """Direct contribution of each path to the logit of the correct next token at every position but the
    last: column 0 the direct path (embeddings), then layer 0's heads, then layer 1's heads."""
    # SOLUTION
    W_U_correct = W_U[:, tokens[1:]]  # [d_model, seq-1]: position i is judged on token i+1
    direct = einops.einsum(embed[:-1], W_U_correct, "seq d_model, d_model seq -> seq")
    l1 = einops.einsum(l1_results[:-1], W_U_correct, "seq h d_model, d_model seq -> seq h")
    l2 = einops.einsum(l2_results[:-1], W_U_correct, "seq h d_model, d_model seq -> seq h")
    return t.cat([direct[:, None], l1, l2], dim=-1)
    # END SOLUTION

def dla_inputs(model, cache: ActivationCache) -> dict[str, Tensor]:
    """The pieces of the final residual stream, as the unembedding sees them (one prompt, batch removed).

    The final LayerNorm is linear once its scale is fixed: for the cached scale s, LN(x) = (x - mean x)/s * w + b.
    Applied to each piece, the pieces' logits add up exactly to the model's logits: `embed` (token and
    position embeddings), `l1_results` / `l2_results` (each head's output), `bias` (the output biases)
    and `W_U` (the unembedding with the LN gain folded in) plus `logit_bias` (b @ W_U + b_U)."""
    scale = cache["ln_final.hook_scale"]  # [seq, 1]

    def through_ln(x: Tensor) -> Tensor:
        return (x - x.mean(dim=-1, keepdim=True)) / (scale if x.ndim == 2 else scale[:, None])

    results = [head_results(cache["z", layer], model.W_O[layer]) for layer in range(model.cfg.n_layers)]
    w, b = model.ln_final.w, model.ln_final.b
    seq = scale.shape[0]
    return {
        "embed": through_ln(cache["embed"] + cache["pos_embed"]),
        "l1_results": through_ln(results[0]), "l2_results": through_ln(results[1]),
        "bias": through_ln(model.b_O.sum(dim=0).expand(seq, -1)),
        "W_U": w[:, None] * model.W_U, "logit_bias": b @ model.W_U + model.b_U,
    }

def head_ablation_hook(v: Float[Tensor, "batch seq n_heads d_head"], hook: HookPoint,
                       head_index_to_ablate: int) -> Float[Tensor, "batch seq n_heads d_head"]:
    """Zero one head's output (the hook is on z or v): every position, every batch element."""
    # SOLUTION
    v[:, :, head_index_to_ablate, :] = 0.0
    return v
    # END SOLUTION

def get_ablation_scores(model, tokens: Int[Tensor, "batch 1+2*seq_len"]) -> Float[Tensor, "n_layers n_heads"]:
    """How much the loss on the repeated half rises when each head is zero-ablated (its z set to 0).

    The loss is the mean over the last seq_len - 1 predictions: the tokens of the second copy that
    induction can predict (all but its first token)."""
    # SOLUTION
    seq_len = (tokens.shape[1] - 1) // 2

    def repeated_loss(logits: Tensor) -> Tensor:
        return -get_log_probs(logits, tokens)[:, -(seq_len - 1):].mean()

    clean = repeated_loss(model(tokens))
    scores = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in tqdm(range(model.cfg.n_layers), desc="ablating", leave=False):
        for head in range(model.cfg.n_heads):
            hook = functools.partial(head_ablation_hook, head_index_to_ablate=head)
            logits = model.run_with_hooks(tokens, fwd_hooks=[(utils.get_act_name("z", layer), hook)])
            scores[layer, head] = repeated_loss(logits) - clean
    return scores
    # END SOLUTION

# ------------------------------------------------------------------ 4️⃣ Reverse-engineering the circuit

def top_1_acc(full_OV_circuit: FactoredMatrix, batch_size: int = 1000) -> float:
    """Fraction of rows (source tokens) whose largest entry is on the diagonal, i.e. the token maps to
    itself. Works through the rows in batches: never builds the whole d_vocab x d_vocab matrix."""
    # SOLUTION
    n = full_OV_circuit.ldim
    correct = 0
    for start in range(0, n, batch_size):
        rows = full_OV_circuit[start:start + batch_size].AB  # [batch_size, d_vocab]
        correct += (rows.argmax(dim=-1) == t.arange(start, start + rows.shape[0])).sum().item()
    return correct / n
    # END SOLUTION

def pos_by_pos_pattern(W_pos: Float[Tensor, "n_ctx d_model"], W_Q: Float[Tensor, "d_model d_head"],
                       W_K: Float[Tensor, "d_model d_head"]) -> Float[Tensor, "n_ctx n_ctx"]:
    """The attention pattern a head would have if its queries and keys saw only positional embeddings:
    softmax over keys of causally masked W_pos W_Q W_K^T W_pos^T / sqrt(d_head)."""
    # SOLUTION
    scores = (W_pos @ W_Q) @ (W_pos @ W_K).T / math.sqrt(W_Q.shape[-1])
    n_ctx = W_pos.shape[0]
    future = t.triu(t.ones(n_ctx, n_ctx, dtype=t.bool, device=W_pos.device), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    # END SOLUTION

def decompose_qk_input(cache: ActivationCache) -> Float[Tensor, "n_heads+2 seq d_model"]:
    """The input of layer 1's attention split into pieces, as its LayerNorm passes them on: token embeddings,
    positional embeddings, then each layer-0 head's output; each divided by layer 1's cached LN scale.

    For a processed model (`load_induction_model(processed=True)`: LN gains folded, writing weights
    centred) and one prompt (batch removed). The layer-0 output bias is left out (it is a constant)."""
    # SOLUTION
    model = cache.model
    scale = cache["blocks.1.ln1.hook_scale"]  # [seq, 1]
    heads = head_results(cache["z", 0], model.W_O[0])  # [seq, head, d_model]
    pieces = t.cat([cache["embed"][None], cache["pos_embed"][None], einops.rearrange(heads, "s h d -> h s d")])
    return pieces / scale
    # END SOLUTION

def decompose_q(decomposed_qk_input: Float[Tensor, "n_heads+2 seq d_model"], ind_head_index: int,
                model) -> Float[Tensor, "n_heads+2 seq d_head"]:
    """Each piece's contribution to the queries of head 1.`ind_head_index` (without the query bias)."""
    # SOLUTION
    return einops.einsum(decomposed_qk_input, model.W_Q[1, ind_head_index],
                         "n seq d_model, d_model d_head -> n seq d_head")
    # END SOLUTION

def decompose_k(decomposed_qk_input: Float[Tensor, "n_heads+2 seq d_model"], ind_head_index: int,
                model) -> Float[Tensor, "n_heads+2 seq d_head"]:
    """Each piece's contribution to the keys of head 1.`ind_head_index` (without the key bias)."""
    # SOLUTION
    return einops.einsum(decomposed_qk_input, model.W_K[1, ind_head_index],
                         "n seq d_model, d_model d_head -> n seq d_head")
    # END SOLUTION

def decompose_attn_scores(decomposed_q: Float[Tensor, "q_comp seq_q d_head"],
                          decomposed_k: Float[Tensor, "k_comp seq_k d_head"]) -> Float[
                              Tensor, "q_comp k_comp seq_q seq_k"]:
    """The attention scores (unscaled, unmasked) split by which query piece meets which key piece."""
    # SOLUTION
    return einops.einsum(decomposed_q, decomposed_k, "qc seq_q d, kc seq_k d -> qc kc seq_q seq_k")
    # END SOLUTION

def find_K_comp_full_circuit(model, prev_token_head_index: int, ind_head_index: int) -> FactoredMatrix:
    """[d_vocab, d_vocab]: entry (i, j) is how much a query of token i (its embedding, straight to head
    1.ind) attends to a key whose previous token was j (moved there by head 0.prev's OV circuit)."""
    # SOLUTION
    W_E = model.W_E
    Q = W_E @ model.W_Q[1, ind_head_index]
    K = W_E @ model.W_V[0, prev_token_head_index] @ model.W_O[0, prev_token_head_index] @ model.W_K[1, ind_head_index]
    return FactoredMatrix(Q, K.T)
    # END SOLUTION

def get_comp_score(W_A: Float[Tensor, "in_A out_A"], W_B: Float[Tensor, "out_A out_B"]) -> float:
    """Composition score ||W_A W_B||_F / (||W_A||_F ||W_B||_F): how much of what A writes, B reads."""
    # SOLUTION
    return (t.linalg.matrix_norm(W_A @ W_B) / (t.linalg.matrix_norm(W_A) * t.linalg.matrix_norm(W_B))).item()
    # END SOLUTION

def get_batched_comp_scores(W_As: FactoredMatrix, W_Bs: FactoredMatrix) -> Float[Tensor, "n_A n_B"]:
    """Composition scores of every pair: W_As is [n_A, in, mid], W_Bs is [n_B, mid, out] (factored)."""
    # SOLUTION
    W_As = FactoredMatrix(W_As.A[:, None], W_As.B[:, None])  # [n_A, 1, ...]
    W_Bs = FactoredMatrix(W_Bs.A[None], W_Bs.B[None])  # [1, n_B, ...]
    return (W_As @ W_Bs).norm() / (W_As.norm() * W_Bs.norm())
    # END SOLUTION

def random_comp_scores(d_model: int, d_head: int, n_samples: int = 200, seed: int = 0) -> Float[Tensor, "n_samples"]:
    """Composition scores of random low-rank matrices of the heads' shapes: the baseline to compare with."""
    gen = t.Generator().manual_seed(seed)

    def random_ov() -> Tensor:
        return t.randn(d_model, d_head, generator=gen) @ t.randn(d_head, d_model, generator=gen)

    return t.tensor([get_comp_score(random_ov(), random_ov()) for _ in range(n_samples)])

def ablation_induction_score(model, tokens: Int[Tensor, "batch 1+2*seq_len"], prev_head_index: int | None,
                             ind_head_index: int) -> float:
    """Induction score of head 1.`ind_head_index` on `tokens` when layer-0 head `prev_head_index` is
    zero-ablated (its v set to 0; None: nothing ablated)."""
    # SOLUTION
    seq_len = (tokens.shape[1] - 1) // 2
    result: dict[str, float] = {}

    def ablate(v: Tensor, hook: HookPoint) -> Tensor:
        if prev_head_index is not None:
            v[:, :, prev_head_index] = 0.0
        return v

    def score(pattern: Tensor, hook: HookPoint) -> None:
        stripe = pattern[:, ind_head_index, seq_len + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1)
        result["score"] = stripe.mean().item()

    model.run_with_hooks(tokens, return_type=None, fwd_hooks=[
        (utils.get_act_name("v", 0), ablate), (utils.get_act_name("pattern", 1), score)])
    return result["score"]
    # END SOLUTION
