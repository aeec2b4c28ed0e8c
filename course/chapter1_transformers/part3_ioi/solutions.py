"""Reference solutions for part 1.3: indirect object identification (IOI) on course-gpt and GPT-2 small."""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal

import einops
import torch as t
import transformer_lens.utilities as utils
from jaxtyping import Bool, Float, Int
from torch import Tensor
from tqdm.auto import tqdm
from transformer_lens import ActivationCache
from transformer_lens.model_bridge import TransformerBridge

from arena.resources import load_course_model
from course.chapter1_transformers.part3_ioi.findings import course_gpt_circuit  # noqa: F401 (used in the lesson)
from course.chapter1_transformers.zoo import world

warnings.filterwarnings("ignore", category=FutureWarning)

Head = tuple[int, int]  # (layer, head)
MetricFn = Callable[[Float[Tensor, "batch seq d_vocab"]], Float[Tensor, ""]]


def load_ioi_model(name: str = "course-gpt") -> TransformerBridge:
    """course-gpt (shipped, offline) or "gpt2" (GPT-2 small, after `arena fetch gpt2`), ready for IOI work.

    Both are Hugging Face GPT-2 models booted with `boot_transformers`, so per-head results
    (`hook_result`) and split query/key/value inputs (`hook_q_input`, ...) can be switched on."""
    model = load_course_model(name)
    # Fold the LayerNorm weights into the next matrices and centre the unembedding (what the old
    # `HookedTransformer.from_pretrained` did by default): the final LayerNorm becomes a pure scaling,
    # so a component's direct logit attribution is its scaled output times W_U, and they add up.
    model.enable_compatibility_mode()
    model.set_use_attn_result(True)
    model.set_use_split_qkv_input(True)
    return model.eval()


# The circuit Wang et al. (2022) found in GPT-2 small, and where each class of heads is kept.
GPT2_CIRCUIT: dict[str, list[Head]] = {
    "name mover": [(9, 9), (10, 0), (9, 6)],
    "backup name mover": [(10, 10), (10, 6), (10, 2), (10, 1), (11, 2), (9, 7), (9, 0), (11, 9)],
    "negative name mover": [(10, 7), (11, 10)],
    "s2 inhibition": [(7, 3), (7, 9), (8, 6), (8, 10)],
    "induction": [(5, 5), (5, 8), (5, 9), (6, 9)],
    "duplicate token": [(0, 1), (0, 10), (3, 0)],
    "previous token": [(2, 2), (4, 11)],
}
GPT2_POSITIONS: dict[str, str] = {
    "name mover": "end", "backup name mover": "end", "negative name mover": "end", "s2 inhibition": "end",
    "induction": "S2", "duplicate token": "S2", "previous token": "S1+1",
}

# ------------------------------------------------------------------ 1️⃣ the dataset (given)

# Two held-out templates (the corpus never writes an IOI sentence in these shapes). Both give prompts
# of the same number of tokens with the course tokenizer and with GPT-2's, so they can share a batch.
TEMPLATES: list[str] = [world.HELDOUT_IOI_TEMPLATES[0], world.HELDOUT_IOI_TEMPLATES[2]]


@dataclass(frozen=True)
class PromptSpec:
    """The words of one IOI sentence. `s1` and `s2` are the subject's two mentions (equal in IOI prompts)."""

    template: int
    order: str  # "ABBA": the subject is the second name of the pair; "BABA": the first
    io: str
    s1: str
    s2: str
    verb: str
    prep: str
    obj: str
    place: str

    @property
    def pair(self) -> tuple[str, str]:
        return (self.io, self.s1) if self.order == "ABBA" else (self.s1, self.io)


def encode(tokenizer, text: str) -> list[int]:
    """Token ids of `text` without any special token (a model's tokenizer may be set to add BOS)."""
    return tokenizer.encode(text, add_special_tokens=False)


def single_token_words(tokenizer, words: Sequence[str]) -> list[str]:
    """The words that are one token (with a leading space) for this tokenizer."""
    return [w for w in words if len(encode(tokenizer, " " + w)) == 1]


