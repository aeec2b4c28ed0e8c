"""Figures for part 1.7, drawn from the seeded runs precomputed by assets/make_runs.py into assets/runs.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots

from . import solutions as ref

RUNS = Path(__file__).with_name("assets") / "runs.json"
STICKY = [(1.0, "1"), (3 / 4, "3/4"), (2 / 3, "2/3"), (1 / 2, "1/2"), (2 / 5, "2/5"), (1 / 3, "1/3")]


@lru_cache(maxsize=1)
def runs() -> dict:
    return json.loads(RUNS.read_text())


def _W(run: dict) -> t.Tensor:
    return t.tensor(run["W"])


def interference(W: t.Tensor) -> t.Tensor:
    """Σ_{j≠i} (Ŵ_i · W_j)² for every feature i: how much of the other features leaks into feature i's direction."""
    W_hat = W / (W.norm(dim=1, keepdim=True) + 1e-12)
    overlaps = t.einsum("ihf,ihg->ifg", W_hat, W).pow(2)
    return overlaps.sum(-1) - overlaps.diagonal(dim1=-2, dim2=-1)


def five_in_two() -> go.Figure:
    run = runs()["five_in_two"]
    titles = [f"p = {p:g}" for p in run["p"]]
    fig = ref.plot_features_in_2d(_W(run), titles, importance=t.tensor(run["importance"]))
    fig.update_layout(title="5 features in 2 dimensions: the columns W[:, i], darker = more important", height=300)
    return fig


def five_in_two_gram() -> go.Figure:
    run = runs()["five_in_two"]
    W = _W(run)
    gram = W.mT @ W
    fig = make_subplots(rows=1, cols=len(run["p"]), subplot_titles=[f"p = {p:g}" for p in run["p"]],
                        horizontal_spacing=0.02)
    for i in range(len(run["p"])):
        fig.add_trace(go.Heatmap(z=gram[i].numpy(), zmin=-1.3, zmax=1.3, colorscale="RdBu", reversescale=True,
                                 showscale=i == 0, hovertemplate="WᵀW[%{y}, %{x}] = %{z:.2f}<extra></extra>"),
                      row=1, col=i + 1)
        fig.update_yaxes(autorange="reversed", showticklabels=i == 0, row=1, col=i + 1)
    fig.update_layout(title="WᵀW for the same runs: red diagonal = represented, off-diagonal = interference",
                      height=280, margin=dict(l=10, r=10, t=60, b=10))
    return fig


