"""Checks for part 0.2: each check_<name> takes the learner's function or class and raises CheckFailure."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch as t
import torch.nn.functional as F
from torch import nn

from arena.checking import CheckFailure, describe_tensor, expect_close, expect_equal, expect_type

from . import solutions as ref

# ------------------------------------------------------------------ helpers


def _call(fn: Callable, *args: Any, what: str, **kwargs: Any) -> Any:
    """Call the learner's function; turn as_strided's out-of-bounds error into a clear failure."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError as err:
        if "out of bounds for storage" not in str(err):
            raise
        raise CheckFailure(
            f"{what} asked as_strided for elements outside the tensor's storage ({err}). Strides count "
            "elements, not bytes: read them with x.stride() (numpy's .strides are in bytes), and check "
            "that every size x stride stays inside the input.") from None


def _shape(x: t.Tensor) -> tuple[int, ...]:
    return tuple(x.shape)


def _random_batch() -> np.ndarray:
    """A random, non-square batch, so that mixing up h and w shows."""
    return np.random.default_rng(0).random((6, 3, 8, 10), dtype=np.float32)


def _image_diagnosis(got: Any, expected: np.ndarray) -> str:
    """A sentence saying what kind of wrong a wrong picture is (or '' when no pattern is recognised)."""
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "fiu":
        return ""
    kind = "(c, H, W): channel axis first" if expected.ndim == 3 else "(H, W)"
    if got.shape != expected.shape:
        if sorted(got.shape) == sorted(expected.shape):
            return f" The sizes are right but the axes are in the wrong order: the target is {kind}."
        return ""
    if np.allclose(np.sort(got, axis=None), np.sort(expected, axis=None)):
        return (" Your picture has exactly the target's pixel values, in the wrong places: check the order of the "
                "axes inside each ( ) (the leftmost varies slowest) and which axes you merge or split.")
    total = float(expected.sum())
    if total != 0.0:
        factor = float(got.sum()) / total
        if abs(factor - 1) > 1e-3 and np.allclose(got, factor * expected, rtol=1e-4, atol=1e-6):
            return f" Every pixel is {factor:.3g} times the target's: a sum where a mean is wanted?"
    return ""


def _check_image_function(fn: Callable, name: str) -> str:
    digits = ref.load_digit_images()
    for images, label in [(digits, "the digit batch (6, 3, 28, 28)"), (_random_batch(), "a random batch (6, 3, 8, 10)")]:
        expected = np.asarray(getattr(ref, name)(images))
        got = fn(images.copy())
        if isinstance(got, np.ndarray) and any(st < 0 for st in got.strides):
            # A view with negative strides (np.flip, np.rot90, [::-1]) is a valid answer; torch cannot
            # wrap one, so compare a copy rather than crash on it.
            got = got.copy()
        try:
            expect_close(got, expected, what=f"{name}({label})")
        except CheckFailure as err:
            raise CheckFailure(f"{err}{_image_diagnosis(got, expected)}") from None
    return "matches the target on the digits and on a random non-square batch"


def _non_contiguous(x: t.Tensor, kind: str) -> t.Tensor:
    """The same values as x, laid out differently in memory."""
    if kind == "transposed":
        return x.mT.contiguous().mT
    if kind == "sliced":  # every other element of a bigger tensor, with a storage offset
        big = t.zeros(*x.shape[:-1], 2 * x.shape[-1] + 3)
        big[..., 3::2] = x
        return big[..., 3::2]
    return x


# ------------------------------------------------------------------ 1️⃣ einops


def check_einops_row(fn: Callable) -> str:
    return _check_image_function(fn, "einops_row")


def check_einops_column(fn: Callable) -> str:
    return _check_image_function(fn, "einops_column")


def check_einops_grid(fn: Callable) -> str:
    return _check_image_function(fn, "einops_grid")


def check_einops_transpose(fn: Callable) -> str:
    return _check_image_function(fn, "einops_transpose")


