"""Checks for part 1.2. Each check runs on tiny models or hand-made tensors (no shipped file needed), in well
under a second, and names the likely mistake when the numbers match a known wrong answer."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch as t
from transformer_lens import ActivationCache, FactoredMatrix

from arena.checking import (
    CheckFailure,
    describe_tensor,
    expect_close,
    expect_equal,
    expect_shape,
    expect_type,
    time_limit,
)

from . import solutions as ref

# Checks that boot a tiny model: the first boot imports transformers (slow on a cold, busy machine).
MODEL_TIME_LIMIT = 90
D_VOCAB = 1058  # the course tokenizer's size (the tiny models use it so that to_tokens etc. work)


# ------------------------------------------------------------------ tiny models


@functools.cache
def _tiny_model(kind: str = "random"):
    """A 2-layer attention-only model with d_model 16 and random LN gains and biases.

    kind="random": all weights random. kind="positional": token embeddings are zero, so every attention
    pattern depends only on positions (the same whatever random tokens a function draws).
    kind="processed": "random" with its LayerNorm folded and writing weights centred."""
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    from arena.zoo import load_tokenizer_dir

    from .assets.train import TOKENIZER_DIR

    cfg = TransformerBridgeConfig(n_layers=2, d_model=16, n_heads=4, d_head=4, n_ctx=64, d_vocab=D_VOCAB,
                                  attn_only=True, normalization_type="LN", seed=7, device="cpu")
    model = TransformerBridge.boot_native(cfg, tokenizer=load_tokenizer_dir(TOKENIZER_DIR)).eval()
    gen = t.Generator().manual_seed(11)
    with t.no_grad():
        for key, tensor in model.state_dict().items():
            if key == "unembed.bias":
                continue
            if ".ln" in key or key.startswith("ln_"):
                tensor.copy_((1.0 if key.endswith("weight") else 0.0) + 0.3 * t.randn(tensor.shape, generator=gen))
            elif key.endswith("bias"):
                tensor.copy_(0.2 * t.randn(tensor.shape, generator=gen))
            else:
                tensor.copy_(t.randn(tensor.shape, generator=gen) * (2.0 if ".attn.q" in key or ".attn.k" in key
                                                                      else 1.0))
        if kind == "positional":
            model.state_dict()["embed.weight"].zero_()
    if kind == "processed":
        model.enable_compatibility_mode()
    return model


def _tokens(seq_len: int = 6, batch: int = 3, seed: int = 0) -> t.Tensor:
    gen = t.Generator().manual_seed(seed)
    half = t.randint(1, D_VOCAB, (batch, seq_len), generator=gen)
    return t.cat([t.zeros(batch, 1, dtype=t.long), half, half], dim=1)


def _float_result(got, what: str) -> float:
    if isinstance(got, t.Tensor) and got.numel() == 1:
        got = got.item()
    expect_type(got, (float, int), what)
    return float(got)


# ------------------------------------------------------------------ 1️⃣ TransformerLens basics


def check_guessed_correctly(guessed_correctly: Callable) -> str:
    gen = t.Generator().manual_seed(0)
    tokens = t.randint(0, 20, (9,), generator=gen)
    logits = t.randn(9, 20, generator=gen)
    logits[t.arange(0, 8, 2), tokens[1::2]] += 10.0  # even positions guess the next token right
    logits[t.arange(1, 9, 2), tokens[1::2]] += 10.0  # odd positions guess their own token (a trap)
    got = guessed_correctly(logits, tokens)
    expected = ref.guessed_correctly(logits, tokens)
    expect_type(got, t.Tensor, "guessed_correctly(logits, tokens)")
    if got.shape != expected.shape:
        raise CheckFailure(f"guessed_correctly on 9 tokens should give 8 answers (one per position that has a "
                           f"next token), got shape {tuple(got.shape)}")
    if t.equal(got.bool(), logits[:-1].argmax(-1) == tokens[:-1]):
        raise CheckFailure("guessed_correctly compared the guess at position i with token i; the logits at "
                           "position i predict token i + 1.")
    expect_close(got.bool(), expected, what="guessed_correctly(logits, tokens)")
    return "8 of 9 positions judged against the next token"


@time_limit(MODEL_TIME_LIMIT)
def check_pattern_from_qk(pattern_from_qk: Callable) -> str:
    gen = t.Generator().manual_seed(1)
    q, k = 3 * t.randn(7, 3, 16, generator=gen), 3 * t.randn(7, 3, 16, generator=gen)
    got = pattern_from_qk(q, k)
    expected = ref.pattern_from_qk(q, k)
    expect_type(got, t.Tensor, "pattern_from_qk(q, k)")
    expect_shape(got, (3, 7, 7), "pattern_from_qk(q, k) with q, k of shape [seq 7, heads 3, d_head 16]")
    if got.triu(diagonal=1).abs().max() > 1e-6:
        raise CheckFailure("pattern_from_qk attends to later positions (the upper triangle is not zero): apply the "
                           "causal mask (scores of keys after the query set to -inf) before the softmax.")
    unscaled = ref.pattern_from_qk(q * math.sqrt(16), k)
    if t.allclose(got, unscaled, atol=1e-5):
        raise CheckFailure("pattern_from_qk forgot to divide the scores by sqrt(d_head) = 4 before the softmax.")
    expect_close(got, expected, what="pattern_from_qk(q, k)", atol=1e-5)
    model = _tiny_model("random")
    _, cache = model.run_with_cache(_tokens(5, 1)[0], remove_batch_dim=True)
    expect_close(pattern_from_qk(cache["q", 1], cache["k", 1]), cache["pattern", 1],
                 what="pattern_from_qk(cache['q', 1], cache['k', 1]) vs cache['pattern', 1] of a tiny model", atol=1e-5)
    return "matches random q, k and a tiny model's cached pattern"


# ------------------------------------------------------------------ 2️⃣ detectors


def _rows(T: int, target: Callable[[int], int | None], weight: float) -> t.Tensor:
    """A causal pattern [T, T]: `weight` on the target key of each query (if any), the rest spread evenly."""
    pattern = t.zeros(T, T)
    for q in range(T):
        pattern[q, : q + 1] = 1.0 / (q + 1)
        k = target(q)
        if k is not None and 0 <= k <= q:
            pattern[q] *= 1 - weight
            pattern[q, k] += weight
    return pattern


def _crafted_cache(seq_len: int = 6) -> ActivationCache:
    """Two layers of four heads with known behaviour, on BOS + seq_len tokens + the same again.

    0.0 current token, 0.1 previous token, 0.2 first token, 0.3 uniform;
    1.0 induction (stripe at offset seq_len - 1), 1.1 duplicate token (offset seq_len),
    1.2 weak previous token (0.3), 1.3 two tokens back."""
    T = 2 * seq_len + 1
    layer0 = [_rows(T, lambda q: q, 0.7), _rows(T, lambda q: q - 1, 0.8), _rows(T, lambda q: 0, 0.7),
              _rows(T, lambda q: None, 0.0)]
    layer1 = [_rows(T, lambda q: q - seq_len + 1 if q > seq_len else None, 0.9),
              _rows(T, lambda q: q - seq_len if q > seq_len else None, 0.9),
              _rows(T, lambda q: q - 1, 0.3), _rows(T, lambda q: q - 2, 0.8)]
    patterns = {"blocks.0.attn.hook_pattern": t.stack(layer0), "blocks.1.attn.hook_pattern": t.stack(layer1)}
    return ActivationCache(patterns, _tiny_model("random"))


DETECTOR_MISTAKES = {
    "current_attn_detector": {},
    "prev_attn_detector": {"1.3": "attention two tokens back (offset -2) is not the previous token",
                           "0.0": "the main diagonal is the current token, not the previous one"},
    "first_attn_detector": {},
    "induction_attn_detector": {
        "1.1": "head 1.1 attends to the first occurrence of the same token, not to the token after it: "
               "the induction stripe is one position further right (off by one)"},
}


def _check_detector(name: str, detector: Callable) -> str:
    cache = _crafted_cache()
    expected = getattr(ref, name)(cache)
    got = detector(cache)
    expect_type(got, list, f"{name}(cache)")
    if sorted(map(str, got)) == sorted(expected):
        return f"finds {expected} among 8 hand-made heads"
    hints = [reason for head, reason in DETECTOR_MISTAKES[name].items() if head in got]
    if name == "prev_attn_detector" and not got:
        hints.append("no head found: the previous-token stripe is the diagonal *below* the main one "
                     "(offset -1); offset +1 lies in the masked future and is all zeros")
    if any(not isinstance(h, str) or h.count(".") != 1 for h in got):
        hints.append('heads must be strings "layer.head", e.g. "0.1"')
    if any(int(str(h).split(".")[-1]) >= 4 for h in got if str(h).split(".")[-1].isdigit()):
        hints.append("a head index above 3: did the diagonal run over the head and query axes? Tensor.diagonal "
                     "defaults to dims 0 and 1; use dim1=-2, dim2=-1")
    raise CheckFailure(
        f"{name} on a hand-made cache (0.0 current, 0.1 previous, 0.2 first token, 0.3 uniform; 1.0 induction, "
        f"1.1 duplicate token, 1.2 weak previous, 1.3 two back; seq_len 6) should return {expected}, "
        f"got {got}." + (" " + " ".join(hints) if hints else ""))


@time_limit(MODEL_TIME_LIMIT)
def check_current_attn_detector(current_attn_detector: Callable) -> str:
    return _check_detector("current_attn_detector", current_attn_detector)


@time_limit(MODEL_TIME_LIMIT)
def check_prev_attn_detector(prev_attn_detector: Callable) -> str:
    return _check_detector("prev_attn_detector", prev_attn_detector)


@time_limit(MODEL_TIME_LIMIT)
def check_first_attn_detector(first_attn_detector: Callable) -> str:
    return _check_detector("first_attn_detector", first_attn_detector)


@time_limit(MODEL_TIME_LIMIT)
def check_induction_attn_detector(induction_attn_detector: Callable) -> str:
    return _check_detector("induction_attn_detector", induction_attn_detector)


@time_limit(MODEL_TIME_LIMIT)
def check_generate_repeated_tokens(generate_repeated_tokens: Callable) -> str:
    model = _tiny_model("random")
    got = generate_repeated_tokens(model, 7, 3)
    expect_type(got, t.Tensor, "generate_repeated_tokens(model, 7, 3)")
    if tuple(got.shape) == (3, 14):
        raise CheckFailure("generate_repeated_tokens(model, 7, 3) has shape (3, 14): it forgot the BOS token in "
                           "front; expected (3, 15).")
    expect_shape(got, (3, 15), "generate_repeated_tokens(model, seq_len=7, batch=3)")
    if got.dtype != t.long:
        raise CheckFailure(f"token ids should be integers (torch.long), got {got.dtype}")
    bos = model.tokenizer.bos_token_id
    if not (got[:, 0] == bos).all():
        raise CheckFailure(f"the first token of every row should be BOS (id {bos}), got {got[:, 0].tolist()}")
    if not t.equal(got[:, 1:8], got[:, 8:]):
        raise CheckFailure("the second copy (positions 8-14) should equal the first (positions 1-7); got\n"
                           f"{describe_tensor(got)}")
    if (got[:, 1:] == bos).any() or (got < 0).any() or (got >= model.cfg.d_vocab).any():
        raise CheckFailure(f"random tokens must be ids in 1..{model.cfg.d_vocab - 1} (any token but BOS)")
    if t.equal(got[0], got[1]) or t.equal(got, generate_repeated_tokens(model, 7, 3)):
        raise CheckFailure("the tokens should be random: different rows, and different on each call")
    return "BOS + 7 random tokens + the same 7, for 3 rows"


@time_limit(MODEL_TIME_LIMIT)
def check_run_and_cache_model_repeated_tokens(run_and_cache_model_repeated_tokens: Callable) -> str:
    model = _tiny_model("random")
    got = run_and_cache_model_repeated_tokens(model, 5, 2)
    expect_type(got, tuple, "run_and_cache_model_repeated_tokens(model, 5, 2)")
    expect_equal(len(got), 3, "number of returned items (tokens, logits, cache)")
    tokens, logits, cache = got
    expect_shape(tokens, (2, 11), "tokens")
    if not t.equal(tokens[:, 1:6], tokens[:, 6:]):
        raise CheckFailure("the tokens returned are not BOS + a sequence repeated twice")
    with t.no_grad():
        expected_logits, expected_cache = model.run_with_cache(tokens)
    expect_close(logits, expected_logits, what="logits (vs model(tokens))", atol=1e-4)
    expect_close(cache["pattern", 1], expected_cache["pattern", 1], what="cache['pattern', 1]", atol=1e-5)
    return "tokens, logits and cache agree with each other"


# ------------------------------------------------------------------ 3️⃣ hooks


@time_limit(MODEL_TIME_LIMIT)
def check_induction_scores(induction_scores: Callable) -> str:
    model = _tiny_model("positional")  # patterns depend on positions only: scores are exact
    seq_len = 6
    got = induction_scores(model, seq_len=seq_len, batch=2)
    expected = ref.induction_scores(model, seq_len=seq_len, batch=2)
    expect_type(got, t.Tensor, "induction_scores(model, seq_len=6, batch=2)")
    expect_shape(got, (2, 4), "induction_scores(...) ([n_layers, n_heads])")
    pattern = model.run_with_cache(_tokens(seq_len, 1))[1]
    patterns = t.stack([pattern["pattern", layer][0] for layer in range(2)])  # [layer, head, q, k]
    known = {
        "the stripe is one position too far left: it reads attention to the first occurrence of the same "
        "token (offset seq_len) instead of the token after it (offset seq_len - 1)":
            patterns[..., seq_len + 1:, :].diagonal(offset=1, dim1=-2, dim2=-1).mean(-1),
        "the queries start one position too early (at seq_len, the last token of the first copy): did the "
        "BOS token get forgotten when locating the second copy?":
            patterns[..., seq_len:2 * seq_len, :].diagonal(offset=1, dim1=-2, dim2=-1).mean(-1),
        "the stripe has the diagonal's full length (it includes two queries from the first copy); average "
        "over the seq_len queries of the second copy only":
            patterns.diagonal(offset=1 - seq_len, dim1=-2, dim2=-1).mean(-1),
    }
    for reason, scores in known.items():
        if t.allclose(got, scores, atol=1e-5) and not t.allclose(scores, expected, atol=1e-5):
            raise CheckFailure(f"induction_scores on a model whose patterns depend only on position: {reason}. "
                               f"Expected\n{describe_tensor(expected)}\ngot\n{describe_tensor(got)}")
    expect_close(got, expected, what="induction_scores(tiny positional model, seq_len=6, batch=2)", atol=1e-5)
    return "exact on a model whose attention depends only on position"


def check_head_results(head_results: Callable) -> str:
    gen = t.Generator().manual_seed(2)
    z, W_O = t.randn(2, 5, 3, 4, generator=gen), t.randn(3, 4, 6, generator=gen)
    got = head_results(z, W_O)
    expect_type(got, t.Tensor, "head_results(z, W_O)")
    expect_shape(got, (2, 5, 3, 6), "head_results(z [2, 5, 3 heads, 4], W_O [3, 4, 6])")
    expect_close(got, ref.head_results(z, W_O), what="head_results(z, W_O)", atol=1e-5)
    expect_close(head_results(z[0], W_O), ref.head_results(z[0], W_O), what="head_results without a batch axis",
                 atol=1e-5)
    return "with and without a batch axis"


def check_logit_attribution(logit_attribution: Callable) -> str:
    gen = t.Generator().manual_seed(3)
    seq, n_heads, d_model, d_vocab = 6, 3, 8, 11
    embed = t.randn(seq, d_model, generator=gen)
    l1, l2 = t.randn(seq, n_heads, d_model, generator=gen), t.randn(seq, n_heads, d_model, generator=gen)
    W_U = t.randn(d_model, d_vocab, generator=gen)
    tokens = t.randint(0, d_vocab, (seq,), generator=gen)
    got = logit_attribution(embed, l1, l2, W_U, tokens)
    expected = ref.logit_attribution(embed, l1, l2, W_U, tokens)
    expect_type(got, t.Tensor, "logit_attribution(...)")
    expect_shape(got, (seq - 1, 1 + 2 * n_heads), "logit_attribution(...) for seq 6, 3 heads")
    shifted = t.cat([(embed[:-1] * W_U[:, tokens[:-1]].T).sum(-1)[:, None],
                     t.einsum("shd,ds->sh", l1[:-1], W_U[:, tokens[:-1]]),
                     t.einsum("shd,ds->sh", l2[:-1], W_U[:, tokens[:-1]])], dim=-1)
    if t.allclose(got, shifted, atol=1e-4):
        raise CheckFailure("logit_attribution used the unembedding of token i at position i; position i predicts "
                           "token i + 1, so use W_U[:, tokens[1:]].")
    expect_close(got, expected, what="logit_attribution(random inputs)", atol=1e-4)
    return "random inputs: seq 6, 3 heads per layer"


def check_head_ablation_hook(head_ablation_hook: Callable) -> str:
    gen = t.Generator().manual_seed(4)
    v = t.randn(2, 5, 4, 3, generator=gen)
    for head in (1, 3):
        got = head_ablation_hook(v.clone(), None, head_index_to_ablate=head)
        expect_type(got, t.Tensor, "head_ablation_hook must return the (edited) tensor; got")
        expected = ref.head_ablation_hook(v.clone(), None, head_index_to_ablate=head)
        zeroed = [h for h in range(4) if (got[:, :, h] == 0).all()] if got.shape == v.shape else []
        if got.shape == v.shape and zeroed != [head]:
            raise CheckFailure(f"head_ablation_hook(v [batch 2, seq 5, heads 4, d_head 3], head_index_to_ablate="
                               f"{head}) should zero exactly head {head} (axis 2) everywhere; heads fully zeroed: "
                               f"{zeroed}. Did it index the wrong axis or the wrong head?")
        expect_close(got, expected, what=f"head_ablation_hook(v, hook, head_index_to_ablate={head})")
    return "zeroes exactly the asked head"


@time_limit(MODEL_TIME_LIMIT)
def check_get_ablation_scores(get_ablation_scores: Callable) -> str:
    model = _tiny_model("random")
    tokens = _tokens(5, 2, seed=1)
    got = get_ablation_scores(model, tokens)
    expected = ref.get_ablation_scores(model, tokens)
    expect_type(got, t.Tensor, "get_ablation_scores(model, tokens)")
    expect_shape(got, (2, 4), "get_ablation_scores(...) ([n_layers, n_heads])")
    if t.allclose(got[1], expected[0], atol=1e-4) or t.allclose(got[0], expected[1], atol=1e-4):
        raise CheckFailure("a row of get_ablation_scores holds another layer's scores: the hook goes on "
                           "get_act_name('z', layer) for the layer being scored.")
    if t.allclose(got.roll(1, dims=1), expected, atol=1e-4) or t.allclose(got.roll(-1, dims=1), expected, atol=1e-4):
        raise CheckFailure("get_ablation_scores' columns are shifted by one head: the score of head h must come "
                           "from ablating head h.")
    expect_close(got, expected, what="get_ablation_scores(tiny random model, seq_len 5, batch 2)", atol=1e-4)
    return "exact on a tiny random model"


# ------------------------------------------------------------------ 4️⃣ circuits


class _NoFullProduct(FactoredMatrix):
    """A FactoredMatrix that refuses to build its whole product (slices of it are fine)."""

    @property
    def AB(self):  # noqa: N802 - TransformerLens's name
        raise CheckFailure(f"top_1_acc built the whole {self.ldim} x {self.rdim} matrix (.AB); on GPT-2's vocabulary "
                           "that is 50257² floats (10 GB). Slice rows first: full_OV_circuit[i:j].AB.")


@time_limit(MODEL_TIME_LIMIT)
def check_top_1_acc(top_1_acc: Callable) -> str:
    gen = t.Generator().manual_seed(5)
    n, r = 1201, 8
    A, B = t.randn(n, r, generator=gen), t.randn(r, n, generator=gen)
    A[:400] = B[:, :400].T * 3  # the first 400 rows map to themselves; columns are less clean
    matrix = _NoFullProduct(A, B)
    for batch_size in (500, 7 * 37):
        got = _float_result(top_1_acc(matrix, batch_size=batch_size), "top_1_acc(...)")
        expected = ref.top_1_acc(FactoredMatrix(A, B), batch_size=batch_size)
        by_columns = ref.top_1_acc(FactoredMatrix(B.T, A.T))
        if abs(got - by_columns) < 1e-9 and abs(expected - by_columns) > 1e-9:
            raise CheckFailure(f"top_1_acc took the argmax over each column ({got:.4f}); the accuracy is over rows "
                               f"(source tokens): expected {expected:.4f}")
        if abs(got - expected) > 1e-9:
            raise CheckFailure(f"top_1_acc on a 1201 x 1201 factored matrix with batch_size={batch_size}: expected "
                               f"{expected:.4f}, got {got:.4f}. Does the last, partial batch count?")
    return "1201 x 1201, two batch sizes, never built whole"


def check_pos_by_pos_pattern(pos_by_pos_pattern: Callable) -> str:
    gen = t.Generator().manual_seed(6)
    W_pos, W_Q, W_K = t.randn(9, 12, generator=gen), t.randn(12, 4, generator=gen), t.randn(12, 4, generator=gen)
    got = pos_by_pos_pattern(W_pos, W_Q, W_K)
    expect_type(got, t.Tensor, "pos_by_pos_pattern(W_pos, W_Q, W_K)")
    expect_shape(got, (9, 9), "pos_by_pos_pattern(W_pos [9, 12], W_Q [12, 4], W_K [12, 4])")
    if got.triu(diagonal=1).abs().max() > 1e-6:
        raise CheckFailure("pos_by_pos_pattern gives weight to later positions: mask scores above the diagonal "
                           "with -inf before the softmax (a query only sees keys at or before it).")
    if t.allclose(got, ref.pos_by_pos_pattern(W_pos * 2, W_Q, W_K), atol=1e-5):
        raise CheckFailure("pos_by_pos_pattern forgot to divide the scores by sqrt(d_head) = 2 before the softmax.")
    expect_close(got, ref.pos_by_pos_pattern(W_pos, W_Q, W_K), what="pos_by_pos_pattern(random weights)", atol=1e-5)
    return "masked, scaled, softmaxed over keys"


def _processed_cache() -> tuple[object, ActivationCache]:
    model = _tiny_model("processed")
    with t.no_grad():
        _, cache = model.run_with_cache(_tokens(5, 1, seed=2)[0], remove_batch_dim=True)
    return model, cache


@time_limit(MODEL_TIME_LIMIT)
def check_decompose_qk_input(decompose_qk_input: Callable) -> str:
    _, cache = _processed_cache()
    got = decompose_qk_input(cache)
    expected = ref.decompose_qk_input(cache)
    expect_type(got, t.Tensor, "decompose_qk_input(cache)")
    expect_shape(got, tuple(expected.shape), "decompose_qk_input(cache) ([2 + n_heads, seq, d_model])")
    scale = cache["blocks.1.ln1.hook_scale"]
    if t.allclose(got, expected * scale, atol=1e-4):
        raise CheckFailure("decompose_qk_input returned the raw pieces; divide each by layer 1's LayerNorm scale "
                           "(cache['blocks.1.ln1.hook_scale']), as the LayerNorm does before W_Q and W_K.")
    expect_close(got, expected, what="decompose_qk_input(cache of a tiny processed model)", atol=1e-4)
    return "embeddings, positions and each layer-0 head, scaled by layer 1's LN"


@time_limit(MODEL_TIME_LIMIT)
def check_decompose_q(decompose_q: Callable) -> str:
    model, cache = _processed_cache()
    x = ref.decompose_qk_input(cache)
    got = decompose_q(x, 2, model)
    if isinstance(got, t.Tensor) and t.allclose(got, ref.decompose_k(x, 2, model), atol=1e-5):
        raise CheckFailure("decompose_q used W_K; queries come from W_Q.")
    expect_close(got, ref.decompose_q(x, 2, model), what="decompose_q(decomposed input, 2, model)", atol=1e-4)
    return "head 1.2 of a tiny processed model"


@time_limit(MODEL_TIME_LIMIT)
def check_decompose_k(decompose_k: Callable) -> str:
    model, cache = _processed_cache()
    x = ref.decompose_qk_input(cache)
    got = decompose_k(x, 1, model)
    if isinstance(got, t.Tensor) and t.allclose(got, ref.decompose_q(x, 1, model), atol=1e-5):
        raise CheckFailure("decompose_k used W_Q; keys come from W_K.")
    expect_close(got, ref.decompose_k(x, 1, model), what="decompose_k(decomposed input, 1, model)", atol=1e-4)
    return "head 1.1 of a tiny processed model"


def check_decompose_attn_scores(decompose_attn_scores: Callable) -> str:
    gen = t.Generator().manual_seed(8)
    q, k = t.randn(3, 5, 4, generator=gen), t.randn(2, 6, 4, generator=gen)
    got = decompose_attn_scores(q, k)
    expect_type(got, t.Tensor, "decompose_attn_scores(q, k)")
    expect_shape(got, (3, 2, 5, 6), "decompose_attn_scores(q [3 comps, 5, 4], k [2 comps, 6, 4])")
    expect_close(got, ref.decompose_attn_scores(q, k), what="decompose_attn_scores(q, k)", atol=1e-5)
    return "3 query pieces x 2 key pieces"


@time_limit(MODEL_TIME_LIMIT)
def check_find_K_comp_full_circuit(find_K_comp_full_circuit: Callable) -> str:
    model = _tiny_model("random")
    got = find_K_comp_full_circuit(model, 1, 2)
    expect_type(got, FactoredMatrix, "find_K_comp_full_circuit(model, 1, 2)")
    expect_shape(got, (D_VOCAB, D_VOCAB), "find_K_comp_full_circuit(...)")
    expected = ref.find_K_comp_full_circuit(model, 1, 2)
    probe = t.randn(D_VOCAB, 3, generator=t.Generator().manual_seed(9))

    def times(matrix: FactoredMatrix) -> t.Tensor:
        return matrix.A @ (matrix.B @ probe)

    if t.allclose(times(got.T), times(expected), rtol=1e-3, atol=1e-3):
        raise CheckFailure("find_K_comp_full_circuit is transposed: rows are query tokens, columns key tokens "
                           "(return FactoredMatrix(Q, K.T)).")
    expect_close(times(got), times(expected), what="find_K_comp_full_circuit(model, 1, 2) @ random vectors",
                 rtol=1e-3, atol=1e-3)
    return "prev head 0.1 -> induction head 1.2 of a tiny random model"


def check_get_comp_score(get_comp_score: Callable) -> str:
    gen = t.Generator().manual_seed(10)
    W_A, W_B = t.randn(8, 5, generator=gen) @ t.randn(5, 8, generator=gen), t.randn(8, 6, generator=gen)
    got = _float_result(get_comp_score(W_A, W_B), "get_comp_score(W_A, W_B)")
    expected = ref.get_comp_score(W_A, W_B)
    spectral = (t.linalg.matrix_norm(W_A @ W_B) / (t.linalg.matrix_norm(W_A, ord=2) *
                                                   t.linalg.matrix_norm(W_B, ord=2))).item()
    if abs(got - spectral) < 1e-5:
        raise CheckFailure(f"get_comp_score normalised by spectral norms (largest singular values); the score "
                           f"divides by Frobenius norms: expected {expected:.5f}, got {got:.5f}")
    if abs(got - expected) > 1e-5 * max(1.0, abs(expected)):
        raise CheckFailure(f"get_comp_score(W_A [8, 8], W_B [8, 6]): expected ||W_A W_B||_F / (||W_A||_F ||W_B||_F) "
                           f"= {expected:.5f}, got {got:.5f}")
    return f"{expected:.4f} on random matrices"


def check_get_batched_comp_scores(get_batched_comp_scores: Callable) -> str:
    gen = t.Generator().manual_seed(12)
    W_As = FactoredMatrix(t.randn(3, 10, 4, generator=gen), t.randn(3, 4, 10, generator=gen))
    W_Bs = FactoredMatrix(t.randn(2, 10, 4, generator=gen), t.randn(2, 4, 7, generator=gen))
    got = get_batched_comp_scores(W_As, W_Bs)
    expected = t.tensor([[ref.get_comp_score(W_As.AB[i], W_Bs.AB[j]) for j in range(2)] for i in range(3)])
    expect_type(got, t.Tensor, "get_batched_comp_scores(W_As, W_Bs)")
    expect_shape(got, (3, 2), "get_batched_comp_scores(3 A matrices, 2 B matrices)")
    expect_close(got, expected, what="get_batched_comp_scores vs get_comp_score on each pair", atol=1e-5)
    return "3 x 2 pairs agree with get_comp_score"


@time_limit(MODEL_TIME_LIMIT)
def check_ablation_induction_score(ablation_induction_score: Callable) -> str:
    model = _tiny_model("random")
    tokens = _tokens(6, 2, seed=3)
    for prev in (None, 1, 3):
        got = _float_result(ablation_induction_score(model, tokens, prev, 2), "ablation_induction_score(...)")
        expected = ref.ablation_induction_score(model, tokens, prev, 2)
        if abs(got - expected) > 1e-5:
            raise CheckFailure(
                f"ablation_induction_score(model, tokens, prev_head_index={prev}, ind_head_index=2) on a tiny "
                f"random model: expected {expected:.5f}, got {got:.5f}. The ablation zeroes head {prev}'s v in "
                "layer 0 (get_act_name('v', 0)) and the score is head 1.2's induction stripe.")
    return "no ablation and two ablated layer-0 heads"
