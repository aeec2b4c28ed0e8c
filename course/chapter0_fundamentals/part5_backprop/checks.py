"""Checks for part 0.5. Later exercises are checked through the learner's own earlier pieces
(their Tensor, back functions, backprop), found in the namespace the checked object was defined in."""

import functools
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from arena.checking import CheckFailure, expect_close, expect_equal, expect_shape, expect_type, uses_learner

from . import solutions as ref


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _namespace(obj: Any) -> dict:
    """The globals of the module (or notebook) where obj was defined."""
    if hasattr(obj, "__globals__"):
        return obj.__globals__
    if isinstance(obj, type):
        for klass in obj.__mro__:
            for item in vars(klass).values():
                item = getattr(item, "fget", None) or getattr(item, "__func__", item)
                if hasattr(item, "__globals__"):
                    return item.__globals__
    module = sys.modules.get(getattr(obj, "__module__", ""), None)
    return vars(module) if module else {}


def _need(ns: dict, name: str, why: str) -> Any:
    if name not in ns:
        raise CheckFailure(f"This check needs `{name}` ({why}) defined in the same file or notebook.")
    return ns[name]


def _broken_dependencies(ns: dict, names: tuple[str, ...]) -> list[str]:
    """Those of `names` (earlier exercises) that are defined in ns but do not pass their own check."""
    broken = []
    for name in names:
        obj, check = ns.get(name), globals().get(f"check_{name}")
        if obj is None or check is None:
            continue
        try:
            check(obj)
        except Exception:  # noqa: BLE001 - not implemented, wrong or crashing: all worth pointing at
            broken.append(name)
    return broken


def _uses(*names: str) -> Callable:
    """Mark a check whose exercise runs the learner's own earlier pieces `names`. When it fails, the
    message also names those pieces that fail their own checks: the bug is more likely there."""

    def mark(check: Callable) -> Callable:
        @functools.wraps(check)
        def wrapper(obj: Any) -> Any:
            try:
                return check(obj)
            except CheckFailure as err:
                broken = _broken_dependencies(_namespace(obj), names)
                if not broken:
                    raise
                listed = ", ".join(f"`{n}`" for n in broken)
                raise CheckFailure(f"{err}\n(This runs your {listed}, which {'does' if len(broken) == 1 else 'do'} "
                                   f"not pass {'its' if len(broken) == 1 else 'their'} own check yet: fix "
                                   f"{'it' if len(broken) == 1 else 'them'} first, e.g. "
                                   f"`arena check 0.5 --only {broken[0]}`.)") from None

        return wrapper

    return mark


