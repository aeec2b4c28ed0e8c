"""Benchmarks for `arena bench 0.3`: the reference BatchNorm2d and ResNet34 against torch / torchvision.

Models and inputs are built lazily (on the first call) so that importing this module stays cheap."""

from __future__ import annotations

from functools import cache

import torch as t
from torch import nn

from arena.bench import Benchmark

from . import solutions as ref


@cache
def _batch(shape: tuple[int, ...]) -> t.Tensor:
    return t.randn(shape, generator=t.Generator().manual_seed(0))


@cache
def _batchnorms() -> tuple[nn.Module, nn.Module]:
    return ref.BatchNorm2d(64).train(), nn.BatchNorm2d(64).train()


@cache
def _resnets() -> tuple[nn.Module, nn.Module]:
    from torchvision.models import resnet34

    theirs = resnet34().eval()
    return ref.copy_weights(ref.ResNet34(), theirs).eval(), theirs


def _batchnorm(library: bool) -> t.Tensor:
    with t.inference_mode():
        return _batchnorms()[library](_batch((32, 64, 28, 28)))


def _resnet(library: bool) -> t.Tensor:
    with t.inference_mode():
        return _resnets()[library](_batch((4, 3, 128, 128)))


BENCHMARKS = [
    Benchmark("BatchNorm2d train b32 64ch 28x28", ours=lambda: _batchnorm(False), library=lambda: _batchnorm(True)),
    Benchmark("ResNet34 eval forward b4 3x128x128", ours=lambda: _resnet(False), library=lambda: _resnet(True),
              library_name="torchvision"),
]
