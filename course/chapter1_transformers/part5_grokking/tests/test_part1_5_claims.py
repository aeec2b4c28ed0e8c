"""Part 1.5: every claim the lesson makes about the shipped grokking run, asserted on the shipped files.

Each test quotes the lesson's sentence (a template whose numbers come from the card or facts.json, never
retyped) and checks both that the lesson still says it and that the files bear it out. Negative controls
(an untrained model, a run that never memorised) show that the measures can fail."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest
import torch

from arena.zoo import entry, read_card, sha256_of, verify
from course.chapter1_transformers.part5_grokking import solutions as S
from course.chapter1_transformers.part5_grokking.assets import analyse
from course.chapter1_transformers.part5_grokking.assets import train as T

torch.set_num_threads(1)
PART = Path(__file__).resolve().parents[1]
LESSON = re.sub(r"\s+", " ", (PART / "lesson.md").read_text(encoding="utf-8"))


@cache
def model():
    from arena.resources import load_course_model

    return load_course_model("grokking")


@cache
def facts() -> dict:
    return json.loads(analyse.FACTS.read_text(encoding="utf-8"))


@cache
def untrained():
    return S.model_from_state_dict(T.initial_state_dict())


def says(sentence: str) -> None:
    """The lesson contains `sentence` (whitespace-insensitive)."""
    assert re.sub(r"\s+", " ", sentence) in LESSON, f"the lesson no longer says: {sentence!r}"


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


def accuracy(m) -> float:
    return (S.last_logits(m).argmax(-1) == S.all_labels()).float().mean().item()


# ------------------------------------------------------------------ the shipped files


def test_shipped_files_are_registered_verified_and_small() -> None:
    """The run ships its final model, a thinned checkpoint series and facts within about 15 MB."""
    card = verify("grokking")
    d = entry("grokking").dir
    total = sum(f.stat().st_size for f in d.iterdir() if f.is_file())
    assert total < 15.5e6, f"{d} holds {total / 1e6:.1f} MB; the budget is about 15 MB"
    assert card["train_config"] == json.loads(json.dumps(T.CONFIG.to_dict())), (
        "the card's training config differs from GrokConfig: the weights are stale; re-make them with "
        "`python -m course.chapter1_transformers.part5_grokking.assets.train` and then assets/analyse.py")
    assert card["architecture"] == T.architecture()
    assert card["history"]["checkpoint_epochs"] == S.load_series()["checkpoint_epochs"]


def test_final_model_gets_all_pairs_right() -> None:
    """At the end the model is right on FULL_ACC of all 12,769 pairs."""
    card = read_card("grokking")
    acc = accuracy(model())
    assert acc >= 0.99 and acc == pytest.approx(card["metrics"]["full_accuracy"], abs=1e-5)
    says(f"At the end the model is right on {pct(card['metrics']['full_accuracy'], 2)} of all 12,769 pairs.")
    assert accuracy(untrained()) < 0.05  # negative control


def test_fast_and_plain_models_equal_the_bridge() -> None:
    """The training script's per-token model and the plain torch.nn model compute the bridge's logits."""
    sd = {k: v.clone() for k, v in model().state_dict().items()}
    tokens = S.all_tokens()[::7]
    with torch.inference_mode():
        want = model()(tokens)
        fast = T.FastGrokModel(sd, n_heads=4)(tokens[:, 0], tokens[:, 1])
        plain = T.PlainGrokModel().load_bridge_state_dict(sd)(tokens)
    torch.testing.assert_close(fast, want[:, -1], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(plain, want, atol=1e-4, rtol=1e-4)


def test_training_reproduces_the_shipped_history(tmp_path: Path) -> None:
    """The shipped run is reproducible from its script: the same seed gives the same first epochs."""
    steps = 6
    metrics = T.train(tmp_path, steps=steps, progress=False)
    assert metrics["epochs"] == steps
    from safetensors.torch import load_file

    mine = load_file(str(tmp_path / "checkpoints.safetensors"))
    shipped = S.load_series()
    torch.testing.assert_close(mine["train_loss"], shipped["train_loss"][:steps], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(mine["train_indices"], shipped["train_indices"])
    for key, value in shipped["state_dicts"][0].items():  # the epoch-0 checkpoint is the seeded init
        torch.testing.assert_close(mine[f"checkpoints.{key}"][0].float(), value)
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["sha256"] == sha256_of(tmp_path / "model.safetensors")


def test_arena_train_grokking_runs(tmp_path: Path) -> None:
    """`arena train grokking --steps N` writes a loadable model and card."""
    from typer.testing import CliRunner

    from arena.cli import app
    from arena.zoo import boot

    result = CliRunner().invoke(app, ["train", "grokking", "--steps", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "card.json").read_text())
    assert card["metrics"]["epochs"] == 3
    m = boot("native", tmp_path, card)
    assert S.last_logits(m).shape == (113 * 113, 113)


# ------------------------------------------------------------------ the loss curves


def grokked_late(train_acc: torch.Tensor, test_epochs: torch.Tensor, test_loss: torch.Tensor,
                 test_acc: torch.Tensor) -> bool:
    """Memorisation first (train acc ≥ 99.9 % while test acc < 50 %), the test loss rising meanwhile, then a
    late fall of the test loss below 0.01 and test accuracy ≥ 99 %."""
    memorised = int(torch.nonzero(train_acc >= 0.999)[0]) if (train_acc >= 0.999).any() else None
    if memorised is None or not (test_acc >= 0.99).any():
        return False
    grok = int(test_epochs[torch.nonzero(test_acc >= 0.99)[0]])
    at_mem = int(torch.searchsorted(test_epochs, memorised))
    return bool(test_acc[at_mem] < 0.5 and test_loss.max() > test_loss[0] and grok > 2 * memorised
                and test_loss[-1] < 0.01)


def test_loss_curves_memorise_first_then_grok() -> None:
    """The training loss falls at once: by epoch MEMORISED_EPOCH the model gets 99.9 % of its training pairs
    right. Meanwhile the test loss *rises* (it peaks at TEST_PEAK around epoch TEST_PEAK_EPOCH, …); at epoch
    GROK_EPOCH the test accuracy first reaches 99 %. The run continued to epoch EPOCHS."""
    s, f = S.load_series(), facts()
    assert grokked_late(s["train_acc"], s["test_epochs"], s["test_loss"], s["test_acc"])
    says(f"by epoch {f['memorised_epoch']:,} the model gets 99.9 % of its training pairs right")
    says(f"it peaks at {f['test_loss_peak']:.1f} around epoch {f['test_loss_peak_epoch']:,}")
    says(f"at epoch {f['grok_epoch']:,} the test accuracy first reaches 99 %. The run continued to epoch "
         f"{f['epochs']:,}.")
    # negative control: a run whose test loss follows the train loss never "memorised first"
    assert not grokked_late(s["train_acc"], s["test_epochs"], s["train_loss"][s["test_epochs"]],
                            s["train_acc"][s["test_epochs"]])


# ------------------------------------------------------------------ circuits and features


def test_facts_file_matches_the_shipped_files() -> None:
    """Every number in facts.json (which the lesson quotes) is recomputed from the shipped model and series."""
    got = analyse.compute_facts(model(), S.load_series(), read_card("grokking"), dynamics_stride=3)
    want = facts()
    for key in ("key_freqs", "cluster_sizes", "n_clustered", "memorised_epoch", "test_loss_peak_epoch",
                "grok_epoch", "epochs"):
        assert json.loads(json.dumps(got[key])) == want[key], key
    for key in ("embed_key_fraction", "logit_fraction", "test_loss_peak", "final_train_loss", "final_test_loss",
                "final_restricted_loss"):
        assert got[key] == pytest.approx(want[key], rel=1e-3, abs=1e-9), key
    assert got["final_excluded_losses"] == pytest.approx(want["final_excluded_losses"], rel=1e-3)
    shipped = {d["epoch"]: d for d in want["dynamics"]}
    for row in got["dynamics"]:
        for key in ("restricted_loss", "excluded_loss", "sum_sq_weights", "embed_key_fraction"):
            assert row[key] == pytest.approx(shipped[row["epoch"]][key], rel=1e-3, abs=1e-9), (row["epoch"], key)


def test_key_frequencies_and_embedding_share() -> None:
    """For our run the key frequencies are KEY_FREQS, and they hold EMBED_FRACTION of the embedding's squared
    norm (outside the constant term)."""
    f = facts()
    key = S.key_frequencies(model())
    assert key == f["key_freqs"] and 3 <= len(key) <= 8
    norms = S.fourier_norms(S.fourier_embed(model()))
    share = (norms[[k - 1 for k in key]].sum() / norms.sum()).item()
    assert share > 0.7
    says(f"For our run the key frequencies are {freq_list(key)}, and they hold {pct(share, 0)} of the "
         "embedding's squared norm")
    # negative control: an untrained model has no frequency clusters and a flat spectrum
    assert S.key_frequencies(untrained()) == []
    flat = S.fourier_norms(S.fourier_embed(untrained()))
    assert (flat.topk(len(key)).values.sum() / flat.sum()).item() < 0.3


def freq_list(freqs: list[int]) -> str:
    return ", ".join(str(k) for k in freqs[:-1]) + f" and {freqs[-1]}"


def test_neurons_cluster_by_frequency() -> None:
    """Most neurons belong to one key frequency. In our model N_CLUSTERED of the 512 neurons have at least 85 % of their variance explained by a single
    frequency, and they form clusters: CLUSTER_SIZES."""
    f = facts()
    freqs, fracs = S.find_neuron_freqs(S.fft2d(S.neuron_acts(model())))
    clustered = fracs >= 0.85
    assert int(clustered.sum()) == f["n_clustered"] and f["n_clustered"] > 0.5 * 512  # "most neurons"
    assert set(freqs[clustered].tolist()) <= set(f["key_freqs"])  # every well-explained neuron is in a key cluster
    sizes = ", ".join(f"{f['cluster_sizes'][str(k)]} neurons at frequency {k}" for k in f["key_freqs"])
    says(f"In our model {f['n_clustered']} of the 512 neurons have at least 85 % of their variance explained by a "
         f"single frequency, and they form clusters: {sizes}.")
    _, fracs0 = S.find_neuron_freqs(S.fft2d(S.neuron_acts(untrained())))
    assert (fracs0 >= 0.85).sum() < 0.05 * 512  # negative control


def test_logits_live_in_the_key_frequencies() -> None:
    """LOGIT_FRACTION of the variance of the logits (over pairs, for every answer) lies in the 2 × KEY_COUNT
    directions cos(w_k(a+b)) and sin(w_k(a+b)) of the key frequencies."""
    f = facts()
    logits = S.last_logits(model())
    centred = logits - logits.mean(0, keepdim=True)
    share = (S.logits_in_freqs(centred, f["key_freqs"]).pow(2).sum() / centred.pow(2).sum()).item()
    assert share == pytest.approx(f["logit_fraction"], abs=1e-3) and share > 0.7
    says(f"{pct(share, 0)} of the variance of the logits (over pairs, for every answer) lies in the "
         f"2 × {len(f['key_freqs'])} directions")
    logits0 = S.last_logits(untrained())
    c0 = logits0 - logits0.mean(0, keepdim=True)
    assert (S.logits_in_freqs(c0, f["key_freqs"]).pow(2).sum() / c0.pow(2).sum()).item() < 0.1  # negative control


# ------------------------------------------------------------------ training dynamics


def test_excluded_and_restricted_loss_at_the_end() -> None:
    """At the end, removing a single key frequency raises the training loss from FINAL_TRAIN_LOSS to between
    EXCL_MIN and EXCL_MAX, while keeping only the key frequencies gives a loss of FINAL_RESTRICTED on all pairs."""
    f = facts()
    assert min(f["final_excluded_losses"]) > 10 * f["final_train_loss"]
    assert f["final_restricted_loss"] < 0.1
    says(f"removing a single key frequency raises the training loss from {f['final_train_loss']:.1e} to between "
         f"{min(f['final_excluded_losses']):.2g} and {max(f['final_excluded_losses']):.2g}, while keeping only the "
         f"key frequencies gives a loss of {f['final_restricted_loss']:.2g} on all pairs.")
    # negative control: for an untrained model, the restricted loss is no better than chance
    assert S.restricted_loss(untrained(), f["key_freqs"]) > 4.0


def test_dynamics_sentences() -> None:
    """The lesson's sentences about when the restricted loss falls, how the embedding's key-frequency share
    grows, and how the weight norm falls, are those of analyse.dynamics_sentences(facts)."""
    for sentence in analyse.dynamics_sentences(facts()).values():
        says(sentence)


# ------------------------------------------------------------------ smaller claims of section 1


def test_split_sizes() -> None:
    """There are 113² = 12,769 pairs; the training script picked 30 % of them (3,830) with a fixed seed."""
    card = read_card("grokking")
    assert card["metrics"]["n_train"] == int(0.3 * 113 * 113) == 3830
    assert card["metrics"]["n_train"] + card["metrics"]["n_test"] == 12769
    says(f"the training script picked 30 % of them ({card['metrics']['n_train']:,})")


def test_embedding_singular_vectors_are_waves() -> None:
    """The singular values come in near-equal pairs and the singular vectors are sinusoids."""
    U, S_, _ = S.embed_SVD(model())
    assert (S_[1] / S_[0]) > 0.8 and (S_[3] / S_[2]) > 0.8
    for i in range(4):
        norms = S.fourier_norms(S.fft1d(U[:, i]).unsqueeze(-1))
        assert norms.max() / norms.sum() > 0.8, f"U[:, {i}] is not one wave"
    U0, _, _ = S.embed_SVD(untrained())  # negative control: random embeddings are not waves
    norms0 = S.fourier_norms(S.fft1d(U0[:, 0]).unsqueeze(-1))
    assert norms0.max() / norms0.sum() < 0.3
    says("The singular values come in near-equal pairs and the singular vectors are sinusoids")


def test_attention_and_neurons_vary_at_the_key_frequencies() -> None:
    """Both are periodic: most of their variation sits at the key frequencies."""
    key = facts()["key_freqs"]
    idx = sorted({0} | {i for k in key for i in (2 * k - 1, 2 * k)})

    def share(table: torch.Tensor) -> float:
        sq = S.fft2d(table).pow(2)
        sq[0, 0] = 0
        return (sq[idx][:, idx].sum() / sq.sum()).item()

    att = S.attention_to_a(model())
    assert min(share(att[:, :, h]) for h in range(att.shape[-1])) > 0.5
    assert share(S.neuron_acts(model())) > 0.5
    assert share(S.neuron_acts(untrained())) < 0.5  # negative control
    says("Both are periodic: most of their variation sits at the key frequencies")


def sum_explains(logits: torch.Tensor) -> float:
    """Share of the logits' variance (over pairs) explained by (a + b) mod p alone."""
    sums = S.all_labels()
    centred = logits - logits.mean(0, keepdim=True)
    means = torch.zeros(113, logits.shape[1]).index_add_(0, sums, centred) / 113  # each sum occurs 113 times
    return (means[sums].pow(2).sum() / centred.pow(2).sum()).item()


def test_logits_depend_on_the_sum() -> None:
    """The logit for answer c depends on a and b only through a + b: it is constant along anti-diagonals."""
    assert sum_explains(S.last_logits(model())) > 0.95
    assert sum_explains(S.last_logits(untrained())) < 0.1  # negative control
    says("The logit for answer c depends on a and b only through a + b: it is constant along anti-diagonals.")