def _torch_grads(fn: Callable, *arrays: Any, grad_out: np.ndarray) -> list[np.ndarray]:
    """Gradients of sum(fn(*tensors) * grad_out) with respect to every array argument.

    Checks backpropagate an upstream gradient as `(out * g).sum().backward()`, never `out.backward(g)`:
    in torch 2.x, passing a gradient tensor to backward imports torch.fx's symbolic shapes and sympy,
    half a second of CPU in a cold `arena check 0.5` (issue 16)."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if isinstance(a, np.ndarray) else a
          for a in arrays]
    out = fn(*ts)
    (out * torch.tensor(grad_out, dtype=torch.float64)).sum().backward()
    return [t.grad.numpy() for t in ts if isinstance(t, torch.Tensor)]


def _as_array(got: Any, what: str) -> np.ndarray:
    """Accept numpy arrays and numpy scalars (what numpy returns for 0-d results)."""
    if isinstance(got, np.generic):
        return np.asarray(got)
    expect_type(got, np.ndarray, what)
    return got


def _expect_array(got: Any, expected: np.ndarray, what: str, **kw: Any) -> None:
    got = _as_array(got, what)
    expect_close(np.array(got, dtype=np.float64), np.array(expected, dtype=np.float64), what, **kw)


# ============================================================================ 1️⃣ backward functions


def check_log_back(log_back: Callable) -> str:
    for shape in [(5,), (3, 4), ()]:
        x = _rng(1).uniform(0.5, 3.0, shape)
        g = _rng(2).normal(size=shape)
        _expect_array(log_back(g, np.log(x), x), g / x, f"log_back with x of shape {shape}")
    return "matches d log(x)/dx = 1/x times grad_out"


UNBROADCAST_CASES = [((3,), (2, 3)), ((3, 1), (3, 4)), ((1, 4), (3, 4)), ((2, 1, 4), (5, 2, 3, 4)),
                     ((), (3, 4)), ((1, 1), (2, 3)), ((3, 4), (3, 4)), ((1,), (5,)), ((4, 1), (2, 4, 3)),
                     ((1, 3, 1), (2, 3, 5)), ((2, 3), (4, 2, 3))]


def check_unbroadcast(unbroadcast: Callable) -> str:
    for i, (orig_shape, shape) in enumerate(UNBROADCAST_CASES):
        original = np.zeros(orig_shape)
        broadcasted = _rng(i).normal(size=shape)
        # What torch's autograd does for x.expand(shape).
        x = torch.zeros(orig_shape, dtype=torch.float64, requires_grad=True)
        (x.expand(shape) * torch.tensor(broadcasted)).sum().backward()
        got = unbroadcast(broadcasted, original)
        what = f"unbroadcast(array of shape {shape}, original of shape {orig_shape})"
        got = _as_array(got, what)
        expect_shape(got, orig_shape, what)
        _expect_array(got, x.grad.numpy(), what)
    return f"{len(UNBROADCAST_CASES)} broadcasting cases: new leading dims, stretched size-1 dims, both, scalars"


def _check_multiply_back(back: Callable, position: int) -> str:
    cases = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3, 4), (3, 1)), ((3, 4), None)]
    for i, (sx, sy) in enumerate(cases):
        if position == 1:
            sx, sy = sy, sx
        x = _rng(i).normal(size=sx) if sx is not None else 2.5
        y = _rng(i + 10).normal(size=sy) if sy is not None else -1.5
        out = np.multiply(x, y)
        g = _rng(i + 20).normal(size=out.shape)
        grads = _torch_grads(torch.mul, x, y, grad_out=g)
        expected = grads[-1] if position == 1 else grads[0]
        desc = lambda s: f"shape {s}" if s is not None else "a Python number"  # noqa: E731
        what = f"multiply_back{position} with x of {desc(sx)} and y of {desc(sy)}"
        got = _as_array(back(g, out, x, y), what)
        expect_shape(got, expected.shape, what)
        _expect_array(got, expected, what)
    return "same shapes, broadcasting both ways, and a Python number as the other factor"


@_uses("unbroadcast")
def check_multiply_back0(multiply_back0: Callable) -> str:
    return _check_multiply_back(multiply_back0, 0)


@_uses("unbroadcast")
def check_multiply_back1(multiply_back1: Callable) -> str:
    return _check_multiply_back(multiply_back1, 1)


def check_numerical_grad(numerical_grad: Callable) -> str:
    rng = _rng(4)
    x = rng.uniform(-1.0, 1.0, (3, 4))
    before = x.copy()
    got = numerical_grad(lambda z: np.sum(np.exp(3 * z)), x, 1e-3)
    what = "numerical_grad(lambda z: np.sum(np.exp(3 * z)), x of shape (3, 4), eps=1e-3)"
    got = _as_array(got, what)
    expect_shape(got, x.shape, what)
    if not np.array_equal(x, before):
        raise CheckFailure(f"{what} changed x: after the call, x differs from before by up to "
                           f"{np.abs(x - before).max():.3g}. Put each entry back (x[i] = saved) after perturbing it.")
    exact = 3 * np.exp(3 * x)
    ratio = np.median(got / exact)
    if abs(ratio - 2) < 0.05 or abs(ratio - 0.5) < 0.05:
        raise CheckFailure(f"{what} is {ratio:.3g} times the exact gradient: central differences divide "
                           "fn(x + eps) - fn(x - eps) by 2 * eps.")
    rel = np.abs(got - exact) / np.abs(exact)
    if rel.max() > 1e-4:
        forward = (np.exp(3 * (x + 1e-3)) - np.exp(3 * x)) / 1e-3
        hint = (" That is the error of a one-sided difference (fn(x + eps) - fn(x)) / eps, which is only first-order "
                "accurate: use the central difference." if np.allclose(got, forward, rtol=1e-6) else "")
        i = np.unravel_index(int(rel.argmax()), rel.shape)
        raise CheckFailure(f"{what} at index {[int(k) for k in i]}: expected {exact[i]:.6g} (3 exp(3 x)), got {got[i]:.6g}, a "
                           f"relative error of {rel.max():.2g} (central differences give about 1e-6 here).{hint}")
    # Mixed terms: each entry must be perturbed on its own.
    y = np.array([1.5, -2.0, 0.5])
    got = _as_array(numerical_grad(lambda z: z[0] * z[1] + z[1] * z[2] ** 2, y, 1e-5), "numerical_grad")
    _expect_array(got, np.array([-2.0, 1.5 + 0.25, 2 * -2.0 * 0.5]),
                  "numerical_grad(lambda z: z[0] * z[1] + z[1] * z[2] ** 2, [1.5, -2.0, 0.5]) (perturb one entry "
                  "at a time)", rtol=1e-6, atol=1e-6)
    _expect_array(numerical_grad(lambda z: float(np.sum(z ** 2)), np.array(3.0), 1e-6), np.array(6.0),
                  "numerical_grad(lambda z: z ** 2, 0-d array 3.0)", rtol=1e-6)
    return "central differences (second-order accurate), one entry at a time, x left unchanged, 0-d input"


@_uses("unbroadcast", "log_back", "multiply_back0", "multiply_back1")
def check_forward_and_back(forward_and_back: Callable) -> str:
    for i, (sa, sb, sc) in enumerate([((4,), (4,), (4,)), ((3, 1), (4,), (3, 4)), ((2, 3), (2, 3), (1,))]):
        rng = _rng(i)
        a, b, c = rng.uniform(0.5, 2, sa), rng.uniform(0.5, 2, sb), rng.uniform(1.5, 4, sc)
        got = forward_and_back(a, b, c)
        what = f"forward_and_back(a {sa}, b {sb}, c {sc})"
        if not isinstance(got, tuple | list) or len(got) != 3:
            raise CheckFailure(f"{what} should return a tuple of three arrays, got {type(got).__name__}")
        expected = _torch_grads(lambda a, b, c: torch.log(a * b * torch.log(c)), a, b, c,
                                grad_out=np.ones(np.broadcast_shapes(sa, sb, sc)))
        for name, g, e in zip("abc", got, expected, strict=True):
            _expect_array(g, e, f"{what}: dg/d{name}")
    return "all three gradients match torch.autograd, with and without broadcasting"


# ============================================================================ 2️⃣ autograd


def check_BackwardFuncLookup(BackwardFuncLookup: type) -> str:  # noqa: N802
    def f0(*args: Any) -> None: ...
    def f1(*args: Any) -> None: ...
    def g0(*args: Any) -> None: ...

    first, second = BackwardFuncLookup(), BackwardFuncLookup()
    first.add_back_func(np.multiply, 0, f0)
    first.add_back_func(np.multiply, 1, f1)
    first.add_back_func(np.log, 0, g0)
    for fn, pos, want, name in [(np.multiply, 0, f0, "f0"), (np.multiply, 1, f1, "f1"), (np.log, 0, g0, "g0")]:
        got = first.get_back_func(fn, pos)
        if got is not want:
            raise CheckFailure(f"after add_back_func({fn.__name__}, {pos}, {name}), get_back_func({fn.__name__}, "
                               f"{pos}) returned {got!r} instead of {name}")
    first.add_back_func(np.log, 0, f0)
    if first.get_back_func(np.log, 0) is not f0:
        raise CheckFailure("registering a second backward function for (np.log, 0) should replace the first")
    try:
        found = second.get_back_func(np.log, 0)
    except KeyError:
        found = None
    else:
        if found is None:
            raise CheckFailure("get_back_func(np.log, 0) on a new, empty BackwardFuncLookup() returned None; it "
                               "should raise KeyError when nothing is registered (`dict.get` hides the mistake: "
                               "index the dictionary instead)")
        raise CheckFailure("a new BackwardFuncLookup() should be empty, but get_back_func(np.log, 0) on it "
                           f"returned {found!r}. Is the dictionary a class attribute shared by every lookup? "
                           "Create it in __init__.")
    try:
        got = first.get_back_func(np.exp, 0)
    except KeyError:
        return "stores by (function, position), replaces, raises KeyError when missing, lookups independent"
    raise CheckFailure(f"get_back_func(np.exp, 0) with nothing registered should raise KeyError, returned {got!r}")


def check_Tensor(Tensor: type) -> str:  # noqa: N802
    x = Tensor(np.ones(3), requires_grad=True)
    y = Tensor(np.ones(3))
    cases = [("Tensor(..., requires_grad=True) made directly", x, True),
             ("Tensor(...) made directly", y, True)]
    made = Tensor(np.ones(3), requires_grad=True)
    made.recipe = ref.Recipe(np.log, (x.array,), {}, {0: x})
    cases.append(("a tensor that requires grad with a recipe whose parents are {0: x}", made, False))
    no_grad = Tensor(np.ones(3), requires_grad=False)
    no_grad.recipe = ref.Recipe(np.log, (x.array,), {}, {0: x})
    cases.append(("a tensor that does not require grad but has a recipe with parents", no_grad, True))
    orphan = Tensor(np.ones(3), requires_grad=True)
    orphan.recipe = ref.Recipe(np.ones, ((3,),), {}, {})
    cases.append(("a tensor that requires grad with a recipe whose parents dict is empty", orphan, True))
    for what, t, want in cases:
        expect_equal(t.is_leaf, want, f"is_leaf of {what}")
    return "is_leaf for tensors made directly, made by ops, and not requiring grad"


def _check_output(out: Any, T: type, what: str, array: np.ndarray, requires_grad: bool) -> None:
    expect_type(out, T, what)
    _expect_array(out.array, array, f".array of {what}")
    expect_equal(bool(out.requires_grad), requires_grad, f".requires_grad of {what}")


def _check_recipe(out: Any, what: str, func: Callable, args: tuple, kwargs: dict, parents: dict) -> None:
    recipe = out.recipe
    if recipe is None:
        raise CheckFailure(f"{what} requires grad, so it needs a recipe; its .recipe is None")
    if recipe.func is not func:
        raise CheckFailure(f"{what}.recipe.func should be {getattr(func, '__name__', func)}, got {recipe.func!r}")
    if len(recipe.args) != len(args):
        raise CheckFailure(f"{what}.recipe.args should have {len(args)} entries (arrays in place of Tensors), "
                           f"got {len(recipe.args)}")
    for i, (got, want) in enumerate(zip(recipe.args, args, strict=True)):
        if isinstance(want, np.ndarray):
            _expect_array(got, want, f"{what}.recipe.args[{i}]")
        else:
            expect_equal(got, want, f"{what}.recipe.args[{i}]")
    expect_equal(dict(recipe.kwargs), kwargs, f"{what}.recipe.kwargs")
    got_parents = {k: id(v) for k, v in recipe.parents.items()}
    if got_parents != {k: id(v) for k, v in parents.items()}:
        missing = sorted(set(parents) - set(got_parents))
        note = (" (with other objects)" if set(got_parents) == set(parents) else
                f" (position {missing[0]} is missing: every Tensor argument is a parent, also one that does not "
                "require grad)" if missing else "")
        raise CheckFailure(f"{what}.recipe.parents should map positions {sorted(parents)} to the Tensor "
                           f"arguments themselves; got positions {sorted(recipe.parents)}{note}")


class _TrackingOff:
    """Temporarily set grad_tracking_enabled to False in the learner's namespace."""

    def __init__(self, ns: dict):
        self.ns = ns

    def __enter__(self) -> None:
        self.was = self.ns.get("grad_tracking_enabled", True)
        self.ns["grad_tracking_enabled"] = False

    def __exit__(self, *exc: Any) -> None:
        self.ns["grad_tracking_enabled"] = self.was


@uses_learner("Tensor")
def check_log_forward(log_forward: Callable) -> str:
    ns = _namespace(log_forward)
    T = _need(ns, "Tensor", "the Tensor class")
    arr = _rng(0).uniform(1.5, 3, (2, 3))
    x = T(arr, requires_grad=True)
    out = log_forward(x)
    _check_output(out, T, "log_forward(x) with x requiring grad", np.log(arr), True)
    _check_recipe(out, "log_forward(x)", np.log, (arr,), {}, {0: x})
    out2 = log_forward(out)
    _check_output(out2, T, "log_forward(log_forward(x))", np.log(np.log(arr)), True)
    _check_recipe(out2, "log_forward(log_forward(x))", np.log, (np.log(arr),), {}, {0: out})
    plain = log_forward(T(arr))
    _check_output(plain, T, "log_forward(x) with x not requiring grad", np.log(arr), False)
    with _TrackingOff(ns):
        off = log_forward(T(arr, requires_grad=True))
    _check_output(off, T, "log_forward(x) while grad_tracking_enabled is False", np.log(arr), False)
    return "values, requires_grad, recipe, and grad tracking switched off"


