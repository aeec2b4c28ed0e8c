"""Checks for part 1.5: each check_<name> takes the learner's function and raises CheckFailure."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import torch
from torch import Tensor

from arena.checking import CheckFailure, expect_close, expect_equal, expect_shape, expect_type, time_limit

from . import solutions as ref

# ------------------------------------------------------------------ helpers


def _rand(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _close(a: Tensor, b: Tensor, atol: float = 1e-4) -> bool:
    return isinstance(a, Tensor) and a.shape == b.shape and torch.allclose(a.double(), b.double(), atol=atol)


def _unnormalised_basis(p: int) -> Tensor:
    basis, _ = ref.make_fourier_basis(p)
    x = torch.arange(p, dtype=torch.float64)
    raw = [torch.ones(p, dtype=torch.float64)]
    for k in range(1, (p - 1) // 2 + 1):
        raw += [torch.cos(2 * math.pi * k * x / p), torch.sin(2 * math.pi * k * x / p)]
    return torch.stack(raw).float()


class _LastPositionModel(torch.nn.Module):
    """Stands in for the TransformerBridge: logits [batch, 3, p], real only at the last ("=") position."""

    def __init__(self, state_dict: dict[str, Tensor]):
        super().__init__()
        from course.chapter1_transformers.part5_grokking.assets.train import FastGrokModel

        self.inner = FastGrokModel(state_dict, n_heads=ref.CONFIG.n_heads)

    def forward(self, tokens: Tensor) -> Tensor:
        last = self.inner(tokens[:, 0], tokens[:, 1])
        nan = torch.full_like(last, float("nan"))
        return torch.stack([nan, nan, last], dim=1)


# ------------------------------------------------------------------ 1️⃣


def check_embed_SVD(embed_SVD) -> str:
    W_E = _rand(8, 5, seed=1)  # 7 number tokens + "=", d_model 5
    got = embed_SVD(SimpleNamespace(W_E=W_E))
    expect_type(got, tuple, "embed_SVD(model)")
    if len(got) != 3:
        raise CheckFailure(f"embed_SVD should return (U, S, Vh); got a tuple of {len(got)}")
    U, S, Vh = got
    _, S_ref, _ = ref.embed_SVD(SimpleNamespace(W_E=W_E))
    if isinstance(U, Tensor) and U.shape[0] == 8:
        raise CheckFailure("U has 8 rows for a W_E of 8 rows: drop the last row of W_E (the '=' token) first — "
                           "we want the structure of the number tokens only")
    expect_shape(U, (7, 5), "U (with W_E of shape [8, 5])")
    expect_close(S, S_ref, "S (the singular values)", atol=1e-4)
    expect_close(U @ torch.diag(S) @ Vh, W_E[:-1], "U @ diag(S) @ Vh (should rebuild W_E[:-1])", atol=1e-4)
    return "a random W_E of 7 number tokens + '='"


def check_make_fourier_basis(make_fourier_basis) -> str:
    for p in (7, 113):
        got = make_fourier_basis(p)
        expect_type(got, tuple, f"make_fourier_basis({p})")
        basis, names = got
        want, want_names = ref.make_fourier_basis(p)
        expect_type(basis, Tensor, f"make_fourier_basis({p})[0]")
        if basis.shape == (p - 1, p):
            raise CheckFailure(f"make_fourier_basis({p}) has {p - 1} rows: the constant row (row 0) is missing")
        expect_shape(basis, (p, p), f"make_fourier_basis({p})[0]")
        norms = basis.double().norm(dim=1)
        if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
            raise CheckFailure(f"make_fourier_basis({p}): the rows should have norm 1; row 0 has norm "
                               f"{norms[0]:.4f} and row 1 {norms[1]:.4f}. Divide each row by its norm "
                               f"(√p for the constant, √(p/2) for the others)")
        if not torch.allclose(basis[0].double(), want[0].double(), atol=1e-4):
            raise CheckFailure(f"make_fourier_basis({p}): row 0 should be the constant 1/√p = {want[0, 0]:.4f}; "
                               f"got {basis[0, :3].tolist()} ...")
        if _close(basis[1], want[2]) and _close(basis[2], want[1]):
            raise CheckFailure(f"make_fourier_basis({p}): row 1 is sin 1 and row 2 is cos 1; the order is "
                               "cos k (row 2k-1) then sin k (row 2k)")
        expect_close(basis, want, f"make_fourier_basis({p})[0]", atol=1e-4)
        expect_equal(list(names), want_names, f"make_fourier_basis({p})[1] (the names)")
    return "p = 7 and p = 113: orthonormal rows, right order and names"


def check_fft1d(fft1d) -> str:
    p = 7
    basis, _ = ref.make_fourier_basis(p)
    pure = basis[3] * 2.5  # 2.5 * (cos 2)
    got = fft1d(pure)
    expect_shape(got, (p,), "fft1d(x) for x of shape [7]")
    for x, what in [(pure, "fft1d(2.5 * basis[3])"), (_rand(3, p, seed=2), "fft1d(x) for x of shape [3, 7]"),
                    (_rand(2, 4, 113, seed=3), "fft1d(x) for x of shape [2, 4, 113]")]:
        got, want = fft1d(x), ref.fft1d(x)
        if _close(got, x @ ref.make_fourier_basis(x.shape[-1])[0]) and not _close(got, want):
            raise CheckFailure(f"{what}: you computed x @ basis; the coefficients are basis @ x for one vector, "
                               "i.e. x @ basis.T for a batch (each coefficient is the dot product of x with a row)")
        expect_close(got, want, what, atol=1e-4)
    return "a pure cos 2 wave gives one coefficient; batched inputs, p = 7 and 113"


def check_fourier_2d_basis_term(fourier_2d_basis_term) -> str:
    for i, j, p in [(0, 0, 7), (1, 4, 7), (4, 1, 7), (6, 3, 7), (5, 10, 113)]:
        got, want = fourier_2d_basis_term(i, j, p), ref.fourier_2d_basis_term(i, j, p)
        if _close(got, want.T) and not _close(got, want):
            raise CheckFailure(f"fourier_2d_basis_term({i}, {j}, {p}) is transposed: index [x, y] should be "
                               f"B_{i}(x) * B_{j}(y)")
        expect_close(got, want, f"fourier_2d_basis_term({i}, {j}, {p})", atol=1e-5)
    return "terms with i != j in both orders, p = 7 and 113"


def check_fft2d(fft2d) -> str:
    p = 7
    basis, _ = ref.make_fourier_basis(p)
    for x, what in [(ref.fourier_2d_basis_term(3, 4, p) * 2.0, "fft2d(2 * fourier_2d_basis_term(3, 4, 7))"),
                    (_rand(p, p, seed=4), "fft2d(x) for x of shape [7, 7]"),
                    (_rand(p, p, 5, seed=5), "fft2d(x) for x of shape [7, 7, 5]")]:
        got, want = fft2d(x), ref.fft2d(x)
        one_axis_x = torch.einsum("xy...,ix->iy...", x, basis)
        one_axis_y = torch.einsum("xy...,jy->xj...", x, basis)
        if _close(got, one_axis_x) or _close(got, one_axis_y):
            raise CheckFailure(f"{what}: only one axis was transformed; transform both x (axis 0) and y (axis 1)")
        expect_close(got, want, what, atol=1e-4)
    return "a single basis term gives a single coefficient; a batch axis"


# ------------------------------------------------------------------ 2️⃣


def check_fourier_embed(fourier_embed) -> str:
    W_E = _rand(8, 6, seed=6)
    got, want = fourier_embed(SimpleNamespace(W_E=W_E)), ref.fourier_embed(SimpleNamespace(W_E=W_E))
    if isinstance(got, Tensor) and got.shape == (8, 6):
        raise CheckFailure("fourier_embed returned 8 rows for a W_E of 8 rows: drop the '=' row (the last) first")
    if _close(got, ref.fft1d(W_E[:-1])):
        raise CheckFailure("fourier_embed transformed along d_model; the Fourier transform runs along the token "
                           "axis (the p inputs): transform W_E[:-1].T, then transpose back")
    expect_close(got, want, "fourier_embed(model) for a random W_E of shape [8, 6]", atol=1e-4)
    return "a random W_E with 7 number tokens"


def check_project_onto_direction(project_onto_direction) -> str:
    v = torch.tensor([1.0, 2.0, -2.0, 0.5, 3.0])
    for x, what in [(_rand(5, 3, seed=7), "batch_vecs of shape [5, 3]"),
                    (_rand(5, 2, 4, seed=8), "batch_vecs of shape [5, 2, 4]")]:
        got, want = project_onto_direction(x, v), ref.project_onto_direction(x, v)
        as_if_unit = torch.einsum("n,...->n...", v, torch.einsum("n...,n->...", x, v))
        if _close(got, as_if_unit):
            raise CheckFailure(f"project_onto_direction({what}, v with |v|² = {v.pow(2).sum():.2f}): you projected "
                               "as if v had unit norm; divide by v·v (or normalise v first)")
        expect_close(got, want, f"project_onto_direction({what}, v)", atol=1e-4)
    return "a non-unit v, one and two batch axes"


def check_project_onto_frequency(project_onto_frequency) -> str:
    p = 7
    x = _rand(p * p, 3, seed=9)
    for freq in (1, 3):
        got, want = project_onto_frequency(x, freq), ref.project_onto_frequency(x, freq)
        idx = [2 * freq - 1, 2 * freq]
        no_const = sum(ref.project_onto_direction(x, ref.fourier_2d_basis_term(i, j, p).flatten())
                       for i in idx for j in idx)
        if _close(got, no_const):
            raise CheckFailure(f"project_onto_frequency(x, freq={freq}) (p = 7) used only the 4 terms "
                               "(cos, sin) x (cos, sin); include the constant: i, j in {0, 2·freq−1, 2·freq} (9 terms)")
        expect_close(got, want, f"project_onto_frequency(x of shape [49, 3], freq={freq}) (p = 7)", atol=1e-4)
    return "p = 7, two frequencies, three functions at once"


def check_find_neuron_freqs(find_neuron_freqs) -> str:
    p, gen = 7, torch.Generator().manual_seed(10)
    acts = 0.05 * torch.randn(p, p, 5, generator=gen)
    acts[0, 0] += 10.0  # a large constant term must be ignored
    for n, k in enumerate([1, 2, 3, 2]):
        idx = [0, 2 * k - 1, 2 * k]
        acts[idx[1], idx[2], n] += 1.0 + n
        acts[idx[0], idx[1], n] += 0.5
    got = find_neuron_freqs(acts)
    expect_type(got, tuple, "find_neuron_freqs(...)")
    freqs, fracs = got
    want_freqs, want_fracs = ref.find_neuron_freqs(acts)
    sq = acts.pow(2)
    with_const = torch.stack([sq[[0, 2 * k - 1, 2 * k]][:, [0, 2 * k - 1, 2 * k]].sum((0, 1)) / sq.sum((0, 1))
                              for k in range(1, 4)]).max(0).values
    if isinstance(fracs, Tensor) and _close(fracs.float(), with_const.float()):
        raise CheckFailure(f"the fractions explained {fracs.tolist()} count the constant term [0, 0]; leave it "
                           f"out of both the numerator and the denominator (expected {want_fracs.tolist()})")
    expect_close(torch.as_tensor(freqs).long(), want_freqs, "the neuron frequencies", atol=0)
    expect_close(fracs, want_fracs, "the fractions explained", atol=1e-4)
    return "4 neurons with a planted frequency and one without; a large constant term ignored"


def check_get_trig_sum_directions(get_trig_sum_directions) -> str:
    for k, p in [(2, 7), (5, 113)]:
        got = get_trig_sum_directions(k, p)
        expect_type(got, tuple, f"get_trig_sum_directions({k}, {p})")
        x = torch.arange(p, dtype=torch.float64)
        w = 2 * math.pi * k / p
        for direction, fn, name in [(got[0], torch.cos, "cos"), (got[1], torch.sin, "sin")]:
            want = fn(w * (x[:, None] + x[None, :]))
            want = (want / want.norm()).float()
            expect_close(direction, want, f"the {name}(w(x+y)) direction for k={k}, p={p} (unit norm)", atol=1e-4)
    return "k = 2 (p = 7) and k = 5 (p = 113): both directions, unit norm"


@functools.cache
def _excl_model() -> tuple:
    """A mid-training checkpoint of the shipped run: there, train and test excluded losses differ a lot."""
    series = ref.load_series()
    mid = len(series["checkpoint_epochs"]) // 2
    return _LastPositionModel(series["state_dicts"][mid]), series["checkpoint_epochs"][mid]


@functools.cache
def _excl_reference(freqs: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Reference excluded losses on the training and on the test pairs, from one forward pass."""
    model, _ = _excl_model()
    train_idx, test_idx = ref.train_test_indices()
    logits, labels = ref.last_logits(model), ref.all_labels()
    on_train, on_test = [], []
    for k in freqs:
        excluded = logits - ref.logits_in_freqs(logits, [k])
        on_train.append(ref.cross_entropy(excluded[train_idx], labels[train_idx]))
        on_test.append(ref.cross_entropy(excluded[test_idx], labels[test_idx]))
    return torch.tensor(on_train, dtype=torch.float64), torch.tensor(on_test, dtype=torch.float64)


@time_limit(60)
def check_excl_loss(excl_loss) -> str:
    model, epoch = _excl_model()
    freqs = tuple(ref.key_frequencies_of_run()[:2])
    got = excl_loss(model, list(freqs), ref.train_test_indices()[0])
    if not isinstance(got, list | tuple | Tensor) or len(got) != len(freqs):
        raise CheckFailure(f"excl_loss should return one loss per key frequency ({len(freqs)}); got {got!r}")
    got_t = torch.as_tensor([float(g) for g in got], dtype=torch.float64)
    if torch.isnan(got_t).any():
        raise CheckFailure("excl_loss returned nan: read the logits at the last position ('='), e.g. "
                           "model(all_tokens())[:, -1]")
    want, on_test = _excl_reference(freqs)
    if torch.allclose(got_t, on_test, rtol=1e-4):
        raise CheckFailure(f"excl_loss: you measured the loss on the test pairs ({got_t.tolist()}); the excluded "
                           "loss is measured on the training pairs (test loss is high anyway before grokking)")
    expect_close(got_t, want, f"excl_loss(checkpoint at epoch {epoch}, key_freqs={list(freqs)})", rtol=1e-4)
    return f"a checkpoint of the shipped run (epoch {epoch}), frequencies {list(freqs)}"
