"""Figures for part 1.2, computed from the reference solutions and the shipped models (a few seconds each)."""

from __future__ import annotations

import functools
import math

import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots
from transformer_lens import FactoredMatrix

from arena.plotting import HTMLFigure, attention_heatmaps, attention_patterns, imshow, line

from . import solutions as ref

BASICS_TEXT = ("When Oliver and Alice went to the kitchen, Oliver threw a key to Alice. Alice smiled at Oliver. "
               "Mark lost his soft map at the school. He looked everywhere, but he could not find it.")
STORY = ("When Oliver and Alice went to the kitchen, Oliver threw a key to Alice. Alice smiled at Oliver. "
         "They played until it was dark.")


@functools.lru_cache(maxsize=1)
def _model():
    return ref.load_induction_model()


@functools.lru_cache(maxsize=1)
def _processed():
    return ref.load_induction_model(processed=True)


@functools.lru_cache(maxsize=1)
def _repeated(seq_len: int = 50, batch: int = 10):
    t.manual_seed(0)
    with t.no_grad():
        return ref.run_and_cache_model_repeated_tokens(_model(), seq_len, batch)


def _heads(layer: int, n: int) -> list[str]:
    return [f"{layer}.{h}" for h in range(n)]


def basics_attention() -> HTMLFigure:
    model = ref.load_basics_model()
    with t.no_grad():
        _, cache = model.run_with_cache(BASICS_TEXT, remove_batch_dim=True)
    return attention_patterns(model.to_str_tokens(BASICS_TEXT), cache["pattern", 0])


def induction_model_patterns() -> HTMLFigure:
    model = _model()
    with t.no_grad():
        _, cache = model.run_with_cache(STORY, remove_batch_dim=True)
    pattern = t.cat([cache["pattern", 0], cache["pattern", 1]])
    return attention_patterns(model.to_str_tokens(STORY), pattern)  # heads 0-3: layer 0, heads 4-7: layer 1


def repeated_tokens_loss() -> go.Figure:
    tokens, logits, _ = _repeated()
    loss = -ref.get_log_probs(logits, tokens).mean(0)
    fig = line(loss, x=list(range(1, len(loss) + 1)), title="Per-token loss on repeated random tokens (seq_len 50)",
               labels={"x": "position of the predicted token", "y": "loss (nats)"})
    fig.add_vrect(x0=51, x1=len(loss), fillcolor="green", opacity=0.08, line_width=0,
                  annotation_text="second copy", annotation_position="top left")
    return fig


def induction_patterns_repeated() -> go.Figure:
    from .assets.train import repeated_random_tokens

    model = _model()
    tokens = repeated_random_tokens(20, 1, model.cfg.d_vocab, seed=0)[0]
    with t.no_grad():
        _, cache = model.run_with_cache(tokens, remove_batch_dim=True)
    return attention_heatmaps(model.to_str_tokens(tokens), cache["pattern", 1], _heads(1, 4),
                              title="Layer 1 on repeated random tokens (seq_len 20)")


def induction_score_heatmap() -> go.Figure:
    t.manual_seed(0)
    with t.no_grad():
        scores = ref.induction_scores(_model(), seq_len=50, batch=10)
    fig = imshow(scores, title="Induction scores", labels={"x": "head", "y": "layer"}, diverging=False)
    fig.update_traces(zmin=0, zmax=1, text=scores.numpy().round(2), texttemplate="%{text}")
    return fig


def logit_attribution_story() -> go.Figure:
    model = _model()
    tokens = model.to_tokens(STORY)[0]
    with t.no_grad():
        _, cache = model.run_with_cache(tokens, remove_batch_dim=True)
        pieces = ref.dla_inputs(model, cache)
        attr = ref.logit_attribution(pieces["embed"], pieces["l1_results"], pieces["l2_results"], pieces["W_U"], tokens)
    str_tokens = model.to_str_tokens(tokens)
    y = [f"{i}: {a!r} → {b!r}" for i, (a, b) in enumerate(zip(str_tokens[:-1], str_tokens[1:], strict=True))]
    fig = imshow(attr, title="Direct logit attribution to the correct next token",
                 x=["embed"] + _heads(0, 4) + _heads(1, 4), y=y, labels={"x": "piece", "y": "position"})
    fig.update_layout(height=800)
    return fig


def ablation_scores() -> go.Figure:
    tokens, _, _ = _repeated()
    with t.no_grad():
        scores = ref.get_ablation_scores(_model(), tokens)
    fig = imshow(scores, title="Loss increase on the repeated half when a head is zero-ablated",
                 labels={"x": "head", "y": "layer"})
    fig.update_traces(text=scores.numpy().round(2), texttemplate="%{text}")
    return fig


