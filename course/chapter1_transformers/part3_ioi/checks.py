"""Checks for part 1.3: each check_<name> takes the learner's function and raises CheckFailure.

Time limits are generous: a check runs a few hundred forward passes of a tiny model (seconds on a
laptop), but booting TransformerLens the first time can take much longer on a busy machine.

The checks run on small random GPT-2 models with the course tokenizer (see `toy.py`) and compare
with the reference solutions and with `transformer_lens.patching`: seconds, offline, any model."""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import torch as t

from arena.checking import CheckFailure, expect_close, expect_shape, time_limit

from . import solutions as ref
from .toy import course_tokenizer, toy_dataset, toy_model

t.set_num_threads(min(t.get_num_threads(), 2))


# ------------------------------------------------------------------ shared set-up (cached)


@lru_cache(maxsize=4)
def _setup(n_layers: int = 2) -> dict[str, Any]:
    """A toy model, 6 IOI prompts (two templates), their corrupted and ABC versions, caches and metrics."""
    model, ds = toy_model(n_layers), toy_dataset()
    corrupted, abc = ds.corrupted(), ds.abc()
    with t.no_grad():
        clean_logits, clean_cache = model.run_with_cache(ds.toks)
        corrupted_logits = model(corrupted.toks)
        abc_logits = model(abc.toks)
    clean_ld = ref.logits_to_ave_logit_diff(clean_logits, ds.answer_tokens).item()
    corrupted_ld = ref.logits_to_ave_logit_diff(corrupted_logits, ds.answer_tokens).item()
    abc_ld = ref.logits_to_ave_logit_diff(abc_logits, ds.answer_tokens).item()
    metric = partial(ref.ioi_metric, answer_tokens=ds.answer_tokens, corrupted_logit_diff=corrupted_ld,
                     clean_logit_diff=clean_ld)
    path_metric = partial(ref.ioi_metric, answer_tokens=ds.answer_tokens, corrupted_logit_diff=abc_ld,
                          clean_logit_diff=clean_ld)
    return dict(model=model, ds=ds, corrupted=corrupted, abc=abc, clean_logits=clean_logits,
                clean_cache=clean_cache, corrupted_logits=corrupted_logits, clean_ld=clean_ld,
                corrupted_ld=corrupted_ld, metric=metric, path_metric=path_metric)


def _as_cpu_float(got: Any, what: str) -> t.Tensor:
    if not isinstance(got, t.Tensor):
        raise CheckFailure(f"{what} should return a torch.Tensor, got {type(got).__name__}.")
    return got.detach().float().cpu()


@lru_cache(maxsize=8)
def _tl_patching(name: str, n_layers: int = 2) -> t.Tensor:
    """transformer_lens.patching's answer for the toy set-up (the check's expected value)."""
    import transformer_lens.patching as patching

    s = _setup(n_layers)
    return getattr(patching, name)(s["model"], s["corrupted"].toks, s["clean_cache"], s["metric"]).detach().float().cpu()


def _first_mismatch(got: t.Tensor, expected: t.Tensor, atol: float) -> tuple[int, ...]:
    bad = ((got - expected).abs() > atol).nonzero()
    return tuple(bad[0].tolist()) if len(bad) else ()


# ------------------------------------------------------------------ 1️⃣ the logit difference


def _random_logits(batch: int = 5, seq: int = 7, vocab: int = 40, seed: int = 0) -> tuple[t.Tensor, t.Tensor]:
    gen = t.Generator().manual_seed(seed)
    logits = t.randn(batch, seq, vocab, generator=gen) * 3
    answers = t.stack([t.randperm(vocab, generator=gen)[:2] for _ in range(batch)])
    return logits, answers