@uses_learner("Tensor")
def check_multiply_forward(multiply_forward: Callable) -> str:
    ns = _namespace(multiply_forward)
    T = _need(ns, "Tensor", "the Tensor class")
    a_arr, b_arr = _rng(0).normal(size=(2, 3)), _rng(1).normal(size=(3,))
    a, b = T(a_arr, requires_grad=True), T(b_arr)
    out = multiply_forward(a, b)
    _check_output(out, T, "multiply_forward(a, b) with only a requiring grad", a_arr * b_arr, True)
    _check_recipe(out, "multiply_forward(a, b)", np.multiply, (a_arr, b_arr), {}, {0: a, 1: b})
    out = multiply_forward(b, a)
    _check_output(out, T, "multiply_forward(b, a)", a_arr * b_arr, True)
    _check_recipe(out, "multiply_forward(b, a)", np.multiply, (b_arr, a_arr), {}, {0: b, 1: a})
    out = multiply_forward(3, a)
    _check_output(out, T, "multiply_forward(3, a)", 3 * a_arr, True)
    _check_recipe(out, "multiply_forward(3, a)", np.multiply, (3, a_arr), {}, {1: a})
    out = multiply_forward(a, 2.5)
    _check_output(out, T, "multiply_forward(a, 2.5)", 2.5 * a_arr, True)
    _check_recipe(out, "multiply_forward(a, 2.5)", np.multiply, (a_arr, 2.5), {}, {0: a})
    _check_output(multiply_forward(b, b), T, "multiply_forward(b, b) with b not requiring grad", b_arr ** 2, False)
    with _TrackingOff(ns):
        _check_output(multiply_forward(a, a), T, "multiply_forward(a, a) with grad tracking off", a_arr ** 2, False)
    return "Tensor and number arguments in either position, parents, requires_grad, tracking off"


@uses_learner("Tensor")
def check_wrap_forward_fn(wrap_forward_fn: Callable) -> str:
    ns = _namespace(wrap_forward_fn)
    T = _need(ns, "Tensor", "the Tensor class")
    a_arr, b_arr = _rng(0).normal(size=(2, 3)), _rng(1).normal(size=(2, 3))
    a, b = T(a_arr, requires_grad=True), T(b_arr)
    add = wrap_forward_fn(np.add)
    if not callable(add):
        raise CheckFailure(f"wrap_forward_fn(np.add) should return a function, got {type(add).__name__}")
    out = add(a, b)
    _check_output(out, T, "wrap_forward_fn(np.add)(a, b)", a_arr + b_arr, True)
    _check_recipe(out, "wrap_forward_fn(np.add)(a, b)", np.add, (a_arr, b_arr), {}, {0: a, 1: b})
    out = add(2.0, a)
    _check_recipe(out, "wrap_forward_fn(np.add)(2.0, a)", np.add, (2.0, a_arr), {}, {1: a})
    _check_output(add(b, b), T, "wrap_forward_fn(np.add)(b, b) with b not requiring grad", 2 * b_arr, False)
    total = wrap_forward_fn(np.sum)
    out = total(a, axis=1, keepdims=True)
    _check_output(out, T, "wrap_forward_fn(np.sum)(a, axis=1, keepdims=True)", a_arr.sum(1, keepdims=True), True)
    _check_recipe(out, "wrap_forward_fn(np.sum)(a, axis=1, keepdims=True)", np.sum, (a_arr,),
                  {"axis": 1, "keepdims": True}, {0: a})
    argmax = wrap_forward_fn(np.argmax, is_differentiable=False)
    _check_output(argmax(a, axis=0), T, "wrap_forward_fn(np.argmax, is_differentiable=False)(a, axis=0)",
                  a_arr.argmax(0), False)
    with _TrackingOff(ns):
        _check_output(add(a, a), T, "wrap_forward_fn(np.add)(a, a) with grad tracking off", 2 * a_arr, False)
    return "positional Tensors and numbers, keyword arguments, non-differentiable functions, tracking off"


class _Node:
    def __init__(self, name: str):
        self.name, self.children = name, []

    def __repr__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:  # equality is not identity: sorts must use identity
        return isinstance(other, _Node)

    __hash__ = None  # type: ignore[assignment]


def _random_dag(rng: np.random.Generator, n: int) -> list[_Node]:
    nodes = [_Node(f"n{i}") for i in range(n)]
    for i in range(1, n):  # children have smaller indices, so the graph is acyclic
        k = int(rng.integers(1, min(i, 3) + 1))
        nodes[i].children = [nodes[j] for j in rng.choice(i, size=k, replace=False)]
    return nodes


def _reachable(node: _Node) -> list[_Node]:
    seen, stack = {id(node): node}, [node]
    while stack:
        for c in stack.pop().children:
            if id(c) not in seen:
                seen[id(c)] = c
                stack.append(c)
    return list(seen.values())


def _check_order(order: Any, root: Any, children: Callable, what: str, first: bool = False,
                 names: dict[int, str] | None = None) -> None:
    expect_type(order, list, what)

    def label(n: Any) -> str:  # nodes by name in messages where given (a Tensor's repr is long)
        return names[id(n)] if names and id(n) in names else repr(n)

    want = _reachable_generic(root, children)
    ids = [id(n) for n in order]
    if len(set(ids)) != len(ids):
        dup = next(n for n in order if ids.count(id(n)) > 1)
        raise CheckFailure(f"{what} lists {label(dup)} more than once")
    if set(ids) != set(want):
        missing = [n for i, n in want.items() if i not in set(ids)]
        raise CheckFailure(f"{what} should contain the {len(want)} reachable nodes; it has {len(order)}"
                           + (f" and misses {label(missing[0])}" if missing else ""))
    position = {i: k for k, i in enumerate(ids)}
    end = 0 if first else len(order) - 1
    if ids[end] != id(root):
        raise CheckFailure(f"{what} should have the starting node {'first' if first else 'last'}, "
                           f"but has {label(order[end])} there")
    for node in order:
        for child in children(node):
            before = position[id(child)] > position[id(node)] if first else position[id(child)] < position[id(node)]
            if not before:
                raise CheckFailure(f"{what} puts {label(node)} at position {position[id(node)]} "
                                   f"{'after' if first else 'before'} {label(child)} (position {position[id(child)]}), "
                                   f"which it {'was computed from' if first else 'depends on'}")


def _reachable_generic(root: Any, children: Callable) -> dict[int, Any]:
    seen, stack = {id(root): root}, [root]
    while stack:
        for c in children(stack.pop()):
            if id(c) not in seen:
                seen[id(c)] = c
                stack.append(c)
    return seen


def check_topological_sort(topological_sort: Callable) -> str:
    def get_children(n: _Node) -> list[_Node]:
        return n.children

    # A diamond with a shortcut, in both child orders: a sort that adds a node before its
    # children are done fails one of them.
    for order in ([0, 1], [1, 0]):
        leaf, mid, top = _Node("leaf"), _Node("mid"), _Node("top")
        mid.children = [leaf]
        top.children = [[leaf, mid][i] for i in order]
        _check_order(topological_sort(top, get_children), top, get_children,
                     f"topological_sort(top) where top -> {top.children}, mid -> [leaf]")
    rng = _rng(0)
    for trial in range(20):
        nodes = _random_dag(rng, int(rng.integers(2, 15)))
        _check_order(topological_sort(nodes[-1], get_children), nodes[-1], get_children,
                     f"topological_sort on random graph #{trial} ({len(_reachable(nodes[-1]))} nodes)")
    lone = _Node("lone")
    _check_order(topological_sort(lone, get_children), lone, get_children, "topological_sort(a node without children)")
    twice = _Node("twice")
    twice.children = [lone, lone]
    _check_order(topological_sort(twice, get_children), twice, get_children,
                 "topological_sort(node whose children are [lone, lone])")
    chain = [_Node(f"c{i}") for i in range(300)]
    for i in range(1, len(chain)):
        chain[i].children = [chain[i - 1]]
    _check_order(topological_sort(chain[-1], get_children), chain[-1], get_children, "topological_sort(a chain of 300)")
    a, b, c = _Node("a"), _Node("b"), _Node("c")
    a.children, b.children, c.children = [b], [c], [a]
    top = _Node("top")
    top.children = [a]
    try:
        topological_sort(top, get_children)
    except ValueError:
        return "diamonds in both child orders, 20 random graphs, repeated children, a long chain, a cycle"
    raise CheckFailure("topological_sort on a graph with a cycle (a -> b -> c -> a) should raise ValueError")


