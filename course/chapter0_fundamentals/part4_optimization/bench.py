"""Benchmarks for `arena bench 0.4`: one optimizer step of the reference optimizers against torch.optim,
on a ResNet-sized set of parameters (about 1.2M values in 40 tensors) with gradients already filled in.

Optimizers are built lazily (on the first call) so that importing this module stays cheap."""

from collections.abc import Callable
from functools import cache
from typing import Any

import torch as t

from arena.bench import Benchmark

from . import solutions as ref


@cache
def _optimizer(kind: str, library: bool) -> Any:
    g = t.Generator().manual_seed(0)
    shapes = [(64, 64, 3, 3)] * 20 + [(64,)] * 20
    params = [t.randn(s, generator=g).requires_grad_() for s in shapes]
    for p in params:
        p.grad = t.randn(p.shape, generator=g) * 1e-3
    classes = {"SGD": (ref.SGD, t.optim.SGD, {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}),
               "RMSprop": (ref.RMSprop, t.optim.RMSprop, {"lr": 1e-3}),
               "Adam": (ref.Adam, t.optim.Adam, {"lr": 1e-3}),
               "AdamW": (ref.AdamW, t.optim.AdamW, {"lr": 1e-3})}
    ours, theirs, hyper = classes[kind]
    return (theirs if library else ours)(params, **hyper)


def _step(kind: str, library: bool) -> Callable[[], None]:
    return lambda: _optimizer(kind, library).step()


BENCHMARKS = [Benchmark(f"{kind} step, 1.2M params in 40 tensors", ours=_step(kind, False), library=_step(kind, True))
              for kind in ("SGD", "RMSprop", "Adam", "AdamW")]