@dataclass
class IOIDataset:
    """IOI prompts with equal token lengths, their answers and the positions of the key words.

    Build one with `IOIDataset.make(tokenizer, n_prompts, ...)`. Every prompt ends just before the
    indirect object: "The day Mary and John visited the park, John gave a ball to" -> " Mary".

    - `toks` [batch, seq]: BOS then the prompt (no padding: every prompt has the same length).
    - `answer_tokens` [batch, 2]: (indirect object, subject) token ids, the correct answer first.
    - `word_idx`: positions [batch] of "IO", "S1", "S2", "S1+1" and "S2+1" (the words after S1 and S2),
      "end" (the last token, where the model predicts the answer) and "starts" (0, the BOS).
    - `corrupted()`: the same sentences with S2 replaced by the IO name (the right answer flips).
    - `abc()`: the same sentences with three fresh, distinct names (no name is repeated).
    """

    tokenizer: object
    specs: list[PromptSpec]
    templates: list[str]
    names: list[str] = field(default_factory=list)
    toks: Int[Tensor, "batch seq"] = field(init=False, repr=False)
    answer_tokens: Int[Tensor, "batch 2"] = field(init=False, repr=False)
    word_idx: dict[str, Int[Tensor, "batch"]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._tokenize()

    @staticmethod
    def make(tokenizer, n_prompts: int, templates: Sequence[str] | None = None, heldout: bool = True,
             orders: Sequence[str] = ("ABBA", "BABA"), seed: int = 0) -> IOIDataset:
        """`n_prompts` prompts, alternating the orders and cycling through the templates.

        `heldout=True` draws names, objects and places from the story world's held-out lists (never in an
        IOI-shaped sentence of the course corpus) and the verbs of giving the corpus uses; `heldout=False`
        draws every word from the training lists. Words that are not one token for `tokenizer` are dropped."""
        rng = random.Random(seed)
        templates = list(templates or TEMPLATES)
        if heldout:
            names, verbs = world.HELDOUT_NAMES, world.GIVE_VERBS
            objects, places = world.HELDOUT_OBJECTS, world.HELDOUT_PLACES
        else:
            names, verbs = world.train_ioi_names(), world.GIVE_VERBS
            objects, places = world.train_ioi_objects(), world.train_ioi_places()
        names = single_token_words(tokenizer, names)
        objects, places = single_token_words(tokenizer, objects), single_token_words(tokenizer, places)
        verbs = [(v, p) for v, p in verbs if len(encode(tokenizer, " " + v)) == 1]
        specs = []
        for i in range(n_prompts):
            a, b = rng.sample(names, 2)
            verb, prep = rng.choice(verbs)
            specs.append(PromptSpec(template=(i // len(orders)) % len(templates), order=orders[i % len(orders)],
                                    io=a, s1=b, s2=b, verb=verb, prep=prep, obj=rng.choice(objects),
                                    place=rng.choice(places)))
        return IOIDataset(tokenizer, specs, templates, names)

    def _tokenize(self) -> None:
        bos = self.tokenizer.bos_token_id
        rows, io_ids, s_ids, idx = [], [], [], {k: [] for k in ("IO", "S1", "S2", "S1+1", "S2+1", "end", "starts")}
        for spec in self.specs:
            a, b = spec.pair
            text = self.templates[spec.template].format(A=a, B=b, S=spec.s2, IO=spec.io, verb=spec.verb,
                                                        prep=spec.prep, obj=spec.obj, place=spec.place)
            full = [bos] + encode(self.tokenizer, text)
            name_ids = {n: encode(self.tokenizer, " " + n)[0] for n in (spec.io, spec.s1, spec.s2)}
            # The answer is the last occurrence of the IO name; the prompt stops just before it.
            end = max(i for i, tok in enumerate(full) if tok == name_ids[spec.io])
            prompt = full[:end]
            a_pos = prompt.index(name_ids[a])
            b_pos = prompt.index(name_ids[b], a_pos + 1)
            s2_pos = max(i for i, tok in enumerate(prompt) if tok == name_ids[spec.s2])
            io_pos, s1_pos = (a_pos, b_pos) if spec.order == "ABBA" else (b_pos, a_pos)
            rows.append(prompt)
            io_ids.append(full[end])
            s_ids.append(name_ids[spec.s1])
            for key, value in (("IO", io_pos), ("S1", s1_pos), ("S2", s2_pos), ("S1+1", s1_pos + 1),
                               ("S2+1", s2_pos + 1), ("end", len(prompt) - 1), ("starts", 0)):
                idx[key].append(value)
        lengths = {len(r) for r in rows}
        if len(lengths) != 1:
            raise ValueError(f"prompts have different token lengths {sorted(lengths)}: use templates (and "
                             "words) that give equal lengths with this tokenizer, or one template at a time")
        self.toks = t.tensor(rows, dtype=t.long)
        self.answer_tokens = t.tensor([io_ids, s_ids], dtype=t.long).T.contiguous()
        self.word_idx = {k: t.tensor(v, dtype=t.long) for k, v in idx.items()}

    def __len__(self) -> int:
        return len(self.specs)

    @property
    def prompts(self) -> list[str]:
        return [self.tokenizer.decode(row[1:]) for row in self.toks]

    @property
    def template_ids(self) -> Int[Tensor, "batch"]:
        return t.tensor([s.template for s in self.specs])

    def groups(self) -> list[Int[Tensor, "group"]]:
        """Indices of the prompts of each template (same word positions within a group)."""
        ids = self.template_ids
        return [t.nonzero(ids == k).squeeze(1) for k in ids.unique().tolist()]

    def _derived(self, specs: list[PromptSpec]) -> IOIDataset:
        return IOIDataset(self.tokenizer, specs, self.templates, self.names)

    def corrupted(self) -> IOIDataset:
        """S2 becomes the IO name: "... John gave a ball to" -> "... Mary gave a ball to" (answer: John)."""
        return self._derived([replace(s, io=s.s1, s1=s.io, s2=s.io, order="BABA" if s.order == "ABBA" else "ABBA")
                              for s in self.specs])

    def abc(self, seed: int = 1) -> IOIDataset:
        """Three fresh distinct names per prompt in place of IO, S1 and S2: no name repeats."""
        rng = random.Random(seed)
        specs = []
        for s in self.specs:
            x, y, z = rng.sample([n for n in self.names if n not in (s.io, s.s1)], 3)
            specs.append(replace(s, io=x, s1=y, s2=z))
        return self._derived(specs)

    def __getitem__(self, index: slice) -> IOIDataset:
        return self._derived(self.specs[index])


def show_prompts(dataset: IOIDataset, n: int = 4) -> None:
    """Print a few prompts with their answers."""
    tok = dataset.tokenizer
    for prompt, (io, s) in zip(dataset.prompts[:n], dataset.answer_tokens[:n].tolist(), strict=False):
        print(f"{prompt!r:75} IO {tok.decode([io])!r:10} S {tok.decode([s])!r}")


# ------------------------------------------------------------------ 1️⃣ the logit difference


def logits_to_ave_logit_diff(
    logits: Float[Tensor, "batch seq d_vocab"],
    answer_tokens: Int[Tensor, "batch 2"],
    per_prompt: bool = False,
) -> Float[Tensor, "*batch"]:
    """logit(correct) - logit(incorrect) at the last position; answer_tokens[:, 0] is the correct token.

    Returns the mean over prompts, or one value per prompt when `per_prompt`."""
    # SOLUTION
    final_logits = logits[:, -1, :]
    answer_logits = final_logits.gather(dim=-1, index=answer_tokens)
    diff = answer_logits[:, 0] - answer_logits[:, 1]
    return diff if per_prompt else diff.mean()
    # END SOLUTION


# ------------------------------------------------------------------ 2️⃣ direct logit attribution


def residual_stack_to_logit_diff(
    residual_stack: Float[Tensor, "... batch d_model"],
    cache: ActivationCache,
    logit_diff_directions: Float[Tensor, "batch d_model"],
) -> Float[Tensor, "..."]:
    """Each component's contribution to the mean logit difference at the last position.

    `residual_stack` holds components of the final residual stream at the last position (as from
    `cache.decompose_resid(pos_slice=-1)`); scale them by the final LayerNorm with
    `cache.apply_ln_to_stack(..., layer=-1, pos_slice=-1)`, project onto each prompt's direction
    W_U[:, IO] - W_U[:, S] and average over the batch."""
    # SOLUTION
    scaled = cache.apply_ln_to_stack(residual_stack, layer=-1, pos_slice=-1)
    return einops.einsum(scaled, logit_diff_directions, "... batch d_model, batch d_model -> ...") / len(
        logit_diff_directions)
    # END SOLUTION


def logit_diff_directions(model: TransformerBridge, answer_tokens: Int[Tensor, "batch 2"]) -> Float[Tensor, "batch d_model"]:
    """W_U[:, IO] - W_U[:, S] for each prompt: the residual direction the logit difference reads."""
    answer_dirs = model.tokens_to_residual_directions(answer_tokens)  # [batch, 2, d_model]
    return answer_dirs[:, 0] - answer_dirs[:, 1]


# ------------------------------------------------------------------ 3️⃣ activation patching


def ioi_metric(
    logits: Float[Tensor, "batch seq d_vocab"],
    answer_tokens: Int[Tensor, "batch 2"],
    corrupted_logit_diff: float,
    clean_logit_diff: float,
) -> Float[Tensor, ""]:
    """The logit difference rescaled linearly: 0 on the corrupted run, 1 on the clean run."""
    # SOLUTION
    patched_logit_diff = logits_to_ave_logit_diff(logits, answer_tokens)
    return (patched_logit_diff - corrupted_logit_diff) / (clean_logit_diff - corrupted_logit_diff)
    # END SOLUTION


def patch_positions(corrupted: Tensor, hook, clean: Tensor, pos: int) -> Tensor:
    """A hook: overwrite one sequence position (dimension 1) with the clean activation."""
    corrupted[:, pos] = clean[:, pos]
    return corrupted


def patch_head(corrupted: Tensor, hook, clean: Tensor, head: int, head_dim: int = 2) -> Tensor:
    """A hook: overwrite one head's slice (dimension `head_dim`) at every position with the clean activation."""
    index = (slice(None),) * head_dim + (head,)
    corrupted[index] = clean[index]
    return corrupted


@t.no_grad()
def get_act_patch_resid_pre(
    model: TransformerBridge,
    corrupted_tokens: Int[Tensor, "batch seq"],
    clean_cache: ActivationCache,
    patching_metric: MetricFn,
) -> Float[Tensor, "n_layers seq"]:
    """Run the corrupted prompts, patching the clean residual stream (resid_pre) at one layer and one
    position per run; return the metric for every (layer, position)."""
    # SOLUTION
    n_layers, seq_len = model.cfg.n_layers, corrupted_tokens.shape[1]
    results = t.zeros(n_layers, seq_len)
    for layer in tqdm(range(n_layers), desc="resid_pre", leave=False):
        name = utils.get_act_name("resid_pre", layer)
        for pos in range(seq_len):
            hook = partial(patch_positions, clean=clean_cache[name], pos=pos)
            logits = model.run_with_hooks(corrupted_tokens, fwd_hooks=[(name, hook)])
            results[layer, pos] = patching_metric(logits)
    return results
    # END SOLUTION


@t.no_grad()
def get_act_patch_block_every(
    model: TransformerBridge,
    corrupted_tokens: Int[Tensor, "batch seq"],
    clean_cache: ActivationCache,
    patching_metric: MetricFn,
) -> Float[Tensor, "3 n_layers seq"]:
    """As `get_act_patch_resid_pre`, for resid_pre, attn_out and mlp_out (in that order)."""
    # SOLUTION
    n_layers, seq_len = model.cfg.n_layers, corrupted_tokens.shape[1]
    results = t.zeros(3, n_layers, seq_len)
    for i, component in enumerate(["resid_pre", "attn_out", "mlp_out"]):
        for layer in tqdm(range(n_layers), desc=component, leave=False):
            name = utils.get_act_name(component, layer)
            for pos in range(seq_len):
                hook = partial(patch_positions, clean=clean_cache[name], pos=pos)
                logits = model.run_with_hooks(corrupted_tokens, fwd_hooks=[(name, hook)])
                results[i, layer, pos] = patching_metric(logits)
    return results
    # END SOLUTION


@t.no_grad()
def get_act_patch_attn_head_out_all_pos(
    model: TransformerBridge,
    corrupted_tokens: Int[Tensor, "batch seq"],
    clean_cache: ActivationCache,
    patching_metric: MetricFn,
) -> Float[Tensor, "n_layers n_heads"]:
    """Patch one head's output (hook_z) at every position per run; return the metric per head."""
    # SOLUTION
    results = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in tqdm(range(model.cfg.n_layers), desc="head outputs", leave=False):
        name = utils.get_act_name("z", layer)
        for head in range(model.cfg.n_heads):
            hook = partial(patch_head, clean=clean_cache[name], head=head)
            logits = model.run_with_hooks(corrupted_tokens, fwd_hooks=[(name, hook)])
            results[layer, head] = patching_metric(logits)
    return results
    # END SOLUTION


@t.no_grad()
def get_act_patch_attn_head_all_pos_every(
    model: TransformerBridge,
    corrupted_tokens: Int[Tensor, "batch seq"],
    clean_cache: ActivationCache,
    patching_metric: MetricFn,
) -> Float[Tensor, "5 n_layers n_heads"]:
    """Per head, patch (all positions) its output z, query q, key k, value v and pattern, in that order.

    z, q, k and v are [batch, seq, head, d_head] (head on dimension 2); the pattern is
    [batch, head, query, key] (head on dimension 1)."""
    # SOLUTION
    results = t.zeros(5, model.cfg.n_layers, model.cfg.n_heads)
    for i, component in enumerate(["z", "q", "k", "v", "pattern"]):
        head_dim = 1 if component == "pattern" else 2
        for layer in tqdm(range(model.cfg.n_layers), desc=component, leave=False):
            name = utils.get_act_name(component, layer)
            for head in range(model.cfg.n_heads):
                hook = partial(patch_head, clean=clean_cache[name], head=head, head_dim=head_dim)
                logits = model.run_with_hooks(corrupted_tokens, fwd_hooks=[(name, hook)])
                results[i, layer, head] = patching_metric(logits)
    return results
    # END SOLUTION


# ------------------------------------------------------------------ 4️⃣ path patching


def z_cache(model: TransformerBridge, tokens: Int[Tensor, "batch seq"]) -> ActivationCache:
    """Run the model and keep only every layer's hook_z (what path patching needs)."""
    with t.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_z"))
    return cache


def patch_or_freeze_z(z: Tensor, hook, orig_z: Tensor, new_z: Tensor, sender_head: int | None) -> Tensor:
    """A hook on one layer's hook_z: every head as in the original run, except the sender (from the new run)."""
    z[...] = orig_z
    if sender_head is not None:
        z[:, :, sender_head] = new_z[:, :, sender_head]
    return z


@t.no_grad()
def get_path_patch_head_to_final_resid_post(
    model: TransformerBridge,
    patching_metric: MetricFn,
    new_tokens: Int[Tensor, "batch seq"],
    orig_tokens: Int[Tensor, "batch seq"],
    new_cache: ActivationCache | None = None,
    orig_cache: ActivationCache | None = None,
) -> Float[Tensor, "n_layers n_heads"]:
    """For each sender head: the metric when only the direct path sender -> final residual stream
    carries the sender's output from the new (e.g. ABC) run into the original run.

    Run the original prompts with the sender's z taken from `new_cache` and every other head's z
    frozen at its value in `orig_cache` (MLPs recompute, as in Wang et al.), and apply the metric."""
    # SOLUTION
    new_cache = new_cache or z_cache(model, new_tokens)
    orig_cache = orig_cache or z_cache(model, orig_tokens)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    results = t.zeros(n_layers, n_heads)
    names = [utils.get_act_name("z", layer) for layer in range(n_layers)]
    for sender_layer in tqdm(range(n_layers), desc="senders", leave=False):
        for sender_head in range(n_heads):
            hooks = [(name, partial(patch_or_freeze_z, orig_z=orig_cache[name], new_z=new_cache[name],
                                    sender_head=sender_head if layer == sender_layer else None))
                     for layer, name in enumerate(names)]
            logits = model.run_with_hooks(orig_tokens, fwd_hooks=hooks)
            results[sender_layer, sender_head] = patching_metric(logits)
    return results
    # END SOLUTION


def patch_heads_input(activation: Tensor, hook, patched: Tensor, heads: list[int]) -> Tensor:
    """A hook on hook_q / hook_k / hook_v: the listed heads take their values from `patched`."""
    activation[:, :, heads] = patched[:, :, heads]
    return activation


@t.no_grad()
def get_path_patch_head_to_heads(
    receiver_heads: list[Head],
    receiver_input: Literal["q", "k", "v"],
    model: TransformerBridge,
    patching_metric: MetricFn,
    new_tokens: Int[Tensor, "batch seq"],
    orig_tokens: Int[Tensor, "batch seq"],
    new_cache: ActivationCache | None = None,
    orig_cache: ActivationCache | None = None,
) -> Float[Tensor, "max_layer n_heads"]:
    """For each sender head in a layer before the first receiver: the metric when only the path
    sender -> receivers' `receiver_input` (q, k or v) carries the new run's activation.

    1. Run the original prompts with the sender's z from the new run and every other head frozen at
       its original z; cache the receivers' `receiver_input` (hook_q, hook_k or hook_v).
    2. Run the original prompts again, patching only the receiver heads' `receiver_input` with the
       values cached in step 1, and apply the metric."""
    # SOLUTION
    new_cache = new_cache or z_cache(model, new_tokens)
    orig_cache = orig_cache or z_cache(model, orig_tokens)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    max_layer = min(layer for layer, _ in receiver_heads)
    receiver_layers = sorted({layer for layer, _ in receiver_heads})
    receiver_names = {layer: utils.get_act_name(receiver_input, layer) for layer in receiver_layers}
    z_names = [utils.get_act_name("z", layer) for layer in range(n_layers)]
    results = t.zeros(max_layer, n_heads)
    for sender_layer in tqdm(range(max_layer), desc="senders", leave=False):
        for sender_head in range(n_heads):
            # Step 1: sender patched, every other head frozen; record what the receivers read.
            freeze = [(name, partial(patch_or_freeze_z, orig_z=orig_cache[name], new_z=new_cache[name],
                                     sender_head=sender_head if layer == sender_layer else None))
                      for layer, name in enumerate(z_names)]
            with model.hooks(fwd_hooks=freeze):
                _, receiver_cache = model.run_with_cache(
                    orig_tokens, names_filter=lambda name: name in receiver_names.values())
            # Step 2: only the receivers' inputs change.
            patch = [(receiver_names[layer], partial(
                patch_heads_input, patched=receiver_cache[receiver_names[layer]],
                heads=[h for rl, h in receiver_heads if rl == layer])) for layer in receiver_layers]
            logits = model.run_with_hooks(orig_tokens, fwd_hooks=patch)
            results[sender_layer, sender_head] = patching_metric(logits)
    return results
    # END SOLUTION


# ------------------------------------------------------------------ 5️⃣ replication


def layer_norm(x: Float[Tensor, "... d_model"], w: Tensor, b: Tensor, eps: float = 1e-5) -> Float[Tensor, "... d_model"]:
    """A LayerNorm with the given gain and bias (GPT-2's: centre, divide by the std, scale, shift)."""
    x = x - x.mean(-1, keepdim=True)
    return x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt() * w + b


def mlp0_embedding(model: TransformerBridge, tokens: Int[Tensor, "n"]) -> Float[Tensor, "n d_model"]:
    """A token's embedding after the first MLP, as a name would look to a later head: W_E + MLP0(LN(W_E)).

    In GPT-2 much of the "token embedding" is really computed by MLP0 (Wang et al., appendix)."""
    embed = model.W_E[tokens]
    block = model.blocks[0]
    pre = layer_norm(embed, block.ln2.w, block.ln2.b, model.cfg.eps) @ model.W_in[0] + model.b_in[0]
    post = utils.gelu_new(pre) if model.cfg.act_fn == "gelu_new" else t.nn.functional.gelu(pre)
    return embed + post @ model.W_out[0] + model.b_out[0]


@t.no_grad()
def get_copying_scores(
    model: TransformerBridge,
    name_tokens: Int[Tensor, "n_names"],
    k: int = 5,
    negative: bool = False,
) -> Float[Tensor, "n_layers n_heads"]:
    """The fraction of names a head copies: the name is among the top-k logits after its OV circuit.

    For each name: x = `mlp0_embedding(model, name)`; the head writes x @ W_V @ W_O (or minus that,
    for `negative`); apply the final LayerNorm (`layer_norm` with model.ln_final's gain and bias) and
    the unembedding W_U; count the name as copied if its own token is in the top k of the whole vocabulary."""
    # SOLUTION
    resid = mlp0_embedding(model, name_tokens)  # [n, d_model]
    ov = model.W_V @ model.W_O  # [layer, head, d_model, d_model]
    written = einops.einsum(resid, ov, "n d_in, layer head d_in d_out -> layer head n d_out")
    if negative:
        written = -written
    logits = layer_norm(written, model.ln_final.w, model.ln_final.b, model.cfg.eps) @ model.W_U
    top = logits.topk(k, dim=-1).indices  # [layer, head, n, k]
    return (top == name_tokens[:, None]).any(-1).float().mean(-1)
    # END SOLUTION


def generate_repeated_tokens(model: TransformerBridge, seq_len: int, batch: int = 1, seed: int = 0
                             ) -> Int[Tensor, "batch 1+2*seq_len"]:
    """BOS, then `seq_len` random tokens, then the same tokens again (seeded)."""
    gen = t.Generator().manual_seed(seed)
    bos = model.tokenizer.bos_token_id
    half = t.randint(1, model.cfg.d_vocab, (batch, seq_len), generator=gen)
    return t.cat([t.full((batch, 1), bos), half, half], dim=1)


@t.no_grad()
def get_attn_scores(
    model: TransformerBridge,
    seq_len: int,
    batch: int,
    head_type: Literal["duplicate", "prev", "induction"],
) -> Float[Tensor, "n_layers n_heads"]:
    """Each head's mean attention, over the second (repeated) half of `generate_repeated_tokens(model,
    seq_len, batch)`, to the key that defines the head type:

    - "duplicate": the same token's earlier occurrence (seq_len positions back);
    - "prev": the previous token (1 back);
    - "induction": the token after the earlier occurrence (seq_len - 1 back)."""
    # SOLUTION
    tokens = generate_repeated_tokens(model, seq_len, batch)
    _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    offset = {"duplicate": seq_len, "prev": 1, "induction": seq_len - 1}[head_type]
    queries = t.arange(seq_len + 1, 2 * seq_len + 1)
    scores = t.zeros(model.cfg.n_layers, model.cfg.n_heads)
    for layer in range(model.cfg.n_layers):
        pattern = cache["pattern", layer]  # [batch, head, query, key]
        scores[layer] = pattern[:, :, queries, queries - offset].mean(dim=(0, 2))
    return scores
    # END SOLUTION


def add_mean_ablation_hook(
    model: TransformerBridge,
    means_dataset: IOIDataset,
    circuit: dict[str, list[Head]],
    seq_pos_to_keep: dict[str, str],
    is_permanent: bool = True,
) -> TransformerBridge:
    """Add hooks that mean-ablate every head's output (hook_z) except the circuit's heads at their positions.

    - `circuit` maps a class name ("name mover", ...) to its heads; `seq_pos_to_keep` maps the same
      class to a key of `means_dataset.word_idx` ("end", "S2", ...): the position where those heads
      keep their real output.
    - Everything else is replaced by the mean of z over `means_dataset` (e.g. the ABC dataset),
      taken separately for each template (`means_dataset.groups()`), so that each prompt gets the mean
      of the prompts that share its word positions.
    - The hooks assume the batch that runs lines up with `means_dataset` (same templates and positions,
      e.g. the IOI dataset that `means_dataset` was derived from). Remove them with
      `model.reset_hooks(including_permanent=True)`."""
    # SOLUTION
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    batch, seq_len = means_dataset.toks.shape
    with t.no_grad():
        _, cache = model.run_with_cache(means_dataset.toks, names_filter=lambda name: name.endswith("hook_z"))
    z_all = t.stack([cache["z", layer] for layer in range(n_layers)])  # [layer, batch, seq, head, d_head]
    means = t.zeros_like(z_all)
    for group in means_dataset.groups():
        means[:, group] = z_all[:, group].mean(dim=1, keepdim=True)
    keep = t.zeros(n_layers, batch, seq_len, n_heads, dtype=t.bool)
    rows = t.arange(batch)
    for head_class, heads in circuit.items():
        positions = means_dataset.word_idx[seq_pos_to_keep[head_class]]
        for layer, head in heads:
            keep[layer, rows, positions, head] = True

    def ablate(z: Float[Tensor, "batch seq head d_head"], hook, layer: int) -> Tensor:
        mask: Bool[Tensor, "batch seq head"] = keep[layer]
        return t.where(mask[..., None], z, means[layer].to(z.dtype))

    for layer in range(n_layers):
        model.add_hook(utils.get_act_name("z", layer), partial(ablate, layer=layer), is_permanent=is_permanent)
    return model
    # END SOLUTION


def ablated_logit_diff(
    model: TransformerBridge,
    dataset: IOIDataset,
    means_dataset: IOIDataset,
    circuit: dict[str, list[Head]],
    seq_pos_to_keep: dict[str, str],
) -> float:
    """The mean logit difference on `dataset` with everything outside `circuit` mean-ablated."""
    model.reset_hooks(including_permanent=True)
    add_mean_ablation_hook(model, means_dataset, circuit, seq_pos_to_keep)
    try:
        with t.no_grad():
            return logits_to_ave_logit_diff(model(dataset.toks), dataset.answer_tokens).item()
    finally:
        model.reset_hooks(including_permanent=True)


def without(circuit: dict[str, list[Head]], heads: Sequence[Head]) -> dict[str, list[Head]]:
    """The circuit with the given heads removed."""
    return {name: [h for h in hs if h not in heads] for name, hs in circuit.items()}


def get_minimality_scores(
    model: TransformerBridge,
    dataset: IOIDataset,
    means_dataset: IOIDataset,
    circuit: dict[str, list[Head]],
    seq_pos_to_keep: dict[str, str],
    k_sets: dict[Head, list[Head]],
) -> dict[Head, float]:
    """For each head v of `k_sets`: |F(C minus (K u {v})) - F(C minus K)| / F(C), with K = k_sets[v].

    F(X) is `ablated_logit_diff(model, dataset, means_dataset, X, seq_pos_to_keep)`: the logit
    difference when only X is left and everything else is mean-ablated. A head matters to the circuit
    (is needed: the circuit is minimal) when removing it changes F a lot even after K is gone."""
    # SOLUTION
    def score(circ: dict[str, list[Head]]) -> float:
        return ablated_logit_diff(model, dataset, means_dataset, circ, seq_pos_to_keep)

    full = score(circuit)
    results = {}
    for v, k_set in tqdm(k_sets.items(), desc="minimality", leave=False):
        without_k = score(without(circuit, k_set))
        without_kv = score(without(circuit, [*k_set, v]))
        results[v] = abs(without_kv - without_k) / abs(full)
    return results
    # END SOLUTION