def check_einops_grayscale(fn: Callable) -> str:
    return _check_image_function(fn, "einops_grayscale")


def check_einops_channels(fn: Callable) -> str:
    return _check_image_function(fn, "einops_channels")


def check_einops_shrink(fn: Callable) -> str:
    return _check_image_function(fn, "einops_shrink")


def check_einops_average(fn: Callable) -> str:
    return _check_image_function(fn, "einops_average")


def check_einops_enlarge(fn: Callable) -> str:
    return _check_image_function(fn, "einops_enlarge")


def check_einops_tile(fn: Callable) -> str:
    return _check_image_function(fn, "einops_tile")


# ------------------------------------------------------------------ 1️⃣ einsum


def _expect_scalar(got: Any, expected: float, what: str) -> None:
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, t.Tensor) and got.numel() == 1:
        got = got.item()
    if not isinstance(got, float | int | np.floating | np.integer):
        raise CheckFailure(f"{what} should return a number, but returned {type(got).__name__}")
    if not math.isclose(float(got), expected, rel_tol=1e-6, abs_tol=1e-9):
        raise CheckFailure(f"{what}: expected {expected:.6g}, got {float(got):.6g}")


def check_einsum_trace(fn: Callable) -> str:
    rng = np.random.default_rng(1)
    for n in (4, 1, 3):
        mat = rng.standard_normal((n, n))
        _expect_scalar(fn(mat), float(np.trace(mat)), f"einsum_trace(a random {n}x{n} matrix)")
    return None


def check_einsum_mv(fn: Callable) -> None:
    rng = np.random.default_rng(2)
    for i, j in [(3, 5), (1, 4), (4, 1)]:
        mat, vec = rng.standard_normal((i, j)), rng.standard_normal(j)
        expect_close(fn(mat, vec), mat @ vec, what=f"einsum_mv(matrix {i}x{j}, vector of length {j})")


def check_einsum_mm(fn: Callable) -> None:
    rng = np.random.default_rng(3)
    for i, j, k in [(2, 3, 4), (4, 1, 2), (1, 5, 1)]:
        a, b = rng.standard_normal((i, j)), rng.standard_normal((j, k))
        expect_close(fn(a, b), a @ b, what=f"einsum_mm(matrix {i}x{j}, matrix {j}x{k})")


def check_einsum_inner(fn: Callable) -> None:
    rng = np.random.default_rng(4)
    for n in (5, 1):
        v, w = rng.standard_normal(n), rng.standard_normal(n)
        _expect_scalar(fn(v, w), float(v @ w), f"einsum_inner(two random vectors of length {n})")


def check_einsum_outer(fn: Callable) -> None:
    rng = np.random.default_rng(5)
    for i, j in [(3, 4), (1, 2)]:
        v, w = rng.standard_normal(i), rng.standard_normal(j)
        expect_close(fn(v, w), np.outer(v, w), what=f"einsum_outer(vector of length {i}, vector of length {j})")


# ------------------------------------------------------------------ 2️⃣ strides


def check_stride_puzzles(fn: Callable) -> str:
    answers = fn()
    expect_type(answers, list, "stride_puzzles()")
    expect_equal(len(answers), len(ref.STRIDE_PUZZLES), "number of answers returned by stride_puzzles()")
    for number, (answer, (description, target)) in enumerate(zip(answers, ref.STRIDE_PUZZLES, strict=True), 1):
        where = f"puzzle {number} ({description})"
        if not (isinstance(answer, tuple | list) and len(answer) == 2):
            raise CheckFailure(f"{where}: the answer should be a pair (size, stride), got {answer!r}")
        size, stride = (tuple(answer[0]), tuple(answer[1])) if all(
            isinstance(a, tuple | list) for a in answer) else (None, None)
        if size is None or len(size) != len(stride):
            raise CheckFailure(f"{where}: size and stride should be tuples of the same length, got {answer!r}")
        try:
            got = ref.STRIDE_BASE.as_strided(size, stride)
        except RuntimeError as err:
            raise CheckFailure(f"{where}: as_strided{(size, stride)} reads outside the 20 numbers: {err}") from None
        want = t.tensor(target)
        if got.shape != want.shape or not t.equal(got, want):
            raise CheckFailure(f"{where}: as_strided(size={size}, stride={stride}) gives\n{describe_tensor(got)}\n"
                               f"but the target is\n{describe_tensor(want)}\n({number - 1} puzzles right before it)")
    return f"all {len(ref.STRIDE_PUZZLES)} puzzles solved"


