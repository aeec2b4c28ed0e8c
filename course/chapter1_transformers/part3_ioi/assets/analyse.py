"""The project's IOI analysis of course-gpt, with the lesson's own functions: writes course_gpt_ioi.json.

    python -m course.chapter1_transformers.part3_ioi.assets.analyse [--model course-gpt] [--out FILE]

Every number the lesson states about course-gpt comes from this file, and
`tests/test_part1_3_claims.py` re-runs `analyse()` and compares. It takes about 30 s on one CPU core."""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import torch as t

OUT = Path(__file__).parent / "course_gpt_ioi.json"
N_PROMPTS = 40
SEED = 0


def _round(x, nd: int = 4):
    if isinstance(x, t.Tensor):
        x = x.tolist()
    if isinstance(x, list):
        return [_round(v, nd) for v in x]
    if isinstance(x, dict):
        return {k: _round(v, nd) for k, v in x.items()}
    return round(float(x), nd) if isinstance(x, float) else x


def _label(layer: int, head: int) -> str:
    return f"{layer}.{head}"


def _top(scores: t.Tensor, k: int, largest: bool = True) -> list[list]:
    """The k (layer, head) entries with the largest (or smallest) values: [[label, value], ...]."""
    flat = scores.flatten()
    idx = flat.topk(k, largest=largest).indices
    n_heads = scores.shape[1]
    return [[_label(int(i) // n_heads, int(i) % n_heads), float(flat[i])] for i in idx]


@t.no_grad()
def analyse(model, n_prompts: int = N_PROMPTS, seed: int = SEED, full: bool = True) -> dict:
    """Measure what the lesson says about `model`'s IOI mechanism (dataset: the two held-out templates).

    `full=False` stops after the task and attribution measurements (a second or two)."""
    from .. import solutions as S

    t.manual_seed(0)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    ds = S.IOIDataset.make(model.tokenizer, n_prompts, seed=seed)
    corrupted, abc = ds.corrupted(), ds.abc()
    clean_logits, cache = model.run_with_cache(ds.toks)
    corrupted_logits, _ = model.run_with_cache(corrupted.toks)
    abc_logits = model(abc.toks)
    per_prompt = S.logits_to_ave_logit_diff(clean_logits, ds.answer_tokens, per_prompt=True)
    clean_ld = float(per_prompt.mean())
    corrupted_ld = S.logits_to_ave_logit_diff(corrupted_logits, ds.answer_tokens).item()
    abc_ld = S.logits_to_ave_logit_diff(abc_logits, ds.answer_tokens).item()
    out: dict = {"n_prompts": n_prompts, "seed": seed, "prompt_0": ds.prompts[0],
                 "prompt_0_tokens": [model.tokenizer.decode([tok]) for tok in ds.toks[0].tolist()],
                 "clean_logit_diff": clean_ld, "corrupted_logit_diff": corrupted_ld, "abc_logit_diff": abc_ld,
                 "accuracy": float((per_prompt > 0).float().mean()),
                 "positions": {k: int(ds.word_idx[k][0]) for k in ("S2", "end")}}
    top1 = clean_logits[:, -1].argmax(-1)
    out["top1_is_io"] = float((top1 == ds.answer_tokens[:, 0]).float().mean())
    out["per_template_logit_diff"] = [float(per_prompt[g].mean()) for g in ds.groups()]

    # 2: direct logit attribution and the logit lens
    dirs = S.logit_diff_directions(model, ds.answer_tokens)
    accumulated, labels = cache.accumulated_resid(layer=-1, incl_mid=True, pos_slice=-1, return_labels=True)
    out["logit_lens"] = dict(zip(labels, S.residual_stack_to_logit_diff(accumulated, cache, dirs).tolist(), strict=True))
    per_layer, layer_labels = cache.decompose_resid(layer=-1, pos_slice=-1, return_labels=True)
    out["unembed_bias_logit_diff"] = float((model.b_U[ds.answer_tokens[:, 0]] - model.b_U[ds.answer_tokens[:, 1]]).mean())
    out["per_component_dla"] = dict(zip(layer_labels, S.residual_stack_to_logit_diff(per_layer, cache, dirs).tolist(),
                                        strict=True))
    heads = cache.stack_head_results(layer=-1, pos_slice=-1)
    head_dla = S.residual_stack_to_logit_diff(heads, cache, dirs).reshape(n_layers, n_heads)
    out["head_dla"] = head_dla.tolist()
    out["top_positive_dla"] = _top(head_dla, 4)
    out["top_negative_dla"] = _top(head_dla, 4, largest=False)

    # Attention from the end token to IO, S1, S2 (mean over prompts), for every head.
    rows = t.arange(len(ds))
    end = ds.word_idx["end"]
    attn = {}
    for key in ("IO", "S1", "S2", "S2+1"):
        attn[key] = t.stack([cache["pattern", layer][rows, :, end, ds.word_idx[key]].mean(0) for layer in range(n_layers)])
    out["attn_end_to"] = {k: v.tolist() for k, v in attn.items()}

    # Per-head direct effect split by the name written: does a head raise IO or lower S?
    w_u = model.W_U
    scaled = cache.apply_ln_to_stack(heads, layer=-1, pos_slice=-1)  # [heads, batch, d_model]
    io_logit = (scaled * w_u.T[ds.answer_tokens[:, 0]]).sum(-1).mean(-1).reshape(n_layers, n_heads)
    s_logit = (scaled * w_u.T[ds.answer_tokens[:, 1]]).sum(-1).mean(-1).reshape(n_layers, n_heads)
    out["head_io_logit"], out["head_s_logit"] = io_logit.tolist(), s_logit.tolist()
    if not full:
        return _round(out)

    # 3: activation patching (corrupted run, clean activations patched in)
    metric = partial(S.ioi_metric, answer_tokens=ds.answer_tokens, corrupted_logit_diff=corrupted_ld,
                     clean_logit_diff=clean_ld)
    resid = S.get_act_patch_resid_pre(model, corrupted.toks, cache, metric)
    out["resid_pre_patching"] = resid.tolist()
    head_out = S.get_act_patch_attn_head_out_all_pos(model, corrupted.toks, cache, metric)
    out["head_out_patching"] = head_out.tolist()
    out["top_head_out_patching"] = _top(head_out, 4)
    top_layer, top_head = divmod(int(head_out.argmax()), n_heads)
    every = {}
    for component in ("z", "q", "k", "v", "pattern"):  # the top head only (the full sweep is the lesson's)
        name = f"blocks.{top_layer}.attn.hook_{component}"
        hook = partial(S.patch_head, clean=cache[name], head=top_head, head_dim=1 if component == "pattern" else 2)
        every[component] = metric(model.run_with_hooks(corrupted.toks, fwd_hooks=[(name, hook)])).item()
    out["top_head_every_patching"] = {"head": _label(top_layer, top_head), **every}

    # 4: path patching (clean run, ABC activations on one path)
    path_metric = partial(S.ioi_metric, answer_tokens=ds.answer_tokens, corrupted_logit_diff=abc_ld,
                          clean_logit_diff=clean_ld)
    to_final = S.get_path_patch_head_to_final_resid_post(model, path_metric, abc.toks, ds.toks) - 1
    out["path_to_final"] = to_final.tolist()
    out["top_path_to_final_negative"] = _top(to_final, 4, largest=False)
    out["top_path_to_final_positive"] = _top(to_final, 4)
    order = to_final.flatten().argsort().tolist()  # most negative first: the strongest direct heads
    receiver = next(divmod(i, n_heads) for i in order if i // n_heads > 0)
    out["path_into_receiver"] = {"receiver": _label(*receiver)}
    for receiver_input in ("q", "v"):
        into = S.get_path_patch_head_to_heads([receiver], receiver_input, model, path_metric, abc.toks, ds.toks) - 1
        out["path_into_receiver"][receiver_input] = into.tolist()

    # 5: head types on repeated random tokens; copying scores of the names
    for head_type in ("duplicate", "prev", "induction"):
        out[f"{head_type}_scores"] = S.get_attn_scores(model, 20, 10, head_type).tolist()
    names = t.tensor([S.encode(model.tokenizer, " " + n)[0] for n in ds.names])
    out["copying_scores"] = S.get_copying_scores(model, names, k=5).tolist()
    out["negative_copying_scores"] = S.get_copying_scores(model, names, k=5, negative=True).tolist()

    # A circuit, chosen by rule from the measurements above (see `choose_circuit`), and its faithfulness.
    circuit, keep = choose_circuit(model, ds, abc, clean_ld, to_final)
    out["circuit"] = {name: [_label(*h) for h in heads] for name, heads in circuit.items()}
    out["circuit_positions"] = keep
    out["circuit_logit_diff"] = S.ablated_logit_diff(model, ds, abc, circuit, keep)
    out["faithfulness"] = out["circuit_logit_diff"] / clean_ld
    out["nothing_logit_diff"] = S.ablated_logit_diff(model, ds, abc, {}, {})
    k_sets = {h: [] for heads in circuit.values() for h in heads}
    minimality = S.get_minimality_scores(model, ds, abc, circuit, keep, k_sets)
    out["minimality"] = {_label(*h): v for h, v in minimality.items()}
    return _round(out)


CIRCUIT_POSITIONS = ("IO", "S1", "S1+1", "S2", "S2+1", "end")  # where a circuit head may keep its output
N_DIRECT = 3
FAITHFULNESS_TARGET = 0.8
MAX_CIRCUIT_HEADS = 8


def choose_circuit(model, ds, abc, clean_ld: float, to_final: t.Tensor
                   ) -> tuple[dict[str, list[tuple[int, int]]], dict[str, str]]:
    """Start from the `N_DIRECT` heads with the strongest direct paths to the logits (|path patching|), kept
    at the end. Then, greedily, add the (head, position) that raises F(C) -- the logit difference with
    every other head output mean-ablated over the ABC prompts -- the most, until F(C) reaches
    `FAITHFULNESS_TARGET` of the clean logit difference or the circuit has `MAX_CIRCUIT_HEADS` heads.
    Classes: "direct" (kept at the end), then one per position of the added heads ("at S2+1", ...)."""
    from .. import solutions as S

    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    # The same mean ablation as `S.add_mean_ablation_hook`, with the means taken once: the search runs a few
    # hundred candidate circuits, and that function re-runs the ABC prompts for every one.
    names = [f"blocks.{layer}.attn.hook_z" for layer in range(n_layers)]
    _, cache = model.run_with_cache(abc.toks, names_filter=lambda name: name in names)
    means = t.stack([cache[name] for name in names])  # [layer, batch, seq, head, d_head]
    for group in abc.groups():
        means[:, group] = means[:, group].mean(dim=1, keepdim=True)
    rows = t.arange(len(ds))

    def f(keep: t.Tensor) -> float:  # keep: [layer, batch, seq, head] bool
        hooks = [(name, partial(lambda z, hook, layer: t.where(keep[layer][..., None], z, means[layer]), layer=layer))
                 for layer, name in enumerate(names)]
        return S.logits_to_ave_logit_diff(model.run_with_hooks(ds.toks, fwd_hooks=hooks), ds.answer_tokens).item()

    direct = [divmod(i, n_heads) for i in to_final.abs().flatten().argsort(descending=True)[:N_DIRECT].tolist()]
    keep = t.zeros(means.shape[:4], dtype=t.bool)
    for layer, head in direct:
        keep[layer, rows, ds.word_idx["end"], head] = True
    score = f(keep)
    chosen: list[tuple[tuple[int, int], str]] = []
    used = set(direct)
    while score < FAITHFULNESS_TARGET * clean_ld and len(direct) + len(chosen) < MAX_CIRCUIT_HEADS:
        best, best_f = None, -float("inf")
        for layer in range(n_layers):
            for head in range(n_heads):
                if (layer, head) in used:
                    continue
                for pos in CIRCUIT_POSITIONS:
                    trial = keep.clone()
                    trial[layer, rows, ds.word_idx[pos], head] = True
                    if (trial_f := f(trial)) > best_f:
                        best, best_f = ((layer, head), pos), trial_f
        (layer, head), pos = best
        keep[layer, rows, ds.word_idx[pos], head] = True
        chosen.append(best)
        used.add((layer, head))
        score = best_f
    circuit: dict[str, list[tuple[int, int]]] = {"direct": direct}
    positions = {"direct": "end"}
    for head, pos in chosen:
        circuit.setdefault(f"at {pos}", []).append(head)
        positions[f"at {pos}"] = pos
    return circuit, positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="course-gpt")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    t.set_num_threads(1)
    from .. import solutions as S

    model = S.load_ioi_model(args.model) if args.model != "toy" else __import__(
        "course.chapter1_transformers.part3_ioi.toy", fromlist=["toy_model"]).toy_model(3)
    result = analyse(model)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
