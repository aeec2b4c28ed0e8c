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
    model = ref.load_brackets_model()
    scores, classes = _scores()
    heads = analysis.detector_heads(model)
    ix = {label: i for i, label in enumerate(ref.COMPONENT_LABELS)}
    fig = go.Figure()
    groups = {"balanced": classes["balanced"], "total elevation failure": classes["total"],
              "negative failure only": classes["negative_only"]}
    for name, mask in groups.items():
        fig.add_scatter(x=scores[ix[heads["total"]], mask].numpy(), y=scores[ix[heads["negative_only"]], mask].numpy(),
                        mode="markers", name=name, marker=dict(size=4, opacity=0.6))
    fig.update_layout(xaxis_title=f"{heads['total']} score", yaxis_title=f"{heads['negative_only']} score", height=480)
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