def _prev_and_induction_heads() -> tuple[int, list[int]]:
    tokens, _, _ = _repeated()
    with t.no_grad():
        _, cache = _model().run_with_cache(tokens[0], remove_batch_dim=True)
    prev = int(ref.prev_attn_detector(cache)[0].split(".")[1])
    return prev, [int(h.split(".")[1]) for h in ref.induction_attn_detector(cache)]


def pos_by_pos() -> go.Figure:
    model = _processed()
    prev, _ = _prev_and_induction_heads()
    tokens, _, _ = _repeated()
    with t.no_grad():
        scale = model.run_with_cache(tokens, names_filter="blocks.0.ln1.hook_scale")[1]["blocks.0.ln1.hook_scale"].mean()
        pattern = ref.pos_by_pos_pattern(model.W_pos / scale, model.W_Q[0, prev], model.W_K[0, prev])
    return imshow(pattern[:40, :40], title=f"Head 0.{prev} on positional embeddings alone",
                  labels={"x": "key position", "y": "query position"}, diverging=False)


def qk_decomposition() -> go.Figure:
    model = _processed()
    _, ind_heads = _prev_and_induction_heads()
    tokens, _, _ = _repeated()
    with t.no_grad():
        _, cache = model.run_with_cache(tokens[0], remove_batch_dim=True)
        pieces = ref.decompose_qk_input(cache)
        scores = ref.decompose_attn_scores(ref.decompose_q(pieces, ind_heads[0], model),
                                           ref.decompose_k(pieces, ind_heads[0], model))
    spread = scores.tril().flatten(-2).std(-1)
    labels = ["embed", "pos"] + _heads(0, 4)
    fig = imshow(spread, title=f"Head 1.{ind_heads[0]}: spread of each score term", x=labels, y=labels,
                 labels={"x": "key piece", "y": "query piece"}, diverging=False)
    fig.update_traces(text=spread.numpy().round(1), texttemplate="%{text}")
    return fig


def composition_scores() -> go.Figure:
    model = _processed()
    with t.no_grad():
        W_OV0 = FactoredMatrix(model.W_V[0], model.W_O[0])
        tables = {
            "Q-composition": ref.get_batched_comp_scores(
                W_OV0, FactoredMatrix(model.W_Q[1], model.W_K[1].transpose(-1, -2))),
            "K-composition": ref.get_batched_comp_scores(
                W_OV0, FactoredMatrix(model.W_K[1], model.W_Q[1].transpose(-1, -2))),
            "V-composition": ref.get_batched_comp_scores(W_OV0, FactoredMatrix(model.W_V[1], model.W_O[1])),
        }
        baseline = ref.random_comp_scores(model.cfg.d_model, model.cfg.d_head, 100).mean().item()
    top = max(v.max().item() for v in tables.values())
    fig = make_subplots(rows=1, cols=3, subplot_titles=list(tables))
    for i, table in enumerate(tables.values()):
        fig.add_trace(go.Heatmap(z=table.numpy(), x=_heads(1, 4), y=_heads(0, 4), zmin=baseline, zmax=top,
                                 colorscale="Blues", text=table.numpy().round(2), texttemplate="%{text}",
                                 showscale=i == 2), row=1, col=i + 1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=f"Composition scores (colour starts at the random baseline, {baseline:.2f})")
    return fig


def phase_change() -> go.Figure:
    from arena.zoo import read_card

    history = read_card(ref.INDUCTION_MODEL)["history"]
    steps = [h["step"] for h in history]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=steps, y=[max(h["induction_scores"][1]) for h in history],
                             name="best layer-1 induction score"))
    fig.add_trace(go.Scatter(x=steps, y=[max(h["prev_token_scores"][0]) for h in history],
                             name="best layer-0 previous-token score"))
    fig.add_trace(go.Scatter(x=steps, y=[h["loss_first_half"] for h in history], name="loss, first copy",
                             line=dict(dash="dot")), secondary_y=True)
    fig.add_trace(go.Scatter(x=steps, y=[h["loss_second_half"] for h in history], name="loss, second copy",
                             line=dict(dash="dot")), secondary_y=True)
    fig.update_layout(title="attn-only-2l during training", xaxis_title="step")
    fig.update_yaxes(title_text="score", range=[0, 1], secondary_y=False)
    top_loss = max(max(h["loss_first_half"], h["loss_second_half"]) for h in history)
    fig.update_yaxes(title_text="loss (nats)", range=[0, math.ceil(top_loss)], secondary_y=True)
    return fig
