"""Bracket strings for part 1.4: the tokenizer, a seeded generator that makes the task hard, and a dataset.

The generator mixes five kinds of string of even length 2-40 (see `KINDS`): uniformly random Dyck paths
(balanced), near misses made from them (one bracket flipped, or an open and a later close swapped),
shuffles with equal counts (right total, but usually dipping below zero) and plain random strings.
About half are balanced, every length has both labels, and both failure types are common."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch as t
from jaxtyping import Bool, Int
from torch import Tensor

START, PAD, END, OPEN, CLOSE = 0, 1, 2, 3, 4
MAX_LEN = 40  # longest bracket string; the model's context is MAX_LEN + 2 (START and END)
N_CTX = MAX_LEN + 2

# kind -> share of the mix; "balanced" strings are uniform over Dyck paths of their length
KINDS: dict[str, float] = {"balanced": 0.38, "swap": 0.2, "flip": 0.12, "shuffle": 0.17, "random": 0.13}


class SimpleTokenizer:
    """START = 0, PAD = 1, END = 2, "(" = 3, ")" = 4; a string becomes [0] + chars + [2], right-padded with 1."""

    START_TOKEN, PAD_TOKEN, END_TOKEN = START, PAD, END
    vocab = {"[start]": START, "[pad]": PAD, "[end]": END, "(": OPEN, ")": CLOSE}

    def tokenize(self, strings: str | list[str], max_len: int | None = None) -> Int[Tensor, "batch seq"]:
        """Token ids of shape (batch, max_len + 2); max_len defaults to the longest string."""
        if isinstance(strings, str):
            strings = [strings]
        longest = max((len(s) for s in strings), default=0)
        max_len = longest if max_len is None else max_len
        if longest > max_len:
            raise ValueError(f"a string of length {longest} does not fit max_len={max_len}")
        joined = "".join(s.ljust(max_len, ".") for s in strings)
        chars = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(strings), max_len)
        if not np.isin(chars, (ord("("), ord(")"), ord("."))).all():
            raise ValueError("only '(' and ')' are allowed in bracket strings")
        ids = np.full((len(strings), max_len + 2), PAD, dtype=np.int64)
        ids[:, 0] = START
        ids[:, 1:-1] = np.select([chars == ord("("), chars == ord(")")], [OPEN, CLOSE], PAD)
        ids[np.arange(len(strings)), np.array([len(s) for s in strings]) + 1] = END
        toks = t.from_numpy(ids)
        return toks

    def decode(self, toks: Int[Tensor, "batch seq"] | Int[Tensor, "seq"]) -> list[str]:
        """The bracket strings back (START, END and PAD dropped)."""
        if toks.ndim == 1:
            toks = toks[None]
        chars = {OPEN: "(", CLOSE: ")"}
        return ["".join(chars.get(int(x), "") for x in row) for row in toks]


def attention_mask(toks: Int[Tensor, "batch seq"]) -> Int[Tensor, "batch seq"]:
    """1 on real tokens (START, brackets, END), 0 on padding: what the model's `attention_mask=` takes."""
    return (toks != PAD).long()


def labels_of(toks: Int[Tensor, "batch seq"]) -> Bool[Tensor, "batch"]:
    """True where the bracket string is balanced (the generator's ground truth)."""
    steps = (toks == OPEN).long() - (toks == CLOSE).long()
    heights = steps.cumsum(-1)
    return (heights[:, -1] == 0) & (heights.min(-1).values >= 0)


def random_dyck_batch(n_strings: int, n_pairs: int, rng: np.random.Generator) -> Int[np.ndarray, "n 2*n_pairs"]:
    """Dyck paths (+1 = "(", -1 = ")") uniform over all Catalan(n_pairs) of them, by the cycle lemma:
    shuffle n+1 up-steps and n down-steps; exactly one rotation has every prefix sum positive (the one
    starting just after the last minimum of the prefix sums); rotate to it and drop its first up-step."""
    m = 2 * n_pairs + 1
    steps = np.array([1] * (n_pairs + 1) + [-1] * n_pairs)
    steps = steps[np.argsort(rng.random((n_strings, m)), axis=1)]
    heights = np.cumsum(steps, axis=1)
    last_min = m - 1 - np.argmin(heights[:, ::-1], axis=1)
    start = (last_min + 1) % m
    idx = (start[:, None] + np.arange(m)[None]) % m
    return np.take_along_axis(steps, idx, axis=1)[:, 1:]


