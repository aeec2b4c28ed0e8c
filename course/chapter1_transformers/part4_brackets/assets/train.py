"""Train the `brackets` model of part 1.4: a 3-layer bidirectional transformer that says whether a bracket
string is balanced, read at position 0. The data come from the part's own seeded generator (no download).

    arena train brackets [--steps N] [--out DIR]
    python -m course.chapter1_transformers.part4_brackets.assets.train [--steps N] [--out DIR]

The full run (CONFIG.steps) takes a few minutes on one CPU thread; it writes model.safetensors and
card.json (architecture, training config, metrics, loss history) into the output folder."""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch as t
import torch.nn.functional as F
from tqdm.auto import tqdm

from course.chapter1_transformers.part4_brackets.data import MAX_LEN, N_CTX, BracketsDataset, generate_strings

NAME = "brackets"
OUT_DIR = Path(__file__).parent / "brackets"
ARCHITECTURE = dict(
    n_layers=3, d_model=56, n_ctx=N_CTX, d_head=28, n_heads=2, d_mlp=56, d_vocab=5, d_vocab_out=2,
    act_fn="relu", normalization_type="LN", attention_dir="bidirectional", seed=0,
)
NEAR_MISS = {"flip": 0.5, "swap": 0.5}


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 8000
    batch_size: int = 128
    length_window: int = 4   # each batch holds lengths within +-window of one centre (less padding, faster)
    lr: float = 3e-3
    min_lr: float = 3e-5
    warmup: int = 100
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    seed: int = 0           # torch seed; the batch at step s uses generator seed data_seed + s
    data_seed: int = 1_000_000
    eval_every: int = 250
    eval_size: int = 2000    # strings per evaluation during training (seed eval_seed)
    eval_seed: int = 7
    final_size: int = 100_000  # fresh strings for the final accuracy (seed final_seed)
    final_seed: int = 12_345
    near_miss_size: int = 20_000
    near_miss_seed: int = 54_321


CONFIG = TrainConfig()


def build_model(seed: int = 0):
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    return TransformerBridge.boot_native(TransformerBridgeConfig(**{**ARCHITECTURE, "seed": seed, "device": "cpu"}))