def _matrices(rng: t.Generator) -> list[tuple[str, t.Tensor]]:
    base = t.randn(5, 5, generator=rng)
    rect = t.randn(3, 6, generator=rng)
    big = t.randn(9, 12, generator=rng)
    return [("a contiguous 5x5 matrix", base), ("a 3x6 matrix", rect),
            ("a transposed 5x5 matrix (stride (1, 5))", base.T),
            ("a slice big[1:8:2, 2:12:3] (stride (24, 3), offset 14)", big[1:8:2, 2:12:3]),
            ("a 1x1 matrix", t.randn(1, 1, generator=rng))]


def check_as_strided_trace(fn: Callable) -> str:
    rng = t.Generator().manual_seed(6)
    for label, mat in _matrices(rng):
        what = f"as_strided_trace({label})"
        got = _call(fn, mat, what=what)
        expect_close(got, t.trace(mat), what=what)
    return "contiguous, rectangular, transposed and sliced matrices"


def check_as_strided_mv(fn: Callable) -> str:
    rng = t.Generator().manual_seed(7)
    for label, mat in _matrices(rng):
        j = mat.shape[1]
        vectors = [("a contiguous vector", t.randn(j, generator=rng)),
                   ("a strided vector (stride 3)", t.randn(3 * j, generator=rng)[::3])]
        for vlabel, vec in vectors:
            what = f"as_strided_mv({label}, {vlabel})"
            expect_close(_call(fn, mat, vec, what=what), mat @ vec, what=what)
    return "contiguous and non-contiguous matrices and vectors"


def check_as_strided_mm(fn: Callable) -> str:
    rng = t.Generator().manual_seed(8)
    mats = _matrices(rng)
    for label_a, a in mats:
        for label_b, b in [("a contiguous matrix", t.randn(a.shape[1], 4, generator=rng)),
                           ("a transposed matrix", t.randn(4, a.shape[1], generator=rng).T),
                           ("a sliced matrix", t.randn(a.shape[1] * 2, 9, generator=rng)[::2, 1::2])]:
            what = f"as_strided_mm({label_a}, {label_b} of shape {_shape(b)})"
            expect_close(_call(fn, a, b, what=what), a @ b, what=what, rtol=1e-4, atol=1e-4)
    return "contiguous and non-contiguous operands"


# ------------------------------------------------------------------ 3️⃣ convolutions


def _conv_what(name: str, x: t.Tensor, w: t.Tensor, **kwargs: Any) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"{name}(x of shape {_shape(x)}, weights of shape {_shape(w)}{extra})"


def check_conv1d_minimal_simple(fn: Callable) -> str:
    g = t.Generator().manual_seed(8)
    for w, kw in [(10, 3), (5, 5), (7, 1), (12, 4)]:
        for layout in ("contiguous", "sliced"):
            x = _non_contiguous(t.randn(w, generator=g), layout)
            weights = t.randn(kw, generator=g)
            what = (f"conv1d_minimal_simple(x of shape ({w},), weights of shape ({kw},))"
                    + (" with x a strided slice (x.stride() == (2,))" if layout == "sliced" else ""))
            got = _call(fn, x, weights, what=what)
            expected = F.conv1d(x[None, None], weights[None, None])[0, 0]
            if isinstance(got, t.Tensor) and got.shape == (w - kw,):
                raise CheckFailure(f"{what} has shape ({w - kw},); the kernel fits at w - kw + 1 = {w - kw + 1} "
                                   "positions (the first at 0, the last at w - kw).")
            if layout == "sliced" and isinstance(got, t.Tensor) and got.shape == expected.shape and not t.allclose(
                    got, expected, atol=1e-4):
                raise CheckFailure(f"{what} is wrong, although it is right for a contiguous x: read the stride with "
                                   "x.stride() instead of assuming 1.")
            expect_close(got, expected, what=what, atol=1e-4)
    return "kernels from width 1 to the full input, and a strided (sliced) input"


