"""Reference solutions for part 1.5, grokking and modular arithmetic (Nanda et al. 2023)."""

from __future__ import annotations

import functools
import math

import einops
import torch
from jaxtyping import Float, Int
from torch import Tensor

from course.chapter1_transformers.part5_grokking.assets.train import (
    CONFIG,
    all_pairs,
    architecture,
    split_indices,
)

P = CONFIG.p  # 113: the modulus, the number of input tokens (plus "=" = 113) and of output classes

# ------------------------------------------------------------------ the data and the shipped run


def all_tokens(p: int = P) -> Int[Tensor, "p*p 3"]:
    """Every input `[a, b, =]`; row a*p + b."""
    return all_pairs(p)


def all_labels(p: int = P) -> Int[Tensor, "p*p"]:
    """(a + b) mod p for every row of `all_tokens(p)`."""
    tokens = all_pairs(p)
    return (tokens[:, 0] + tokens[:, 1]) % p


def train_test_indices() -> tuple[Int[Tensor, "n_train"], Int[Tensor, "n_test"]]:
    """The rows of `all_tokens()` the shipped run trained on (30 %), and the rest."""
    return split_indices(CONFIG)


def last_logits(model) -> Float[Tensor, "p*p p"]:
    """The model's logits at the "=" position for every pair (a, b), row a*p + b."""
    with torch.inference_mode():
        return model(all_tokens())[:, -1].float()


def cross_entropy(logits: Float[Tensor, "batch p"], labels: Int[Tensor, "batch"]) -> float:
    """Mean cross-entropy, computed in float64 (the losses get as small as 1e-7)."""
    logprobs = logits.double().log_softmax(-1)
    return -logprobs.gather(-1, labels[:, None]).mean().item()


def read_series(path) -> dict:
    """A series file written by the training script, with its checkpoints as a list of float32 state dicts."""
    from safetensors.torch import load_file

    raw = load_file(str(path))
    epochs = raw["checkpoint_epochs"].tolist()
    keys = sorted(k.removeprefix("checkpoints.") for k in raw if k.startswith("checkpoints."))
    state_dicts = [{k: raw[f"checkpoints.{k}"][i].float() for k in keys} for i in range(len(epochs))]
    out = {k: v for k, v in raw.items() if not k.startswith("checkpoints.")}
    out.update(checkpoint_epochs=epochs, state_dicts=state_dicts)
    return out


@functools.cache
def load_series() -> dict:
    """The shipped run's history: per-epoch train loss and accuracy (`train_loss`, `train_acc`), the test loss and
    accuracy of every epoch too (`test_epochs`, `test_loss`, `test_acc`), and a thinned series of checkpoints
    (`checkpoint_epochs`, `state_dicts`)."""
    from arena.zoo import entry

    return read_series(entry("grokking").dir / "checkpoints.safetensors")


def model_from_state_dict(state_dict: dict[str, Tensor], model=None):
    """A TransformerBridge with the grokking architecture and the given weights, in eval mode.

    Pass `model` (a bridge from an earlier call) to load the weights into it instead of booting a new one."""
    if model is None:
        from transformer_lens import TransformerBridgeConfig
        from transformer_lens.model_bridge import TransformerBridge

        model = TransformerBridge.boot_native(TransformerBridgeConfig(**architecture(), device="cpu"))
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


# ------------------------------------------------------------------ 1️⃣ periodicity and the Fourier basis


def embed_SVD(model) -> tuple[Float[Tensor, "p r"], Float[Tensor, "r"], Float[Tensor, "r d_model"]]:
    """The thin SVD (U, S, Vh) of the embedding of the p number tokens (W_E without the "=" row)."""
    # SOLUTION
    W_E = model.W_E[:-1].detach()
    U, S, Vh = torch.linalg.svd(W_E, full_matrices=False)
    return U, S, Vh
    # END SOLUTION


