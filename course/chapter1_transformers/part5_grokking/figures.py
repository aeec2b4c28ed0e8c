"""Figures for part 1.5, computed from the shipped grokking run (model, series and facts.json)."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from arena.plotting import imshow

from . import solutions as ref
from .assets.analyse import FACTS


@lru_cache(maxsize=1)
def _model():
    from arena.resources import load_course_model

    return load_course_model("grokking")


@lru_cache(maxsize=1)
def _facts() -> dict:
    return json.loads(FACTS.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _acts() -> torch.Tensor:
    return ref.neuron_acts(_model())


@lru_cache(maxsize=1)
def _shown_neurons() -> list[int]:
    """The first well-explained neuron of each of the four largest clusters."""
    freqs, fracs = ref.find_neuron_freqs(ref.fft2d(_acts()))
    out = []
    for k in _facts()["key_freqs"][:4]:
        out.append(int(torch.nonzero((freqs == k) & (fracs >= 0.85))[0]))
    return out


def loss_curves() -> go.Figure:
    s = ref.load_series()
    fig = go.Figure([
        go.Scatter(x=np.arange(len(s["train_loss"])), y=s["train_loss"].numpy(), name="train loss"),
        go.Scatter(x=s["test_epochs"].numpy(), y=s["test_loss"].numpy(), name="test loss"),
    ])
    facts = _facts()
    for epoch, text in [(facts["memorised_epoch"], "train acc 99.9 %"), (facts["grok_epoch"], "test acc 99 %")]:
        if epoch is not None:
            fig.add_vline(x=epoch, line_dash="dot", annotation_text=text)
    fig.update_layout(title="Train and test loss of the shipped run (log scale)", xaxis_title="epoch",
                      yaxis_title="cross-entropy", yaxis_type="log", height=400)
    return fig


def accuracy_curves() -> go.Figure:
    s = ref.load_series()
    fig = go.Figure([
        go.Scatter(x=np.arange(len(s["train_acc"])), y=s["train_acc"].numpy(), name="train accuracy"),
        go.Scatter(x=s["test_epochs"].numpy(), y=s["test_acc"].numpy(), name="test accuracy"),
    ])
    fig.update_layout(title="Accuracy of the shipped run", xaxis_title="epoch", yaxis_title="accuracy", height=350)
    return fig


def embed_singular_vectors() -> go.Figure:
    U, S, _ = ref.embed_SVD(_model())
    fig = make_subplots(rows=1, cols=2, subplot_titles=["singular values of W_E", "top 4 left singular vectors"])
    fig.add_trace(go.Scatter(y=S.numpy(), mode="lines+markers", name="σ"), row=1, col=1)
    for i in range(4):
        fig.add_trace(go.Scatter(y=U[:, i].numpy(), mode="lines", name=f"U[:, {i}]"), row=1, col=2)
    fig.update_xaxes(title_text="index", row=1, col=1)
    fig.update_xaxes(title_text="token a", row=1, col=2)
    fig.update_layout(height=350)
    return fig


def attention_grid() -> go.Figure:
    att = ref.attention_to_a(_model())
    fig = make_subplots(rows=1, cols=att.shape[-1], subplot_titles=[f"head {h}" for h in range(att.shape[-1])])
    for h in range(att.shape[-1]):
        fig.add_trace(go.Heatmap(z=att[:, :, h].numpy(), coloraxis="coloraxis"), row=1, col=h + 1)
    fig.update_layout(title="Attention from '=' to a, as a function of a (rows) and b (columns)",
                      coloraxis=dict(colorscale="Viridis"), height=330)
    fig.update_yaxes(autorange="reversed")
    return fig


def neuron_grid() -> go.Figure:
    acts = _acts()
    neurons = _shown_neurons()
    fig = make_subplots(rows=1, cols=len(neurons), subplot_titles=[f"neuron {n}" for n in neurons])
    for i, n in enumerate(neurons):
        fig.add_trace(go.Heatmap(z=acts[:, :, n].numpy(), coloraxis="coloraxis"), row=1, col=i + 1)
    fig.update_layout(title="MLP neuron activations at '=', as a function of a (rows) and b (columns)",
                      coloraxis=dict(colorscale="Viridis"), height=330)
    fig.update_yaxes(autorange="reversed")
    return fig


def fourier_basis_vectors() -> go.Figure:
    basis, names = ref.make_fourier_basis(ref.P)
    fig = go.Figure([go.Scatter(y=basis[i].numpy(), name=names[i], mode="lines") for i in (0, 1, 2, 3, 4, 13)])
    fig.update_layout(title="Some Fourier basis vectors for p = 113", xaxis_title="x", height=350)
    return fig


def embed_fourier_norms() -> go.Figure:
    norms = ref.fourier_norms(ref.fourier_embed(_model()))
    key = set(_facts()["key_freqs"])
    colors = ["crimson" if k in key else "steelblue" for k in range(1, len(norms) + 1)]
    fig = go.Figure(go.Bar(x=np.arange(1, len(norms) + 1), y=norms.numpy(), marker_color=colors))
    fig.update_layout(title="Squared norm of the embedding per frequency (key frequencies in red)",
                      xaxis_title="frequency k", yaxis_title="‖cos k‖² + ‖sin k‖²", height=350)
    return fig


def neuron_fourier() -> go.Figure:
    neurons = _shown_neurons()
    fourier = ref.fft2d(_acts()[:, :, neurons])
    _, names = ref.make_fourier_basis(ref.P)
    fig = make_subplots(rows=1, cols=len(neurons), subplot_titles=[f"neuron {n}" for n in neurons])
    for i in range(len(neurons)):
        z = fourier[:, :, i].clone()
        z[0, 0] = 0.0
        fig.add_trace(go.Heatmap(z=z.abs().numpy(), x=names, y=names, coloraxis="coloraxis"), row=1, col=i + 1)
    fig.update_layout(title="|2D Fourier coefficients| of four neurons (constant term removed)",
                      coloraxis=dict(colorscale="Viridis"), height=380)
    fig.update_yaxes(autorange="reversed")
    return fig


def neuron_clusters() -> go.Figure:
    freqs, fracs = ref.find_neuron_freqs(ref.fft2d(_acts()))
    fig = go.Figure(go.Scatter(x=freqs.numpy(), y=fracs.numpy(), mode="markers", marker=dict(size=5, opacity=0.6)))
    fig.add_hline(y=0.85, line_dash="dot")
    fig.update_layout(title="Each neuron: its best frequency and the fraction of its variance that frequency "
                            "explains", xaxis_title="frequency", yaxis_title="fraction explained", height=380)
    return fig


def logit_class_zero() -> go.Figure:
    logits = ref.last_logits(_model())
    return imshow(logits[:, 0].reshape(ref.P, ref.P), title="Logit of the answer 0 as a function of a (rows) "
                  "and b (columns)", labels={"x": "b", "y": "a"})


def training_dynamics() -> go.Figure:
    dyn = _facts()["dynamics"]
    s = ref.load_series()
    epochs = [d["epoch"] for d in dyn]
    fig = go.Figure([
        go.Scatter(x=np.arange(len(s["train_loss"])), y=s["train_loss"].numpy(), name="train loss"),
        go.Scatter(x=s["test_epochs"].numpy(), y=s["test_loss"].numpy(), name="test loss"),
        go.Scatter(x=epochs, y=[d["excluded_loss"] for d in dyn], name="excluded loss (train)", mode="lines+markers"),
        go.Scatter(x=epochs, y=[d["restricted_loss"] for d in dyn], name="restricted loss", mode="lines+markers"),
    ])
    fig.update_layout(title="Progress measures: excluded and restricted loss over training", xaxis_title="epoch",
                      yaxis_title="cross-entropy", yaxis_type="log", height=420)
    return fig


def embed_norms_over_time() -> go.Figure:
    s = ref.load_series()
    rows = []
    for sd in s["state_dicts"]:
        W_E = sd["embed.weight"][:-1]
        rows.append(ref.fourier_norms(ref.fft1d(W_E.T).T))
    z = torch.stack(rows)
    z = z / z.sum(-1, keepdim=True)
    fig = go.Figure(go.Heatmap(z=z.numpy(), x=np.arange(1, z.shape[1] + 1),
                               y=[str(e) for e in s["checkpoint_epochs"]], colorscale="Viridis"))
    fig.update_layout(title="Share of the embedding's norm per frequency, at each checkpoint",
                      xaxis_title="frequency", yaxis_title="epoch", height=500)
    return fig


def weight_norm_over_time() -> go.Figure:
    dyn = _facts()["dynamics"]
    fig = go.Figure(go.Scatter(x=[d["epoch"] for d in dyn], y=[d["sum_sq_weights"] for d in dyn],
                               mode="lines+markers"))
    fig.update_layout(title="Sum of squared weights over training", xaxis_title="epoch",
                      yaxis_title="Σ w²", height=350)
    return fig