def _manual(T: type, func: Callable, *args: Any, **kwargs: Any) -> Any:
    """An op's output built by hand (so this check does not depend on wrap_forward_fn)."""
    arrays = tuple(a.array if isinstance(a, T) else a for a in args)
    parents = {i: a for i, a in enumerate(args) if isinstance(a, T)}
    out = T(func(*arrays, **kwargs), requires_grad=any(p.requires_grad for p in parents.values()))
    if out.requires_grad:
        out.recipe = ref.Recipe(func, arrays, kwargs, parents)
    return out


@uses_learner("Tensor")
@_uses("topological_sort")
def check_sorted_computational_graph(sorted_computational_graph: Callable) -> str:
    T = _need(_namespace(sorted_computational_graph), "Tensor", "the Tensor class")

    def parents(t: Any) -> list:
        return list(t.recipe.parents.values()) if t.recipe is not None else []

    a, b = T(np.full(3, 2.0), requires_grad=True), T(np.full(3, 3.0), requires_grad=True)
    c = _manual(T, np.multiply, a, b)
    d = _manual(T, np.log, c)
    e = _manual(T, np.multiply, d, c)
    f = _manual(T, np.multiply, e, a)
    # g lists its parent c before d, which was computed from c: a sort that lists a tensor when it
    # is first reached, before every tensor using it is listed, gets this one wrong.
    g = _manual(T, np.multiply, c, d)
    names = {id(t): name for name, t in {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "g": g}.items()}
    for name, t in {"c": c, "d": d, "e": e, "f": f, "g": g, "a": a}.items():
        got = sorted_computational_graph(t)
        _check_order(got, t, parents, f"sorted_computational_graph({name}) with c = a * b, d = log(c), e = d * c, "
                     "f = e * a, g = c * d", first=True, names=names)
    return "the end tensor first, each tensor before the tensors it was computed from, each once"


def _graph_case(T: type, rng: np.random.Generator, n_leaves: int, n_ops: int, shapes: list) -> tuple:
    """A random graph of log and multiply over leaves; returns (leaves, end, torch leaves, torch end)."""
    leaves, tleaves = [], []
    for i in range(n_leaves):
        arr = rng.uniform(1.2, 2.5, shapes[i % len(shapes)])
        requires = bool(i % 4 != 3)
        leaves.append(T(arr, requires_grad=requires))
        tleaves.append(torch.tensor(arr, requires_grad=requires))
    nodes, tnodes = list(leaves), list(tleaves)
    for _ in range(n_ops):
        if rng.random() < 0.3:
            candidates = [k for k, n in enumerate(nodes) if np.all(n.array > 1.05) and np.all(n.array < 1e6)]
            if candidates:
                k = int(rng.choice(candidates))
                nodes.append(_manual(T, np.log, nodes[k]))
                tnodes.append(torch.log(tnodes[k]))
                continue
        i, j = (int(v) for v in rng.integers(0, len(nodes), 2))
        if rng.random() < 0.15:
            nodes.append(_manual(T, np.multiply, nodes[i], 1.5))
            tnodes.append(tnodes[i] * 1.5)
        else:
            nodes.append(_manual(T, np.multiply, nodes[i], nodes[j]))
            tnodes.append(tnodes[i] * tnodes[j])
    # The end node mixes the last few nodes so that most of the graph is used.
    end, tend = nodes[-1], tnodes[-1]
    for k in (-2, -3):
        end, tend = _manual(T, np.multiply, end, nodes[k]), tend * tnodes[k]
    return leaves, end, tleaves, tend


def _compare_leaf_grads(T: type, leaves: list, tleaves: list, what: str, scale: float = 1.0) -> None:
    for k, (leaf, tleaf) in enumerate(zip(leaves, tleaves, strict=True)):
        if not tleaf.requires_grad or tleaf.grad is None:
            if leaf.grad is not None:
                reason = "does not require grad" if not tleaf.requires_grad else "is not used"
                raise CheckFailure(f"{what}: leaf {k} {reason}, so its .grad should stay None; got {leaf.grad!r}")
            continue
        if leaf.grad is None:
            raise CheckFailure(f"{what}: leaf {k} requires grad and is used, but its .grad is still None")
        expect_type(leaf.grad, T, f"{what}: .grad of leaf {k}")
        _expect_array(leaf.grad.array, tleaf.grad.numpy() * scale, f"{what}: .grad of leaf {k}", rtol=1e-6)


@uses_learner("Tensor")
@_uses("Tensor", "BackwardFuncLookup", "topological_sort", "sorted_computational_graph", "unbroadcast",
       "log_back", "multiply_back0", "multiply_back1")
def check_backprop(backprop: Callable) -> str:
    ns = _namespace(backprop)
    T = _need(ns, "Tensor", "the Tensor class")

    # A node used twice: b = log(a); c = b * b; its gradient must add both uses.
    a_arr = np.array([2.0, 3.0, 5.0])
    a = T(a_arr, requires_grad=True)
    b = _manual(T, np.log, a)
    c = _manual(T, np.multiply, b, b)
    backprop(c)
    ta = torch.tensor(a_arr, requires_grad=True)
    (torch.log(ta) ** 2).sum().backward()
    _compare_leaf_grads(T, [a], [ta], "c = b * b with b = log(a) (b is used twice)")
    for name, t in [("b", b), ("c", c)]:
        if t.grad is not None:
            raise CheckFailure(f"after backprop(c), the non-leaf tensor {name} should keep .grad None, "
                               f"got {t.grad!r}")

    # Calling backprop again accumulates into the leaves' .grad.
    backprop(c)
    _compare_leaf_grads(T, [a], [ta], "calling backprop(c) a second time (grads must accumulate)", scale=2.0)

    # Gradients that are the same array: add passes grad_out through unchanged, so here p's and q's
    # gradients start out as the caller's end_grad array itself. Adding into an existing gradient
    # in place (+=) then corrupts the other leaf, or the caller's array.
    p, q = T(np.array([1.0, 2.0, 3.0]), requires_grad=True), T(np.array([4.0, 5.0, 6.0]), requires_grad=True)
    v = _manual(T, np.add, _manual(T, np.add, p, q), p)
    shared = _rng(2).normal(size=3)
    shared_copy = shared.copy()
    what = "v = (p + q) + p, backprop(v, end_grad) called twice with the same end_grad array"
    for _ in range(2):
        backprop(v, T(shared))
    if not np.array_equal(shared, shared_copy):
        raise CheckFailure(f"{what}: backprop changed the caller's end_grad array. Never add into a gradient in "
                           "place (`+=`): it may be the caller's array, or shared with another tensor (add passes "
                           "grad_out through unchanged). Make a new array: `old + new`.")
    tp, tq = torch.tensor(p.array, requires_grad=True), torch.tensor(q.array, requires_grad=True)
    for _ in range(2):
        (((tp + tq) + tp) * torch.tensor(shared_copy)).sum().backward()
    try:
        _compare_leaf_grads(T, [p, q], [tp, tq], what)
    except CheckFailure as err:
        raise CheckFailure(f"{err}. Do you add into a gradient in place (`+=`)? Gradients can be shared "
                           "arrays (add passes grad_out through unchanged): make a new array, `old + new`.") from None

    # end_grad, broadcasting, numbers and a leaf that does not require grad.
    x = T(np.array([[1.5], [2.0]]), requires_grad=True)
    y = T(np.array([1.2, 1.4, 1.6]), requires_grad=True)
    w = T(np.array([2.0, 3.0, 4.0]))
    z = _manual(T, np.multiply, _manual(T, np.log, _manual(T, np.multiply, x, y)), w)
    z = _manual(T, np.multiply, 2.0, z)
    end_grad = _rng(0).normal(size=(2, 3))
    backprop(z, T(end_grad))
    tx, ty = torch.tensor(x.array, requires_grad=True), torch.tensor(y.array, requires_grad=True)
    tz = 2.0 * torch.log(tx * ty) * torch.tensor(w.array)
    (tz * torch.tensor(end_grad)).sum().backward()
    _compare_leaf_grads(T, [x, y, w], [tx, ty, torch.tensor(w.array)],
                        "z = 2 * log(x * y) * w with x (2, 1), y (3,), w not requiring grad, and an end_grad")

    rng = _rng(1)
    for trial in range(25):
        shapes = [(3,), (2, 3), (1, 3), (2, 1)] if trial % 2 else [(4,)]
        leaves, end, tleaves, tend = _graph_case(T, rng, int(rng.integers(2, 6)), int(rng.integers(3, 12)), shapes)
        if not end.requires_grad:
            continue
        backprop(end)
        tend.sum().backward()
        _compare_leaf_grads(T, leaves, tleaves, f"random graph #{trial} of log and multiply")
    return ("a node used twice, accumulation over calls, shared gradient arrays, end_grad, broadcasting, "
            "25 random graphs vs torch")


