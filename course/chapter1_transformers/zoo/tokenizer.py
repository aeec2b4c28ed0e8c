"""The course tokenizer: byte-level BPE trained on the course corpus (Hugging Face `tokenizers`).

Every text is read with a leading space (`add_prefix_space=True`), so a name at the very start of a
prompt is the same token as in the middle of a sentence (" Mary", never "Mary")."""

from __future__ import annotations

from pathlib import Path

from arena.zoo import load_tokenizer_dir as load_tokenizer  # one loader for every tokenizer dir

from .corpus import BOS, corpus_text

TOKENIZER_STORIES = 20_000


def train_tokenizer(out_dir: Path, vocab_size: int = 2048, seed: int = 0):
    """Train the BPE on a seeded sample of the corpus and save it as a Hugging Face tokenizer dir."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tk.decoder = decoders.ByteLevel()
    text = corpus_text(TOKENIZER_STORIES, seed=seed + 10_000)
    docs = [d for d in text.split(BOS) if d]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(docs, trainer)
    hf = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token=BOS, eos_token=BOS, pad_token=BOS)
    out_dir.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(str(out_dir))
    return load_tokenizer(out_dir)


if __name__ == "__main__":
    target = Path(__file__).parent / "weights" / "tokenizer"
    print(f"{len(train_tokenizer(target))} tokens written to {target}")
