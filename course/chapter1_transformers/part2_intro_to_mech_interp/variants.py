"""Known-wrong and known-right implementations for part 1.2: the tests prove the checks tell them apart."""

from __future__ import annotations

import functools
import math

import einops
import torch as t
import transformer_lens.utilities as utils
from transformer_lens import FactoredMatrix

from arena.checking import right, wrong

from . import solutions as ref
from .solutions import _heads_above, get_log_probs

# ------------------------------------------------------------------ 1️⃣ basics


@wrong("guessed_correctly", "compares the guess at position i with token i instead of token i + 1")
def guessed_correctly_same_position(logits, tokens):
    return logits[:-1].argmax(-1) == tokens[:-1]


@wrong("pattern_from_qk", "no 1/sqrt(d_head) scale")
def pattern_from_qk_unscaled(q, k):
    return ref.pattern_from_qk(q * math.sqrt(q.shape[-1]), k)


@wrong("pattern_from_qk", "no causal mask")
def pattern_from_qk_unmasked(q, k):
    return (einops.einsum(q, k, "q h d, k h d -> h q k") / math.sqrt(q.shape[-1])).softmax(-1)


@right("pattern_from_qk", "torch's scaled_dot_product_attention weights, built with an explicit mask")
def pattern_from_qk_tril(q, k):
    scores = t.einsum("qhd,khd->hqk", q, k) / q.shape[-1] ** 0.5
    allowed = t.ones(q.shape[0], q.shape[0]).tril().bool()
    return t.where(allowed, scores, t.tensor(-1e9)).softmax(-1)


# ------------------------------------------------------------------ 2️⃣ detectors


def _detector(score_fn):
    def detector(cache, threshold=0.4):
        heads = []
        for layer in range(cache.model.cfg.n_layers):
            heads += _heads_above(score_fn(cache["pattern", layer]), layer, threshold)
        return heads
    return detector


@wrong("prev_attn_detector", "the diagonal on the wrong side (offset +1: the masked future)")
def prev_attn_detector_upper(cache, threshold=0.4):
    return _detector(lambda p: p.diagonal(offset=1, dim1=-2, dim2=-1).mean(-1))(cache, threshold)


@wrong("prev_attn_detector", "Tensor.diagonal over its default axes (head and query) instead of query and key")
def prev_attn_detector_default_dims(cache, threshold=0.4):
    return _detector(lambda p: p.diagonal(offset=-1).mean(-1))(cache, threshold)


@wrong("current_attn_detector", "averages over the wrong axis (over heads, giving one score per position)")
def current_attn_detector_wrong_axis(cache, threshold=0.4):
    return _detector(lambda p: p.diagonal(dim1=-2, dim2=-1).mean(0))(cache, threshold)


@wrong("first_attn_detector", "reads attention from the first token (row 0) instead of to it (column 0)")
def first_attn_detector_row(cache, threshold=0.4):
    return _detector(lambda p: p[:, 0, :].mean(-1))(cache, threshold)


@wrong("induction_attn_detector", "stripe off by one: attention to the first occurrence of the same token")
def induction_attn_detector_off_by_one(cache, threshold=0.4):
    def score(p):
        seq_len = (p.shape[-1] - 1) // 2
        return p[:, seq_len + 1:, :].diagonal(offset=1, dim1=-2, dim2=-1).mean(-1)
    return _detector(score)(cache, threshold)


@right("induction_attn_detector", "explicit index arrays instead of a diagonal")
def induction_attn_detector_indexed(cache, threshold=0.4):
    def score(p):
        seq_len = (p.shape[-1] - 1) // 2
        q = t.arange(seq_len + 1, 2 * seq_len + 1)
        return p[:, q, q - seq_len + 1].mean(-1)
    return _detector(score)(cache, threshold)


@wrong("generate_repeated_tokens", "forgets the BOS token")
def generate_repeated_tokens_no_bos(model, seq_len, batch=1):
    half = t.randint(1, model.cfg.d_vocab, (batch, seq_len))
    return t.cat([half, half], dim=-1)


@wrong("generate_repeated_tokens", "repeats one random row for the whole batch")
def generate_repeated_tokens_same_rows(model, seq_len, batch=1):
    return ref.generate_repeated_tokens(model, seq_len, 1).expand(batch, -1).clone()


# ------------------------------------------------------------------ 3️⃣ hooks