def random_dyck(n_pairs: int, rng: np.random.Generator) -> str:
    """One uniformly random balanced string with n_pairs pairs."""
    return _to_str(random_dyck_batch(1, n_pairs, rng)[0])


def _to_str(steps: np.ndarray) -> str:
    return "".join("(" if x == 1 else ")" for x in steps)


def _flip(steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip one bracket per row (the total elevation becomes +-2)."""
    rows = np.arange(len(steps))
    cols = rng.integers(steps.shape[1], size=len(steps))
    steps = steps.copy()
    steps[rows, cols] *= -1
    return steps


def _swap(steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, swap an open bracket with a close bracket somewhere after it (lowering the depth between
    them by 2; the string stays balanced only if the depth there was at least 2)."""
    n, length = steps.shape
    # a random open bracket that has a close bracket after it (every "(" in a Dyck path does)
    keys = np.where(steps == 1, rng.random((n, length)), -1.0)
    i = np.argmax(keys, axis=1)
    after = np.arange(length)[None] > i[:, None]
    keys = np.where((steps == -1) & after, rng.random((n, length)), -1.0)
    j = np.argmax(keys, axis=1)
    steps = steps.copy()
    rows = np.arange(n)
    steps[rows, i], steps[rows, j] = -1, 1
    return steps


def generate_steps(kind: str, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """n strings of one kind and length, as +-1 steps of shape (n, length)."""
    if kind == "balanced":
        return random_dyck_batch(n, length // 2, rng)
    if kind == "flip":
        return _flip(random_dyck_batch(n, length // 2, rng), rng)
    if kind == "swap":
        return _swap(random_dyck_batch(n, length // 2, rng), rng)
    if kind == "shuffle":
        steps = np.array([1] * (length // 2) + [-1] * (length // 2))
        return steps[np.argsort(rng.random((n, length)), axis=1)]
    if kind == "random":
        return rng.choice(np.array([1, -1]), size=(n, length))
    raise ValueError(f"unknown kind {kind!r}; choose from {list(KINDS)}")


def generate_strings(n: int, seed: int, kinds: dict[str, float] | None = None,
                     lengths: tuple[int, int] = (2, MAX_LEN)) -> tuple[list[str], list[str]]:
    """n strings (and the kind each came from), deterministic by seed; even lengths uniform in `lengths`."""
    kinds = KINDS if kinds is None else kinds
    rng = np.random.default_rng(seed)
    names = list(kinds)
    probs = np.array([kinds[k] for k in names], dtype=float)
    picked = rng.choice(len(names), size=n, p=probs / probs.sum())
    sizes = rng.choice(np.arange(lengths[0], lengths[1] + 1, 2), size=n)
    strings: list[str] = [""] * n
    for k, name in enumerate(names):
        for length in np.unique(sizes[picked == k]):
            where = np.flatnonzero((picked == k) & (sizes == length))
            steps = generate_steps(name, len(where), int(length), rng)
            raw = np.where(steps == 1, ord("("), ord(")")).astype(np.uint8).tobytes().decode("ascii")
            for r, w in enumerate(where):
                strings[w] = raw[r * length:(r + 1) * length]
    return strings, [names[k] for k in picked]


@dataclass
class BracketsDataset:
    """Bracket strings with their tokens, padding mask and labels (True = balanced)."""

    strs: list[str]
    kinds: list[str] | None = None

    def __post_init__(self) -> None:
        self.toks: Int[Tensor, "batch seq"] = SimpleTokenizer().tokenize(self.strs, max_len=MAX_LEN)
        self.mask: Int[Tensor, "batch seq"] = attention_mask(self.toks)
        self.isbal: Bool[Tensor, "batch"] = labels_of(self.toks)

    @classmethod
    def generate(cls, n: int, seed: int, kinds: dict[str, float] | None = None) -> BracketsDataset:
        strs, kind_of = generate_strings(n, seed, kinds)
        return cls(strs, kind_of)

    @property
    def seq_length(self) -> int:
        return self.toks.shape[1]

    def __len__(self) -> int:
        return len(self.strs)

    def __getitem__(self, idx) -> BracketsDataset:
        idx = [idx] if isinstance(idx, int) else idx
        if isinstance(idx, slice):
            return BracketsDataset(self.strs[idx], self.kinds[idx] if self.kinds else None)
        idx = t.as_tensor(idx).tolist()
        return BracketsDataset([self.strs[i] for i in idx], [self.kinds[i] for i in idx] if self.kinds else None)
