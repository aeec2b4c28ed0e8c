"""Figures for part 0.3, computed from the reference solutions (or the small JSON asset they produced)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import torch as t
from plotly.subplots import make_subplots

from arena.resources import (
    ResourceUnavailable,
    imagenet_labels,
    load_mnist,
    load_pretrained_resnet34,
    sample_photographs,
)

from . import solutions as sol

ASSETS = Path(__file__).with_name("assets")


def mnist_samples() -> go.Figure:
    """Sixteen offline MNIST digits with their labels."""
    images, labels = load_mnist(prefer_online=False).train.tensors
    fig = make_subplots(rows=2, cols=8, subplot_titles=[f"label {int(y)}" for y in labels[:16]],
                        horizontal_spacing=0.01, vertical_spacing=0.08)
    for i in range(16):
        fig.add_trace(go.Heatmap(z=images[i, 0].flip(0).numpy(), colorscale="gray_r", showscale=False,
                                 hoverinfo="skip"), row=i // 8 + 1, col=i % 8 + 1)
    fig.update_xaxes(visible=False).update_yaxes(visible=False, scaleanchor="x")
    return fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10))


def convnet_training_curves() -> go.Figure:
    """Loss per step and validation accuracy per epoch of the reference ConvNet (assets/convnet_mnist.json)."""
    record = json.loads((ASSETS / "convnet_mnist.json").read_text())
    loss, accuracy = record["loss"], record["accuracy"]
    steps_per_epoch = len(loss) / len(accuracy)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(y=loss, name="training loss", line=dict(width=1)), secondary_y=False)
    fig.add_trace(go.Scatter(x=[steps_per_epoch * (i + 1) for i in range(len(accuracy))], y=accuracy,
                             name="validation accuracy", mode="lines+markers"), secondary_y=True)
    fig.update_xaxes(title_text="training step")
    fig.update_yaxes(title_text="cross-entropy loss", secondary_y=False)
    fig.update_yaxes(title_text="validation accuracy", tickformat=".0%", range=[0.9, 1.0], secondary_y=True)
    title = (f"Reference ConvNet: {accuracy[-1]:.1%} validation accuracy after {len(accuracy)} epochs<br>"
             f"<sup>{record['source']}; {record['seconds']:.0f} s wall time on a shared 2-core CPU</sup>")
    return fig.update_layout(title=title, height=420, legend=dict(x=0.6, y=0.5))


def batchnorm_running_stats() -> go.Figure:
    """Running mean of one channel under batches with true mean 3, for three momentums."""
    gen = t.Generator().manual_seed(0)
    batches = [t.randn(4, 1, 2, 2, generator=gen) + 3 for _ in range(60)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(y=[b.mean().item() for b in batches], mode="markers", name="batch mean",
                             marker=dict(color="lightgray")))
    for momentum in (0.05, 0.1, 0.5):
        bn = sol.BatchNorm2d(1, momentum=momentum)
        history = []
        for batch in batches:
            bn(batch)
            history.append(bn.running_mean.item())
        fig.add_trace(go.Scatter(y=history, name=f"running_mean, momentum={momentum}"))
    fig.add_hline(y=3.0, line_dash="dot", annotation_text="true mean")
    return fig.update_layout(xaxis_title="training batch", yaxis_title="value", height=380)


def _box(fig: go.Figure, x0: float, x1: float, y0: float, y1: float, text: str, color: str) -> None:
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=color, line=dict(color="black", width=1),
                  layer="below")
    fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False, font=dict(size=11))


def _arrow(fig: go.Figure, x0: float, y0: float, x1: float, y1: float) -> None:
    fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                       showarrow=True, arrowhead=2, arrowwidth=1.5)


def _blank(height: int) -> go.Figure:
    fig = go.Figure()
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    return fig.update_layout(height=height, plot_bgcolor="white", margin=dict(l=10, r=10, t=30, b=10))


def residual_block_diagram() -> go.Figure:
    """The basic residual block: left branch, skip path (identity or projection), sum, ReLU."""
    fig = _blank(300)
    left = ["conv 3×3<br>stride s", "BatchNorm", "ReLU", "conv 3×3<br>stride 1", "BatchNorm"]
    _box(fig, 0, 1, 1.6, 2.4, "x<br>(b, in, h, w)", "#eeeeee")
    for i, text in enumerate(left):
        _box(fig, 1.5 + 1.3 * i, 2.5 + 1.3 * i, 2.6, 3.4, text, "#cfe2f3")
    _box(fig, 3.8, 6.2, 0.6, 1.4, "skip path: identity, or<br>conv 1×1 stride s + BatchNorm", "#fde9c9")
    _box(fig, 8.2, 9.0, 1.6, 2.4, "+", "#ffffff")
    _box(fig, 9.4, 10.4, 1.6, 2.4, "ReLU", "#cfe2f3")
    _box(fig, 10.8, 12.2, 1.6, 2.4, "out<br>(b, out, h/s, w/s)", "#eeeeee")
    _arrow(fig, 1.0, 2.2, 1.5, 3.0)
    for i in range(4):
        _arrow(fig, 2.5 + 1.3 * i, 3.0, 2.8 + 1.3 * i, 3.0)
    _arrow(fig, 7.7, 3.0, 8.6, 2.4)
    _arrow(fig, 1.0, 1.8, 3.8, 1.0)
    _arrow(fig, 6.2, 1.0, 8.6, 1.6)
    _arrow(fig, 9.0, 2.0, 9.4, 2.0)
    _arrow(fig, 10.4, 2.0, 10.8, 2.0)
    fig.update_xaxes(range=[-0.2, 12.4]).update_yaxes(range=[0.4, 3.6])
    return fig.update_layout(title="ResidualBlock(in, out, first_stride=s)")


def resnet34_architecture() -> go.Figure:
    """ResNet34's stages with their output shapes for a 224x224 input."""
    stages = [("input", "3 × 224 × 224", 224, "#eeeeee"),
              ("conv 7×7 /2<br>BN, ReLU", "64 × 112 × 112", 112, "#d9d2e9"),
              ("max-pool 3×3 /2", "64 × 56 × 56", 56, "#d9d2e9"),
              ("group 1<br>3 blocks", "64 × 56 × 56", 56, "#cfe2f3"),
              ("group 2<br>4 blocks, /2", "128 × 28 × 28", 28, "#b6d7a8"),
              ("group 3<br>6 blocks, /2", "256 × 14 × 14", 14, "#fde9c9"),
              ("group 4<br>3 blocks, /2", "512 × 7 × 7", 7, "#f4cccc"),
              ("average pool", "512", 1, "#eeeeee"),
              ("linear", "1000 logits", 1, "#eeeeee")]
    fig = _blank(320)
    for i, (name, shape, size, color) in enumerate(stages):
        half = 0.3 + 1.2 * np.sqrt(size / 224)
        x0 = 1.4 * i
        _box(fig, x0, x0 + 1.1, -half, half, "", color)
        fig.add_annotation(x=x0 + 0.55, y=half + 0.25, text=f"<b>{name}</b>", showarrow=False, font=dict(size=11))
        fig.add_annotation(x=x0 + 0.55, y=0, text=shape.replace(" × ", "×<br>", 1), showarrow=False,
                           font=dict(size=10))
        if i:
            _arrow(fig, x0 - 0.3, 0, x0, 0)
    fig.update_xaxes(range=[-0.2, 1.4 * len(stages)]).update_yaxes(range=[-1.7, 2.2])
    return fig.update_layout(title="ResNet34: box height shows the spatial size, labels the output shape")


