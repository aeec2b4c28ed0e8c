"""Part 1.2: every claim the lesson makes about the shipped `attn-only-2l` is tested on the shipped file.

Each test quotes the lesson sentence it backs (and `test_quoted_sentences_are_in_the_lesson` keeps the
quotes and the lesson in step). Where sensible, the same measurement on an untrained model of the same
architecture fails the claim (a negative control), so the tests could fail."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import torch as t

from arena.zoo import read_card
from course.chapter1_transformers.part2_intro_to_mech_interp import solutions as ref
from course.chapter1_transformers.part2_intro_to_mech_interp.assets import train as trainer

PART = Path(ref.__file__).parent
LESSON = (PART / "lesson.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.skipif(not (PART / "assets" / "attn-only-2l" / "card.json").exists(),
                                reason="attn-only-2l is not trained yet (`arena train attn-only-2l`)")


@functools.lru_cache(maxsize=1)
def model():
    return ref.load_induction_model()


@functools.lru_cache(maxsize=1)
def processed():
    return ref.load_induction_model(processed=True)


@functools.lru_cache(maxsize=1)
def untrained():
    return trainer.build_model().eval()


def rep_tokens(seq_len: int = 50, batch: int = 10, seed: int = 0) -> t.Tensor:
    return trainer.repeated_random_tokens(seq_len, batch, trainer.ARCHITECTURE["d_vocab"], seed)


def scores_of(m) -> dict:
    with t.no_grad():
        return trainer.head_scores(m, seq_len=50, batch=10, seed=99)


def named_heads() -> tuple[int, list[int]]:
    """The previous-token head and induction heads the lesson names (from the card, written by the run)."""
    metrics = read_card("attn-only-2l")["metrics"]
    prev = max(range(4), key=lambda h: metrics["prev_token_scores"][0][h])
    ind = [h for h in range(4) if metrics["induction_scores"][1][h] >= 0.6]
    assert ind, "no layer-1 head reaches an induction score of 0.6"
    return prev, ind


def quoted(test_fn) -> list[str]:
    return re.findall(r"“(.+?)”", test_fn.__doc__ or "", flags=re.S)


# ------------------------------------------------------------------ the acceptance claims


def test_previous_token_head_in_layer_0():
    """“In layer 0 one head attends almost only to the previous token”"""
    assert max(scores_of(model())["prev_token_scores"][0]) >= 0.5
    assert max(scores_of(untrained())["prev_token_scores"][0]) < 0.5


def test_induction_head_in_layer_1():
    """“in layer 1 the heads attend to the tokens after earlier copies of repeated names.”"""
    assert max(scores_of(model())["induction_scores"][1]) >= 0.6
    assert max(scores_of(untrained())["induction_scores"][1]) < 0.6


def test_repeated_half_loss_far_below_first_half():
    """“Chance level on the first copy;
almost no loss on the second — from its second token on.”"""
    result = scores_of(model())
    assert result["loss_first_half"] > 6.0  # ln(1057) = 6.96: the first copy is unpredictable
    assert result["loss_second_half"] < 0.3 * result["loss_first_half"]
    control = scores_of(untrained())
    assert control["loss_second_half"] > 0.9 * control["loss_first_half"]


def test_card_metrics_match_the_shipped_weights():
    """The card's final scores were measured on exactly these weights (same definition, same tokens)."""
    card = read_card("attn-only-2l")
    with t.no_grad():
        fresh = trainer.head_scores(model(), trainer.TrainConfig().eval_seq_len, trainer.TrainConfig().eval_batch)
    for key in ("prev_token_scores", "induction_scores"):
        assert t.allclose(t.tensor(fresh[key]), t.tensor(card["metrics"][key]), atol=2e-3), key


# ------------------------------------------------------------------ section 2 and 3 claims


def test_detectors_name_the_heads():
    """The detectors find the previous-token head and the induction heads the card records."""
    prev, ind = named_heads()
    with t.no_grad():
        _, cache = model().run_with_cache(rep_tokens(50, 1)[0], remove_batch_dim=True)
    assert f"0.{prev}" in ref.prev_attn_detector(cache)
    assert set(ref.induction_attn_detector(cache)) >= {f"1.{h}" for h in ind}
    assert ind, "no layer-1 head reaches an induction score of 0.6"


