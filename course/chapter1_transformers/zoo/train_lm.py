"""Trains course-gpt: a GPT-2-architecture model on the story corpus, saved in Hugging Face format.

`python -m arena.cli train course-gpt` (or `arena train course-gpt`) re-runs it; the shipped files
live in `zoo/weights/course-gpt/`. Seeded: the same config gives the same corpus, tokenizer and run."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from arena.zoo import WEIGHTS_FILE, provenance, write_card

from .configs import COURSE_GPT, LMConfig
from .corpus import BOS, corpus_hash, corpus_text
from .ioi_eval import ioi_prompts, ioi_scores
from .tokenizer import load_tokenizer

WEIGHTS_DIR = Path(__file__).parent / "weights"
TOKENIZER_DIR = WEIGHTS_DIR / "tokenizer"
VAL_SEED_OFFSET = 1_000


def token_stream(tokenizer, n_stories: int, seed: int) -> tuple[torch.Tensor, str]:
    """The corpus as one long tensor of token ids, each story preceded by BOS; plus the corpus hash."""
    text = corpus_text(n_stories, seed)
    docs = [d for d in text.split(BOS) if d]
    ids: list[int] = []
    bos = tokenizer.bos_token_id
    for start in range(0, len(docs), 10_000):
        for seq in tokenizer(docs[start:start + 10_000])["input_ids"]:
            ids.append(bos)
            ids.extend(seq)
    return torch.tensor(ids, dtype=torch.long), corpus_hash(text)


def build_model(cfg: LMConfig, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_cfg = GPT2Config(
        vocab_size=len(tokenizer), n_positions=cfg.n_ctx, n_embd=cfg.d_model, n_layer=cfg.n_layer,
        n_head=cfg.n_head, n_inner=cfg.d_mlp, activation_function="gelu_new", resid_pdrop=0.0,
        embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(cfg.seed)
    return GPT2LMHeadModel(hf_cfg)


def lr_at(step: int, cfg: LMConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


@torch.no_grad()
def evaluate(model, val: torch.Tensor, cfg: LMConfig, tokenizer, n_ioi: int = 200) -> dict[str, float]:
    model.eval()
    rows = val[: (len(val) // cfg.n_ctx) * cfg.n_ctx].view(-1, cfg.n_ctx)[:256]
    losses = [model(rows[i:i + 64], labels=rows[i:i + 64]).loss.item() for i in range(0, len(rows), 64)]
    metrics = {"val_loss": sum(losses) / len(losses)}
    splits = (("heldout", True, False), ("heldout_verbs", True, True), ("train_templates", False, False))
    for split, heldout, verbs in splits:
        scores = ioi_scores(model, tokenizer, ioi_prompts(n_ioi, heldout=heldout, seed=1, heldout_verbs=verbs))
        metrics.update({f"ioi_{split}_{k}": v for k, v in scores.items()})
    model.train()
    return metrics


def train(out_dir: Path, steps: int | None = None, cfg: LMConfig = COURSE_GPT, threads: int | None = None,
          ioi_prompts_per_split: int = 200) -> dict:
    """Train course-gpt into out_dir (model.safetensors + HF config + tokenizer + card.json)."""
    started = time.time()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    total_steps = steps or cfg.steps
    tokenizer = load_tokenizer(TOKENIZER_DIR)  # shipped; `python -m ...zoo.tokenizer` re-makes it
    stream, digest = token_stream(tokenizer, cfg.n_stories, cfg.corpus_seed)
    val, _ = token_stream(tokenizer, cfg.val_stories, cfg.corpus_seed + VAL_SEED_OFFSET)
    model = build_model(cfg, tokenizer)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)
    rows = stream[: (len(stream) // cfg.n_ctx) * cfg.n_ctx].view(-1, cfg.n_ctx)
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(rows), generator=gen)
    history: list[dict] = []
    tokens_seen = 0
    bar = tqdm(range(total_steps), desc="course-gpt", mininterval=5)
    model.train()
    for step in bar:
        idx = order[(step * cfg.batch_size) % len(rows):][: cfg.batch_size]
        if len(idx) < cfg.batch_size:
            idx = order[: cfg.batch_size]
        batch = rows[idx]
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = model(batch, labels=batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        tokens_seen += batch.numel()
        if (step + 1) % cfg.eval_every == 0 or step + 1 == total_steps:
            metrics = evaluate(model, val, cfg, tokenizer, ioi_prompts_per_split)
            history.append({"step": step + 1, "tokens": tokens_seen, "train_loss": round(loss.item(), 4),
                            "elapsed_s": round(time.time() - started, 1),
                            **{k: round(v, 4) for k, v in metrics.items()}})
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{metrics['val_loss']:.3f}",
                            ioi=f"{metrics['ioi_heldout_accuracy']:.2f}/{metrics['ioi_heldout_logit_diff']:.2f}")
            tqdm.write(str(history[-1]))
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    final = history[-1]
    wall = time.time() - started
    card = write_card(
        out_dir, name="course-gpt", kind="hf-gpt2",
        architecture={"format": "GPT2LMHeadModel", "n_layer": cfg.n_layer, "d_model": cfg.d_model,
                      "n_head": cfg.n_head, "d_mlp": cfg.d_mlp, "n_ctx": cfg.n_ctx, "d_vocab": len(tokenizer),
                      "n_params": sum(p.numel() for p in model.parameters())},
        train_config={**cfg.to_dict(), "steps": total_steps},
        metrics={k: v for k, v in final.items() if k not in ("step",)} | {
            "tokens_per_second": round(tokens_seen / wall, 1), "corpus_tokens": len(stream)},
        history=history,
        provenance_info=provenance(started, corpus_seed=cfg.corpus_seed, corpus_sha256=digest,
                                   corpus_stories=cfg.n_stories))
    assert (out_dir / WEIGHTS_FILE).exists()
    return card["metrics"]