def check_conv1d_minimal(fn: Callable) -> str:
    g = t.Generator().manual_seed(9)
    cases = [(2, 3, 10, 4, 3), (1, 1, 5, 1, 5), (3, 2, 7, 5, 1), (2, 4, 9, 3, 4)]
    for b, ic, w, oc, kw in cases:
        for layout in ("contiguous", "transposed", "sliced"):
            x = _non_contiguous(t.randn(b, ic, w, generator=g), layout)
            weights = t.randn(oc, ic, kw, generator=g)
            what = _conv_what("conv1d_minimal", x, weights) + ("" if layout == "contiguous" else f" ({layout} x)")
            expect_close(_call(fn, x, weights, what=what), F.conv1d(x, weights), what=what, atol=1e-4)
    return "batch 1-3, 1-4 channels, kernels 1 to full width, non-contiguous inputs"


def check_conv2d_minimal(fn: Callable) -> str:
    g = t.Generator().manual_seed(10)
    cases = [(2, 3, 8, 10, 4, 3, 2), (1, 1, 5, 5, 1, 5, 5), (3, 2, 6, 7, 5, 1, 1), (2, 4, 9, 6, 3, 4, 2)]
    for b, ic, h, w, oc, kh, kw in cases:
        for layout in ("contiguous", "transposed", "sliced"):
            x = _non_contiguous(t.randn(b, ic, h, w, generator=g), layout)
            weights = t.randn(oc, ic, kh, kw, generator=g)
            what = _conv_what("conv2d_minimal", x, weights) + ("" if layout == "contiguous" else f" ({layout} x)")
            expect_close(_call(fn, x, weights, what=what), F.conv2d(x, weights), what=what, atol=1e-4)
    return "non-square images and kernels, batch 1-3, non-contiguous inputs"


def check_pad1d(fn: Callable) -> str:
    g = t.Generator().manual_seed(11)
    x = t.randn(2, 3, 5, generator=g)
    for left, right, value in [(1, 2, 0.0), (3, 0, -1.5), (0, 4, 2.0), (0, 0, 7.0), (2, 2, float("-inf"))]:
        what = f"pad1d(x of shape {_shape(x)}, left={left}, right={right}, pad_value={value})"
        expected = F.pad(x, (left, right), value=value)
        expect_close(_call(fn, x, left, right, value, what=what), expected, what=what)
    got = fn(t.arange(3.0), 1, 1, 0.0)
    expect_close(got, t.tensor([0.0, 0.0, 1.0, 2.0, 0.0]), what="pad1d(tensor([0., 1., 2.]), 1, 1, 0.0)")
    return "left-only, right-only, both, none; -inf and negative values"


def check_pad2d(fn: Callable) -> str:
    g = t.Generator().manual_seed(12)
    x = t.randn(2, 3, 4, 5, generator=g)
    for left, right, top, bottom, value in [(1, 2, 3, 4, 0.0), (0, 3, 0, 1, -2.0), (2, 0, 1, 0, 1.0),
                                            (0, 0, 0, 0, 5.0), (1, 1, 1, 1, float("-inf"))]:
        what = (f"pad2d(x of shape {_shape(x)}, left={left}, right={right}, top={top}, bottom={bottom}, "
                f"pad_value={value})")
        expected = F.pad(x, (left, right, top, bottom), value=value)
        expect_close(_call(fn, x, left, right, top, bottom, value, what=what), expected, what=what)
    return "every side on its own, all four, none; -inf and negative values"


