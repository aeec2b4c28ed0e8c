"""Checks for part 1.7: each check_<name> takes the learner's function or class and raises CheckFailure."""

from __future__ import annotations

import math
from collections.abc import Callable

import einops
import torch as t
import torch.nn.functional as F
from torch import Tensor

from arena.checking import CheckFailure, expect_close, expect_shape, expect_type

from . import solutions as ref

# ------------------------------------------------------------------ helpers


def _weights(cfg: ref.Config, seed: int) -> tuple[Tensor, Tensor]:
    """Random weights (entries of both signs) and a non-zero bias, so that ReLU, bias and W/Wᵀ all matter."""
    gen = t.Generator().manual_seed(seed)
    W = t.randn(cfg.n_instances, cfg.n_hidden, cfg.n_features, generator=gen)
    b = 0.5 * t.randn(cfg.n_instances, cfg.n_features, generator=gen)
    return W, b


def _features(n_batch: int, cfg: ref.Config, seed: int) -> Tensor:
    gen = t.Generator().manual_seed(seed)
    x = t.rand(n_batch, cfg.n_instances, cfg.n_features, generator=gen)
    return t.where(t.rand(x.shape, generator=gen) < 0.6, x, 0.0)


def _build(cls: type, cfg: ref.Config, what: str, **kwargs) -> ref.Model:
    model = cls(cfg, **kwargs)
    for name, shape in [("W", (cfg.n_instances, cfg.n_hidden, cfg.n_features)),
                        ("b_final", (cfg.n_instances, cfg.n_features))]:
        if not isinstance(getattr(model, name, None), t.nn.Parameter):
            raise CheckFailure(f"{what} should have an nn.Parameter `{name}` of shape {shape}")
        expect_shape(getattr(model, name), shape, f"{what}.{name}")
    return model


def _check_forward(cls: type, name: str, hidden_relu: bool) -> None:
    """Compare cls's forward with the reference on a square config (where W and Wᵀ both fit) and a wide one."""
    for cfg in [ref.Config(n_instances=2, n_features=4, n_hidden=4), ref.Config(n_instances=3, n_features=5, n_hidden=2)]:
        what = f"{name}(Config(n_instances={cfg.n_instances}, n_features={cfg.n_features}, n_hidden={cfg.n_hidden}))"
        model = _build(cls, cfg, what)
        W, b = _weights(cfg, seed=cfg.n_features)
        with t.no_grad():
            model.W.copy_(W)
            model.b_final.copy_(b)
        x = _features(6, cfg, seed=1)
        try:
            got = model(x)
        except NotImplementedError:
            raise
        except RuntimeError as err:
            raise CheckFailure(
                f"{what}.forward(x of shape {tuple(x.shape)}) raised: {err}. With n_hidden != n_features only "
                "one order of the matrix products fits: W [n_hidden, n_features] maps features to hidden, "
                "and Wᵀ maps hidden back to features.") from None
        expect_type(got, t.Tensor, f"{what}.forward(x)")
        expect_shape(got, tuple(x.shape), f"{what}.forward(x of shape {tuple(x.shape)})")
        hidden = einops.einsum(x, W, "b i f, i h f -> b i h")
        relu_hidden = F.relu(hidden)
        used = relu_hidden if hidden_relu else hidden
        expected = F.relu(einops.einsum(used, W, "b i h, i h f -> b i f") + b)
        suspects = {
            "the final ReLU is missing": einops.einsum(used, W, "b i h, i h f -> b i f") + b,
            "the bias b_final is not added": F.relu(einops.einsum(used, W, "b i h, i h f -> b i f")),
        }
        if cfg.n_hidden == cfg.n_features:
            suspects["the way back multiplies by W instead of Wᵀ (out = W·(W x))"] = F.relu(
                einops.einsum(used, W, "b i h, i f h -> b i f") + b)
        if hidden_relu:
            suspects["the ReLU on the hidden layer is missing (that is the plain Model)"] = F.relu(
                einops.einsum(hidden, W, "b i h, i h f -> b i f") + b)
        else:
            suspects["there is a ReLU on the hidden layer (that is the NeuronModel, not the Model)"] = F.relu(
                einops.einsum(relu_hidden, W, "b i h, i h f -> b i f") + b)
        try:
            expect_close(got, expected, f"{what}.forward(x)", atol=1e-4)
        except CheckFailure as err:
            for mistake, wrong in suspects.items():
                if got.shape == wrong.shape and t.allclose(got.detach().float(), wrong, atol=1e-4):
                    raise CheckFailure(f"{err}. It looks like {mistake}.") from None
            raise


# ------------------------------------------------------------------ 1️⃣ the toy model