def test_induction_scores_hook_agrees_with_the_card():
    """“Induction scores of `attn-only-2l`'s heads on repeated random tokens.”"""
    t.manual_seed(0)
    with t.no_grad():
        scores = ref.induction_scores(model(), seq_len=50, batch=10)
    card = t.tensor(read_card("attn-only-2l")["metrics"]["induction_scores"])
    assert t.allclose(scores, card, atol=0.05)


def test_logit_attributions_sum_to_the_logits():
    """“The
attributions plus the biases' share then add up to the logits exactly”"""
    m = model()
    tokens = m.to_tokens(
        "When Oliver and Alice went to the kitchen, Oliver threw a key to Alice. Alice smiled at Oliver.")[0]
    with t.no_grad():
        logits, cache = m.run_with_cache(tokens, remove_batch_dim=True)
        pieces = ref.dla_inputs(m, cache)
        attr = ref.logit_attribution(pieces["embed"], pieces["l1_results"], pieces["l2_results"], pieces["W_U"],
                                     tokens)
        W_U_correct = pieces["W_U"][:, tokens[1:]]
        bias = (pieces["bias"][:-1] * W_U_correct.T).sum(-1) + pieces["logit_bias"][tokens[1:]]
    correct = logits[0, t.arange(len(tokens) - 1), tokens[1:]]
    t.testing.assert_close(attr.sum(-1) + bias, correct, atol=1e-3, rtol=1e-4)


def test_induction_heads_supply_repeated_names():
    """“Where a name repeats, a layer-1 induction head supplies most of the logit.”"""
    m = model()
    _, ind = named_heads()
    text = "When Oliver and Alice went to the kitchen, Oliver threw a key to Alice. Alice smiled at Oliver."
    tokens = m.to_tokens(text)[0]
    str_tokens = m.to_str_tokens(tokens)
    with t.no_grad():
        _, cache = m.run_with_cache(tokens, remove_batch_dim=True)
        pieces = ref.dla_inputs(m, cache)
        attr = ref.logit_attribution(pieces["embed"], pieces["l1_results"], pieces["l2_results"], pieces["W_U"],
                                     tokens)
    seen, repeats = set(), []
    for i, tok in enumerate(str_tokens[1:], start=1):
        if tok.strip() in {"Oliver", "Alice"} and tok in seen:
            repeats.append(i - 1)  # position predicting the repeated name
        seen.add(tok)
    assert repeats
    ind_share = attr[repeats][:, [5 + h for h in ind]].sum(-1)
    others = attr[repeats].sum(-1) - ind_share
    assert (ind_share > others).float().mean() >= 0.5


def test_ablating_named_heads_hurts_most():
    """“Induction scores, direct logit
> attribution and ablation all point at the same heads”"""
    prev, ind = named_heads()
    with t.no_grad():
        scores = ref.get_ablation_scores(model(), rep_tokens(30, 4))
    assert scores[0].argmax().item() == prev
    assert scores[1].argmax().item() in ind


# ------------------------------------------------------------------ section 4 claims


def test_processing_keeps_the_function():
    """Processing the weights (LN folding, centring) keeps the log-probs (the lesson prints this check)."""
    tokens = rep_tokens(20, 2)
    with t.no_grad():
        a, b = model()(tokens).log_softmax(-1), processed()(tokens).log_softmax(-1)
    assert t.allclose(a, b, atol=1e-4)


def test_induction_ov_circuits_copy():
    """“If the head copies, each row's largest entry is on the diagonal.”"""
    from transformer_lens import FactoredMatrix

    _, ind = named_heads()
    m = processed()
    with t.no_grad():
        full = m.W_E @ FactoredMatrix(t.cat(list(m.W_V[1, ind]), dim=-1), t.cat(list(m.W_O[1, ind]), dim=-2)) @ m.W_U
        acc = ref.top_1_acc(full)
        control = untrained()
        control_full = control.W_E @ FactoredMatrix(control.W_V[1, 0], control.W_O[1, 0]) @ control.W_U
        control_acc = ref.top_1_acc(control_full)
    assert acc >= 0.5, acc
    assert control_acc < 0.05