def check_logits_to_ave_logit_diff(logits_to_ave_logit_diff) -> str:
    logits, answers = _random_logits()
    for per_prompt in (True, False):
        what = f"logits_to_ave_logit_diff(logits [5, 7, 40], answer_tokens [5, 2], per_prompt={per_prompt})"
        got = _as_cpu_float(logits_to_ave_logit_diff(logits, answers, per_prompt=per_prompt), what)
        expected = ref.logits_to_ave_logit_diff(logits, answers, per_prompt=per_prompt)
        expect_shape(got, tuple(expected.shape), what)
        if t.allclose(got, expected, atol=1e-5):
            continue
        at_first = ref.logits_to_ave_logit_diff(logits[:, :1], answers, per_prompt=per_prompt)
        if t.allclose(got, -expected, atol=1e-5):
            raise CheckFailure(f"{what} gave the negative of the expected value: answer_tokens[:, 0] is the "
                               "correct answer (IO), so the difference is logit[correct] - logit[incorrect].")
        if t.allclose(got, at_first, atol=1e-5) or t.allclose(got, -at_first, atol=1e-5):
            raise CheckFailure(f"{what} read the logits at the first position: the model predicts the answer at "
                               "the last position, logits[:, -1].")
        expect_close(got, expected, what=what)
    # The mean over prompts, when the batch has one prompt.
    got = _as_cpu_float(logits_to_ave_logit_diff(logits[:1], answers[:1]), "batch of 1")
    expect_close(got, ref.logits_to_ave_logit_diff(logits[:1], answers[:1]), what="a batch of one prompt")
    return "per-prompt and mean logit differences at the last position"


# ------------------------------------------------------------------ 2️⃣ direct logit attribution


@time_limit(120)
def check_residual_stack_to_logit_diff(residual_stack_to_logit_diff) -> str:
    s = _setup(2)
    model, ds, cache = s["model"], s["ds"], s["clean_cache"]
    dirs = ref.logit_diff_directions(model, ds.answer_tokens)
    stacks = {"cache.decompose_resid(layer=-1, pos_slice=-1)": cache.decompose_resid(layer=-1, pos_slice=-1),
              "cache.stack_head_results(layer=-1, pos_slice=-1)": cache.stack_head_results(layer=-1, pos_slice=-1)}
    for label, stack in stacks.items():
        what = f"residual_stack_to_logit_diff({label}, cache, directions) on a 2-layer toy model"
        got = _as_cpu_float(residual_stack_to_logit_diff(stack, cache, dirs), what)
        expected = ref.residual_stack_to_logit_diff(stack, cache, dirs)
        expect_shape(got, tuple(expected.shape), what)
        if t.allclose(got, expected, atol=1e-4, rtol=1e-3):
            continue
        no_ln = (stack * dirs).sum(-1).mean(-1)
        if t.allclose(got, no_ln, atol=1e-4, rtol=1e-3):
            raise CheckFailure(f"{what}: the components were not scaled by the final LayerNorm. Use "
                               "cache.apply_ln_to_stack(stack, layer=-1, pos_slice=-1) before projecting.")
        if t.allclose(got, expected * len(dirs), atol=1e-4, rtol=1e-3):
            raise CheckFailure(f"{what} is {len(dirs)} times too large: average over the batch, do not sum.")
        expect_close(got, expected, what=what, atol=1e-4, rtol=1e-3)
    total = ref.residual_stack_to_logit_diff(stacks["cache.decompose_resid(layer=-1, pos_slice=-1)"], cache, dirs).sum()
    return f"components sum to the logit difference ({total:.4f} vs {s['clean_ld']:.4f} measured)"


# ------------------------------------------------------------------ 3️⃣ activation patching


