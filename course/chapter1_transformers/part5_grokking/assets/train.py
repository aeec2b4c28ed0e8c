"""Train the grokking model: (a + b) mod 113 with a one-layer transformer, as in Nanda et al. (2023).

`python -m course.chapter1_transformers.part5_grokking.assets.train [--out DIR] [--epochs N]`, or
`arena train grokking [--steps N]`. Seeded and deterministic on one CPU thread: the same seed gives the
same weights. Uses a GPU when there is one (results then differ in the last bits, not in the story).

Inputs are `[a, b, =]` (token 113 is `=`), the target is (a + b) mod p read at the last position. The
model is a native TransformerBridge (1 layer, 4 heads, d_model 128, d_mlp 512, ReLU, no LayerNorm,
learned positions, every bias frozen at zero). For speed we train a plain-torch twin whose parameters are
the bridge's state dict, key for key (a test checks that both give the same logits):

* only the last position's output enters the loss, and in a one-layer model the keys and values at
  positions 0 and 1 depend only on `a` and `b`, so attention is computed once per *token*
  (113 keys per position) instead of once per pair, and gathered;
* `torch.set_flush_denormal(True)`: late in training tiny float32 values in the backward pass would
  otherwise double the step time;
* the loss is computed in float64 (float32 log-softmax spikes once losses reach ~1e-7).

Training is full batch (30 % of the 12,769 pairs), AdamW (weight decay 1.0, betas 0.9/0.98, 10 warm-up
steps, lr 3e-3: with the paper's 1e-3 this seed had not grokked after 11,800 epochs, an hour on a CPU).
It runs until the test accuracy first reaches 99 %, then `extra_fraction` as many epochs again (at least
`min_extra`), capped at `max_epochs`. Every epoch's train and test loss go into
`checkpoints.safetensors`, with a thinned series of float16 checkpoints.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

NAME = "grokking"


@dataclass(frozen=True)
class GrokConfig:
    p: int = 113
    frac_train: float = 0.3
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    lr: float = 3e-3  # the paper's 1e-3 had not grokked after 11.8k epochs here (test loss 25 -> 17.8): see README
    weight_decay: float = 1.0
    betas: tuple[float, float] = (0.9, 0.98)
    warmup: int = 10
    seed: int = 1  # model init (TransformerBridgeConfig.seed)
    data_seed: int = 598  # which 30 % of pairs are training data
    grok_threshold: float = 0.99
    extra_fraction: float = 0.5  # keep training this fraction of the grokking epoch after grokking
    min_extra: int = 1000
    eval_every: int = 1  # test loss/accuracy every this many epochs (train loss: every epoch)
    max_epochs: int = 20_000
    checkpoint_every: int = 100  # kept in memory; thinned to at most `max_checkpoints` for shipping
    max_checkpoints: int = 28

    def to_dict(self) -> dict:
        return asdict(self)


CONFIG = GrokConfig()


def architecture(cfg: GrokConfig = CONFIG) -> dict:
    """The exact TransformerBridgeConfig kwargs (without device) of the shipped model."""
    return dict(n_layers=1, d_model=cfg.d_model, n_ctx=3, d_head=cfg.d_head, n_heads=cfg.n_heads,
                d_mlp=cfg.d_mlp, d_vocab=cfg.p + 1, d_vocab_out=cfg.p, act_fn="relu",
                normalization_type=None, positional_embedding_type="standard", seed=cfg.seed)


def all_pairs(p: int) -> Tensor:
    """Every input `[a, b, =]`, row a*p + b, shape [p*p, 3]."""
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    return torch.stack([a, b, torch.full_like(a, p)], dim=1)


def split_indices(cfg: GrokConfig = CONFIG) -> tuple[Tensor, Tensor]:
    """(train, test) row indices into `all_pairs(p)`, from `data_seed`."""
    perm = torch.randperm(cfg.p * cfg.p, generator=torch.Generator().manual_seed(cfg.data_seed))
    n_train = int(cfg.frac_train * cfg.p * cfg.p)
    return perm[:n_train].sort().values, perm[n_train:].sort().values


class FastGrokModel(nn.Module):
    """The bridge's forward pass at the last position, computed per token; parameters = its state dict."""

    BIASES = ("blocks.0.attn.q.bias", "blocks.0.attn.k.bias", "blocks.0.attn.v.bias", "blocks.0.attn.o.bias",
              "blocks.0.mlp.in.bias", "blocks.0.mlp.out.bias")

    def __init__(self, state_dict: dict[str, Tensor], n_heads: int):
        super().__init__()
        self.keys = list(state_dict)
        self.n_heads = n_heads
        self.params = nn.ParameterList([nn.Parameter(v.detach().clone().float()) for v in state_dict.values()])
        for key, param in zip(self.keys, self.params, strict=True):
            if key in self.BIASES or key == "unembed.bias":
                param.requires_grad_(False)  # "no biases": kept at zero

    def get(self, key: str) -> Tensor:
        return self.params[self.keys.index(key)]

    def bridge_state_dict(self) -> dict[str, Tensor]:
        return {k: p.detach().clone().contiguous() for k, p in zip(self.keys, self.params, strict=True)}

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Logits at the `=` position for inputs `[a, b, =]`, shape [batch, p]."""
        g, h = self.get, self.n_heads
        W_E, W_pos = g("embed.weight"), g("pos_embed.weight")
        p = W_E.shape[0] - 1
        x0 = W_E[:p] + W_pos[0]  # [p, d]   residual at position 0 for each token value
        x1 = W_E[:p] + W_pos[1]
        x2 = W_E[p] + W_pos[2]   # [d]      the '=' position
        lin = nn.functional.linear
        q = lin(x2, g("blocks.0.attn.q.weight"), g("blocks.0.attn.q.bias")).view(h, -1)  # [h, dh]
        scale = q.shape[-1] ** -0.5
        wk, bk = g("blocks.0.attn.k.weight"), g("blocks.0.attn.k.bias")
        wv, bv = g("blocks.0.attn.v.weight"), g("blocks.0.attn.v.bias")
        k0, k1, k2 = (lin(x, wk, bk).view(*x.shape[:-1], h, -1) for x in (x0, x1, x2))
        v0, v1, v2 = (lin(x, wv, bv).view(*x.shape[:-1], h, -1) for x in (x0, x1, x2))
        s0 = (k0 * q).sum(-1) * scale  # [p, h]
        s1 = (k1 * q).sum(-1) * scale
        s2 = (k2 * q).sum(-1) * scale  # [h]
        scores = torch.stack([s0[a], s1[b], s2.expand(a.shape[0], h)], dim=-1)  # [batch, h, 3]
        pattern = scores.softmax(-1)
        z = (pattern[..., 0:1] * v0[a] + pattern[..., 1:2] * v1[b] + pattern[..., 2:3] * v2)  # [batch, h, dh]
        attn_out = lin(z.flatten(1), g("blocks.0.attn.o.weight"), g("blocks.0.attn.o.bias"))
        resid = x2 + attn_out
        post = torch.relu(lin(resid, g("blocks.0.mlp.in.weight"), g("blocks.0.mlp.in.bias")))
        resid = resid + lin(post, g("blocks.0.mlp.out.weight"), g("blocks.0.mlp.out.bias"))
        return lin(resid, g("unembed.weight"), g("unembed.bias"))


class PlainGrokModel(nn.Module):
    """The same network written with plain torch.nn layers, all three positions (a textbook transformer).

    `load_bridge_state_dict` takes the bridge's state dict; used by `arena bench 1.5` and the tests."""

    def __init__(self, p: int = 113, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512):
        super().__init__()
        self.n_heads = n_heads
        self.embed = nn.Embedding(p + 1, d_model)
        self.pos_embed = nn.Parameter(torch.zeros(3, d_model))
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.o = nn.Linear(d_model, d_model, bias=False)
        self.mlp_in = nn.Linear(d_model, d_mlp, bias=False)
        self.mlp_out = nn.Linear(d_mlp, d_model, bias=False)
        self.unembed = nn.Linear(d_model, p, bias=False)

    def load_bridge_state_dict(self, sd: dict[str, Tensor]) -> PlainGrokModel:
        with torch.no_grad():
            self.embed.weight.copy_(sd["embed.weight"])
            self.pos_embed.copy_(sd["pos_embed.weight"])
            self.qkv.weight.copy_(torch.cat([sd[f"blocks.0.attn.{x}.weight"] for x in "qkv"]))
            self.o.weight.copy_(sd["blocks.0.attn.o.weight"])
            self.mlp_in.weight.copy_(sd["blocks.0.mlp.in.weight"])
            self.mlp_out.weight.copy_(sd["blocks.0.mlp.out.weight"])
            self.unembed.weight.copy_(sd["unembed.weight"])
        return self

    def forward(self, tokens: Tensor) -> Tensor:
        """Logits [batch, 3, p] (biases are zero in the shipped model, so they are left out)."""
        x = self.embed(tokens) + self.pos_embed
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        z = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(z.transpose(1, 2).reshape(b, t, d))
        x = x + self.mlp_out(torch.relu(self.mlp_in(x)))
        return self.unembed(x)


