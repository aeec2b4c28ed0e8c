"""Figures for part 0.5, computed from the reference solutions."""

import contextlib

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
    names = ["hidden weight", "hidden bias", "output weight", "output bias"]
    ours = [p.grad.array for layer in layers for p in (layer.weight, layer.bias)]
    worst = max(float(np.abs(m - t.grad.numpy()).max()) for m, t in zip(ours, params, strict=True))
    # One panel per parameter, each on its own scale: the hidden layer's gradients are much smaller.
    fig = make_subplots(rows=1, cols=4, subplot_titles=[f"{n} {tuple(m.shape)}" for n, m in zip(names, ours, strict=True)],
                        horizontal_spacing=0.07)
    for k, (mine, theirs) in enumerate(zip(ours, params, strict=True)):
        a, b = theirs.grad.numpy().ravel(), mine.ravel()
        keep = np.random.default_rng(1).permutation(a.size)[:3000]  # a sample keeps the page light
        lim = float(np.abs(a).max()) * 1.05
        fig.add_trace(go.Scattergl(x=a[keep], y=b[keep], mode="markers", marker={"size": 4}), row=1, col=k + 1)
        fig.add_trace(go.Scatter(x=[-lim, lim], y=[-lim, lim], mode="lines", line={"dash": "dot", "color": "gray"}),
                      row=1, col=k + 1)
        fig.update_xaxes(title_text="torch.autograd", row=1, col=k + 1)
    fig.update_yaxes(title_text="reference framework", row=1, col=1)
    fig.update_layout(title=f"Our gradients vs torch.autograd, one batch (largest difference {worst:.1e})",
                      height=380, showlegend=False)
    return fig


def training_loss() -> go.Figure:
    """The reference framework's MLP trained for 10 epochs on the offline MNIST digits: loss per step."""
    from arena.resources import MNIST_MEAN, MNIST_STD, load_mnist

    data = load_mnist(prefer_online=False)  # the same 5,000 digits for everyone, no download

    def arrays(ds: object) -> tuple[np.ndarray, np.ndarray]:
        x, y = ds.tensors
        return (((x.numpy().reshape(len(x), -1) - MNIST_MEAN) / MNIST_STD).astype(np.float32),
                y.numpy().astype(np.int64))

    (x_train, y_train), (x_test, y_test) = arrays(data.train), arrays(data.test)
    batch, epochs = 128, 10
    with _one_blas_thread():
        np.random.seed(0)
        model = ref.MLP()
        optimizer = ref.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(epochs):
            order = np.random.permutation(len(x_train))
            for b in range(len(x_train) // batch):
                idx = order[b * batch:(b + 1) * batch]
                loss = ref.cross_entropy(model(ref.Tensor(x_train[idx])), y_train[idx]).sum() / len(idx)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        accuracy = ref.accuracy(model, x_test, y_test)
    fig = go.Figure(go.Scatter(y=losses, mode="lines", line={"width": 1}))
    fig.update_layout(title=f"Reference framework, offline digits: {epochs} epochs, test accuracy {accuracy:.1%}",
                      xaxis_title=f"step ({len(losses) // epochs} per epoch, batch {batch})",
                      yaxis_title="cross-entropy", height=380, showlegend=False)
    return fig


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread: these matrices are small, and extra threads only contend on a busy CPU."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)