# ============================================================================ 3️⃣ more operations


def _check_back(back: Callable, name: str, torch_fn: Callable, cases: list[tuple[str, tuple, dict]],
                grad_positions: tuple[int, ...] = (0,), position: int = 0) -> None:
    """Compare back(grad_out, out, *args, **kwargs) with torch for each (description, args, kwargs).

    args holds numpy arrays or numbers; `position` is the index (among the arguments) of the one
    whose gradient the backward function returns."""
    for k, (desc, args, kwargs) in enumerate(cases):
        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=(i in grad_positions))
              if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for i, a in enumerate(args)]
        tout = torch_fn(*ts, **kwargs)
        g = _rng(100 + k).normal(size=tuple(tout.shape))
        (tout * torch.tensor(g)).sum().backward()
        expected = ts[position].grad.numpy()
        got = back(g, tout.detach().numpy(), *args, **kwargs)
        what = f"{name} for {desc}"
        got = _as_array(got, what)
        expect_shape(got, expected.shape, what)
        _expect_array(got, expected, what)


def check_negative_back(negative_back: Callable) -> str:
    _check_back(negative_back, "negative_back", torch.neg, [("x (3, 4)", (_rng(0).normal(size=(3, 4)),), {})])
    return "matches torch"


def check_exp_back(exp_back: Callable) -> str:
    _check_back(exp_back, "exp_back", torch.exp, [("x (3, 4)", (_rng(0).normal(size=(3, 4)),), {}),
                                                  ("x (5,)", (_rng(1).normal(size=5),), {})])
    return "matches torch"


def check_reshape_back(reshape_back: Callable) -> str:
    cases = [(f"x {s} reshaped to {n}", (_rng(i).normal(size=s), n), {})
             for i, (s, n) in enumerate([((2, 6), (3, 4)), ((2, 3, 4), (6, -1)), ((12,), (2, 2, 3)), ((3, 4), (12,))])]
    _check_back(reshape_back, "reshape_back", torch.reshape, cases)
    return "including a -1 in the new shape"


def check_permute_back(permute_back: Callable) -> str:
    cases = [(f"x {s} permuted by {p}", (_rng(i).normal(size=s), p), {})
             for i, (s, p) in enumerate([((2, 3), (1, 0)), ((2, 3, 4), (1, 2, 0)), ((2, 3, 4), (2, 0, 1)),
                                         ((2, 3, 4, 5), (3, 1, 0, 2)), ((3, 4), (0, 1))])]
    _check_back(permute_back, "permute_back", torch.permute, cases)
    return "permutations that are not their own inverse included"


@_uses("unbroadcast")
def check_expand_back(expand_back: Callable) -> str:
    def torch_expand(x: torch.Tensor, shape: tuple) -> torch.Tensor:
        return x.expand(*shape)

    cases = [(f"x {s} expanded to {n}", (_rng(i).normal(size=s), n), {})
             for i, (s, n) in enumerate([((3,), (2, 3)), ((3, 1), (3, 4)), ((1, 4), (2, 5, 4)), ((2, 1), (4, 2, 3)),
                                         ((3, 1), (-1, 5)), ((2, 3), (2, 3))])]
    _check_back(expand_back, "expand_back", torch_expand, cases)
    return "new leading dimensions, stretched size-1 dimensions, -1 entries"


def check_sum_back(sum_back: Callable) -> str:
    def torch_sum(x: torch.Tensor, dim: Any = None, keepdim: bool = False) -> torch.Tensor:
        return x.sum() if dim is None else x.sum(dim=dim, keepdim=keepdim)

    square = _rng(1).normal(size=(3, 3))
    cases = [(f"x (3, 3), dim={d}, keepdim={k}", (square, d, k), {}) for d in [1, 0, -1] for k in [False, True]]
    x = _rng(0).normal(size=(2, 3, 4))
    cases += [(f"x (2, 3, 4), dim={d}, keepdim={k}", (x, d, k), {})
             for d in [None, 0, 1, -1, (0, 2), (-1, -2)] for k in [False, True] if not (d is None and k)]
    cases.append(("x (2, 3, 4), dim=None, keepdim=True", (x, None, True), {}))

    def torch_sum_any(x: torch.Tensor, dim: Any, keepdim: bool) -> torch.Tensor:
        if dim is None:
            return x.sum(dim=tuple(range(x.ndim)), keepdim=keepdim)
        return torch_sum(x, dim, keepdim)

    _check_back(sum_back, "sum_back", torch_sum_any, cases)
    return "dim None, int, negative, tuple; keepdim True and False"


def check_getitem_back(getitem_back: Callable) -> str:
    x = _rng(0).normal(size=(4, 5))
    cases = [("x[2]", (x, 2), {}), ("x[1:3]", (x, slice(1, 3)), {}),
             ("x[[0, 2, 2, 3]] (row 2 picked twice)", (x, np.array([0, 2, 2, 3])), {}),
             ("x[(arange(4), [1, 0, 1, 4])]", (x, (np.arange(4), np.array([1, 0, 1, 4]))), {}),
             ("x[([1, 1, 1], [2, 2, 0])] (an element picked twice)", (x, (np.array([1, 1, 1]), np.array([2, 2, 0]))), {}),
             ("x[:, 1:4]", (x, (slice(None), slice(1, 4))), {})]

    def torch_getitem(t: torch.Tensor, index: Any) -> torch.Tensor:
        if isinstance(index, tuple):
            index = tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
        elif isinstance(index, np.ndarray):
            index = torch.tensor(index)
        return t[index]

    _check_back(getitem_back, "getitem_back", torch_getitem, cases)
    return "ints, slices, integer arrays, and repeated indices that must accumulate"


def _binary_cases(seed: int, positive_y: bool = False) -> list[tuple[str, tuple, dict]]:
    rng = _rng(seed)

    def arr(s: tuple) -> np.ndarray:
        return rng.uniform(0.5, 2.0, s) * rng.choice([-1, 1], s) if not positive_y else rng.uniform(0.5, 2.0, s)

    shapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((2, 3), (2, 1))]
    cases = [(f"x {sx} and y {sy}", (arr(sx), arr(sy)), {}) for sx, sy in shapes]
    cases.append(("x (3, 4) and y = 2.5", (arr((3, 4)), 2.5), {}))
    cases.append(("x = -1.5 and y (3, 4)", (-1.5, arr((3, 4))), {}))
    return cases


def _check_binary(back: Callable, name: str, torch_fn: Callable, position: int, seed: int) -> None:
    cases = [c for c in _binary_cases(seed) if isinstance(c[1][position], np.ndarray)]
    _check_back(back, name, torch_fn, cases, grad_positions=(position,), position=position)


def _divide(x: Any, y: Any) -> torch.Tensor:
    return x / y


@_uses("unbroadcast")
def check_true_divide_back0(true_divide_back0: Callable) -> str:
    _check_binary(true_divide_back0, "true_divide_back0", _divide, 0, 0)
    return "with broadcasting and a number as y"


@_uses("unbroadcast")
def check_true_divide_back1(true_divide_back1: Callable) -> str:
    _check_binary(true_divide_back1, "true_divide_back1", _divide, 1, 1)
    return "with broadcasting and a number as x"


def _maximum_cases() -> list[tuple[str, tuple, dict]]:
    rng = _rng(3)
    x = rng.integers(-2, 3, (4, 5)).astype(float)  # small integers: many ties
    y = rng.integers(-2, 3, (4, 5)).astype(float)
    return [("x, y (4, 5) with ties", (x, y), {}),
            ("x (4, 5), y (5,) with ties", (x, y[0]), {}),
            ("x (4, 1), y (4, 5) with ties", (x[:, :1], y), {}),
            ("x (4, 5), y = 0.0 (ties where x == 0)", (x, 0.0), {}),
            ("x = 1.0, y (4, 5) (ties where y == 1)", (1.0, y), {}),
            ("random x, y (3, 3)", (rng.normal(size=(3, 3)), rng.normal(size=(3, 3))), {})]


def _check_keeps_float32(back: Callable, name: str, position: int) -> None:
    """A float32 grad_out must give a float32 gradient, as in torch: a float64 mask would silently
    double the memory of every gradient that flows through this operation."""
    rng = _rng(7)
    x = rng.integers(-2, 3, (3, 4)).astype(np.float32)
    y = rng.integers(-2, 3, (3, 4)).astype(np.float32)
    g = rng.normal(size=(3, 4)).astype(np.float32)
    got = _as_array(back(g, np.maximum(x, y), x, y), f"{name} for float32 x, y (3, 4)")
    if got.dtype != np.float32:
        raise CheckFailure(f"{name} for float32 x, y and grad_out (3, 4) returned dtype {got.dtype}; it should "
                           "keep grad_out's float32, like torch. A mask built with `.astype(float)` or "
                           "`np.ones_like(x, dtype=float)` is float64: use `dtype=grad_out.dtype`.")


