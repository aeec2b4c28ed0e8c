"""Benchmarks for `arena bench 0.2`: the reference conv2d, maxpool2d and Linear against torch.

Inputs are built lazily (on the first call) so that importing this module stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch as t
import torch.nn.functional as F

from arena.bench import Benchmark

from . import solutions as ref


@cache
def _inputs(size: int, channels_in: int = 32, channels_out: int = 64, batch: int = 64) -> tuple[t.Tensor, t.Tensor]:
    g = t.Generator().manual_seed(0)
    x = t.randn(batch, channels_in, size, size, generator=g)
    w = t.randn(channels_out, channels_in, 3, 3, generator=g) / (channels_in * 9) ** 0.5
    return x, w


def _conv(size: int, stride: int, library: bool) -> Callable[[], Any]:
    def run() -> t.Tensor:
        x, w = _inputs(size)
        with t.inference_mode():
            if library:
                return F.conv2d(x, w, stride=stride, padding=1)
            return ref.conv2d(x, w, stride=stride, padding=1)
    return run


def _pool(size: int, kernel: int, stride: int, padding: int, library: bool) -> Callable[[], Any]:
    def run() -> t.Tensor:
        x, _ = _inputs(size, channels_in=64)
        with t.inference_mode():
            if library:
                return F.max_pool2d(x, kernel, stride, padding)
            return ref.maxpool2d(x, kernel, stride, padding)
    return run


@cache
def _linear() -> tuple[ref.Linear, t.Tensor]:
    t.manual_seed(0)
    return ref.Linear(64 * 7 * 7, 128), t.randn(64, 64 * 7 * 7)


def _linear_run(library: bool) -> Callable[[], Any]:
    def run() -> t.Tensor:
        layer, x = _linear()
        with t.inference_mode():
            return F.linear(x, layer.weight, layer.bias) if library else layer(x)
    return run


BENCHMARKS = [
    *[Benchmark(f"conv2d b64 32->64 {n}x{n} k3 s{s} p1", ours=_conv(n, s, False), library=_conv(n, s, True),
                library_name="torch.nn.functional.conv2d")
      for n in (28, 32) for s in (1, 2)],
    *[Benchmark(f"maxpool2d b64 c64 {n}x{n} k{k} s{s} p{p}", ours=_pool(n, k, s, p, False),
                library=_pool(n, k, s, p, True), library_name="torch.nn.functional.max_pool2d")
      for n in (28, 32) for k, s, p in ((2, 2, 0), (3, 2, 1))],
    Benchmark("Linear b64 3136->128", ours=_linear_run(False), library=_linear_run(True),
              library_name="torch.nn.functional.linear"),
]
