"""Known-wrong and known-right implementations: the test suite proves the checks tell them apart.

Variants that need earlier pieces (Tensor, back_funcs, ...) use the reference ones imported here,
because checks look them up in the namespace the checked object was defined in."""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from arena.checking import right, wrong

from .solutions import (  # noqa: F401 - checks find these names in this module's namespace
    Arr,
    BackwardFuncLookup,
    Module,
    NoGrad,
    Parameter,
    Recipe,
    Tensor,
    back_funcs,
    backprop,
    log,
    multiply,
    sorted_computational_graph,
    topological_sort,
    unbroadcast,
)

grad_tracking_enabled = True  # the flag the NoGrad variants below switch


# ---------------------------------------------------------------- unbroadcast


@wrong("unbroadcast", "lines the shapes up from the left, so it sums over the wrong axes")
def unbroadcast_left_aligned(broadcasted: Arr, original: Arr) -> Arr:
    n_new = broadcasted.ndim - original.ndim
    out = broadcasted.sum(axis=tuple(range(original.ndim, broadcasted.ndim))) if n_new else broadcasted
    axes = tuple(i for i, o in enumerate(original.shape) if o == 1 and out.shape[i] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


@wrong("unbroadcast", "only sums over the new leading axes, not over the stretched size-1 axes")
def unbroadcast_leading_only(broadcasted: Arr, original: Arr) -> Arr:
    return broadcasted.sum(axis=tuple(range(broadcasted.ndim - original.ndim)))


@wrong("unbroadcast", "sums the stretched size-1 axes away instead of keeping them with size 1")
def unbroadcast_drops_size1(broadcasted: Arr, original: Arr) -> Arr:
    out = broadcasted.sum(axis=tuple(range(broadcasted.ndim - original.ndim)))
    axes = tuple(i for i, o in enumerate(original.shape) if o == 1 and out.shape[i] != 1)
    return out.sum(axis=axes) if axes else out


@right("unbroadcast", "a loop: sum the first axis while there are too many, then each stretched axis")
def unbroadcast_loop(broadcasted: Arr, original: Arr) -> Arr:
    while broadcasted.ndim > original.ndim:
        broadcasted = broadcasted.sum(axis=0)
    for axis, size in enumerate(original.shape):
        if size == 1 and broadcasted.shape[axis] != 1:
            broadcasted = broadcasted.sum(axis=axis, keepdims=True)
    return broadcasted


@wrong("numerical_grad", "one-sided difference (fn(x + eps) - fn(x)) / eps: only first-order accurate")
def numerical_grad_forward(fn: Callable, x: Arr, eps: float = 1e-6) -> Arr:
    grad = np.zeros_like(x, dtype=np.float64)
    base = float(fn(x))
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        grad[i] = (float(fn(x)) - base) / eps
        x[i] = saved
    return grad


@wrong("numerical_grad", "divides the central difference by eps instead of 2 * eps")
def numerical_grad_half_step(fn: Callable, x: Arr, eps: float = 1e-6) -> Arr:
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + eps
        plus = float(fn(x))
        x[i] = saved - eps
        minus = float(fn(x))
        x[i] = saved
        grad[i] = (plus - minus) / eps
    return grad


@wrong("numerical_grad", "does not put each entry back after perturbing it")
def numerical_grad_no_restore(fn: Callable, x: Arr, eps: float = 1e-6) -> Arr:
    grad = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = float(fn(x))
        x[i] -= 2 * eps
        minus = float(fn(x))
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@wrong("numerical_grad", "perturbs every entry at once (a directional derivative, not a gradient)")
def numerical_grad_all_at_once(fn: Callable, x: Arr, eps: float = 1e-6) -> Arr:
    diff = (float(fn(x + eps)) - float(fn(x - eps))) / (2 * eps)
    return np.full(x.shape, diff / max(x.size, 1))


@right("numerical_grad", "perturbs copies of x instead of x itself")
def numerical_grad_copies(fn: Callable, x: Arr, eps: float = 1e-6) -> Arr:
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[i] = eps
        grad[i] = (float(fn(x + step)) - float(fn(x - step))) / (2 * eps)
    return grad


@wrong("multiply_back0", "forgets to unbroadcast, so the gradient has the output's shape")
def multiply_back0_no_unbroadcast(grad_out: Arr, out: Arr, x: Arr, y: Arr | float) -> Arr:
    return grad_out * y


# ---------------------------------------------------------------- lookup, sort, backprop


class _SharedStore:
    table: dict = {}  # noqa: RUF012 - the mistake: one dict shared by every instance


@wrong("BackwardFuncLookup", "keeps the registrations in a class attribute shared by every lookup")
class BackwardFuncLookupShared(_SharedStore):
    def add_back_func(self, forward_fn: Callable, arg_position: int, back_fn: Callable) -> None:
        self.table[(forward_fn, arg_position)] = back_fn

    def get_back_func(self, forward_fn: Callable, arg_position: int) -> Callable:
        return self.table[(forward_fn, arg_position)]


@wrong("BackwardFuncLookup", "uses dict.get, so a missing backward function comes back as None instead of KeyError")
class BackwardFuncLookupGet:
    def __init__(self) -> None:
        self.table: dict = {}

    def add_back_func(self, forward_fn: Callable, arg_position: int, back_fn: Callable) -> None:
        self.table[(forward_fn, arg_position)] = back_fn

    def get_back_func(self, forward_fn: Callable, arg_position: int) -> Callable:
        return self.table.get((forward_fn, arg_position))


@wrong("multiply_forward", "leaves out of parents the Tensor arguments that do not require grad")
def multiply_forward_drops_constants(a: Tensor | float, b: Tensor | float) -> Tensor:
    arrays = tuple(x.array if isinstance(x, Tensor) else x for x in (a, b))
    parents = {i: x for i, x in enumerate((a, b)) if isinstance(x, Tensor) and x.requires_grad}
    out = Tensor(np.multiply(*arrays), grad_tracking_enabled and bool(parents))
    if out.requires_grad:
        out.recipe = Recipe(np.multiply, arrays, {}, parents)
    return out


@wrong("topological_sort", "adds a node when it is first reached, before its children are done (reversed pre-order)")
def topological_sort_preorder(node: Any, get_children: Callable) -> list:
    order: list = []
    seen: set[int] = set()

    def visit(n: Any, path: set[int]) -> None:
        if id(n) in path:
            raise ValueError("cycle")
        if id(n) in seen:
            return
        seen.add(id(n))
        order.append(n)
        for c in get_children(n):
            visit(c, path | {id(n)})

    visit(node, set())
    return order[::-1]


@wrong("sorted_computational_graph", "its own depth-first search lists a tensor when first reached, before the "
       "other tensors that use it")
def sorted_computational_graph_preorder(tensor: Tensor) -> list[Tensor]:
    order: list[Tensor] = []
    seen: set[int] = set()

    def visit(t: Tensor) -> None:
        if id(t) in seen:
            return
        seen.add(id(t))
        order.append(t)
        for parent in (t.recipe.parents.values() if t.recipe is not None else ()):
            visit(parent)

    visit(tensor)
    return order


@right("sorted_computational_graph", "reverses the reference topological_sort with a list of parents")
def sorted_computational_graph_list(tensor: Tensor) -> list[Tensor]:
    return list(reversed(topological_sort(tensor, lambda t: list(t.recipe.parents.values()) if t.recipe else [])))


@right("topological_sort", "Kahn's algorithm: repeatedly take the nodes whose children are all placed")
def topological_sort_kahn(node: Any, get_children: Callable) -> list:
    nodes: dict[int, Any] = {id(node): node}
    stack = [node]
    while stack:
        for c in get_children(stack.pop()):
            if id(c) not in nodes:
                nodes[id(c)] = c
                stack.append(c)
    remaining = {i: len({id(c) for c in get_children(n)}) for i, n in nodes.items()}
    users: dict[int, list[int]] = {i: [] for i in nodes}
    for i, n in nodes.items():
        for c in {id(c) for c in get_children(n)}:
            users[c].append(i)
    ready = [i for i, k in remaining.items() if k == 0]
    order = []
    while ready:
        i = ready.pop()
        order.append(nodes[i])
        for u in users[i]:
            remaining[u] -= 1
            if remaining[u] == 0:
                ready.append(u)
    if len(order) != len(nodes):
        raise ValueError("cycle")
    return order


@wrong("backprop", "overwrites the gradient of a node used twice instead of adding the contributions")
def backprop_overwrites(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    lookup = back_funcs()
    grads = {id(end_node): np.ones_like(end_node.array) if end_grad is None else end_grad.array}
    for node in sorted_computational_graph(end_node):
        grad_out = grads.get(id(node))
        if grad_out is None:
            continue
        if node.is_leaf:
            if node.requires_grad:
                node.grad = Tensor(grad_out) if node.grad is None else Tensor(node.grad.array + grad_out)
            continue
        for position, parent in node.recipe.parents.items():
            back_fn = lookup.get_back_func(node.recipe.func, position)
            grads[id(parent)] = back_fn(grad_out, node.array, *node.recipe.args, **node.recipe.kwargs)


@wrong("backprop", "replaces a leaf's .grad on every call instead of accumulating into it")
def backprop_no_accumulate_across_calls(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    for node in sorted_computational_graph(end_node):
        if node.is_leaf:
            node.grad = None
    backprop(end_node, end_grad)


@wrong("backprop", "adds into an existing gradient in place (+=), corrupting arrays shared with other tensors "
       "or with the caller")
def backprop_inplace_accumulate(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    lookup = back_funcs()
    grads = {id(end_node): np.ones_like(end_node.array) if end_grad is None else end_grad.array}
    for node in sorted_computational_graph(end_node):
        grad_out = grads.pop(id(node), None)
        if grad_out is None:
            continue
        if node.is_leaf:
            if node.requires_grad:
                if node.grad is None:
                    node.grad = Tensor(grad_out)
                else:
                    node.grad.array += grad_out
            continue
        for position, parent in node.recipe.parents.items():
            back_fn = lookup.get_back_func(node.recipe.func, position)
            grad_in = back_fn(grad_out, node.array, *node.recipe.args, **node.recipe.kwargs)
            if id(parent) in grads:
                grads[id(parent)] += grad_in
            else:
                grads[id(parent)] = grad_in


@wrong("backprop", "accumulates into a leaf's existing .grad in place (+=); right values, but it writes into "
       "the caller's end_grad array")
def backprop_inplace_leaf_grad(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    lookup = back_funcs()
    grads = {id(end_node): np.ones_like(end_node.array) if end_grad is None else end_grad.array}
    for node in sorted_computational_graph(end_node):
        grad_out = grads.pop(id(node), None)
        if grad_out is None:
            continue
        if node.is_leaf:
            if node.requires_grad:
                if node.grad is None:
                    node.grad = Tensor(grad_out)
                else:
                    node.grad.array += grad_out
            continue
        for position, parent in node.recipe.parents.items():
            back_fn = lookup.get_back_func(node.recipe.func, position)
            grad_in = back_fn(grad_out, node.array, *node.recipe.args, **node.recipe.kwargs)
            previous = grads.get(id(parent))
            grads[id(parent)] = grad_in if previous is None else previous + grad_in


@right("backprop", "adds into a leaf's .grad in place, but only into an array it made itself")
def backprop_inplace_own_copy(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    lookup = back_funcs()
    grads = {id(end_node): np.ones_like(end_node.array) if end_grad is None else end_grad.array}
    for node in sorted_computational_graph(end_node):
        grad_out = grads.pop(id(node), None)
        if grad_out is None:
            continue
        if node.is_leaf:
            if node.requires_grad:
                if node.grad is None:
                    node.grad = Tensor(np.array(grad_out, copy=True))
                else:
                    node.grad.array += grad_out
            continue
        for position, parent in node.recipe.parents.items():
            back_fn = lookup.get_back_func(node.recipe.func, position)
            grad_in = back_fn(grad_out, node.array, *node.recipe.args, **node.recipe.kwargs)
            previous = grads.get(id(parent))
            grads[id(parent)] = grad_in if previous is None else previous + grad_in


@right("backprop", "stores each node's gradient in a dict keyed by the node and recurses over the sorted graph")
def backprop_dict_by_node(end_node: Tensor, end_grad: Tensor | None = None) -> None:
    lookup = back_funcs()
    order = sorted_computational_graph(end_node)
    grads: dict[Tensor, Arr] = {end_node: end_grad.array if end_grad is not None else np.ones(end_node.shape)}
    for node in order:
        if node not in grads:
            continue
        g = grads[node]
        if node.recipe is None or not node.recipe.parents or not node.requires_grad:
            if node.requires_grad:
                node.grad = Tensor(g if node.grad is None else node.grad.array + g)
            continue
        for position, parent in node.recipe.parents.items():
            contribution = lookup.get_back_func(node.recipe.func, position)(
                g, node.array, *node.recipe.args, **node.recipe.kwargs)
            grads[parent] = grads[parent] + contribution if parent in grads else contribution


# ---------------------------------------------------------------- more operations


@wrong("maximum_back0", "sends the whole gradient of a tie to x")
def maximum_back0_ties_to_x(grad_out: Arr, out: Arr, x: Arr, y: Arr | float) -> Arr:
    return unbroadcast(grad_out * (x >= y), x)


@wrong("maximum_back1", "sends none of the gradient of a tie to y")
def maximum_back1_ties_to_x(grad_out: Arr, out: Arr, x: Arr | float, y: Arr) -> Arr:
    return unbroadcast(grad_out * (y > x), y)


@right("maximum_back0", "np.where with an explicit half on ties")
def maximum_back0_where(grad_out: Arr, out: Arr, x: Arr, y: Arr | float) -> Arr:
    return unbroadcast(np.where(x == y, grad_out / 2, np.where(x > y, grad_out, 0.0)), x)


@wrong("maximum_back0", "builds the mask with .astype(float), turning float32 gradients into float64")
def maximum_back0_float64(grad_out: Arr, out: Arr, x: Arr, y: Arr | float) -> Arr:
    share = np.asarray(x > y).astype(float)
    share[np.asarray(x == y)] = 0.5
    return unbroadcast(grad_out * share, x)


@wrong("maximum_back1", "builds the mask with .astype(float), turning float32 gradients into float64")
def maximum_back1_float64(grad_out: Arr, out: Arr, x: Arr | float, y: Arr) -> Arr:
    share = np.asarray(y > x).astype(float)
    share[np.asarray(x == y)] = 0.5
    return unbroadcast(grad_out * share, y)


@wrong("relu", "masks with x >= 0, so at x == 0 the full gradient goes through (a tie sent both ways)")
def relu_mask_ge(x: Tensor) -> Tensor:
    return multiply(x, (x.array >= 0).astype(x.array.dtype))


@wrong("getitem_back", "assigns instead of accumulating, so an element picked twice gets one gradient")
def getitem_back_assign(grad_out: Arr, out: Arr, x: Arr, index: Any) -> Arr:
    grad = np.zeros_like(x)
    grad[index] = grad_out
    return grad


@wrong("sum_back", "broadcasts grad_out without putting the summed axes back (right only for leading axes)")
def sum_back_no_unsqueeze(grad_out: Arr, out: Arr, x: Arr, dim: Any = None, keepdim: bool = False) -> Arr:
    return np.broadcast_to(grad_out, x.shape)


@wrong("Module", "modules() yields only the direct children, so grandchildren's parameters are lost")
class ModuleDirectChildren:
    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name: str, value: Any) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, ModuleDirectChildren):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def modules(self) -> Iterator["ModuleDirectChildren"]:
        yield self
        seen = {id(self)}
        for child in self._modules.values():
            if id(child) not in seen:
                seen.add(id(child))
                yield child

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        seen: set[int] = set()
        for module in (self.modules() if recurse else [self]):
            for p in module._parameters.values():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def __call__(self, *args: Any) -> Any:
        return self.forward(*args)


@wrong("Module", "modules() recurses without remembering what it yielded, so a shared submodule comes twice")
class ModuleRepeatsShared(ModuleDirectChildren):
    def modules(self) -> Iterator["ModuleDirectChildren"]:
        yield self
        for child in self._modules.values():
            yield from child.modules()


@wrong("Linear", "does not store in_features/out_features, so the given __repr__ (print(model)) crashes")
class LinearNoFeatures(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        bound = 1 / np.sqrt(in_features)
        self.weight = Parameter(Tensor(np.random.uniform(-bound, bound, (out_features, in_features)).astype(np.float32)))
        self.bias = (Parameter(Tensor(np.random.uniform(-bound, bound, out_features).astype(np.float32)))
                     if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"


@wrong("Linear", "keeps np.random.uniform's float64 parameters instead of float32")
class LinearFloat64(Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        bound = 1 / np.sqrt(in_features)
        self.weight = Parameter(Tensor(np.random.uniform(-bound, bound, (out_features, in_features))))
        self.bias = Parameter(Tensor(np.random.uniform(-bound, bound, out_features))) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out


@wrong("cross_entropy", "exp() of the raw logits overflows for large logits")
def cross_entropy_unstable(logits: Tensor, true_labels: Arr) -> Tensor:
    return logits.exp().sum(1).log() - logits[np.arange(len(true_labels)), true_labels]


# ---------------------------------------------------------------- NoGrad


@wrong("NoGrad", "does not restore grad tracking when the block raises")
class NoGradForgetsOnError:
    def __enter__(self) -> None:
        global grad_tracking_enabled
        self.was = grad_tracking_enabled
        grad_tracking_enabled = False

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        global grad_tracking_enabled
        if exc_type is None:
            grad_tracking_enabled = self.was


@wrong("NoGrad", "sets grad tracking to True on exit instead of restoring the previous value")
class NoGradAlwaysTrue:
    def __enter__(self) -> None:
        global grad_tracking_enabled
        grad_tracking_enabled = False

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        global grad_tracking_enabled
        grad_tracking_enabled = True


@right("NoGrad", "a stack of previous values kept on the class")
class NoGradStack:
    previous: list[bool] = []  # noqa: RUF012

    def __enter__(self) -> "NoGradStack":
        global grad_tracking_enabled
        self.previous.append(grad_tracking_enabled)
        grad_tracking_enabled = False
        return self

    def __exit__(self, *exc: Any) -> bool:
        global grad_tracking_enabled
        grad_tracking_enabled = self.previous.pop()
        return False


@wrong("SGD", "step() replaces each array by a new one instead of updating it in place")
class SGDNewArrays:
    def __init__(self, params: Iterable[Parameter], lr: float):
        self.params, self.lr = list(params), lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.array = p.array - self.lr * p.grad.array


@wrong("SGD", "keeps the parameters as given: a generator is used up by the first pass over it")
class SGDKeepsGenerator:
    def __init__(self, params: Iterable[Parameter], lr: float):
        self.params, self.lr = params, lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        with NoGrad():
            for p in self.params:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-self.lr)


# ---------------------------------------------------------------- bonus: einsum


@wrong("einsum_back0", "swaps the output and a's indices (result,b->a): fails for indices summed away in a only")
def einsum_back0_naive(grad_out: Arr, out: Arr, a: Arr, b: Arr, spec: str) -> Arr:
    inputs, result = spec.replace(" ", "").split("->")
    sa, sb = inputs.split(",")
    return np.einsum(f"{result},{sb}->{sa}", grad_out, b)


@wrong("einsum_back0", "lists the gradient's indices in the order they appear in the output and b, then reshapes")
def einsum_back0_order(grad_out: Arr, out: Arr, a: Arr, b: Arr, spec: str) -> Arr:
    inputs, result = spec.replace(" ", "").split("->")
    sa, sb = inputs.split(",")
    kept = "".join(dict.fromkeys(ch for ch in result + sb if ch in sa))
    grad = np.einsum(f"{result},{sb}->{kept}", grad_out, b)
    grad = grad.reshape(grad.shape + (1,) * (len(sa) - len(kept)))
    return np.broadcast_to(grad.reshape([a.shape[i] if i < len(kept) else 1 for i in range(len(sa))]), a.shape).copy()


@right("einsum_back0", "builds the gradient with np.einsum on ones for the summed-away indices")
def einsum_back0_ones(grad_out: Arr, out: Arr, a: Arr, b: Arr, spec: str) -> Arr:
    inputs, result = spec.replace(" ", "").split("->")
    sa, sb = inputs.split(",")
    missing = "".join(ch for ch in sa if ch not in result and ch not in sb)
    ones = np.ones([a.shape[sa.index(ch)] for ch in missing])
    return np.einsum(f"{result},{sb},{missing}->{sa}", grad_out, b, ones)


# ---------------------------------------------------------------- bonus: stack


@wrong("stack_back", "unstacks along dim 0 whatever dim the inputs were stacked along")
def stack_back_first_dim(grad_out: Arr, out: Arr, *arrays: Arr, dim: int = 0, position: int = 0) -> Arr:
    return grad_out[position]


@wrong("stack_back", "turns a negative dim into a positive one with the inputs' number of dimensions, not out's")
def stack_back_input_ndim(grad_out: Arr, out: Arr, *arrays: Arr, dim: int = 0, position: int = 0) -> Arr:
    return np.take(grad_out, position, axis=dim % arrays[position].ndim if arrays[position].ndim else 0)


@wrong("stack_back", "splits grad_out with np.split and keeps the stacked dimension (size 1)")
def stack_back_keeps_dim(grad_out: Arr, out: Arr, *arrays: Arr, dim: int = 0, position: int = 0) -> Arr:
    return np.split(grad_out, len(arrays), axis=dim)[position]


@right("stack_back", "moves the stacked dimension to the front, then indexes it")
def stack_back_moveaxis(grad_out: Arr, out: Arr, *arrays: Arr, dim: int = 0, position: int = 0) -> Arr:
    return np.moveaxis(grad_out, dim, 0)[position]


@right("stack_back", "np.split along dim, then squeezes the size-1 dimension away")
def stack_back_split(grad_out: Arr, out: Arr, *arrays: Arr, dim: int = 0, position: int = 0) -> Arr:
    return np.split(grad_out, len(arrays), axis=dim)[position].squeeze(axis=dim)
