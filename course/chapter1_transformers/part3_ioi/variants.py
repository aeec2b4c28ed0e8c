"""Known-wrong and known-right implementations for part 1.3: the tests prove the checks tell them apart."""

from __future__ import annotations

from functools import partial

import torch as t
import transformer_lens.utilities as utils

from arena.checking import right, wrong

from . import solutions as ref

# ------------------------------------------------------------------ 1️⃣ the logit difference


@wrong("logits_to_ave_logit_diff", "reads the logits at the first position instead of the last")
def logit_diff_first_position(logits, answer_tokens, per_prompt=False):
    answer_logits = logits[:, 0].gather(-1, answer_tokens)
    diff = answer_logits[:, 0] - answer_logits[:, 1]
    return diff if per_prompt else diff.mean()


@wrong("logits_to_ave_logit_diff", "incorrect minus correct (the sign reversed)")
def logit_diff_reversed(logits, answer_tokens, per_prompt=False):
    answer_logits = logits[:, -1].gather(-1, answer_tokens)
    diff = answer_logits[:, 1] - answer_logits[:, 0]
    return diff if per_prompt else diff.mean()


@right("logits_to_ave_logit_diff", "explicit indexing with arange instead of gather")
def logit_diff_indexing(logits, answer_tokens, per_prompt=False):
    rows = t.arange(len(logits))
    diff = logits[rows, -1, answer_tokens[:, 0]] - logits[rows, -1, answer_tokens[:, 1]]
    return diff if per_prompt else diff.mean()


# ------------------------------------------------------------------ 2️⃣ direct logit attribution


@wrong("residual_stack_to_logit_diff", "forgets the final LayerNorm's scaling")
def dla_without_ln(residual_stack, cache, logit_diff_directions):
    return (residual_stack * logit_diff_directions).sum(-1).mean(-1)


# ------------------------------------------------------------------ 3️⃣ activation patching


@wrong("ioi_metric", "divides by the clean logit difference only: 0 on the corrupted run but not 1 on the clean run")
def ioi_metric_not_normalised(logits, answer_tokens, corrupted_logit_diff, clean_logit_diff):
    return (ref.logits_to_ave_logit_diff(logits, answer_tokens) - corrupted_logit_diff) / clean_logit_diff


@wrong("ioi_metric", "0 on the clean run and -1 on the corrupted run (the clean value subtracted)")
def ioi_metric_shifted(logits, answer_tokens, corrupted_logit_diff, clean_logit_diff):
    diff = ref.logits_to_ave_logit_diff(logits, answer_tokens)
    return (diff - clean_logit_diff) / (clean_logit_diff - corrupted_logit_diff)


@t.no_grad()
def _resid_pre_patching(model, run_tokens, source, metric, every_position=False, reverse_assignment=False):
    results = t.zeros(model.cfg.n_layers, run_tokens.shape[1])
    for layer in range(model.cfg.n_layers):
        name = utils.get_act_name("resid_pre", layer)
        for pos in range(run_tokens.shape[1]):
            def hook(act, hook, pos=pos, name=name):
                if reverse_assignment:
                    source[name][:, pos] = act[:, pos]
                elif every_position:
                    act[:] = source[name]
                else:
                    act[:, pos] = source[name][:, pos]
                return act
            results[layer, pos] = metric(model.run_with_hooks(run_tokens, fwd_hooks=[(name, hook)]))
    return results


@wrong("get_act_patch_resid_pre", "patches every position of the layer in each run instead of one")
def act_patch_resid_pre_every_position(model, corrupted_tokens, clean_cache, patching_metric):
    return _resid_pre_patching(model, corrupted_tokens, clean_cache, patching_metric, every_position=True)


@wrong("get_act_patch_resid_pre", "patches from the corrupted cache into the clean run")
def act_patch_resid_pre_reversed(model, corrupted_tokens, clean_cache, patching_metric):
    clean_tokens = clean_cache["embed.hook_in"]  # the clean prompts, read back from the cache
    _, corrupted_cache = model.run_with_cache(corrupted_tokens)
    return _resid_pre_patching(model, clean_tokens, corrupted_cache, patching_metric)


@wrong("get_act_patch_resid_pre", "writes the corrupted activation into the clean cache (assignment reversed)")
def act_patch_resid_pre_assignment_reversed(model, corrupted_tokens, clean_cache, patching_metric):
    copied = {k: v.clone() for k, v in clean_cache.items() if k.endswith("hook_resid_pre")}  # spare the shared cache
    return _resid_pre_patching(model, corrupted_tokens, copied, patching_metric, reverse_assignment=True)


@wrong("get_act_patch_block_every", "attn_out and mlp_out in the wrong order")
def act_patch_block_every_swapped(model, corrupted_tokens, clean_cache, patching_metric):
    return ref.get_act_patch_block_every(model, corrupted_tokens, clean_cache, patching_metric)[[0, 2, 1]]


@wrong("get_act_patch_attn_head_out_all_pos", "patches from the corrupted cache into the clean run")
def act_patch_head_out_reversed(model, corrupted_tokens, clean_cache, patching_metric):
    clean_tokens = clean_cache["embed.hook_in"]
    _, corrupted_cache = model.run_with_cache(corrupted_tokens)
    return ref.get_act_patch_attn_head_out_all_pos(model, clean_tokens, corrupted_cache, patching_metric)


