"""Known-wrong and known-right implementations for part 1.1: the tests prove the checks tell them apart."""

from __future__ import annotations

import math
from typing import Any

import einops
import torch
import torch.nn.functional as F
from torch import Tensor

from arena.checking import right, wrong

from . import solutions as ref

# ------------------------------------------------------------------ 2️⃣ the modules


@wrong("LayerNorm", "uses the unbiased variance (divides by d_model - 1)")
class LayerNormUnbiased(ref.LayerNorm):
    def forward(self, residual: Tensor) -> Tensor:
        centred = residual - residual.mean(-1, keepdim=True)
        return centred / (residual.var(-1, keepdim=True, unbiased=True) + self.cfg.layer_norm_eps).sqrt() * self.w + self.b


@wrong("LayerNorm", "adds eps outside the square root")
class LayerNormEpsOutside(ref.LayerNorm):
    def forward(self, residual: Tensor) -> Tensor:
        centred = residual - residual.mean(-1, keepdim=True)
        return centred / (centred.pow(2).mean(-1, keepdim=True).sqrt() + self.cfg.layer_norm_eps) * self.w + self.b


@wrong("LayerNorm", "hard-codes eps = 1e-5 instead of reading cfg.layer_norm_eps")
class LayerNormFixedEps(ref.LayerNorm):
    def forward(self, residual: Tensor) -> Tensor:
        centred = residual - residual.mean(-1, keepdim=True)
        return centred / (centred.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * self.w + self.b


@right("LayerNorm", "torch's F.layer_norm with the module's parameters")
class LayerNormTorch(ref.LayerNorm):
    def forward(self, residual: Tensor) -> Tensor:
        return F.layer_norm(residual, (self.cfg.d_model,), self.w, self.b, self.cfg.layer_norm_eps)


@right("Embed", "one-hot tokens times W_E")
class EmbedOneHot(ref.Embed):
    def forward(self, tokens: Tensor) -> Tensor:
        return F.one_hot(tokens, self.cfg.d_vocab).float() @ self.W_E


@wrong("PosEmbed", "returns every row of W_pos instead of the first seq_len")
class PosEmbedNotSliced(ref.PosEmbed):
    def forward(self, tokens: Tensor) -> Tensor:
        return einops.repeat(self.W_pos, "n d -> b n d", b=tokens.shape[0])


@wrong("PosEmbed", "returns W_pos[:seq_len] without the batch dimension")
class PosEmbedNoBatch(ref.PosEmbed):
    def forward(self, tokens: Tensor) -> Tensor:
        return self.W_pos[: tokens.shape[1]]


@right("PosEmbed", "expand instead of repeat")
class PosEmbedExpand(ref.PosEmbed):
    def forward(self, tokens: Tensor) -> Tensor:
        return self.W_pos[: tokens.shape[1]].expand(tokens.shape[0], -1, -1)


def _attention(attn: ref.Attention, x: Tensor, *, scale_first: bool = True, bias_o: bool = True,
               sum_heads_first: bool = False) -> Tensor:
    q = einops.einsum(x, attn.W_Q, "b p d, n d h -> b p n h") + attn.b_Q
    k = einops.einsum(x, attn.W_K, "b p d, n d h -> b p n h") + attn.b_K
    v = einops.einsum(x, attn.W_V, "b p d, n d h -> b p n h") + attn.b_V
    scores = einops.einsum(q, k, "b q n h, b k n h -> b n q k")
    if scale_first:
        scores = attn.apply_causal_mask(scores / math.sqrt(attn.cfg.d_head))
    else:
        scores = attn.apply_causal_mask(scores) / math.sqrt(attn.cfg.d_head)
    z = einops.einsum(scores.softmax(-1), v, "b n q k, b k n h -> b q n h")
    if sum_heads_first:
        out = einops.einsum(z.sum(2), attn.W_O, "b q h, n h d -> b q d")
    else:
        out = einops.einsum(z, attn.W_O, "b q n h, n h d -> b q d")
    return out + attn.b_O if bias_o else out


@wrong("Attention", "masks the scores before scaling them by 1/sqrt(d_head)")
class AttentionMaskBeforeScale(ref.Attention):
    def forward(self, x: Tensor) -> Tensor:
        return _attention(self, x, scale_first=False)


@wrong("Attention", "fills the masked scores with 0 instead of a large negative number")
class AttentionMaskZero(ref.Attention):
    def apply_causal_mask(self, attn_scores: Tensor) -> Tensor:
        n = attn_scores.shape[-1]
        return attn_scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), 0.0)