@time_limit(120)
def check_ioi_metric(ioi_metric) -> str:
    s = _setup(2)
    ds, clean_ld, corrupted_ld = s["ds"], s["clean_ld"], s["corrupted_ld"]
    kwargs = dict(answer_tokens=ds.answer_tokens, corrupted_logit_diff=corrupted_ld, clean_logit_diff=clean_ld)
    on_clean = float(_as_cpu_float(ioi_metric(s["clean_logits"], **kwargs), "ioi_metric(clean logits, ...)"))
    on_corrupted = float(_as_cpu_float(ioi_metric(s["corrupted_logits"], **kwargs), "ioi_metric(corrupted logits)"))
    if abs(on_clean - 1) > 1e-4 or abs(on_corrupted) > 1e-4:
        raise CheckFailure(
            f"ioi_metric should be 1 on the clean run and 0 on the corrupted run; got {on_clean:.4f} on the clean "
            f"logits and {on_corrupted:.4f} on the corrupted ones (clean logit difference {clean_ld:.4f}, corrupted "
            f"{corrupted_ld:.4f}). Subtract the corrupted value, then divide by (clean - corrupted).")
    logits, answers = _random_logits(batch=len(ds), vocab=1058, seed=3)
    answers = ds.answer_tokens
    got = _as_cpu_float(ioi_metric(logits, answers, -1.5, 2.5), "ioi_metric(random logits, answers, -1.5, 2.5)")
    expect_shape(got, (), "ioi_metric(...) (a scalar tensor)")
    expect_close(got, ref.ioi_metric(logits, answers, -1.5, 2.5), what="ioi_metric(random logits, answers, -1.5, 2.5)")
    return "1 on the clean run, 0 on the corrupted run, linear in between"


def _diagnose_position_patching(got: t.Tensor, expected: t.Tensor, what: str, s: dict) -> None:
    """Explain a wrong [layer, pos] (or [component, layer, pos]) activation-patching result."""
    row = got.reshape(-1, got.shape[-1])[0]  # resid_pre of layer 0
    s2 = int(s["ds"].word_idx["S2"][0])
    same = [p for p in range(got.shape[-1]) if p != s2]
    if t.allclose(row[same], t.ones(len(same)), atol=0.05) and abs(float(row[s2])) < 0.05:
        raise CheckFailure(
            f"{what}: at layer 0 you get 1 everywhere except at S2 (position {s2}), where you get "
            f"{float(row[s2]):.3f}. That is the clean run with corrupted activations patched in. Run the "
            "*corrupted* tokens and patch in the *clean* activations (clean_cache).")
    if t.allclose(got, t.zeros_like(got), atol=1e-4):
        raise CheckFailure(
            f"{what} is 0 everywhere: no patch changed the corrupted run. Does your hook return the edited "
            "activation, and does it write the clean value into it (corrupted[:, pos] = clean[:, pos]), not the "
            "other way round?")
    if t.allclose(row, row[:1].expand_as(row), atol=1e-4) and not t.allclose(expected, expected[..., :1], atol=1e-3):
        raise CheckFailure(
            f"{what}: every position of a layer gives the same value ({float(row[0]):.3f} at layer 0), as if each "
            "run patched every position. Patch one position per run: activation[:, pos] = clean[:, pos].")


@time_limit(120)
def check_get_act_patch_resid_pre(get_act_patch_resid_pre) -> str:
    s = _setup(2)
    what = "get_act_patch_resid_pre(model, corrupted_tokens, clean_cache, ioi_metric) on a 2-layer toy model"
    got = _as_cpu_float(get_act_patch_resid_pre(s["model"], s["corrupted"].toks, s["clean_cache"], s["metric"]), what)
    expected = _tl_patching("get_act_patch_resid_pre")
    expect_shape(got, tuple(expected.shape), f"{what} (n_layers, seq)")
    if not t.allclose(got, expected, atol=1e-3):
        _diagnose_position_patching(got, expected, what, s)
        layer, pos = _first_mismatch(got, expected, 1e-3)
        raise CheckFailure(f"{what}: at layer {layer}, position {pos} transformer_lens.patching gives "
                           f"{expected[layer, pos]:.4f}, you give {got[layer, pos]:.4f}.")
    return "matches transformer_lens.patching.get_act_patch_resid_pre"