@_uses("unbroadcast")
def check_maximum_back0(maximum_back0: Callable) -> str:
    cases = [c for c in _maximum_cases() if isinstance(c[1][0], np.ndarray)]
    _check_back(maximum_back0, "maximum_back0", _torch_maximum, cases, grad_positions=(0,), position=0)
    _check_keeps_float32(maximum_back0, "maximum_back0", 0)
    return "ties split evenly (like torch.maximum), broadcasting, a number as y, float32 kept"


@_uses("unbroadcast")
def check_maximum_back1(maximum_back1: Callable) -> str:
    cases = [c for c in _maximum_cases() if isinstance(c[1][1], np.ndarray)]
    _check_back(maximum_back1, "maximum_back1", _torch_maximum, cases, grad_positions=(1,), position=1)
    _check_keeps_float32(maximum_back1, "maximum_back1", 1)
    return "ties split evenly (like torch.maximum), broadcasting, a number as x, float32 kept"


def _torch_maximum(x: Any, y: Any) -> torch.Tensor:
    x = x if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64)
    y = y if isinstance(y, torch.Tensor) else torch.tensor(y, dtype=torch.float64)
    return torch.maximum(x, y)


@uses_learner("Tensor", "backprop")
@_uses("wrap_forward_fn", "maximum_back0", "backprop")
def check_relu(relu: Callable) -> str:
    ns = _namespace(relu)
    T = _need(ns, "Tensor", "the Tensor class")
    backprop = _need(ns, "backprop", "your backprop from section 2")
    arr = _rng(0).normal(size=(3, 4))
    arr[0, 0] = 0.0
    x = T(arr, requires_grad=True)
    out = relu(x)
    _check_output(out, T, "relu(x)", np.maximum(arr, 0), True)
    g = _rng(1).normal(size=(3, 4))
    backprop(out, T(g))
    if x.grad is None:
        raise CheckFailure("after backprop through relu(x), x.grad is None: does relu record a recipe?")
    expected = g * (arr > 0)
    expect_shape(np.asarray(x.grad.array), expected.shape, "x.grad after backprop through relu(x)")
    got = np.array(x.grad.array, dtype=float)
    at_zero = got[0, 0]  # at exactly 0 (a tie of max(x, 0)), either 0 or a split g/2 is fine
    if not (np.isclose(at_zero, 0.0) or np.isclose(at_zero, g[0, 0] / 2)):
        raise CheckFailure(f"x.grad after backprop through relu(x) at x == 0 is {at_zero:.4f}, with grad_out "
                           f"{g[0, 0]:.4f} there: it should be 0 or half of grad_out (x ties with 0, and "
                           "max(x, 0) is not differentiable there). Sending the full gradient means the mask "
                           "uses `x >= 0`; with `maximum(x, 0.0)` and a correct maximum_back0 the tie is split.")
    got[0, 0] = expected[0, 0] = 0.0
    _expect_array(got, expected, "x.grad after backprop through relu(x)")
    return "values, requires_grad and gradients (checked through your backprop)"


def check_matmul2d_back0(matmul2d_back0: Callable) -> str:
    cases = [(f"a {sa} @ b {sb}", (_rng(i).normal(size=sa), _rng(i + 5).normal(size=sb)), {})
             for i, (sa, sb) in enumerate([((3, 4), (4, 5)), ((1, 6), (6, 2)), ((5, 5), (5, 1))])]
    _check_back(matmul2d_back0, "matmul2d_back0", torch.matmul, cases, grad_positions=(0,), position=0)
    return "matches torch for several shapes"


def check_matmul2d_back1(matmul2d_back1: Callable) -> str:
    cases = [(f"a {sa} @ b {sb}", (_rng(i).normal(size=sa), _rng(i + 5).normal(size=sb)), {})
             for i, (sa, sb) in enumerate([((3, 4), (4, 5)), ((1, 6), (6, 2)), ((5, 5), (5, 1))])]
    _check_back(matmul2d_back1, "matmul2d_back1", torch.matmul, cases, grad_positions=(1,), position=1)
    return "matches torch for several shapes"


@uses_learner("Tensor")
def check_inplace_add(inplace_add: Callable) -> str:
    ns = _namespace(inplace_add)
    T = _need(ns, "Tensor", "the Tensor class")
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    x = T(arr.copy())
    storage = x.array
    out = inplace_add(x, T(np.ones(3)), alpha=2.0)
    if out is not x:
        raise CheckFailure("inplace_add(x, other, alpha) should return x itself")
    if x.array is not storage:
        raise CheckFailure("inplace_add should change x.array in place, not replace it by a new array")
    _expect_array(x.array, arr + 2.0, "x.array after inplace_add(x, Tensor(ones(3)), alpha=2.0)")
    inplace_add(x, 0.5)
    _expect_array(x.array, arr + 2.5, "x.array after inplace_add(x, 0.5)")
    p = T(arr.copy(), requires_grad=True)
    try:
        inplace_add(p, 1.0)
    except RuntimeError:
        pass
    else:
        raise CheckFailure("inplace_add on a tensor that requires grad, with grad tracking on, should raise "
                           "RuntimeError")
    with _TrackingOff(ns):
        inplace_add(p, T(np.ones((2, 3))), alpha=-0.5)
    _expect_array(p.array, arr - 0.5, "inplace_add on a tensor requiring grad with grad tracking off")
    return "in place, alpha, numbers and Tensors, and the error when it would corrupt a graph"


# ============================================================================ 4️⃣ a working nn


@uses_learner("Tensor")
def check_Parameter(Parameter: type) -> str:  # noqa: N802
    T = _need(_namespace(Parameter), "Tensor", "the Tensor class")
    t = T(np.ones((2, 3), dtype=np.float32))
    p = Parameter(t)
    expect_type(p, T, "Parameter(t)")
    expect_equal(bool(p.requires_grad), True, "Parameter(t).requires_grad")
    if not np.shares_memory(p.array, t.array):
        raise CheckFailure("Parameter(t).array should be t.array itself (shared), not a copy")
    expect_equal(p.grad is None, True, "Parameter(t).grad is None")
    expect_equal(bool(p.is_leaf), True, "Parameter(t).is_leaf")
    expect_equal(bool(Parameter(t, requires_grad=False).requires_grad), False,
                 "Parameter(t, requires_grad=False).requires_grad")
    return "a leaf Tensor that shares the array and requires grad by default"


