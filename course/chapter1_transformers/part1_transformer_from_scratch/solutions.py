"""Part 1.1 — a GPT-2-style transformer from scratch: the modules, a trainer, sampling, beam search
and a key-value cache. Parameter names follow TransformerLens, so course-gpt's weights (and GPT-2
small's) load into these modules one to one."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import einops
import torch
import wandb
from jaxtyping import Bool, Float, Int
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

# ------------------------------------------------------------------ 2️⃣ the modules


@dataclass
class Config:
    """The hyperparameters of a GPT-2-style model. The defaults are course-gpt's."""

    d_model: int = 192
    debug: bool = False
    layer_norm_eps: float = 1e-5
    d_vocab: int = 1058
    init_range: float = 0.02
    n_ctx: int = 128
    d_head: int = 32
    d_mlp: int = 768
    n_heads: int = 6
    n_layers: int = 4


def config_from_reference(model: Any) -> Config:
    """The Config of a TransformerBridge (course-gpt, GPT-2 small...): the sizes our modules need."""
    c = model.cfg
    return Config(d_model=c.d_model, layer_norm_eps=c.eps, d_vocab=c.d_vocab, n_ctx=c.n_ctx, d_head=c.d_head,
                  d_mlp=c.d_mlp, n_heads=c.n_heads, n_layers=c.n_layers)


def load_reference_weights(module: nn.Module, reference: Any, prefix: str = "") -> nn.Module:
    """Copy a TransformerBridge's weights into `module` by TransformerLens name (`blocks.0.attn.W_Q`, ...).

    `prefix` picks a sub-module of the reference: e.g. prefix="blocks.1.attn" fills an Attention."""
    weights = reference.tl_parameters()
    start = f"{prefix}." if prefix else ""
    state = {k[len(start):]: v.detach().clone() for k, v in weights.items() if k.startswith(start)}
    module.load_state_dict(state, strict=False)
    missing = [n for n, _ in module.named_parameters() if n not in state]
    if missing:
        raise KeyError(f"no reference weight for {missing} (names must follow TransformerLens)")
    return module


class LayerNorm(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.w = nn.Parameter(torch.ones(cfg.d_model))
        self.b = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, residual: Float[Tensor, "batch posn d_model"]) -> Float[Tensor, "batch posn d_model"]:
        """Centre each vector, divide it by sqrt(variance + eps) (the biased variance: divide by d_model),
        then scale by w and shift by b."""
        # SOLUTION
        centred = residual - residual.mean(dim=-1, keepdim=True)
        scale = (centred.pow(2).mean(dim=-1, keepdim=True) + self.cfg.layer_norm_eps).sqrt()
        return centred / scale * self.w + self.b
        # END SOLUTION