def _induction_scores_with(stripe_fn):
    def induction_scores(model, seq_len=50, batch=10):
        tokens = ref.generate_repeated_tokens(model, seq_len, batch)
        scores = t.zeros(model.cfg.n_layers, model.cfg.n_heads)

        def hook(pattern, hook, layer):
            scores[layer] = stripe_fn(pattern, seq_len)

        model.run_with_hooks(tokens, return_type=None, fwd_hooks=[
            (utils.get_act_name("pattern", layer), functools.partial(hook, layer=layer))
            for layer in range(model.cfg.n_layers)])
        return scores
    return induction_scores


@wrong("induction_scores", "stripe off by one (offset seq_len: the same token's first occurrence)")
def induction_scores_off_by_one(model, seq_len=50, batch=10):
    return _induction_scores_with(
        lambda p, L: p[..., L + 1:, :].diagonal(offset=1, dim1=-2, dim2=-1).mean((0, -1)))(model, seq_len, batch)


@wrong("induction_scores", "forgets the BOS: takes queries seq_len .. 2*seq_len - 1")
def induction_scores_forgot_bos(model, seq_len=50, batch=10):
    return _induction_scores_with(
        lambda p, L: p[..., L:2 * L, :].diagonal(offset=1, dim1=-2, dim2=-1).mean((0, -1)))(model, seq_len, batch)


@wrong("induction_scores", "averages the whole diagonal (two first-copy queries included)")
def induction_scores_full_diagonal(model, seq_len=50, batch=10):
    return _induction_scores_with(
        lambda p, L: p.diagonal(offset=1 - L, dim1=-2, dim2=-1).mean((0, -1)))(model, seq_len, batch)


@wrong("induction_scores", "averages over the wrong axes (batch and heads, then broadcasts)")
def induction_scores_wrong_axes(model, seq_len=50, batch=10):
    return _induction_scores_with(
        lambda p, L: p[..., L + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1).mean((0, 1)).mean())(
            model, seq_len, batch)


@wrong("logit_attribution", "uses position i's unembedding (W_U[:, tokens[:-1]]) instead of i+1's")
def logit_attribution_same_position(embed, l1_results, l2_results, W_U, tokens):
    return ref.logit_attribution(embed, l1_results, l2_results, W_U, t.cat([tokens[:1], tokens[:-1]]))


@wrong("head_results", "sums the heads together")
def head_results_summed(z, W_O):
    out = einops.einsum(z, W_O, "... s h d, h d m -> ... s m")
    return out.unsqueeze(-2).expand(*out.shape[:-1], W_O.shape[0], out.shape[-1]) / W_O.shape[0]


@wrong("head_ablation_hook", "ablates the next head (off by one in the head index)")
def head_ablation_hook_next_head(v, hook, head_index_to_ablate):
    v[:, :, (head_index_to_ablate + 1) % v.shape[2]] = 0.0
    return v


@wrong("head_ablation_hook", "zeroes the position axis instead of the head axis")
def head_ablation_hook_position_axis(v, hook, head_index_to_ablate):
    v[:, head_index_to_ablate] = 0.0
    return v


def _ablation_scores(model, tokens, hook_layer, hook_head):
    seq_len = (tokens.shape[1] - 1) // 2

    def loss(logits):
        return -get_log_probs(logits, tokens)[:, -(seq_len - 1):].mean()

    clean = loss(model(tokens))
    scores = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            hook = functools.partial(ref.head_ablation_hook, head_index_to_ablate=hook_head(head, model))
            logits = model.run_with_hooks(
                tokens, fwd_hooks=[(utils.get_act_name("z", hook_layer(layer, model)), hook)])
            scores[layer, head] = loss(logits) - clean
    return scores


@wrong("get_ablation_scores", "ablates the wrong layer (the other one)")
def get_ablation_scores_wrong_layer(model, tokens):
    return _ablation_scores(model, tokens, lambda layer, m: m.cfg.n_layers - 1 - layer, lambda h, m: h)


@wrong("get_ablation_scores", "ablates the wrong head index (h + 1)")
def get_ablation_scores_wrong_head(model, tokens):
    return _ablation_scores(model, tokens, lambda layer, m: layer, lambda h, m: (h + 1) % m.cfg.n_heads)


# ------------------------------------------------------------------ 4️⃣ circuits


