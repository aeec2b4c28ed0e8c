"""Part 1.1: the cached sampler gives sample()'s text exactly; the bench generates what it says; the trainer
logs to a real W&B run in offline mode (nothing touches the network)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch

from course.chapter1_transformers.part1_transformer_from_scratch import bench, checks
from course.chapter1_transformers.part1_transformer_from_scratch import solutions as ref


@pytest.mark.parametrize("kwargs", [dict(temperature=0.0), dict(seed=0), dict(seed=1, temperature=0.8),
                                    dict(seed=2, top_k=20), dict(seed=3, top_p=0.95, frequency_penalty=0.5)],
                         ids=["greedy", "seed0", "seed1-t0.8", "seed2-topk", "seed3-topp-freq"])
def test_sample_with_cache_gives_the_same_text(kwargs: dict) -> None:
    tok = checks.tokenizer()
    plain, cached = checks.reference_demo(), checks.reference_demo_with_cache()
    for prompt in [" Mary and John went to the park.", " Lily"]:
        assert ref.sample_with_cache(cached, tok, prompt, 60, **dict(kwargs)) == ref.sample(plain, tok, prompt, 60,
                                                                                         **dict(kwargs))


def test_bench_sampling_generates_exactly_n_tokens_and_agrees() -> None:
    tok = checks.tokenizer()
    prompt_len = len(tok.encode(bench.PROMPT))
    texts = [b.ours() for b in bench.BENCHMARKS[2:]] + [b.library() for b in bench.BENCHMARKS[2:]]
    assert texts[0] == texts[1]
    assert len(tok.encode(texts[0])) >= prompt_len + bench.N_TOKENS - 5  # decoding may merge a few pieces


def test_bench_forward_passes_agree() -> None:
    ours, tl, hf = (b() for b in (bench._forward("ours"), bench._forward("transformer_lens"), bench._forward("hf")))
    torch.testing.assert_close(ours, tl, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours, hf, atol=1e-4, rtol=1e-4)


@pytest.fixture
def offline_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import wandb

    def refuse(*args, **kwargs):
        raise AssertionError("the test tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    for key, value in {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
                       "WANDB_CONSOLE": "off", "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true",
                       "WANDB_CACHE_DIR": str(tmp_path / "cache"), "WANDB_CONFIG_DIR": str(tmp_path / "config"),
                       "WANDB_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(key, value)
    wandb.teardown()
    yield tmp_path
    wandb.teardown()


@pytest.mark.slow
def test_trainer_writes_an_offline_wandb_run(offline_wandb: Path) -> None:
    assert ref.wandb_mode() == "offline" and os.environ["WANDB_MODE"] == "offline"
    args = ref.TransformerTrainingArgs(batch_size=8, epochs=2, max_steps_per_epoch=3, lr=1e-2, wandb_name="t")
    history = ref.TransformerTrainer(args, checks.tiny_model(), checks.tiny_tokens(32), checks.tiny_tokens(8, 1)).train()
    import wandb

    wandb.teardown()
    runs = list((offline_wandb / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))
    assert len(history["train_loss"]) == 6 and len(history["accuracy"]) == 2
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_demo_transformer_check_uses_gpt2_when_fetched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a GPT-2 directory in the course cache (here a small random one of the same structure), the
    DemoTransformer check also compares with it; a model that skips ln_final fails there too."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from course.chapter1_transformers.part1_transformer_from_scratch import variants

    monkeypatch.setenv("ARENA_CACHE", str(tmp_path))
    assert not checks.gpt2_fetched()
    tok = checks.tokenizer()
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=len(tok), n_positions=32,
                                    bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    hf.save_pretrained(tmp_path / "gpt2")
    tok.save_pretrained(str(tmp_path / "gpt2"))
    assert checks.gpt2_fetched()
    assert "GPT-2 small" in checks.check_DemoTransformer(ref.DemoTransformer)
    with pytest.raises(checks.CheckFailure):
        checks._check_against_gpt2(variants.DemoTransformerNoFinalLN)
