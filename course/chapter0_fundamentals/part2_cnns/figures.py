"""Figures for part 0.2, computed from the reference solutions (and one small JSON asset)."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots

from . import solutions as ref


def _image(array: np.ndarray, title: str, height: int = 260) -> go.Figure:
    """A (c, h, w) colour image or an (h, w) grayscale image in [0, 1] as a figure without axes."""
    if array.ndim == 3:
        fig = px.imshow((np.transpose(array, (1, 2, 0)) * 255).round().astype(np.uint8))
    else:
        fig = px.imshow(array, color_continuous_scale="gray", zmin=0, zmax=1)
        fig.update_layout(coloraxis_showscale=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def digit_batch() -> go.Figure:
    images = ref.load_digit_images()
    return _image(np.concatenate(list(images), axis=-1), f"The batch: images of shape {images.shape} (b, c, h, w)")


def _target(name: str, height: int = 260) -> go.Figure:
    out = getattr(ref, name)(ref.load_digit_images())
    return _image(out, f"Target of {name}: shape {out.shape}", height)


def einops_row_target() -> go.Figure:
    return _target("einops_row")


def einops_column_target() -> go.Figure:
    return _target("einops_column", height=700)


def einops_grid_target() -> go.Figure:
    return _target("einops_grid", height=360)


def einops_transpose_target() -> go.Figure:
    return _target("einops_transpose")


def einops_grayscale_target() -> go.Figure:
    return _target("einops_grayscale")


def einops_channels_target() -> go.Figure:
    return _target("einops_channels")


def einops_shrink_target() -> go.Figure:
    return _target("einops_shrink", height=200)


def einops_average_target() -> go.Figure:
    return _target("einops_average")


def einops_enlarge_target() -> go.Figure:
    return _target("einops_enlarge", height=360)


def einops_tile_target() -> go.Figure:
    return _target("einops_tile", height=360)


def strides_picture() -> go.Figure:
    """Storage (one row of 20 numbers) and the 4x5 view of it with stride (5, 1), coloured by row."""
    values = np.arange(20)
    rows = values // 5
    fig = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3], horizontal_spacing=0.06,
                        subplot_titles=["storage: 20 numbers in a row, in memory order",
                                        "the view: shape (4, 5), stride (5, 1)"])
    fig.add_trace(go.Heatmap(z=rows[None, :], text=values[None, :].astype(str), texttemplate="%{text}",
                             colorscale="Viridis", showscale=False, hoverinfo="skip", xgap=2), 1, 1)
    fig.add_trace(go.Heatmap(z=rows.reshape(4, 5), text=values.reshape(4, 5).astype(str), texttemplate="%{text}",
                             colorscale="Viridis", showscale=False, hoverinfo="skip", xgap=2, ygap=2), 1, 2)
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.add_annotation(text="element [i, j] lives at storage index 5·i + 1·j: one step down skips 5 numbers, "
                            "one step right skips 1", showarrow=False, xref="paper", yref="paper", x=0.5, y=-0.15)
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=50))
    return fig


def conv1d_sliding() -> go.Figure:
    """An animation: a kernel of width 3 slides along a signal of width 9; each stop gives one output."""
    x = t.tensor([0.0, 1.0, 3.0, 2.0, -1.0, 0.0, 2.0, 4.0, 1.0])
    kernel = t.tensor([1.0, 0.0, -1.0])
    out = ref.conv1d_minimal(x[None, None], kernel[None, None])[0, 0]
    width, kw = len(x), len(kernel)

    def frame_data(position: int) -> list[go.BaseTraceType]:
        highlight = np.zeros(width)
        highlight[position : position + kw] = 1
        shown = np.full(width - kw + 1, np.nan)
        shown[: position + 1] = out[: position + 1].numpy()
        text = [f"{v:g}" if not np.isnan(v) else "" for v in shown]
        return [go.Heatmap(z=highlight[None], text=[[f"{v:g}" for v in x.tolist()]], texttemplate="%{text}",
                           colorscale=[[0, "#eef"], [1, "#fc8"]], zmin=0, zmax=1, showscale=False, xgap=2,
                           hoverinfo="skip"),
                go.Heatmap(z=shown[None], x=np.arange(width - kw + 1) + (kw - 1) / 2, text=[text],
                           texttemplate="%{text}", colorscale="RdBu", zmid=0, showscale=False, xgap=2,
                           hoverinfo="skip", xaxis="x2", yaxis="y2")]

    frames = [go.Frame(data=frame_data(p), name=str(p)) for p in range(width - kw + 1)]
    fig = go.Figure(data=frame_data(0), frames=frames)
    fig.update_layout(
        xaxis=dict(domain=[0, 1], anchor="y", visible=False, range=[-0.5, width - 0.5]),
        yaxis=dict(domain=[0.55, 0.95], visible=False),
        xaxis2=dict(domain=[0, 1], anchor="y2", visible=False, range=[-0.5, width - 0.5]),
        yaxis2=dict(domain=[0.05, 0.45], visible=False),
        title=dict(text="input (top) · kernel [1, 0, -1] in orange · output (bottom): out[p] = x[p] - x[p + 2]",
                   x=0, xanchor="left", y=0.97, yanchor="top"),
        height=340, margin=dict(l=10, r=10, t=50, b=10),
        # The play button sits at the bottom left, beside the slider, so that it never covers the title.
        sliders=[dict(steps=[dict(method="animate", label=f"p = {p}",
                                  args=[[str(p)], dict(mode="immediate", frame=dict(duration=0, redraw=True))])
                             for p in range(width - kw + 1)], currentvalue=dict(prefix="output position "),
                      x=0.1, len=0.9, y=0, yanchor="top", pad=dict(t=30, b=10))],
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=0, xanchor="left", yanchor="top",
                          pad=dict(t=55, r=10),
                          buttons=[dict(label="▶ play", method="animate",
                                        args=[None, dict(frame=dict(duration=700, redraw=True), fromcurrent=True)])])],
    )
    return fig


def _digit(index: int = 3) -> t.Tensor:
    """One digit in grayscale, shape (1, 1, 28, 28)."""
    return t.tensor(ref.load_digit_images()[index].mean(axis=0))[None, None]


def conv2d_edges() -> go.Figure:
    """A digit convolved with two 3x3 edge detectors (Sobel kernels) by the reference conv2d."""
    digit = _digit()
    sobel = t.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    kernels = t.stack([sobel, sobel.T])[:, None]  # (2 out channels, 1 in channel, 3, 3)
    edges = ref.conv2d(digit, kernels, stride=1, padding=1)[0]
    fig = make_subplots(rows=1, cols=3, subplot_titles=["input (1 channel)", "out channel 0: vertical edges",
                                                        "out channel 1: horizontal edges"])
    fig.add_trace(go.Heatmap(z=digit[0, 0].numpy(), colorscale="gray", showscale=False), 1, 1)
    for c in range(2):
        fig.add_trace(go.Heatmap(z=edges[c].numpy(), colorscale="RdBu", zmid=0, showscale=False), 1, c + 2)
    fig.update_yaxes(autorange="reversed", visible=False, scaleanchor="x")
    fig.update_xaxes(visible=False)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def maxpool_digit() -> go.Figure:
    """A digit max-pooled with kernel 2 and kernel 4 (stride = kernel) by the reference maxpool2d."""
    digit = _digit(2)
    panels = [("input: 28x28", digit), ("kernel 2: 14x14", ref.maxpool2d(digit, 2)),
              ("kernel 4: 7x7", ref.maxpool2d(digit, 4)),
              ("kernel 3, stride 2, pad 1: 14x14", ref.maxpool2d(digit, 3, 2, 1))]
    fig = make_subplots(rows=1, cols=4, subplot_titles=[p[0] for p in panels])
    for i, (_, image) in enumerate(panels):
        fig.add_trace(go.Heatmap(z=image[0, 0].numpy(), colorscale="gray", showscale=False), 1, i + 1)
    fig.update_annotations(font_size=13)  # the subplot titles: keep the longest inside its panel
    fig.update_yaxes(autorange="reversed", visible=False)
    fig.update_xaxes(visible=False)
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def mlp_loss_curve() -> go.Figure:
    """The loss curve of one reference training run (assets/mlp_loss.json, made by assets/make_loss_curve.py)."""
    path = resources.files("course.chapter0_fundamentals.part2_cnns") / "assets" / "mlp_loss.json"
    run = json.loads(path.read_text())
    losses = np.array(run["losses"])
    smooth = np.convolve(losses, np.ones(20) / 20, mode="valid")
    fig = go.Figure([go.Scatter(y=losses, name="loss per batch", line=dict(width=1, color="#9ab"), opacity=0.6),
                     go.Scatter(x=np.arange(19, len(losses)), y=smooth, name="mean of the last 20 batches",
                                line=dict(width=2.5, color="#d62728"))])
    fig.update_layout(title=f"SimpleMLP on {run['data']}: test accuracy {run['accuracy']:.1%}",
                      xaxis_title="step (batch of 64)", yaxis_title="cross-entropy loss", height=360)
    return fig