class Embed(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.W_E = nn.Parameter(torch.empty((cfg.d_vocab, cfg.d_model)))
        nn.init.normal_(self.W_E, std=cfg.init_range)

    def forward(self, tokens: Int[Tensor, "batch position"]) -> Float[Tensor, "batch position d_model"]:
        """The embedding vector (a row of W_E) of every token."""
        # SOLUTION
        return self.W_E[tokens]
        # END SOLUTION


class PosEmbed(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.W_pos = nn.Parameter(torch.empty((cfg.n_ctx, cfg.d_model)))
        nn.init.normal_(self.W_pos, std=cfg.init_range)

    def forward(self, tokens: Int[Tensor, "batch position"]) -> Float[Tensor, "batch position d_model"]:
        """The positional embedding of positions 0 .. position-1, the same for every sequence of the batch."""
        # SOLUTION
        batch, seq_len = tokens.shape
        return einops.repeat(self.W_pos[:seq_len], "seq d_model -> batch seq d_model", batch=batch)
        # END SOLUTION


class Attention(nn.Module):
    IGNORE: Float[Tensor, ""]

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.W_Q = nn.Parameter(torch.empty((cfg.n_heads, cfg.d_model, cfg.d_head)))
        self.W_K = nn.Parameter(torch.empty((cfg.n_heads, cfg.d_model, cfg.d_head)))
        self.W_V = nn.Parameter(torch.empty((cfg.n_heads, cfg.d_model, cfg.d_head)))
        self.W_O = nn.Parameter(torch.empty((cfg.n_heads, cfg.d_head, cfg.d_model)))
        self.b_Q = nn.Parameter(torch.zeros((cfg.n_heads, cfg.d_head)))
        self.b_K = nn.Parameter(torch.zeros((cfg.n_heads, cfg.d_head)))
        self.b_V = nn.Parameter(torch.zeros((cfg.n_heads, cfg.d_head)))
        self.b_O = nn.Parameter(torch.zeros(cfg.d_model))
        for w in (self.W_Q, self.W_K, self.W_V, self.W_O):
            nn.init.normal_(w, std=cfg.init_range)
        self.register_buffer("IGNORE", torch.tensor(float("-inf")), persistent=False)

    def forward(self, normalized_resid_pre: Float[Tensor, "batch posn d_model"]) -> Float[Tensor, "batch posn d_model"]:
        """Causal multi-head self-attention.

        Queries, keys and values per head (with their biases); scores q.k divided by sqrt(d_head);
        then self.apply_causal_mask on those *scaled* scores; softmax over the key positions; the
        pattern-weighted sum of values (z); each head's z through its own W_O, summed over heads, plus b_O."""
        # SOLUTION
        x = normalized_resid_pre
        q = einops.einsum(x, self.W_Q, "b p d, n d h -> b p n h") + self.b_Q
        k = einops.einsum(x, self.W_K, "b p d, n d h -> b p n h") + self.b_K
        v = einops.einsum(x, self.W_V, "b p d, n d h -> b p n h") + self.b_V
        scores = einops.einsum(q, k, "b q n h, b k n h -> b n q k") / math.sqrt(self.cfg.d_head)
        pattern = self.apply_causal_mask(scores).softmax(dim=-1)
        z = einops.einsum(pattern, v, "b n q k, b k n h -> b q n h")
        return einops.einsum(z, self.W_O, "b q n h, n h d -> b q d") + self.b_O
        # END SOLUTION

    def apply_causal_mask(self, attn_scores: Float[Tensor, "batch n_heads query_pos key_pos"]
                          ) -> Float[Tensor, "batch n_heads query_pos key_pos"]:
        """Set every score of a key that comes *after* its query (key_pos > query_pos) to self.IGNORE."""
        # SOLUTION
        q_len, k_len = attn_scores.shape[-2:]
        future = torch.ones(q_len, k_len, dtype=torch.bool, device=attn_scores.device).triu(diagonal=1)
        return attn_scores.masked_fill(future, self.IGNORE)
        # END SOLUTION


def gelu_new(x: Float[Tensor, "..."]) -> Float[Tensor, "..."]:
    """GPT-2's GELU: the tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.W_in = nn.Parameter(torch.empty((cfg.d_model, cfg.d_mlp)))
        self.W_out = nn.Parameter(torch.empty((cfg.d_mlp, cfg.d_model)))
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.b_out = nn.Parameter(torch.zeros(cfg.d_model))
        nn.init.normal_(self.W_in, std=cfg.init_range)
        nn.init.normal_(self.W_out, std=cfg.init_range)

    def forward(self, normalized_resid_mid: Float[Tensor, "batch posn d_model"]) -> Float[Tensor, "batch posn d_model"]:
        """x W_in + b_in, then GPT-2's GELU (`gelu_new` above), then W_out + b_out."""
        # SOLUTION
        pre = einops.einsum(normalized_resid_mid, self.W_in, "b p d, d m -> b p m") + self.b_in
        return einops.einsum(gelu_new(pre), self.W_out, "b p m, m d -> b p d") + self.b_out
        # END SOLUTION


class TransformerBlock(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.ln1 = LayerNorm(cfg)
        self.attn = Attention(cfg)
        self.ln2 = LayerNorm(cfg)
        self.mlp = MLP(cfg)

    def forward(self, resid_pre: Float[Tensor, "batch position d_model"]) -> Float[Tensor, "batch position d_model"]:
        """Pre-LayerNorm block: the attention layer reads ln1(resid) and adds to the residual stream,
        then the MLP reads ln2(resid) and adds to it."""
        # SOLUTION
        resid_mid = resid_pre + self.attn(self.ln1(resid_pre))
        return resid_mid + self.mlp(self.ln2(resid_mid))
        # END SOLUTION


class Unembed(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.W_U = nn.Parameter(torch.empty((cfg.d_model, cfg.d_vocab)))
        nn.init.normal_(self.W_U, std=cfg.init_range)
        self.b_U = nn.Parameter(torch.zeros(cfg.d_vocab))

    def forward(self, normalized_resid_final: Float[Tensor, "batch position d_model"]
                ) -> Float[Tensor, "batch position d_vocab"]:
        """The logits: x W_U + b_U."""
        # SOLUTION
        return einops.einsum(normalized_resid_final, self.W_U, "b p d, d v -> b p v") + self.b_U
        # END SOLUTION


class DemoTransformer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.embed = Embed(cfg)
        self.pos_embed = PosEmbed(cfg)
        self.blocks = nn.ModuleList([TransformerBlock(cfg) for _ in range(cfg.n_layers)])
        self.ln_final = LayerNorm(cfg)
        self.unembed = Unembed(cfg)

    def forward(self, tokens: Int[Tensor, "batch position"]) -> Float[Tensor, "batch position d_vocab"]:
        """Token and positional embeddings, the blocks in order, the final LayerNorm, the unembedding."""
        # SOLUTION
        residual = self.embed(tokens) + self.pos_embed(tokens)
        for block in self.blocks:
            residual = block(residual)
        return self.unembed(self.ln_final(residual))
        # END SOLUTION


def demo_from_reference(reference: Any, cls: type[nn.Module] | None = None) -> nn.Module:
    """A DemoTransformer (or subclass `cls`) holding a TransformerBridge's weights, in eval mode."""
    model = (cls or DemoTransformer)(config_from_reference(reference))
    return load_reference_weights(model, reference).eval()


# ------------------------------------------------------------------ 3️⃣ training


def get_log_probs(logits: Float[Tensor, "batch posn d_vocab"], tokens: Int[Tensor, "batch posn"]
                  ) -> Float[Tensor, "batch posn-1"]:
    """The log-probability the model gave to each actual next token (position i predicts token i+1)."""
    log_probs = logits.log_softmax(dim=-1)
    return log_probs[:, :-1].gather(dim=-1, index=tokens[:, 1:].unsqueeze(-1)).squeeze(-1)


def tokenize_corpus(tokenizer: Any, n_stories: int, seq_len: int, seed: int = 0) -> Int[Tensor, "rows seq_len"]:
    """The course corpus as rows of `seq_len` token ids: stories joined, each after a BOS token."""
    from course.chapter1_transformers.zoo.corpus import BOS, corpus_text

    docs = [d for d in corpus_text(n_stories, seed).split(BOS) if d]
    ids: list[int] = []
    for seq in tokenizer(docs)["input_ids"]:
        ids += [tokenizer.bos_token_id, *seq]
    n_rows = len(ids) // seq_len
    return torch.tensor(ids[: n_rows * seq_len], dtype=torch.long).view(n_rows, seq_len)


def wandb_mode() -> str:
    """W&B runs offline unless WANDB_MODE says otherwise (`WANDB_MODE=online` with an account; or upload
    the offline runs later with `wandb sync wandb/offline-run-*`)."""
    return os.environ.get("WANDB_MODE", "offline")


@dataclass
class TransformerTrainingArgs:
    batch_size: int = 16
    epochs: int = 3
    max_steps_per_epoch: int = 200
    lr: float = 1e-3
    weight_decay: float = 1e-2
    wandb_project: str | None = "arena-1.1-transformer"
    wandb_name: str | None = None


class TransformerTrainer:
    def __init__(self, args: TransformerTrainingArgs, model: nn.Module,
                 train_tokens: Int[Tensor, "rows seq"], val_tokens: Int[Tensor, "rows seq"]):
        self.args = args
        self.model = model
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        self.step = 0
        self.train_loader = DataLoader(TensorDataset(train_tokens), batch_size=args.batch_size, shuffle=True,
                                       drop_last=True, generator=torch.Generator().manual_seed(0))
        self.val_loader = DataLoader(TensorDataset(val_tokens), batch_size=args.batch_size)

    def training_step(self, batch: Int[Tensor, "batch seq"]) -> Float[Tensor, ""]:
        """One optimizer step on the mean next-token cross-entropy of `batch` (use get_log_probs).
        Increment self.step, log {"train_loss": loss} to W&B with step=self.step, return the loss (detached)."""
        # SOLUTION
        loss = -get_log_probs(self.model(batch), batch).mean()
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.step += 1
        wandb.log({"train_loss": loss.item()}, step=self.step)
        return loss.detach()
        # END SOLUTION

    def validation_step(self, batch: Int[Tensor, "batch seq"]) -> Bool[Tensor, "batch seq_minus_1"]:
        """Whether the model's top prediction at each position equals the actual next token, computed
        without building a graph for gradients."""
        # SOLUTION
        with torch.inference_mode():
            logits = self.model(batch)
        return logits[:, :-1].argmax(dim=-1) == batch[:, 1:]
        # END SOLUTION

    def train(self) -> dict[str, list[float]]:
        """Start a W&B run (project/name from args, config=asdict(args), mode=wandb_mode()); for each
        epoch, up to args.max_steps_per_epoch training steps over self.train_loader with a tqdm bar
        showing the loss, then the accuracy over self.val_loader (the fraction of correct next-token
        predictions), logged as {"accuracy": ...} at step=self.step. Finish the run at the end, even on
        an error. Returns {"train_loss": one float per step, "accuracy": one float per epoch}."""
        # SOLUTION
        wandb.init(project=self.args.wandb_project, name=self.args.wandb_name, config=asdict(self.args),
                   mode=wandb_mode())
        history: dict[str, list[float]] = {"train_loss": [], "accuracy": []}
        try:
            for epoch in range(self.args.epochs):
                bar = tqdm(self.train_loader, total=min(len(self.train_loader), self.args.max_steps_per_epoch),
                           desc=f"epoch {epoch + 1}/{self.args.epochs}")
                for i, (batch,) in enumerate(bar):
                    if i >= self.args.max_steps_per_epoch:
                        break
                    history["train_loss"].append(self.training_step(batch).item())
                    bar.set_postfix(loss=f"{history['train_loss'][-1]:.3f}")
                correct = torch.cat([self.validation_step(b).flatten() for (b,) in self.val_loader])
                history["accuracy"].append(correct.float().mean().item())
                wandb.log({"accuracy": history["accuracy"][-1]}, step=self.step)
        finally:
            wandb.finish()
        return history
        # END SOLUTION


# ------------------------------------------------------------------ 4️⃣ sampling


def greedy_search(logits: Float[Tensor, "d_vocab"]) -> int:
    """The most likely token (the lowest id among ties)."""
    # SOLUTION
    return int(logits.argmax().item())
    # END SOLUTION


def sample_basic(logits: Float[Tensor, "d_vocab"]) -> int:
    """A token drawn from the distribution softmax(logits), with torch's global random generator."""
    # SOLUTION
    return int(torch.multinomial(logits.softmax(dim=-1), num_samples=1).item())
    # END SOLUTION


def apply_temperature(logits: Float[Tensor, "d_vocab"], temperature: float) -> Float[Tensor, "d_vocab"]:
    """Logits for sampling at `temperature` (> 0): below 1 sharpens the distribution, above 1 flattens it."""
    # SOLUTION
    return logits / temperature
    # END SOLUTION


def apply_frequency_penalty(input_ids: Int[Tensor, "seq_len"], logits: Float[Tensor, "d_vocab"],
                            freq_penalty: float) -> Float[Tensor, "d_vocab"]:
    """Lower each token's logit by freq_penalty times the number of times it occurs in input_ids."""
    # SOLUTION
    counts = torch.bincount(input_ids, minlength=logits.shape[-1]).to(logits.dtype)
    return logits - freq_penalty * counts
    # END SOLUTION


def sample_top_k(logits: Float[Tensor, "d_vocab"], k: int) -> int:
    """A token drawn from softmax(logits) restricted to the k most likely tokens (renormalised)."""
    # SOLUTION
    top_logits, top_ids = logits.topk(k)
    choice = torch.multinomial(top_logits.softmax(dim=-1), num_samples=1)
    return int(top_ids[choice].item())
    # END SOLUTION


def sample_top_p(logits: Float[Tensor, "d_vocab"], top_p: float, min_tokens_to_keep: int = 1) -> int:
    """Nucleus sampling: keep the most likely tokens, in order, until their probabilities add up to at
    least top_p (the token that crosses top_p is kept) and at least min_tokens_to_keep; sample among them."""
    # SOLUTION
    sorted_logits, order = logits.sort(descending=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    n_keep = max(int(torch.searchsorted(cumulative, torch.tensor([top_p])).item()) + 1, min_tokens_to_keep)
    choice = torch.multinomial(sorted_logits[:n_keep].softmax(dim=-1), num_samples=1)
    return int(order[choice].item())
    # END SOLUTION


def sample_next_token(input_ids: Int[Tensor, "seq_len"], logits: Float[Tensor, "d_vocab"],
                      temperature: float = 1.0, top_k: int = 0, top_p: float = 0.0,
                      frequency_penalty: float = 0.0, seed: int | None = None) -> int:
    """The next token after input_ids, given the model's logits for it: temperature 0 means greedy;
    otherwise temperature, then the frequency penalty, then top-k or top-p (at most one) or plain sampling."""
    if input_ids.ndim != 1 or logits.ndim != 1:
        raise ValueError("sample_next_token takes one sequence: input_ids [seq_len] and logits [d_vocab]")
    if temperature < 0 or top_k < 0 or not 0.0 <= top_p <= 1.0:
        raise ValueError("temperature and top_k must be >= 0 and top_p in [0, 1]")
    if top_k and top_p:
        raise ValueError("use top_k or top_p, not both")
    if seed is not None:
        torch.manual_seed(seed)
    if temperature == 0:
        return greedy_search(logits)
    if temperature != 1.0:
        logits = apply_temperature(logits, temperature)
    if frequency_penalty != 0.0:
        logits = apply_frequency_penalty(input_ids, logits, frequency_penalty)
    if top_k > 0:
        return sample_top_k(logits, top_k)
    if top_p > 0.0:
        return sample_top_p(logits, top_p)
    return sample_basic(logits)


def encode_prompt(tokenizer: Any, prompt: str) -> Int[Tensor, "seq_len"]:
    """BOS followed by the prompt's tokens (the way the course models saw every text in training)."""
    return torch.tensor([tokenizer.bos_token_id, *tokenizer.encode(prompt)], dtype=torch.long)


@torch.inference_mode()
def sample(model: nn.Module, tokenizer: Any, prompt: str, max_tokens_generated: int = 100, **kwargs: Any) -> str:
    """The prompt continued by up to max_tokens_generated sampled tokens, decoded without the BOS.

    Start from encode_prompt(tokenizer, prompt). If kwargs holds a `seed`, call torch.manual_seed(seed)
    once, before generating (do not pass it on). Each step: run the model on the whole sequence,
    pick the next token with sample_next_token(sequence, last position's logits, **kwargs). Stop
    before appending the tokenizer's EOS token, after max_tokens_generated tokens, or as soon as the
    sequence fills the context window (model.cfg.n_ctx tokens)."""
    # SOLUTION
    seed = kwargs.pop("seed", None)
    if seed is not None:
        torch.manual_seed(seed)
    ids = encode_prompt(tokenizer, prompt)
    for _ in range(max_tokens_generated):
        if len(ids) >= model.cfg.n_ctx:
            break
        logits = model(ids[None])[0, -1]
        next_id = sample_next_token(ids, logits, **kwargs)
        if next_id == tokenizer.eos_token_id:
            break
        ids = torch.cat([ids, torch.tensor([next_id])])
    return tokenizer.decode(ids[1:].tolist())
    # END SOLUTION


@dataclass
class Beams:
    """A batch of partial sequences (beams) with the sum of the log-probabilities of their generated tokens."""

    model: nn.Module
    tokenizer: Any
    logprob_sums: Float[Tensor, "batch"]
    tokens: Int[Tensor, "batch seq"]

    def __getitem__(self, index: Any) -> Beams:
        return type(self)(self.model, self.tokenizer, self.logprob_sums[index], self.tokens[index])

    def __len__(self) -> int:
        return len(self.logprob_sums)

    @property
    def logprobs_and_completions(self) -> list[tuple[float, str]]:
        return [(float(lp), self.tokenizer.decode(toks.tolist(), skip_special_tokens=True))
                for lp, toks in zip(self.logprob_sums, self.tokens, strict=True)]

    def banned_tokens(self, no_repeat_ngram_size: int) -> Bool[Tensor, "batch d_vocab"]:
        """For each beam, the tokens that would complete an n-gram (n = no_repeat_ngram_size) that
        already occurs in the beam."""
        # SOLUTION
        n, (batch, seq_len) = no_repeat_ngram_size, self.tokens.shape
        d_vocab = self.model.cfg.d_vocab
        if seq_len < n:
            return torch.zeros(batch, d_vocab, dtype=torch.bool)
        windows = self.tokens.unfold(dimension=1, size=n, step=1)  # [batch, n_windows, n]
        last = self.tokens[:, seq_len - n + 1:]  # the n-1 most recent tokens
        repeats = (windows[:, :, :-1] == last[:, None, :]).all(dim=-1)
        counts = torch.zeros(batch, d_vocab).scatter_add_(1, windows[:, :, -1], repeats.float())
        return counts > 0
        # END SOLUTION

    @torch.inference_mode()
    def generate(self, toks_per_beam: int, no_repeat_ngram_size: int | None = None) -> Beams:
        """Each beam extended by its toks_per_beam most likely next tokens (never a token banned by
        no_repeat_ngram_size): len(self) * toks_per_beam beams, those of beam 0 first, each with
        logprob_sum increased by its new token's log-probability."""
        # SOLUTION
        logprobs = self.model(self.tokens)[:, -1].log_softmax(dim=-1)
        if no_repeat_ngram_size:
            logprobs = logprobs.masked_fill(self.banned_tokens(no_repeat_ngram_size), float("-inf"))
        top_logprobs, top_ids = logprobs.topk(toks_per_beam, dim=-1)
        sums = (self.logprob_sums[:, None] + top_logprobs).flatten()
        tokens = torch.cat([einops.repeat(self.tokens, "b s -> (b k) s", k=toks_per_beam),
                            top_ids.flatten()[:, None]], dim=1)
        return type(self)(self.model, self.tokenizer, sums, tokens)
        # END SOLUTION

    def filter(self, num_beams: int) -> tuple[Beams, Beams]:
        """The num_beams beams with the highest logprob_sums, best first, split into those still
        running and those that just ended with the EOS token: (continuing, terminated)."""
        # SOLUTION
        best = self.logprob_sums.topk(min(num_beams, len(self))).indices
        ended = self.tokens[best, -1] == self.tokenizer.eos_token_id
        return self[best[~ended]], self[best[ended]]
        # END SOLUTION


@torch.inference_mode()
def beam_search(model: nn.Module, tokenizer: Any, prompt: str, num_return_sequences: int, num_beams: int,
                max_new_tokens: int, no_repeat_ngram_size: int | None = None) -> list[tuple[float, str]]:
    """Beam search from encode_prompt(tokenizer, prompt). Each step: generate num_beams children per
    beam, filter to the num_beams best, set the terminated ones aside. Return (logprob_sum, text) for
    num_return_sequences sequences: the terminated ones in the order they ended (best first within a
    step), then, if too few ended within max_new_tokens (or the context is full), the running beams, best first."""
    # SOLUTION
    if num_return_sequences > num_beams:
        raise ValueError("num_return_sequences must be <= num_beams")
    beams = Beams(model, tokenizer, torch.zeros(1), encode_prompt(tokenizer, prompt)[None])
    finished: list[tuple[float, str]] = []
    for _ in range(max_new_tokens):
        if beams.tokens.shape[1] >= model.cfg.n_ctx:
            break
        beams, ended = beams.generate(num_beams, no_repeat_ngram_size).filter(num_beams)
        finished += ended.logprobs_and_completions
        if len(finished) >= num_return_sequences:
            return finished[:num_return_sequences]
    return (finished + beams.logprobs_and_completions)[:num_return_sequences]
    # END SOLUTION


# ------------------------------------------------------------------ the key-value cache


@dataclass
class KeyValueCache:
    """Every layer's keys and values so far: keys[layer] and values[layer] are [batch, pos, n_heads, d_head]."""

    keys: list[Tensor] = field(default_factory=list)
    values: list[Tensor] = field(default_factory=list)

    @property
    def seq_len(self) -> int:
        return self.keys[0].shape[1] if self.keys else 0


def attention_with_cache(
    attn: Attention,
    x: Float[Tensor, "batch new_pos d_model"],
    past_k: Float[Tensor, "batch past_pos n_heads d_head"] | None = None,
    past_v: Float[Tensor, "batch past_pos n_heads d_head"] | None = None,
) -> tuple[Float[Tensor, "batch new_pos d_model"], Tensor, Tensor]:
    """`attn` (an Attention module) applied to the new positions x, which come after past_pos cached
    positions: queries from x only, keys and values = the past ones followed by x's. The query at new
    position i is at absolute position past_pos + i and may see keys 0 .. past_pos + i.
    Returns (output, all keys, all values), the keys and values as [batch, past_pos + new_pos, n_heads, d_head]."""
    # SOLUTION
    q = einops.einsum(x, attn.W_Q, "b p d, n d h -> b p n h") + attn.b_Q
    k = einops.einsum(x, attn.W_K, "b p d, n d h -> b p n h") + attn.b_K
    v = einops.einsum(x, attn.W_V, "b p d, n d h -> b p n h") + attn.b_V
    if past_k is not None:
        k, v = torch.cat([past_k, k], dim=1), torch.cat([past_v, v], dim=1)
    q_len, k_len = q.shape[1], k.shape[1]
    scores = einops.einsum(q, k, "b q n h, b k n h -> b n q k") / math.sqrt(attn.cfg.d_head)
    future = torch.ones(q_len, k_len, dtype=torch.bool).triu(diagonal=k_len - q_len + 1)
    pattern = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    z = einops.einsum(pattern, v, "b n q k, b k n h -> b q n h")
    return einops.einsum(z, attn.W_O, "b q n h, n h d -> b q d") + attn.b_O, k, v
    # END SOLUTION


class DemoTransformerWithCache(DemoTransformer):
    def forward(self, tokens: Int[Tensor, "batch new_pos"], cache: KeyValueCache | None = None
                ) -> tuple[Float[Tensor, "batch new_pos d_vocab"], KeyValueCache]:
        """The logits of the new tokens, which follow the cache.seq_len positions in `cache` (none if
        cache is None), and the cache extended by them. The new tokens sit at positions
        cache.seq_len, cache.seq_len + 1, ...: their positional embeddings are those rows of W_pos.
        Use attention_with_cache in every block; ln1, ln2 and mlp as usual."""
        # SOLUTION
        past = cache.seq_len if cache is not None else 0
        residual = self.embed(tokens) + self.pos_embed.W_pos[past: past + tokens.shape[1]]
        new_cache = KeyValueCache()
        for i, block in enumerate(self.blocks):
            past_k, past_v = (cache.keys[i], cache.values[i]) if cache is not None else (None, None)
            attn_out, k, v = attention_with_cache(block.attn, block.ln1(residual), past_k, past_v)
            residual = residual + attn_out
            residual = residual + block.mlp(block.ln2(residual))
            new_cache.keys.append(k)
            new_cache.values.append(v)
        return self.unembed(self.ln_final(residual)), new_cache
        # END SOLUTION


@torch.inference_mode()
def sample_with_cache(model: DemoTransformerWithCache, tokenizer: Any, prompt: str, max_tokens_generated: int = 100,
                      **kwargs: Any) -> str:
    """Exactly what sample() returns, for the same arguments and seed, but the model runs on the whole
    prompt once and then on one new token at a time, passing the cache along."""
    # SOLUTION
    seed = kwargs.pop("seed", None)
    if seed is not None:
        torch.manual_seed(seed)
    ids = encode_prompt(tokenizer, prompt)
    logits, cache = model(ids[None])
    for _ in range(max_tokens_generated):
        if len(ids) >= model.cfg.n_ctx:
            break
        next_id = sample_next_token(ids, logits[0, -1], **kwargs)
        if next_id == tokenizer.eos_token_id:
            break
        ids = torch.cat([ids, torch.tensor([next_id])])
        logits, cache = model(torch.tensor([[next_id]]), cache)
    return tokenizer.decode(ids[1:].tolist())
    # END SOLUTION