def test_previous_token_head_is_positional():
    """“In our model it
does at every one of the first 50 positions; further into the context it is less precise (only about a
third of positions 51–100 point one step back)”"""
    prev, _ = named_heads()
    m = processed()
    with t.no_grad():
        scale = m.run_with_cache(rep_tokens(50, 4), names_filter="blocks.0.ln1.hook_scale")[1][
            "blocks.0.ln1.hook_scale"].mean()
        pattern = ref.pos_by_pos_pattern(m.W_pos / scale, m.W_Q[0, prev], m.W_K[0, prev])
    back = pattern.argmax(-1) == t.arange(-1, pattern.shape[0] - 1)
    early, late = back[1:51].float().mean(), back[51:101].float().mean()
    assert early == 1.0, early
    assert 0.2 <= late <= 0.45, late


def test_qk_decomposition_dominant_term():
    """“One term dominates:
queries from the token embeddings meeting keys written by the previous-token head.”"""
    prev, ind = named_heads()
    m = processed()
    with t.no_grad():
        _, cache = m.run_with_cache(rep_tokens(50, 1)[0], remove_batch_dim=True)
        pieces = ref.decompose_qk_input(cache)
        q, k = ref.decompose_q(pieces, ind[0], m), ref.decompose_k(pieces, ind[0], m)
        scores = ref.decompose_attn_scores(q, k)
        bias_q = (m.b_O[0] / cache["blocks.1.ln1.hook_scale"]) @ m.W_Q[1, ind[0]] + m.b_Q[1, ind[0]]
    t.testing.assert_close(q.sum(0) + bias_q, cache["q", 1][:, ind[0]], atol=1e-3, rtol=1e-3)
    spread = scores.tril().flatten(-2).std(-1)
    assert divmod(spread.argmax().item(), spread.shape[1]) == (0, 2 + prev)


def test_k_composition_above_random_baseline():
    """“For random matrices the score is not zero — two random rank-$d_{head}$ subspaces of a
$d_{model}$-dimensional space overlap a little — so always compare with the baseline.”"""
    from transformer_lens import FactoredMatrix

    prev, ind = named_heads()
    m = processed()
    with t.no_grad():
        W_OV0 = FactoredMatrix(m.W_V[0], m.W_O[0])
        k_comp = ref.get_batched_comp_scores(W_OV0, FactoredMatrix(m.W_K[1], m.W_Q[1].transpose(-1, -2)))
        baseline = ref.random_comp_scores(m.cfg.d_model, m.cfg.d_head, 100)
    assert baseline.mean() > 0.05
    for h in ind:
        assert k_comp[prev, h] > baseline.mean() + 3 * baseline.std()


def test_ablating_the_previous_token_head_breaks_induction():
    """“remove the previous-token head's output and watch the induction
heads lose their stripe.”"""
    prev, ind = named_heads()
    tokens = rep_tokens(30, 4)
    with t.no_grad():
        for h in ind:
            clean = ref.ablation_induction_score(model(), tokens, None, h)
            ablated = ref.ablation_induction_score(model(), tokens, prev, h)
            assert ablated < 0.5 * clean, (h, clean, ablated)


# ------------------------------------------------------------------ bonus: the training run


def test_phase_change_in_the_history():
    """“The induction score and the repeated-half loss change together, in a
few hundred steps: the phase change.”"""
    history = read_card("attn-only-2l")["history"]
    best = [max(h["induction_scores"][1]) for h in history]
    assert best[0] < 0.1 and best[-1] >= 0.6
    start = next(h["step"] for h, b in zip(history, best, strict=True) if b >= 0.2)
    end = next(h["step"] for h, b in zip(history, best, strict=True) if b >= 0.6)
    assert end - start <= 400
    loss_at = {h["step"]: h["loss_second_half"] for h in history}
    assert loss_at[end] < 0.5 * history[0]["loss_second_half"]


def test_checkpoints_are_the_ones_the_card_lists():
    card = read_card("attn-only-2l")
    assert ref.checkpoint_steps() == card["metrics"]["checkpoint_steps"]
    first = ref.load_checkpoint(ref.checkpoint_steps()[0])
    with t.no_grad():
        assert max(trainer.head_scores(first, 20, 4)["induction_scores"][1]) < 0.1


def test_quoted_sentences_are_in_the_lesson():
    flat = " ".join(LESSON.split())
    tests = [v for k, v in globals().items() if k.startswith("test_") and callable(v)]
    quotes = [q for fn in tests for q in quoted(fn)]
    assert len(quotes) >= 8
    for q in quotes:
        assert " ".join(q.split()) in flat, q
