"""Part 1.3: the reference patching functions agree with transformer_lens.patching and obey the
properties the lesson states (path patching freezes, DLA adds up, mean ablation keeps what it should)."""

from __future__ import annotations

import pytest
import torch as t

from course.chapter1_transformers.part3_ioi import checks, variants
from course.chapter1_transformers.part3_ioi import solutions as ref

t.set_num_threads(1)


@pytest.fixture(scope="module")
def s2():
    return checks._setup(2)


@pytest.fixture(scope="module")
def s3():
    return checks._setup(3)


def test_resid_pre_patching_matches_transformer_lens_and_the_lesson(s2):
    """'At layer 0, patching position S2 turns the corrupted prompt into the clean one, so the metric is 1
    there and 0 at every position where the two prompts agree.'"""
    got = ref.get_act_patch_resid_pre(s2["model"], s2["corrupted"].toks, s2["clean_cache"], s2["metric"])
    t.testing.assert_close(got, checks._tl_patching("get_act_patch_resid_pre"), atol=1e-4, rtol=1e-4)
    s2_pos = int(s2["ds"].word_idx["S2"][0])
    assert abs(got[0, s2_pos] - 1) < 1e-4
    assert got[0, [p for p in range(got.shape[1]) if p != s2_pos]].abs().max() < 1e-4


def test_head_patching_matches_transformer_lens(s2):
    args = (s2["model"], s2["corrupted"].toks, s2["clean_cache"], s2["metric"])
    t.testing.assert_close(ref.get_act_patch_attn_head_out_all_pos(*args),
                           checks._tl_patching("get_act_patch_attn_head_out_all_pos"), atol=1e-4, rtol=1e-4)


def test_direct_logit_attribution_adds_up(s2):
    cache, dirs = s2["clean_cache"], ref.logit_diff_directions(s2["model"], s2["ds"].answer_tokens)
    parts = ref.residual_stack_to_logit_diff(cache.decompose_resid(layer=-1, pos_slice=-1), cache, dirs)
    assert abs(parts.sum().item() - s2["clean_ld"]) < 1e-4


def test_path_patching_with_identical_runs_changes_nothing(s3):
    model, toks = s3["model"], s3["ds"].toks
    assert t.allclose(ref.get_path_patch_head_to_final_resid_post(model, s3["path_metric"], toks, toks), t.tensor(1.0))
    into = ref.get_path_patch_head_to_heads([(2, 1)], "q", model, s3["path_metric"], toks, toks)
    assert t.allclose(into, t.tensor(1.0))


def test_path_patching_of_last_layer_heads_is_activation_patching(s3):
    """Nothing comes after the last layer, so freezing cannot matter there; earlier layers must differ."""
    model, metric, new, orig = s3["model"], s3["path_metric"], s3["abc"].toks, s3["ds"].toks
    path = ref.get_path_patch_head_to_final_resid_post(model, metric, new, orig)
    leaky = variants.path_patch_final_not_frozen(model, metric, new, orig)
    t.testing.assert_close(path[-1], leaky[-1], atol=1e-4, rtol=1e-4)
    assert (path[0] - leaky[0]).abs().max() > 1e-2, "freezing made no difference: the check could not tell"


def test_head_to_heads_freezing_matters_only_across_layers(s3):
    model, metric, new, orig = s3["model"], s3["path_metric"], s3["abc"].toks, s3["ds"].toks
    path = ref.get_path_patch_head_to_heads([(2, 0)], "v", model, metric, new, orig)
    leaky = variants.path_patch_heads_not_frozen([(2, 0)], "v", model, metric, new, orig)
    t.testing.assert_close(path[1], leaky[1], atol=1e-4, rtol=1e-4)  # layer 1 feeds layer 2 directly
    assert (path[0] - leaky[0]).abs().max() > 1e-3  # layer 0 also reaches it through layer 1


def test_mean_ablation_keeps_the_circuit_and_only_it(s2):
    model, ds, abc = s2["model"], s2["ds"], s2["abc"]
    everything = {"all": [(layer, h) for layer in range(2) for h in range(4)]}
    keep_all = {"all": "end"}
    with_all = ref.ablated_logit_diff(model, ds, abc, everything, keep_all)
    nothing = ref.ablated_logit_diff(model, ds, abc, {}, {})
    # Keeping every head at the end still ablates the other positions: between nothing and the clean run.
    assert with_all != pytest.approx(nothing)
    # Mean ablation over the ABC dataset itself (run on ABC) with nothing kept equals the per-template mean run.
    model.reset_hooks(including_permanent=True)
    ref.add_mean_ablation_hook(model, abc, {}, {})
    try:
        with t.no_grad():
            z_hooked = model.run_with_cache(abc.toks, names_filter=lambda n: n.endswith("hook_z"))[1]
    finally:
        model.reset_hooks(including_permanent=True)
    for group in abc.groups():
        z = z_hooked["z", 0][group]
        assert t.allclose(z, z[:1].expand_as(z), atol=1e-6), "every prompt of a template gets the same mean"


def test_copying_scores_equal_a_per_head_loop(s2):
    model = s2["model"]
    names = t.tensor([ref.encode(model.tokenizer, " " + n)[0] for n in s2["ds"].names])
    fast = ref.get_copying_scores(model, names, k=20)
    resid = ref.mlp0_embedding(model, names)
    for layer in range(model.cfg.n_layers):
        for head in range(model.cfg.n_heads):
            out = resid @ model.W_V[layer, head] @ model.W_O[layer, head]
            logits = ref.layer_norm(out, model.ln_final.w, model.ln_final.b, model.cfg.eps) @ model.W_U
            top = logits.topk(20, dim=-1).indices
            assert fast[layer, head] == pytest.approx((top == names[:, None]).any(-1).float().mean().item())


def test_attention_scores_find_a_planted_previous_token_head(s2):
    """A hook that makes head 0.0 attend to the previous token gives it a previous-token score of 1."""
    model = s2["model"]

    def prev_pattern(pattern, hook):
        seq = pattern.shape[-1]
        pattern[:, 0] = t.diag_embed(t.ones(seq - 1), offset=-1)
        pattern[:, 0, 0, 0] = 1
        return pattern

    with model.hooks(fwd_hooks=[("blocks.0.attn.hook_pattern", prev_pattern)]):
        scores = ref.get_attn_scores(model, 10, 2, "prev")
    assert scores[0, 0] == pytest.approx(1.0)
    assert scores.flatten()[1:].max() < 0.9
