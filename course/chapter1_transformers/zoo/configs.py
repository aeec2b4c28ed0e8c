"""One config per model trained on the course corpus. Change a value and the stale-card test names
the command that re-makes the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LMConfig:
    """A GPT-2-architecture language model on the story corpus (Hugging Face GPT2LMHeadModel format)."""

    n_layer: int = 4
    d_model: int = 192
    n_head: int = 6
    d_mlp: int = 768
    n_ctx: int = 128
    vocab_size: int = 2048  # asked of the BPE trainer; the small world stops it earlier
    n_stories: int = 200_000
    corpus_seed: int = 0
    val_stories: int = 2_000
    batch_size: int = 32
    steps: int = 2_600
    lr: float = 2e-3
    min_lr: float = 1e-4
    warmup: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_every: int = 100
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


# course-gpt: reads as simple English and does IOI on held-out templates (see its card).
COURSE_GPT = LMConfig()
