"""Trains `attn-only-2l`: a two-layer, attention-only TransformerBridge (native) with induction heads.

`arena train attn-only-2l [--steps N] [--out DIR]` re-runs it (7.4 minutes on two free CPU cores; three times
that on a busy machine). A quarter of every batch is course-corpus text (stories, packed into rows of
`n_ctx` tokens); the other three quarters are sequences that repeat: BOS, then a random run of 5-60
tokens tiled to the row's end, so that copying what followed an earlier occurrence pays off.
Pre-LayerNorm, N(0, 0.02) initialisation and AdamW with warm-up are what make induction appear quickly.
Everything is seeded: the same config gives the same corpus, batches, initialisation and (on the same
torch build) the same weights.

Training runs on `FastAttnOnly`, a plain-PyTorch twin of the bridge with the same state-dict keys;
evaluation and saving use the TransformerBridge itself. The card records, every `eval_every` steps, the
previous-token and induction scores of every head and the loss on each half of repeated random tokens;
`checkpoints.safetensors` keeps a few snapshots (float16) around the phase change, chosen from that
history, for the lesson's bonus plot."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from arena.zoo import WEIGHTS_FILE, provenance, write_card

NAME = "attn-only-2l"
PART_DIR = Path(__file__).resolve().parents[1]
TOKENIZER_DIR = PART_DIR.parent / "zoo" / "weights" / "tokenizer"
CHECKPOINTS_FILE = "checkpoints.safetensors"

ARCHITECTURE: dict = dict(
    n_layers=2, d_model=128, n_heads=4, d_head=32, n_ctx=128, d_vocab=1058, attn_only=True,
    normalization_type="LN", positional_embedding_type="standard", seed=0,
)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    steps: int = 1500
    batch_size: int = 64
    repeat_fraction: float = 0.75  # share of each batch that is tiled random tokens
    min_period: int = 5
    max_period: int = 60
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup: int = 200
    betas: tuple[float, float] = (0.9, 0.98)
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    init_std: float = 0.02
    n_stories: int = 40_000
    corpus_seed: int = 0
    eval_every: int = 50
    eval_seq_len: int = 50
    eval_batch: int = 20
    n_checkpoints: int = 5


class FastAttnOnly(nn.Module):
    """A plain-PyTorch twin of the native attention-only TransformerBridge, with the same state-dict keys.

    Training runs on this twin (no hook machinery, fused attention: about twice as fast on a CPU);
    the weights then load into the TransformerBridge unchanged (outputs agree to float precision)."""

    def __init__(self, arch: dict) -> None:
        super().__init__()
        d, H, dh, V = arch["d_model"], arch["n_heads"], arch["d_head"], arch["d_vocab"]
        self.n_heads, self.d_head = H, dh
        self.embed, self.pos_embed = nn.Embedding(V, d), nn.Embedding(arch["n_ctx"], d)
        self.blocks = nn.ModuleList()
        for _ in range(arch["n_layers"]):
            block = nn.Module()
            block.ln1, block.attn = nn.LayerNorm(d, eps=1e-5), nn.Module()
            for name in "qkv":
                setattr(block.attn, name, nn.Linear(d, H * dh))
            block.attn.o = nn.Linear(H * dh, d)
            self.blocks.append(block)
        self.ln_final = nn.LayerNorm(d, eps=1e-5)
        self.unembed = nn.Module()
        self.unembed.weight = nn.Parameter(torch.zeros(V, d))
        self.unembed.register_buffer("bias", torch.zeros(V))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T = tokens.shape
        x = self.embed(tokens) + self.pos_embed.weight[:T]
        for block in self.blocks:
            h = block.ln1(x)
            q, k, v = (lin(h).view(B, T, self.n_heads, self.d_head).transpose(1, 2)
                       for lin in (block.attn.q, block.attn.k, block.attn.v))
            z = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + block.attn.o(z.transpose(1, 2).reshape(B, T, -1))
        return self.ln_final(x) @ self.unembed.weight.T + self.unembed.bias


def build_model(arch: dict = ARCHITECTURE, init_std: float = 0.02):
    """A freshly initialised model: N(0, init_std) matrices, zero biases, unit LayerNorm gains."""
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    from arena.zoo import load_tokenizer_dir

    model = TransformerBridge.boot_native(
        TransformerBridgeConfig(**{**arch, "device": "cpu"}), tokenizer=load_tokenizer_dir(TOKENIZER_DIR))
    gen = torch.Generator().manual_seed(arch["seed"])
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if ".ln" in key or key.startswith("ln_"):
                continue
            if key.endswith("bias"):
                tensor.zero_()
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * init_std)
    return model


def lr_at(step: int, cfg: TrainConfig, total: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, total - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def repeated_rows(n: int, n_ctx: int, d_vocab: int, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """BOS, then a random run of tokens (period 5-60) tiled to fill the row."""
    rows = torch.zeros(n, n_ctx, dtype=torch.long)
    periods = torch.randint(cfg.min_period, cfg.max_period + 1, (n,), generator=gen)
    for i, period in enumerate(periods.tolist()):
        run = torch.randint(1, d_vocab, (period,), generator=gen)
        rows[i, 1:] = run.repeat(math.ceil((n_ctx - 1) / period))[: n_ctx - 1]
    return rows


def repeated_random_tokens(seq_len: int, batch: int, d_vocab: int, seed: int) -> torch.Tensor:
    """BOS followed by the same `seq_len` random tokens twice: [batch, 1 + 2*seq_len]."""
    gen = torch.Generator().manual_seed(seed)
    half = torch.randint(1, d_vocab, (batch, seq_len), generator=gen)
    return torch.cat([torch.zeros(batch, 1, dtype=torch.long), half, half], dim=1)


@torch.no_grad()
def head_scores(model, seq_len: int = 50, batch: int = 20, seed: int = 1234) -> dict:
    """Previous-token and induction scores of every head, and the loss on each half, on repeated random tokens."""
    tokens = repeated_random_tokens(seq_len, batch, model.cfg.d_vocab, seed)
    logits, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    prev, induction = [], []
    for layer in range(model.cfg.n_layers):
        pattern = cache["pattern", layer]  # [batch, head, q, k]
        prev.append(pattern.diagonal(offset=-1, dim1=-2, dim2=-1).mean((0, -1)))
        # from each token of the second copy (positions seq_len+1 ..) to the token after its first occurrence
        induction.append(pattern[..., seq_len + 1:, :].diagonal(offset=2, dim1=-2, dim2=-1).mean((0, -1)))
    logprobs = logits.log_softmax(-1)[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    return {
        "prev_token_scores": torch.stack(prev).tolist(),
        "induction_scores": torch.stack(induction).tolist(),
        "loss_first_half": -logprobs[:, :seq_len].mean().item(),
        "loss_second_half": -logprobs[:, seq_len:].mean().item(),
    }


@torch.no_grad()
def text_loss(model, rows: torch.Tensor) -> float:
    return model(rows, return_type="loss").item()


def choose_checkpoints(history: list[dict], n: int) -> list[int]:
    """Steps to keep: the first evaluation, the last, and those where the best induction score
    first crosses evenly spaced levels between its start and end (the phase change)."""
    best = [max(h["induction_scores"][-1]) for h in history]
    steps = [history[0]["step"], history[-1]["step"]]
    lo, hi = best[0], best[-1]
    for level in [lo + (hi - lo) * (i + 1) / (n - 1) for i in range(n - 2)]:
        step = next(h["step"] for h, b in zip(history, best, strict=True) if b >= level)
        if step not in steps:
            steps.append(step)
    return sorted(steps)


def train(out_dir: Path, steps: int | None = None, cfg: TrainConfig = TrainConfig(),
          threads: int | None = None) -> dict:
    """Train attn-only-2l into out_dir (model.safetensors, card.json, checkpoints.safetensors)."""
    from safetensors.torch import save_file

    from course.chapter1_transformers.zoo.train_lm import token_stream

    started = time.time()
    if threads:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = steps or cfg.steps
    torch.manual_seed(cfg.seed)
    model = build_model(ARCHITECTURE, cfg.init_std)  # the TransformerBridge: evaluation and saving
    fast = FastAttnOnly(ARCHITECTURE)  # its plain-torch twin: training
    fast.load_state_dict(model.state_dict(), strict=True)
    n_ctx, d_vocab = ARCHITECTURE["n_ctx"], ARCHITECTURE["d_vocab"]
    n_stories = cfg.n_stories if steps is None or steps >= 200 else 500
    stream, digest = token_stream(model.tokenizer, n_stories, cfg.corpus_seed)
    text_rows = stream[: (len(stream) // n_ctx) * n_ctx].view(-1, n_ctx)
    val_rows = text_rows[-64:]
    text_rows = text_rows[:-64]
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(text_rows), generator=gen)
    n_rep = int(cfg.batch_size * cfg.repeat_fraction)
    n_text = cfg.batch_size - n_rep
    decay = [p for p in fast.parameters() if p.dim() >= 2]
    no_decay = [p for p in fast.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)

    history: list[dict] = []
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def evaluate(step: int, train_loss: float | None) -> None:
        model.load_state_dict(fast.state_dict(), strict=True)
        model.eval()
        scores = head_scores(model, cfg.eval_seq_len, cfg.eval_batch)
        rounded = {k: ([[round(x, 4) for x in row] for row in v] if isinstance(v, list) else round(v, 4))
                   for k, v in scores.items()}
        history.append({"step": step, "tokens": step * cfg.batch_size * n_ctx, "train_loss": train_loss,
                        "text_loss": round(text_loss(model, val_rows), 4), **rounded})
        snapshots[step] = {k: v.detach().to(torch.float16).clone().contiguous()
                           for k, v in model.state_dict().items()}

    evaluate(0, None)
    bar = tqdm(range(total), desc=NAME, mininterval=5)
    fast.train()
    for step in bar:
        idx = order[(step * n_text) % len(order):][:n_text]
        if len(idx) < n_text:
            idx = order[:n_text]
        batch = torch.cat([text_rows[idx], repeated_rows(n_rep, n_ctx, d_vocab, cfg, gen)])
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg, total)
        logits = fast(batch)
        loss = nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(fast.parameters(), cfg.grad_clip)
        opt.step()
        if (step + 1) % cfg.eval_every == 0 or step + 1 == total:
            evaluate(step + 1, round(loss.item(), 4))
            last = history[-1]
            bar.set_postfix(loss=f"{loss.item():.3f}", ind=f"{max(last['induction_scores'][1]):.2f}",
                            prev=f"{max(last['prev_token_scores'][0]):.2f}")
            print({k: last[k] for k in ("step", "train_loss", "text_loss", "loss_first_half",
                                        "loss_second_half")},
                  "ind", last["induction_scores"][1], "prev", last["prev_token_scores"][0], flush=True)

    save_file({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              str(out_dir / WEIGHTS_FILE))
    kept = choose_checkpoints(history, cfg.n_checkpoints)
    save_file({f"step{s}/{k}": v for s in kept for k, v in snapshots[s].items()},
              str(out_dir / CHECKPOINTS_FILE), metadata={"steps": ",".join(map(str, kept))})
    final = history[-1]
    metrics = {
        "steps": total, "text_loss": final["text_loss"],
        "loss_first_half": final["loss_first_half"], "loss_second_half": final["loss_second_half"],
        "prev_token_scores": final["prev_token_scores"], "induction_scores": final["induction_scores"],
        "checkpoint_steps": kept, "tokens": final["tokens"],
    }
    card = write_card(
        out_dir, name=NAME, kind="native", architecture=dict(ARCHITECTURE),
        train_config={**asdict(cfg), "steps": total}, metrics=metrics, history=history,
        provenance_info=provenance(started, corpus_seed=cfg.corpus_seed, corpus_sha256=digest,
                                   corpus_stories=n_stories))
    return card["metrics"]


if __name__ == "__main__":
    import sys

    torch.set_num_threads(1)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "attn-only-2l"
    n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print(train(target, n_steps))