class FastTwin(t.nn.Module):
    """The same network as the TransformerBridge, written as plain PyTorch for fast training on a CPU.

    The bridge's forward costs ~0.3 s for a batch of 256 on one busy core (wrappers and hooks); this twin
    takes a few ms. Its parameter names and shapes are the bridge's `state_dict()` keys, so weights move
    between the two with `load_state_dict`; `train` checks both give the same logits before saving."""

    def __init__(self, state: dict[str, t.Tensor]):
        super().__init__()
        self.n_layers, self.n_heads = ARCHITECTURE["n_layers"], ARCHITECTURE["n_heads"]
        self.d_head, self.eps = ARCHITECTURE["d_head"], 1e-5
        self.params = t.nn.ParameterDict({k.replace(".", "__"): t.nn.Parameter(v.detach().clone())
                                          for k, v in state.items() if k != "unembed.bias"})
        self.register_buffer("unembed_bias", state["unembed.bias"].detach().clone())

    def p(self, name: str) -> t.Tensor:
        return self.params[name.replace(".", "__")]

    def ln(self, x: t.Tensor, name: str) -> t.Tensor:
        x = x - x.mean(-1, keepdim=True)
        x = x / (x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt()
        return x * self.p(f"{name}.weight") + self.p(f"{name}.bias")

    def linear(self, x: t.Tensor, name: str) -> t.Tensor:
        return F.linear(x, self.p(f"{name}.weight"), self.p(f"{name}.bias"))

    def forward(self, toks: t.Tensor, attention_mask: t.Tensor) -> t.Tensor:
        """Logits at position 0 only (shape batch, 1, 2): the classifier reads nothing else."""
        b, s = toks.shape
        x = self.p("embed.weight")[toks] + self.p("pos_embed.weight")[:s][None]
        key_ok = attention_mask.bool()[:, None, None, :]
        for i in range(self.n_layers):
            h = self.ln(x, f"blocks.{i}.ln1")
            q, k, v = (self.linear(h, f"blocks.{i}.attn.{n}").view(b, s, self.n_heads, self.d_head).transpose(1, 2)
                       for n in "qkv")
            if i == self.n_layers - 1:  # only position 0 is read: the last layer needs no other query
                q, x = q[:, :, :1], x[:, :1]
            scores = (q @ k.transpose(-1, -2)) / self.d_head ** 0.5
            pattern = scores.masked_fill(~key_ok, float("-inf")).softmax(-1)
            z = (pattern @ v).transpose(1, 2).reshape(b, x.shape[1], -1)
            x = x + self.linear(z, f"blocks.{i}.attn.o")
            h = self.ln(x, f"blocks.{i}.ln2")
            x = x + self.linear(F.relu(self.linear(h, f"blocks.{i}.mlp.in")), f"blocks.{i}.mlp.out")
        return F.linear(self.ln(x, "ln_final"), self.p("unembed.weight"), self.unembed_bias)

    def bridge_state_dict(self) -> dict[str, t.Tensor]:
        state = {k.replace("__", "."): v.detach().clone().contiguous() for k, v in self.params.items()}
        state["unembed.bias"] = self.unembed_bias.detach().clone().contiguous()
        return state


def logits_at_0(model, ds: BracketsDataset) -> t.Tensor:
    """Logits over (unbalanced, balanced) read at position 0, with the padding trimmed and masked."""
    width = int(ds.mask.sum(-1).max())
    return model(ds.toks[:, :width], attention_mask=ds.mask[:, :width])[:, 0]


@t.no_grad()
def accuracy(model, ds: BracketsDataset, batch_size: int = 5000) -> float:
    correct = 0
    for i in range(0, len(ds), batch_size):
        part = ds[i:i + batch_size]
        correct += int((logits_at_0(model, part).argmax(-1).bool() == part.isbal).sum())
    return correct / len(ds)


def batch_strings(cfg: TrainConfig, step: int) -> list[str]:
    """The training strings of one step: lengths within +-length_window of a centre drawn uniformly."""
    centre = 2 + 2 * (int(np_rng(cfg.data_seed + step).integers(MAX_LEN // 2)))
    lo, hi = max(2, centre - cfg.length_window), min(MAX_LEN, centre + cfg.length_window)
    return generate_strings(cfg.batch_size, cfg.data_seed + step, lengths=(lo, hi))[0]


def np_rng(seed: int):
    import numpy as np

    return np.random.default_rng([seed, 1])


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def train(out_dir: Path = OUT_DIR, steps: int | None = None) -> dict:
    """Train, evaluate and write model.safetensors + card.json into out_dir; returns the metrics."""
    from safetensors.torch import save_file

    from arena import zoo

    started = time.time()
    cfg = CONFIG if steps is None else dataclasses.replace(CONFIG, steps=steps)
    small = steps is not None and steps < CONFIG.steps
    t.manual_seed(cfg.seed)
    bridge = build_model(cfg.seed)  # the bridge's own initialisation, trained in its fast twin
    model = FastTwin(bridge.state_dict())
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = t.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                         {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=cfg.betas)
    eval_ds = BracketsDataset.generate(cfg.eval_size, cfg.eval_seed)
    history: list[dict] = []
    bar = tqdm(range(cfg.steps), desc="training brackets")
    for step in bar:
        ds = BracketsDataset(batch_strings(cfg, step))
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = F.cross_entropy(logits_at_0(model, ds), ds.isbal.long())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.steps - 1:
            model.eval()
            acc = accuracy(model, eval_ds)
            model.train()
            history.append({"step": step, "loss": round(loss.item(), 5), "eval_accuracy": acc})
            bar.set_postfix(loss=f"{loss.item():.4f}", acc=f"{acc:.4f}")
    model.eval()
    bridge.load_state_dict(model.bridge_state_dict(), strict=True)
    bridge.eval()
    check = BracketsDataset.generate(512, cfg.eval_seed + 1)
    with t.no_grad():
        gap = float((logits_at_0(bridge, check) - logits_at_0(model, check)).abs().max())
    if gap > 1e-3:
        raise RuntimeError(f"the fast twin and the TransformerBridge disagree (max logit gap {gap:.2e})")
    final_n = 2000 if small else cfg.final_size
    near_n = 1000 if small else cfg.near_miss_size
    fresh = BracketsDataset.generate(final_n, cfg.final_seed)
    near = BracketsDataset.generate(near_n, cfg.near_miss_seed, kinds=NEAR_MISS)
    metrics = {
        "fresh_accuracy": accuracy(model, fresh), "fresh_size": final_n, "fresh_seed": cfg.final_seed,
        "near_miss_accuracy": accuracy(model, near), "near_miss_size": near_n,
        "near_miss_seed": cfg.near_miss_seed, "final_loss": history[-1]["loss"], "twin_bridge_max_logit_gap": gap,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().clone().contiguous() for k, v in bridge.state_dict().items()},
              str(out_dir / zoo.WEIGHTS_FILE))
    zoo.write_card(out_dir, name=NAME, kind="native", architecture=dict(ARCHITECTURE),
                   train_config=dataclasses.asdict(cfg), metrics=metrics, history=history,
                   provenance_info=zoo.provenance(started, data="part4_brackets.data.generate_strings"))
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args()
    t.set_num_threads(1)
    print(train(args.out, args.steps))


if __name__ == "__main__":
    main()