def photo_predictions() -> go.Figure:
    """The scikit-image photographs with your ResNet34's top ImageNet label (when the weights are downloaded)."""
    photos = sample_photographs()
    top_margin = 90
    try:
        model = sol.copy_weights(sol.ResNet34(), load_pretrained_resnet34())
        labels = imagenet_labels()
        classes = sol.predict(model, sol.prepare_data(list(photos.values()))).tolist()
        titles = [f"{name}: <b>{labels[c]}</b>" for name, c in zip(photos, classes, strict=True)]
        title = "ResNet34 (your architecture, torchvision's ImageNet weights): top-1 predictions"
    except ResourceUnavailable as err:
        titles = list(photos)
        # plotly titles do not wrap: break the (long) message into lines, without Markdown backticks
        lines = textwrap.wrap(f"{err} Then reload this page.".replace("`", ""), 130)
        title = "No predictions: the pretrained weights are not downloaded.<br><sup>" + "<br>".join(lines) + "</sup>"
        top_margin = 100 + 18 * len(lines)
    fig = make_subplots(rows=1, cols=len(photos), subplot_titles=titles, horizontal_spacing=0.02)
    for i, image in enumerate(photos.values()):
        fig.add_trace(go.Image(z=np.asarray(image.resize((224, 224)))), row=1, col=i + 1)
    fig.update_xaxes(visible=False).update_yaxes(visible=False)
    return fig.update_layout(title=title, height=270 + top_margin, margin=dict(l=10, r=10, t=top_margin, b=10))