@time_limit(180)
def check_get_act_patch_block_every(get_act_patch_block_every) -> str:
    s = _setup(2)
    what = "get_act_patch_block_every(model, corrupted_tokens, clean_cache, ioi_metric) on a 2-layer toy model"
    got = _as_cpu_float(get_act_patch_block_every(s["model"], s["corrupted"].toks, s["clean_cache"], s["metric"]), what)
    expected = _tl_patching("get_act_patch_block_every")
    expect_shape(got, tuple(expected.shape), f"{what} (3, n_layers, seq)")
    if not t.allclose(got, expected, atol=1e-3):
        _diagnose_position_patching(got, expected, what, s)
        if t.allclose(got[[0, 2, 1]], expected, atol=1e-3):
            raise CheckFailure(f"{what}: attn_out and mlp_out are swapped; the order is resid_pre, attn_out, mlp_out.")
        comp, layer, pos = _first_mismatch(got, expected, 1e-3)
        name = ["resid_pre", "attn_out", "mlp_out"][comp]
        raise CheckFailure(f"{what}: for {name}, layer {layer}, position {pos} transformer_lens.patching gives "
                           f"{expected[comp, layer, pos]:.4f}, you give {got[comp, layer, pos]:.4f}.")
    return "matches transformer_lens.patching.get_act_patch_block_every"


def _diagnose_head_patching(got: t.Tensor, what: str, s: dict) -> None:
    if t.allclose(got, t.zeros_like(got), atol=1e-4):
        raise CheckFailure(f"{what} is 0 everywhere: no patch changed the corrupted run. Does your hook return the "
                           "edited activation, and does it copy the clean value into the corrupted activation?")
    if t.allclose(got, t.ones_like(got), atol=0.15) and float((got - 1).abs().mean()) < 0.1:
        raise CheckFailure(f"{what}: every value is close to 1, i.e. the clean run. Run the *corrupted* tokens and "
                           "patch in the *clean* activations from clean_cache, not the other way round.")


@time_limit(120)
def check_get_act_patch_attn_head_out_all_pos(get_act_patch_attn_head_out_all_pos) -> str:
    s = _setup(2)
    what = "get_act_patch_attn_head_out_all_pos(model, corrupted_tokens, clean_cache, ioi_metric) on a toy model"
    got = _as_cpu_float(get_act_patch_attn_head_out_all_pos(s["model"], s["corrupted"].toks, s["clean_cache"],
                                                           s["metric"]), what)
    expected = _tl_patching("get_act_patch_attn_head_out_all_pos")
    expect_shape(got, tuple(expected.shape), f"{what} (n_layers, n_heads)")
    if not t.allclose(got, expected, atol=1e-3):
        _diagnose_head_patching(got, what, s)
        layer, head = _first_mismatch(got, expected, 1e-3)
        raise CheckFailure(f"{what}: for head {layer}.{head} transformer_lens.patching gives {expected[layer, head]:.4f}, "
                           f"you give {got[layer, head]:.4f}. Patch hook_z of that head (dimension 2) at every position.")
    return "matches transformer_lens.patching.get_act_patch_attn_head_out_all_pos"


@time_limit(180)
def check_get_act_patch_attn_head_all_pos_every(get_act_patch_attn_head_all_pos_every) -> str:
    s = _setup(2)
    what = "get_act_patch_attn_head_all_pos_every(model, corrupted_tokens, clean_cache, ioi_metric) on a toy model"
    got = _as_cpu_float(get_act_patch_attn_head_all_pos_every(s["model"], s["corrupted"].toks, s["clean_cache"],
                                                             s["metric"]), what)
    expected = _tl_patching("get_act_patch_attn_head_all_pos_every")
    expect_shape(got, tuple(expected.shape), f"{what} (5, n_layers, n_heads)")
    if not t.allclose(got, expected, atol=1e-3):
        _diagnose_head_patching(got, what, s)
        comp, layer, head = _first_mismatch(got, expected, 1e-3)
        name = ["output z", "query q", "key k", "value v", "pattern"][comp]
        extra = " The pattern is [batch, head, query, key]: its head axis is dimension 1." if comp == 4 else ""
        raise CheckFailure(f"{what}: for the {name} of head {layer}.{head} transformer_lens.patching gives "
                           f"{expected[comp, layer, head]:.4f}, you give {got[comp, layer, head]:.4f}. The order is "
                           f"z, q, k, v, pattern.{extra}")
    return "matches transformer_lens.patching.get_act_patch_attn_head_all_pos_every"


# ------------------------------------------------------------------ 4️⃣ path patching