def _conv1d_cases() -> list[tuple[int, int, int, int, int, int, int]]:
    rng = random.Random(13)
    cases = [(2, 3, 10, 4, 3, 1, 1), (1, 1, 5, 2, 5, 2, 0), (2, 2, 7, 3, 2, 3, 2), (1, 2, 4, 1, 3, 1, 3),
             (2, 1, 9, 2, 4, 4, 1), (1, 3, 1, 2, 3, 1, 1)]
    while len(cases) < 30:
        kw, padding, stride = rng.randint(1, 5), rng.randint(0, 3), rng.randint(1, 4)
        w = rng.randint(max(1, kw - 2 * padding), 12)
        cases.append((rng.randint(1, 3), rng.randint(1, 4), w, rng.randint(1, 4), kw, stride, padding))
    return cases


def check_conv1d(fn: Callable) -> str:
    g = t.Generator().manual_seed(14)
    for b, ic, w, oc, kw, stride, padding in _conv1d_cases():
        x, weights = t.randn(b, ic, w, generator=g), t.randn(oc, ic, kw, generator=g)
        what = _conv_what("conv1d", x, weights, stride=stride, padding=padding)
        expected = F.conv1d(x, weights, stride=stride, padding=padding)
        expect_close(_call(fn, x, weights, stride=stride, padding=padding, what=what), expected, what=what, atol=1e-4)
    return "30 combinations of batch, channels, width, kernel, stride (1-4) and padding (0-3)"


def _int_or_pair(rng: random.Random, low: int, high: int) -> int | tuple[int, int]:
    if rng.random() < 0.4:
        return rng.randint(low, high)
    return (rng.randint(low, high), rng.randint(low, high))


def _conv2d_cases() -> list[tuple[tuple[int, int, int, int], tuple[int, int, int, int], Any, Any]]:
    """(x shape, weight shape, stride, padding): edge cases first, then random valid combinations."""
    rng = random.Random(15)
    cases: list = [((2, 3, 8, 10), (4, 3, 3, 3), 1, 1), ((2, 3, 8, 10), (4, 3, 3, 3), (1, 2), (2, 0)),
                   ((1, 2, 9, 7), (3, 2, 2, 4), (3, 1), (0, 2)), ((2, 1, 5, 5), (1, 1, 5, 5), 2, 0),
                   ((1, 2, 6, 11), (2, 2, 3, 2), 2, (1, 3)), ((3, 2, 1, 1), (2, 2, 3, 3), 1, 1)]
    while len(cases) < 30:
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        stride, padding = _int_or_pair(rng, 1, 3), _int_or_pair(rng, 0, 2)
        ph, pw = ref.force_pair(padding)
        h, w = rng.randint(max(1, kh - 2 * ph), 11), rng.randint(max(1, kw - 2 * pw), 11)
        ic = rng.randint(1, 3)
        cases.append(((rng.randint(1, 3), ic, h, w), (rng.randint(1, 4), ic, kh, kw), stride, padding))
    return cases


def check_conv2d(fn: Callable) -> str:
    g = t.Generator().manual_seed(16)
    for x_shape, w_shape, stride, padding in _conv2d_cases():
        x, weights = t.randn(*x_shape, generator=g), t.randn(*w_shape, generator=g)
        what = _conv_what("conv2d", x, weights, stride=stride, padding=padding)
        expected = F.conv2d(x, weights, stride=stride, padding=padding)
        expect_close(_call(fn, x, weights, stride=stride, padding=padding, what=what), expected, what=what, atol=1e-4)
    return "30 combinations of shapes, kernels, strides and paddings, as ints and as (height, width) pairs"


