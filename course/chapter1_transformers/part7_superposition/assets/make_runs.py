"""Makes assets/runs.json: the seeded toy-model runs that the lesson's figures show.

Every run is a function with its size as arguments: this script calls them at full size, and the part's
tests call the same functions at a CI size and assert the lesson's claims on both. Re-run with
    python -m course.chapter1_transformers.part7_superposition.assets.make_runs
(one torch thread; a few minutes on a laptop CPU).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch as t

from course.chapter1_transformers.part7_superposition import solutions as ref

PATH = Path(__file__).with_name("runs.json")
FIVE_IN_TWO_P = [1.0, 0.3, 0.1, 0.05, 0.02, 0.01]


def _r(x: t.Tensor, digits: int = 3) -> list:
    return t.round(x.detach().float(), decimals=digits).tolist()


def five_in_two(p: list[float] = FIVE_IN_TWO_P, steps: int = 2_000, n_batch: int = 128, seed: int = 0) -> dict:
    """5 features (importance 0.9^i) in 2 dimensions, one instance per feature probability."""
    t.manual_seed(seed)
    importance = 0.9 ** t.arange(5)
    model = ref.Model(ref.Config(n_instances=len(p)), feature_probability=t.tensor(p)[:, None], importance=importance)
    ref.optimize(model, n_batch=n_batch, steps=steps, lr=2e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    return {"p": p, "importance": _r(importance), "W": _r(model.W), "b": _r(model.b_final)}


def sweep(p: list[float], n_features: int = 100, n_hidden: int = 20, steps: int = 3_000, n_batch: int = 256,
          seed: int = 0) -> dict:
    """n_features features with decaying importance (100^-x) in n_hidden dimensions, across feature probabilities."""
    t.manual_seed(seed)
    importance = 100 ** -t.linspace(0, 1, n_features)
    cfg = ref.Config(n_instances=len(p), n_features=n_features, n_hidden=n_hidden)
    model = ref.Model(cfg, feature_probability=t.tensor(p)[:, None], importance=importance)
    ref.optimize(model, n_batch=n_batch, steps=steps, lr=1e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    return {"p": p, "W": _r(model.W), "b": _r(model.b_final)}


def correlated(n_correlated_pairs: int, n_anticorrelated_pairs: int, p: float = 0.1, n_instances: int = 3,
               steps: int = 2_000, n_batch: int = 256, seed: int = 0) -> dict:
    """Pairs of correlated or anticorrelated features in 2 dimensions, several instances (seeds) side by side."""
    t.manual_seed(seed)
    n_features = 2 * (n_correlated_pairs + n_anticorrelated_pairs)
    cfg = ref.Config(n_instances=n_instances, n_features=n_features, n_hidden=2,
                     n_correlated_pairs=n_correlated_pairs, n_anticorrelated_pairs=n_anticorrelated_pairs)
    model = ref.CorrelatedModel(cfg, feature_probability=p)
    ref.optimize(model, n_batch=n_batch, steps=steps, lr=2e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    return {"p": p, "n_correlated_pairs": n_correlated_pairs, "n_anticorrelated_pairs": n_anticorrelated_pairs,
            "W": _r(model.W), "b": _r(model.b_final)}


def neurons(p: list[float], n_features: int = 10, n_hidden: int = 5, steps: int = 1_000, n_batch: int = 128,
            seed: int = 0, signed: bool = True) -> dict:
    """The NeuronModel (ReLU hidden layer): 10 features, importance 0.75^i, in 5 neurons, across sparsity.

    Feature values are uniform in [−1, 1] (the NeuronModel's generate_signed_batch); signed=False trains on
    values in [0, 1] instead (the plain Model's generate_batch), the lesson's contrast."""
    t.manual_seed(seed)
    importance = 0.75 ** t.arange(n_features)
    cfg = ref.Config(n_instances=len(p), n_features=n_features, n_hidden=n_hidden)
    model = ref.NeuronModel(cfg, feature_probability=t.tensor(p)[:, None], importance=importance)
    if not signed:
        model.generate_batch = lambda n: ref.Model.generate_batch(model, n)
    ref.optimize(model, n_batch=n_batch, steps=steps, lr=1e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    return {"p": p, "signed": signed, "importance": _r(importance), "W": _r(model.W), "b": _r(model.b_final)}


def geometry(p: list[float], n_features: int = 100, n_hidden: int = 20, steps: int = 3_000, n_batch: int = 256,
             seed: int = 0) -> dict:
    """Equally important features across sparsity: per-feature dimensionality and dimensions per feature."""
    t.manual_seed(seed)
    cfg = ref.Config(n_instances=len(p), n_features=n_features, n_hidden=n_hidden)
    model = ref.Model(cfg, feature_probability=t.tensor(p)[:, None])
    ref.optimize(model, n_batch=n_batch, steps=steps, lr=1e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    W = model.W.detach()
    return {"p": p, "dimensionality": _r(ref.compute_dimensionality(W)), "norms": _r(W.norm(dim=1)),
            "dimensions_per_feature": _r(ref.dimensions_per_feature(W), 4)}


def sae(l1_coeffs: list[float], n_features: int = 20, n_hidden: int = 5, n_latents: int = 40, p: float = 0.05,
        model_steps: int = 2_000, sae_steps: int = 2_000, n_batch: int = 256, seed: int = 0) -> dict:
    """A toy model with n_features equally important features in n_hidden dimensions, then one SAE per L1
    coefficient on its hidden layer: how many of the true feature directions each SAE finds."""
    t.manual_seed(seed)
    model = ref.Model(ref.Config(n_instances=1, n_features=n_features, n_hidden=n_hidden), feature_probability=p)
    ref.optimize(model, n_batch=n_batch, steps=model_steps, lr=1e-2, lr_scale=ref.cosine_decay_lr, seed=seed,
                 progress=False)
    W = model.W.detach()[0]
    autoencoder = ref.train_sae(model, n_latents, t.tensor(l1_coeffs), steps=sae_steps, n_batch=n_batch, seed=seed,
                                progress=False)
    W_hat = W / W.norm(dim=0, keepdim=True)
    best_cosine = t.einsum("kld,df->klf", autoencoder.normalised_decoder().detach(), W_hat).max(dim=1).values
    x = model.generate_batch(4096)[:, 0]
    z, _ = autoencoder((x @ W.T)[:, None].expand(-1, len(l1_coeffs), -1))
    return {"p": p, "l1": l1_coeffs, "n_features": n_features, "n_hidden": n_hidden, "n_latents": n_latents,
            "represented": int((W.norm(dim=0) > 0.5).sum()),
            "recovered": ref.features_recovered(autoencoder, W).tolist(),
            "alive": (z > 0).any(0).sum(-1).tolist(), "best_cosine": _r(best_cosine)}


SWEEP_P = [round(float(x), 4) for x in 20 ** -t.linspace(0, 1, 6)]
NEURON_P = [1.0, 0.3, 0.1, 0.03]
GEOMETRY_P = [round(float(x), 4) for x in 50 ** -t.linspace(0, 1, 10)]
SAE_L1 = [0.0, 0.01, 0.03, 0.1, 0.3, 1.0]


def main(only: list[str] | None = None) -> None:
    """Run every job (or only the named ones, keeping the others from the existing file), saving after each."""
    t.set_num_threads(1)
    runs = json.loads(PATH.read_text()) if only and PATH.exists() else {}
    jobs = {
        "five_in_two": lambda: five_in_two(),
        "sweep": lambda: sweep(SWEEP_P),
        "correlated_pairs": lambda: correlated(2, 0),
        "anticorrelated_pairs": lambda: correlated(0, 2),
        "three_correlated_pairs": lambda: correlated(3, 0),
        "neurons": lambda: neurons(NEURON_P),
        "geometry": lambda: geometry(GEOMETRY_P),
        "sae": lambda: sae(SAE_L1),
    }
    for name, job in jobs.items():
        if only and name not in only:
            continue
        start = time.perf_counter()
        runs[name] = job()
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
        PATH.write_text(json.dumps(runs, separators=(",", ":")))
    print(f"wrote {PATH} ({PATH.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
