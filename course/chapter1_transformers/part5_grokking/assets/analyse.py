"""Compute every number the lesson states about the shipped run and write `grokking/facts.json`.

`python -m course.chapter1_transformers.part5_grokking.assets.analyse` after `train.py`. The part's tests
recompute these numbers from the shipped weights and series, compare them with this file, and check that
the lesson quotes them."""

from __future__ import annotations

import json
from pathlib import Path

import torch

FACTS = Path(__file__).parent / "grokking" / "facts.json"


def compute_facts(model, series: dict, card: dict, dynamics_stride: int = 1) -> dict:
    """The lesson's numbers: from the final model, the per-epoch history and the checkpoints."""
    from course.chapter1_transformers.part5_grokking import solutions as S

    torch.set_flush_denormal(True)
    acts = S.neuron_acts(model)
    freqs, fracs = S.find_neuron_freqs(S.fft2d(acts))
    key = S.clusters(freqs, fracs)
    clustered = fracs >= 0.85
    cluster_sizes = {int(k): int(((freqs == k) & clustered).sum()) for k in key}
    dead = acts.reshape(-1, acts.shape[-1]).amax(0) <= 0
    embed_norms = S.fourier_norms(S.fourier_embed(model))  # [half]
    embed_key_fraction = embed_norms[[k - 1 for k in key]].sum() / embed_norms.sum()
    logits = S.last_logits(model)
    centred = logits - logits.mean(0, keepdim=True)
    logit_fraction = S.logits_in_freqs(centred, key).pow(2).sum() / centred.pow(2).sum()
    train_idx, test_idx = S.train_test_indices()
    labels = S.all_labels()

    train_acc = series["train_acc"]
    test_loss = series["test_loss"]
    test_epochs = series["test_epochs"]
    memorised = int(torch.nonzero(train_acc >= 0.999)[0])  # first epoch with >= 99.9 % train accuracy
    peak = int(test_loss.argmax())

    dyn = []  # per checkpoint: epoch, restricted loss, excluded loss (mean over key freqs), weights², embed norms
    pairs = list(zip(series["checkpoint_epochs"], series["state_dicts"], strict=True))
    m = None
    for epoch, sd in pairs[::dynamics_stride]:
        m = S.model_from_state_dict(sd, m)
        ex = S.excl_loss(m, key, train_idx) or [float("nan")]
        norms = S.fourier_norms(S.fourier_embed(m))
        dyn.append({"epoch": int(epoch), "restricted_loss": S.restricted_loss(m, key),
                    "excluded_loss": float(sum(ex) / len(ex)),
                    "train_loss": float(series["train_loss"][min(epoch, len(series["train_loss"]) - 1)]),
                    "test_loss": float(test_loss[int(torch.searchsorted(test_epochs, min(epoch, int(test_epochs[-1]))))]),
                    "sum_sq_weights": S.sum_squared_weights(sd),
                    "embed_key_fraction": float(norms[[k - 1 for k in key]].sum() / norms.sum())})
    return {
        "key_freqs": key,
        "cluster_sizes": cluster_sizes,
        "n_clustered": int(clustered.sum()),
        "n_dead": int(dead.sum()),
        "embed_key_fraction": round(float(embed_key_fraction), 4),
        "logit_fraction": round(float(logit_fraction), 4),
        "final_train_loss": S.cross_entropy(logits[train_idx], labels[train_idx]),
        "final_test_loss": S.cross_entropy(logits[test_idx], labels[test_idx]),
        "final_restricted_loss": S.restricted_loss(model, key),
        "final_excluded_losses": S.excl_loss(model, key, train_idx),
        "memorised_epoch": memorised,
        "test_loss_peak": round(float(test_loss[peak]), 2),
        "test_loss_peak_epoch": int(test_epochs[peak]),
        "grok_epoch": card["metrics"]["grok_epoch"],
        "epochs": card["metrics"]["epochs"],
        "dynamics": dyn,
    }


def _at(dynamics: list[dict], epoch: int) -> dict:
    """The row of the last checkpoint at or before `epoch`."""
    return [d for d in dynamics if d["epoch"] <= epoch][-1]


def dynamics_sentences(facts: dict) -> dict[str, str]:
    """The lesson's sentences about the training dynamics, written from the facts (the tests compare)."""
    dyn, key = facts["dynamics"], facts["key_freqs"]
    falls = next(d for d in dyn if d["restricted_loss"] < 1.0)
    start, grok, end = dyn[0], _at(dyn, facts["grok_epoch"]), dyn[-1]
    mem = next(d for d in dyn if d["epoch"] >= facts["memorised_epoch"])  # first checkpoint after memorising
    uniform = len(key) / 56  # 56 frequencies for p = 113
    return {
        "DYNAMICS_SENTENCE": (
            f"the restricted loss first drops below 1 at the checkpoint of epoch {falls['epoch']:,}, when the test "
            f"loss is still {falls['test_loss']:.2g} and the test accuracy is far from 99 % (reached at epoch "
            f"{facts['grok_epoch']:,}); at that checkpoint the excluded loss on the training data is already "
            f"{falls['excluded_loss']:.2g}, against a training loss of {falls['train_loss']:.1e}."),
        "EMBED_SENTENCE": (
            f"The key frequencies hold {100 * start['embed_key_fraction']:.0f} % of the embedding's squared norm at "
            f"initialisation (random weights would give about {100 * uniform:.0f} %), "
            f"{100 * mem['embed_key_fraction']:.0f} % at epoch {mem['epoch']:,} (the first checkpoint after "
            f"memorisation), {100 * grok['embed_key_fraction']:.0f} % at epoch {grok['epoch']:,} and "
            f"{100 * end['embed_key_fraction']:.0f} % at the end."),
        "WEIGHT_SENTENCE": (
            f"The sum of squared weights goes from {start['sum_sq_weights']:,.0f} at initialisation to "
            f"{mem['sum_sq_weights']:,.0f} at epoch {mem['epoch']:,} (after memorisation), "
            f"{grok['sum_sq_weights']:,.0f} at epoch {grok['epoch']:,} and {end['sum_sq_weights']:,.0f} at the end "
            f"(epoch {end['epoch']:,})."),
    }


def main() -> None:
    from arena.resources import load_course_model
    from arena.zoo import read_card
    from course.chapter1_transformers.part5_grokking import solutions as S

    torch.set_num_threads(1)
    facts = compute_facts(load_course_model("grokking"), S.load_series(), read_card("grokking"))
    FACTS.write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
    print({k: v for k, v in facts.items() if k != "dynamics"})


if __name__ == "__main__":
    main()
