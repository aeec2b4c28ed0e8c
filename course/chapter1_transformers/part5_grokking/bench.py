"""Benchmarks for `arena bench 1.5`: a full-batch training step of the grokking model, and fft2d.

* the TransformerBridge (the reference model the lesson analyses) against the same network written with
  plain torch.nn layers, and the per-token model the training script uses against the same plain model;
* our `fft2d` (two basis products in one einsum) against torch.fft and against two matrix products.

Inputs are built lazily (on the first call) so that importing this module stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

from arena.bench import Benchmark

from . import solutions as ref
from .assets import train as T


@cache
def _setup() -> dict:
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    torch.manual_seed(0)
    bridge = TransformerBridge.boot_native(TransformerBridgeConfig(**T.architecture(), device="cpu"))
    sd = {k: v.detach().clone() for k, v in bridge.state_dict().items()}
    plain = T.PlainGrokModel().load_bridge_state_dict(sd)
    fast = T.FastGrokModel(sd, n_heads=T.CONFIG.n_heads)
    train_idx, _ = T.split_indices()
    tokens = T.all_pairs(T.CONFIG.p)[train_idx]
    labels = (tokens[:, 0] + tokens[:, 1]) % T.CONFIG.p
    acts = torch.randn(T.CONFIG.p, T.CONFIG.p, 512, generator=torch.Generator().manual_seed(0))
    return {"bridge": bridge, "plain": plain, "fast": fast, "tokens": tokens, "labels": labels, "acts": acts}


def _step(which: str) -> Callable[[], Any]:
    """One full-batch AdamW step (forward, float64 loss, backward, update) on the 3,830 training pairs."""
    optimisers: dict[str, torch.optim.Optimizer] = {}

    def run() -> None:
        s = _setup()
        model = s[which]
        if which not in optimisers:
            optimisers[which] = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad],
                                                  lr=1e-5, weight_decay=1.0, betas=(0.9, 0.98))
        tokens = s["tokens"]
        logits = model(tokens[:, 0], tokens[:, 1]) if which == "fast" else model(tokens)[:, -1]
        loss, _ = T.loss_and_acc(logits, s["labels"])
        loss.backward()
        optimisers[which].step()
        optimisers[which].zero_grad(set_to_none=True)

    return run


def _fft2d(fn: Callable) -> Callable[[], Any]:
    def run() -> torch.Tensor:
        with torch.inference_mode():
            return fn(_setup()["acts"])
    return run


def _fft2d_matmul(tensor: torch.Tensor) -> torch.Tensor:
    basis, _ = ref.make_fourier_basis(tensor.shape[0])
    p, rest = tensor.shape[0], tensor.shape[2:]
    left = (basis @ tensor.reshape(p, -1)).reshape(p, p, -1)  # transform x
    return (basis @ left.transpose(0, 1).reshape(p, -1)).reshape(p, p, -1).transpose(0, 1).reshape(p, p, *rest)


BENCHMARKS = [
    Benchmark("train step: TransformerBridge vs plain nn (3,830 pairs)", ours=_step("bridge"),
              library=_step("plain"), library_name="plain torch.nn"),
    Benchmark("train step: per-token model (train.py) vs plain nn", ours=_step("fast"),
              library=_step("plain"), library_name="plain torch.nn"),
    Benchmark("fft2d [113, 113, 512]: einsum vs torch.fft", ours=_fft2d(ref.fft2d),
              library=_fft2d(ref.fft2d_torch_fft), library_name="torch.fft.rfft"),
    Benchmark("fft2d [113, 113, 512]: einsum vs two matmuls", ours=_fft2d(ref.fft2d),
              library=_fft2d(_fft2d_matmul), library_name="torch.matmul"),
]
