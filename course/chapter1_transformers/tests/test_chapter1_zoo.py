"""The course corpus, tokenizer and course-gpt: reproducible, registered, within budget, and as good as claimed."""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import tomllib
from pathlib import Path

import pytest
import torch

from arena import zoo
from arena.resources import load_course_model
from course.chapter1_transformers.zoo import configs, corpus, train_lm, world
from course.chapter1_transformers.zoo.ioi_eval import IOIPrompt, ioi_prompts, ioi_scores

CHAPTER = Path(__file__).resolve().parents[1]
ROOT = CHAPTER.parents[1]
MB = 1 << 20


@pytest.fixture(scope="module")
def course_gpt():
    return load_course_model("course-gpt")


@pytest.fixture(scope="module")
def card() -> dict:
    return zoo.read_card("course-gpt")


# ---------------------------------------------------------------- the zoo is consistent


def test_every_registered_model_has_its_files_and_a_verified_card() -> None:
    for name, entry in zoo.registry().items():
        if entry.dir.is_relative_to(CHAPTER):
            assert entry.weights_path.exists(), f"{name}: no weights; run `arena train {name}`"
            assert zoo.verify(name)["name"] == name


def test_every_shipped_weights_file_belongs_to_a_registered_model() -> None:
    from arena.catalog import draft_part_dirs

    registered = {e.weights_path.resolve() for e in zoo.registry().values()}
    drafts = draft_part_dirs()
    for path in CHAPTER.rglob("*.safetensors"):
        if any(path.is_relative_to(d) for d in drafts):
            continue  # a draft part's models are registered once the part is finished
        if any("checkpoint" in piece for piece in path.parts):
            continue  # training-dynamics series, loaded by their parts
        assert path.resolve() in registered, f"{path} is not declared in any models.toml"


def test_course_gpt_card_matches_its_config(card: dict) -> None:
    """A changed config makes the shipped weights stale: re-make them with `arena train course-gpt`."""
    current = dataclasses.asdict(configs.COURSE_GPT)
    recorded = {k: (tuple(v) if isinstance(v, list) else v) for k, v in card["train_config"].items()}
    assert recorded == current, "course-gpt is stale: run `arena train course-gpt --out <dir>` and ship it"


def test_size_budget() -> None:
    """Each model under 20 MB; the whole chapter's shipped binaries under 60 MB."""
    files = [p for p in CHAPTER.rglob("*") if p.suffix in (".safetensors", ".pt", ".npz", ".bin")]
    for path in files:
        assert path.stat().st_size < 20 * MB, path
    assert sum(p.stat().st_size for p in files) < 60 * MB