@wrong("Attention", "masks with triu(diagonal=2): position i sees position i+1")
class AttentionSeesNext(ref.Attention):
    def apply_causal_mask(self, attn_scores: Tensor) -> Tensor:
        n = attn_scores.shape[-1]
        return attn_scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(2), self.IGNORE)


@wrong("Attention", "masks the diagonal too (triu(diagonal=0))")
class AttentionMasksSelf(ref.Attention):
    def apply_causal_mask(self, attn_scores: Tensor) -> Tensor:
        n = attn_scores.shape[-1]
        return attn_scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(0), -1e5)


@wrong("Attention", "forgets b_O")
class AttentionNoBiasO(ref.Attention):
    def forward(self, x: Tensor) -> Tensor:
        return _attention(self, x, bias_o=False)


@wrong("Attention", "sums the heads' z vectors before applying W_O")
class AttentionSumHeadsFirst(ref.Attention):
    def forward(self, x: Tensor) -> Tensor:
        return _attention(self, x, sum_heads_first=True)


@wrong("Attention", "masks inside forward instead of calling self.apply_causal_mask, and scales by d_head")
class AttentionNoMaskMethod(ref.Attention):
    def forward(self, x: Tensor) -> Tensor:
        q = einops.einsum(x, self.W_Q, "b p d, n d h -> b p n h") + self.b_Q
        k = einops.einsum(x, self.W_K, "b p d, n d h -> b p n h") + self.b_K
        v = einops.einsum(x, self.W_V, "b p d, n d h -> b p n h") + self.b_V
        scores = einops.einsum(q, k, "b q n h, b k n h -> b n q k") / self.cfg.d_head
        n = scores.shape[-1]
        scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
        z = einops.einsum(scores.softmax(-1), v, "b n q k, b k n h -> b q n h")
        return einops.einsum(z, self.W_O, "b q n h, n h d -> b q d") + self.b_O


@right("Attention", "a finite IGNORE (-1e5) with torch.where, and F.scaled_dot_product_attention-style matmuls")
class AttentionWhere(ref.Attention):
    def apply_causal_mask(self, attn_scores: Tensor) -> Tensor:
        q, k = attn_scores.shape[-2:]
        allowed = torch.arange(k)[None, :] <= torch.arange(q)[:, None]
        return torch.where(allowed, attn_scores, torch.tensor(-1e5))

    def forward(self, x: Tensor) -> Tensor:
        q = (x[:, None] @ self.W_Q + self.b_Q[:, None]) / math.sqrt(self.cfg.d_head)  # [b, n, p, h]
        k = x[:, None] @ self.W_K + self.b_K[:, None]
        v = x[:, None] @ self.W_V + self.b_V[:, None]
        pattern = self.apply_causal_mask(q @ k.transpose(-1, -2)).softmax(-1)
        return (pattern @ v @ self.W_O).sum(1) + self.b_O


@wrong("MLP", "uses the exact GELU (F.gelu) instead of GPT-2's tanh approximation")
class MLPExactGelu(ref.MLP):
    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x @ self.W_in + self.b_in) @ self.W_out + self.b_out


@right("MLP", "F.gelu(approximate='tanh') is GPT-2's gelu_new")
class MLPTorchTanhGelu(ref.MLP):
    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x @ self.W_in + self.b_in, approximate="tanh") @ self.W_out + self.b_out


@wrong("TransformerBlock", "forgets the residual connections")
class TransformerBlockNoResidual(ref.TransformerBlock):
    def forward(self, resid_pre: Tensor) -> Tensor:
        return self.mlp(self.ln2(self.attn(self.ln1(resid_pre))))


@wrong("TransformerBlock", "runs attention and MLP in parallel on resid_pre")
class TransformerBlockParallel(ref.TransformerBlock):
    def forward(self, resid_pre: Tensor) -> Tensor:
        return resid_pre + self.attn(self.ln1(resid_pre)) + self.mlp(self.ln2(resid_pre))


