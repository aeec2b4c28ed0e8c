"""Figures for part 0.4: the ravine-shaped loss and optimizers racing across it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch as t

from . import solutions as ref

START = (2.5, 2.5)


def _start() -> t.Tensor:
    return t.tensor(START, requires_grad=True)


def curvature_surface() -> go.Figure:
    """The loss as a 3D surface: steep walls across x, a gentle slope along y."""
    xs, ys = t.linspace(-3, 3, 80), t.linspace(-3, 3, 80)
    gx, gy = t.meshgrid(xs, ys, indexing="xy")
    z = ref.pathological_curvature_loss(gx, gy)
    fig = go.Figure(go.Surface(x=xs.numpy(), y=ys.numpy(), z=z.numpy(), colorscale="Viridis", showscale=False))
    fig.update_layout(scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title="loss",
                                 camera=dict(eye=dict(x=1.6, y=-1.4, z=0.9))),
                      width=650, height=520, margin=dict(l=0, r=0, t=30, b=0),
                      title="pathological_curvature_loss")
    return fig


def sgd_path() -> go.Figure:
    """opt_fn_with_sgd's path with its defaults, and with a larger learning rate with and without momentum."""
    fn = ref.pathological_curvature_loss
    paths = {  # the long path first, so the two short ones are drawn on top of it
        "lr=0.1, momentum=0.9": ref.opt_fn_with_sgd(fn, _start(), lr=0.1, momentum=0.9),
        "lr=0.1, no momentum": ref.opt_fn_with_sgd(fn, _start(), lr=0.1, momentum=0.0),
        "lr=0.001, momentum=0.98 (defaults)": ref.opt_fn_with_sgd(fn, _start()),
    }
    fig = ref.plot_paths(fn, paths, y_range=(-5.5, 3.0))
    fig.update_layout(title="100 steps of SGD from (2.5, 2.5)")
    return fig


RACE = [
    ("SGD lr=0.03, momentum=0.9", ref.SGD, {"lr": 0.03, "momentum": 0.9}),
    ("RMSprop lr=0.02", ref.RMSprop, {"lr": 0.02}),
    ("Adam lr=0.2", ref.Adam, {"lr": 0.2}),
    ("AdamW lr=0.2, wd=0.5", ref.AdamW, {"lr": 0.2, "weight_decay": 0.5}),
]


def optimizer_race() -> go.Figure:
    """Your four optimizers, 100 steps each from the same start, drawn on the loss contours."""
    paths = {label: ref.opt_fn(ref.pathological_curvature_loss, _start(), cls, hyper, n_iters=100)
             for label, cls, hyper in RACE}
    fig = ref.plot_paths(ref.pathological_curvature_loss, paths, y_range=(-6.0, 3.0))
    fig.update_layout(title="Optimizers on the ravine (100 steps each)")
    return fig


def optimizer_loss_curves() -> go.Figure:
    """The loss along each optimizer's path in optimizer_race."""
    fig = go.Figure()
    for i, (label, cls, hyper) in enumerate(RACE):  # the same colour per optimizer as in optimizer_race
        path = ref.opt_fn(ref.pathological_curvature_loss, _start(), cls, hyper, n_iters=100)
        loss = ref.pathological_curvature_loss(path[:, 0], path[:, 1])
        fig.add_trace(go.Scatter(x=np.arange(len(loss)), y=loss.numpy(), mode="lines", name=label,
                                 line=dict(color=ref.PATH_COLORS[i], width=2)))
    fig.update_layout(xaxis_title="step", yaxis_title="loss", width=650, height=380,
                      title="Loss along each path")
    return fig


SLIDER_LRS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
SLIDER_MOMENTA = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98]


def slider_paths() -> dict[tuple[float, float], list[list[float]]]:
    """opt_fn_with_sgd's 100-step path from START for every (learning rate, momentum) on the slider grid."""
    return {(lr, m): ref.opt_fn_with_sgd(ref.pathological_curvature_loss, _start(), lr=lr, momentum=m).tolist()
            for lr in SLIDER_LRS for m in SLIDER_MOMENTA}


def optimizer_sliders():  # -> arena.plotting.HTMLFigure
    """SGD on the ravine with two sliders, learning rate and momentum: the path of every combination on
    the grid is computed here, and the sliders pick one (plotly.js inlined: works offline)."""
    import json

    from arena.plotting import HTMLFigure

    paths = slider_paths()
    lr0, m0 = 0.03, 0.9
    first = t.tensor(paths[(lr0, m0)])
    fig = ref.plot_paths(ref.pathological_curvature_loss, {"SGD": first}, y_range=(-6.0, 3.0))
    fig.update_layout(title=None, height=520, margin=dict(l=10, r=10, t=10, b=10), showlegend=False)
    index = len(fig.data) - 1  # the path is the last trace
    table = {f"{lr:g}|{m:g}": {"x": [p[0] for p in path], "y": [p[1] for p in path]} for (lr, m), path in paths.items()}
    script = """
const gd = document.getElementById('{plot_id}');
const paths = PATHS, lrs = LRS, momenta = MOMENTA;
const lrInput = document.getElementById('opt-lr'), mInput = document.getElementById('opt-m');
function redraw() {
  const lr = lrs[+lrInput.value], m = momenta[+mInput.value];
  const p = paths[lr + '|' + m];
  document.getElementById('opt-lr-value').textContent = lr;
  document.getElementById('opt-m-value').textContent = m;
  const last = p.y.length - 1;
  document.getElementById('opt-end').textContent =
    'after ' + last + ' steps: (' + p.x[last].toFixed(2) + ', ' + p.y[last].toFixed(2) + ')';
  Plotly.restyle(gd, {x: [p.x], y: [p.y]}, [INDEX]);
}
lrInput.addEventListener('input', redraw);
mInput.addEventListener('input', redraw);
redraw();
"""
    for key, value in [("PATHS", json.dumps(table)), ("LRS", json.dumps([f"{v:g}" for v in SLIDER_LRS])),
                       ("MOMENTA", json.dumps([f"{v:g}" for v in SLIDER_MOMENTA])), ("INDEX", str(index))]:
        script = script.replace(key, value)
    controls = (
        '<div style="font-family: sans-serif; font-size: 14px; margin: 4px 10px">'
        f'<label>learning rate <input id="opt-lr" type="range" min="0" max="{len(SLIDER_LRS) - 1}" step="1" '
        f'value="{SLIDER_LRS.index(lr0)}"> <b id="opt-lr-value"></b></label>&nbsp;&nbsp;&nbsp;'
        f'<label>momentum <input id="opt-m" type="range" min="0" max="{len(SLIDER_MOMENTA) - 1}" step="1" '
        f'value="{SLIDER_MOMENTA.index(m0)}"> <b id="opt-m-value"></b></label>&nbsp;&nbsp;&nbsp;'
        '<span id="opt-end"></span></div>')
    html = controls + fig.to_html(include_plotlyjs=True, full_html=False, post_script=script)
    return HTMLFigure(html, height=600)
