"""The shipped-model loader, the registry and GPT-2 loading, on small local stand-ins (never the network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from arena import zoo
from arena.resources import ResourceUnavailable, load_course_model, load_gpt2

TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "course/chapter1_transformers/zoo/weights/tokenizer"


def _tiny_gpt2_dir(target: Path, with_tokenizer: bool = True) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    from arena.zoo import load_tokenizer_dir

    tok = load_tokenizer_dir(TOKENIZER_DIR)
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=len(tok), n_positions=32,
                                    bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    hf.save_pretrained(target)
    if with_tokenizer:
        tok.save_pretrained(str(target))
    return target


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(LookupError) as info:
        load_course_model("cours-gpt")
    message = str(info.value)
    assert "course-gpt" in message and "gpt2" in message


def test_registry_entries_have_kind_dir_and_trainer() -> None:
    models = zoo.registry()
    assert "course-gpt" in models
    for name, entry in models.items():
        assert entry.kind in zoo.KINDS, name
        module, _, fn = entry.train.partition(":")
        assert module and fn, f"{name}: train must be 'module:function'"


def test_gpt2_offline_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARENA_CACHE", str(tmp_path))
    with pytest.raises(ResourceUnavailable, match="arena fetch gpt2"):
        load_course_model("gpt2")


def test_gpt2_loads_from_a_cache_dir_of_the_same_structure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real loading code, on a small random GPT2Config saved exactly as `arena fetch gpt2` saves GPT-2."""
    monkeypatch.setenv("ARENA_CACHE", str(tmp_path))
    _tiny_gpt2_dir(tmp_path / "gpt2")
    model = load_gpt2()
    assert not model.training
    toks = model.to_tokens(" Mary and John")
    assert toks.shape == (1, 4)  # BOS + three single tokens
    logits, cache = model.run_with_cache(toks)
    assert logits.shape[-1] == model.cfg.d_vocab
    assert ("blocks.0.attn.hook_pattern" in cache) and cache["pattern", 1].shape == (1, 4, 4, 4)


def test_gpt2_dir_without_tokenizer_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A directory without tokenizer files would boot with an empty tokenizer; the loader says so instead."""
    monkeypatch.setenv("ARENA_CACHE", str(tmp_path))
    _tiny_gpt2_dir(tmp_path / "gpt2", with_tokenizer=False)
    with pytest.raises(ResourceUnavailable, match="tokenizer.json"):
        load_gpt2()


def test_tampered_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The card's sha256 guards the weights: a changed file is reported, never silently loaded."""
    chapter = tmp_path / "chapter9_test"
    model_dir = chapter / "m"
    model_dir.mkdir(parents=True)
    (chapter / "models.toml").write_text('[toy]\nkind = "native"\ndir = "m"\ntrain = "x:y"\n')
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(model_dir / zoo.WEIGHTS_FILE))
    zoo.write_card(model_dir, name="toy", kind="native", architecture={}, train_config={}, metrics={})
    found = zoo.registry(tmp_path)
    monkeypatch.setattr(zoo, "registry", lambda course_dir=None: found)
    assert zoo.verify("toy")["name"] == "toy"
    save_file({"w": torch.ones(2)}, str(model_dir / zoo.WEIGHTS_FILE))
    with pytest.raises(zoo.StaleModel, match="sha256"):
        zoo.verify("toy")
    card = json.loads((model_dir / zoo.CARD_FILE).read_text())
    assert card["format"] == zoo.CARD_FORMAT


def test_draft_parts_are_hidden_until_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arena import catalog

    part = tmp_path / "chapter7_demo" / "part1_wip"
    part.mkdir(parents=True)
    (part / "lesson.md").write_text('+++\ntitle = "WIP"\ndraft = true\n+++\nText.\n')
    (part / "models.toml").write_text('[wip-model]\nkind = "native"\ndir = "m"\ntrain = "x:y"\n')
    monkeypatch.delenv("ARENA_DRAFTS", raising=False)
    chapter = catalog.Chapter(7, "demo", tmp_path / "chapter7_demo")
    assert chapter.parts == [] and catalog.draft_part_dirs(tmp_path) == [part]
    assert "wip-model" not in zoo.registry(tmp_path)
    monkeypatch.setenv("ARENA_DRAFTS", "1")
    assert [p.slug for p in chapter.parts] == ["wip"] and "wip-model" in zoo.registry(tmp_path)
