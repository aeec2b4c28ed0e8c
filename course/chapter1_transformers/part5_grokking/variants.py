"""Known-wrong and known-right implementations for part 1.5: the tests prove the checks tell them apart."""

from __future__ import annotations

import math

import einops
import torch

from arena.checking import right, wrong

from . import solutions as ref


def _raw_rows(p: int, sin_first: bool = False) -> tuple[torch.Tensor, list[str]]:
    x = torch.arange(p, dtype=torch.float64)
    rows, names = [], []
    for k in range(1, (p - 1) // 2 + 1):
        c, s = torch.cos(2 * math.pi * k * x / p), torch.sin(2 * math.pi * k * x / p)
        rows += [s, c] if sin_first else [c, s]
        names += [f"cos {k}", f"sin {k}"]
    return torch.stack(rows), names


# ------------------------------------------------------------------ make_fourier_basis


@wrong("make_fourier_basis", "does not normalise the rows")
def make_fourier_basis_unnormalised(p):
    rows, names = _raw_rows(p)
    return torch.cat([torch.ones(1, p, dtype=torch.float64), rows]).float(), ["Const"] + names


@wrong("make_fourier_basis", "puts sin k before cos k")
def make_fourier_basis_sin_first(p):
    rows, names = _raw_rows(p, sin_first=True)
    basis = torch.cat([torch.ones(1, p, dtype=torch.float64), rows])
    return (basis / basis.norm(dim=1, keepdim=True)).float(), ["Const"] + names


@wrong("make_fourier_basis", "forgets the constant row")
def make_fourier_basis_no_const(p):
    rows, names = _raw_rows(p)
    return (rows / rows.norm(dim=1, keepdim=True)).float(), names


@right("make_fourier_basis", "Gram-Schmidt-free: scale by sqrt(2/p) and 1/sqrt(p) directly")
def make_fourier_basis_scaled(p):
    rows, names = _raw_rows(p)
    basis = torch.cat([torch.full((1, p), 1 / math.sqrt(p), dtype=torch.float64), rows * math.sqrt(2 / p)])
    return basis.float(), ["Const"] + names


# ------------------------------------------------------------------ fft1d, fft2d


@wrong("fft1d", "multiplies by the basis instead of its transpose")
def fft1d_transposed(x):
    basis, _ = ref.make_fourier_basis(x.shape[-1])
    return x @ basis


@right("fft1d", "an einsum over the last axis")
def fft1d_einsum(x):
    basis, _ = ref.make_fourier_basis(x.shape[-1])
    return torch.einsum("...x,ix->...i", x, basis)


@wrong("fft2d", "transforms only the first axis")
def fft2d_one_axis(tensor):
    basis, _ = ref.make_fourier_basis(tensor.shape[0])
    return einops.einsum(tensor, basis, "x y ..., i x -> i y ...")


@right("fft2d", "two fft1d calls, moving the axes to the end")
def fft2d_twice(tensor):
    moved = tensor.movedim((0, 1), (-2, -1))
    out = ref.fft1d(ref.fft1d(moved).transpose(-1, -2)).transpose(-1, -2)
    return out.movedim((-2, -1), (0, 1))


@right("fourier_2d_basis_term", "torch.outer of two basis rows")
def fourier_2d_basis_term_outer(i, j, p):
    basis, _ = ref.make_fourier_basis(p)
    return torch.outer(basis[i], basis[j])


# ------------------------------------------------------------------ projections


@wrong("project_onto_direction", "projects onto a non-unit direction as if it were unit")
def project_onto_direction_as_if_unit(batch_vecs, v):
    return einops.einsum(v, einops.einsum(batch_vecs, v, "n ..., n -> ..."), "n, ... -> n ...")


@right("project_onto_direction", "normalise v first")
def project_onto_direction_normalised(batch_vecs, v):
    u = v / v.norm()
    return einops.einsum(u, einops.einsum(batch_vecs, u, "n ..., n -> ..."), "n, ... -> n ...")


@wrong("project_onto_frequency", "uses only the cos and sin terms, not the constant ones")
def project_onto_frequency_no_const(batch_vecs, freq):
    p = math.isqrt(batch_vecs.shape[0])
    idx = [2 * freq - 1, 2 * freq]
    return sum(ref.project_onto_direction(batch_vecs, ref.fourier_2d_basis_term(i, j, p).flatten())
               for i in idx for j in idx)


@wrong("find_neuron_freqs", "keeps the constant term in the fraction explained")
def find_neuron_freqs_with_const(fourier_neuron_acts):
    p = fourier_neuron_acts.shape[0]
    sq = fourier_neuron_acts.pow(2)
    fracs = []
    for k in range(1, (p - 1) // 2 + 1):
        idx = torch.tensor([0, 2 * k - 1, 2 * k])
        fracs.append(sq[idx][:, idx].sum((0, 1)) / sq.sum((0, 1)))
    frac = torch.stack(fracs)
    best = frac.argmax(0)
    return best + 1, frac.max(0).values


@wrong("get_trig_sum_directions", "cos(w(x+y)) with a plus sign (that is cos(w(x-y)))")
def get_trig_sum_directions_wrong_sign(k, p=ref.P):
    cc = ref.fourier_2d_basis_term(2 * k - 1, 2 * k - 1, p)
    ss = ref.fourier_2d_basis_term(2 * k, 2 * k, p)
    sc = ref.fourier_2d_basis_term(2 * k, 2 * k - 1, p)
    cs = ref.fourier_2d_basis_term(2 * k - 1, 2 * k, p)
    return (cc + ss) / math.sqrt(2), (sc + cs) / math.sqrt(2)


# ------------------------------------------------------------------ excluded loss


@wrong("excl_loss", "computes the excluded loss on the test pairs instead of the training pairs")
def excl_loss_on_test(model, key_freqs, train_indices):
    test = torch.ones(ref.P * ref.P, dtype=torch.bool)
    test[train_indices] = False
    return ref.excl_loss(model, key_freqs, torch.nonzero(test).squeeze(1))


@wrong("excl_loss", "removes only the cos(w(a+b)) component")
def excl_loss_cos_only(model, key_freqs, train_indices):
    logits = ref.last_logits(model)
    labels = ref.all_labels()
    out = []
    for k in key_freqs:
        cos_dir, _ = ref.get_trig_sum_directions(k)
        excluded = logits - ref.project_onto_direction(logits, cos_dir.flatten())
        out.append(ref.cross_entropy(excluded[train_indices], labels[train_indices]))
    return out
