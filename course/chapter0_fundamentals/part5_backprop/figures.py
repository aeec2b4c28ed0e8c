"""Figures for part 0.5, computed from the reference solutions."""

import contextlib

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import solutions as ref


def graph_layout(end: "ref.Tensor", names: dict[int, str]) -> dict:
    """The computational graph behind `end`, read from the tensors' recipes (the learner-visible code).

    Returns {"nodes": {id: (name, depth, row, value, gradient)}, "edges": [(parent id, child id, op name,
    backward function name)]}. Gradients d(end)/d(node) are computed as backprop computes them (the lookup
    of back_funcs(), visiting sorted_computational_graph), so intermediate nodes get theirs too."""
    order = ref.sorted_computational_graph(end)  # end first, leaves last
    lookup = ref.back_funcs()
    grads: dict[int, np.ndarray] = {id(end): np.ones_like(end.array)}
    edges = []
    for node in order:
        if node.recipe is None:
            continue
        for position, parent in node.recipe.parents.items():
            back = lookup.get_back_func(node.recipe.func, position)
            g = back(grads[id(node)], node.array, *node.recipe.args, **node.recipe.kwargs)
            grads[id(parent)] = grads[id(parent)] + g if id(parent) in grads else g
            edges.append((id(parent), id(node), node.recipe.func.__name__, back.__name__))
    depth: dict[int, int] = {}
    for node in reversed(order):  # leaves first
        parents = node.recipe.parents.values() if node.recipe is not None else ()
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents), default=-1)
    rows: dict[int, int] = {}
    nodes = {}
    for node in reversed(order):
        d = depth[id(node)]
        rows[d] = rows.get(d, -1) + 1
        name = names.get(id(node)) or (node.recipe.func.__name__ if node.recipe is not None else "leaf")
        nodes[id(node)] = (name, d, rows[d], node.array, grads.get(id(node)))
    return {"nodes": nodes, "edges": edges}


def _short(array: np.ndarray) -> str:
    array = np.asarray(array)
    return f"{array.item():.3f}" if array.size == 1 else np.array2string(array, precision=2, separator=", ")


def graph_figure(end: "ref.Tensor", names: dict[int, str], title: str) -> go.Figure:
    """Draws graph_layout(end, names): forward edges grey (labelled with the operation), backward edges
    red (labelled with the backward function), values above the nodes and gradients below."""
    layout = graph_layout(end, names)
    nodes, edges = layout["nodes"], layout["edges"]
    n_rows = {}
    for _, d, row, _, _ in nodes.values():
        n_rows[d] = max(n_rows.get(d, 0), row + 1)
    tallest = max(n_rows.values())

    def position(key: int) -> tuple[float, float]:
        _, d, row, _, _ = nodes[key]
        return float(d), (tallest - 1) / 2 + (n_rows[d] - 1) / 2 - row  # each column centred vertically

    fig = go.Figure()
    for parent, child, op, back in edges:
        (x0, y0), (x1, y1) = position(parent), position(child)
        fig.add_annotation(x=x1, y=y1 + 0.06, ax=x0, ay=y0 + 0.06, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=1.5, standoff=24, startstandoff=24,
                           arrowcolor="#888")
        fig.add_annotation(x=x0, y=y0 - 0.06, ax=x1, ay=y1 - 0.06, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=1.2, standoff=24, startstandoff=24,
                           arrowcolor="#b03a2e", opacity=0.7)
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 + 0.14, text=op, showarrow=False,
                           font={"size": 11, "color": "#555"})
        fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2 - 0.14, text=back, showarrow=False,
                           font={"size": 11, "color": "#b03a2e"})
    keys = list(nodes)
    xy = [position(k) for k in keys]
    fig.add_trace(go.Scatter(
        x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers+text", text=[nodes[k][0] for k in keys],
        textposition="middle center", showlegend=False, hoverinfo="text",
        hovertext=[f"{nodes[k][0]}<br>value {_short(nodes[k][3])}<br>gradient {_short(nodes[k][4])}" for k in keys],
        marker={"size": 54, "color": ["#cfe3f7" if nodes[k][1] == 0 else "#f7e3cf" for k in keys],
                "line": {"width": 1.5, "color": "#555"}}))
    for k, (x, y) in zip(keys, xy, strict=True):
        fig.add_annotation(x=x, y=y + 0.3, text=f"value {_short(nodes[k][3])}", showarrow=False, font={"size": 12})
        fig.add_annotation(x=x, y=y - 0.3, text=f"<b>grad {_short(nodes[k][4])}</b>", showarrow=False,
                           font={"size": 12, "color": "#b03a2e"})
    depth = max(n[1] for n in nodes.values())
    fig.update_xaxes(visible=False, range=[-0.5, depth + 0.5])
    fig.update_yaxes(visible=False, range=[-0.7, tallest - 0.3])
    fig.update_layout(height=140 + 120 * tallest, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      plot_bgcolor="white", title=title)
    return fig


def worked_example() -> tuple["ref.Tensor", dict[int, str]]:
    """g = log(a * b * log(c)) at a = 2, b = 3, c = 4, built with the reference Tensor operations."""
    a, b, c = (ref.Tensor(np.array([v]), requires_grad=True) for v in (2.0, 3.0, 4.0))
    d = a * b
    e = c.log()
    f = d * e
    g = f.log()
    return g, {id(a): "a", id(b): "b", id(c): "c", id(d): "d", id(e): "e", id(f): "f", id(g): "g"}


def computational_graph() -> go.Figure:
    """The graph of g = log(a * b * log(c)), read from the recipes, with forward values and gradients dg/d(node)."""
    g, names = worked_example()
    return graph_figure(g, names, "g = log(a·b·log c): forward (grey, operation) and backward (red, backward function)")


def used_twice_example() -> tuple["ref.Tensor", dict[int, str]]:
    """c = log(a * b) * a (a used twice), as in the backprop section, built with the reference Tensor."""
    a = ref.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    b = ref.Tensor(np.array([4.0, 5.0]), requires_grad=True)
    ab = a * b
    log_ab = ab.log()
    c = log_ab * a
    return c, {id(a): "a", id(b): "b", id(ab): "a·b", id(log_ab): "log(a·b)", id(c): "c"}


def computational_graph_used_twice() -> go.Figure:
    """c = log(a * b) * a: two red arrows reach a, and its gradient is their sum."""
    c, names = used_twice_example()
    return graph_figure(c, names, "c = log(a·b)·a: a feeds two nodes, so two backward contributions add up at a")


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