@lru_cache(maxsize=2)
def _leaky_path_patch_final(n_layers: int) -> t.Tensor:
    """Activation patching of each head's output from the ABC run into the clean run (nothing frozen)."""
    s = _setup(n_layers)
    model, new_cache = s["model"], ref.z_cache(s["model"], s["abc"].toks)
    out = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    with t.no_grad():
        for layer in range(model.cfg.n_layers):
            name = f"blocks.{layer}.attn.hook_z"
            for head in range(model.cfg.n_heads):
                hook = partial(ref.patch_head, clean=new_cache[name], head=head)
                out[layer, head] = s["path_metric"](model.run_with_hooks(s["ds"].toks, fwd_hooks=[(name, hook)]))
    return out


@lru_cache(maxsize=2)
def _expected_path_to_final(n_layers: int) -> t.Tensor:
    """The reference answer, computed once per worker and before any learner code touches the model."""
    s = _setup(n_layers)
    return ref.get_path_patch_head_to_final_resid_post(s["model"], s["path_metric"], s["abc"].toks, s["ds"].toks)


@lru_cache(maxsize=8)
def _expected_path_to_heads(receivers: tuple, receiver_input: str, n_layers: int) -> t.Tensor:
    s = _setup(n_layers)
    return ref.get_path_patch_head_to_heads(list(receivers), receiver_input, s["model"], s["path_metric"],
                                            s["abc"].toks, s["ds"].toks)


@time_limit(120)
def check_get_path_patch_head_to_final_resid_post(get_path_patch_head_to_final_resid_post) -> str:
    s = _setup(3)
    model, new, orig = s["model"], s["abc"].toks, s["ds"].toks
    what = "get_path_patch_head_to_final_resid_post(model, metric, abc_tokens, ioi_tokens) on a 3-layer toy model"
    expected = _expected_path_to_final(3)
    got = _as_cpu_float(get_path_patch_head_to_final_resid_post(model, s["path_metric"], new, orig), what)
    expect_shape(got, tuple(expected.shape), f"{what} (n_layers, n_heads)")
    if not t.allclose(got, expected, atol=1e-3):
        leaky = _leaky_path_patch_final(3)
        if t.allclose(got, leaky, atol=1e-3):
            raise CheckFailure(
                f"{what} equals plain activation patching of each head's output: the sender's effect also reaches "
                "the logits through later heads. Freeze every other head's z at its original-run value, so that "
                "only the direct path (and the MLPs) carry the sender's new output.")
        if t.allclose(got, t.ones_like(got), atol=1e-4):
            raise CheckFailure(f"{what} is 1 everywhere: the sender's z from the new run never reached the forward "
                               "pass (patch the sender *after* freezing the layer to the original values).")
        layer, head = _first_mismatch(got, expected, 1e-3)
        raise CheckFailure(f"{what}: for sender {layer}.{head} the reference gives {expected[layer, head]:.4f}, "
                           f"you give {got[layer, head]:.4f}. Run the original tokens with the sender's z from the "
                           "new cache and every other head's z from the original cache.")
    # The caches are optional and must give the same answer when passed.
    cached = get_path_patch_head_to_final_resid_post(model, s["path_metric"], new, orig,
                                                     ref.z_cache(model, new), ref.z_cache(model, orig))
    expect_close(_as_cpu_float(cached, what), expected, what=f"{what} with new_cache and orig_cache given", atol=1e-3)
    return "matches the reference; other heads stay frozen"


def _leaky_head_to_heads(receivers: tuple, receiver_input: str, s: dict) -> t.Tensor:
    """Head-to-heads path patching in which step 1 does not freeze the other heads."""
    model = s["model"]
    new_cache = ref.z_cache(model, s["abc"].toks)
    max_layer = min(layer for layer, _ in receivers)
    out = t.zeros(max_layer, model.cfg.n_heads)
    names = {layer: f"blocks.{layer}.attn.hook_{receiver_input}" for layer, _ in receivers}
    with t.no_grad():
        for sl in range(max_layer):
            zname = f"blocks.{sl}.attn.hook_z"
            for sh in range(model.cfg.n_heads):
                with model.hooks(fwd_hooks=[(zname, partial(ref.patch_head, clean=new_cache[zname], head=sh))]):
                    _, rc = model.run_with_cache(s["ds"].toks, names_filter=lambda n: n in names.values())
                hooks = [(name, partial(ref.patch_heads_input, patched=rc[name],
                                        heads=[h for rl, h in receivers if rl == layer])) for layer, name in names.items()]
                out[sl, sh] = s["path_metric"](model.run_with_hooks(s["ds"].toks, fwd_hooks=hooks))
    return out


