"""Figures for part 0.5, computed from the reference solutions."""

import numpy as np
import plotly.graph_objects as go

from . import solutions as ref


def computational_graph() -> go.Figure:
    """The graph of g = log(a * b * log(c)) with forward values and gradients dg/d(node)."""
    a, b, c = np.array([2.0]), np.array([3.0]), np.array([4.0])
    d, e = a * b, np.log(c)
    f = d * e
    g = np.log(f)
    da, db, dc = ref.forward_and_back(a, b, c)
    dg_df = ref.log_back(np.ones(1), g, f)
    dg_dd, dg_de = ref.multiply_back0(dg_df, f, d, e), ref.multiply_back1(dg_df, f, d, e)
    nodes = {  # name: (x, y, value, gradient, label)
        "a": (0, 2, a, da, "a"), "b": (0, 1, b, db, "b"), "c": (0, 0, c, dc, "c"),
        "d": (1, 1.5, d, dg_dd, "d = a·b"), "e": (1, 0, e, dg_de, "e = log c"),
        "f": (2, 0.75, f, dg_df, "f = d·e"), "g": (3, 0.75, g, np.ones(1), "g = log f"),
    }
    edges = [("a", "d"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f"), ("f", "g")]
    fig = go.Figure()
    for src, dst in edges:
        x0, y0 = nodes[src][:2]
        x1, y1 = nodes[dst][:2]
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=1.5, standoff=22,
                           startstandoff=22, arrowcolor="#888")
    xs = [v[0] for v in nodes.values()]
    ys = [v[1] for v in nodes.values()]
    leaf = [name in "abc" for name in nodes]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers+text", text=[v[4] for v in nodes.values()], textposition="middle center",
        marker={"size": 62, "color": ["#cfe3f7" if is_leaf else "#f7e3cf" for is_leaf in leaf],
                "line": {"width": 1.5, "color": "#555"}},
        hovertext=[f"{v[4]}<br>value {v[2][0]:.4f}<br>dg/d{k} {v[3][0]:.4f}" for k, v in nodes.items()],
        hoverinfo="text", showlegend=False))
    for name, (x, y, value, grad, _) in nodes.items():
        fig.add_annotation(x=x, y=y + 0.32, text=f"value {value[0]:.3f}", showarrow=False, font={"size": 12})
        fig.add_annotation(x=x, y=y - 0.32, text=f"<b>dg/d{name} = {grad[0]:.3f}</b>", showarrow=False,
                           font={"size": 12, "color": "#b03a2e"})
    fig.update_xaxes(visible=False, range=[-0.5, 3.5])
    fig.update_yaxes(visible=False, range=[-0.6, 2.6])
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                      title="Forward values (black) and backward gradients (red)")
    return fig


def gradients_vs_torch() -> go.Figure:
    """Every gradient entry of the reference MLP on one random batch, against PyTorch's."""
    import torch

    np.random.seed(0)
    model = ref.MLP()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 784)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    loss = ref.cross_entropy(model(ref.Tensor(x)), y).sum() / len(y)
    loss.backward()
    layers = [model.hidden_layer, model.output_layer]
    params = [torch.tensor(p.array, requires_grad=True) for layer in layers for p in (layer.weight, layer.bias)]
    hidden = torch.relu(torch.tensor(x) @ params[0].T + params[1])
    torch.nn.functional.cross_entropy(hidden @ params[2].T + params[3], torch.tensor(y)).backward()
    fig = go.Figure()
    names = ["hidden weight", "hidden bias", "output weight", "output bias"]
    ours = [p.grad.array for layer in layers for p in (layer.weight, layer.bias)]
    for name, mine, theirs in zip(names, ours, params, strict=True):
        a, b = theirs.grad.numpy().ravel(), mine.ravel()
        keep = np.random.default_rng(1).permutation(a.size)[:4000]  # a sample keeps the page light
        fig.add_trace(go.Scattergl(x=a[keep], y=b[keep], mode="markers", name=name, marker={"size": 4}))
    lim = float(max(np.abs(g).max() for g in ours))
    fig.add_trace(go.Scatter(x=[-lim, lim], y=[-lim, lim], mode="lines", name="y = x",
                             line={"dash": "dot", "color": "gray"}))
    worst = max(float(np.abs(m - t.grad.numpy()).max()) for m, t in zip(ours, params, strict=True))
    fig.update_layout(title=f"Our gradients vs torch.autograd (largest difference {worst:.1e})",
                      xaxis_title="torch.autograd", yaxis_title="reference framework", height=450)
    return fig
