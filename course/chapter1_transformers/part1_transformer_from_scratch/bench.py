"""Benchmarks for `arena bench 1.1`: the learner-style DemoTransformer holding course-gpt's weights against
the same weights run by TransformerLens and by Hugging Face; sampling 100 tokens with and without the
key-value cache. Models load lazily (on the first call), so importing this module stays cheap."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import torch

from arena.bench import Benchmark

from . import checks
from . import solutions as ref

PROMPT = " Tom found a red kite in the garden."
N_TOKENS = 100


class NeverStop:
    """The course tokenizer with no EOS, so that every sampling run generates exactly N_TOKENS tokens."""

    eos_token_id = -1

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.bos_token_id = tokenizer.bos_token_id

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def decode(self, ids: list[int], **kwargs: Any) -> str:
        return self.tokenizer.decode(ids, **kwargs)


@cache
def _tokens(batch: int = 4, seq_len: int = 128) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, checks.reference_config().d_vocab, (batch, seq_len), generator=g)


def _forward(which: str) -> Callable[[], Any]:
    def run() -> torch.Tensor:
        with torch.inference_mode():
            if which == "ours":
                return checks.reference_demo()(_tokens())
            if which == "transformer_lens":
                return checks.reference_model()(_tokens())
            return checks.reference_model().original_model(_tokens()).logits
    return run


def _sampling(cached: bool) -> Callable[[], str]:
    def run() -> str:
        tok = NeverStop(checks.tokenizer())
        if cached:
            return ref.sample_with_cache(checks.reference_demo_with_cache(), tok, PROMPT, N_TOKENS, seed=0)
        return ref.sample(checks.reference_demo(), tok, PROMPT, N_TOKENS, seed=0)
    return run


BENCHMARKS = [
    Benchmark("forward 4x128 tokens: DemoTransformer vs TransformerLens", ours=_forward("ours"),
              library=_forward("transformer_lens"), library_name="transformer_lens"),
    Benchmark("forward 4x128 tokens: DemoTransformer vs Hugging Face", ours=_forward("ours"),
              library=_forward("hf"), library_name="transformers"),
    Benchmark(f"sample {N_TOKENS} tokens: with the key-value cache vs without", ours=_sampling(cached=True),
              library=_sampling(cached=False), library_name="sample() without cache"),
]
