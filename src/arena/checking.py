"""What a part's checks.py and variants.py use: failures with clear messages, comparisons, markers."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import torch

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_TIME_LIMIT = 20.0


class CheckFailure(AssertionError):
    """The learner's code ran but gave the wrong answer; the message says what was wrong."""


def time_limit(seconds: float) -> Callable[[F], F]:
    """Give one check a longer (or shorter) time limit than the default 20 s."""

    def mark(fn: F) -> F:
        fn.__arena_time_limit__ = seconds  # type: ignore[attr-defined]
        return fn

    return mark


def uses_learner(*names: str) -> Callable[[F], F]:
    """Declare the other names of the learner's file that a check reads from its namespace (say the
    learner's `Tensor` class, to build inputs). `arena watch` reads this declaration from checks.py's
    syntax tree and re-checks the exercise when the code of any of them changes (see arena/changes.py)."""

    def mark(fn: F) -> F:
        fn.__arena_learner_names__ = names  # type: ignore[attr-defined]
        return fn

    return mark


def limit_of(check_fn: Callable) -> float:
    """A check's time limit; ARENA_TIME_LIMIT (seconds) overrides every limit, e.g. in tests."""
    override = os.environ.get("ARENA_TIME_LIMIT")
    if override:
        return float(override)
    return float(getattr(check_fn, "__arena_time_limit__", DEFAULT_TIME_LIMIT))


def _variant(kind: str, exercise: str, reason: str) -> Callable[[F], F]:
    def mark(obj: F) -> F:
        obj.__arena_variant__ = (kind, exercise, reason)  # type: ignore[attr-defined]
        return obj

    return mark


def wrong(exercise: str, reason: str) -> Callable[[F], F]:
    """Mark an implementation that makes a real mistake; the suite proves its check fails."""
    return _variant("wrong", exercise, reason)


def right(exercise: str, reason: str) -> Callable[[F], F]:
    """Mark a correct implementation by another method; the suite proves its check passes."""
    return _variant("right", exercise, reason)


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor(shape={tuple(value.shape)}, dtype={value.dtype})"
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def _number(value: float | int | bool) -> str:
    """A readable number for messages: 7 significant digits for floats."""
    return f"{value:.7g}" if isinstance(value, float) else repr(value)


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return None


def expect_type(got: Any, kind: type | tuple[type, ...], what: str) -> None:
    """Fail unless `got` is an instance of `kind`."""
    if not isinstance(got, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise CheckFailure(f"{what} should return a {names}, but returned {type(got).__name__}: {_short(got)}")


def expect_shape(got: Any, shape: tuple[int, ...], what: str) -> None:
    if tuple(got.shape) != tuple(shape):
        raise CheckFailure(f"{what} has the wrong shape: expected {tuple(shape)}, got {tuple(got.shape)}")


def _first_mismatch(mask: torch.Tensor) -> tuple[int, ...]:
    index = torch.nonzero(mask)[0]
    return tuple(int(i) for i in index)


def expect_close(got: Any, expected: Any, what: str, *, rtol: float = 1e-4, atol: float = 1e-5,
                 check_dtype: bool = False) -> None:
    """Fail unless `got` is a tensor/array like `expected` (type, shape, values within tolerance).

    The message names the first index that differs and how many entries differ."""
    want = _as_tensor(expected)
    if want is None:
        raise TypeError("expect_close compares tensors or arrays; use expect_equal for other values")
    expect_type(got, type(expected) if isinstance(expected, np.ndarray) else torch.Tensor, what)
    have = _as_tensor(got)
    expect_shape(have, tuple(want.shape), what)
    if check_dtype and have.dtype != want.dtype:
        raise CheckFailure(f"{what} has dtype {have.dtype}; expected {want.dtype}")
    if want.dtype == torch.bool or have.dtype == torch.bool:
        if have.dtype != torch.bool:
            raise CheckFailure(f"{what} should be a boolean tensor, got dtype {have.dtype}")
        bad = have != want
    else:
        have_f, want_f = have.double(), want.double()
        both_inf = torch.isinf(have_f) & torch.isinf(want_f) & (torch.sign(have_f) == torch.sign(want_f))
        both_nan = torch.isnan(have_f) & torch.isnan(want_f)
        close = torch.isclose(have_f, want_f, rtol=rtol, atol=atol) | both_inf | both_nan
        bad = ~close
    if bad.any() and have.dim() == 0:
        raise CheckFailure(f"{what} is wrong: expected {_number(want.item())}, got {_number(have.item())}")
    if bad.any():
        idx = _first_mismatch(bad)
        n_bad, n = int(bad.sum()), bad.numel()
        raise CheckFailure(
            f"{what} is wrong at index {list(idx)}: expected {_number(want[idx].item())}, "
            f"got {_number(have[idx].item())} ({n_bad} of {n} entries differ)"
        )


def expect_equal(got: Any, expected: Any, what: str) -> None:
    """Fail unless `got == expected` (for plain Python values: bools, ints, tuples...)."""
    if type(expected) is bool and isinstance(got, torch.Tensor | np.ndarray | np.bool_) and math.prod(got.shape) == 1:
        got = bool(got)
    # A tensor or array of several values cannot equal one plain value (and `!=` on it would be ambiguous).
    several = isinstance(got, torch.Tensor | np.ndarray) and math.prod(got.shape) != 1
    if several or got != expected:
        raise CheckFailure(f"{what}: expected {_short(expected)}, got {_short(got)}")


def describe_tensor(x: torch.Tensor) -> str:
    """A compact, readable form of a small tensor for messages."""
    return np.array2string(x.detach().cpu().numpy(), precision=3, separator=", ", suppress_small=True)
