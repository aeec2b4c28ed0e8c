"""Figures for part 1.4, computed from the generator and the shipped `brackets` model (a few seconds each)."""

from __future__ import annotations

import functools

import numpy as np
import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots

from arena.plotting import HTMLFigure
from arena.plotting import attention_patterns as attention_view

from . import analysis
from . import solutions as ref
from .data import KINDS, BracketsDataset

EXAMPLE = "(()(()))())(()"


@functools.lru_cache(maxsize=1)
def _scores() -> tuple[t.Tensor, dict[str, t.Tensor]]:
    model, data = ref.load_brackets_model(), analysis.analysis_data()
    return analysis.component_scores(model, data), analysis.failure_classes(data)


def dataset_mix() -> go.Figure:
    data = BracketsDataset.generate(20_000, seed=5)
    lengths = np.array([len(s) for s in data.strs])
    kinds = np.array(data.kinds)
    bal = data.isbal.numpy()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("balanced share by length", "balanced share by kind"))
    evens = np.arange(2, 41, 2)
    fig.add_bar(x=evens, y=[bal[lengths == n].mean() for n in evens], name="by length", row=1, col=1)
    fig.add_bar(x=list(KINDS), y=[bal[kinds == k].mean() for k in KINDS], name="by kind", row=1, col=2)
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_layout(showlegend=False, height=380)
    return fig


def component_scores() -> go.Figure:
    scores, classes = _scores()
    fig = go.Figure()
    for name, mask, colour in (("balanced", classes["balanced"], "#2a9d8f"),
                               ("unbalanced", ~classes["balanced"], "#e76f51")):
        for i, label in enumerate(ref.COMPONENT_LABELS):
            fig.add_box(y=scores[i, mask].numpy(), x=[label] * int(mask.sum()), name=name, marker_color=colour,
                        legendgroup=name, showlegend=i == 0, boxpoints=False)
    fig.update_layout(boxmode="group", height=420, yaxis_title="unbalanced score (centred on balanced)")
    return fig


def failure_scatter() -> go.Figure:
    """Direct scores of head 1.0 (the best direct detector) and head 2.1 (the detector by ablation)."""
    scores, classes = _scores()
    ix = {label: i for i, label in enumerate(ref.COMPONENT_LABELS)}
    fig = go.Figure()
    groups = {"balanced": classes["balanced"], "total elevation failure": classes["total"],
              "negative failure only": classes["negative_only"]}
    for name, mask in groups.items():
        fig.add_scatter(x=scores[ix["head 1.0"], mask].numpy(), y=scores[ix["head 2.1"], mask].numpy(),
                        mode="markers", name=name, marker=dict(size=4, opacity=0.6))
    fig.update_layout(xaxis_title="head 1.0 score", yaxis_title="head 2.1 score", height=480)
    return fig


def ablation_accuracy() -> go.Figure:
    model = ref.load_brackets_model()
    table = analysis.ablation_at_start(model)
    fig = go.Figure()
    for cls, name in (("balanced", "balanced"), ("total", "total elevation failure"),
                      ("negative_only", "negative failure only")):
        fig.add_bar(x=list(table), y=[row[cls] for row in table.values()], name=name)
    fig.update_layout(barmode="group", height=400, yaxis=dict(range=[0, 1.02], tickformat=".0%"),
                      yaxis_title="accuracy with the head ablated at position 0")
    return fig


def mlp2_neurons() -> go.Figure:
    model, data = ref.load_brackets_model(), analysis.analysis_data()
    neurons = analysis.top_neurons(model, data, layer=2, seq=0)["neurons"]
    post = ref.get_activations(model, data, "blocks.2.mlp.hook_post")[:, 0]
    fig = go.Figure()
    for name, mask, colour in (("balanced", data.isbal, "#2a9d8f"), ("unbalanced", ~data.isbal, "#e76f51")):
        for i, n in enumerate(neurons):
            fig.add_box(y=post[mask, n].numpy(), x=[f"neuron {n}"] * int(mask.sum()), name=name,
                        marker_color=colour, legendgroup=name, showlegend=i == 0, boxpoints=False)
    fig.update_layout(boxmode="group", height=400, yaxis_title="activation at position 0 (after ReLU)")
    return fig


def attention_patterns() -> HTMLFigure:
    model = ref.load_brackets_model()
    data = BracketsDataset([EXAMPLE])
    width = len(EXAMPLE) + 2
    data.toks, data.mask = data.toks[:, :width], data.mask[:, :width]
    pattern = t.cat([ref.get_attn_probs(model, data, layer, 0)[:1] for layer in range(3)] +
                    [ref.get_attn_probs(model, data, layer, 1)[:1] for layer in range(3)])
    order = [0, 3, 1, 4, 2, 5]
    names = [f"{layer}.{head}" for head in range(2) for layer in range(3)]
    tokens = ["[start]"] + list(EXAMPLE) + ["[end]"]
    return attention_view(tokens, pattern[order], [names[i] for i in order], height=520)


def training_curve() -> go.Figure:
    from arena.zoo import read_card

    history = read_card("brackets")["history"]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=[h["step"] for h in history], y=[h["loss"] for h in history], name="training loss")
    fig.add_scatter(x=[h["step"] for h in history], y=[h["eval_accuracy"] for h in history],
                    name="held-out accuracy", secondary_y=True)
    fig.update_yaxes(type="log", secondary_y=False)
    fig.update_layout(height=380, xaxis_title="step")
    return fig