def _check_generate_batch(Model: type) -> None:
    cfg = ref.Config(n_instances=3, n_features=4, n_hidden=2)
    p = t.tensor([[0.1, 0.3, 0.6, 0.9], [0.5, 0.05, 0.2, 0.7], [0.8, 0.4, 0.15, 0.25]])
    model = Model(cfg, feature_probability=p)
    n = 20_000
    what = f"Model(cfg with 3 instances and 4 features, feature_probability=p).generate_batch({n})"
    t.manual_seed(0)
    batch = model.generate_batch(n)
    expect_type(batch, t.Tensor, what)
    expect_shape(batch, (n, 3, 4), what)
    if not batch.is_floating_point():
        raise CheckFailure(f"{what} should be a float tensor, got dtype {batch.dtype}")
    batch = batch.detach().float()
    low, high = batch.min().item(), batch.max().item()
    if low < 0 or high > 1:
        raise CheckFailure(f"{what} has values from {low:.3g} to {high:.3g}; present features should be uniform in "
                           "[0, 1] (t.rand), absent ones exactly 0.")
    present = batch > 0
    freq = present.float().mean(0)
    bad = (freq - p).abs() > 4.5 * (p * (1 - p) / n).sqrt() + 2e-3
    if bad.any():
        i, f = (int(v) for v in t.nonzero(bad)[0])
        hint = (" That is about 1 − p: is the comparison the wrong way round?"
                if abs(freq[i, f] - (1 - p[i, f])) < 0.02 else "")
        raise CheckFailure(f"{what}: instance {i}, feature {f} is present in {freq[i, f]:.3f} of the batch, but "
                           f"feature_probability[{i}, {f}] = {p[i, f]:.2f}.{hint} Each feature must be present "
                           "with its own probability feature_probability[instance, feature].")
    both = einops.einsum(present.float(), present.float(), "b i f, b i g -> i f g") / n
    independent = einops.einsum(p, p, "i f, i g -> i f g")
    off_diagonal = ~t.eye(4, dtype=t.bool).expand(3, 4, 4)
    if ((both - independent).abs() > 0.02)[off_diagonal].any():
        raise CheckFailure(f"{what}: features are not present independently of each other (two features are "
                           "present together far more or less often than p_i · p_j). Draw one random number per "
                           "batch element, instance and feature.")
    values = batch[present]
    mean, below = values.mean().item(), (values < 0.25).float().mean().item()
    if abs(mean - 0.5) > 0.01 or abs(below - 0.25) > 0.01:
        raise CheckFailure(f"{what}: the values of present features have mean {mean:.3f} and {below:.1%} of them are "
                           "below 0.25; uniform in [0, 1] gives 0.5 and 25%. Use t.rand for the values.")


def check_Model(Model: type) -> str:
    _check_forward(Model, "Model", hidden_relu=False)
    _check_generate_batch(Model)
    return "forward matches ReLU(WᵀWx + b) on a square and a wide model; generate_batch has the right statistics"


def check_calculate_loss(calculate_loss: Callable) -> str:
    cfg = ref.Config(n_instances=3, n_features=4, n_hidden=2)
    importance = t.tensor([[1.0, 0.5, 0.25, 0.1], [1.0, 1.0, 1.0, 1.0], [0.2, 2.0, 0.7, 3.0]])
    model = ref.Model(cfg, importance=importance)
    gen = t.Generator().manual_seed(0)
    batch = t.rand(5, 3, 4, generator=gen)
    out = t.rand(5, 3, 4, generator=gen).requires_grad_()
    what = "calculate_loss(out, batch, model) for 5 batch elements, 3 instances, 4 features"
    got = calculate_loss(out, batch, model)
    expect_type(got, t.Tensor, what)
    if got.dim() != 0:
        raise CheckFailure(f"{what} should be a scalar (0-dim) tensor, got shape {tuple(got.shape)}: sum over "
                           "the instances at the end.")
    if not got.requires_grad:
        raise CheckFailure(f"{what} does not depend on `out` through autograd (did you call .item() or detach?)")
    expected = ref.calculate_loss(out, batch, model).detach()
    error = (batch - out.detach()) ** 2
    suspects = {
        "the importance is ignored": error.mean((0, 2)).sum(),
        "the loss is averaged over the instances instead of summed": expected / 3,
        "the loss is summed over the features instead of averaged": expected * 4,
        "the loss is summed over the batch instead of averaged": expected * 5,
    }
    try:
        expect_close(got.detach(), expected, what)
    except CheckFailure as err:
        for mistake, value in suspects.items():
            if t.isclose(got.detach(), value, rtol=1e-4):
                raise CheckFailure(f"{err}: it looks like {mistake}.") from None
        raise
    return "importance-weighted, mean over batch and features, summed over instances"


# ------------------------------------------------------------------ 3️⃣ correlated features