def _maxpool_cases() -> list[tuple[tuple[int, int, int, int], Any, Any, Any]]:
    rng = random.Random(17)
    cases: list = [((2, 3, 8, 8), 2, None, 0), ((1, 2, 7, 9), 3, None, 1), ((2, 1, 6, 10), (2, 3), (1, 2), (1, 0)),
                   ((1, 2, 9, 6), (3, 2), None, (0, 1)), ((2, 2, 5, 5), 3, 1, 1), ((1, 1, 10, 7), 4, 3, 2)]
    while len(cases) < 30:
        kernel = _int_or_pair(rng, 1, 4)
        kh, kw = ref.force_pair(kernel)
        stride = None if rng.random() < 0.3 else _int_or_pair(rng, 1, 3)
        padding = rng.choice([0, (rng.randint(0, kh // 2), rng.randint(0, kw // 2)), min(kh, kw) // 2])
        ph, pw = ref.force_pair(padding)
        h, w = rng.randint(max(1, kh - 2 * ph), 11), rng.randint(max(1, kw - 2 * pw), 11)
        cases.append(((rng.randint(1, 2), rng.randint(1, 3), h, w), kernel, stride, padding))
    return cases


def _expect_pooled(got: Any, expected: t.Tensor, what: str) -> None:
    """expect_close, plus a pointer to the padding value when the learner returns 0 where the max is negative."""
    try:
        expect_close(got, expected, what=what)
    except CheckFailure as err:
        if isinstance(got, t.Tensor) and got.shape == expected.shape and ((got == 0) & (expected < 0)).any():
            raise CheckFailure(f"{err}. Some outputs are 0 where every input in the window is negative: "
                               "pad with float('-inf'), not 0, so that padding never wins the max.") from None
        raise


def check_maxpool2d(fn: Callable) -> str:
    g = t.Generator().manual_seed(18)
    for shape, kernel, stride, padding in _maxpool_cases():
        x = t.randn(*shape, generator=g)
        what = f"maxpool2d(x of shape {shape}, kernel_size={kernel!r}, stride={stride!r}, padding={padding!r})"
        expected = F.max_pool2d(x, kernel, stride, padding)
        got = _call(fn, x, kernel, stride, padding, what=what) if stride is not None else \
            _call(fn, x, kernel, padding=padding, what=what)
        _expect_pooled(got, expected, what)
    x = -1.0 - t.rand(1, 1, 4, 4, generator=g)
    what = "maxpool2d(x with only negative values, kernel_size=2, stride=2, padding=1)"
    _expect_pooled(_call(fn, x, 2, 2, 1, what=what), F.max_pool2d(x, 2, 2, 1), what)
    return "30 combinations (stride left out, int or pair), and all-negative inputs with padding"


# ------------------------------------------------------------------ 4️⃣ modules


def _instance(cls: type, *args: Any, **kwargs: Any) -> nn.Module:
    call = f"{cls.__name__}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
    m = cls(*args, **kwargs)
    if not isinstance(m, nn.Module):
        raise CheckFailure(f"{call} should be an nn.Module (subclass nn.Module and call super().__init__())")
    return m


def _expect_repr_mentions(m: nn.Module, items: dict[str, Any], call: str) -> None:
    """Each key must appear as `key=value` (an int may also be written as the pair `(value, value)`)."""
    text = m.extra_repr()
    if not isinstance(text, str):
        raise CheckFailure(f"{call}.extra_repr() should return a str, but returned {type(text).__name__}")
    for key, value in items.items():
        forms = [str(value)] + ([str((value, value))] if type(value) is int else [])
        alternatives = "|".join(re.escape(form) for form in forms)
        if not re.search(rf"(?<![\w.]){re.escape(key)}\s*=\s*(?:{alternatives})(?![\w.])", text):
            raise CheckFailure(f"{call}.extra_repr() should contain {key}={value}; it returned {text!r}")


def _expect_parameters(m: nn.Module, shapes: dict[str, tuple[int, ...]], call: str) -> dict[str, nn.Parameter]:
    params = dict(m.named_parameters())
    for name, shape in shapes.items():
        if name not in params:
            value = getattr(m, name, None)
            if isinstance(value, t.Tensor):
                raise CheckFailure(f"{call}.{name} is a plain tensor, so it is not a parameter: the optimizer "
                                   "would never see it. Wrap it in nn.Parameter(...).")
            raise CheckFailure(f"{call} has no parameter named {name!r} (it has {sorted(params)})")
        if tuple(params[name].shape) != shape:
            raise CheckFailure(f"{call}.{name} has shape {tuple(params[name].shape)}; expected {shape}")
    extra = sorted(set(params) - set(shapes))
    if extra:
        raise CheckFailure(f"{call} has parameters {extra} that it should not have")
    return params


def _expect_uniform(values: t.Tensor, bound: float, what: str) -> None:
    """values should look like independent draws from U(-bound, bound)."""
    lo, hi = values.min().item(), values.max().item()
    if hi > bound * (1 + 1e-5) or lo < -bound * (1 + 1e-5):
        raise CheckFailure(f"{what} should lie in [-{bound:.4g}, {bound:.4g}] (±1/sqrt(fan_in)), "
                           f"but ranges over [{lo:.4g}, {hi:.4g}]")
    if hi < 0.9 * bound or lo > -0.9 * bound:
        raise CheckFailure(f"{what} should fill [-{bound:.4g}, {bound:.4g}] uniformly, but only ranges over "
                           f"[{lo:.4g}, {hi:.4g}]")
    std = values.std().item()
    if abs(std - bound / math.sqrt(3)) > 0.1 * bound / math.sqrt(3):
        raise CheckFailure(f"{what} should be uniform on [-{bound:.4g}, {bound:.4g}] (std {bound / math.sqrt(3):.4g}),"
                           f" but its std is {std:.4g}")


def check_MaxPool2d(cls: type) -> str:
    g = t.Generator().manual_seed(19)
    x = t.randn(2, 3, 7, 9, generator=g)
    for args, kwargs in [((3,), {"stride": 2, "padding": 1}), ((2,), {}), (((2, 3),), {"stride": (1, 2)})]:
        m = _instance(cls, *args, **kwargs)
        call = f"MaxPool2d({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
        expect_equal(len(list(m.parameters())), 0, f"number of parameters of {call}")
        expect_close(m(x), F.max_pool2d(x, *args, **kwargs), what=f"{call}(x of shape {_shape(x)})")
    _expect_repr_mentions(_instance(cls, 3, stride=2, padding=1), {"kernel_size": 3, "stride": 2, "padding": 1},
                          "MaxPool2d(3, stride=2, padding=1)")
    return None


def check_ReLU(cls: type) -> None:
    m = _instance(cls)
    x = t.tensor([[-2.0, -0.5, 0.0, 0.5, 3.0], [1.0, -1.0, 2.0, -3.0, 0.0]])
    expect_close(m(x), t.relu(x), what=f"ReLU()({describe_tensor(x)})", check_dtype=True)
    x = t.randn(2, 3, 4, 5, generator=t.Generator().manual_seed(20), dtype=t.float64)
    expect_close(m(x), t.relu(x), what="ReLU()(a float64 tensor of shape (2, 3, 4, 5))", check_dtype=True)


def check_Flatten(cls: type) -> str:
    x = t.randn(2, 3, 4, 5, generator=t.Generator().manual_seed(21))
    for start, end in [(1, -1), (0, -1), (1, 2), (2, 3), (0, 0), (-3, -2), (-1, -1)]:
        m = _instance(cls, start, end)
        expect_close(m(x), t.flatten(x, start, end), what=f"Flatten({start}, {end})(x of shape {_shape(x)})")
    expect_close(_instance(cls)(x), t.flatten(x, 1), what=f"Flatten()(x of shape {_shape(x)})")
    return "default and explicit dims, negative dims, single-dim ranges"


def check_Linear(cls: type) -> str:
    t.manual_seed(22)
    m = _instance(cls, 5, 7)
    params = _expect_parameters(m, {"weight": (7, 5), "bias": (7,)}, "Linear(5, 7)")
    g = t.Generator().manual_seed(23)
    for shape in [(3, 5), (2, 4, 5), (5,)]:
        x = t.randn(*shape, generator=g)
        with t.no_grad():
            expected = x @ params["weight"].T + params["bias"]
            expect_close(m(x), expected, what=f"Linear(5, 7)(x of shape {shape}) with its own weight and bias")
    m = _instance(cls, 5, 7, bias=False)
    params = _expect_parameters(m, {"weight": (7, 5)}, "Linear(5, 7, bias=False)")
    if getattr(m, "bias", None) is not None:
        raise CheckFailure("Linear(5, 7, bias=False).bias should be None")
    x = t.randn(3, 5, generator=g)
    with t.no_grad():
        expect_close(m(x), x @ params["weight"].T, what="Linear(5, 7, bias=False)(x of shape (3, 5))")
    t.manual_seed(24)
    big = _instance(cls, 400, 500)
    _expect_uniform(big.weight.detach(), 1 / math.sqrt(400), "Linear(400, 500).weight")
    if not big.bias.detach().any():
        raise CheckFailure("Linear(400, 500).bias is all zeros: like PyTorch, draw it uniformly from "
                           "[-1/sqrt(in_features), 1/sqrt(in_features)], the same range as the weight")
    _expect_uniform(big.bias.detach(), 1 / math.sqrt(400), "Linear(400, 500).bias")
    _expect_repr_mentions(m, {"in_features": 5, "out_features": 7, "bias": False}, "Linear(5, 7, bias=False)")
    _expect_repr_mentions(_instance(cls, 5, 7), {"bias": True}, "Linear(5, 7)")
    return "parameters, batched forward, bias=False, uniform init, extra_repr"


def check_Conv2d(cls: type) -> str:
    g = t.Generator().manual_seed(25)
    configs = [((3, 8, 3), {}), ((3, 8, 3), {"stride": 2, "padding": 1}),
               ((2, 4, (3, 2)), {"stride": (2, 1), "padding": (0, 1)})]
    for args, kwargs in configs:
        call = f"Conv2d({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
        m = _instance(cls, *args, **kwargs)
        kh, kw = ref.force_pair(args[2])
        params = _expect_parameters(m, {"weight": (args[1], args[0], kh, kw)}, call)
        x = t.randn(2, args[0], 9, 8, generator=g)
        with t.no_grad():
            expected = F.conv2d(x, params["weight"], stride=kwargs.get("stride", 1), padding=kwargs.get("padding", 0))
            expect_close(m(x), expected, what=f"{call}(x of shape {_shape(x)})", atol=1e-4)
    t.manual_seed(26)
    big = _instance(cls, 16, 64, 5)
    _expect_uniform(big.weight.detach(), 1 / math.sqrt(16 * 25), "Conv2d(16, 64, 5).weight")
    m = _instance(cls, 3, 8, 5, stride=2, padding=1)
    _expect_repr_mentions(m, {"in_channels": 3, "out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 1},
                          "Conv2d(3, 8, 5, stride=2, padding=1)")
    return "int and pair arguments, registered weight, uniform init, extra_repr"


def check_SimpleMLP(cls: type) -> str:
    t.manual_seed(27)
    m = _instance(cls)
    shapes = sorted(tuple(p.shape) for p in m.parameters())
    expected_shapes = sorted([(100, 784), (100,), (10, 100), (10,)])
    expect_equal(shapes, expected_shapes, "SimpleMLP() parameter shapes")
    by_shape = {tuple(p.shape): p for p in m.parameters()}
    x = t.rand(3, 1, 28, 28, generator=t.Generator().manual_seed(28))
    with t.no_grad():
        hidden = t.relu(x.flatten(1) @ by_shape[(100, 784)].T + by_shape[(100,)])
        expected = hidden @ by_shape[(10, 100)].T + by_shape[(10,)]
        expect_close(m(x), expected, what="SimpleMLP()(a batch of 3 images)", atol=1e-4)
    return None