def make_fourier_basis(p: int) -> tuple[Float[Tensor, "p p"], list[str]]:
    """The Fourier basis of functions on {0, ..., p-1} (p odd), one basis vector per row, each of unit norm.

    Row 0 is constant, row 2k-1 is cos(2πkx/p) and row 2k is sin(2πkx/p) for k = 1 ... (p-1)/2.
    Names: "Const", "cos 1", "sin 1", "cos 2", ..."""
    # SOLUTION
    x = torch.arange(p, dtype=torch.float64)
    k = torch.arange(1, (p - 1) // 2 + 1, dtype=torch.float64)
    angles = 2 * math.pi * k[:, None] * x[None, :] / p  # [(p-1)/2, p]
    rows = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1).reshape(-1, p)  # cos 1, sin 1, cos 2, ...
    basis = torch.cat([torch.ones(1, p, dtype=torch.float64), rows])
    basis = basis / basis.norm(dim=1, keepdim=True)
    names = ["Const"] + [f"{fn} {i}" for i in range(1, (p - 1) // 2 + 1) for fn in ("cos", "sin")]
    return basis.float(), names
    # END SOLUTION


def fft1d(x: Float[Tensor, "... p"]) -> Float[Tensor, "... p"]:
    """The coefficients of x (along its last axis) in the Fourier basis of `make_fourier_basis(x.shape[-1])`."""
    # SOLUTION
    basis, _ = make_fourier_basis(x.shape[-1])
    return x @ basis.T.to(x.dtype)
    # END SOLUTION


def fourier_2d_basis_term(i: int, j: int, p: int) -> Float[Tensor, "p p"]:
    """The 2D basis function B_i(x) B_j(y) on the grid x, y in {0..p-1}, as a [p, p] tensor indexed [x, y]."""
    # SOLUTION
    basis, _ = make_fourier_basis(p)
    return basis[i][:, None] * basis[j][None, :]
    # END SOLUTION


def fft2d(tensor: Float[Tensor, "p p ..."]) -> Float[Tensor, "p p ..."]:
    """The coefficients of a function of (x, y) (the first two axes) in the 2D Fourier basis: out[i, j, ...] is
    the coefficient of `fourier_2d_basis_term(i, j, p)`. Any further axes are batch axes."""
    # SOLUTION
    basis, _ = make_fourier_basis(tensor.shape[0])
    basis = basis.to(tensor.dtype)
    return einops.einsum(tensor, basis, basis, "x y ..., i x, j y -> i j ...")
    # END SOLUTION


# ------------------------------------------------------------------ 2️⃣ circuits and features


def fourier_embed(model) -> Float[Tensor, "p d_model"]:
    """The embedding of the p number tokens in the Fourier basis: row i is the embedding's component along
    basis vector i (a direction in the residual stream)."""
    # SOLUTION
    return fft1d(model.W_E[:-1].detach().T).T
    # END SOLUTION


def fourier_norms(matrix: Float[Tensor, "p d"]) -> Float[Tensor, "half"]:
    """Squared norm per frequency k = 1 ... (p-1)/2 of a matrix written in the Fourier basis (cos k and sin k rows)."""
    sq = matrix[1:].pow(2).sum(-1)
    return sq[0::2] + sq[1::2]


def neuron_acts(model) -> Float[Tensor, "p p d_mlp"]:
    """Every MLP neuron's activation (after ReLU) at the "=" position, for every pair, indexed [a, b, neuron]."""
    _, cache_ = model.run_with_cache(all_tokens(), names_filter=["blocks.0.mlp.hook_post"])
    return cache_["post", 0][:, -1].reshape(P, P, -1)


def attention_to_a(model) -> Float[Tensor, "p p n_heads"]:
    """Each head's attention from "=" to the first number, for every pair, indexed [a, b, head]."""
    _, cache_ = model.run_with_cache(all_tokens(), names_filter=["blocks.0.attn.hook_pattern"])
    return cache_["pattern", 0][:, :, -1, 0].reshape(P, P, -1)


def project_onto_direction(batch_vecs: Float[Tensor, "n ..."], v: Float[Tensor, "n"]) -> Float[Tensor, "n ..."]:
    """Project each vector batch_vecs[:, *rest] onto the line spanned by v (v need not have unit norm)."""
    # SOLUTION
    coeffs = einops.einsum(batch_vecs, v, "n ..., n -> ...") / v.pow(2).sum()
    return einops.einsum(v, coeffs, "n, ... -> n ...")
    # END SOLUTION


def project_onto_frequency(batch_vecs: Float[Tensor, "p*p ..."], freq: int) -> Float[Tensor, "p*p ..."]:
    """Project functions of (a, b) (rows a*p + b) onto the 9 two-dimensional basis terms that use only
    the constant and frequency `freq` in each variable: (Const, cos freq, sin freq) x (Const, cos freq, sin freq)."""
    # SOLUTION
    p = math.isqrt(batch_vecs.shape[0])
    idx = [0, 2 * freq - 1, 2 * freq]
    return sum(project_onto_direction(batch_vecs, fourier_2d_basis_term(i, j, p).flatten().to(batch_vecs.dtype))
               for i in idx for j in idx)
    # END SOLUTION


def find_neuron_freqs(fourier_neuron_acts: Float[Tensor, "p p d_mlp"]
                      ) -> tuple[Int[Tensor, "d_mlp"], Float[Tensor, "d_mlp"]]:
    """For each neuron, the frequency k that best explains its activations, and the fraction explained.

    `fourier_neuron_acts` are the neurons' activations in the 2D Fourier basis (`fft2d`). Ignore the
    constant term [0, 0]; the fraction explained by k is the squared norm of the other 8 terms of
    (Const, cos k, sin k) x (Const, cos k, sin k) over the squared norm of all non-constant terms."""
    # SOLUTION
    p = fourier_neuron_acts.shape[0]
    sq = fourier_neuron_acts.pow(2).clone()
    sq[0, 0] = 0.0
    total = sq.sum((0, 1))  # [d_mlp]
    k = torch.arange(1, (p - 1) // 2 + 1)
    idx = torch.stack([torch.zeros_like(k), 2 * k - 1, 2 * k], dim=1)  # [half, 3]
    in_freq = sq[idx[:, :, None], idx[:, None, :]].sum((1, 2))  # [half, d_mlp]
    frac = in_freq / total
    best = frac.argmax(0)
    return k[best], frac.gather(0, best[None]).squeeze(0)
    # END SOLUTION


def get_trig_sum_directions(k: int, p: int = P) -> tuple[Float[Tensor, "p p"], Float[Tensor, "p p"]]:
    """Unit-norm [p, p] directions (indexed [x, y]) of cos(w(x+y)) and sin(w(x+y)), w = 2πk/p,
    written with the 2D Fourier basis terms."""
    # SOLUTION
    cos_x_cos_y = fourier_2d_basis_term(2 * k - 1, 2 * k - 1, p)
    sin_x_sin_y = fourier_2d_basis_term(2 * k, 2 * k, p)
    sin_x_cos_y = fourier_2d_basis_term(2 * k, 2 * k - 1, p)
    cos_x_sin_y = fourier_2d_basis_term(2 * k - 1, 2 * k, p)
    cos_dir = (cos_x_cos_y - sin_x_sin_y) / math.sqrt(2)  # cos(w(x+y)) = cos wx cos wy - sin wx sin wy
    sin_dir = (sin_x_cos_y + cos_x_sin_y) / math.sqrt(2)  # sin(w(x+y)) = sin wx cos wy + cos wx sin wy
    return cos_dir, sin_dir
    # END SOLUTION


def logits_in_freqs(logits: Float[Tensor, "p*p p"], freqs: list[int]) -> Float[Tensor, "p*p p"]:
    """The part of the logits (as functions of (a, b)) along cos(w(a+b)) and sin(w(a+b)) for the given freqs."""
    p = logits.shape[-1]
    out = torch.zeros_like(logits)
    for k in freqs:
        for direction in get_trig_sum_directions(k, p):
            out = out + project_onto_direction(logits, direction.flatten().to(logits.dtype))
    return out


# ------------------------------------------------------------------ 3️⃣ analysis during training


def excl_loss(model, key_freqs: list[int], train_indices: Int[Tensor, "n_train"]) -> list[float]:
    """For each key frequency k: the model's loss on its *training* pairs after removing from the logits
    (as functions of (a, b)) their components along cos(w_k(a+b)) and sin(w_k(a+b))."""
    # SOLUTION
    logits = last_logits(model)
    labels = all_labels(logits.shape[-1])
    losses = []
    for k in key_freqs:
        excluded = logits - logits_in_freqs(logits, [k])
        losses.append(cross_entropy(excluded[train_indices], labels[train_indices]))
    return losses
    # END SOLUTION


def restricted_loss(model, key_freqs: list[int]) -> float:
    """The loss on all pairs when the logits keep only their mean over pairs and their components along
    cos(w_k(a+b)) and sin(w_k(a+b)) for the key frequencies."""
    logits = last_logits(model)
    restricted = logits.mean(0, keepdim=True) + logits_in_freqs(logits, key_freqs)
    return cross_entropy(restricted, all_labels(logits.shape[-1]))


def sum_squared_weights(state_dict: dict[str, Tensor]) -> float:
    """The sum of the squares of every weight (what weight decay pushes down)."""
    return sum(v.double().pow(2).sum().item() for v in state_dict.values())


def key_frequencies(model, threshold: float = 0.85, min_neurons: int = 10) -> list[int]:
    """The frequencies of the neuron clusters: those that explain at least `threshold` of at least
    `min_neurons` neurons' activations, largest cluster first."""
    freqs, fracs = find_neuron_freqs(fft2d(neuron_acts(model)))
    return clusters(freqs, fracs, threshold, min_neurons)


def clusters(freqs: Tensor, fracs: Tensor, threshold: float = 0.85, min_neurons: int = 10) -> list[int]:
    """Frequencies shared by at least `min_neurons` neurons with fraction explained >= `threshold`, by size."""
    counts = torch.bincount(freqs[fracs >= threshold], minlength=P // 2 + 1)
    return [int(k) for k in torch.argsort(counts, descending=True, stable=True) if counts[k] >= min_neurons]


def key_frequencies_of_run() -> list[int]:
    """The shipped run's key frequencies, as `key_frequencies(model)` finds them (stored in facts.json)."""
    import json

    from course.chapter1_transformers.part5_grokking.assets.analyse import FACTS

    return json.loads(FACTS.read_text(encoding="utf-8"))["key_freqs"]


def fft2d_torch_fft(tensor: Float[Tensor, "p p ..."]) -> Float[Tensor, "p p ..."]:
    """`fft2d` via torch.fft: the complex DFT's real and imaginary parts, rescaled, are our cos and sin terms."""

    def along(x: Tensor, dim: int) -> Tensor:
        p = x.shape[dim]
        X = torch.fft.rfft(x, dim=dim)  # [.., (p+1)/2, ..]: k = 0 ... (p-1)/2
        const = X.narrow(dim, 0, 1).real / math.sqrt(p)
        rest = X.narrow(dim, 1, (p - 1) // 2) * math.sqrt(2 / p)
        cos_sin = torch.stack([rest.real, -rest.imag], dim=dim + 1).flatten(dim, dim + 1)
        return torch.cat([const, cos_sin], dim=dim)

    return along(along(tensor, 0), 1)