def _bars(W: t.Tensor, p: list[float], title: str) -> go.Figure:
    norms, inter = W.norm(dim=1), interference(W)
    n_features = W.shape[2]
    fig = make_subplots(rows=1, cols=len(p), subplot_titles=[f"p = {q:.3g}" for q in p], shared_yaxes=True,
                        horizontal_spacing=0.015)
    for i in range(len(p)):
        colour = inter[i].clamp(max=1).numpy()
        fig.add_trace(go.Bar(y=np.arange(n_features), x=norms[i].numpy(), orientation="h",
                             marker=dict(color=colour, colorscale="Viridis", cmin=0, cmax=1, showscale=i == 0,
                                         colorbar=dict(title="interference")),
                             customdata=np.stack([inter[i].numpy()], -1),
                             hovertemplate="feature %{y}<br>‖W_i‖ = %{x:.2f}<br>interference %{customdata[0]:.2f}"
                                           "<extra></extra>"), row=1, col=i + 1)
        fig.update_xaxes(range=[0, 1.3], row=1, col=i + 1)
    fig.update_yaxes(autorange="reversed", title="feature (most important at the top)", row=1, col=1)
    fig.update_layout(title=title, height=520, showlegend=False, bargap=0.1, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def sweep_norms() -> go.Figure:
    run = runs()["sweep"]
    return _bars(_W(run), run["p"], "100 features in 20 dimensions: bar length ‖W_i‖, colour Σ_{j≠i} (Ŵ_i·W_j)²")


def sweep_gram() -> go.Figure:
    run = runs()["sweep"]
    W = _W(run)
    shown = [0, 2, len(run["p"]) - 1]
    fig = make_subplots(rows=1, cols=len(shown), subplot_titles=[f"p = {run['p'][i]:.3g}" for i in shown],
                        horizontal_spacing=0.03)
    for k, i in enumerate(shown):
        gram = (W[i].mT @ W[i])[:60, :60]
        fig.add_trace(go.Heatmap(z=gram.numpy(), zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                                 showscale=k == 0, hovertemplate="WᵀW[%{y}, %{x}] = %{z:.2f}<extra></extra>"),
                      row=1, col=k + 1)
        fig.update_yaxes(autorange="reversed", row=1, col=k + 1)
    fig.update_layout(title="WᵀW of the 100-in-20 runs (first 60 features): from a clean identity block to a "
                            "speckled matrix", height=380, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def _feature_plot(runs_: list[tuple[str, dict]], title: str) -> go.Figure:
    fig = make_subplots(rows=1, cols=sum(len(r["W"]) for _, r in runs_), horizontal_spacing=0.02,
                        subplot_titles=[f"{name}, seed {i}" for name, r in runs_ for i in range(len(r["W"]))])
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    col = 0
    for _, run in runs_:
        for W in _W(run):
            col += 1
            for f in range(W.shape[1]):
                x, y = W[:, f].tolist()
                fig.add_trace(go.Scatter(x=[0, x], y=[0, y], mode="lines+markers", showlegend=False,
                                         line=dict(color=palette[(f // 2) % 4], width=3), marker=dict(size=[0, 9]),
                                         hovertemplate=f"feature {f} (pair {f // 2})<extra></extra>"),
                              row=1, col=col)
            fig.update_xaxes(range=[-1.5, 1.5], visible=False, row=1, col=col)
            fig.update_yaxes(range=[-1.5, 1.5], visible=False, row=1, col=col,
                             scaleanchor=f"x{col if col > 1 else ''}")
    fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def correlated_pairs() -> go.Figure:
    r = runs()
    return _feature_plot([("correlated", r["correlated_pairs"]), ("anticorrelated", r["anticorrelated_pairs"])],
                         "Two pairs of features in 2 dimensions (one colour per pair), p = 0.1")


def three_correlated_pairs() -> go.Figure:
    return _feature_plot([("3 correlated pairs", runs()["three_correlated_pairs"])],
                         "Three correlated pairs in 2 dimensions (one colour per pair), p = 0.1")


def neuron_weights() -> go.Figure:
    run = runs()["neurons"]
    W = _W(run)
    fig = make_subplots(rows=1, cols=len(run["p"]), subplot_titles=[f"p = {p:g}" for p in run["p"]],
                        horizontal_spacing=0.02)
    for i in range(len(run["p"])):
        fig.add_trace(go.Heatmap(z=W[i].numpy(), zmin=-1.5, zmax=1.5, colorscale="RdBu", reversescale=True,
                                 showscale=i == 0, hovertemplate="neuron %{y}, feature %{x}: %{z:.2f}<extra></extra>"),
                      row=1, col=i + 1)
        fig.update_yaxes(autorange="reversed", showticklabels=i == 0, row=1, col=i + 1)
        fig.update_xaxes(title="feature", row=1, col=i + 1)
    fig.update_layout(title="NeuronModel, feature values in [−1, 1]: W [5 neurons × 10 features], importance "
                            "falling left to right",
                      height=300, margin=dict(l=10, r=10, t=70, b=10))
    return fig


def dimensionality() -> go.Figure:
    run = runs()["geometry"]
    D, norms, p = t.tensor(run["dimensionality"]), t.tensor(run["norms"]), run["p"]
    fig = go.Figure()
    for i, q in enumerate(p):
        keep = norms[i] > 0.5
        x = np.full(int(keep.sum()), 1 / q) * np.exp(np.random.default_rng(i).normal(0, 0.04, int(keep.sum())))
        fig.add_trace(go.Scatter(x=x, y=D[i][keep].numpy(), mode="markers", marker=dict(size=5, opacity=0.5,
                                 color="#1f77b4"), showlegend=i == 0, name="one feature's D_i",
                                 hovertemplate="1/p = %{x:.1f}<br>D_i = %{y:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[1 / q for q in p], y=run["dimensions_per_feature"], mode="lines+markers",
                             line=dict(color="black"), name="dimensions per feature (m / ‖W‖²_F)"))
    for value, label in STICKY:
        fig.add_hline(y=value, line=dict(dash="dot", color="grey", width=1), annotation_text=label,
                      annotation_position="right")
    fig.update_xaxes(type="log", title="1 / feature probability (sparser to the right)")
    fig.update_yaxes(title="dimensionality", range=[0, 1.1])
    fig.update_layout(title="100 equally important features in 20 dimensions", height=480)
    return fig


def sae_recovery() -> go.Figure:
    run = runs()["sae"]
    labels = [f"{c:g}" for c in run["l1"]]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.12,
                        subplot_titles=[f"true features found (of {run['n_features']}) and latents alive "
                                        f"(of {run['n_latents']})", "best cosine of any decoder row, per true feature"])
    fig.add_trace(go.Bar(x=labels, y=run["recovered"], name="features found (cosine > 0.95)"), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=run["alive"], name="latents alive"), row=1, col=1)
    fig.update_xaxes(title="L1 coefficient", type="category", row=1, col=1)
    fig.add_trace(go.Heatmap(z=run["best_cosine"], y=labels, zmin=0, zmax=1, colorscale="Viridis",
                             colorbar=dict(x=1.02), hovertemplate="L1 %{y}, feature %{x}: cosine %{z:.2f}"
                                                                  "<extra></extra>"), row=1, col=2)
    fig.update_yaxes(title="L1 coefficient", type="category", row=1, col=2)
    fig.update_xaxes(title="true feature", row=1, col=2)
    fig.update_layout(height=400, barmode="group", legend=dict(orientation="h", y=-0.25))
    return fig