@wrong("top_1_acc", "argmax over columns instead of rows")
def top_1_acc_columns(full_OV_circuit, batch_size=1000):
    return ref.top_1_acc(full_OV_circuit.T, batch_size)


@wrong("top_1_acc", "materialises the whole d_vocab x d_vocab matrix")
def top_1_acc_materialised(full_OV_circuit, batch_size=1000):
    full = full_OV_circuit.AB
    return (full.argmax(-1) == t.arange(full.shape[0])).float().mean().item()


@right("top_1_acc", "batches of columns of the transposed matrix")
def top_1_acc_transposed_batches(full_OV_circuit, batch_size=1000):
    n, correct = full_OV_circuit.ldim, 0
    A, B = full_OV_circuit.A, full_OV_circuit.B
    for start in range(0, n, batch_size):
        block = (B.T @ A[start:start + batch_size].T).T
        correct += (block.argmax(-1) == t.arange(start, start + block.shape[0])).sum().item()
    return correct / n


@wrong("pos_by_pos_pattern", "no 1/sqrt(d_head) scale")
def pos_by_pos_pattern_unscaled(W_pos, W_Q, W_K):
    return ref.pos_by_pos_pattern(W_pos * W_Q.shape[-1] ** 0.25, W_Q, W_K)


@wrong("pos_by_pos_pattern", "no causal mask")
def pos_by_pos_pattern_unmasked(W_pos, W_Q, W_K):
    return ((W_pos @ W_Q) @ (W_pos @ W_K).T / math.sqrt(W_Q.shape[-1])).softmax(-1)


@wrong("pos_by_pos_pattern", "masks with 0 instead of -inf (masked keys still get weight)")
def pos_by_pos_pattern_zero_mask(W_pos, W_Q, W_K):
    scores = (W_pos @ W_Q) @ (W_pos @ W_K).T / math.sqrt(W_Q.shape[-1])
    return t.tril(scores).softmax(-1)


@wrong("decompose_qk_input", "ignores layer 1's LayerNorm scale")
def decompose_qk_input_unscaled(cache):
    return ref.decompose_qk_input(cache) * cache["blocks.1.ln1.hook_scale"]


@wrong("decompose_q", "uses the key weights")
def decompose_q_with_W_K(decomposed_qk_input, ind_head_index, model):
    return ref.decompose_k(decomposed_qk_input, ind_head_index, model)


@wrong("decompose_k", "uses layer 0's key weights")
def decompose_k_layer0(decomposed_qk_input, ind_head_index, model):
    return einops.einsum(decomposed_qk_input, model.W_K[0, ind_head_index], "n s d, d h -> n s h")


@wrong("find_K_comp_full_circuit", "returns the transpose (keys as rows)")
def find_K_comp_full_circuit_transposed(model, prev_token_head_index, ind_head_index):
    return ref.find_K_comp_full_circuit(model, prev_token_head_index, ind_head_index).T


@wrong("get_comp_score", "normalised by spectral norms instead of Frobenius norms")
def get_comp_score_spectral(W_A, W_B):
    return (t.linalg.matrix_norm(W_A @ W_B) /
            (t.linalg.matrix_norm(W_A, ord=2) * t.linalg.matrix_norm(W_B, ord=2))).item()


@wrong("get_comp_score", "normalised by ||W_A||_F squared instead of ||W_A||_F ||W_B||_F")
def get_comp_score_wrong_denominator(W_A, W_B):
    return (t.linalg.matrix_norm(W_A @ W_B) / t.linalg.matrix_norm(W_A).pow(2)).item()


@right("get_comp_score", "FactoredMatrix norms")
def get_comp_score_factored(W_A, W_B):
    return (FactoredMatrix(W_A, W_B).norm() / (W_A.norm() * W_B.norm())).item()


@wrong("ablation_induction_score", "ablates the head in layer 1 instead of layer 0")
def ablation_induction_score_wrong_layer(model, tokens, prev_head_index, ind_head_index):
    seq_len = (tokens.shape[1] - 1) // 2
    result = {}

    def ablate(v, hook):
        if prev_head_index is not None:
            v[:, :, prev_head_index] = 0.0
        return v

    def score(pattern, hook):
        result["s"] = pattern[:, ind_head_index, seq_len + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1).mean().item()

    model.run_with_hooks(tokens, return_type=None, fwd_hooks=[
        (utils.get_act_name("v", 1), ablate), (utils.get_act_name("pattern", 1), score)])
    return result["s"]