SOFTMAX_LOGITS = [2.0, 1.0, -1.0, 0.5]  # four classes; the true class is 0
SOFTMAX_LABEL = 0


def softmax_numbers() -> dict[str, list[float] | float]:
    """Softmax probabilities and cross-entropy of SOFTMAX_LOGITS (the figure and its caption use these)."""
    z = t.tensor(SOFTMAX_LOGITS)
    p = t.softmax(z, dim=0)
    loss = t.nn.functional.cross_entropy(z[None], t.tensor([SOFTMAX_LABEL])).item()
    return {"logits": SOFTMAX_LOGITS, "probs": p.tolist(), "loss": loss}


def softmax_cross_entropy() -> go.Figure:
    """Left: four logits and their softmax probabilities. Right: the cross-entropy loss as the true
    class's logit moves, the other logits fixed."""
    numbers = softmax_numbers()
    fig = make_subplots(rows=1, cols=2, subplot_titles=["logits → softmax probabilities",
                                                        f"loss −log p(class {SOFTMAX_LABEL}) as its logit moves"])
    classes = [f"class {k}" for k in range(len(SOFTMAX_LOGITS))]
    fig.add_trace(go.Bar(x=classes, y=numbers["logits"], name="logit z", marker_color="#9ecae1"), row=1, col=1)
    fig.add_trace(go.Bar(x=classes, y=numbers["probs"], name="softmax p", marker_color="#d62728",
                         text=[f"{p:.2f}" for p in numbers["probs"]], textposition="outside"), row=1, col=1)
    zs = t.linspace(-4, 8, 121)
    others = t.tensor(SOFTMAX_LOGITS[1:])
    losses = [(t.logsumexp(t.cat([z[None], others]), 0) - z).item() for z in zs]
    fig.add_trace(go.Scatter(x=zs.tolist(), y=losses, mode="lines", name="cross-entropy", line_color="#333"),
                  row=1, col=2)
    fig.add_trace(go.Scatter(x=[SOFTMAX_LOGITS[0]], y=[numbers["loss"]], mode="markers", marker_size=10,
                             marker_color="#d62728", name=f"z = {SOFTMAX_LOGITS[0]:g}: loss {numbers['loss']:.3f}"),
                  row=1, col=2)
    fig.update_xaxes(title_text=f"logit of class {SOFTMAX_LABEL}", row=1, col=2)
    fig.update_yaxes(title_text="loss", row=1, col=2)
    fig.update_layout(height=380, barmode="group", margin=dict(l=10, r=10, t=50, b=10))
    return fig