@wrong("Unembed", "forgets b_U")
class UnembedNoBias(ref.Unembed):
    def forward(self, x: Tensor) -> Tensor:
        return x @ self.W_U


@wrong("DemoTransformer", "skips the final LayerNorm")
class DemoTransformerNoFinalLN(ref.DemoTransformer):
    def forward(self, tokens: Tensor) -> Tensor:
        residual = self.embed(tokens) + self.pos_embed(tokens)
        for block in self.blocks:
            residual = block(residual)
        return self.unembed(residual)



# ------------------------------------------------------------------ 3️⃣ training


@wrong("TransformerTrainer", "never zeroes the gradients")
class TrainerNoZeroGrad(ref.TransformerTrainer):
    def training_step(self, batch: Tensor) -> Tensor:
        loss = -ref.get_log_probs(self.model(batch), batch).mean()
        loss.backward()
        self.optimizer.step()
        self.step += 1
        ref.wandb.log({"train_loss": loss.item()}, step=self.step)
        return loss.detach()


@wrong("TransformerTrainer", "evaluates with gradients enabled")
class TrainerEvalWithGrad(ref.TransformerTrainer):
    def validation_step(self, batch: Tensor) -> Tensor:
        return (self.model(batch)[:, :-1].argmax(-1) == batch[:, 1:]).detach()


@wrong("TransformerTrainer", "compares each prediction with the token at the same position, not the next one")
class TrainerAccuracyUnshifted(ref.TransformerTrainer):
    def validation_step(self, batch: Tensor) -> Tensor:
        with torch.inference_mode():
            return self.model(batch)[:, :-1].argmax(-1) == batch[:, :-1]



# ------------------------------------------------------------------ 4️⃣ sampling


@wrong("greedy_search", "returns the largest logit's value, not its index")
def greedy_search_value(logits: Tensor) -> int:
    return int(logits.max().item())


@wrong("sample_basic", "greedy decoding where a random sample was asked for")
def sample_basic_greedy(logits: Tensor) -> int:
    return int(logits.argmax().item())


@right("sample_basic", "torch.distributions.Categorical")
def sample_basic_categorical(logits: Tensor) -> int:
    return int(torch.distributions.Categorical(logits=logits).sample().item())


@wrong("apply_temperature", "multiplies by the temperature instead of dividing")
def apply_temperature_multiplied(logits: Tensor, temperature: float) -> Tensor:
    return logits * temperature


@wrong("apply_frequency_penalty", "adds the penalty instead of subtracting it")
def apply_frequency_penalty_added(input_ids: Tensor, logits: Tensor, freq_penalty: float) -> Tensor:
    return logits + freq_penalty * torch.bincount(input_ids, minlength=logits.shape[-1])


@right("apply_frequency_penalty", "scatter_add of -penalty per occurrence")
def apply_frequency_penalty_scatter(input_ids: Tensor, logits: Tensor, freq_penalty: float) -> Tensor:
    return logits.scatter_add(0, input_ids, torch.full(input_ids.shape, -freq_penalty))


@wrong("sample_top_k", "samples uniformly among the top k")
def sample_top_k_uniform(logits: Tensor, k: int) -> int:
    return int(logits.topk(k).indices[torch.randint(0, k, ())].item())


