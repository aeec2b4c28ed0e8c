"""Records a small training run of the part's DemoTransformer on the course corpus into training_run.json.

The lesson's loss-curve figure ("what the model learns first") is drawn from that file, and the part's
tests check its claims against it. Re-make it with
    python -m course.chapter1_transformers.part1_transformer_from_scratch.assets.record_training
(about a minute on one free laptop core). Seeded: the same settings give the same file up to float noise."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

OUT = Path(__file__).with_name("training_run.json")


@dataclass(frozen=True)
class RunConfig:
    n_layers: int = 2
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    n_ctx: int = 48
    train_stories: int = 3_000
    val_stories: int = 60
    batch_size: int = 16
    steps: int = 500
    lr: float = 3e-3
    weight_decay: float = 0.01
    eval_every: int = 25
    seed: int = 0
    sample_steps: tuple[int, ...] = (0, 25, 75, 200, 500)
    sample_prompt: str = " Mary and John went to the park."


def ngram_baselines(train: torch.Tensor, val: torch.Tensor, d_vocab: int) -> dict[str, float]:
    """Validation cross-entropy (nats/token) of the best unigram and (add-0.1 smoothed) bigram predictors."""
    uni = torch.bincount(train.flatten(), minlength=d_vocab).double() + 0.1
    uni_logp = (uni / uni.sum()).log()
    pairs = torch.zeros(d_vocab, d_vocab, dtype=torch.float64)
    pairs.index_put_((train[:, :-1].flatten(), train[:, 1:].flatten()), torch.ones(train[:, 1:].numel(),
                     dtype=torch.float64), accumulate=True)
    bi_logp = ((pairs + 0.1) / (pairs + 0.1).sum(-1, keepdim=True)).log()
    nxt, prev = val[:, 1:].flatten(), val[:, :-1].flatten()
    return {"uniform": math.log(d_vocab), "unigram": float(-uni_logp[nxt].mean()),
            "bigram": float(-bi_logp[prev, nxt].mean())}


@torch.inference_mode()
def val_loss(model: torch.nn.Module, val: torch.Tensor) -> float:
    from course.chapter1_transformers.part1_transformer_from_scratch.solutions import get_log_probs

    return float(torch.cat([-get_log_probs(model(b), b).flatten() for b in val.split(64)]).mean())


def record(steps: int | None = None, cfg: RunConfig = RunConfig(), out: Path | None = OUT) -> dict:
    from course.chapter1_transformers.part1_transformer_from_scratch import solutions as ref
    from course.chapter1_transformers.part1_transformer_from_scratch.checks import tokenizer

    started = time.time()
    torch.manual_seed(cfg.seed)
    tok = tokenizer()
    train = ref.tokenize_corpus(tok, cfg.train_stories, cfg.n_ctx, seed=cfg.seed)
    val = ref.tokenize_corpus(tok, cfg.val_stories, cfg.n_ctx, seed=cfg.seed + 1_000)
    model_cfg = ref.Config(d_model=cfg.d_model, d_vocab=len(tok), n_ctx=cfg.n_ctx, d_head=cfg.d_model // cfg.n_heads,
                           d_mlp=cfg.d_mlp, n_heads=cfg.n_heads, n_layers=cfg.n_layers)
    model = ref.DemoTransformer(model_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    total = steps or cfg.steps
    history, samples = [], []

    def evaluate(step: int, train_loss: float | None) -> None:
        model.eval()
        history.append({"step": step, "tokens": step * cfg.batch_size * cfg.n_ctx,
                        "train_loss": None if train_loss is None else round(train_loss, 4),
                        "val_loss": round(val_loss(model, val), 4)})
        if step in cfg.sample_steps:
            samples.append({"step": step, "text": ref.sample(model, tok, cfg.sample_prompt, 24, temperature=0.0)})
        model.train()

    evaluate(0, None)
    for step in tqdm(range(1, total + 1), desc="recording", mininterval=5):
        batch = train[torch.randint(0, len(train), (cfg.batch_size,), generator=gen)]
        loss = -ref.get_log_probs(model(batch), batch).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == total:
            evaluate(step, loss.item())
    result = {"config": {**asdict(cfg), "steps": total}, "d_vocab": len(tok),
              "baselines": {k: round(v, 4) for k, v in ngram_baselines(train, val, len(tok)).items()},
              "history": history, "samples": samples, "wall_seconds": round(time.time() - started, 1)}
    if out is not None:
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    torch.set_num_threads(1)
    r = record()
    print(r["baselines"], r["history"][-1], *r["samples"], sep="\n")