@time_limit(180)
def check_get_path_patch_head_to_heads(get_path_patch_head_to_heads) -> str:
    s = _setup(3)
    model, new, orig = s["model"], s["abc"].toks, s["ds"].toks
    for receivers, receiver_input in (((2, 0), (2, 3)), "q"), (((2, 1),), "v"), (((1, 2), (2, 2)), "k"):
        what = (f"get_path_patch_head_to_heads(receiver_heads={list(receivers)}, receiver_input={receiver_input!r}, "
                "model, metric, abc_tokens, ioi_tokens) on a 3-layer toy model")
        expected = _expected_path_to_heads(receivers, receiver_input, 3)
        got = _as_cpu_float(get_path_patch_head_to_heads(list(receivers), receiver_input, model, s["path_metric"],
                                                         new, orig), what)
        expect_shape(got, tuple(expected.shape), f"{what} (layers before the first receiver, n_heads)")
        if t.allclose(got, expected, atol=1e-3):
            continue
        if t.allclose(got, _leaky_head_to_heads(receivers, receiver_input, s), atol=1e-3):
            raise CheckFailure(
                f"{what}: the sender's effect also reaches the receivers through the heads in between. When you "
                "record the receivers' inputs, freeze every head other than the sender at its original z.")
        layer, head = _first_mismatch(got, expected, 1e-3)
        raise CheckFailure(f"{what}: for sender {layer}.{head} the reference gives {expected[layer, head]:.4f}, you give "
                           f"{got[layer, head]:.4f}. Step 2 must patch only the receiver heads' hook_{receiver_input}.")
    return "three receiver sets (q, k, v), one spanning two layers"


# ------------------------------------------------------------------ 5️⃣ replication


@time_limit(120)
def check_get_copying_scores(get_copying_scores) -> str:
    model = toy_model(2)
    tok = course_tokenizer()
    names = t.tensor([ref.encode(tok, " " + n)[0] for n in ref.single_token_words(tok, [n for n, _ in ref.world.NAMES])])
    for k, negative in ((5, False), (100, False), (100, True)):
        what = f"get_copying_scores(model, {len(names)} name tokens, k={k}, negative={negative}) on a toy model"
        got = _as_cpu_float(get_copying_scores(model, names, k=k, negative=negative), what)
        expected = ref.get_copying_scores(model, names, k=k, negative=negative)
        expect_shape(got, tuple(expected.shape), f"{what} (n_layers, n_heads)")
        if t.allclose(got, expected, atol=1e-5):
            continue
        if not negative and t.allclose(got, ref.get_copying_scores(model, names, k=k, negative=True), atol=1e-5):
            raise CheckFailure(f"{what} gave the negative copying scores: only negate the OV output when negative=True.")
        expect_close(got, expected, what=f"{what} (did you pass the names through MLP0 with mlp0_embedding, and apply "
                     "the final LayerNorm before W_U?)", atol=1e-5)
    return "positive and negative scores for two values of k"


@time_limit(120)
def check_get_attn_scores(get_attn_scores) -> str:
    model = toy_model(2)
    for head_type in ("duplicate", "prev", "induction"):
        what = f"get_attn_scores(model, seq_len=12, batch=3, head_type={head_type!r}) on a toy model"
        got = _as_cpu_float(get_attn_scores(model, 12, 3, head_type), what)
        expected = ref.get_attn_scores(model, 12, 3, head_type)
        expect_shape(got, tuple(expected.shape), f"{what} (n_layers, n_heads)")
        expect_close(got, expected, what=f"{what} (mean over the second half's queries of the pattern at key = query - "
                     "offset: duplicate seq_len, prev 1, induction seq_len - 1)", atol=1e-5)
    return "duplicate-token, previous-token and induction scores"