@wrong("sample_top_p", "excludes the token that crosses the threshold")
def sample_top_p_exclusive(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> int:
    sorted_logits, order = logits.sort(descending=True)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    n_keep = max(int((cumulative < top_p).sum()), min_tokens_to_keep)
    return int(order[torch.multinomial(sorted_logits[:n_keep].softmax(-1), 1)].item())


@wrong("sample_top_p", "ignores min_tokens_to_keep")
def sample_top_p_no_minimum(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> int:
    return ref.sample_top_p(logits, top_p, 1)


@right("sample_top_p", "masks the sorted logits with (cumulative - p) < top_p")
def sample_top_p_masked(logits: Tensor, top_p: float, min_tokens_to_keep: int = 1) -> int:
    sorted_logits, order = logits.sort(descending=True)
    probs = sorted_logits.softmax(-1)
    drop = (probs.cumsum(-1) - probs) >= top_p
    drop[:min_tokens_to_keep] = False
    return int(order[torch.multinomial(sorted_logits.masked_fill(drop, float("-inf")).softmax(-1), 1)].item())


@wrong("sample", "passes the seed to sample_next_token, which reseeds at every step")
@torch.inference_mode()
def sample_reseeds(model: Any, tokenizer: Any, prompt: str, max_tokens_generated: int = 100, **kwargs: Any) -> str:
    ids = ref.encode_prompt(tokenizer, prompt)
    for _ in range(max_tokens_generated):
        if len(ids) >= model.cfg.n_ctx:
            break
        next_id = ref.sample_next_token(ids, model(ids[None])[0, -1], **kwargs)
        if next_id == tokenizer.eos_token_id:
            break
        ids = torch.cat([ids, torch.tensor([next_id])])
    return tokenizer.decode(ids[1:].tolist())


@wrong("sample", "appends the EOS token before stopping")
@torch.inference_mode()
def sample_keeps_eos(model: Any, tokenizer: Any, prompt: str, max_tokens_generated: int = 100, **kwargs: Any) -> str:
    seed = kwargs.pop("seed", None)
    if seed is not None:
        torch.manual_seed(seed)
    ids = ref.encode_prompt(tokenizer, prompt)
    for _ in range(max_tokens_generated):
        if len(ids) >= model.cfg.n_ctx:
            break
        next_id = ref.sample_next_token(ids, model(ids[None])[0, -1], **kwargs)
        ids = torch.cat([ids, torch.tensor([next_id])])
        if next_id == tokenizer.eos_token_id:
            break
    return tokenizer.decode(ids[1:].tolist())


@wrong("Beams", "filter keeps finished beams in the running set")
class BeamsKeepFinished(ref.Beams):
    def filter(self, num_beams: int) -> tuple[ref.Beams, ref.Beams]:
        best = self.logprob_sums.topk(min(num_beams, len(self))).indices
        ended = self.tokens[best, -1] == self.tokenizer.eos_token_id
        return self[best], self[best[ended]]


@wrong("Beams", "generate ignores no_repeat_ngram_size")
class BeamsIgnoreNgrams(ref.Beams):
    def generate(self, toks_per_beam: int, no_repeat_ngram_size: int | None = None) -> ref.Beams:
        return super().generate(toks_per_beam, None)


@wrong("Beams", "bans only tokens that repeat the last n-gram, not any earlier one")
class BeamsBanLastOnly(ref.Beams):
    def banned_tokens(self, no_repeat_ngram_size: int) -> Tensor:
        banned = torch.zeros(len(self), self.model.cfg.d_vocab, dtype=torch.bool)
        n = no_repeat_ngram_size
        if self.tokens.shape[1] >= n:
            last_start = self.tokens.shape[1] - n
            banned[torch.arange(len(self)), self.tokens[:, last_start + n - 1]] = True
        return banned


def _beam_search_with(beams_cls: type, model: Any, tokenizer: Any, prompt: str, num_return_sequences: int,
                      num_beams: int, max_new_tokens: int, no_repeat_ngram_size: int | None,
                      keep_going: bool = False) -> list[tuple[float, str]]:
    beams = beams_cls(model, tokenizer, torch.zeros(1), ref.encode_prompt(tokenizer, prompt)[None])
    finished: list[tuple[float, str]] = []
    for _ in range(max_new_tokens):
        beams, ended = beams.generate(num_beams, no_repeat_ngram_size).filter(num_beams)
        finished += ended.logprobs_and_completions
        if len(finished) >= num_return_sequences and not keep_going:
            return finished[:num_return_sequences]
    return (finished + beams.logprobs_and_completions)[:num_return_sequences]


@wrong("beam_search", "never passes no_repeat_ngram_size on to generate")
def beam_search_ignores_ngrams(model: Any, tokenizer: Any, prompt: str, num_return_sequences: int, num_beams: int,
                               max_new_tokens: int, no_repeat_ngram_size: int | None = None) -> list[tuple[float, str]]:
    return _beam_search_with(ref.Beams, model, tokenizer, prompt, num_return_sequences, num_beams, max_new_tokens,
                             None)


@wrong("beam_search", "keeps finished beams in the running set")
def beam_search_keeps_finished(model: Any, tokenizer: Any, prompt: str, num_return_sequences: int, num_beams: int,
                               max_new_tokens: int, no_repeat_ngram_size: int | None = None) -> list[tuple[float, str]]:
    return _beam_search_with(BeamsKeepFinished, model, tokenizer, prompt, num_return_sequences, num_beams,
                             max_new_tokens, no_repeat_ngram_size)


# -- the key-value cache


@wrong("attention_with_cache", "masks the new queries as if they were at positions 0, 1, ...")
def attention_with_cache_unshifted_mask(attn: ref.Attention, x: Tensor, past_k: Tensor | None = None,
                                        past_v: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    q = einops.einsum(x, attn.W_Q, "b p d, n d h -> b p n h") + attn.b_Q
    k = einops.einsum(x, attn.W_K, "b p d, n d h -> b p n h") + attn.b_K
    v = einops.einsum(x, attn.W_V, "b p d, n d h -> b p n h") + attn.b_V
    if past_k is not None:
        k, v = torch.cat([past_k, k], 1), torch.cat([past_v, v], 1)
    scores = einops.einsum(q, k, "b q n h, b k n h -> b n q k") / math.sqrt(attn.cfg.d_head)
    mask = torch.ones(q.shape[1], k.shape[1], dtype=torch.bool).triu(1)
    z = einops.einsum(scores.masked_fill(mask, float("-inf")).softmax(-1), v, "b n q k, b k n h -> b q n h")
    return einops.einsum(z, attn.W_O, "b q n h, n h d -> b q d") + attn.b_O, k, v


class _CacheModel(ref.DemoTransformerWithCache):
    offset: int = 0

    def forward(self, tokens: Tensor, cache: ref.KeyValueCache | None = None) -> tuple[Tensor, ref.KeyValueCache]:
        past = cache.seq_len if cache is not None else 0
        start = 0 if self.offset < 0 else past + self.offset
        residual = self.embed(tokens) + self.pos_embed.W_pos[start: start + tokens.shape[1]]
        new_cache = ref.KeyValueCache()
        for i, block in enumerate(self.blocks):
            past_k, past_v = (cache.keys[i], cache.values[i]) if cache is not None else (None, None)
            attn_out, k, v = ref.attention_with_cache(block.attn, block.ln1(residual), past_k, past_v)
            residual = residual + attn_out
            residual = residual + block.mlp(block.ln2(residual))
            new_cache.keys.append(k)
            new_cache.values.append(v)
        return self.unembed(self.ln_final(residual)), new_cache


@wrong("DemoTransformerWithCache", "restarts the positional embeddings at 0 for the new tokens")
class CacheModelPositionsFromZero(_CacheModel):
    offset = -1


@wrong("DemoTransformerWithCache", "shifts the new tokens' positions by one (W_pos[past + 1 : ...])")
class CacheModelPositionsOffByOne(_CacheModel):
    offset = 1


@wrong("sample_with_cache", "ignores the cache and runs the whole sequence at every step")
@torch.inference_mode()
def sample_with_cache_no_cache(model: Any, tokenizer: Any, prompt: str, max_tokens_generated: int = 100,
                               **kwargs: Any) -> str:
    seed = kwargs.pop("seed", None)
    if seed is not None:
        torch.manual_seed(seed)
    ids = ref.encode_prompt(tokenizer, prompt)
    for _ in range(max_tokens_generated):
        if len(ids) >= model.cfg.n_ctx:
            break
        next_id = ref.sample_next_token(ids, model(ids[None])[0][0, -1], **kwargs)
        if next_id == tokenizer.eos_token_id:
            break
        ids = torch.cat([ids, torch.tensor([next_id])])
    return tokenizer.decode(ids[1:].tolist())


@wrong("sample_with_cache", "feeds the new token at position 0 (restarts the cache's positions)")
@torch.inference_mode()
def sample_with_cache_wrong_model(model: Any, tokenizer: Any, prompt: str, max_tokens_generated: int = 100,
                                  **kwargs: Any) -> str:
    wrong_model = CacheModelPositionsFromZero(model.cfg)
    wrong_model.load_state_dict(model.state_dict())
    return ref.sample_with_cache(wrong_model.eval(), tokenizer, prompt, max_tokens_generated, **kwargs)
