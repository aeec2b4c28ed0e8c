"""Compute every number the lesson states about the shipped `brackets` model and write `brackets/facts.json`.

`python -m course.chapter1_transformers.part4_brackets.assets.analyse` (after `train.py`; about half a minute on
one CPU thread). The part's tests (tests/test_part1_4_claims.py) recompute each number from the shipped weights,
compare it with this file, and check that the lesson quotes it."""

from __future__ import annotations

import json
from pathlib import Path

import torch as t

FACTS = Path(__file__).parent / "brackets" / "facts.json"


def compute_facts(model, data) -> dict:
    from course.chapter1_transformers.part4_brackets import analysis
    from course.chapter1_transformers.part4_brackets import solutions as sol

    table = analysis.failure_table(model, data)
    ablation = analysis.ablation_at_start(model, data)
    mlp2 = analysis.top_neurons(model, data, layer=2, seq=0)
    direction = sol.get_pre_final_ln_dir(model, data)
    cos51 = float(sol.cos_sim_with_MLP_weights(model, direction, 2)[51])
    sides = analysis.attention_to_side(model, 0, 0, data)
    head21 = analysis.mean_ablation_hook(data, 2, 1, "0")
    return {
        "n_strings": len(data),
        "ln_final_r2": round(sol.get_ln_fit(model, data, "ln_final", seq_pos=0).r2, 4),
        "spread": {k: round(v["std"], 2) for k, v in table.items()},
        "separation": {k: {c: round(v[c], 1) for c in ("total", "negative_only")} for k, v in table.items()},
        "ablation_at_start": {k: {c: round(v[c], 3) for c in v} for k, v in ablation.items()},
        "open_share_r2": {k: round(v, 3) for k, v in analysis.open_share_fit_at_start(model, data).items()},
        "start_attention_0_0": {k: round(v, 2) for k, v in analysis.start_attention_to_brackets(model, 0, 0, data).items()},
        "sides_0_0": {k: round(v, 2) for k, v in sides.items()},
        "side_proportion_r2_max": round(max(analysis.proportion_heads(model, data).values()), 2),
        "mlp2_top": mlp2["neurons"],
        "mlp2_top_share": round(mlp2["share_of_variance"], 3),
        "neuron_51": {k: round(v, 3) for k, v in analysis.neuron_firing(model, data, 2, 51).items()},
        "neuron_20": {k: round(v, 3) for k, v in analysis.neuron_firing(model, data, 2, 20).items()},
        "neuron_51_cos": round(cos51, 2),
        "neuron_51_sq_cos_over_baseline": round(cos51 ** 2 * model.cfg.d_model, 1),
        "neuron_51_with_2_1_ablated": {k: round(v, 3) for k, v in
                                       analysis.neuron_firing(model, data, 2, 51, [head21]).items()},
    }


def main() -> None:
    from course.chapter1_transformers.part4_brackets import analysis
    from course.chapter1_transformers.part4_brackets import solutions as sol

    t.set_num_threads(1)
    t.set_grad_enabled(False)
    facts = compute_facts(sol.load_brackets_model(), analysis.analysis_data())
    FACTS.write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(facts, indent=1))


if __name__ == "__main__":
    main()