def check_generate_correlated_batch(generate_correlated_batch: Callable) -> str:
    cfg = ref.Config(n_instances=2, n_features=8, n_hidden=2, n_correlated_pairs=2, n_anticorrelated_pairs=1)
    p = t.tensor([0.1, 0.3])
    model = ref.Model(cfg, feature_probability=p[:, None])
    n = 20_000
    what = (f"generate_correlated_batch(model, {n}) with 8 features (2 correlated pairs, 1 anticorrelated pair, "
            "2 independent) and p = [0.1, 0.3] for the 2 instances")
    t.manual_seed(0)
    batch = generate_correlated_batch(model, n)
    expect_type(batch, t.Tensor, what)
    expect_shape(batch, (n, 2, 8), what)
    batch = batch.detach().float()
    if batch.min() < 0 or batch.max() > 1:
        raise CheckFailure(f"{what} has values from {batch.min():.3g} to {batch.max():.3g}; they should be in [0, 1].")
    present = batch > 0
    freq = present.float().mean(0)
    tol = 4.5 * (0.3 * 0.7 / n) ** 0.5 + 2e-3
    names = ["correlated", "correlated", "correlated", "correlated", "anticorrelated", "anticorrelated",
             "independent", "independent"]
    for i in range(2):
        for f in range(8):
            if abs(freq[i, f] - p[i]) > tol:
                raise CheckFailure(f"{what}: {names[f]} feature {f} of instance {i} is present in {freq[i, f]:.3f} of "
                                   f"the batch; every feature should be present with probability p = {p[i]:.2f}"
                                   + (" (a pair is active with 2p, and then one of its two features)" if f in (4, 5)
                                      else "") + ".")
    for a in (0, 2):
        if (present[..., a] != present[..., a + 1]).any():
            raise CheckFailure(f"{what}: correlated features {a} and {a + 1} are not always present together; a "
                               "correlated pair is either both present or both absent (one random draw per pair).")
    same_value = (batch[..., 0] == batch[..., 1]) & present[..., 0]
    if same_value.float().sum() > 0.5 * present[..., 0].float().sum():
        raise CheckFailure(f"{what}: the two features of correlated pair (0, 1) have the same value; they should be "
                           "present together but take independent uniform values.")
    if (present[..., 4] & present[..., 5]).any():
        raise CheckFailure(f"{what}: anticorrelated features 4 and 5 are sometimes both present; at most one feature "
                           "of an anticorrelated pair may be present.")
    for f, g, kind in [(0, 2, "two different correlated pairs"), (6, 7, "the two independent features"),
                       (0, 6, "a correlated and an independent feature")]:
        both = (present[..., f] & present[..., g]).float().mean(0)
        if ((both - p**2).abs() > 0.02).any():
            raise CheckFailure(f"{what}: features {f} and {g} ({kind}) should be independent, but are present "
                               f"together in {both.tolist()} of the batch instead of about p² = {(p**2).tolist()}.")
    return "pairs present together, anticorrelated pairs never both, every feature present with p"


# ------------------------------------------------------------------ 4️⃣ a privileged basis


def check_NeuronModel(NeuronModel: type) -> str:
    _check_forward(NeuronModel, "NeuronModel", hidden_relu=True)
    return "forward matches ReLU(Wᵀ ReLU(Wx) + b) on a square and a wide model"


# ------------------------------------------------------------------ 5️⃣ feature geometry


def _pentagon() -> Tensor:
    angles = t.arange(5) * 2 * math.pi / 5
    return t.stack([angles.cos(), angles.sin()])[None]  # [1, 2, 5]


def _compare_dimensionality(got: object, expected: Tensor, W: Tensor, what: str) -> None:
    try:
        expect_close(got, expected, what, atol=1e-4)
    except CheckFailure as err:
        unnormalised = W.norm(dim=1) ** 2 / einops.einsum(W, W, "i h f, i h g -> i f g").pow(2).sum(-1)
        if isinstance(got, t.Tensor) and got.shape == expected.shape and t.allclose(got, unnormalised, atol=1e-4):
            raise CheckFailure(f"{err}. It looks like W_i is not normalised in the denominator: the sum is over "
                               "(Ŵ_i · W_j)² with Ŵ_i = W_i / ‖W_i‖ (unit-norm features cannot tell).") from None
        raise


def check_compute_dimensionality(compute_dimensionality: Callable) -> str:
    cases = [
        ("orthogonal unit features (the identity, 3 features in 3 dimensions)", t.eye(3)[None], 1.0),
        ("an antipodal pair, W = [[1, -1]]", t.tensor([[[1.0, -1.0]]]), 0.5),
        ("a pentagon of unit vectors in 2 dimensions", _pentagon(), 0.4),
        ("a pentagon whose features have norm 2", 2 * _pentagon(), 0.4),
    ]
    for label, W, value in cases:
        what = f"compute_dimensionality({label})"
        got = compute_dimensionality(W.clone())
        expect_type(got, t.Tensor, what)
        _compare_dimensionality(got, t.full(W.shape[::2], value), W, what)
    gen = t.Generator().manual_seed(0)
    W = t.randn(3, 4, 6, generator=gen) * t.linspace(0.3, 2.0, 6)
    what = "compute_dimensionality(W) for a random W of shape (3, 4, 6) whose features have norms from 0.3 to 2"
    _compare_dimensionality(compute_dimensionality(W.clone()), ref.compute_dimensionality(W), W, what)
    return "1 for orthogonal features, 1/2 for antipodal pairs, 2/5 for pentagons, matches on random W"
