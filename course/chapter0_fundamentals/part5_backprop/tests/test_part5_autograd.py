"""Property-based tests of the reference framework against torch.autograd (part 0.5)."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course.chapter0_fundamentals.part5_backprop import solutions as ref

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def broadcast_pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(original shape, shape it broadcasts to)."""
    target = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    n_kept = draw(st.integers(0, len(target)))
    kept = target[len(target) - n_kept:]
    original = tuple(1 if draw(st.booleans()) else s for s in kept)
    return original, target


@SETTINGS
@given(broadcast_pair(), st.integers(0, 2**16))
def test_unbroadcast_matches_torch_expand(shapes: tuple, seed: int) -> None:
    original, target = shapes
    g = np.random.default_rng(seed).normal(size=target)
    x = torch.zeros(original, dtype=torch.float64, requires_grad=True)
    (x.expand(target) * torch.tensor(g)).sum().backward()
    got = ref.unbroadcast(g, np.zeros(original))
    assert np.shape(got) == original
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-10, atol=1e-12)


UNARY = ["exp", "neg", "log", "relu", "sum0", "sumall", "reshape", "T", "expand"]
BINARY = ["add", "sub", "mul", "div", "max", "matmul"]


def _apply(op: str, ours: list, theirs: list, i: int, j: int) -> tuple | None:
    """Apply op to node i (and j); return (our tensor, torch tensor) or None if it does not fit."""
    a, ta = ours[i], theirs[i]
    if op == "exp":
        return (a.exp(), ta.exp()) if np.abs(a.array).max() < 5 else None
    if op == "neg":
        return -a, -ta
    if op == "log":
        return (a.log(), ta.log()) if a.array.min() > 0.1 else None
    if op == "relu":
        return a.relu(), torch.relu(ta)
    if op == "sum0":
        return (a.sum(0, keepdim=True), ta.sum(0, keepdim=True)) if a.ndim >= 1 else None
    if op == "sumall":
        return a.sum(), ta.sum()
    if op == "reshape":
        return a.reshape(-1), ta.reshape(-1)
    if op == "T":
        return (a.T, ta.T) if a.ndim == 2 else None
    if op == "expand":
        return a.expand(2, *a.shape), ta.expand(2, *ta.shape)
    b, tb = ours[j], theirs[j]
    if op == "matmul":
        if a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0]:
            return a @ b, ta @ tb
        return None
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return None
    if op == "add":
        return a + b, ta + tb
    if op == "sub":
        return a - b, ta - tb
    if op == "mul":
        return a * b, ta * tb
    if op == "div":
        return (a / b, ta / tb) if np.abs(b.array).min() > 0.3 else None
    if op == "max":
        return ref.maximum(a, b), torch.maximum(ta, tb)
    raise AssertionError(op)


@st.composite
def random_graph(draw: st.DrawFn) -> list[tuple[str, int, int]]:
    n = draw(st.integers(1, 12))
    return [(draw(st.sampled_from(UNARY + BINARY)), draw(st.integers(0, 100)), draw(st.integers(0, 100)))
            for _ in range(n)]


