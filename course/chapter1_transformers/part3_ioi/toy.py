"""Small random GPT-2 models with the course tokenizer: what the checks and tests run on (fast, offline).

A random model does not do IOI, but every patching function must give the same numbers on it as the
reference, and the random weights are scaled up so that attention is far from uniform and each
head's effect is large enough to tell a right answer from a wrong one."""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import torch as t

TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "zoo" / "weights" / "tokenizer"


@lru_cache(maxsize=1)
def course_tokenizer():
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(TOKENIZER_DIR))


@lru_cache(maxsize=4)
def toy_model(n_layers: int = 3, seed: int = 0, d_model: int = 32, n_heads: int = 4, init: float = 0.15):
    """A random Hugging Face GPT-2 (booted with `boot_transformers`, eval mode, per-head hooks on)."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import GPT2Config, GPT2LMHeadModel

    warnings.filterwarnings("ignore", category=FutureWarning)
    tok = course_tokenizer()
    t.manual_seed(seed)
    hf = GPT2LMHeadModel(GPT2Config(
        n_layer=n_layers, n_embd=d_model, n_head=n_heads, n_inner=2 * d_model, vocab_size=len(tok),
        n_positions=64, initializer_range=init, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    model = TransformerBridge.boot_transformers("gpt2", hf_model=hf, tokenizer=tok, device="cpu").eval()
    model.set_use_attn_result(True)
    model.set_use_split_qkv_input(True)
    return model


# Short IOI-shaped sentences: 10 tokens with BOS, against 16 for the lesson's templates, so that patching one
# position per forward pass (the activation-patching checks) costs 10 passes per layer, not 16. The two
# templates put the names at different positions, so per-template means differ from pooled ones.
TOY_TEMPLATES: tuple[str, str] = ("When {A} met {B}, {S} {verb} it {prep} {IO}.",
                                  "{A} and {B} met, {S} {verb} it {prep} {IO}.")


@lru_cache(maxsize=4)
def toy_dataset(n_prompts: int = 6, seed: int = 0, both_templates: bool = True):
    from .solutions import IOIDataset

    templates = TOY_TEMPLATES if both_templates else TOY_TEMPLATES[:1]
    return IOIDataset.make(course_tokenizer(), n_prompts, templates=templates, seed=seed)