CIRCUIT = {"name mover": [(1, 0), (1, 3)], "s-inhibition": [(1, 1)], "induction": [(0, 2)], "duplicate": [(0, 1)]}
KEEP = {"name mover": "end", "s-inhibition": "end", "induction": "S2", "duplicate": "S2"}


def _ablated_logits(add_mean_ablation_hook, circuit: dict, keep: dict) -> t.Tensor:
    s = _setup(2)
    model = s["model"]
    model.reset_hooks(including_permanent=True)
    try:
        returned = add_mean_ablation_hook(model, s["abc"], circuit, keep)
        if returned is not None and returned is not model:
            raise CheckFailure("add_mean_ablation_hook should add hooks to `model` and return that same model.")
        with t.no_grad():
            return model(s["ds"].toks).detach().float().cpu()
    finally:
        model.reset_hooks(including_permanent=True)


@time_limit(120)
def check_add_mean_ablation_hook(add_mean_ablation_hook) -> str:
    s = _setup(2)
    what = ("add_mean_ablation_hook(model, abc_dataset, circuit, seq_pos_to_keep), then the IOI prompts (two templates) "
            "on a 2-layer toy model")
    got = _ablated_logits(add_mean_ablation_hook, CIRCUIT, KEEP)
    expected = _ablated_logits(ref.add_mean_ablation_hook, CIRCUIT, KEEP)
    if t.allclose(got, s["clean_logits"].float(), atol=1e-4):
        raise CheckFailure(f"{what}: the logits are those of the unablated model; were the hooks added (model.add_hook "
                           "on every layer's hook_z) and do they return the edited z?")
    if not t.allclose(got, expected, atol=1e-3):
        got_ld = ref.logits_to_ave_logit_diff(got, s["ds"].answer_tokens).item()
        exp_ld = ref.logits_to_ave_logit_diff(expected, s["ds"].answer_tokens).item()
        raise CheckFailure(
            f"{what}: the logit difference is {got_ld:.4f}, expected {exp_ld:.4f}. The means must come from "
            "`means_dataset` (the ABC prompts, run once when the hook is added), not from the batch the hook sees; "
            "take them per template (means_dataset.groups()); keep the circuit's heads only at their own positions "
            "(means_dataset.word_idx[seq_pos_to_keep[class]]).")
    everything = {"all": [(layer, h) for layer in range(2) for h in range(4)]}
    kept = _ablated_logits(add_mean_ablation_hook, everything, {"all": "end"})
    full = _ablated_logits(ref.add_mean_ablation_hook, everything, {"all": "end"})
    expect_close(kept, full, what="a circuit of every head, kept at the end position", atol=1e-3)
    return "matches the reference with per-template means of the ABC dataset"


@time_limit(120)
def check_get_minimality_scores(get_minimality_scores) -> str:
    s = _setup(2)
    k_sets = {(1, 0): [(1, 3)], (1, 1): [], (0, 2): [(0, 1)]}
    what = "get_minimality_scores(model, ioi, abc, circuit, seq_pos_to_keep, k_sets) on a 2-layer toy model"
    got = get_minimality_scores(s["model"], s["ds"], s["abc"], CIRCUIT, KEEP, k_sets)
    expected = ref.get_minimality_scores(s["model"], s["ds"], s["abc"], CIRCUIT, KEEP, k_sets)
    if not isinstance(got, dict) or set(got) != set(expected):
        raise CheckFailure(f"{what} should return a dict with one entry per head of k_sets ({sorted(expected)}); "
                           f"got {type(got).__name__} {sorted(got) if isinstance(got, dict) else ''}")
    for head, value in expected.items():
        if abs(float(got[head]) - value) > 1e-3:
            raise CheckFailure(f"{what}: for head {head} with K = {k_sets[head]} the reference gives {value:.4f}, you "
                               f"give {float(got[head]):.4f}. Score = |F(C minus (K and v)) - F(C minus K)| / F(C).")
    return "three heads, with and without a set K"
