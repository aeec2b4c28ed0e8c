"""Indirect-object prompts for evaluating a language model, from the story world's held-out lists.

`ioi_prompts(heldout=True)` builds prompts from templates, names, verbs, objects and places that the
corpus never puts in an IOI-shaped sentence. The metric is the one part 1.3 teaches: the logit of the
indirect object minus the logit of the subject, at the last position."""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import world as w


@dataclass(frozen=True)
class IOIPrompt:
    text: str  # ends just before the indirect object
    io: str
    s: str
    template: int
    order: str  # "ABBA" (S is the second name) or "BABA"


def ioi_prompts(n: int, heldout: bool = True, seed: int = 0, heldout_verbs: bool = False) -> list[IOIPrompt]:
    """`heldout=True`: templates, names, objects and places never used in IOI-shaped training sentences
    (the verbs are the training give-verbs unless `heldout_verbs`, which also holds out the verb)."""
    rng = random.Random(seed)
    if heldout:
        templates, names = w.HELDOUT_IOI_TEMPLATES, w.HELDOUT_NAMES
        verbs = w.HELDOUT_GIVE_VERBS if heldout_verbs else w.GIVE_VERBS
        objects, places = w.HELDOUT_OBJECTS, w.HELDOUT_PLACES
    else:
        templates, names = w.IOI_TEMPLATES, w.train_ioi_names()
        verbs, objects, places = w.GIVE_VERBS, w.train_ioi_objects(), w.train_ioi_places()
    prompts = []
    for i in range(n):
        t = (i // 2) % len(templates)  # every template gets both orders
        a, b = rng.sample(names, 2)
        order = "ABBA" if i % 2 == 0 else "BABA"
        s, io = (b, a) if order == "ABBA" else (a, b)
        verb, prep = rng.choice(verbs)
        full = templates[t].format(A=a, B=b, S=s, IO=io, verb=verb, prep=prep, obj=rng.choice(objects),
                                   place=rng.choice(places), day=rng.choice(w.WEEKDAYS))
        text = full[: full.rindex(io)].rstrip()
        prompts.append(IOIPrompt(text, io, s, t, order))
    return prompts


def ioi_scores(model, tokenizer, prompts: list[IOIPrompt]) -> dict[str, float]:
    """Accuracy (IO beats S) and mean logit difference for an HF causal LM and its tokenizer."""
    import torch

    bos = tokenizer.bos_token_id

    def ids(text: str) -> list[int]:  # TransformerLens sets its tokenizers to add BOS; we add it ourselves
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    encoded = [[bos] + ids(p.text) for p in prompts]
    io_ids = [ids(" " + p.io)[0] for p in prompts]
    s_ids = [ids(" " + p.s)[0] for p in prompts]
    width = max(map(len, encoded))
    toks = torch.full((len(encoded), width), bos, dtype=torch.long)
    for row, seq in enumerate(encoded):
        toks[row, : len(seq)] = torch.tensor(seq)
    last = torch.tensor([len(seq) - 1 for seq in encoded])
    with torch.no_grad():
        out = model(toks)
        logits = getattr(out, "logits", out)
    final = logits[torch.arange(len(encoded)), last]
    diff = final[torch.arange(len(encoded)), io_ids] - final[torch.arange(len(encoded)), s_ids]
    top = final.argmax(-1)
    return {
        "accuracy": float((diff > 0).float().mean()),
        "logit_diff": float(diff.mean()),
        "top1_io": float((top == torch.tensor(io_ids)).float().mean()),
    }
