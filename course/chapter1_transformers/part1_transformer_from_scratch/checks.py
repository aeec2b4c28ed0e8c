"""Checks for part 1.1: each check_<name> takes the learner's function or class and raises CheckFailure.

The module checks copy the reference model's weights (course-gpt; a seeded random model of the same
shape when course-gpt is not there) into the learner's module and compare its output with the
reference model's cached activations on a few short prompts. When the output is wrong, they also
compare it with the outputs of the usual mistakes, to say which one it looks like."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from arena.checking import CheckFailure, expect_close, expect_equal, expect_shape, expect_type, time_limit

from . import solutions as ref

TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "zoo" / "weights" / "tokenizer"
PROMPTS = [" Mary and John went to the park. Mary gave a ball to John. John was very happy.",
           " Tom found a red kite in the garden. He showed it to Lily, and they played until it was dark."]
SEQ_LEN = 16
MODULE_TIME_LIMIT = 60  # the first check of a run imports TransformerLens (several seconds on a cold laptop)

# ------------------------------------------------------------------ the reference model


def _random_reference() -> Any:
    """A seeded random GPT-2 of course-gpt's shape, with every weight (LayerNorm gains, biases) perturbed."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import GPT2Config, GPT2LMHeadModel

    from course.chapter1_transformers.zoo.configs import COURSE_GPT as c

    tok = tokenizer()
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(
        n_layer=c.n_layer, n_embd=c.d_model, n_head=c.n_head, n_inner=c.d_mlp, n_positions=c.n_ctx,
        vocab_size=len(tok), activation_function="gelu_new", layer_norm_epsilon=1e-5, resid_pdrop=0.0,
        embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return TransformerBridge.boot_transformers("gpt2", hf_model=hf, tokenizer=tok, device="cpu").eval()


@cache
def tokenizer() -> Any:
    from course.chapter1_transformers.zoo.tokenizer import load_tokenizer

    return load_tokenizer(TOKENIZER_DIR)


@cache
def reference_model() -> Any:
    """course-gpt (a TransformerBridge) if it is shipped, else a random model of the same architecture."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    from arena import zoo
    from arena.resources import load_course_model

    try:
        return load_course_model("course-gpt")
    except (zoo.StaleModel, OSError, KeyError):
        return _random_reference()


def reference_is_course_gpt() -> bool:
    return getattr(reference_model().cfg, "model_name", "") != "gpt2"


@cache
def reference_config() -> ref.Config:
    return ref.config_from_reference(reference_model())


@cache
def reference_weights() -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in reference_model().tl_parameters().items()}


@cache
def prompt_tokens() -> Tensor:
    """Two prompts of SEQ_LEN tokens each (BOS first)."""
    tok = tokenizer()
    return torch.stack([ref.encode_prompt(tok, p)[:SEQ_LEN] for p in PROMPTS])


@cache
def reference_run() -> tuple[Tensor, dict[str, Tensor]]:
    """The reference model's logits and every cached activation on prompt_tokens()."""
    with torch.no_grad():
        logits, activations = reference_model().run_with_cache(prompt_tokens())
    return logits.detach(), {k: v.detach() for k, v in activations.items()}


@cache
def reference_demo() -> ref.DemoTransformer:
    return _filled(ref.DemoTransformer(reference_config()), "")


@cache
def reference_demo_with_cache() -> ref.DemoTransformerWithCache:
    return _filled(ref.DemoTransformerWithCache(reference_config()), "")


# ------------------------------------------------------------------ helpers


def _filled(module: nn.Module, prefix: str) -> Any:
    """`module` with the reference weights under `prefix` ("blocks.1.attn", "" for the whole model) copied in."""
    start = f"{prefix}." if prefix else ""
    weights = {k[len(start):]: v for k, v in reference_weights().items() if k.startswith(start)}
    return _load(module, weights, type(module).__name__)


def _load(module: nn.Module, weights: dict[str, Tensor], what: str) -> Any:
    params = dict(module.named_parameters())
    missing = sorted(set(weights) - set(params))
    extra = sorted(set(params) - set(weights))
    if missing:
        raise CheckFailure(f"Your {what} has no parameter(s) {', '.join(missing)}: keep the names (and shapes) "
                           "given in __init__, as in TransformerLens, so that the reference weights load into it.")
    if extra:
        raise CheckFailure(f"Your {what} has parameter(s) the reference does not: {', '.join(extra)}. Keep "
                           "exactly the parameters given in __init__ (store constants as buffers).")
    with torch.no_grad():
        for name, p in params.items():
            if tuple(p.shape) != tuple(weights[name].shape):
                raise CheckFailure(f"Your {what}'s parameter {name} has shape {tuple(p.shape)}; the reference's "
                                   f"is {tuple(weights[name].shape)}.")
            p.copy_(weights[name])
    return module.eval()


def _build(cls: type, cfg: ref.Config, what: str) -> nn.Module:
    module = cls(cfg)
    if not isinstance(module, nn.Module):
        raise CheckFailure(f"{what}(cfg) should be a torch.nn.Module, got {type(module).__name__}")
    return module


def _compare(got: Any, expected: Tensor, what: str, candidates: dict[str, Tensor] | None = None,
             rtol: float = 1e-4, atol: float = 1e-4) -> None:
    """expect_close, and on failure say which known mistake the output matches (if any)."""
    if isinstance(got, Tensor):
        got = got.detach()
    try:
        expect_close(got, expected, what=what, rtol=rtol, atol=atol)
    except CheckFailure as err:
        hint = _diagnose(got, candidates or {}, rtol, atol)
        raise CheckFailure(f"{err}.{hint}") from None


def _diagnose(got: Any, candidates: dict[str, Tensor], rtol: float, atol: float) -> str:
    if not isinstance(got, Tensor):
        return ""
    for reason, wrong_output in candidates.items():
        if got.shape == wrong_output.shape and torch.allclose(got.double(), wrong_output.double(), rtol=rtol,
                                                              atol=atol):
            return f" It matches what you get if you {reason}."
    return ""


def _run(module: nn.Module, *args: Any) -> Any:
    with torch.no_grad():
        return module(*args)


# ------------------------------------------------------------------ 2️⃣ the modules


def _layer_norm_variants(x: Tensor, w: Tensor, b: Tensor, eps: float) -> dict[str, Tensor]:
    centred = x - x.mean(-1, keepdim=True)
    var = centred.pow(2).mean(-1, keepdim=True)
    return {
        "use the unbiased variance (dividing by d_model - 1; LayerNorm divides by d_model)":
            centred / (x.var(-1, keepdim=True, unbiased=True) + eps).sqrt() * w + b,
        "add eps outside the square root (it belongs inside: sqrt(var + eps))": centred / (var.sqrt() + eps) * w + b,
        "leave out eps": centred / var.sqrt() * w + b,
        "use eps = 1e-5 instead of cfg.layer_norm_eps": centred / (var + 1e-5).sqrt() * w + b,
        "forget the scale w and the shift b": centred / (var + eps).sqrt(),
        "forget to subtract the mean": x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w + b,
    }


def _awkward_rows(d_model: int, seed: int = 0) -> Tensor:
    """Residual vectors LayerNorm mistakes show on: an offset mean, and tiny and large spreads."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.tensor([1e-3, 3e-3, 0.05, 1.0, 30.0]).repeat(2)
    return (3.0 + scales[:, None] * torch.randn(10, d_model, generator=g)).view(2, 5, d_model)


@time_limit(MODULE_TIME_LIMIT)
def check_LayerNorm(LayerNorm: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    ln = _filled(_build(LayerNorm, cfg, "LayerNorm"), "blocks.1.ln1")
    w, b = reference_weights()["blocks.1.ln1.w"], reference_weights()["blocks.1.ln1.b"]
    x = acts["blocks.1.hook_resid_pre"]
    _compare(_run(ln, x), acts["blocks.1.ln1.hook_out"], "LayerNorm (blocks.1.ln1) on the prompts' residual stream",
             _layer_norm_variants(x, w, b, cfg.layer_norm_eps))
    rows = _awkward_rows(cfg.d_model)
    _compare(_run(ln, rows), F.layer_norm(rows, (cfg.d_model,), w, b, cfg.layer_norm_eps),
             "LayerNorm on vectors with a tiny spread (std 1e-3) and a large one (std 30)",
             _layer_norm_variants(rows, w, b, cfg.layer_norm_eps))
    other = ref.Config(**{**vars(cfg), "layer_norm_eps": 1e-3})
    ln2 = _filled(_build(LayerNorm, other, "LayerNorm"), "blocks.1.ln1")
    _compare(_run(ln2, rows), F.layer_norm(rows, (cfg.d_model,), w, b, 1e-3),
             "LayerNorm with cfg.layer_norm_eps = 1e-3", _layer_norm_variants(rows, w, b, 1e-3))
    return "matches blocks.1.ln1 of the reference, also on tiny and large spreads and another eps"


@time_limit(MODULE_TIME_LIMIT)
def check_Embed(Embed: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    embed = _filled(_build(Embed, cfg, "Embed"), "embed")
    tokens = prompt_tokens()
    _compare(_run(embed, tokens), acts["hook_embed"], "Embed on the prompts' tokens")
    _compare(_run(embed, tokens[:1, :3]), acts["hook_embed"][:1, :3], "Embed on one sequence of 3 tokens")
    return "the reference's token embeddings"


@time_limit(MODULE_TIME_LIMIT)
def check_PosEmbed(PosEmbed: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    pos = _filled(_build(PosEmbed, cfg, "PosEmbed"), "pos_embed")
    tokens = prompt_tokens()
    for toks, what in [(tokens, f"2 sequences of {SEQ_LEN} tokens"), (tokens[:1, :5], "1 sequence of 5 tokens")]:
        got = _run(pos, toks)
        expect_type(got, Tensor, "PosEmbed")
        batch, seq = toks.shape
        if got.ndim >= 2 and got.shape[-2] == cfg.n_ctx and seq != cfg.n_ctx:
            raise CheckFailure(f"PosEmbed on {what} returned shape {tuple(got.shape)}: one row per position of "
                               f"the context window (n_ctx = {cfg.n_ctx}). Slice W_pos to the sequence length "
                               f"(W_pos[:{seq}]).")
        if tuple(got.shape) == (seq, cfg.d_model):
            raise CheckFailure(f"PosEmbed on {what} returned shape {tuple(got.shape)}: give every sequence of "
                               f"the batch its copy, shape (batch, position, d_model) = {(batch, seq, cfg.d_model)} "
                               "(einops.repeat).")
        _compare(got, acts["hook_pos_embed"][:batch, :seq], f"PosEmbed on {what}")
    return "rows 0..seq_len-1 of W_pos for every sequence, for two lengths"


def _attention_parts(x: Tensor, w: dict[str, Tensor], d_head: int) -> tuple[Tensor, Tensor, Tensor]:
    q = torch.einsum("bpd,ndh->bpnh", x, w["W_Q"]) + w["b_Q"]
    k = torch.einsum("bpd,ndh->bpnh", x, w["W_K"]) + w["b_K"]
    v = torch.einsum("bpd,ndh->bpnh", x, w["W_V"]) + w["b_V"]
    return torch.einsum("bqnh,bknh->bnqk", q, k), v, q


def _attention_variants(x: Tensor, w: dict[str, Tensor], d_head: int, d_model: int) -> dict[str, Tensor]:
    raw, v, _ = _attention_parts(x, w, d_head)
    n = raw.shape[-1]
    future = torch.ones(n, n, dtype=torch.bool).triu(1)

    def out(pattern: Tensor, bias: bool = True) -> Tensor:
        z = torch.einsum("bnqk,bknh->bqnh", pattern, v)
        return torch.einsum("bqnh,nhd->bqd", z, w["W_O"]) + (w["b_O"] if bias else 0)

    def softmax(scores: Tensor, mask: Tensor = future, fill: float = float("-inf")) -> Tensor:
        return scores.masked_fill(mask, fill).softmax(-1)

    right = softmax(raw / math.sqrt(d_head))
    z = torch.einsum("bnqk,bknh->bqnh", right, v)
    return {
        "forget b_O (add it once, after summing the heads)": out(right, bias=False),
        "sum the heads' z vectors before W_O (each head has its own W_O; sum after it)":
            torch.einsum("bqh,nhd->bqd", z.sum(2), w["W_O"]) + w["b_O"],
        "fill masked scores with 0 instead of a large negative number":
            out(softmax(raw / math.sqrt(d_head), fill=0.0)),
        "mask so that position i also sees position i+1": out(softmax(raw / math.sqrt(d_head),
                                                                   torch.ones(n, n, dtype=torch.bool).triu(2))),
        "mask the diagonal too (each position must see itself)":
            out(softmax(raw / math.sqrt(d_head), torch.ones(n, n, dtype=torch.bool).triu(0)).nan_to_num(0.0)),
        "forget the causal mask": out(raw.div(math.sqrt(d_head)).softmax(-1)),
        "divide the scores by d_head (it is sqrt(d_head))": out(softmax(raw / d_head)),
        "forget to divide the scores by sqrt(d_head)": out(softmax(raw)),
        "divide the scores by sqrt(d_model) (it is sqrt(d_head))": out(softmax(raw / math.sqrt(d_model))),
        "take the softmax over the query positions (it is over the keys, the last axis)":
            out(raw.div(math.sqrt(d_head)).masked_fill(future, float("-inf")).softmax(-2).nan_to_num(0.0)),
    }


def _check_causal_mask(attn: nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(2, 3, 5, 5, generator=g)
    got = attn.apply_causal_mask(scores.clone())
    expect_type(got, Tensor, "apply_causal_mask")
    expect_shape(got, (2, 3, 5, 5), "apply_causal_mask(scores of shape (2, 3, 5, 5))")
    future = torch.ones(5, 5, dtype=torch.bool).triu(1)
    kept, masked = got[..., ~future], got[..., future]
    if not torch.allclose(kept, scores[..., ~future]):
        if torch.isinf(got[..., 0, 0]).any() or (got[..., torch.eye(5, dtype=torch.bool)] < -1e3).any():
            raise CheckFailure("apply_causal_mask masked the diagonal: query i must see key i (itself); only keys "
                               "j > i are masked (torch.triu(..., diagonal=1)).")
        raise CheckFailure("apply_causal_mask changed scores of keys at or before their query (key_pos <= "
                           "query_pos): those must be returned unchanged; only the future is masked.")
    if torch.allclose(masked, torch.zeros_like(masked)):
        raise CheckFailure("apply_causal_mask set the future scores to 0, but softmax(0) = 1 still gives those "
                           "keys weight: fill them with a large negative number (self.IGNORE, -inf) instead.")
    if (masked > -1e4).any():
        next_key = torch.ones(5, 5, dtype=torch.bool).triu(1) & ~torch.ones(5, 5, dtype=torch.bool).triu(2)
        if (got[..., next_key] > -1e4).all() and (got[..., torch.ones(5, 5, dtype=torch.bool).triu(2)] <= -1e4).all():
            raise CheckFailure("apply_causal_mask lets query i see key i+1 (the next token, the one it must "
                               "predict): mask every key j > i, i.e. torch.triu(ones, diagonal=1).")
        raise CheckFailure("apply_causal_mask left some future scores (key_pos > query_pos) unmasked or only "
                           "slightly negative: every one must be a large negative number (self.IGNORE).")


@time_limit(MODULE_TIME_LIMIT)
def check_Attention(Attention: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    attn = _filled(_build(Attention, cfg, "Attention"), "blocks.1.attn")
    _check_causal_mask(attn)
    x = acts["blocks.1.ln1.hook_out"]
    w = {k.split(".")[-1]: v for k, v in reference_weights().items() if k.startswith("blocks.1.attn.")}
    seen: list[Tensor] = []
    original = attn.apply_causal_mask

    def spy(scores: Tensor) -> Tensor:
        seen.append(scores.detach().clone())
        return original(scores)

    attn.apply_causal_mask = spy  # an instance attribute: forward's self.apply_causal_mask finds it
    got = _run(attn, x)
    raw, _, _ = _attention_parts(x, w, cfg.d_head)
    if not seen:
        raise CheckFailure("Attention.forward never called self.apply_causal_mask: mask the scores with it "
                           "(the check, and later hooks, rely on that).")
    if seen[0].shape == raw.shape and torch.allclose(seen[0], raw, rtol=1e-4, atol=1e-4):
        raise CheckFailure("apply_causal_mask received scores not yet divided by sqrt(d_head): you mask before "
                           "scaling. Scale first (q.k / sqrt(d_head)), then mask, then softmax.")
    _compare(seen[0], raw / math.sqrt(cfg.d_head), "the scores Attention passes to apply_causal_mask "
             "(q.k / sqrt(d_head), shape (batch, n_heads, query_pos, key_pos))",
             {"forget to add the biases b_Q and b_K": torch.einsum(
                 "bqnh,bknh->bnqk", torch.einsum("bpd,ndh->bpnh", x, w["W_Q"]),
                 torch.einsum("bpd,ndh->bpnh", x, w["W_K"])) / math.sqrt(cfg.d_head),
              "divide by d_head instead of sqrt(d_head)": raw / cfg.d_head})
    _compare(got, acts["blocks.1.hook_attn_out"], "Attention (blocks.1.attn) on the prompts",
             _attention_variants(x, w, cfg.d_head, cfg.d_model))
    return "causal mask, scaling and output match blocks.1.attn of the reference"


@time_limit(MODULE_TIME_LIMIT)
def check_MLP(MLP: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    mlp = _filled(_build(MLP, cfg, "MLP"), "blocks.1.mlp")
    w = {k.split(".")[-1]: v for k, v in reference_weights().items() if k.startswith("blocks.1.mlp.")}
    for x, expected, what in [
        (acts["blocks.1.ln2.hook_out"], acts["blocks.1.hook_mlp_out"], "MLP (blocks.1.mlp) on the prompts"),
        (3 * acts["blocks.1.ln2.hook_out"], None, "MLP on 3 x the prompts' input (larger pre-activations)"),
    ]:
        pre = x @ w["W_in"] + w["b_in"]
        if expected is None:
            expected = ref.gelu_new(pre) @ w["W_out"] + w["b_out"]
        candidates = {
            "use the exact GELU (F.gelu / nn.GELU()) instead of GPT-2's tanh approximation (gelu_new)":
                F.gelu(pre) @ w["W_out"] + w["b_out"],
            "use ReLU instead of GPT-2's GELU": F.relu(pre) @ w["W_out"] + w["b_out"],
            "forget b_in": ref.gelu_new(x @ w["W_in"]) @ w["W_out"] + w["b_out"],
            "forget b_out": ref.gelu_new(pre) @ w["W_out"],
        }
        _compare(_run(mlp, x), expected, what, candidates, rtol=1e-5, atol=1e-5)
    return "matches blocks.1.mlp, with GPT-2's tanh GELU"


@time_limit(MODULE_TIME_LIMIT)
def check_TransformerBlock(TransformerBlock: type) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    block = _filled(_build(TransformerBlock, cfg, "TransformerBlock"), "blocks.1")
    x = acts["blocks.1.hook_resid_pre"]
    r = reference_demo().blocks[1]
    with torch.no_grad():
        attn_out = r.attn(r.ln1(x))
        candidates = {
            "forget the residual connections (add each sub-layer's output to its input)":
                r.mlp(r.ln2(attn_out)),
            "apply LayerNorm after adding (post-LN); GPT-2 normalises each sub-layer's input (pre-LN)":
                r.ln2(r.ln1(x + r.attn(x)) + r.mlp(r.ln1(x + r.attn(x)))),
            "feed the MLP from resid_pre instead of resid_mid (attention and MLP in parallel)":
                x + attn_out + r.mlp(r.ln2(x)),
            "use ln1 for the MLP's input as well": x + attn_out + r.mlp(r.ln1(x + attn_out)),
        }
    _compare(_run(block, x), acts["blocks.1.hook_resid_post"], "TransformerBlock (blocks.1) on the prompts",
             candidates)
    return "resid_post of blocks.1 matches"


@time_limit(MODULE_TIME_LIMIT)
def check_Unembed(Unembed: type) -> str:
    cfg = reference_config()
    logits, acts = reference_run()
    unembed = _filled(_build(Unembed, cfg, "Unembed"), "unembed")
    _compare(_run(unembed, acts["ln_final.hook_out"]), logits, "Unembed on the prompts' final residual stream")
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        unembed.b_U.copy_(torch.randn(cfg.d_vocab, generator=g))
    x = torch.randn(1, 3, cfg.d_model, generator=g)
    expected = x @ unembed.W_U + unembed.b_U
    _compare(_run(unembed, x), expected.detach(), "Unembed with a non-zero b_U", {"forget b_U": (x @ unembed.W_U)
                                                                                   .detach()})
    return "the reference's logits, and b_U is added"


def _first_divergence(model: nn.Module, tokens: Tensor) -> str:
    """The first named sub-module of the learner's DemoTransformer whose output differs from the reference's."""
    _, acts = reference_run()
    wanted = {"embed": "hook_embed", "pos_embed": "hook_pos_embed", "ln_final": "ln_final.hook_out"}
    wanted |= {f"blocks.{i}": f"blocks.{i}.hook_resid_post" for i in range(reference_config().n_layers)}
    outputs: dict[str, Tensor] = {}
    handles = []
    for name, module in model.named_modules():
        if name in wanted:
            handles.append(module.register_forward_hook(
                lambda _m, _i, out, name=name: outputs.__setitem__(name, out if isinstance(out, Tensor) else out[0])))
    try:
        _run(model, tokens)
    finally:
        for h in handles:
            h.remove()
    for name in ["embed", "pos_embed", *[f"blocks.{i}" for i in range(reference_config().n_layers)], "ln_final"]:
        out = outputs.get(name)
        if out is None:
            return f" Your DemoTransformer never ran self.{name}."
        expected = acts[wanted[name]]
        if out.shape != expected.shape or not torch.allclose(out, expected, rtol=1e-4, atol=1e-4):
            return (f" The first sub-module whose output differs from the reference's is {name} (check it, and "
                    "what DemoTransformer feeds it).")
    return " Every sub-module's output matches: look at what happens after ln_final (the unembedding)."


@time_limit(MODULE_TIME_LIMIT)
def check_DemoTransformer(DemoTransformer: type) -> str:
    cfg = reference_config()
    logits, _ = reference_run()
    model = _filled(_build(DemoTransformer, cfg, "DemoTransformer"), "")
    tokens = prompt_tokens()
    got = _run(model, tokens)
    try:
        _compare(got, logits, "DemoTransformer's logits on the prompts")
    except CheckFailure as err:
        raise CheckFailure(f"{err}{_first_divergence(model, tokens)}") from None
    _compare(_run(model, tokens[1:, :4]), logits[1:, :4], "DemoTransformer's logits on one sequence of 4 tokens")
    note = f"logits match the reference ({'course-gpt' if reference_is_course_gpt() else 'a random GPT-2'})"
    if gpt2_fetched():
        _check_against_gpt2(DemoTransformer)
        note += " and GPT-2 small"
    return note


def gpt2_fetched() -> bool:
    from arena import resources

    return all((resources.gpt2_dir() / f).exists() for f in resources.GPT2_FILES)


def _check_against_gpt2(DemoTransformer: type) -> None:
    """GPT-2 small (after `arena fetch gpt2`): its weights in the learner's model give its logits."""
    from arena.resources import load_course_model

    gpt2 = load_course_model("gpt2")
    model = _load(_build(DemoTransformer, ref.config_from_reference(gpt2), "DemoTransformer"),
                  {k: v.detach() for k, v in gpt2.tl_parameters().items()}, "DemoTransformer")
    tokens = gpt2.to_tokens(" The Eiffel Tower is in the city of")
    with torch.no_grad():
        expected = gpt2(tokens)
    _compare(_run(model, tokens), expected, "DemoTransformer's logits with GPT-2 small's weights", rtol=1e-3,
             atol=1e-3)


# ------------------------------------------------------------------ 3️⃣ training


TINY = ref.Config(d_model=32, d_vocab=23, n_ctx=12, d_head=8, d_mlp=64, n_heads=4, n_layers=2)


def tiny_model(seed: int = 0) -> ref.DemoTransformer:
    torch.manual_seed(seed)
    return ref.DemoTransformer(TINY)


def tiny_tokens(n: int, seed: int = 0) -> Tensor:
    """Sequences a model can learn quickly: counting up from a random start (mod d_vocab)."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, TINY.d_vocab, (n, 1), generator=g)
    return (start + torch.arange(TINY.n_ctx)) % TINY.d_vocab


@dataclass
class WandbRecord:
    inits: list[dict]
    logs: list[tuple[dict, int | None]]
    finishes: int = 0


@contextlib.contextmanager
def recorded_wandb() -> Iterator[WandbRecord]:
    """Replace wandb.init/log/finish by recorders (nothing is written, no network)."""
    import wandb

    record = WandbRecord([], [])
    saved = wandb.init, wandb.log, wandb.finish

    def init(*args: Any, **kwargs: Any) -> None:
        record.inits.append(kwargs)

    def log(data: dict, step: int | None = None, **kwargs: Any) -> None:
        record.logs.append((dict(data), step))

    def finish(*args: Any, **kwargs: Any) -> None:
        record.finishes += 1

    wandb.init, wandb.log, wandb.finish = init, log, finish
    try:
        yield record
    finally:
        wandb.init, wandb.log, wandb.finish = saved


def _trainers(TransformerTrainer: type, args: ref.TransformerTrainingArgs) -> tuple[Any, Any]:
    train, val = tiny_tokens(32, seed=0), tiny_tokens(8, seed=1)
    theirs = TransformerTrainer(args, tiny_model(), train, val)
    ours = ref.TransformerTrainer(args, tiny_model(), train, val)
    return theirs, ours


def _as_float(x: Any, what: str) -> float:
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise CheckFailure(f"{what} should be a scalar, got a tensor of shape {tuple(x.shape)}")
        return float(x.detach())
    if isinstance(x, int | float):
        return float(x)
    raise CheckFailure(f"{what} should return the loss as a scalar tensor, got {type(x).__name__}")


@time_limit(40)
def check_TransformerTrainer(TransformerTrainer: type) -> str:
    args = ref.TransformerTrainingArgs(batch_size=8, epochs=2, max_steps_per_epoch=3, lr=1e-2)
    theirs, ours = _trainers(TransformerTrainer, args)
    batch = tiny_tokens(8, seed=2)
    for step in range(3):
        with recorded_wandb() as record:
            got = theirs.training_step(batch)
        with recorded_wandb():
            want = ours.training_step(batch)
        got_f = _as_float(got, "training_step")
        if step == 0 and not math.isclose(got_f, want.item(), rel_tol=1e-4):
            raise CheckFailure(f"training_step's loss on a fresh model is {got_f:.5f}; expected {want.item():.5f}, "
                               "the mean over every position of -log p(next token) (-get_log_probs(...).mean()).")
        if step > 0 and not math.isclose(got_f, want.item(), rel_tol=1e-3):
            raise CheckFailure(f"After {step} training step(s) the loss is {got_f:.5f}; the reference's is "
                               f"{want.item():.5f}. The first step was right: does each step take exactly one "
                               "optimizer step and zero the gradients (optimizer.zero_grad()) so they do not "
                               "pile up from one step to the next?")
        logged = [(d, s) for d, s in record.logs if "train_loss" in d]
        expect_equal(len(logged), 1, "training_step should log {'train_loss': loss} to W&B once per step; "
                     "number of such wandb.log calls in one step")
        expect_equal(logged[0][1], step + 1, f"the `step=` of the train_loss log in training step {step + 1} "
                     "(self.step after incrementing it)")
    for (name, p), (_, q) in zip(theirs.model.named_parameters(), ours.model.named_parameters(), strict=True):
        if not torch.allclose(p, q, rtol=1e-3, atol=1e-5):
            raise CheckFailure(f"After 3 training steps parameter {name} differs from the reference's: use "
                               "self.optimizer (AdamW with args.lr and args.weight_decay) once per step.")
    expect_equal(getattr(theirs, "step", None), 3, "self.step after 3 training steps")

    # validation_step: no gradients, the right comparison
    grad_modes: list[bool] = []
    handle = theirs.model.register_forward_pre_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
    val_batch = tiny_tokens(8, seed=3)
    try:
        got_v = theirs.validation_step(val_batch)
    finally:
        handle.remove()
    if any(grad_modes):
        raise CheckFailure("validation_step ran the model with gradients enabled: wrap it in torch.inference_mode() "
                           "(or no_grad) — evaluation needs no graph, and it costs memory and time.")
    want_v = ours.validation_step(val_batch)
    expect_type(got_v, Tensor, "validation_step")
    if got_v.shape == val_batch.shape:
        raise CheckFailure(f"validation_step returned shape {tuple(got_v.shape)}, one entry per token; the last "
                           "position has no next token to predict: compare logits[:, :-1].argmax(-1) with tokens[:, 1:].")
    expect_close(got_v.bool() if got_v.dtype != torch.bool else got_v, want_v,
                 what="validation_step (is the prediction at position i equal to token i+1?)")

    # train: W&B run, steps, accuracy per epoch, loss falls
    theirs, ours = _trainers(TransformerTrainer, args)
    with recorded_wandb() as record:
        history = theirs.train()
    with recorded_wandb():
        want_history = ours.train()
    expect_type(history, dict, "train()")
    expect_equal(len(record.inits), 1, "number of wandb.init calls in train()")
    expect_equal(record.inits[0].get("config"), ref.asdict(args), "the config passed to wandb.init")
    expect_equal(record.finishes, 1, "number of wandb.finish calls in train()")
    losses = history.get("train_loss")
    accs = history.get("accuracy")
    if not isinstance(losses, list) or len(losses) != 6:
        raise CheckFailure("train() should return {'train_loss': [one float per step], ...}: with 2 epochs of at "
                           f"most 3 steps that is 6 losses, got {losses!r}")
    if not isinstance(accs, list) or len(accs) != 2:
        raise CheckFailure(f"train() should return {{'accuracy': [one float per epoch], ...}}, got {accs!r}")
    accuracy_logs = [(d["accuracy"], s) for d, s in record.logs if "accuracy" in d]
    expect_equal(len(accuracy_logs), 2, "number of {'accuracy': ...} W&B logs in 2 epochs")
    for got_a, want_a in zip(accs, want_history["accuracy"], strict=True):
        if not math.isclose(float(got_a), want_a, rel_tol=1e-3, abs_tol=1e-4):
            raise CheckFailure(f"train()'s accuracy after an epoch is {float(got_a):.4f}; expected {want_a:.4f}: the "
                               "fraction of all predicted positions (in the whole validation set) that are right.")
    if not losses[-1] < losses[0]:
        raise CheckFailure(f"the training loss did not fall in 6 steps at lr 1e-2 ({losses[0]:.3f} -> {losses[-1]:.3f})")
    return "losses, AdamW steps, W&B logs, gradient-free validation and accuracy match"


# ------------------------------------------------------------------ 4️⃣ sampling

PROBS = torch.tensor([0.4, 0.3, 0.15, 0.1, 0.05])
N_DRAWS = 1000
TOLERANCE = 0.05  # 3 standard deviations of a frequency near 0.5 over N_DRAWS draws


def _frequencies(fn: Callable[[], int], n: int, size: int, what: str) -> Tensor:
    torch.manual_seed(0)
    counts = torch.zeros(size)
    for _ in range(n):
        token = fn()
        if not isinstance(token, int) or isinstance(token, bool):
            raise CheckFailure(f"{what} should return a Python int (use .item()), got {type(token).__name__}")
        counts[token] += 1
    return counts / n


def _expect_distribution(freqs: Tensor, expected: Tensor, what: str, mistakes: dict[str, Tensor]) -> None:
    if (freqs - expected).abs().max() <= TOLERANCE:
        return
    for reason, wrong_probs in mistakes.items():
        if (freqs - wrong_probs).abs().max() <= TOLERANCE:
            raise CheckFailure(f"{what}: over {N_DRAWS} draws the frequencies were {freqs.numpy().round(3).tolist()}, "
                               f"expected about {expected.numpy().round(3).tolist()}. It looks like you {reason}.")
    raise CheckFailure(f"{what}: over {N_DRAWS} draws the frequencies were {freqs.numpy().round(3).tolist()}, "
                       f"expected about {expected.numpy().round(3).tolist()}.")


def check_greedy_search(greedy_search: Callable) -> str:
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        logits = torch.randn(50, generator=g)
        got = greedy_search(logits.clone())
        expect_type(got, int, "greedy_search")
        expect_equal(got, int(logits.argmax()), f"greedy_search on logits whose largest is at {int(logits.argmax())}")
    return "the most likely token"


def check_sample_basic(sample_basic: Callable) -> str:
    logits = PROBS.log() + 3.0
    freqs = _frequencies(lambda: sample_basic(logits.clone()), N_DRAWS, 5, "sample_basic")
    _expect_distribution(freqs, PROBS, "sample_basic", {
        "always took the most likely token (greedy) where a random sample was asked for":
            torch.tensor([1.0, 0, 0, 0, 0]),
        "sampled uniformly": torch.full((5,), 0.2),
        "treated the logits as probabilities (normalise with softmax, or use Categorical(logits=...))":
            (logits / logits.sum()),
    })
    return f"frequencies over {N_DRAWS} draws match softmax(logits)"


def check_apply_temperature(apply_temperature: Callable) -> str:
    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    for temperature in (0.5, 2.0):
        got = apply_temperature(logits.clone(), temperature)
        _compare(got, logits / temperature, f"apply_temperature(logits, {temperature})",
                 {"multiply by the temperature instead of dividing (a low temperature must sharpen the "
                  "distribution)": logits * temperature})
    return "divides the logits by the temperature"


def check_apply_frequency_penalty(apply_frequency_penalty: Callable) -> str:
    input_ids = torch.tensor([3, 1, 3, 3, 0, 1])
    logits = torch.tensor([0.5, 1.0, -2.0, 4.0, 0.0, 1.5])
    counts = torch.tensor([1.0, 2.0, 0.0, 3.0, 0.0, 0.0])
    got = apply_frequency_penalty(input_ids, logits.clone(), 2.0)
    _compare(got, logits - 2.0 * counts, "apply_frequency_penalty(input_ids=[3, 1, 3, 3, 0, 1], logits, 2.0)",
             {"add the penalty instead of subtracting it (repeated tokens must become less likely)":
                  logits + 2.0 * counts,
              "subtract the penalty once per distinct token instead of once per occurrence":
                  logits - 2.0 * (counts > 0).float()})
    return "subtracts penalty x count for each token"


def check_sample_top_k(sample_top_k: Callable) -> str:
    logits = PROBS.log() - 1.0
    top3 = torch.tensor([0.4, 0.3, 0.15, 0.0, 0.0]) / 0.85
    freqs = _frequencies(lambda: sample_top_k(logits.clone(), 3), N_DRAWS, 5, "sample_top_k(logits, k=3)")
    _expect_distribution(freqs, top3, "sample_top_k(logits, k=3)", {
        "sampled uniformly among the top k (keep their probabilities, renormalised)":
            torch.tensor([1 / 3, 1 / 3, 1 / 3, 0, 0]),
        "sampled from all the tokens, not only the top k": PROBS,
        "always took the most likely token": torch.tensor([1.0, 0, 0, 0, 0]),
    })
    return f"frequencies over {N_DRAWS} draws match the renormalised top-k distribution"


def check_sample_top_p(sample_top_p: Callable) -> str:
    logits = PROBS.log() + 0.7
    keep3 = torch.tensor([0.4, 0.3, 0.15, 0.0, 0.0]) / 0.85
    keep2 = torch.tensor([0.4, 0.3, 0.0, 0.0, 0.0]) / 0.7
    freqs = _frequencies(lambda: sample_top_p(logits.clone(), 0.8), N_DRAWS, 5, "sample_top_p(logits, 0.8)")
    _expect_distribution(freqs, keep3, "sample_top_p(logits, top_p=0.8) on probabilities [0.4, 0.3, 0.15, 0.1, "
                         "0.05] (keeps 0.4 + 0.3 + 0.15: the token that crosses 0.8 is kept)", {
        "excluded the token that crosses the threshold (0.4 + 0.3 < 0.8, so the 0.15 token must be kept too)":
            keep2,
        "sampled uniformly among the kept tokens": torch.tensor([1 / 3, 1 / 3, 1 / 3, 0, 0]),
        "sampled from all the tokens": PROBS,
    })
    freqs = _frequencies(lambda: sample_top_p(logits.clone(), 0.1, min_tokens_to_keep=2), N_DRAWS, 5,
                         "sample_top_p(logits, 0.1, min_tokens_to_keep=2)")
    _expect_distribution(freqs, keep2, "sample_top_p(logits, top_p=0.1, min_tokens_to_keep=2)", {
        "ignored min_tokens_to_keep": torch.tensor([1.0, 0, 0, 0, 0]),
    })
    return "keeps the token that crosses top_p, and at least min_tokens_to_keep"


# -- a fake bigram model and tokenizer: exact, fast tests of the generation loops


class FakeTokenizer:
    """Token ids written as numbers: encode("3 4") == [3, 4]; id 0 is BOS and EOS."""

    bos_token_id = eos_token_id = 0

    def encode(self, text: str) -> list[int]:
        return [int(t) for t in text.split()]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return " ".join(str(int(i)) for i in ids if not (skip_special_tokens and int(i) == 0))


class BigramModel(nn.Module):
    """Logits depend only on the current token (a seeded table); it records the inputs it was given."""

    def __init__(self, d_vocab: int = 12, n_ctx: int = 40, eos_bonus: float = 0.0, seed: int = 0,
                 eos_after: int | None = None):
        super().__init__()
        self.cfg = ref.Config(d_vocab=d_vocab, n_ctx=n_ctx)
        g = torch.Generator().manual_seed(seed)
        self.table = 2 * torch.randn(d_vocab, d_vocab, generator=g)
        if eos_after is None:
            self.table[:, 0] += eos_bonus
        else:  # EOS only after one token; after EOS, token 5 is almost certain (a dead beam would look good)
            self.table[:, 0] = -10.0
            self.table[eos_after, 0] = eos_bonus
            self.table[0, 5] += 10.0
        self.inputs: list[tuple[int, ...]] = []

    def forward(self, tokens: Tensor) -> Tensor:
        self.inputs.append(tuple(tokens.shape))
        return self.table[tokens]


def _sample_cases() -> list[tuple[str, dict]]:
    return [("greedy (temperature=0)", {"temperature": 0.0}), ("seed=1", {"seed": 1}),
            ("seed=2, temperature=0.7, top_k=5", {"seed": 2, "temperature": 0.7, "top_k": 5}),
            ("seed=3, top_p=0.9, frequency_penalty=1.0", {"seed": 3, "top_p": 0.9, "frequency_penalty": 1.0})]


@time_limit(MODULE_TIME_LIMIT)
def check_sample(sample: Callable) -> str:
    tok = FakeTokenizer()
    for prompt, n, model_kwargs, note in [
        ("5 3", 8, {"eos_bonus": -10.0}, "8 tokens"),
        ("5 3", 30, {"eos_bonus": 2.0}, "a model that likes to emit EOS (id 0): stop before appending it"),
        ("5 3 7", 30, {"eos_bonus": -10.0, "n_ctx": 10}, "n_ctx = 10: stop when the sequence fills the context"),
    ]:
        for what, kwargs in _sample_cases():
            model = BigramModel(**model_kwargs)
            got = sample(model, tok, prompt, n, **dict(kwargs))
            want = ref.sample(BigramModel(**model_kwargs), tok, prompt, n, **dict(kwargs))
            expect_type(got, str, "sample")
            if got != want:
                hint = ""
                if model.inputs and model.inputs[0][-1] != len(prompt.split()) + 1:
                    hint = " Start from encode_prompt(tokenizer, prompt) (BOS, then the prompt's tokens)."
                elif "seed" in kwargs:
                    hint = (" With a seed, call torch.manual_seed(seed) once before the loop and draw exactly one "
                            "sample_next_token per step (without passing the seed on).")
                raise CheckFailure(f"sample(bigram model, '{prompt}', {n}, {what}) on {note} returned {got!r}; "
                                   f"expected {want!r} (token ids shown as numbers).{hint}")
    model = reference_demo()
    got = sample(model, tokenizer(), " Mary and John", 12, temperature=0.0)
    want = ref.sample(model, tokenizer(), " Mary and John", 12, temperature=0.0)
    expect_equal(got, want, "sample(reference model, ' Mary and John', 12, temperature=0.0)")
    return "same text as the reference for greedy, seeded, top-k and top-p sampling, EOS and the context limit"


def _beams(cls: type, model: Any, tok: Any, sums: list[float], tokens: list[list[int]]) -> Any:
    return cls(model, tok, torch.tensor(sums), torch.tensor(tokens))


def _rows(beams: Any) -> list[tuple[float, tuple[int, ...]]]:
    return sorted(((round(float(s), 4), tuple(t.tolist())) for s, t in zip(beams.logprob_sums, beams.tokens,
                                                                          strict=True)), reverse=True)


@time_limit(MODULE_TIME_LIMIT)
def check_Beams(Beams: type) -> str:
    tok = tokenizer()
    eos = tok.eos_token_id
    # filter: terminated beams leave the running set
    tokens = [[eos, 5, 6], [eos, 5, eos], [eos, 7, 8], [eos, 9, 10], [eos, 11, eos]]
    sums = [-1.0, -0.5, -3.0, -0.7, -2.0]
    out = _beams(Beams, None, tok, sums, tokens).filter(3)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailure("Beams.filter should return a tuple (continuing, terminated) of Beams")
    continuing, terminated = out
    if any(int(t[-1]) == eos for t in continuing.tokens):
        raise CheckFailure("Beams.filter(3) kept a beam that ends with EOS in the continuing set: finished beams "
                           "must go to `terminated` (and stop being extended).")
    expect_equal(_rows(continuing), [(-0.7, (eos, 9, 10)), (-1.0, (eos, 5, 6))],
                 "Beams.filter(3) on sums [-1, -0.5, -3, -0.7, -2] (beams 1 and 4 end with EOS): continuing beams")
    expect_equal(_rows(terminated), [(-0.5, (eos, 5, eos))], "Beams.filter(3): terminated beams")

    # banned tokens for no_repeat_ngram_size
    model = reference_demo()
    seqs = [[0, 4, 5, 4, 6, 4], [0, 7, 8, 9, 7, 8]]
    beams = _beams(Beams, model, tok, [0.0, 0.0], seqs)
    for n in (1, 2, 3):
        banned = beams.banned_tokens(n)
        want = ref.Beams(model, tok, torch.zeros(2), torch.tensor(seqs)).banned_tokens(n)
        expect_type(banned, Tensor, "Beams.banned_tokens")
        if tuple(banned.shape) != tuple(want.shape):
            raise CheckFailure(f"banned_tokens({n}) should have shape (batch, d_vocab) = {tuple(want.shape)}, "
                               f"got {tuple(banned.shape)}")
        if not torch.equal(banned.bool(), want):
            got_ids = [banned[i].nonzero().flatten().tolist() for i in range(2)]
            want_ids = [want[i].nonzero().flatten().tolist() for i in range(2)]
            raise CheckFailure(f"banned_tokens(no_repeat_ngram_size={n}) for beams {seqs} bans {got_ids}; expected "
                               f"{want_ids} (a token is banned if the last {n - 1} token(s) followed by it already "
                               "occur as an n-gram in the beam).")

    # generate
    prompt = ref.encode_prompt(tok, PROMPTS[0])[:20]
    start = _beams(Beams, model, tok, [0.0, -1.5], [prompt.tolist(), prompt.roll(1).tolist()])
    want_beams = ref.Beams(model, tok, torch.tensor([0.0, -1.5]), start.tokens.clone())
    for n in (None, 1):
        got = start.generate(40, no_repeat_ngram_size=n)
        want = want_beams.generate(40, no_repeat_ngram_size=n)
        expect_equal(len(got.logprob_sums), 80, "number of beams after generate(toks_per_beam=40) on 2 beams")
        if n and _rows(got) == _rows(want_beams.generate(40)) != _rows(want):
            raise CheckFailure("Beams.generate ignores no_repeat_ngram_size: with no_repeat_ngram_size=1 no token "
                               "already in a beam may be added to it (mask the banned tokens' logprobs to -inf "
                               "before choosing the top tokens).")
        g_rows, w_rows = _rows(got), _rows(want)
        if [t for _, t in g_rows] != [t for _, t in w_rows] or not torch.allclose(
                torch.tensor([s for s, _ in g_rows]), torch.tensor([s for s, _ in w_rows]), atol=2e-3):
            raise CheckFailure(f"Beams.generate(40, no_repeat_ngram_size={n}) on 2 beams gave different children "
                               "from the reference's: each beam's 40 most likely next tokens, with logprob_sums "
                               "= the beam's sum + log_softmax of the last position's logits.")
    return "filter, banned n-grams and generate match the reference"


@time_limit(MODULE_TIME_LIMIT)
def check_beam_search(beam_search: Callable) -> str:
    tok = FakeTokenizer()
    cases = [
        (dict(num_return_sequences=2, num_beams=3, max_new_tokens=6), {"eos_bonus": -10.0},
         "a model that never emits EOS"),
        (dict(num_return_sequences=3, num_beams=4, max_new_tokens=8, no_repeat_ngram_size=2), {"eos_bonus": -10.0},
         "a model that never emits EOS"),
        (dict(num_return_sequences=2, num_beams=2, max_new_tokens=5, no_repeat_ngram_size=1), {"eos_bonus": 1.5},
         "a model that often emits EOS"),
        (dict(num_return_sequences=3, num_beams=3, max_new_tokens=8), {"eos_bonus": 2.0, "eos_after": 9},
         "a model that emits EOS after token 9 (a finished beam must stop being extended)"),
    ]
    for kwargs, model_kwargs, note in cases:
        got = beam_search(BigramModel(**model_kwargs), tok, "5 3", **kwargs)
        want = ref.beam_search(BigramModel(**model_kwargs), tok, "5 3", **kwargs)
        if not isinstance(got, list) or not all(isinstance(x, tuple) and len(x) == 2 for x in got):
            raise CheckFailure("beam_search should return a list of (logprob_sum, text) tuples")
        if [t for _, t in got] != [t for _, t in want] or not all(
                math.isclose(float(a), b, abs_tol=1e-3) for (a, _), (b, _) in zip(got, want, strict=True)):
            raise CheckFailure(f"beam_search(bigram model, '5 3', {kwargs}) on {note} returned {got}; expected "
                               f"{want} (token ids as numbers, EOS not shown). Terminated beams are set aside as "
                               "they end; the search stops when num_return_sequences have ended, otherwise it "
                               "adds the running beams at the end.")
    model = reference_demo()
    got = beam_search(model, tokenizer(), " Mary and John", 2, 3, 6, no_repeat_ngram_size=2)
    want = ref.beam_search(model, tokenizer(), " Mary and John", 2, 3, 6, no_repeat_ngram_size=2)
    expect_equal([t for _, t in got], [t for _, t in want], "beam_search on the reference model: the texts")
    return "same sequences and scores as the reference, with and without EOS and n-gram blocking"


# -- the key-value cache


@time_limit(MODULE_TIME_LIMIT)
def check_attention_with_cache(attention_with_cache: Callable) -> str:
    cfg = reference_config()
    _, acts = reference_run()
    attn = reference_demo().blocks[1].attn
    x = acts["blocks.1.ln1.hook_out"]
    full = acts["blocks.1.hook_attn_out"]
    with torch.no_grad():
        got = attention_with_cache(attn, x)
        if not isinstance(got, tuple) or len(got) != 3:
            raise CheckFailure("attention_with_cache should return a tuple (output, keys, values)")
        _compare(got[0], full, "attention_with_cache(attn, x) without a cache (should equal attn(x))")
        _, k_all, v_all = ref.attention_with_cache(attn, x)
        _compare(got[1], k_all, "the keys returned by attention_with_cache (shape (batch, pos, n_heads, d_head))")
        _compare(got[2], v_all, "the values returned by attention_with_cache")
        past = 9
        out, k, v = attention_with_cache(attn, x[:, past:], k_all[:, :past], v_all[:, :past])
        wrong_mask = {}
        raw = torch.einsum("bqnh,bknh->bnqk", torch.einsum("bpd,ndh->bpnh", x[:, past:], attn.W_Q) + attn.b_Q,
                           k_all) / math.sqrt(cfg.d_head)
        q_len, k_len = raw.shape[-2:]
        for reason, mask in [
            ("mask as if the new queries were at positions 0, 1, ... (they come after the cached ones)",
             torch.ones(q_len, k_len, dtype=torch.bool).triu(1)),
            ("forget the mask among the new positions", torch.zeros(q_len, k_len, dtype=torch.bool)),
        ]:
            z = torch.einsum("bnqk,bknh->bqnh", raw.masked_fill(mask, float("-inf")).softmax(-1).nan_to_num(0.0),
                             v_all)
            wrong_mask[reason] = torch.einsum("bqnh,nhd->bqd", z, attn.W_O) + attn.b_O
        _compare(out, full[:, past:], f"attention_with_cache on the last {SEQ_LEN - past} positions with the first "
                 f"{past} cached (should equal those rows of attn(x))", wrong_mask)
        _compare(k, k_all, "the keys after the cached call (past keys followed by the new ones)")
    return "with and without a cache, the same as the full attention"


@time_limit(MODULE_TIME_LIMIT)
def check_DemoTransformerWithCache(DemoTransformerWithCache: type) -> str:
    cfg = reference_config()
    logits, _ = reference_run()
    model = _filled(_build(DemoTransformerWithCache, cfg, "DemoTransformerWithCache"), "")
    tokens = prompt_tokens()
    with torch.no_grad():
        out = model(tokens)
        if not isinstance(out, tuple) or len(out) != 2:
            raise CheckFailure("DemoTransformerWithCache(tokens, cache) should return (logits, new_cache)")
        _compare(out[0], logits, "DemoTransformerWithCache's logits without a cache")
        if not all(hasattr(out[1], a) for a in ("keys", "values", "seq_len")):
            raise CheckFailure("DemoTransformerWithCache should return (logits, KeyValueCache), got a "
                               f"{type(out[1]).__name__} as the cache")
        expect_equal(out[1].seq_len, SEQ_LEN, "the returned cache's seq_len after the whole prompt")
        parts = []
        cache_ = None
        for start, end in [(0, 7), (7, 8), (8, 12), (12, SEQ_LEN)]:
            step_logits, cache_ = model(tokens[:, start:end], cache_)
            parts.append(step_logits)
            expect_equal(cache_.seq_len, end, f"cache.seq_len after feeding tokens 0..{end - 1} in pieces")
    got = torch.cat(parts, dim=1)
    try:
        _compare(got, logits, "the logits of the prompt fed in pieces (7, 1, 4, 4 tokens) through the cache")
    except CheckFailure as err:
        hint = (" The first piece is right but the later ones are not: the new tokens sit at positions "
                "cache.seq_len, cache.seq_len + 1, ...: use W_pos[past : past + new] for them."
                if torch.allclose(parts[0], logits[:, :7], atol=1e-4) else "")
        raise CheckFailure(f"{err}{hint}") from None
    return "the same logits whether the prompt goes in at once or in pieces through the cache"


SHORT_CTX = 20


@cache
def _short_context(cls: type) -> Any:
    """The reference weights in a model whose context window is SHORT_CTX positions."""
    cfg = ref.Config(**{**vars(reference_config()), "n_ctx": SHORT_CTX})
    weights = dict(reference_weights())
    weights["pos_embed.W_pos"] = weights["pos_embed.W_pos"][:SHORT_CTX]
    return _load(cls(cfg), weights, cls.__name__)


@cache
def _reference_sample(prompt: str, n: int, kwargs: tuple) -> str:
    return ref.sample(reference_demo(), tokenizer(), prompt, n, **dict(kwargs))


@time_limit(MODULE_TIME_LIMIT)
def check_sample_with_cache(sample_with_cache: Callable) -> str:
    model, tok = reference_demo_with_cache(), tokenizer()
    calls: list[tuple[int, ...]] = []
    handle = model.register_forward_pre_hook(lambda _m, args: calls.append(tuple(args[0].shape)))
    try:
        for what, kwargs in _sample_cases():
            got = sample_with_cache(model, tok, " Mary and John", 12, **dict(kwargs))
            want = _reference_sample(" Mary and John", 12, tuple(sorted(kwargs.items())))
            expect_equal(got, want, f"sample_with_cache(' Mary and John', 12, {what}) compared with sample()")
    finally:
        handle.remove()
    if len(calls) < 2 or any(shape[-1] != 1 for shape in calls[1:12]):
        raise CheckFailure(f"sample_with_cache called the model with inputs of shapes {calls[:5]}...: after the "
                           "prompt, feed only the one new token (and the cache) at each step.")
    short, short_plain = _short_context(ref.DemoTransformerWithCache), _short_context(ref.DemoTransformer)
    text = sample_with_cache(short, tok, " Tom", 200, temperature=0.0)
    expect_equal(text, ref.sample(short_plain, tok, " Tom", 200, temperature=0.0),
                 f"sample_with_cache(' Tom', 200 tokens, greedy) with n_ctx = {SHORT_CTX}: stop when the context "
                 "window is full")
    return "exactly sample()'s text, one token per forward pass"
