"""`arena bench 0.5`: one SGD training step of the reference framework's MLP against the same step in torch."""

import numpy as np
import torch

from arena.bench import Benchmark

from . import solutions as ref

BATCH, IN, HIDDEN, OUT = 128, 784, 256, 10


def _ours() -> callable:
    np.random.seed(0)
    model = ref.MLP(IN, HIDDEN, OUT)
    optimizer = ref.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, IN)).astype(np.float32)
    y = rng.integers(0, OUT, BATCH)

    def step() -> None:
        loss = ref.cross_entropy(model(ref.Tensor(x)), y).sum() / BATCH
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def _torch() -> callable:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, OUT))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(BATCH, IN)
    y = torch.randint(0, OUT, (BATCH,))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


BENCHMARKS = [Benchmark(f"MLP training step {IN}->{HIDDEN}->{OUT}, batch {BATCH} (float32, SGD)",
                        ours=_ours(), library=_torch())]
