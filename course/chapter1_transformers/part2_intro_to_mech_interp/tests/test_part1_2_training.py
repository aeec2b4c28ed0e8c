"""Part 1.2: the training script runs (a few steps, through `arena train`), and its fast twin is the same model."""

from __future__ import annotations

import json
import subprocess
import sys

import torch as t

from course.chapter1_transformers.part2_intro_to_mech_interp.assets import train as trainer


def test_fast_twin_matches_the_bridge():
    bridge = trainer.build_model().eval()
    gen = t.Generator().manual_seed(0)
    with t.no_grad():
        for key, tensor in bridge.state_dict().items():
            if key != "unembed.bias":
                tensor.add_(0.3 * t.randn(tensor.shape, generator=gen))
        fast = trainer.FastAttnOnly(trainer.ARCHITECTURE)
        fast.load_state_dict(bridge.state_dict(), strict=True)
        tokens = t.randint(0, trainer.ARCHITECTURE["d_vocab"], (2, 40), generator=gen)
        t.testing.assert_close(fast(tokens), bridge(tokens), atol=1e-3, rtol=1e-4)


def test_arena_train_runs_a_few_steps(tmp_path):
    out = tmp_path / "a2l"
    result = subprocess.run([sys.executable, "-m", "arena.cli", "train", "attn-only-2l", "--steps", "2",
                             "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    card = json.loads((out / "card.json").read_text())
    assert card["architecture"] == trainer.ARCHITECTURE
    assert card["train_config"]["steps"] == 2
    assert [h["step"] for h in card["history"]] == [0, 2]
    assert (out / "model.safetensors").exists() and (out / trainer.CHECKPOINTS_FILE).exists()


def test_shipped_model_was_trained_on_todays_corpus():
    """The card's corpus hash is that of the corpus the training script builds now: `arena train attn-only-2l`
    re-makes the shipped model from the same text."""
    from arena.zoo import read_card
    from course.chapter1_transformers.zoo import corpus

    card = read_card("attn-only-2l")
    cfg = trainer.TrainConfig()
    assert card["train_config"]["n_stories"] == cfg.n_stories and card["provenance"]["corpus_seed"] == cfg.corpus_seed
    assert corpus.corpus_hash(corpus.corpus_text(cfg.n_stories, cfg.corpus_seed)) == card["provenance"]["corpus_sha256"]