def test_package_data_ships_every_file_the_loader_reads() -> None:
    """Files not matched by pyproject's package-data would be silently dropped from a wheel."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
    needed = [CHAPTER / "models.toml", *CHAPTER.glob("part*/models.toml")]
    for entry in zoo.registry().values():
        needed += [p for p in entry.dir.iterdir() if p.is_file()]
    for path in needed:
        assert any(fnmatch.fnmatch(path.name, pat) for pat in patterns), f"{path.name} would not be packaged"


# ---------------------------------------------------------------- corpus and tokenizer


def test_corpus_is_reproducible_and_matches_the_card(card: dict) -> None:
    cfg = configs.COURSE_GPT
    text = corpus.corpus_text(cfg.n_stories, cfg.corpus_seed)
    assert corpus.corpus_hash(text) == card["provenance"]["corpus_sha256"]
    assert corpus.corpus_text(50, 3) == corpus.corpus_text(50, 3)
    assert corpus.corpus_text(50, 3) != corpus.corpus_text(50, 4)


def test_tokenizer_round_trips_the_corpus(course_gpt) -> None:
    """The shipped tokenizer is fixed (every shipped model depends on its ids); it must still encode
    and decode today's corpus exactly. `python -m course.chapter1_transformers.zoo.tokenizer` re-makes
    one from the current corpus, which would mean re-training every model that reads text."""
    tok = course_gpt.tokenizer
    for story in corpus.stories(300, seed=11):
        assert tok.decode(tok(story, add_special_tokens=False)["input_ids"]) == " " + story
    assert len(tok) == course_gpt.cfg.d_vocab == 1058


def test_every_name_place_and_object_is_one_token_with_a_leading_space(course_gpt) -> None:
    words = [n for n, _ in world.NAMES] + world.PLACES + world.OBJECTS
    multi = [w for w in words if len(course_gpt.tokenizer(" " + w, add_special_tokens=False)["input_ids"]) != 1]
    assert not multi
    # A name at the very start of a prompt is the same token as mid-sentence (add_prefix_space).
    assert course_gpt.to_str_tokens("Mary", prepend_bos=False) == [" Mary"]


def _template_regex(template: str) -> re.Pattern:
    """A regex matching sentences made from one IOI template, capturing every slot."""
    pattern = re.escape(template)
    for slot in ("A", "B", "S", "IO", "verb", "prep", "obj", "place", "day"):
        pattern = pattern.replace(re.escape("{" + slot + "}"), f"(?P<{slot}>[A-Za-z]+)", 1)
        pattern = pattern.replace(re.escape("{" + slot + "}"), f"(?P={slot})")
    return re.compile(pattern)


def test_heldout_words_never_fill_an_ioi_template() -> None:
    """The IOI evaluation is fair: held-out templates never occur, and held-out names, objects and
    places never fill a training IOI template -- while all of them do occur elsewhere in the corpus."""
    text = corpus.corpus_text(6_000, seed=0)  # ~3,000 IOI sentences; each of 276 templates is a regex scan
    for template in world.HELDOUT_IOI_TEMPLATES:
        assert not _template_regex(template).search(text), template
        for word in re.findall(r"[A-Za-z]+", re.sub(r"\{\w+\}", " ", template)):
            assert re.search(rf"\b{word}\b", text), word  # the wording is new, the words are not
    heldout = set(world.HELDOUT_NAMES) | set(world.HELDOUT_OBJECTS) | set(world.HELDOUT_PLACES)
    n_ioi = 0
    for template in world.IOI_TEMPLATES:
        for match in _template_regex(template).finditer(text):
            n_ioi += 1
            slots = {k: v for k, v in match.groupdict().items() if v}
            assert not heldout & set(slots.values()), match.group(0)
    assert n_ioi > 2_000  # the regexes do find the IOI sentences
    for word in heldout | {v for v, _ in world.HELDOUT_GIVE_VERBS}:
        assert f" {word}" in text, word


# ---------------------------------------------------------------- course-gpt's claims


def test_validation_loss_is_what_the_card_says(course_gpt, card: dict) -> None:
    """The card's final validation loss, recomputed through the TransformerBridge on the same held-out stories."""
    cfg = configs.COURSE_GPT
    val, _ = train_lm.token_stream(course_gpt.tokenizer, 300, cfg.corpus_seed + train_lm.VAL_SEED_OFFSET)
    rows = val[: (len(val) // cfg.n_ctx) * cfg.n_ctx].view(-1, cfg.n_ctx)[:64]
    with torch.no_grad():
        loss = course_gpt(rows, return_type="loss").item()
    assert loss == pytest.approx(card["metrics"]["val_loss"], abs=0.1)
    assert loss < 1.0  # uniform guessing would be ln(1058) = 6.96


def test_course_gpt_does_ioi_on_its_training_templates_and_generalises_over_words(course_gpt, card: dict) -> None:
    """IOI templates seen in training, filled with held-out names, objects and places: IO beats S in
    every prompt by a wide margin; the card's numbers are those of the shipped weights."""
    import random

    rng = random.Random(5)
    prompts = []
    for i in range(120):
        a, b = rng.sample(world.HELDOUT_NAMES, 2)
        s, io = (b, a) if i % 2 else (a, b)
        full = world.IOI_TEMPLATES[i % 3].format(A=a, B=b, S=s, IO=io, verb="gave", prep="to", day="Monday",
                                                  obj=rng.choice(world.HELDOUT_OBJECTS),
                                                  place=rng.choice(world.HELDOUT_PLACES))
        prompts.append(IOIPrompt(full[: full.rindex(io)].rstrip(), io, s, 0, ""))
    scores = ioi_scores(course_gpt, course_gpt.tokenizer, prompts)
    assert scores["accuracy"] >= 0.95 and scores["logit_diff"] >= 5.0, scores
    train = ioi_scores(course_gpt, course_gpt.tokenizer, ioi_prompts(200, heldout=False, seed=1))
    assert train["accuracy"] == pytest.approx(card["metrics"]["ioi_train_templates_accuracy"], abs=0.01)
    assert train["logit_diff"] == pytest.approx(card["metrics"]["ioi_train_templates_logit_diff"], abs=0.05)


def test_course_gpt_does_ioi_on_heldout_templates(course_gpt) -> None:
    """Held-out templates, names, objects and places: accuracy >= 90 %, mean logit difference >= 2."""
    scores = ioi_scores(course_gpt, course_gpt.tokenizer, ioi_prompts(200, heldout=True, seed=1))
    assert scores["accuracy"] >= 0.9 and scores["logit_diff"] >= 2.0, scores


def test_untrained_model_of_the_same_shape_fails_the_claims(course_gpt) -> None:
    """Negative control: the same architecture with fresh weights neither does IOI nor writes English."""
    from transformers import GPT2LMHeadModel

    torch.manual_seed(1)
    fresh = GPT2LMHeadModel(course_gpt.original_model.config).eval()
    scores = ioi_scores(fresh, course_gpt.tokenizer, ioi_prompts(100, heldout=True, seed=1))
    assert scores["accuracy"] < 0.9 or scores["logit_diff"] < 2.0
    assert _english_fraction(_sample_text(fresh, course_gpt.tokenizer)) < 0.9


def _known_words() -> set[str]:
    sample = corpus.corpus_text(3_000, seed=7)
    return set(re.findall(r"[A-Za-z]+", sample))


def _sample_text(model, tokenizer, n: int = 60) -> str:
    torch.manual_seed(0)
    ids = torch.tensor([[tokenizer.bos_token_id] + tokenizer.encode("One day, Lily and Max went to the park.")])
    with torch.no_grad():
        for _ in range(n):
            logits = model(ids).logits[0, -1] / 0.8
            ids = torch.cat([ids, torch.multinomial(logits.softmax(-1), 1)[None]], dim=1)
    return tokenizer.decode(ids[0, 1:])


def _english_fraction(text: str) -> float:
    words = re.findall(r"[A-Za-z]+", text)
    known = _known_words()
    return sum(w in known for w in words) / max(1, len(words))


def test_samples_read_as_simple_english(course_gpt) -> None:
    """Sampled at temperature 0.8, course-gpt writes words of the story world in sentences."""
    text = _sample_text(course_gpt.original_model, course_gpt.tokenizer)
    assert _english_fraction(text) >= 0.97, text
    assert text.count(".") >= 3, text


# ---------------------------------------------------------------- the training entry point


def test_training_entry_point_runs_and_the_loss_falls(tmp_path: Path) -> None:
    """`arena train course-gpt` in miniature: the same function, a tiny config, a few steps."""
    tiny = dataclasses.replace(configs.COURSE_GPT, n_layer=1, d_model=32, n_head=2, d_mlp=64, n_ctx=32,
                               n_stories=400, val_stories=40, batch_size=8, steps=30, warmup=5, lr=3e-3,
                               eval_every=15)
    metrics = train_lm.train(tmp_path, cfg=tiny, ioi_prompts_per_split=8)
    card = zoo.read_card_at(tmp_path)
    history = card["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] < 7.0
    assert metrics["val_loss"] == history[-1]["val_loss"]
    model = zoo.boot("hf-gpt2", tmp_path, card)
    assert model.cfg.n_layers == 1 and not model.training