@uses_learner("Parameter", "Tensor")
def check_Module(Module: type) -> str:  # noqa: N802
    ns = _namespace(Module)
    T = _need(ns, "Tensor", "the Tensor class")
    Parameter = _need(ns, "Parameter", "your Parameter class")

    def param(*shape: int) -> Any:
        return Parameter(T(np.zeros(shape)))

    class Leaf(Module):
        def __init__(self) -> None:
            super().__init__()
            self.v = param(6)

    class Inner(Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = param(2)
            self.note = "not a parameter"
            self.plain = T(np.zeros(3))
            self.deep = Leaf()  # a grandchild of Outer

    class Outer(Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = param(1)
            self.first = Inner()
            self.second = Inner()
            self.b = param(4)
            self.alias = self.a  # the same Parameter twice
            self.again = self.first  # the same submodule twice (shared, like tied layers)

        def forward(self, x: Any) -> Any:
            return x

    outer = Outer()
    got = list(outer.parameters())
    want = [outer.a, outer.b, outer.first.w, outer.second.w, outer.first.deep.v, outer.second.deep.v]
    if len(got) != len({id(p) for p in got}):
        raise CheckFailure("parameters() should yield each Parameter once, even one assigned to two attributes "
                           "or one inside a submodule assigned to two attributes")
    if {id(p) for p in got} != {id(p) for p in want}:
        deep = {id(outer.first.deep.v), id(outer.second.deep.v)}
        lost = " (the submodules' own submodules were skipped: recurse all the way down)" if (
            not deep & {id(p) for p in got}) else ""
        raise CheckFailure(f"parameters() should find the 6 Parameters of the module, its 2 submodules and "
                           f"their 2 sub-submodules; got {len(got)} items: "
                           f"{[getattr(p, 'shape', p) for p in got]}{lost}")
    own = list(outer.parameters(recurse=False))
    if {id(p) for p in own} != {id(outer.a), id(outer.b)} or len(own) != 2:
        raise CheckFailure(f"parameters(recurse=False) should yield only the module's own 2 Parameters; got {len(own)}")
    mods = list(outer.modules())
    want_mods = [outer, outer.first, outer.first.deep, outer.second, outer.second.deep]
    if [id(m) for m in mods][:1] != [id(outer)] or sorted(map(id, mods)) != sorted(map(id, want_mods)):
        repeated = " (the submodule assigned to two attributes came twice: yield each module once)" if (
            len(mods) > len({id(m) for m in mods})) else ""
        raise CheckFailure(f"modules() should yield the module itself first, then every submodule once, "
                           f"recursively: 5 modules (the module, 2 submodules, and their 2 submodules, one "
                           f"submodule being assigned to two attributes); got {len(mods)}: "
                           f"{[type(m).__name__ for m in mods]}{repeated}")
    expect_equal(outer.first.note, "not a parameter", "an ordinary attribute after assignment")
    outer.first.w = param(5)  # re-assigning replaces the registered parameter
    shapes = sorted(tuple(p.shape) for p in outer.first.parameters())
    expect_equal(shapes, [(5,), (6,)], "shapes of parameters() after re-assigning self.w")
    outer.b = None
    expect_equal(len(list(outer.parameters(recurse=False))), 1,
                 "number of own parameters after `self.b = None` (b is no longer a Parameter)")
    expect_equal(outer(7), 7, "calling the module (which should call forward)")
    return "recursive registration (grandchildren too), no duplicates, shared submodules, recurse=False, modules(), re-assignment"


@uses_learner("Parameter", "Tensor", "backprop")
@_uses("Parameter", "Module", "wrap_forward_fn", "matmul2d_back1", "permute_back", "unbroadcast", "backprop")
def check_Linear(Linear: type) -> str:  # noqa: N802
    ns = _namespace(Linear)
    T = _need(ns, "Tensor", "the Tensor class")
    Parameter = _need(ns, "Parameter", "your Parameter class")
    np.random.seed(0)
    layer = Linear(50, 30)
    for name, shape in [("weight", (30, 50)), ("bias", (30,))]:
        p = getattr(layer, name)
        expect_type(p, Parameter, f"Linear(50, 30).{name}")
        expect_shape(p.array, shape, f"Linear(50, 30).{name}")
        if p.array.dtype != np.float32:
            raise CheckFailure(f"Linear(50, 30).{name} has dtype {p.array.dtype}; it should be float32, like "
                               "torch.nn.Linear (np.random.uniform returns float64: add `.astype(np.float32)`)")
        bound = 1 / np.sqrt(50)
        if np.abs(p.array).max() > bound + 1e-6 or p.array.std() < bound / 3:
            raise CheckFailure(f"Linear(50, 30).{name} should be uniform on [-{bound:.3f}, {bound:.3f}] "
                               f"(1/sqrt(in_features)); got values from {p.array.min():.3f} to {p.array.max():.3f}")
    expect_equal(len(list(layer.parameters())), 2, "len(list(Linear(50, 30).parameters()))")
    for name, value in [("in_features", 50), ("out_features", 30)]:
        if getattr(layer, name, None) != value:
            raise CheckFailure(f"Linear(50, 30).{name} should be {value} (store it, like torch.nn.Linear: the "
                               f"given __repr__ prints it, so print(model) fails without it); got "
                               f"{getattr(layer, name, 'no such attribute')!r}")
    try:
        repr(layer)
    except Exception as err:  # noqa: BLE001 - any crash of print(model) is the learner's to see
        raise CheckFailure(f"repr(Linear(50, 30)) (what print(model) calls) raises {type(err).__name__}: {err}") from None
    x = _rng(0).normal(size=(4, 50)).astype(np.float32)
    out = layer(T(x))
    expect_type(out, T, "Linear(50, 30)(x)")
    _expect_array(out.array, x @ layer.weight.array.T + layer.bias.array, "Linear(50, 30)(x) for x (4, 50)", rtol=1e-4)
    backprop = ns.get("backprop")
    if backprop is not None:
        g = _rng(1).normal(size=(4, 30))
        backprop(out, T(g))
        tw = torch.tensor(layer.weight.array, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(layer.bias.array, dtype=torch.float64, requires_grad=True)
        (torch.nn.functional.linear(torch.tensor(x, dtype=torch.float64), tw, tb) * torch.tensor(g)).sum().backward()
        for name, t in [("weight", tw), ("bias", tb)]:
            grad = getattr(layer, name).grad
            if grad is None:
                raise CheckFailure(f"after backprop through Linear, .{name}.grad is None")
            _expect_array(grad.array, t.grad.numpy(), f"Linear(50, 30).{name}.grad", rtol=1e-3, atol=1e-4)
    no_bias = Linear(3, 2, bias=False)
    expect_equal(no_bias.bias is None, True, "Linear(3, 2, bias=False).bias is None")
    expect_equal(len(list(no_bias.parameters())), 1, "len(list(Linear(3, 2, bias=False).parameters()))")
    out = no_bias(T(np.ones((1, 3), dtype=np.float32)))
    _expect_array(out.array, no_bias.weight.array.sum(1)[None], "Linear(3, 2, bias=False)(ones (1, 3))")
    return "shapes, initialisation range, in/out_features, repr, forward, gradients, bias=False"


@uses_learner("Tensor")
@_uses("Linear", "relu")
def check_MLP(MLP: type) -> str:  # noqa: N802
    ns = _namespace(MLP)
    T = _need(ns, "Tensor", "the Tensor class")
    np.random.seed(0)
    model = MLP()
    shapes = sorted(tuple(p.shape) for p in model.parameters())
    expect_equal(shapes, sorted([(256, 784), (256,), (10, 256), (10,)]), "shapes of MLP().parameters()")
    small = MLP(6, 5, 3)
    x = _rng(0).normal(size=(4, 1, 2, 3)).astype(np.float32)
    out = small(T(x))
    expect_type(out, T, "MLP(6, 5, 3)(x)")
    expect_shape(out.array, (4, 3), "MLP(6, 5, 3)(x) for x (4, 1, 2, 3)")
    params = {tuple(p.shape): p.array for p in small.parameters()}
    hidden = np.maximum(x.reshape(4, 6) @ params[(5, 6)].T + params[(5,)], 0)
    _expect_array(out.array, hidden @ params[(3, 5)].T + params[(3,)], "MLP(6, 5, 3)(x) for x (4, 1, 2, 3)")
    return "parameter shapes, flattening, Linear -> ReLU -> Linear"


@uses_learner("Tensor", "backprop")
@_uses("wrap_forward_fn", "backprop", "exp_back", "sum_back", "log_back", "getitem_back", "unbroadcast")
def check_cross_entropy(cross_entropy: Callable) -> str:
    ns = _namespace(cross_entropy)
    T = _need(ns, "Tensor", "the Tensor class")
    backprop = _need(ns, "backprop", "your backprop")
    rng = _rng(0)
    for desc, logits in [("random logits (5, 4)", rng.normal(size=(5, 4))),
                         ("logits around 1000 (5, 4)", 1000 + 30 * rng.normal(size=(5, 4))),
                         ("one example (1, 3)", rng.normal(size=(1, 3)))]:
        labels = rng.integers(0, logits.shape[1], logits.shape[0])
        x = T(logits, requires_grad=True)
        loss = cross_entropy(x, labels)
        tl = torch.tensor(logits, requires_grad=True)
        tloss = torch.nn.functional.cross_entropy(tl, torch.tensor(labels), reduction="none")
        expect_type(loss, T, f"cross_entropy on {desc}")
        if not np.all(np.isfinite(loss.array)):
            raise CheckFailure(f"cross_entropy on {desc} is not finite: {loss.array}. exp() of large logits "
                               "overflows; subtract each row's maximum first.")
        _expect_array(loss.array, tloss.detach().numpy(), f"cross_entropy on {desc} (one loss per example)")
        g = rng.normal(size=labels.shape)
        backprop(loss, T(g))
        (tloss * torch.tensor(g)).sum().backward()
        if x.grad is None:
            raise CheckFailure(f"after backprop through cross_entropy on {desc}, the logits' .grad is None")
        _expect_array(x.grad.array, tl.grad.numpy(), f"gradient of cross_entropy on {desc} w.r.t. the logits")
    return "losses and gradients match torch, also for logits around 1000"


@uses_learner("grad_tracking_enabled")
def check_NoGrad(NoGrad: type) -> str:  # noqa: N802
    ns = _namespace(NoGrad)
    if "grad_tracking_enabled" not in ns:
        raise CheckFailure("NoGrad should switch the module global grad_tracking_enabled, which is missing")
    original = ns["grad_tracking_enabled"]
    try:
        ns["grad_tracking_enabled"] = True
        with NoGrad():
            expect_equal(ns["grad_tracking_enabled"], False, "grad_tracking_enabled inside `with NoGrad():`")
            with NoGrad():
                expect_equal(ns["grad_tracking_enabled"], False, "grad_tracking_enabled inside two NoGrad blocks")
            expect_equal(ns["grad_tracking_enabled"], False,
                         "grad_tracking_enabled after leaving an inner NoGrad nested in another NoGrad")
        expect_equal(ns["grad_tracking_enabled"], True, "grad_tracking_enabled after the NoGrad block")
        try:
            with NoGrad():
                raise KeyError("boom")
        except KeyError:
            pass
        expect_equal(ns["grad_tracking_enabled"], True,
                     "grad_tracking_enabled after a NoGrad block that raised an exception (it must be restored)")
        ns["grad_tracking_enabled"] = False
        with NoGrad():
            pass
        expect_equal(ns["grad_tracking_enabled"], False,
                     "grad_tracking_enabled after NoGrad entered while tracking was already off")
        caught = False
        try:
            with NoGrad():
                raise KeyError("boom")
        except KeyError:
            caught = True
        if not caught:
            raise CheckFailure("NoGrad swallowed an exception raised inside the block; __exit__ should not "
                               "return True")
    finally:
        ns["grad_tracking_enabled"] = original
    return "switches tracking off, restores the previous value (nested, and after an exception)"


@uses_learner("Parameter", "Tensor")
@_uses("inplace_add", "NoGrad")
def check_SGD(SGD: type) -> str:  # noqa: N802
    ns = _namespace(SGD)
    T = _need(ns, "Tensor", "the Tensor class")
    Parameter = _need(ns, "Parameter", "your Parameter class")
    arrays = [_rng(i).normal(size=s) for i, s in enumerate([(3, 2), (2,), (4,)])]
    params = [Parameter(T(a.copy())) for a in arrays]
    grads = [_rng(10 + i).normal(size=a.shape) for i, a in enumerate(arrays)]
    for p, g in zip(params[:2], grads, strict=False):
        p.grad = T(g)
    storage = [p.array for p in params]
    opt = SGD(iter(params), lr=0.1)  # a one-shot iterator, like model.parameters()
    opt.step()
    for k, (p, a) in enumerate(zip(params, arrays, strict=True)):
        want = a - 0.1 * grads[k] if k < 2 else a
        _expect_array(p.array, want, f"parameter {k} after one step with lr=0.1" + (" (its .grad is None)" if k == 2 else ""))
        if p.array is not storage[k]:
            raise CheckFailure("step() should update each parameter's array in place, not replace it")
        if p.recipe is not None:
            raise CheckFailure("after step(), a parameter has a recipe: the update must not be recorded in a graph")
    after_one = params[0].array.copy()
    opt.step()
    if np.array_equal(params[0].array, after_one):
        raise CheckFailure("a second step() changed nothing. SGD was given a one-shot iterator (as "
                           "model.parameters() is, a generator): store `list(params)`, since iterating "
                           "a generator a second time yields nothing")
    _expect_array(params[0].array, arrays[0] - 0.2 * grads[0], "parameter 0 after a second step")
    opt.zero_grad()
    for k, p in enumerate(params):
        if p.grad is not None:
            raise CheckFailure(f"after zero_grad(), parameter {k}'s .grad should be None, got {p.grad!r}")
    return "updates in place, skips parameters without grads, accepts a generator, zero_grad"


# ============================================================================ 5️⃣ bonus


EINSUM_SPECS = [("ij,jk->ik", (3, 4), (4, 5)), ("bij,bjk->bik", (2, 3, 4), (2, 4, 2)), ("i,i->", (5,), (5,)),
                ("i,j->ij", (3,), (4,)), ("ij,j->i", (3, 4), (4,)), ("bhqd,bhkd->bhqk", (2, 3, 4, 5), (2, 3, 6, 5)),
                ("ij,k->k", (3, 4), (5,)), ("ij,jk->ki", (3, 4), (4, 2)), ("ij,ij->", (2, 3), (2, 3)),
                ("ji,jk->ik", (4, 3), (4, 5))]


def check_einsum_back0(einsum_back0: Callable) -> str:
    for k, (spec, sa, sb) in enumerate(EINSUM_SPECS):
        a, b = _rng(k).normal(size=sa), _rng(k + 50).normal(size=sb)
        ta = torch.tensor(a, requires_grad=True)
        tout = torch.einsum(spec, ta, torch.tensor(b))
        g = _rng(k + 100).normal(size=tuple(tout.shape))
        (tout * torch.tensor(g)).sum().backward()
        what = f"einsum_back0 for spec {spec!r}, a {sa}, b {sb}"
        try:
            got = einsum_back0(g, tout.detach().numpy(), a, b, spec)
        except ValueError as err:
            raise CheckFailure(f"{what} raised ValueError: {err}. An index of a that is in neither b nor the output "
                               "cannot be an output index of the gradient's einsum: leave it out, then broadcast "
                               "the result to a's shape.") from None
        got = _as_array(got, what)
        expect_shape(got, sa, what)
        note = " (i and j appear in a only: the gradient is the same for each of their values)" if spec == "ij,k->k" else ""
        try:
            _expect_array(got, ta.grad.numpy(), what)
        except CheckFailure as err:
            raise CheckFailure(f"{err}{note}") from None
    return f"{len(EINSUM_SPECS)} specs vs torch: matmul, batched, dot, outer, attention scores, indices summed away"


# (input shape, number of inputs, dim): dims at the front, in the middle, at the end, negative, and
# stacks of 1-D arrays and of scalars.
STACK_CASES = [((3, 4), 3, 0), ((3, 4), 2, 1), ((3, 4), 4, 2), ((2, 3, 4), 3, -1), ((2, 3, 4), 2, -2),
               ((5,), 3, 1), ((5,), 2, -2), ((), 4, 0), ((2, 2), 1, 1), ((2, 3), 3, -3)]


def _stack_hint(got: np.ndarray, g: np.ndarray, position: int, dim: int, n_dims: int) -> str:
    """What a wrong stack_back seems to have done, for the check's message ("" if nothing recognised)."""

    def is_slice(axis: int) -> bool:
        if position >= g.shape[axis]:
            return False
        wrong = np.take(g, position, axis=axis)
        return got.shape == wrong.shape and np.allclose(got, wrong)

    if dim % n_dims != 0 and is_slice(0):
        return (f" Your result is grad_out[{position}], the slice along dim 0, but the inputs were stacked "
                f"along dim {dim}: take index {position} along that dimension (np.take(..., axis=dim)).")
    small = dim % (n_dims - 1) if n_dims > 1 else 0
    if dim < 0 and small != dim % n_dims and is_slice(small):
        return (f" Your result is the slice along dim {small}: you turned dim={dim} into a positive index with "
                f"the inputs' number of dimensions ({n_dims - 1}), but in np.stack a negative dim counts from "
                f"the end of the output's {n_dims} dimensions.")
    return ""


def check_stack_back(stack_back: Callable) -> str:
    for k, (shape, n, dim) in enumerate(STACK_CASES):
        arrays = [_rng(10 * k + i).normal(size=shape) for i in range(n)]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        tout = torch.stack(ts, dim=dim)
        g = _rng(1000 + k).normal(size=tuple(tout.shape))
        (tout * torch.tensor(g)).sum().backward()
        for position in range(n):
            what = (f"stack_back(grad_out, out, *arrays, dim={dim}, position={position}) for {n} arrays of "
                    f"shape {shape} (out has shape {tuple(tout.shape)})")
            got = _as_array(stack_back(g, tout.detach().numpy(), *arrays, dim=dim, position=position), what)
            hint = _stack_hint(got, g, position, dim, g.ndim)
            if got.shape != shape:
                extra = " Drop the stacked dimension (np.split keeps it with size 1; np.take or indexing removes it)." \
                    if got.shape == shape[:dim % g.ndim] + (1,) + shape[dim % g.ndim:] else ""
                raise CheckFailure(f"{what}: expected a gradient shaped like the input, {shape}, got shape "
                                   f"{got.shape}.{extra or hint}")
            try:
                _expect_array(got, ts[position].grad.numpy(), what)
            except CheckFailure as err:
                raise CheckFailure(f"{err}{hint}") from None
    return f"{len(STACK_CASES)} stacks vs torch.stack: first, middle, last and negative dims, 1-D and scalar inputs"