def loss_and_acc(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Mean cross-entropy (computed in float64) and accuracy."""
    logprobs = logits.double().log_softmax(-1)
    loss = -logprobs.gather(-1, labels[:, None]).mean()
    return loss, (logits.argmax(-1) == labels).float().mean()


def initial_state_dict(cfg: GrokConfig = CONFIG) -> dict[str, Tensor]:
    from transformer_lens import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    model = TransformerBridge.boot_native(TransformerBridgeConfig(**architecture(cfg), device="cpu"))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def thin(epochs: list[int], max_keep: int) -> list[int]:
    """At most `max_keep` of the saved epochs: the first, the last and an even spread between."""
    if len(epochs) <= max_keep:
        return list(epochs)
    stride = math.ceil((len(epochs) - 1) / (max_keep - 2))
    kept = list(epochs[::stride])
    return kept if kept[-1] == epochs[-1] else kept + [epochs[-1]]

def train(out_dir: Path, steps: int | None = None, cfg: GrokConfig = CONFIG, progress: bool = True) -> dict:
    """Train, then write model.safetensors, checkpoints.safetensors and card.json into `out_dir`.

    `steps` caps the number of epochs (a short trial run; it will not grok)."""
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    from arena.zoo import provenance, write_card

    started = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_flush_denormal(True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)
    max_epochs = cfg.max_epochs if steps is None else min(steps, cfg.max_epochs)

    model = FastGrokModel(initial_state_dict(cfg), cfg.n_heads).to(device)
    pairs = all_pairs(cfg.p).to(device)
    labels = (pairs[:, 0] + pairs[:, 1]) % cfg.p
    train_idx, test_idx = (i.to(device) for i in split_indices(cfg))
    a_tr, b_tr, y_tr = pairs[train_idx, 0], pairs[train_idx, 1], labels[train_idx]
    a_te, b_te, y_te = pairs[test_idx, 0], pairs[test_idx, 1], labels[test_idx]
    trainable = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=cfg.betas)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(step / cfg.warmup, 1.0))

    hist: dict[str, list] = {k: [] for k in ("train_loss", "train_acc", "test_epochs", "test_loss", "test_acc")}
    checkpoints: dict[int, dict[str, Tensor]] = {0: model.bridge_state_dict()}
    grok_epoch, stop_at = None, max_epochs
    bar = tqdm(range(max_epochs), desc="grokking", disable=not progress, mininterval=2.0)
    step_times = []
    for epoch in bar:  # history[e] describes the weights after e updates
        if epoch % cfg.eval_every == 0:
            with torch.inference_mode():
                test_loss, test_acc = loss_and_acc(model(a_te, b_te), y_te)
            hist["test_epochs"].append(epoch)
            hist["test_loss"].append(test_loss.item())
            hist["test_acc"].append(test_acc.item())
        t0 = time.perf_counter()
        train_loss, train_acc = loss_and_acc(model(a_tr, b_tr), y_tr)
        train_loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
        step_times.append(time.perf_counter() - t0)
        hist["train_loss"].append(train_loss.item())
        hist["train_acc"].append(train_acc.item())
        if grok_epoch is None and test_acc.item() >= cfg.grok_threshold:
            grok_epoch = epoch
            extra = max(cfg.min_extra, int(cfg.extra_fraction * grok_epoch))
            stop_at = min(max_epochs, -(-(grok_epoch + extra) // cfg.checkpoint_every) * cfg.checkpoint_every)
        done = epoch + 1
        if done % cfg.checkpoint_every == 0:
            checkpoints[done] = model.bridge_state_dict()
        if done % 50 == 0:
            bar.set_postfix(train=f"{train_loss.item():.2e}", test=f"{test_loss.item():.2e}",
                            acc=f"{test_acc.item():.3f}")
        if done >= stop_at:
            break
    bar.close()
    epochs_run = len(hist["train_loss"])  # the final weights have had this many updates
    checkpoints[epochs_run] = model.bridge_state_dict()

    save_file(model.bridge_state_dict(), str(out_dir / "model.safetensors"))
    kept = thin(sorted(checkpoints), cfg.max_checkpoints)
    series: dict[str, Tensor] = {k: torch.tensor(v, dtype=torch.int64 if k == "test_epochs" else torch.float32)
                                 for k, v in hist.items()}
    series["checkpoint_epochs"] = torch.tensor(kept, dtype=torch.int64)
    series["train_indices"] = train_idx.cpu()
    for key in checkpoints[0]:
        series[f"checkpoints.{key}"] = torch.stack([checkpoints[e][key] for e in kept]).half().cpu()
    save_file(series, str(out_dir / "checkpoints.safetensors"))

    with torch.inference_mode():  # the final weights (after `epochs_run` updates)
        logits = model(pairs[:, 0], pairs[:, 1])
        final_train = loss_and_acc(logits[train_idx], y_tr)
        final_test = loss_and_acc(logits[test_idx], y_te)
    metrics = {
        "epochs": epochs_run,
        "grok_epoch": grok_epoch,
        "full_accuracy": round((logits.argmax(-1) == labels).float().mean().item(), 6),
        "final_train_loss": final_train[0].item(), "final_test_loss": final_test[0].item(),
        "final_train_acc": final_train[1].item(), "final_test_acc": final_test[1].item(),
        "n_train": int(train_idx.numel()), "n_test": int(test_idx.numel()),
    }
    median_ms = 1000 * sorted(step_times)[len(step_times) // 2]
    write_card(out_dir, name=NAME, kind="native", architecture=architecture(cfg), train_config=cfg.to_dict(),
               metrics=metrics, history={"checkpoints_file": "checkpoints.safetensors",
                                         "checkpoint_epochs": kept},
               provenance_info=provenance(started, median_step_ms=round(median_ms, 1), device_used=device))
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / NAME)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    print(train(args.out, steps=args.epochs))


if __name__ == "__main__":
    main()