@SETTINGS
@given(random_graph(), st.integers(0, 2**16))
def test_random_graphs_match_torch(ops: list, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (1, 4), (3, 1), (4, 3), ()]
    ours, theirs, leaves = [], [], []
    for k, shape in enumerate(shapes):
        arr = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        requires = k != 5
        ours.append(ref.Tensor(arr, requires_grad=requires))
        theirs.append(torch.tensor(arr, requires_grad=requires))
        leaves.append(k)
    for op, i, j in ops:
        made = _apply(op, ours, theirs, i % len(ours), j % len(ours))
        if made is not None and np.all(np.isfinite(made[0].array)) and np.abs(made[0].array).max() < 1e4:
            ours.append(made[0])
            theirs.append(made[1])
    end, tend = ours[-1], theirs[-1]
    if not end.requires_grad:
        return
    g = rng.normal(size=end.shape)
    end.backward(g)
    tend.backward(torch.tensor(g))
    for k in leaves:
        if theirs[k].grad is None:
            assert ours[k].grad is None
        else:
            np.testing.assert_allclose(ours[k].grad.array, theirs[k].grad.numpy(), rtol=1e-8, atol=1e-10)
    for t in ours[len(leaves):]:
        assert t.grad is None  # non-leaves keep no gradient


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 7), st.integers(0, 2**16))
def test_cross_entropy_and_indexing_match_torch(n: int, c: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c)) * rng.choice([1.0, 100.0, 1000.0])
    labels = rng.integers(0, c, n)
    x = ref.Tensor(logits, requires_grad=True)
    loss = ref.cross_entropy(x, labels)
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(labels), reduction="none")
    np.testing.assert_allclose(loss.array, tloss.detach().numpy(), rtol=1e-8, atol=1e-8)
    loss.sum().backward()
    tloss.sum().backward()
    np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_topological_sort_raises_on_cycle_and_handles_deep_graphs() -> None:
    children: dict[str, list[str]] = {"a": ["b"], "b": ["c"], "c": ["a"]}
    with pytest.raises(ValueError):
        ref.topological_sort("a", lambda n: children[n])
    x = ref.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = y * 1.0
    y.backward()
    np.testing.assert_allclose(x.grad.array, np.ones(2))


def test_inplace_on_tensor_requiring_grad_is_an_error_but_allowed_under_nograd() -> None:
    w = ref.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="NoGrad"):
        w.add_(1.0)
    with ref.NoGrad():
        w.add_(ref.Tensor(np.ones(3)), alpha=2.0)
    np.testing.assert_allclose(w.array, 3.0)


def test_nograd_restores_state_after_exception_and_records_nothing() -> None:
    x = ref.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(KeyError), ref.NoGrad():
        assert not (x * 2.0).requires_grad
        raise KeyError("boom")
    assert ref.grad_tracking_enabled
    assert (x * 2.0).requires_grad


def test_module_registration_and_sgd_step() -> None:
    np.random.seed(0)
    model = ref.MLP(6, 5, 3)
    params = list(model.parameters())
    assert [p.shape for p in params] == [(5, 6), (5,), (3, 5), (3,)]
    before = [p.array.copy() for p in params]
    loss = ref.cross_entropy(model(ref.Tensor(np.ones((2, 6), dtype=np.float32))), np.array([0, 2])).sum()
    opt = ref.SGD(model.parameters(), lr=0.5)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(p.grad is not None for p in params)
    assert any(not np.allclose(p.array, b) for p, b in zip(params, before, strict=True))
    assert all(p.recipe is None for p in params)


def test_training_smoke_runs_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARENA_OFFLINE", "1")
    model, losses, accuracy, seconds = ref.train_mlp(epochs=1, max_batches=5)
    assert len(losses) == 5 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert 0.0 <= accuracy <= 1.0


@pytest.mark.parametrize(("shape", "dim"), [((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 2), -2), ((), 0)])
def test_stack_backprops_through_every_input_like_torch(shape: tuple, dim: int) -> None:
    """The bonus stack: each input is its own parent (registered once per position), one used twice."""
    rng = np.random.default_rng(len(shape) + dim)
    arrays = [rng.normal(size=shape) for _ in range(3)]
    ours = [ref.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = ref.stack([ours[0], ours[1], ours[0], ours[2]], dim=dim)
    tout = torch.stack([theirs[0], theirs[1], theirs[0], theirs[2]], dim=dim)
    assert out.shape == tuple(tout.shape)
    w = rng.normal(size=out.shape)
    (ref.exp(out) * ref.Tensor(w)).sum().backward()
    (torch.exp(tout) * torch.tensor(w)).sum().backward()
    for mine, torch_leaf in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.grad.array, torch_leaf.grad.numpy(), rtol=1e-10)


def test_stack_refuses_more_inputs_than_back_funcs_registers() -> None:
    lookup = ref.back_funcs()
    assert lookup.get_back_func(ref._stack, ref.STACK_MAX_INPUTS - 1).keywords == {"position": ref.STACK_MAX_INPUTS - 1}
    with pytest.raises(ValueError, match="stack takes"):
        ref.stack([ref.Tensor(np.zeros(2), requires_grad=True)] * (ref.STACK_MAX_INPUTS + 1))