@wrong("get_act_patch_attn_head_all_pos_every", "indexes the pattern's head on dimension 2 (a query position)")
@t.no_grad()
def act_patch_every_pattern_axis(model, corrupted_tokens, clean_cache, patching_metric):
    results = t.zeros(5, model.cfg.n_layers, model.cfg.n_heads)
    for i, component in enumerate(["z", "q", "k", "v", "pattern"]):
        for layer in range(model.cfg.n_layers):
            name = utils.get_act_name(component, layer)
            for head in range(model.cfg.n_heads):
                hook = partial(ref.patch_head, clean=clean_cache[name], head=head, head_dim=2)
                results[i, layer, head] = patching_metric(model.run_with_hooks(corrupted_tokens, fwd_hooks=[(name, hook)]))
    return results


# ------------------------------------------------------------------ 4️⃣ path patching


@wrong("get_path_patch_head_to_final_resid_post", "does not freeze the other heads: the sender leaks through later heads")
@t.no_grad()
def path_patch_final_not_frozen(model, patching_metric, new_tokens, orig_tokens, new_cache=None, orig_cache=None):
    new_cache = new_cache or ref.z_cache(model, new_tokens)
    results = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        name = utils.get_act_name("z", layer)
        for head in range(model.cfg.n_heads):
            hook = partial(ref.patch_head, clean=new_cache[name], head=head)
            results[layer, head] = patching_metric(model.run_with_hooks(orig_tokens, fwd_hooks=[(name, hook)]))
    return results


@wrong("get_path_patch_head_to_heads", "does not freeze the other heads when recording the receivers' inputs")
@t.no_grad()
def path_patch_heads_not_frozen(receiver_heads, receiver_input, model, patching_metric, new_tokens, orig_tokens,
                                new_cache=None, orig_cache=None):
    new_cache = new_cache or ref.z_cache(model, new_tokens)
    max_layer = min(layer for layer, _ in receiver_heads)
    names = {layer: utils.get_act_name(receiver_input, layer) for layer, _ in receiver_heads}
    results = t.zeros(max_layer, model.cfg.n_heads)
    for sender_layer in range(max_layer):
        zname = utils.get_act_name("z", sender_layer)
        for sender_head in range(model.cfg.n_heads):
            with model.hooks(fwd_hooks=[(zname, partial(ref.patch_head, clean=new_cache[zname], head=sender_head))]):
                _, receiver_cache = model.run_with_cache(orig_tokens, names_filter=lambda n: n in names.values())
            hooks = [(name, partial(ref.patch_heads_input, patched=receiver_cache[name],
                                    heads=[h for rl, h in receiver_heads if rl == layer])) for layer, name in names.items()]
            results[sender_layer, sender_head] = patching_metric(model.run_with_hooks(orig_tokens, fwd_hooks=hooks))
    return results


# ------------------------------------------------------------------ 5️⃣ replication


@wrong("get_copying_scores", "skips MLP0: uses the raw token embedding W_E as the head's input")
@t.no_grad()
def copying_scores_without_mlp0(model, name_tokens, k=5, negative=False):
    resid = model.W_E[name_tokens]
    written = t.einsum("nd,lhde->lhne", resid, model.W_V @ model.W_O) * (-1 if negative else 1)
    logits = ref.layer_norm(written, model.ln_final.w, model.ln_final.b, model.cfg.eps) @ model.W_U
    return (logits.topk(k, dim=-1).indices == name_tokens[:, None]).any(-1).float().mean(-1)


@wrong("get_attn_scores", "induction offset seq_len instead of seq_len - 1 (that is the duplicate-token diagonal)")
def attn_scores_wrong_induction(model, seq_len, batch, head_type):
    return ref.get_attn_scores(model, seq_len, batch, "duplicate" if head_type == "induction" else head_type)


def _mean_ablation(model, means_dataset, circuit, seq_pos_to_keep, means_from_run=False, pooled=False):
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    batch, seq_len = means_dataset.toks.shape
    with t.no_grad():
        _, cache = model.run_with_cache(means_dataset.toks)
    z_all = t.stack([cache["z", layer] for layer in range(n_layers)])
    means = z_all.mean(1, keepdim=True).expand_as(z_all) if pooled else t.zeros_like(z_all)
    if not pooled:
        for group in means_dataset.groups():
            means[:, group] = z_all[:, group].mean(1, keepdim=True)
    keep = t.zeros(n_layers, batch, seq_len, n_heads, dtype=t.bool)
    for head_class, heads in circuit.items():
        pos = means_dataset.word_idx[seq_pos_to_keep[head_class]]
        for layer, head in heads:
            keep[layer, t.arange(batch), pos, head] = True

    def hook(z, hook, layer):
        mean = z.mean(0, keepdim=True).expand_as(z) if means_from_run else means[layer]
        return t.where(keep[layer][..., None], z, mean)

    for layer in range(n_layers):
        model.add_hook(utils.get_act_name("z", layer), partial(hook, layer=layer), is_permanent=True)
    return model


@wrong("add_mean_ablation_hook", "takes the mean over the dataset being run (the IOI prompts) instead of means_dataset")
def mean_ablation_from_run(model, means_dataset, circuit, seq_pos_to_keep, is_permanent=True):
    return _mean_ablation(model, means_dataset, circuit, seq_pos_to_keep, means_from_run=True)


@wrong("add_mean_ablation_hook", "one mean over all templates, although their word positions differ")
def mean_ablation_pooled(model, means_dataset, circuit, seq_pos_to_keep, is_permanent=True):
    return _mean_ablation(model, means_dataset, circuit, seq_pos_to_keep, pooled=True)


@wrong("get_minimality_scores", "forgets to remove K: |F(C minus v) - F(C)| / F(C)")
def minimality_without_k(model, dataset, means_dataset, circuit, seq_pos_to_keep, k_sets):
    return ref.get_minimality_scores(model, dataset, means_dataset, circuit, seq_pos_to_keep, {v: [] for v in k_sets})
